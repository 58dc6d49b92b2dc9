// The dense ops' CUDA kernels (see dense_kernels.h). Elementwise ops are grid-stride loops; the
// reductions are deterministic two-pass trees (per-block partials, then one block), accumulated in
// double, so the same input gives bit-identical results on every run. The one exception is the embedding
// backward: repeated ids add into the same row with atomicAdd, in an order that varies between runs.
#include "fusedrnn/kernels/cuda/dense_kernels.h"

#include <algorithm>
#include <climits>
#include <string>

#include "fusedrnn/cuda/check.h"
#include "fusedrnn/kernels/cuda/dense_elements.cuh"

namespace fusedrnn::gpu {
namespace {

constexpr int kBlock = 256;
constexpr int kFinalBlock = 1024;

unsigned blocks_for(size_t n, int block = kBlock) {
    const size_t b = (n + block - 1) / block;
    const size_t cap = size_t(1) << 20;  // grid-stride loops cover the rest
    return static_cast<unsigned>(b < cap ? (b > 0 ? b : 1) : cap);
}

// The elementwise kernels' loop: thread i handles i, i + gridDim·blockDim, … (blocks_for caps the grid).
#define FR_GRID_STRIDE(i, n) \
    for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < (n); i += size_t(gridDim.x) * blockDim.x)

// Sum over the block; the result is returned to every thread. blockDim.x must be a multiple of 32.
__device__ double block_sum(double v) {
    __shared__ double warp_sums[32];
    __shared__ double result;
    for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    if (lane == 0) warp_sums[warp] = v;
    __syncthreads();
    if (warp == 0) {
        const int nwarps = blockDim.x >> 5;
        v = lane < nwarps ? warp_sums[lane] : 0.0;
        for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
        if (lane == 0) result = v;
    }
    __syncthreads();
    const double r = result;
    __syncthreads();  // the shared slots may be reused by a following call
    return r;
}

// Largest value over the block, ties to the smallest index; returned to every thread.
__device__ void block_argmax(float& value, int& index) {
    __shared__ float warp_v[32];
    __shared__ int warp_i[32];
    __shared__ float res_v;
    __shared__ int res_i;
    auto better = [](float v, int i, float bv, int bi) { return v > bv || (v == bv && i < bi); };
    for (int o = 16; o > 0; o >>= 1) {
        const float ov = __shfl_down_sync(0xffffffffu, value, o);
        const int oi = __shfl_down_sync(0xffffffffu, index, o);
        if (better(ov, oi, value, index)) { value = ov; index = oi; }
    }
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    if (lane == 0) { warp_v[warp] = value; warp_i[warp] = index; }
    __syncthreads();
    if (warp == 0) {
        const int nwarps = blockDim.x >> 5;
        value = lane < nwarps ? warp_v[lane] : -INFINITY;
        index = lane < nwarps ? warp_i[lane] : INT_MAX;
        for (int o = 16; o > 0; o >>= 1) {
            const float ov = __shfl_down_sync(0xffffffffu, value, o);
            const int oi = __shfl_down_sync(0xffffffffu, index, o);
            if (better(ov, oi, value, index)) { value = ov; index = oi; }
        }
        if (lane == 0) { res_v = value; res_i = index; }
    }
    __syncthreads();
    value = res_v;
    index = res_i;
    __syncthreads();
}

__global__ void fill_kernel(size_t n, float* x, float value) {
    FR_GRID_STRIDE(i, n) x[i] = value;
}

__global__ void scale_kernel(size_t n, float* x, float alpha) {
    FR_GRID_STRIDE(i, n) x[i] *= alpha;
}

__global__ void axpy_kernel(size_t n, float alpha, const float* x, float* y) {
    FR_GRID_STRIDE(i, n) y[i] += alpha * x[i];
}

// Pass 1 of Σ x² / Σ (p - t)²: one partial per block. With grad != nullptr also writes the MSE gradient.
__global__ void squares_partial_kernel(size_t n, const float* a, const float* b, float* grad, float grad_coef,
                                       double* partials) {
    double acc = 0.0;
    FR_GRID_STRIDE(i, n) {
        const float d = element::squares_term(i, a, b, grad, grad_coef);
        acc += double(d) * double(d);
    }
    const double s = block_sum(acc);
    if (threadIdx.x == 0) partials[blockIdx.x] = s;
}

// Pass 2: block b sums in[b·stride .. b·stride + n) into out[b]; block 0's sum is divided by `divisor` (1, or
// the element count for a mean: the same correctly rounded double division the host would do). Launched with
// kFinalBlock threads: the bound makes the compiler keep it launchable at that size (25 registers with nvcc 13).
__global__ void __launch_bounds__(kFinalBlock) sum_doubles_kernel(const double* in, size_t n, size_t stride, double* out, double divisor = 1.0) {
    const double* src = in + blockIdx.x * stride;
    double acc = 0.0;
    for (size_t i = threadIdx.x; i < n; i += blockDim.x) acc += src[i];
    const double s = block_sum(acc);
    if (threadIdx.x == 0) out[blockIdx.x] = blockIdx.x != 0 || divisor == 1.0 ? s : s / divisor;
}

// Every thread derives the factor from the norm on the device (one double read, cached).
__global__ void clip_by_norm_kernel(size_t n, float* g, const double* sum_squares, double max_norm) {
    float factor;
    if (!element::clip_factor(*sum_squares, max_norm, factor)) return;
    FR_GRID_STRIDE(i, n) g[i] *= factor;
}

__global__ void nonfinite_kernel(size_t n, const float* x, unsigned int* flag) {
    FR_GRID_STRIDE(i, n)
        if (!isfinite(x[i])) { atomicOr(flag, 1u); return; }
}

__global__ void broadcast_rows_kernel(size_t total, int cols, const float* b, float* y) {
    FR_GRID_STRIDE(i, total) element::broadcast_row(i, cols, b, y);
}

// The first bad index wins the flag and writes its details; the host reads them after a stream synchronisation,
// which makes every write of the finished kernels visible.
__device__ void record_bad_index(IndexFault* fault, int op, size_t position, int value) {
    if (atomicCAS(&fault->flag, 0, 1) == 0) {
        fault->op = op;
        fault->position = static_cast<int>(position);
        fault->value = value;
    }
}

__global__ void embedding_forward_kernel(size_t total, int V, int dim, const int32_t* ids, const float* table,
                                         float* out, IndexFault* fault, int op) {
    FR_GRID_STRIDE(e, total) {
        const element::EmbeddingElement el = element::embedding_element(e, V, dim, ids);
        if (el.valid) out[e] = table[el.table_index];
        else if (el.first_of_row) record_bad_index(fault, op, el.row, el.id);
    }
}

__global__ void embedding_backward_kernel(size_t total, int V, int dim, const int32_t* ids, const float* dout,
                                          float* dtable, IndexFault* fault, int op) {
    FR_GRID_STRIDE(e, total) {
        const element::EmbeddingElement el = element::embedding_element(e, V, dim, ids);
        if (el.valid) atomicAdd(dtable + el.table_index, dout[e]);
        else if (el.first_of_row) record_bad_index(fault, op, el.row, el.id);
    }
}

__global__ void softmax_xent_kernel(int V, const float* logits, const int32_t* targets, float* dlogits,
                                    float grad_coef, double* row_loss, double* row_correct, IndexFault* fault,
                                    int op) {
    const int r = blockIdx.x;
    const float* row = logits + size_t(r) * V;
    const int tgt = targets[r];
    const bool valid = tgt >= 0 && tgt < V;

    float best = -INFINITY;
    int best_i = INT_MAX;
    for (int k = threadIdx.x; k < V; k += blockDim.x) {
        const float v = row[k];
        if (v > best || best_i == INT_MAX) { best = v; best_i = k; }
    }
    block_argmax(best, best_i);
    const float mx = best;

    double acc = 0.0;
    for (int k = threadIdx.x; k < V; k += blockDim.x) acc += double(expf(row[k] - mx));
    const double lse = double(mx) + log(block_sum(acc));

    if (threadIdx.x == 0) {
        if (!valid) record_bad_index(fault, op, size_t(r), tgt);
        row_loss[r] = valid ? lse - double(row[tgt]) : 0.0;
        row_correct[r] = valid && best_i == tgt ? 1.0 : 0.0;
    }
    // A bad target's row gets no gradient either: the fault is only thrown at the host's next wait, and a step queued
    // before it must not move the weights by a row that has no loss.
    if (dlogits) {
        float* d = dlogits + size_t(r) * V;
        for (int k = threadIdx.x; k < V; k += blockDim.x)
            d[k] = valid ? element::softmax_xent_grad(row[k], lse, grad_coef, k == tgt) : 0.0f;
    }
}

__global__ void sgd_kernel(size_t n, float* p, const float* g, float* m, float lr, float momentum, float wd) {
    FR_GRID_STRIDE(i, n) element::sgd(i, p, g, m, lr, momentum, wd);
}

__global__ void adam_kernel(size_t n, float* p, const float* g, float* m, float* v, float beta1, float beta2,
                            float eps, float step_size, float inv_sqrt_bc2, float decay, float wd) {
    FR_GRID_STRIDE(i, n) element::adam(i, p, g, m, v, beta1, beta2, eps, step_size, inv_sqrt_bc2, decay, wd);
}

__global__ void rmsprop_kernel(size_t n, float* p, const float* g, float* s, float lr, float alpha, float eps,
                               float wd) {
    FR_GRID_STRIDE(i, n) element::rmsprop(i, p, g, s, lr, alpha, eps, wd);
}

__global__ void gather_windows_kernel(const element::GatherWindowsArgs a) {
    FR_GRID_STRIDE(i, a.total()) element::gather_window(i, a);
}

__global__ void dropout_kernel(size_t n, const fusedrnn::dropout::Mask<float> m, const float* x, float* y) {
    FR_GRID_STRIDE(i, n) element::dropout(i, m, x, y);
}

__global__ void scatter_params_kernel(size_t n, const int32_t* map, const float* src, float* dst) {
    FR_GRID_STRIDE(i, n) dst[map[i]] = src[i];
}

__global__ void gather_add_params_kernel(size_t n, const int32_t* map, const float* src, float* dst) {
    FR_GRID_STRIDE(i, n) dst[i] += src[map[i]];
}

__global__ void probe_kernel(int* p) {
    if (p) *p = 1;
}

// Variadic: nvcc defines __CUDA_ARCH_LIST__ as a comma-separated list ("800,900") when built for several
// architectures, which a one-parameter macro would receive as several arguments (a compile error).
#define FR_STR2(...) #__VA_ARGS__
#define FR_STR(x) FR_STR2(x)

}  // namespace

