// Memory, copies and dense ops shared by the `cuda` and `cudnn` backends.
#include "fusedrnn/cuda/gpu_backend.h"

#include <cmath>
#include <cstring>
#include <utility>
#include <vector>

#include "fusedrnn/core/error.h"
#include "fusedrnn/core/data/windows.h"
#include "fusedrnn/core/gpu_settings.h"
#include "fusedrnn/cuda/check.h"
#include "fusedrnn/kernels/adam_scalars.h"
#include "fusedrnn/kernels/cuda/dense_kernels.h"

namespace fusedrnn::gpu {
namespace {

// Layout of the small scratch area used by reductions and error flags.
constexpr size_t kPartialsOffset = 0;
constexpr size_t kOutOffset = kReducePartials * sizeof(double);  // 2 doubles
constexpr size_t kFlagOffset = kOutOffset + 2 * sizeof(double);  // 1 int / unsigned
constexpr size_t kIndexFaultOffset = kFlagOffset + 64;            // IndexFault, sticky (see check_indices)
constexpr size_t kSmallBytes = kFlagOffset + 256;

struct Small {
    double* partials;
    double* out;
    int* flag;
    IndexFault* index_fault;
};

// Always the same size, so the area is allocated once and never moves: it holds the sticky IndexFault.
Small small_views(GpuContext& ctx) {
    char* base = static_cast<char*>(ctx.small_scratch(kSmallBytes));
    return Small{reinterpret_cast<double*>(base + kPartialsOffset), reinterpret_cast<double*>(base + kOutOffset),
                 reinterpret_cast<int*>(base + kFlagOffset), reinterpret_cast<IndexFault*>(base + kIndexFaultOffset)};
}

// How many index-checking ops are told apart between two waits (later ones share the last op code: a bad index
// among them is still caught, and named by the last one's name and range).
constexpr size_t kMaxPendingChecks = 4096;

}  // namespace

GpuBackend::GpuBackend(int device) : ctx_(device, tf32_from_env()) {}

template <class T>
void GpuBackend::read_back(T* host, const void* dev, size_t count) {
    const size_t bytes = count * sizeof(T);
    FR_CHECK(bytes <= 256, "read_back: {} bytes exceed the staging buffer", bytes);
    FR_CUDA_CHECK(cudaMemcpyAsync(ctx_.host_staging(), dev, bytes, cudaMemcpyDeviceToHost, ctx_.stream()));
    ctx_.synchronize();
    std::memcpy(host, ctx_.host_staging(), bytes);
    check_indices();
}

GpuBackend::IndexCheck GpuBackend::index_check(const char* what, int V) {
    const Small s = small_views(ctx_);
    if (!index_fault_zeroed_) {
        FR_CUDA_CHECK(cudaMemsetAsync(s.index_fault, 0, sizeof(IndexFault), ctx_.stream()));
        index_fault_zeroed_ = true;
    }
    if (pending_checks_.size() < kMaxPendingChecks) pending_checks_.push_back({what, V});
    else pending_checks_.back() = {what, V};
    return {s.index_fault, int(pending_checks_.size()) - 1};
}

// Runs after every wait for the device, so every kernel that checked indices since the last one has finished.
void GpuBackend::check_indices() {
    if (pending_checks_.empty()) return;
    std::vector<PendingCheck> checks = std::exchange(pending_checks_, {});  // the read below waits again
    const Small s = small_views(ctx_);
    IndexFault fault{};
    try {
        read_back(&fault, s.index_fault, 1);
    } catch (...) {  // a CUDA error: keep the checks for the next wait, so a raised record is not misattributed
        pending_checks_ = std::move(checks);
        throw;
    }
    if (fault.flag == 0) return;
    FR_CUDA_CHECK(cudaMemsetAsync(s.index_fault, 0, sizeof(IndexFault), ctx_.stream()));  // the backend stays usable
    FR_CHECK(fault.op >= 0 && size_t(fault.op) < checks.size(), "an index outside its range was seen on the device "
             "(by an unknown op {})", fault.op);
    const PendingCheck& c = checks[size_t(fault.op)];
    FR_FAIL("{} {} at position {} is outside [0, {})", c.what, fault.value, fault.position, c.V);
}

std::shared_ptr<Storage> GpuBackend::allocate(size_t bytes) {
    auto g = ctx_.guard();
    void* p = device_malloc(bytes);
    const int dev = ctx_.device();
    return std::make_shared<Storage>(p, bytes, device(), [dev](void* q) { device_free_on(dev, q); });
}

void GpuBackend::copy_from_host(void* dst, const void* src, size_t bytes) {
    if (bytes == 0) return;
    auto g = ctx_.guard();
    ctx_.wait_if_watched();  // from or into pageable memory the copy may block on the stream's earlier work
    FR_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, ctx_.stream()));
    ctx_.synchronize();
    check_indices();
}

