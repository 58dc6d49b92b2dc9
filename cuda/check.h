// fusedrnn — the one error path of the CUDA module.
// Every CUDA runtime, cuBLAS and cuDNN call goes through one of these macros; a failure is thrown as
// fusedrnn::Error naming the call, the library's status name and text, and the source location:
//   "CUDA call cudaMemcpyAsync(dst, src, bytes, kind, stream) failed: cudaErrorInvalidValue (invalid
//    argument) (cuda/gpu_backend.cpp:88)"
// Kernel launches are followed by FR_CUDA_LAUNCH_CHECK() (cudaGetLastError), so a bad launch
// configuration or a missing kernel image is reported at the launch, not at some later call.
//
// This header pulls in no CUDA header: the macros cast the status to int, so .cu files that never see
// cuBLAS or cuDNN can include it, and the throw functions (cuda/check.cpp) are the only place that
// formats messages.
#pragma once

namespace fusedrnn::gpu {

[[noreturn]] void throw_cuda_error(int status, const char* call, const char* file, int line);
[[noreturn]] void throw_cublas_error(int status, const char* call, const char* file, int line);
[[noreturn]] void throw_cudnn_error(int status, const char* call, const char* file, int line);
// A broken internal contract in code that cannot use fmt (kernel launchers in .cu files).
[[noreturn]] void throw_gpu_logic_error(const char* what, const char* file, int line);

}  // namespace fusedrnn::gpu

#define FR_CUDA_CHECK(call)                                                                        \
    do {                                                                                           \
        const auto fr_status_ = (call);                                                            \
        if (fr_status_ != cudaSuccess)                                                             \
            ::fusedrnn::gpu::throw_cuda_error(static_cast<int>(fr_status_), #call, __FILE__, __LINE__); \
    } while (0)

// Right after every <<<...>>> launch.
#define FR_CUDA_LAUNCH_CHECK() FR_CUDA_CHECK(cudaGetLastError())

#define FR_GPU_FAIL(what) ::fusedrnn::gpu::throw_gpu_logic_error(what, __FILE__, __LINE__)

#define FR_CUBLAS_CHECK(call)                                                                      \
    do {                                                                                           \
        const auto fr_status_ = (call);                                                            \
        if (fr_status_ != CUBLAS_STATUS_SUCCESS)                                                   \
            ::fusedrnn::gpu::throw_cublas_error(static_cast<int>(fr_status_), #call, __FILE__, __LINE__); \
    } while (0)

#define FR_CUDNN_CHECK(call)                                                                       \
    do {                                                                                           \
        const auto fr_status_ = (call);                                                            \
        if (fr_status_ != CUDNN_STATUS_SUCCESS)                                                    \
            ::fusedrnn::gpu::throw_cudnn_error(static_cast<int>(fr_status_), #call, __FILE__, __LINE__); \
    } while (0)