void fill(size_t n, float* x, float value, cudaStream_t stream) {
    if (n == 0) return;
    fill_kernel<<<blocks_for(n), kBlock, 0, stream>>>(n, x, value);
    FR_CUDA_LAUNCH_CHECK();
}

void scale(size_t n, float* x, float alpha, cudaStream_t stream) {
    if (n == 0) return;
    scale_kernel<<<blocks_for(n), kBlock, 0, stream>>>(n, x, alpha);
    FR_CUDA_LAUNCH_CHECK();
}

void axpy(size_t n, float alpha, const float* x, float* y, cudaStream_t stream) {
    if (n == 0) return;
    axpy_kernel<<<blocks_for(n), kBlock, 0, stream>>>(n, alpha, x, y);
    FR_CUDA_LAUNCH_CHECK();
}

namespace {
void squares_reduce(size_t n, const float* a, const float* b, float* grad, float coef, double* partials,
                    double* out, double divisor, cudaStream_t stream) {
    const unsigned nb = n == 0 ? 1u : std::min<unsigned>(blocks_for(n), kReducePartials);
    squares_partial_kernel<<<nb, kBlock, 0, stream>>>(n, a, b, grad, coef, partials);
    FR_CUDA_LAUNCH_CHECK();
    sum_doubles_kernel<<<1, kFinalBlock, 0, stream>>>(partials, nb, 0, out, divisor);
    FR_CUDA_LAUNCH_CHECK();
}
}  // namespace

