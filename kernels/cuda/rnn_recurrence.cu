// The persistent recurrence kernels (rnn_recurrence.h): one launch per layer-direction and pass, a block per R
// batch rows, the block bodies in rnn_recurrence.cuh. Every launch is checked.
#include "kernels/cuda/rnn_recurrence.h"

#include "cuda/check.h"
#include "kernels/cell_math.h"
#include "kernels/cuda/rnn_recurrence.cuh"

namespace fusedrnn::gpu {
namespace {

using recurrence::kThreads;

// The GPU's driver of the block bodies: a phase's items strided over the block's threads, then a barrier. (Host
// and device, as the bodies are; only the device side ever runs.)
struct DeviceBlock {
    __host__ __device__ float* shared() {
#ifdef __CUDA_ARCH__
        extern __shared__ __align__(16) float recurrence_shared[];  // rows read as float4
        return recurrence_shared;
#else
        return nullptr;
#endif
    }
    template <class F>
    __host__ __device__ void phase(int n, F f) {
#ifdef __CUDA_ARCH__
        for (int i = static_cast<int>(threadIdx.x); i < n; i += kThreads) f(i);
        __syncthreads();
#else
        (void)n;
        (void)f;
#endif
    }
};

template <class Cell, int R>
__global__ void __launch_bounds__(kThreads) recurrence_forward_kernel(const RnnRecurrenceForward p) {
    DeviceBlock blk;
    recurrence::forward_block<Cell, R>(p, static_cast<int>(blockIdx.x), blk);
}

template <class Cell, int R>
__global__ void __launch_bounds__(kThreads) recurrence_backward_kernel(const RnnRecurrenceBackward p) {
    DeviceBlock blk;
    recurrence::backward_block<Cell, R>(p, static_cast<int>(blockIdx.x), blk);
}

}  // namespace

void rnn_recurrence_forward(CellType cell, const RnnRecurrenceForward& p, int R, cudaStream_t stream) {
    if (p.T <= 0 || p.first.N <= 0) return;
    recurrence::dispatch_launch<recurrence::Pass::Forward>(cell, p.first.H, R, [&](auto tag, auto rows, size_t bytes) {
        using Cell = decltype(tag);
        constexpr int kR = decltype(rows)::value;
        const auto blocks = static_cast<unsigned>(recurrence::block_count(p.first.N, kR));
        recurrence_forward_kernel<Cell, kR><<<blocks, kThreads, bytes, stream>>>(p);
        FR_CUDA_CHECK(cudaGetLastError());
    });
}

void rnn_recurrence_backward(CellType cell, const RnnRecurrenceBackward& p, int R, cudaStream_t stream) {
    if (p.T <= 0 || p.first.N <= 0) return;
    recurrence::dispatch_launch<recurrence::Pass::Backward>(cell, p.first.H, R, [&](auto tag, auto rows, size_t bytes) {
        using Cell = decltype(tag);
        constexpr int kR = decltype(rows)::value;
        const auto blocks = static_cast<unsigned>(recurrence::block_count(p.first.N, kR));
        recurrence_backward_kernel<Cell, kR><<<blocks, kThreads, bytes, stream>>>(p);
        FR_CUDA_CHECK(cudaGetLastError());
    });
}

}  // namespace fusedrnn::gpu
