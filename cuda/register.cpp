// Registers the GPU backends with core's registry (called once, from core/backend_registry.cpp).
#include <cuda_runtime_api.h>

#include <string>

#include "fusedrnn/core/backend.h"
#include "fusedrnn/core/gradient_sum.h"
#include "fusedrnn/cuda/backends.h"

namespace fusedrnn {

namespace {
std::shared_ptr<Backend<float>> make_cuda(int device) { return gpu::make_fused_backend(device); }
std::shared_ptr<Backend<float>> make_cudnn(int device) { return gpu::make_cudnn_backend(device); }
}  // namespace

// Returns the number of CUDA devices; 0 (never an exception) when there is no driver or no device —
// cudaGetDeviceCount reports an error then (cudaErrorNoDevice, cudaErrorInsufficientDriver, ...), which `why_none`
// keeps: a driver too old for this CUDA runtime must not read as a machine without a GPU.
int register_cuda_backends(std::string* why_none) {
    int count = 0;
    const cudaError_t err = cudaGetDeviceCount(&count);
    if (err != cudaSuccess) {
        (void)cudaGetLastError();
        // Without any driver the runtime says cudaErrorInsufficientDriver too: tell that (the usual CPU machine)
        // from a driver that is there but older than this build's runtime (a GPU machine that needs an update).
        int driver = 0, runtime = 0;
        (void)cudaDriverGetVersion(&driver);
        (void)cudaRuntimeGetVersion(&runtime);
        const auto version = [](int v) { return std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 10); };
        if (why_none) {
            if (err == cudaErrorInsufficientDriver && driver == 0)
                *why_none = "no NVIDIA driver is installed";
            else if (err == cudaErrorInsufficientDriver)
                *why_none = "the NVIDIA driver supports CUDA " + version(driver) + ", this build needs " +
                            version(runtime) + ": update the driver";
            else if (err != cudaErrorNoDevice)
                *why_none =
                    std::string("cudaGetDeviceCount: ") + cudaGetErrorName(err) + ": " + cudaGetErrorString(err);
        }
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
