// fusedrnn — the dense ops' CUDA kernels (launchers). Semantics are those of the matching Backend
// methods in core/backend.h; these only launch on `stream` and never synchronise. Results that go
// back to the host (reductions, error flags) are written to device memory the caller provides.
// Every launch is checked (cudaGetLastError) and throws fusedrnn::Error on failure.
#pragma once

#include <cstddef>
#include <cstdint>

#include <cuda_runtime_api.h>

#include "fusedrnn/core/dropout_args.h"

namespace fusedrnn::gpu {

// Device scratch a deterministic reduction needs: kReducePartials doubles.
constexpr int kReducePartials = 1024;

// Where an index check records a bad index, in device memory. Sticky: the first kernel thread that meets one
// sets flag (atomicCAS 0 → 1) and writes op (the launcher's `op` argument), position and value; later bad
// indices leave it as it is. The caller zeroes it once and again after reading a fault back.
struct IndexFault {
    int flag;
    int op;
    int position;
    int value;
};

void fill(size_t n, float* x, float value, cudaStream_t stream);
void scale(size_t n, float* x, float alpha, cudaStream_t stream);
void axpy(size_t n, float alpha, const float* x, float* y, cudaStream_t stream);
// out[0] = Σ x² accumulated in double; partials: kReducePartials doubles. Deterministic (fixed tree).
void sum_squares(size_t n, const float* x, double* partials, double* out, cudaStream_t stream);
// *flag = 1 if any element is NaN or ±Inf (caller zeroes *flag first).
void find_nonfinite(size_t n, const float* x, unsigned int* flag, cudaStream_t stream);
// Gradient clipping with the norm left on the device: norm = √sum_squares[0]; if norm > max_norm,
// g *= float(max_norm / (norm + 1e-6)) (the CPU path's arithmetic; a NaN norm scales nothing). max_norm must
// be positive (the caller skips the launch otherwise).
void clip_by_norm(size_t n, float* g, const double* sum_squares, double max_norm, cudaStream_t stream);

// y[r, :] = b for r < M (y row-major [M, cols]); prepares a GEMM with beta = 1.
void broadcast_rows(int M, int cols, const float* b, float* y, cudaStream_t stream);

// out[i, :] = table[ids[i], :]; ids outside [0, V) leave their row untouched and are recorded in *fault
// (with `op`) as described at IndexFault.
void embedding_forward(int n, int V, int dim, const int32_t* ids, const float* table, float* out,
                       IndexFault* fault, int op, cudaStream_t stream);
// dtable[ids[i], :] += dout[i, :] with atomicAdd (rows of repeated ids sum in a run-dependent order, so
// not bit-reproducible); bad ids are skipped and recorded as above.
void embedding_backward(int n, int V, int dim, const int32_t* ids, const float* dout, float* dtable,
                        IndexFault* fault, int op, cudaStream_t stream);

// out[0] = Σ (pred - target)² / n in double; if grad, grad = grad_coef·(pred - target).
void mse(size_t n, const float* pred, const float* target, float* grad, float grad_coef, double* partials,
         double* out, cudaStream_t stream);
// One block per row. out[0] = Σ_rows (logsumexp - logit[target]) / loss_divisor in double (1: the sum; M:
// the mean), out[1] = rows whose argmax (first maximum) equals the target; if dlogits, dlogits =
// grad_coef·(softmax - onehot). Targets outside [0, V) are recorded in *fault as above (their rows
// contribute nothing). row_scratch: 2·M doubles.
void softmax_cross_entropy(int M, int V, const float* logits, const int32_t* targets, float* dlogits,
                           float grad_coef, double* row_scratch, double* out, double loss_divisor,
                           IndexFault* fault, int op, cudaStream_t stream);

void sgd_step(size_t n, float* p, const float* g, float* m, float lr, float momentum, float weight_decay,
              cudaStream_t stream);
// step_size, inv_sqrt_bc2, decay (the weights' factor first: AdamW) and weight_decay (added to the gradient: Adam's
// L2) from kernels/adam_scalars.h, computed by the caller as the CPU backend does, so both round alike.
void adam_step(size_t n, float* p, const float* g, float* m, float* v, float beta1, float beta2, float eps,
               float step_size, float inv_sqrt_bc2, float decay, float weight_decay, cudaStream_t stream);
void rmsprop_step(size_t n, float* p, const float* g, float* s, float lr, float alpha, float eps,
                  float weight_decay, cudaStream_t stream);

// One kernel for both x [Tin, B, F] and y [B, horizon·K] (see Backend::gather_windows).
void gather_windows(const float* series, int F, const int64_t* starts, int B, int Tin, int in_step, int horizon,
                    int out_offset, int out_step, const int32_t* target_cols, int K, float* x, float* y,
                    cudaStream_t stream);

// Backend::dropout (core/dropout_args.h); arguments already checked by the caller. y may be x.
void dropout(const DropoutArgs& a, const float* x, float* y, cudaStream_t stream);

// Parameter permutations between our flat (PyTorch-order) buffer and cuDNN's weight space:
//   scatter:    dst[map[i]] = src[i]           (our weights → cuDNN weight space)
//   gather_add: dst[i]     += src[map[i]]      (cuDNN weight gradients → our dweights, accumulated)
void scatter_params(size_t n, const int32_t* map, const float* src, float* dst, cudaStream_t stream);
void gather_add_params(size_t n, const int32_t* map, const float* src, float* dst, cudaStream_t stream);

// Launches a trivial kernel and synchronises; returns the cudaError_t (as int) of the launch, e.g.
// cudaErrorNoKernelImageForDevice when this binary carries no kernel image for the current GPU.
int probe_kernel_image(cudaStream_t stream);
// The CUDA architectures this module was compiled for, e.g. "90" or "80 90".
const char* compiled_architectures();

}  // namespace fusedrnn::gpu
