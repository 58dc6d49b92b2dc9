#include "fusedrnn/cuda/context.h"

#include <chrono>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include "fusedrnn/core/error.h"
#include "fusedrnn/cuda/check.h"
#include "fusedrnn/kernels/cuda/dense_kernels.h"

namespace fusedrnn::gpu {

DeviceGuard::DeviceGuard(int device) : device_(device) {
    FR_CUDA_CHECK(cudaGetDevice(&previous_));
    if (previous_ != device_) FR_CUDA_CHECK(cudaSetDevice(device_));
}

DeviceGuard::~DeviceGuard() {
    if (previous_ >= 0 && previous_ != device_) (void)cudaSetDevice(previous_);
}

namespace {

// Owns partially-built state while the constructor runs, so a throw part-way releases it.
struct Pending {
    cudaStream_t stream = nullptr;
    cublasHandle_t cublas = nullptr;
    void* pinned = nullptr;
    ~Pending() {
        if (cublas) (void)cublasDestroy(cublas);
        if (stream) (void)cudaStreamDestroy(stream);
        if (pinned) (void)cudaFreeHost(pinned);
    }
};

int checked_int(long v, const char* what) {
    FR_CHECK(v >= 0 && v <= INT_MAX, "GEMM dimension {} = {} exceeds cuBLAS's 32-bit limit", what, v);
    return static_cast<int>(v);
}

}  // namespace

GpuContext::GpuContext(int device, bool allow_tf32) : device_(device), allow_tf32_(allow_tf32) {
    DeviceGuard g(device_);
    Pending p;
    FR_CUDA_CHECK(cudaStreamCreateWithFlags(&p.stream, cudaStreamNonBlocking));

    // A GPU this binary has no kernels for fails every launch; say so once, clearly.
    const int probe = probe_kernel_image(p.stream);
    if (probe != cudaSuccess) {
        (void)cudaGetLastError();
        const auto err = static_cast<cudaError_t>(probe);
        int major = 0, minor = 0;
        (void)cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device_);
        (void)cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, device_);
        if (err == cudaErrorNoKernelImageForDevice || err == cudaErrorInvalidDeviceFunction)
            FR_FAIL("this fusedrnn build has no CUDA kernels for cuda:{} (compute capability {}.{}); it was compiled "
                    "for architectures {} — reconfigure with -DCMAKE_CUDA_ARCHITECTURES={}{}",
                    device_, major, minor, compiled_architectures(), major, minor);
        FR_FAIL("a test kernel launch on cuda:{} (compute capability {}.{}) failed: {} ({})", device_, major, minor,
                cudaGetErrorName(err), cudaGetErrorString(err));
    }

    FR_CUBLAS_CHECK(cublasCreate(&p.cublas));
    FR_CUBLAS_CHECK(cublasSetStream(p.cublas, p.stream));
    FR_CUBLAS_CHECK(cublasSetMathMode(p.cublas, allow_tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
    FR_CUBLAS_CHECK(cublasSetPointerMode(p.cublas, CUBLAS_POINTER_MODE_HOST));
    FR_CUDA_CHECK(cudaMallocHost(&p.pinned, 256));
    FR_CUDA_CHECK(cudaDeviceGetAttribute(&sm_count_, cudaDevAttrMultiProcessorCount, device_));

    stream_ = p.stream;
    cublas_ = p.cublas;
    host_staging_ = p.pinned;
    p.stream = nullptr;
    p.cublas = nullptr;
    p.pinned = nullptr;
}

GpuContext::~GpuContext() {
    // Never throw from here: at process exit the runtime may already be shutting down.
    int previous = -1;
    if (cudaGetDevice(&previous) == cudaSuccess && previous != device_) (void)cudaSetDevice(device_);
    if (stream_) (void)cudaStreamSynchronize(stream_);
    if (cublas_) (void)cublasDestroy(cublas_);
    if (stream_) (void)cudaStreamDestroy(stream_);
    if (host_staging_) (void)cudaFreeHost(host_staging_);
    auto free_ring = [](PinnedSlot* ring, int slots) {
        for (int i = 0; i < slots; ++i) {
            if (ring[i].host) (void)cudaFreeHost(ring[i].host);
            if (ring[i].done) (void)cudaEventDestroy(ring[i].done);
        }
    };
    free_ring(uploads_, kUploadSlots);
    free_ring(downloads_, DownloadSlots::kSlots);
    // The device buffers too, while this context's device is current (members die after this body).
    scratch_ = DeviceBuffer();
    small_ = DeviceBuffer();
    ones_ = DeviceBuffer();
    if (previous >= 0 && previous != device_) (void)cudaSetDevice(previous);
    (void)cudaGetLastError();
}

template <class Query, class Block>
void GpuContext::wait(Query query, Block block, const char* call) const {
    if (!watch_ || !watch_(0.0)) {
        const cudaError_t status = block();
        if (status != cudaSuccess) throw_cuda_error(int(status), call, __FILE__, __LINE__);
        return;
    }
    // Polling: the first polls only yield the core (a step's wait is often short), later ones sleep, so a long
    // wait costs the host little; either way the wait ends within ~50 µs of the work.
    const auto start = std::chrono::steady_clock::now();
    for (long polls = 0;; ++polls) {
        const cudaError_t status = query();
        if (status == cudaSuccess) return;
        if (status != cudaErrorNotReady) throw_cuda_error(int(status), call, __FILE__, __LINE__);
        (void)cudaGetLastError();  // "not ready" is no error: clear it, or the next launch check would report it
        const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        if (!watch_(waited)) {
            const cudaError_t blocked = block();
            if (blocked != cudaSuccess) throw_cuda_error(int(blocked), call, __FILE__, __LINE__);
            return;
        }
        if (polls < 64) std::this_thread::yield();
        else std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
}

void GpuContext::wait_for_stream() const {
    wait([this] { return cudaStreamQuery(stream_); }, [this] { return cudaStreamSynchronize(stream_); },
         "cudaStreamSynchronize(stream_)");
}

void GpuContext::wait_for_event(cudaEvent_t event) const {
    wait([event] { return cudaEventQuery(event); }, [event] { return cudaEventSynchronize(event); },
         "cudaEventSynchronize(event)");
}

void GpuContext::synchronize() const { wait_for_stream(); }

void GpuContext::prepare_slot(PinnedSlot& slot, size_t bytes, size_t smallest, bool wait_for_last_copy) {
    if (!slot.done) FR_CUDA_CHECK(cudaEventCreateWithFlags(&slot.done, cudaEventDisableTiming));
    else if (wait_for_last_copy || slot.bytes < bytes) wait_for_event(slot.done);
    if (slot.bytes >= bytes) return;
    // Grows rarely: doubling (the wait above: no queued copy uses the old block now).
    size_t grown = slot.bytes ? 2 * slot.bytes : smallest;
    while (grown < bytes) grown *= 2;
    if (slot.host) FR_CUDA_CHECK(cudaFreeHost(slot.host));
    slot.host = nullptr;
    slot.bytes = 0;
    FR_CUDA_CHECK(cudaMallocHost(&slot.host, grown));
    slot.bytes = grown;
}

void GpuContext::upload(void* dst, const void* src, size_t bytes) {
    if (bytes == 0) return;
    PinnedSlot& slot = uploads_[next_upload_];
    next_upload_ = (next_upload_ + 1) % kUploadSlots;
    // The host writes the slot now: the queued copy that last read it must have run.
    prepare_slot(slot, bytes, 4096, /*wait_for_last_copy=*/true);
    std::memcpy(slot.host, src, bytes);
    FR_CUDA_CHECK(cudaMemcpyAsync(dst, slot.host, bytes, cudaMemcpyHostToDevice, stream_));
    FR_CUDA_CHECK(cudaEventRecord(slot.done, stream_));
}

DownloadTicket GpuContext::queue_download(const void* src, size_t bytes) {
    const DownloadTicket t = download_slots_.next();
    PinnedSlot& slot = downloads_[t.slot];
    // The copy that last wrote the slot is ahead of this one in the stream: no wait unless the slot grows.
    prepare_slot(slot, bytes, size_t(64) << 10, /*wait_for_last_copy=*/false);
    if (bytes) FR_CUDA_CHECK(cudaMemcpyAsync(slot.host, src, bytes, cudaMemcpyDeviceToHost, stream_));
    FR_CUDA_CHECK(cudaEventRecord(slot.done, stream_));
    return t;
}

const void* GpuContext::wait_download(const DownloadTicket& t) {
    PinnedSlot& slot = downloads_[download_slots_.slot_of(t)];
    wait_for_event(slot.done);
    return slot.host;
}

void GpuContext::gemm(bool ta, bool tb, long M, long N, long K, float alpha, const float* A, long lda,
                      const float* B, long ldb, float beta, float* C, long ldc) const {
    if (M == 0 || N == 0) return;
    if (K == 0) {  // C = beta·C (cuBLAS handles this too, but keep the contract explicit)
        if (beta == 1.f) return;
        FR_CHECK(ldc == N, "gemm: K = 0 with a strided C is not supported");
        if (beta == 0.f) FR_CUDA_CHECK(cudaMemsetAsync(C, 0, sizeof(float) * size_t(M) * size_t(N), stream_));
        else scale(size_t(M) * size_t(N), C, beta, stream_);
        return;
    }
    // Column-major view: Cᵀ [N x M] = op(B)ᵀ [N x K] · op(A)ᵀ [K x M].
    FR_CUBLAS_CHECK(cublasSgemm(cublas_, tb ? CUBLAS_OP_T : CUBLAS_OP_N, ta ? CUBLAS_OP_T : CUBLAS_OP_N,
                                checked_int(N, "N"), checked_int(M, "M"), checked_int(K, "K"), &alpha, B,
                                checked_int(ldb, "ldb"), A, checked_int(lda, "lda"), &beta, C,
                                checked_int(ldc, "ldc")));
}

const float* GpuContext::ones(size_t n) {
    if (n > ones_count_) {
        const size_t want = n > 2 * ones_count_ ? n : 2 * ones_count_;
        // ensure() frees the old block first; if the new allocation throws, a stale count would hand the
        // next call a null vector of "ones".
        ones_count_ = 0;
        ones_.ensure(want * sizeof(float));
        fill(want, ones_.as<float>(), 1.f, stream_);
        ones_count_ = want;
    }
    return ones_.as<float>();
}

void GpuContext::transpose(long rows, long cols, const float* A, long lda, float* B, long ldb) const {
    if (rows == 0 || cols == 0) return;
    const float one = 1.f, zero = 0.f;
    // Column-major, A is Aᵀ [cols x rows] (ld lda) and B is Bᵀ [rows x cols] (ld ldb) = A: so B = op_T(A). beta = 0:
    // the second operand is not read; A itself is passed there, with a valid leading dimension.
    FR_CUBLAS_CHECK(cublasSgeam(cublas_, CUBLAS_OP_T, CUBLAS_OP_T, checked_int(rows, "rows"), checked_int(cols, "cols"),
                                &one, A, checked_int(lda, "lda"), &zero, A, checked_int(lda, "lda"), B,
                                checked_int(ldb, "ldb")));
}

void GpuContext::add_column_sums(long rows, long cols, const float* A, long lda, float* out) {
    if (rows == 0 || cols == 0) return;
    const float one = 1.f;
    // Column-major view of row-major A [rows, cols] is Aᵀ [cols x rows] (ld lda): out += Aᵀ·1.
    FR_CUBLAS_CHECK(cublasSgemv(cublas_, CUBLAS_OP_N, checked_int(cols, "cols"), checked_int(rows, "rows"), &one, A,
                                checked_int(lda, "lda"), ones(size_t(rows)), 1, &one, out, 1));
}

}  // namespace fusedrnn::gpu