void sum_squares(size_t n, const float* x, double* partials, double* out, cudaStream_t stream) {
    squares_reduce(n, x, nullptr, nullptr, 0.f, partials, out, 1.0, stream);
}

void clip_by_norm(size_t n, float* g, const double* sum_squares, double max_norm, cudaStream_t stream) {
    if (n == 0) return;
    clip_by_norm_kernel<<<blocks_for(n), kBlock, 0, stream>>>(n, g, sum_squares, max_norm);
    FR_CUDA_LAUNCH_CHECK();
}

void find_nonfinite(size_t n, const float* x, unsigned int* flag, cudaStream_t stream) {
    if (n == 0) return;
    nonfinite_kernel<<<blocks_for(n), kBlock, 0, stream>>>(n, x, flag);
    FR_CUDA_LAUNCH_CHECK();
}

void broadcast_rows(int M, int cols, const float* b, float* y, cudaStream_t stream) {
    const size_t total = size_t(M) * cols;
    if (total == 0) return;
    broadcast_rows_kernel<<<blocks_for(total), kBlock, 0, stream>>>(total, cols, b, y);
    FR_CUDA_LAUNCH_CHECK();
}

void embedding_forward(int n, int V, int dim, const int32_t* ids, const float* table, float* out,
                       IndexFault* fault, int op, cudaStream_t stream) {
    const size_t total = size_t(n) * dim;
    if (total == 0) return;
    embedding_forward_kernel<<<blocks_for(total), kBlock, 0, stream>>>(total, V, dim, ids, table, out, fault, op);
    FR_CUDA_LAUNCH_CHECK();
}

