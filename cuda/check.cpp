// Formatting of CUDA / cuBLAS / cuDNN failures (see cuda/check.h).
#include "fusedrnn/cuda/check.h"

#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>

#include <string>

#include "fusedrnn/core/error.h"

namespace fusedrnn::gpu {

namespace {
// A library that could not allocate its own device memory (cuBLAS's workspace, cuDNN's internal buffers) is out of
// GPU memory like a failed cudaMalloc: the trainers catch OutOfDeviceMemory to say which batch did not fit.
[[noreturn]] void throw_failure(bool out_of_memory, const char* file, int line, const std::string& msg) {
    if (out_of_memory) throw OutOfDeviceMemory(detail::located(file, line, msg + " (out of GPU memory)"));
    detail::throw_error(file, line, msg);
}
}  // namespace

void throw_cuda_error(int status, const char* call, const char* file, int line) {
    const auto err = static_cast<cudaError_t>(status);
    // Sticky errors (a kernel fault) poison the context; say so, since every later call fails too.
    const bool sticky = err == cudaErrorIllegalAddress || err == cudaErrorLaunchFailure ||
                        err == cudaErrorMisalignedAddress || err == cudaErrorIllegalInstruction ||
                        err == cudaErrorHardwareStackError || err == cudaErrorAssert;
    detail::throw_error(file, line,
                        fmt::format("CUDA call {} failed: {} ({}){}", call, cudaGetErrorName(err),
                                    cudaGetErrorString(err),
                                    sticky ? "; the CUDA context is now unusable (a kernel faulted: run the "
                                             "failing case under compute-sanitizer)"
                                           : ""));
}

// A library call that failed may have left a CUDA error pending (a kernel launch it made that did not start: too
// many resources, a grid too large). Taken here, and named, so the next unrelated check does not report it as its
// own failure (the benchmark tries cuDNN algorithms that are expected to fail, then goes on).
static std::string pending_cuda_error() {
    const cudaError_t err = cudaGetLastError();
    return err == cudaSuccess ? std::string()
                              : fmt::format("; CUDA error left pending: {} ({})", cudaGetErrorName(err),
                                            cudaGetErrorString(err));
}

void throw_cublas_error(int status, const char* call, const char* file, int line) {
    const auto st = static_cast<cublasStatus_t>(status);
    throw_failure(st == CUBLAS_STATUS_ALLOC_FAILED, file, line,
                  fmt::format("cuBLAS call {} failed: {} ({}){}", call, cublasGetStatusName(st),
                              cublasGetStatusString(st), pending_cuda_error()));
}

void throw_cudnn_error(int status, const char* call, const char* file, int line) {
    const auto st = static_cast<cudnnStatus_t>(status);
    char detail_msg[512] = {0};
    cudnnGetLastErrorString(detail_msg, sizeof(detail_msg));
    std::string extra = detail_msg[0] ? fmt::format("; cuDNN says: {}", detail_msg) : std::string();
    throw_failure(st == CUDNN_STATUS_INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED, file, line,
                  fmt::format("cuDNN call {} failed: {}{}{}", call, cudnnGetErrorString(st), extra,
                              pending_cuda_error()));
}

void throw_gpu_logic_error(const char* what, const char* file, int line) {
    detail::throw_error(file, line, fmt::format("internal error in the CUDA module: {}", what));
}

}  // namespace fusedrnn::gpu
