#include "core/gradient_sum.h"

#include "core/error.h"

namespace fusedrnn {
namespace {

class HostGradientSum final : public GradientSum {
public:
    explicit HostGradientSum(std::vector<Backend<float>*> backends) : backends_(std::move(backends)) {
        FR_CHECK(!backends_.empty(), "a gradient sum needs at least one rank");
    }

    std::string name() const override { return "host"; }

    void sum(const std::vector<float*>& bufs, size_t n) override {
        FR_CHECK(bufs.size() == backends_.size(), "gradient sum: {} buffers for {} ranks", bufs.size(),
                 backends_.size());
        total_.resize(n);
        part_.resize(n);
        const size_t bytes = n * sizeof(float);
        // Rank order, whatever the rank: ((g0 + g1) + g2) + ..., so every rank gets the same bits.
        backends_[0]->copy_to_host(total_.data(), bufs[0], bytes);
        for (size_t r = 1; r < bufs.size(); ++r) {
            backends_[r]->copy_to_host(part_.data(), bufs[r], bytes);
            for (size_t i = 0; i < n; ++i) total_[i] += part_[i];
        }
        for (size_t r = 0; r < bufs.size(); ++r) backends_[r]->copy_from_host(bufs[r], total_.data(), bytes);
    }

private:
    std::vector<Backend<float>*> backends_;
    std::vector<float> total_, part_;
};

}  // namespace

std::unique_ptr<GradientSum> make_host_gradient_sum(std::vector<Backend<float>*> backends) {
    return std::make_unique<HostGradientSum>(std::move(backends));
}

}  // namespace fusedrnn
