#include "fusedrnn/core/gradient_sum.h"

#include "fusedrnn/core/error.h"

namespace fusedrnn {
namespace {

class HostGradientSum final : public GradientSum {
public:
    HostGradientSum(std::vector<Backend<float>*> backends, ProcessGroup* processes)
        : backends_(std::move(backends)), processes_(processes && processes->size() > 1 ? processes : nullptr) {
        FR_CHECK(!backends_.empty(), "a gradient sum needs at least one rank");
    }

    std::string name() const override { return "host"; }

    void sum(const std::vector<float*>& bufs, size_t n) override {
        FR_CHECK(bufs.size() == backends_.size(), "gradient sum: {} buffers for {} ranks", bufs.size(),
                 backends_.size());
        const size_t L = bufs.size(), bytes = n * sizeof(float);
        local_.resize(L * n);
        for (size_t r = 0; r < L; ++r) backends_[r]->copy_to_host(local_.data() + r * n, bufs[r], bytes);
        // Every rank of every process, in global rank order (process 0's ranks first).
        const float* all = local_.data();
        size_t ranks = L;
        if (processes_) {
            gathered_.resize(size_t(processes_->size()) * L * n);
            processes_->all_gather(local_.data(), L * bytes, gathered_.data());
            all = gathered_.data();
            ranks = size_t(processes_->size()) * L;
        }
        // ((g0 + g1) + g2) + ..., whatever the rank and however the ranks are spread over processes, so every rank
        // gets the same bits.
        total_.assign(all, all + n);
        for (size_t r = 1; r < ranks; ++r) {
            const float* part = all + r * n;
            for (size_t i = 0; i < n; ++i) total_[i] += part[i];
        }
        for (size_t r = 0; r < L; ++r) backends_[r]->copy_from_host(bufs[r], total_.data(), bytes);
    }

private:
    std::vector<Backend<float>*> backends_;
    ProcessGroup* processes_;  // null in a single-process run
    std::vector<float> local_, gathered_, total_;
};

}  // namespace

std::unique_ptr<GradientSum> make_host_gradient_sum(std::vector<Backend<float>*> backends, ProcessGroup* processes) {
    return std::make_unique<HostGradientSum>(std::move(backends), processes);
}

}  // namespace fusedrnn