void embedding_backward(int n, int V, int dim, const int32_t* ids, const float* dout, float* dtable,
                        IndexFault* fault, int op, cudaStream_t stream) {
    const size_t total = size_t(n) * dim;
    if (total == 0) return;
    embedding_backward_kernel<<<blocks_for(total), kBlock, 0, stream>>>(total, V, dim, ids, dout, dtable, fault,
                                                                        op);
    FR_CUDA_LAUNCH_CHECK();
}

void mse(size_t n, const float* pred, const float* target, float* grad, float grad_coef, double* partials,
         double* out, cudaStream_t stream) {
    squares_reduce(n, pred, target, grad, grad_coef, partials, out, double(n), stream);
}

void softmax_cross_entropy(int M, int V, const float* logits, const int32_t* targets, float* dlogits,
                           float grad_coef, double* row_scratch, double* out, double loss_divisor,
                           IndexFault* fault, int op, cudaStream_t stream) {
    if (M <= 0 || V <= 0) FR_GPU_FAIL("softmax_cross_entropy: M and V must be positive");
    const int block = V >= 1024 ? 256 : (V >= 128 ? 128 : 32);
    softmax_xent_kernel<<<static_cast<unsigned>(M), block, 0, stream>>>(V, logits, targets, dlogits, grad_coef,
                                                                       row_scratch, row_scratch + M, fault, op);
    FR_CUDA_LAUNCH_CHECK();
    sum_doubles_kernel<<<2, kFinalBlock, 0, stream>>>(row_scratch, size_t(M), size_t(M), out, loss_divisor);
    FR_CUDA_LAUNCH_CHECK();
}