void GpuBackend::copy_to_host(void* dst, const void* src, size_t bytes) {
    if (bytes == 0) return;
    auto g = ctx_.guard();
    ctx_.wait_if_watched();  // from or into pageable memory the copy may block on the stream's earlier work
    FR_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, ctx_.stream()));
    ctx_.synchronize();
    check_indices();
}

void GpuBackend::copy_device(void* dst, const void* src, size_t bytes) {
    if (bytes == 0) return;
    auto g = ctx_.guard();
    FR_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, ctx_.stream()));
}

void GpuBackend::copy_device_2d(void* dst, size_t dst_pitch, const void* src, size_t src_pitch, size_t width,
                                size_t rows) {
    FR_CHECK(dst_pitch >= width && src_pitch >= width, "copy_device_2d: pitches {} / {} below the width {}", dst_pitch,
             src_pitch, width);
    if (width == 0 || rows == 0) return;
    auto g = ctx_.guard();
    FR_CUDA_CHECK(cudaMemcpy2DAsync(dst, dst_pitch, src, src_pitch, width, rows, cudaMemcpyDeviceToDevice,
                                    ctx_.stream()));
}

void GpuBackend::copy_from_host_async(void* dst, const void* src, size_t bytes) {
    if (bytes == 0) return;
    auto g = ctx_.guard();
    ctx_.upload(dst, src, bytes);
}

DownloadTicket GpuBackend::queue_download(const void* src, size_t bytes) {
    auto g = ctx_.guard();
    return ctx_.queue_download(src, bytes);
}

const void* GpuBackend::wait_download(const DownloadTicket& ticket) {
    auto g = ctx_.guard();
    return ctx_.wait_download(ticket);
}

// Every op guards its device anyway (ctx_.guard()); a thread that has made it current pays no switch per op.
void GpuBackend::make_current() { FR_CUDA_CHECK(cudaSetDevice(ctx_.device())); }

void GpuBackend::synchronize() {
    auto g = ctx_.guard();
    ctx_.synchronize();
    check_indices();
}

void GpuBackend::fill(size_t n, float* x, float value) {
    auto g = ctx_.guard();
    gpu::fill(n, x, value, ctx_.stream());
}

void GpuBackend::scale(size_t n, float* x, float alpha) {
    auto g = ctx_.guard();
    gpu::scale(n, x, alpha, ctx_.stream());
}

void GpuBackend::axpy(size_t n, float alpha, const float* x, float* y) {
    auto g = ctx_.guard();
    gpu::axpy(n, alpha, x, y, ctx_.stream());
}

double GpuBackend::sum_squares(size_t n, const float* x) {
    if (n == 0) return 0.0;
    auto g = ctx_.guard();
    const Small s = small_views(ctx_);
    gpu::sum_squares(n, x, s.partials, s.out, ctx_.stream());
    double result = 0;
    read_back(&result, s.out, 1);
    return result;
}

bool GpuBackend::all_finite(size_t n, const float* x) {
    if (n == 0) return true;
    auto g = ctx_.guard();
    const Small s = small_views(ctx_);
    FR_CUDA_CHECK(cudaMemsetAsync(s.flag, 0, sizeof(int), ctx_.stream()));
    gpu::find_nonfinite(n, x, reinterpret_cast<unsigned int*>(s.flag), ctx_.stream());
    int flag = 0;
    read_back(&flag, s.flag, 1);
    return flag == 0;
}

