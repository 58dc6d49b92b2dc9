// Registers the GPU backends with core's registry (called once, from core/backend_registry.cpp).
#include <cuda_runtime_api.h>

#include "fusedrnn/core/backend.h"
#include "fusedrnn/core/gradient_sum.h"
#include "fusedrnn/cuda/backends.h"

namespace fusedrnn {

namespace {
std::shared_ptr<Backend<float>> make_cuda(int device) { return gpu::make_fused_backend(device); }
std::shared_ptr<Backend<float>> make_cudnn(int device) { return gpu::make_cudnn_backend(device); }
}  // namespace

// Returns the number of CUDA devices; 0 (never an exception) when there is no driver or no device —
// cudaGetDeviceCount reports an error then (cudaErrorNoDevice, cudaErrorInsufficientDriver, ...).
int register_cuda_backends() {
    int count = 0;
    const cudaError_t err = cudaGetDeviceCount(&count);
    if (err != cudaSuccess) {
        (void)cudaGetLastError();
        return 0;
    }
    if (count <= 0) return 0;
    register_backend("cuda", &make_cuda);
    register_backend("cudnn", &make_cudnn);
#ifdef FUSEDRNN_WITH_NCCL
    register_nccl_gradient_sum(&gpu::make_nccl_gradient_sum);
#endif
    return count;
}

}  // namespace fusedrnn
