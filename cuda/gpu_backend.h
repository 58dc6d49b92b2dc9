// fusedrnn — what the two GPU backends share: device memory, copies, and the dense ops (cuBLAS for the
// matrix products, kernels/cuda/dense_kernels.cu for the rest). The recurrent stack is left to the
// subclasses: FusedBackend ("cuda", cuda/fused_backend.cpp) and CudnnBackend ("cudnn",
// cuda/cudnn_backend.cpp).
//
// Execution model: every op is enqueued on the backend's own non-blocking stream and returns without
// waiting, except those whose result goes to the host (copies to or from pageable host memory, losses,
// sum_squares, all_finite), which synchronise. The *_into ops, clip_by_norm, copy_device, embedding_*,
// copy_from_host_async and queue_download never wait (the first only when its staging ring is full, the second
// only when a pinned slot grows),
// which is what lets a training step run without the host waiting for the device; wait_download waits for
// its copy only.
//
// Indices (embedding ids, cross-entropy targets) are checked on the device without waiting: a kernel that
// meets one outside [0, V) skips its row and records the op, position and value in a sticky fault record,
// which the backend reads at its next wait for the device (any op above that synchronises, copy_to_host,
// synchronize) and then throws naming them. So an embedding op with a bad id throws at the next wait, not
// in the call (softmax_cross_entropy waits, so it throws in the call).
#pragma once

#include <memory>
#include <vector>

#include "fusedrnn/core/backend.h"
#include "fusedrnn/cuda/context.h"

namespace fusedrnn::gpu {

struct IndexFault;  // kernels/cuda/dense_kernels.h

class GpuBackend : public Backend<float> {
public:
    explicit GpuBackend(int device);

    Device device() const override { return Device{DeviceType::CUDA, ctx_.device()}; }
    // The device, stream and library handles (for code that queues work of its own in order with the
    // backend's, e.g. the NCCL gradient sum).
    const GpuContext& context() const { return ctx_; }
    GpuContext& context() { return ctx_; }

    std::shared_ptr<Storage> allocate(size_t bytes) override;
    void copy_from_host(void* dst, const void* src, size_t bytes) override;
    void copy_to_host(void* dst, const void* src, size_t bytes) override;
    void copy_device(void* dst, const void* src, size_t bytes) override;
    void copy_device_2d(void* dst, size_t dst_pitch, const void* src, size_t src_pitch, size_t width,
                        size_t rows) override;
    void copy_from_host_async(void* dst, const void* src, size_t bytes) override;
    DownloadTicket queue_download(const void* src, size_t bytes) override;
    const void* wait_download(const DownloadTicket& ticket) override;
    void synchronize() override;
    void make_current() override;

    void fill(size_t n, float* x, float value) override;
    void scale(size_t n, float* x, float alpha) override;
    void axpy(size_t n, float alpha, const float* x, float* y) override;
    double sum_squares(size_t n, const float* x) override;
    bool all_finite(size_t n, const float* x) override;

    void linear_forward(int M, int in, int out, const float* x, const float* W, const float* b, float* y) override;
    void linear_backward(int M, int in, int out, const float* x, const float* W, const float* dy, float* dx,
                         float* dW, float* db) override;
    void embedding_forward(int n, int V, int dim, const int32_t* ids, const float* table, float* out) override;
    void embedding_backward(int n, int V, int dim, const int32_t* ids, const float* dout, float* dtable) override;

    void dropout(const DropoutArgs& a, const float* x, float* y) override;

    LossResult mse(size_t n, const float* pred, const float* target, float* grad, float grad_scale) override;
    LossResult softmax_cross_entropy(int M, int V, const float* logits, const int32_t* targets, float* dlogits,
                                     float grad_scale) override;
    void softmax_cross_entropy_into(int M, int V, const float* logits, const int32_t* targets, float* dlogits,
                                    float grad_scale, double* out) override;

    void mse_into(size_t n, const float* pred, const float* target, float* grad, float grad_scale,
                  double* out) override;
    void sum_squares_into(size_t n, const float* x, double* out) override;
    void clip_by_norm(size_t n, float* g, const double* sum_squares, double max_norm) override;

    void sgd_step(size_t n, float* p, const float* g, float* m, float lr, float momentum,
                  float weight_decay) override;
    void adam_step(size_t n, float* p, const float* g, float* m, float* v, float lr, float beta1, float beta2,
                   float eps, long step, float weight_decay, bool decoupled_weight_decay) override;
    void rmsprop_step(size_t n, float* p, const float* g, float* s, float lr, float alpha, float eps,
                      float weight_decay) override;

    void gather_windows(const float* series, int F, const int64_t* starts, int B, const data::WindowSpec& w,
                        const int32_t* target_cols, int K, float* x, float* y) override;

protected:
    // Reads `count` values of type T from device memory into the host (synchronises the stream).
    template <class T>
    void read_back(T* host, const void* dev, size_t count);

    GpuContext ctx_;

private:
    // An op whose indices the device checks, remembered until the next wait to name a bad index.
    struct PendingCheck {
        const char* what;
        int V;
    };
    struct IndexCheck {
        IndexFault* fault;  // the sticky record (device memory)
        int op;             // this op's code in it
    };
    // Registers an op that checks indices against [0, V) and returns where its kernel records a bad one.
    IndexCheck index_check(const char* what, int V);
    // After a wait: throws if a bad index was recorded since the last one (and clears the record).
    void check_indices();

    std::vector<PendingCheck> pending_checks_;
    bool index_fault_zeroed_ = false;
};

}  // namespace fusedrnn::gpu