void GpuBackend::linear_forward(int M, int in, int out, const float* x, const float* W, const float* b, float* y) {
    FR_CHECK(M >= 0 && in > 0 && out > 0, "linear_forward: bad sizes M={} in={} out={}", M, in, out);
    if (M == 0) return;
    auto g = ctx_.guard();
    if (b) gpu::broadcast_rows(M, out, b, y, ctx_.stream());
    ctx_.gemm(false, true, M, out, in, 1.f, x, in, W, in, b ? 1.f : 0.f, y, out);
}

void GpuBackend::linear_backward(int M, int in, int out, const float* x, const float* W, const float* dy,
                                 float* dx, float* dW, float* db) {
    FR_CHECK(M >= 0 && in > 0 && out > 0, "linear_backward: bad sizes M={} in={} out={}", M, in, out);
    if (M == 0) return;
    auto g = ctx_.guard();
    if (dx) ctx_.gemm(false, false, M, in, out, 1.f, dy, out, W, in, 0.f, dx, in);
    if (dW) ctx_.gemm(true, false, out, in, M, 1.f, dy, out, x, in, 1.f, dW, in);
    if (db) ctx_.add_column_sums(M, out, dy, out, db);
}

void GpuBackend::embedding_forward(int n, int V, int dim, const int32_t* ids, const float* table, float* out) {
    FR_CHECK(n >= 0 && V > 0 && dim > 0, "embedding_forward: bad sizes n={} V={} dim={}", n, V, dim);
    if (n == 0) return;
    auto g = ctx_.guard();
    const IndexCheck c = index_check("embedding: token id", V);
    gpu::embedding_forward(n, V, dim, ids, table, out, c.fault, c.op, ctx_.stream());
}

void GpuBackend::embedding_backward(int n, int V, int dim, const int32_t* ids, const float* dout, float* dtable) {
    FR_CHECK(n >= 0 && V > 0 && dim > 0, "embedding_backward: bad sizes n={} V={} dim={}", n, V, dim);
    if (n == 0) return;
    auto g = ctx_.guard();
    const IndexCheck c = index_check("embedding: token id", V);
    gpu::embedding_backward(n, V, dim, ids, dout, dtable, c.fault, c.op, ctx_.stream());
}

LossResult GpuBackend::mse(size_t n, const float* pred, const float* target, float* grad, float grad_scale) {
    FR_CHECK(n > 0, "mse: empty input");
    auto g = ctx_.guard();
    const Small s = small_views(ctx_);
    const float coef = grad_scale * 2.f / float(n);
    gpu::mse(n, pred, target, grad, coef, s.partials, s.out, ctx_.stream());
    double mean = 0;
    read_back(&mean, s.out, 1);
    return LossResult{mean, 0};
}

void GpuBackend::mse_into(size_t n, const float* pred, const float* target, float* grad, float grad_scale,
                          double* out) {
    FR_CHECK(n > 0, "mse: empty input");
    auto g = ctx_.guard();
    // The partials are shared scratch: the next reduction queued on this stream runs after this one.
    gpu::mse(n, pred, target, grad, grad_scale * 2.f / float(n), small_views(ctx_).partials, out, ctx_.stream());
}

void GpuBackend::sum_squares_into(size_t n, const float* x, double* out) {
    auto g = ctx_.guard();
    if (n == 0) {
        FR_CUDA_CHECK(cudaMemsetAsync(out, 0, sizeof(double), ctx_.stream()));
        return;
    }
    gpu::sum_squares(n, x, small_views(ctx_).partials, out, ctx_.stream());
}

void GpuBackend::clip_by_norm(size_t n, float* g_, const double* sum_squares, double max_norm) {
    if (!(max_norm > 0)) return;  // no clipping (the kernel would zero the gradients)
    auto g = ctx_.guard();
    gpu::clip_by_norm(n, g_, sum_squares, max_norm, ctx_.stream());
}

