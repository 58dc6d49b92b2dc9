// Device allocation with a readable out-of-memory error.
#include "fusedrnn/cuda/device_memory.h"

#include <string>

#include <cuda_runtime_api.h>

#include "fusedrnn/core/detail/byte_size.h"
#include "fusedrnn/core/error.h"

namespace fusedrnn::gpu {

using detail::human_bytes;

void* device_malloc(size_t bytes) {
    if (bytes == 0) return nullptr;
    void* p = nullptr;
    const cudaError_t err = cudaMalloc(&p, bytes);
    if (err == cudaSuccess) return p;
    (void)cudaGetLastError();  // not a sticky error: clear it so later launch checks stay accurate
    int dev = -1;
    (void)cudaGetDevice(&dev);
    size_t free_b = 0, total_b = 0;
    const bool have_info = cudaMemGetInfo(&free_b, &total_b) == cudaSuccess;
    (void)cudaGetLastError();
    if (err == cudaErrorMemoryAllocation) {
        throw OutOfDeviceMemory(fmt::format("out of GPU memory allocating {} ({} bytes) on cuda:{} (free {} of {}) "
                                            "(cuda/device_memory.cpp:{})",
                                            human_bytes(bytes), bytes, dev, have_info ? human_bytes(free_b) : "?",
                                            have_info ? human_bytes(total_b) : "?", __LINE__));
    }
    FR_FAIL("GPU allocation of {} ({} bytes) on cuda:{} failed: {} ({})", human_bytes(bytes), bytes, dev,
            cudaGetErrorName(err), cudaGetErrorString(err));
}

void device_free(void* p) noexcept {
    if (p == nullptr) return;
    // Work still queued may use this block (scratch regrown between two queued ops, a tensor released while the
    // kernel that reads it is still queued). cudaFree waits for the device in practice, but the driver documents
    // only that it *may* synchronise, so wait explicitly (no cost where it would have waited anyway). An error
    // here belongs to earlier work and, a kernel fault being sticky, is reported by the next checked call.
    (void)cudaDeviceSynchronize();
    // cudaErrorCudartUnloading at process exit is expected and harmless; nothing else can be done here.
    if (cudaFree(p) != cudaSuccess) (void)cudaGetLastError();
}

void device_free_on(int device, void* p) noexcept {
    if (p == nullptr) return;
    int previous = -1;
    const bool switch_device = cudaGetDevice(&previous) == cudaSuccess && previous != device;
    if (switch_device) (void)cudaSetDevice(device);
    device_free(p);
    if (switch_device) (void)cudaSetDevice(previous);
}

}  // namespace fusedrnn::gpu
