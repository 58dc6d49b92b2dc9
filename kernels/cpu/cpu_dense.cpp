// CPU backend: memory, elementwise ops, dense layers, losses, optimizers, window gathering.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "fusedrnn/core/data/windows.h"
#include "fusedrnn/kernels/adam_scalars.h"
#include "fusedrnn/kernels/cpu/blas.h"
#include "fusedrnn/kernels/cpu/blas_reserve.h"
#include "fusedrnn/kernels/cpu/cpu_backend.h"
#include "fusedrnn/kernels/cpu/simd.h"
#include "fusedrnn/kernels/dropout_mask.h"

namespace fusedrnn {

// cpu_isa() first: a bad FUSEDRNN_CPU_ISA fails where the backend is made, not at the first recurrent step. So do
// OpenBLAS's buffers under a `ulimit -v` (cpu/blas_reserve.h), mapped before the data.
std::shared_ptr<Backend<float>> make_cpu_backend_f32() {
    (void)cpu::simd::cpu_isa();
    cpu::reserve_blas_work_buffers();
    return std::make_shared<cpu::CpuBackend<float>>();
}
std::shared_ptr<Backend<double>> make_cpu_backend_f64() {
    (void)cpu::simd::cpu_isa();
    cpu::reserve_blas_work_buffers();
    return std::make_shared<cpu::CpuBackend<double>>();
}

namespace cpu {

namespace {
// Σ term(i) over i in [0, n), in double and in the same order on any number of threads: blocks of `block`
// terms summed on the OpenMP team, then the blocks' sums in block order (an OpenMP reduction would add the
// threads' shares, whose bounds follow the thread count).
template <class Term>
double ordered_sum(long n, long block, Term&& term) {
    const long blocks = (n + block - 1) / block;
    std::vector<double> sums(size_t(std::max(blocks, 1L)), 0.0);
#pragma omp parallel for schedule(static) if (blocks > 1)
    for (long b = 0; b < blocks; ++b) {
        double s = 0;
        for (long i = b * block, end = std::min(n, (b + 1) * block); i < end; ++i) s += term(i);
        sums[size_t(b)] = s;
    }
    double total = 0;
    for (const double s : sums) total += s;
    return total;
}
constexpr long kSumBlock = 32768;  // elements per block: up to this many are summed on one thread
}  // namespace

// The kernels' instruction set and OpenBLAS's: both round the products (a dynamic-arch OpenBLAS picks its GEMM
// kernels by CPU model, or OPENBLAS_CORETYPE, and SkylakeX's and Haswell's differ in the last bits, enough to end a
// Beijing run of the README an epoch apart).
template <class T>
std::string CpuBackend<T>::details() const {
    return std::string(std::is_same_v<T, float> ? "float" : "double") + " kernels " +
           (std::is_same_v<T, float> ? simd::isa_name(simd::cpu_isa()) : "generic") + ", OpenBLAS " +
           openblas_get_corename();
}

template <class T>
void CpuBackend<T>::copy_from_host(void* dst, const void* src, size_t bytes) { if (bytes) std::memcpy(dst, src, bytes); }
template <class T>
void CpuBackend<T>::copy_to_host(void* dst, const void* src, size_t bytes) { if (bytes) std::memcpy(dst, src, bytes); }
template <class T>
DownloadTicket CpuBackend<T>::queue_download(const void* src, size_t bytes) {
    const DownloadTicket t = download_slots_.next();
    std::vector<unsigned char>& slot = downloads_[size_t(t.slot)];
    const auto* bytes_of = static_cast<const unsigned char*>(src);
    slot.assign(bytes_of, bytes_of + bytes);
    return t;
}
template <class T>
const void* CpuBackend<T>::wait_download(const DownloadTicket& t) {
    return downloads_[size_t(download_slots_.slot_of(t))].data();
}
template <class T>
void CpuBackend<T>::copy_device(void* dst, const void* src, size_t bytes) { if (bytes) std::memmove(dst, src, bytes); }
template <class T>
void CpuBackend<T>::copy_device_2d(void* dst, size_t dst_pitch, const void* src, size_t src_pitch, size_t width,
                                   size_t rows) {
    FR_CHECK(dst_pitch >= width && src_pitch >= width, "copy_device_2d: pitches {} / {} below the width {}", dst_pitch,
             src_pitch, width);
    if (width == 0) return;
    for (size_t r = 0; r < rows; ++r)
        std::memcpy(static_cast<char*>(dst) + r * dst_pitch, static_cast<const char*>(src) + r * src_pitch, width);
}

template <class T>
void CpuBackend<T>::fill(size_t n, T* x, T value) {
#pragma omp parallel for schedule(static) if (n > 65536)
    for (long i = 0; i < long(n); ++i) x[i] = value;
}

template <class T>
void CpuBackend<T>::scale(size_t n, T* x, T alpha) {
#pragma omp parallel for schedule(static) if (n > 65536)
    for (long i = 0; i < long(n); ++i) x[i] *= alpha;
}

template <class T>
void CpuBackend<T>::axpy(size_t n, T alpha, const T* x, T* y) {
#pragma omp parallel for schedule(static) if (n > 65536)
    for (long i = 0; i < long(n); ++i) y[i] += alpha * x[i];
}

template <class T>
double CpuBackend<T>::sum_squares(size_t n, const T* x) {
    return ordered_sum(long(n), kSumBlock, [x](long i) { return double(x[i]) * double(x[i]); });
}

template <class T>
bool CpuBackend<T>::all_finite(size_t n, const T* x) {
    for (size_t i = 0; i < n; ++i)
        if (!std::isfinite(x[i])) return false;
    return true;
}

template <class T>
void CpuBackend<T>::linear_forward(int M, int in, int out, const T* x, const T* W, const T* b, T* y) {
    FR_CHECK(M >= 0 && in > 0 && out > 0, "linear_forward: bad sizes M={} in={} out={}", M, in, out);
    if (b) {
        for (int r = 0; r < M; ++r) std::memcpy(y + size_t(r) * out, b, sizeof(T) * out);
    }
    gemm_rows_parallel(false, true, M, out, in, T(1), x, in, W, in, b ? T(1) : T(0), y, out);
}

template <class T>
void CpuBackend<T>::linear_backward(int M, int in, int out, const T* x, const T* W, const T* dy, T* dx, T* dW,
                                    T* db) {
    FR_CHECK(M >= 0 && in > 0 && out > 0, "linear_backward: bad sizes M={} in={} out={}", M, in, out);
    if (dx) gemm_rows_parallel(false, false, M, in, out, T(1), dy, out, W, in, T(0), dx, in);
    if (dW) gemm_rows_parallel(true, false, out, in, M, T(1), dy, out, x, in, T(1), dW, in);
    if (db)
        for (int r = 0; r < M; ++r)
            for (int c = 0; c < out; ++c) db[c] += dy[size_t(r) * out + c];
}

template <class T>
void CpuBackend<T>::embedding_forward(int n, int V, int dim, const int32_t* ids, const T* table, T* out) {
    for (int i = 0; i < n; ++i) {
        FR_CHECK(ids[i] >= 0 && ids[i] < V, "embedding: token id {} at position {} is outside the vocabulary [0, {})",
                 ids[i], i, V);
        std::memcpy(out + size_t(i) * dim, table + size_t(ids[i]) * dim, sizeof(T) * dim);
    }
}

template <class T>
void CpuBackend<T>::embedding_backward(int n, int V, int dim, const int32_t* ids, const T* dout, T* dtable) {
    for (int i = 0; i < n; ++i) {
        FR_CHECK(ids[i] >= 0 && ids[i] < V, "embedding: token id {} at position {} is outside the vocabulary [0, {})",
                 ids[i], i, V);
        T* row = dtable + size_t(ids[i]) * dim;
        const T* g = dout + size_t(i) * dim;
        for (int k = 0; k < dim; ++k) row[k] += g[k];
    }
}

template <class T>
LossResult CpuBackend<T>::mse(size_t n, const T* pred, const T* target, T* grad, T grad_scale) {
    FR_CHECK(n > 0, "mse: empty input");
    const T g = grad_scale * T(2) / T(n);
    const double acc = ordered_sum(long(n), kSumBlock, [&](long i) {
        const T d = pred[i] - target[i];
        if (grad) grad[i] = g * d;
        return double(d) * double(d);
    });
    return LossResult{acc / double(n), 0};
}

template <class T>
LossResult CpuBackend<T>::softmax_cross_entropy(int M, int V, const T* logits, const int32_t* targets, T* dlogits,
                                                T grad_scale) {
    FR_CHECK(M > 0 && V > 0, "softmax_cross_entropy: bad sizes M={} V={}", M, V);
    for (int r = 0; r < M; ++r)
        FR_CHECK(targets[r] >= 0 && targets[r] < V, "softmax_cross_entropy: target {} at row {} outside [0, {})",
                 targets[r], r, V);
    const T g = grad_scale / T(M);
    std::vector<unsigned char> hit(static_cast<size_t>(M));  // per row: the arg max is the target
    constexpr long kRowsPerBlock = 64;
    const double loss = ordered_sum(M, kRowsPerBlock, [&](long r) {
        const T* row = logits + size_t(r) * V;
        int arg = 0;
        T mx = row[0];
        for (int k = 1; k < V; ++k)
            if (row[k] > mx) { mx = row[k]; arg = k; }
        double sum = 0;
        for (int k = 0; k < V; ++k) sum += std::exp(double(row[k] - mx));
        const double lse = double(mx) + std::log(sum);
        hit[size_t(r)] = arg == targets[r];
        if (dlogits) {
            T* d = dlogits + size_t(r) * V;
            for (int k = 0; k < V; ++k) d[k] = g * T(std::exp(double(row[k]) - lse));
            d[targets[r]] -= g;
        }
        return lse - double(row[targets[r]]);
    });
    const long correct = std::count(hit.begin(), hit.end(), 1);
    return LossResult{loss / M, correct};
}

template <class T>
void CpuBackend<T>::sgd_step(size_t n, T* p, const T* g, T* m, T lr, T momentum, T weight_decay) {
#pragma omp parallel for schedule(static) if (n > 65536)
    for (long i = 0; i < long(n); ++i) {
        T d = g[i] + weight_decay * p[i];
        if (momentum != T(0)) { m[i] = momentum * m[i] + d; d = m[i]; }
        p[i] -= lr * d;
    }
}

template <class T>
void CpuBackend<T>::adam_step(size_t n, T* p, const T* g, T* m, T* v, T lr, T beta1, T beta2, T eps, long step,
                              T weight_decay, bool decoupled_weight_decay) {
    FR_CHECK(step >= 1, "adam_step: step must be >= 1, got {}", step);
    const AdamScalars<T> s = adam_scalars(lr, beta1, beta2, step, weight_decay, decoupled_weight_decay);
#pragma omp parallel for schedule(static) if (n > 65536)
    for (long i = 0; i < long(n); ++i) {
        const T pi = p[i] * s.decay;  // exact when the decay is 1 (Adam)
        const T d = g[i] + s.l2 * pi;
        m[i] = beta1 * m[i] + (T(1) - beta1) * d;
        v[i] = beta2 * v[i] + (T(1) - beta2) * d * d;
        p[i] = pi - s.step_size * m[i] / (std::sqrt(v[i]) * s.inv_sqrt_bc2 + eps);
    }
}

template <class T>
void CpuBackend<T>::rmsprop_step(size_t n, T* p, const T* g, T* s, T lr, T alpha, T eps, T weight_decay) {
#pragma omp parallel for schedule(static) if (n > 65536)
    for (long i = 0; i < long(n); ++i) {
        const T d = g[i] + weight_decay * p[i];
        s[i] = alpha * s[i] + (T(1) - alpha) * d * d;
        p[i] -= lr * d / (std::sqrt(s[i]) + eps);
    }
}

template <class T>
void CpuBackend<T>::gather_windows(const T* series, int F, const int64_t* starts, int B, const data::WindowSpec& w,
                                   const int32_t* target_cols, int K, T* x, T* y) {
    const int Tin = w.input_len, in_step = w.in_step, horizon = w.horizon, out_offset = w.out_offset,
              out_step = w.out_step;
#pragma omp parallel for schedule(static)
    for (int b = 0; b < B; ++b) {
        const int64_t s = starts[b];
        for (int t = 0; t < Tin; ++t)
            std::memcpy(x + (size_t(t) * B + b) * F, series + size_t(s + int64_t(t) * in_step) * F, sizeof(T) * F);
        const int64_t first = s + int64_t(Tin - 1) * in_step + out_offset;
        for (int h = 0; h < horizon; ++h) {
            const T* row = series + size_t(first + int64_t(h) * out_step) * F;
            for (int k = 0; k < K; ++k) y[(size_t(b) * horizon + h) * K + k] = row[target_cols[k]];
        }
    }
}

template <class T>
void CpuBackend<T>::dropout(const DropoutArgs& a, const T* x, T* y) {
    check_dropout_args(a);
    const auto m = fusedrnn::dropout::prepare<T>(a);
    const size_t n = a.numel();
#pragma omp parallel for schedule(static) if (n > 65536)
    for (long i = 0; i < long(n); ++i) y[i] = fusedrnn::dropout::apply(size_t(i), m, x[i]);
}

template class CpuBackend<float>;
template class CpuBackend<double>;

}  // namespace cpu
}  // namespace fusedrnn