LossResult GpuBackend::softmax_cross_entropy(int M, int V, const float* logits, const int32_t* targets,
                                             float* dlogits, float grad_scale) {
    FR_CHECK(M > 0 && V > 0, "softmax_cross_entropy: bad sizes M={} V={}", M, V);
    auto g = ctx_.guard();
    const Small s = small_views(ctx_);
    auto* rows = static_cast<double*>(ctx_.scratch(2 * size_t(M) * sizeof(double)));
    const IndexCheck c = index_check("softmax_cross_entropy: target", V);
    gpu::softmax_cross_entropy(M, V, logits, targets, dlogits, grad_scale / float(M), rows, s.out, 1.0, c.fault, c.op,
                               ctx_.stream());
    double out[2] = {0, 0};
    read_back(out, s.out, 2);  // throws here if a target (or an index of an earlier op) was out of range
    return LossResult{out[0] / M, static_cast<long>(std::llround(out[1]))};
}

void GpuBackend::softmax_cross_entropy_into(int M, int V, const float* logits, const int32_t* targets,
                                            float* dlogits, float grad_scale, double* out) {
    FR_CHECK(M > 0 && V > 0, "softmax_cross_entropy: bad sizes M={} V={}", M, V);
    auto g = ctx_.guard();
    // The rows' partial sums live in the general scratch until the final sum has run (stream order), as
    // in softmax_cross_entropy; out[0] is the mean, divided on the device as the host would.
    auto* rows = static_cast<double*>(ctx_.scratch(2 * size_t(M) * sizeof(double)));
    const IndexCheck c = index_check("softmax_cross_entropy: target", V);
    gpu::softmax_cross_entropy(M, V, logits, targets, dlogits, grad_scale / float(M), rows, out, double(M), c.fault,
                               c.op, ctx_.stream());
}

void GpuBackend::sgd_step(size_t n, float* p, const float* g_, float* m, float lr, float momentum,
                          float weight_decay) {
    FR_CHECK(momentum == 0.f || m != nullptr, "sgd_step: momentum {} needs a momentum buffer", momentum);
    auto g = ctx_.guard();
    gpu::sgd_step(n, p, g_, m, lr, momentum, weight_decay, ctx_.stream());
}

void GpuBackend::adam_step(size_t n, float* p, const float* g_, float* m, float* v, float lr, float beta1,
                           float beta2, float eps, long step, float weight_decay, bool decoupled_weight_decay) {
    FR_CHECK(step >= 1, "adam_step: step must be >= 1, got {}", step);
    auto g = ctx_.guard();
    const AdamScalars<float> s = adam_scalars(lr, beta1, beta2, step, weight_decay, decoupled_weight_decay);
    gpu::adam_step(n, p, g_, m, v, beta1, beta2, eps, s.step_size, s.inv_sqrt_bc2, s.decay, s.l2, ctx_.stream());
}

void GpuBackend::rmsprop_step(size_t n, float* p, const float* g_, float* s, float lr, float alpha, float eps,
                              float weight_decay) {
    auto g = ctx_.guard();
    gpu::rmsprop_step(n, p, g_, s, lr, alpha, eps, weight_decay, ctx_.stream());
}

void GpuBackend::gather_windows(const float* series, int F, const int64_t* starts, int B, const data::WindowSpec& w,
                                const int32_t* target_cols, int K, float* x, float* y) {
    FR_CHECK(F > 0 && B >= 0 && w.input_len > 0 && w.horizon >= 0 && K >= 0,
             "gather_windows: bad sizes F={} B={} Tin={} horizon={} K={}", F, B, w.input_len, w.horizon, K);
    auto g = ctx_.guard();
    gpu::gather_windows(series, F, starts, B, w.input_len, w.in_step, w.horizon, w.out_offset, w.out_step, target_cols,
                        K, x, y, ctx_.stream());
}

void GpuBackend::dropout(const DropoutArgs& a, const float* x, float* y) {
    check_dropout_args(a);
    auto g = ctx_.guard();
    gpu::dropout(a, x, y, ctx_.stream());
}

}  // namespace fusedrnn::gpu
