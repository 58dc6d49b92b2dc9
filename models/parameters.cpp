#include "fusedrnn/models/parameters.h"

#include <random>

namespace fusedrnn {

ParamStore::ParamStore(std::shared_ptr<Backend<float>> backend, ParamLayout layout)
    : backend_(std::move(backend)), layout_(std::move(layout)) {
    FR_CHECK(backend_ != nullptr, "ParamStore: no backend");
    values_ = backend_->zeros({long(layout_.total())});
    grads_ = backend_->zeros({long(layout_.total())});
}

Tensor<float> ParamStore::value(const std::string& name) const {
    const ParamEntry& e = layout_.at(name);
    return values_.view(e.offset, e.shape);
}

Tensor<float> ParamStore::grad(const std::string& name) const {
    const ParamEntry& e = layout_.at(name);
    return grads_.view(e.offset, e.shape);
}

void ParamStore::zero_grad() { backend_->fill(grads_.numel(), grads_.data(), 0.0f); }

void ParamStore::init_uniform(uint64_t seed, const std::vector<float>& bound_per_entry) {
    FR_CHECK(bound_per_entry.size() == layout_.entries().size(), "init_uniform: {} bounds for {} parameters",
             bound_per_entry.size(), layout_.entries().size());
    std::mt19937_64 rng(seed);
    std::vector<float> host(layout_.total());
    for (size_t e = 0; e < layout_.entries().size(); ++e) {
        const ParamEntry& entry = layout_.entries()[e];
        std::uniform_real_distribution<float> dist(-bound_per_entry[e], bound_per_entry[e]);
        for (size_t i = 0; i < entry.numel; ++i) host[entry.offset + i] = dist(rng);
    }
    values_from_host(host);
}

std::vector<float> ParamStore::values_to_host() const { return backend_->to_host(values_); }

void ParamStore::values_from_host(const std::vector<float>& host) {
    FR_CHECK(host.size() == layout_.total(), "parameter count mismatch: {} values for {} parameters", host.size(),
             layout_.total());
    backend_->copy_from_host(values_.data(), host.data(), host.size() * sizeof(float));
}

}  // namespace fusedrnn
