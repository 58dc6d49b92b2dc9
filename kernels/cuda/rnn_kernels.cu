// Fused pointwise kernels of the recurrent step (see rnn_kernels.h): one thread per (n, j), the body
// in rnn_step.cuh (which calls kernels/cell_math.h). Every launch is checked.
#include "fusedrnn/kernels/cuda/rnn_kernels.h"

#include <limits>

#include "fusedrnn/cuda/check.h"
#include "fusedrnn/kernels/cell_math.h"
#include "fusedrnn/kernels/cuda/rnn_step.cuh"

namespace fusedrnn::gpu {
namespace {

constexpr int kBlock = 256;

// Blocks for N·H threads. The kernels index threads with an int (cheaper than 64-bit arithmetic in every
// thread), so the last block's last index, N·H rounded up to whole blocks, must fit one; larger launches are
// refused here rather than wrapping to a negative index. The fused backend refuses such shapes earlier with
// the user's numbers (cuda/fused_backend.cpp); this keeps every other caller of the launchers safe too.
inline unsigned grid_for(int N, int H) {
    const long long n = static_cast<long long>(N) * H;
    const long long blocks = (n + kBlock - 1) / kBlock;
    if (blocks * kBlock > std::numeric_limits<int>::max())
        FR_GPU_FAIL("RNN step kernel: batch x hidden exceeds the kernels' 32-bit thread index");
    return static_cast<unsigned>(blocks);
}

// Decodes the thread's (n, j); false for the tail threads of the last block.
__device__ __forceinline__ bool unit_of_thread(int N, int H, int& n, int& j) {
    const int idx = blockIdx.x * blockDim.x + threadIdx.x;
    if (idx >= N * H) return false;
    n = idx / H;
    j = idx - n * H;
    return true;
}

template <class Cell>
__global__ void __launch_bounds__(kBlock) step_forward_kernel(const RnnStepForward a) {
    int n, j;
    if (unit_of_thread(a.N, a.H, n, j)) step::forward<Cell>(a, n, j);
}

__global__ void __launch_bounds__(kBlock) gru_rb_gates_kernel(const RnnStepForward a) {
    int n, j;
    if (unit_of_thread(a.N, a.H, n, j)) step::rb_forward_gates(a, n, j);
}

__global__ void __launch_bounds__(kBlock) gru_rb_output_kernel(const RnnStepForward a) {
    int n, j;
    if (unit_of_thread(a.N, a.H, n, j)) step::rb_forward_output(a, n, j);
}

template <class Cell>
__global__ void __launch_bounds__(kBlock) step_backward_kernel(const RnnStepBackward a) {
    int n, j;
    if (unit_of_thread(a.N, a.H, n, j)) step::backward<Cell>(a, n, j);
}

__global__ void __launch_bounds__(kBlock) gru_rb_backward_output_kernel(const RnnStepBackward a) {
    int n, j;
    if (unit_of_thread(a.N, a.H, n, j)) step::rb_backward_output(a, n, j);
}

__global__ void __launch_bounds__(kBlock) gru_rb_backward_gates_kernel(const RnnStepBackward a) {
    int n, j;
    if (unit_of_thread(a.N, a.H, n, j)) step::rb_backward_gates(a, n, j);
}

}  // namespace

void rnn_step_forward(CellType cell_type, const RnnStepForward& a, cudaStream_t stream) {
    if (a.N <= 0 || a.H <= 0) return;
    cell::dispatch(cell_type, [&](auto tag) {
        using Cell = decltype(tag);
        if constexpr (Cell::kResetBefore) {
            FR_GPU_FAIL("rnn_step_forward called for the reset-before GRU (use the two-phase kernels)");
        } else {
            step_forward_kernel<Cell><<<grid_for(a.N, a.H), kBlock, 0, stream>>>(a);
            FR_CUDA_LAUNCH_CHECK();
        }
    });
}

void gru_rb_forward_gates(const RnnStepForward& a, cudaStream_t stream) {
    if (a.N <= 0 || a.H <= 0) return;
    if (a.save == nullptr) FR_GPU_FAIL("gru_rb_forward_gates needs a save buffer");
    gru_rb_gates_kernel<<<grid_for(a.N, a.H), kBlock, 0, stream>>>(a);
    FR_CUDA_LAUNCH_CHECK();
}

void gru_rb_forward_output(const RnnStepForward& a, cudaStream_t stream) {
    if (a.N <= 0 || a.H <= 0) return;
    if (a.save == nullptr) FR_GPU_FAIL("gru_rb_forward_output needs a save buffer");
    gru_rb_output_kernel<<<grid_for(a.N, a.H), kBlock, 0, stream>>>(a);
    FR_CUDA_LAUNCH_CHECK();
}

void rnn_step_backward(CellType cell_type, const RnnStepBackward& a, cudaStream_t stream) {
    if (a.N <= 0 || a.H <= 0) return;
    cell::dispatch(cell_type, [&](auto tag) {
        using Cell = decltype(tag);
        if constexpr (Cell::kResetBefore) {
            FR_GPU_FAIL("rnn_step_backward called for the reset-before GRU (use the two-phase kernels)");
        } else {
            step_backward_kernel<Cell><<<grid_for(a.N, a.H), kBlock, 0, stream>>>(a);
            FR_CUDA_LAUNCH_CHECK();
        }
    });
}

void gru_rb_backward_output(const RnnStepBackward& a, cudaStream_t stream) {
    if (a.N <= 0 || a.H <= 0) return;
    gru_rb_backward_output_kernel<<<grid_for(a.N, a.H), kBlock, 0, stream>>>(a);
    FR_CUDA_LAUNCH_CHECK();
}

void gru_rb_backward_gates(const RnnStepBackward& a, cudaStream_t stream) {
    if (a.N <= 0 || a.H <= 0) return;
    if (a.d_rh == nullptr) FR_GPU_FAIL("gru_rb_backward_gates needs d_rh");
    gru_rb_backward_gates_kernel<<<grid_for(a.N, a.H), kBlock, 0, stream>>>(a);
    FR_CUDA_LAUNCH_CHECK();
}

}  // namespace fusedrnn::gpu
