// fusedrnn — one flat parameter buffer and its gradient twin, with named views.
// Layers hold offsets into these buffers, so the optimizer, clipping and (later) the all-reduce each
// run once over one contiguous array, and a checkpoint is one pass over the named views.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "fusedrnn/core/backend.h"
#include "fusedrnn/core/param_layout.h"

namespace fusedrnn {

class ParamStore {
public:
    ParamStore(std::shared_ptr<Backend<float>> backend, ParamLayout layout);
    // A copy would share the buffers (tensors are views of shared storage), not copy the weights: `auto best =
    // model.params()` would follow training (QA). A move out of a model's store would leave the model without its
    // weights (QA's recheck: a crash at its next forward). values_to_host() is the snapshot; models hold their store
    // by pointer.
    ParamStore(const ParamStore&) = delete;
    ParamStore& operator=(const ParamStore&) = delete;

    Backend<float>& backend() const { return *backend_; }
    const std::shared_ptr<Backend<float>>& backend_ptr() const { return backend_; }
    const ParamLayout& layout() const { return layout_; }
    size_t size() const { return layout_.total(); }

    float* values() { return values_.data(); }
    const float* values() const { return values_.data(); }
    float* grads() { return grads_.data(); }
    const float* grads() const { return grads_.data(); }
    Tensor<float>& values_tensor() { return values_; }
    Tensor<float>& grads_tensor() { return grads_; }

    // Named views (PyTorch names, e.g. "rnn.weight_ih_l0").
    Tensor<float> value(const std::string& name) const;
    Tensor<float> grad(const std::string& name) const;

    void zero_grad();
    // Every parameter from U(-bound, bound), bound chosen per entry by `bound_of` (deterministic for
    // a seed, identical on every backend: values are drawn on the host and copied).
    void init_uniform(uint64_t seed, const std::vector<float>& bound_per_entry);

    std::vector<float> values_to_host() const;
    void values_from_host(const std::vector<float>& host);

private:
    std::shared_ptr<Backend<float>> backend_;
    ParamLayout layout_;
    Tensor<float> values_, grads_;
};

}  // namespace fusedrnn
