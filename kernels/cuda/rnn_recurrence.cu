// The persistent recurrence kernels (rnn_recurrence.h): one launch per layer-direction and pass, a block per R
// batch rows, the block bodies in rnn_recurrence.cuh. Every launch is checked.
#include "fusedrnn/kernels/cuda/rnn_recurrence.h"

#include "fusedrnn/cuda/check.h"
#include "fusedrnn/kernels/cell_math.h"
#include "fusedrnn/kernels/cuda/rnn_recurrence.cuh"

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

// One kernel per (pass, cell, rows per block): Params is RnnRecurrenceForward or RnnRecurrenceBackward.
template <class Cell, int R, class Params>
__global__ void __launch_bounds__(kThreads) recurrence_kernel(const Params p) {
    DeviceBlock blk;
    recurrence::run_block<Cell, R>(p, static_cast<int>(blockIdx.x), blk);
}

template <class Params>
void launch_recurrence(CellType cell, const Params& p, int R, cudaStream_t stream) {
    recurrence::dispatch_launch(cell, p, R, [&](auto tag, auto rows, int blocks, size_t bytes) {
        recurrence_kernel<decltype(tag), decltype(rows)::value>
            <<<static_cast<unsigned>(blocks), kThreads, bytes, stream>>>(p);
        FR_CUDA_CHECK(cudaGetLastError());
    });
}

}  // namespace

void rnn_recurrence_forward(CellType cell, const RnnRecurrenceForward& p, int R, cudaStream_t stream) {
    launch_recurrence(cell, p, R, stream);
}

void rnn_recurrence_backward(CellType cell, const RnnRecurrenceBackward& p, int R, cudaStream_t stream) {
    launch_recurrence(cell, p, R, stream);
}

}  // namespace fusedrnn::gpu