void sgd_step(size_t n, float* p, const float* g, float* m, float lr, float momentum, float weight_decay,
              cudaStream_t stream) {
    if (n == 0) return;
    sgd_kernel<<<blocks_for(n), kBlock, 0, stream>>>(n, p, g, m, lr, momentum, weight_decay);
    FR_CUDA_LAUNCH_CHECK();
}

void adam_step(size_t n, float* p, const float* g, float* m, float* v, float beta1, float beta2, float eps,
               float step_size, float inv_sqrt_bc2, float decay, float weight_decay, cudaStream_t stream) {
    if (n == 0) return;
    adam_kernel<<<blocks_for(n), kBlock, 0, stream>>>(n, p, g, m, v, beta1, beta2, eps, step_size, inv_sqrt_bc2,
                                                      decay, weight_decay);
    FR_CUDA_LAUNCH_CHECK();
}

void rmsprop_step(size_t n, float* p, const float* g, float* s, float lr, float alpha, float eps,
                  float weight_decay, cudaStream_t stream) {
    if (n == 0) return;
    rmsprop_kernel<<<blocks_for(n), kBlock, 0, stream>>>(n, p, g, s, lr, alpha, eps, weight_decay);
    FR_CUDA_LAUNCH_CHECK();
}

void gather_windows(const float* series, int F, const int64_t* starts, int B, int Tin, int in_step, int horizon,
                    int out_offset, int out_step, const int32_t* target_cols, int K, float* x, float* y,
                    cudaStream_t stream) {
    const element::GatherWindowsArgs a{series, F, starts, B, Tin, in_step, horizon, out_offset, out_step,
                                       target_cols, K, x, y};
    const size_t total = a.total();
    if (total == 0) return;
    gather_windows_kernel<<<blocks_for(total), kBlock, 0, stream>>>(a);
    FR_CUDA_LAUNCH_CHECK();
}

void dropout(const DropoutArgs& a, const float* x, float* y, cudaStream_t stream) {
    const size_t n = a.numel();
    if (n == 0) return;
    dropout_kernel<<<blocks_for(n), kBlock, 0, stream>>>(n, fusedrnn::dropout::prepare<float>(a), x, y);
    FR_CUDA_LAUNCH_CHECK();
}

void scatter_params(size_t n, const int32_t* map, const float* src, float* dst, cudaStream_t stream) {
    if (n == 0) return;
    scatter_params_kernel<<<blocks_for(n), kBlock, 0, stream>>>(n, map, src, dst);
    FR_CUDA_LAUNCH_CHECK();
}

void gather_add_params(size_t n, const int32_t* map, const float* src, float* dst, cudaStream_t stream) {
    if (n == 0) return;
    gather_add_params_kernel<<<blocks_for(n), kBlock, 0, stream>>>(n, map, src, dst);
    FR_CUDA_LAUNCH_CHECK();
}

int probe_kernel_image(cudaStream_t stream) {
    probe_kernel<<<1, 1, 0, stream>>>(nullptr);
    cudaError_t err = cudaGetLastError();
    if (err == cudaSuccess) err = cudaStreamSynchronize(stream);
    return static_cast<int>(err);
}

const char* compiled_architectures() {
#ifdef __CUDA_ARCH_LIST__
    // __CUDA_ARCH_LIST__ counts in __CUDA_ARCH__ units ("800,900"); report CMake's spelling ("80 90"), which
    // is what the error message tells the user to pass to -DCMAKE_CUDA_ARCHITECTURES.
    static const std::string list = [] {
        const std::string raw = FR_STR(__CUDA_ARCH_LIST__);
        std::string out;
        size_t begin = 0;
        while (begin < raw.size()) {
            size_t end = raw.find(',', begin);
            if (end == std::string::npos) end = raw.size();
            std::string item = raw.substr(begin, end - begin);
            if (item.size() > 1 && item.back() == '0') item.pop_back();
            if (!out.empty()) out += ' ';
            out += item;
            begin = end + 1;
        }
        return out;
    }();
    return list.c_str();
#else
    return "unknown";
#endif
}

}  // namespace fusedrnn::gpu
