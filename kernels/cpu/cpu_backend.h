// The CPU backend: reference and fallback. Templated on float and double (double for gradient
// checks). Matrix products through OpenBLAS; pointwise work threaded over the batch with OpenMP.
#pragma once

#include <array>
#include <vector>

#include "fusedrnn/core/backend.h"

namespace fusedrnn::cpu {

template <class T>
class CpuBackend final : public Backend<T> {
public:
    std::string name() const override { return "cpu"; }
    // The instruction set of the float pointwise kernels (simd::cpu_isa(): FUSEDRNN_CPU_ISA caps it).
    std::string details() const override;
    Device device() const override { return Device{DeviceType::CPU, 0}; }

    std::shared_ptr<Storage> allocate(size_t bytes) override { return allocate_host(bytes); }
    void copy_from_host(void* dst, const void* src, size_t bytes) override;
    void copy_to_host(void* dst, const void* src, size_t bytes) override;
    void copy_device(void* dst, const void* src, size_t bytes) override;
    void copy_device_2d(void* dst, size_t dst_pitch, const void* src, size_t src_pitch, size_t width,
                        size_t rows) override;
    DownloadTicket queue_download(const void* src, size_t bytes) override;
    const void* wait_download(const DownloadTicket& ticket) override;

    void fill(size_t n, T* x, T value) override;
    void scale(size_t n, T* x, T alpha) override;
    void axpy(size_t n, T alpha, const T* x, T* y) override;
    double sum_squares(size_t n, const T* x) override;
    bool all_finite(size_t n, const T* x) override;

    size_t rnn_reserve_size(const RnnSpec& spec, int steps, int batch) override;
    void rnn_forward(const RnnSpec& spec, const RnnForwardArgs<T>& args) override;
    void rnn_backward(const RnnSpec& spec, const RnnBackwardArgs<T>& args) override;

    void linear_forward(int M, int in, int out, const T* x, const T* W, const T* b, T* y) override;
    void linear_backward(int M, int in, int out, const T* x, const T* W, const T* dy, T* dx, T* dW,
                         T* db) override;
    void embedding_forward(int n, int V, int dim, const int32_t* ids, const T* table, T* out) override;
    void embedding_backward(int n, int V, int dim, const int32_t* ids, const T* dout, T* dtable) override;

    void dropout(const DropoutArgs& a, const T* x, T* y) override;

    LossResult mse(size_t n, const T* pred, const T* target, T* grad, T grad_scale) override;
    LossResult softmax_cross_entropy(int M, int V, const T* logits, const int32_t* targets, T* dlogits,
                                     T grad_scale) override;

    void sgd_step(size_t n, T* p, const T* g, T* m, T lr, T momentum, T weight_decay) override;
    void adam_step(size_t n, T* p, const T* g, T* m, T* v, T lr, T beta1, T beta2, T eps, long step,
                   T weight_decay, bool decoupled_weight_decay) override;
    void rmsprop_step(size_t n, T* p, const T* g, T* s, T lr, T alpha, T eps, T weight_decay) override;

    void gather_windows(const T* series, int F, const int64_t* starts, int B, const data::WindowSpec& w,
                        const int32_t* target_cols, int K, T* x, T* y) override;

private:
    // Where queued downloads land: the copy is done when queue_download returns (host memory both sides).
    DownloadSlots download_slots_;
    std::array<std::vector<unsigned char>, DownloadSlots::kSlots> downloads_;
};

extern template class CpuBackend<float>;
extern template class CpuBackend<double>;

}  // namespace fusedrnn::cpu
