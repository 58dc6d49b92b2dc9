// fusedrnn — per-backend GPU context: the device, one stream, a cuBLAS handle bound to it, reusable
// scratch memory, and the row-major GEMM helpers every GPU backend uses.
// Only files under cuda/ include this header (it pulls in CUDA headers).
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <cstddef>
#include <functional>

#include "fusedrnn/core/download_slots.h"
#include "fusedrnn/cuda/device_memory.h"

namespace fusedrnn::gpu {

// Makes `device` current for the scope and restores the previous device afterwards.
class DeviceGuard {
public:
    explicit DeviceGuard(int device);
    ~DeviceGuard();
    DeviceGuard(const DeviceGuard&) = delete;
    DeviceGuard& operator=(const DeviceGuard&) = delete;

private:
    int previous_ = -1;
    int device_ = -1;
};

class GpuContext {
public:
    // Creates a non-blocking stream and a cuBLAS handle on `device`; cuBLAS math mode is plain fp32
    // (CUBLAS_DEFAULT_MATH: no TF32) unless `allow_tf32`. Also checks that this binary has kernels for
    // the GPU (clear error naming the compiled architectures otherwise).
    explicit GpuContext(int device, bool allow_tf32 = false);
    ~GpuContext();
    GpuContext(const GpuContext&) = delete;
    GpuContext& operator=(const GpuContext&) = delete;

    int device() const { return device_; }
    int sm_count() const { return sm_count_; }  // the device's streaming multiprocessors
    bool allow_tf32() const { return allow_tf32_; }
    cudaStream_t stream() const { return stream_; }
    cublasHandle_t cublas() const { return cublas_; }
    DeviceGuard guard() const { return DeviceGuard(device_); }
    // Waits until the work queued on the stream so far has run (through the wait watch, when one is set).
    void synchronize() const;

    // Something that may know a wait will never end: the NCCL gradient sum (cuda/nccl_gradient_sum.cpp) sets one
    // that polls its communicators, so an all-reduce a dead or stuck peer never completes is an error rather than a
    // hang. While one is set, every host wait of this context (synchronize, a download, a pinned slot's reuse)
    // polls the stream or event instead of blocking, and calls the watch with the seconds waited so far, about
    // every 50 µs; the watch throws to give the wait up, or returns false when it no longer watches (then the wait
    // blocks). Without a watch (one GPU, or no NCCL) waits block, as before. Set it before the context's waits
    // start; calls of one context's waits come from one thread at a time, as all of its calls do.
    using WaitWatch = std::function<bool(double seconds_waited)>;
    void set_wait_watch(WaitWatch watch) { watch_ = std::move(watch); }
    // With a watch set, waits (through it) for the work queued so far: before a call that would otherwise block on
    // that work unwatched, a copy between the device and pageable host memory (which the runtime may make wait for
    // the stream). Without a watch, nothing.
    void wait_if_watched() const {
        if (watch_) synchronize();
    }

    // Row-major C[M, N] = alpha·op(A)·op(B) + beta·C, op(A) [M, K], op(B) [K, N]. Stored shapes: A is
    // [M, K] (lda ≥ K) or, when ta, [K, M] (lda ≥ M); likewise B. (Mapped onto column-major cuBLAS as
    // Cᵀ = op(B)ᵀ·op(A)ᵀ.) M, N or K of 0 is a no-op apart from scaling C by beta when K = 0.
    void gemm(bool ta, bool tb, long M, long N, long K, float alpha, const float* A, long lda, const float* B,
              long ldb, float beta, float* C, long ldc) const;
    // Row-major B[cols, rows] (ldb) = Aᵀ for A [rows, cols] (lda): cuBLAS geam.
    void transpose(long rows, long cols, const float* A, long lda, float* B, long ldb) const;
    // out[c] += Σ_r A[r·lda + c] for c < cols, r < rows (column sums; bias gradients). Uses cuBLAS gemv
    // against a cached vector of ones.
    void add_column_sums(long rows, long cols, const float* A, long lda, float* out);

    // Scratch shared by the ops of this backend: valid until the next call that asks for scratch.
    // Contents are not preserved. Pointers are 256-byte aligned.
    void* scratch(size_t bytes) {
        scratch_.ensure(bytes);
        return scratch_.data();
    }
    // A second, independent scratch area (the reduction partials and flags of the dense ops), so an op
    // can use both without one invalidating the other. GpuBackend always asks for the same size and keeps
    // state in it across calls (the sticky IndexFault): growing it would lose that.
    void* small_scratch(size_t bytes) {
        small_.ensure(bytes);
        return small_.data();
    }
    // Pinned host staging for small results (reductions, flags): 256 bytes.
    void* host_staging() const { return host_staging_; }

    // Queues a host -> device copy of `bytes` from `src` (any host memory) through a ring of pinned staging
    // slots, and returns as soon as src is copied into a slot: src may be reused at once. It waits only for
    // the copy that last used the slot, kUploadSlots uploads ago, which bounds how far the host runs ahead.
    // (cudaMemcpyAsync straight from pageable memory may synchronise with the stream: the CUDA runtime's
    // "API synchronization behavior" notes.)
    void upload(void* dst, const void* src, size_t bytes);
    static constexpr int kUploadSlots = 8;

    // Queues a device -> host copy of `bytes` from `src` into a pinned slot of a ring (DownloadSlots) and returns
    // at once; wait_download waits for that copy's event (not for work queued after it) and returns the slot.
    // A slot grows (doubling, from 64 KiB) when a copy needs more; only then does queueing wait for the copy that
    // last used it.
    DownloadTicket queue_download(const void* src, size_t bytes);
    const void* wait_download(const DownloadTicket& ticket);

private:
    const float* ones(size_t n);
    // The host's waits: blocking without a watch, else polling (`query` is cudaStreamQuery or cudaEventQuery on
    // the same object `block` synchronises with; `call` names the wait in an error).
    void wait_for_stream() const;
    void wait_for_event(cudaEvent_t event) const;
    template <class Query, class Block>
    void wait(Query query, Block block, const char* call) const;

    // A pinned host buffer of the upload or download ring, and the event recorded after the copy that last
    // read or wrote it.
    struct PinnedSlot {
        void* host = nullptr;
        size_t bytes = 0;
        cudaEvent_t done = nullptr;
    };
    // Makes the slot hold at least `bytes` (doubling from `smallest`) and have its event. Waits for the slot's
    // last copy first when it must reallocate, or always when `wait_for_last_copy`.
    void prepare_slot(PinnedSlot& slot, size_t bytes, size_t smallest, bool wait_for_last_copy);

    int device_ = 0;
    int sm_count_ = 1;
    bool allow_tf32_ = false;
    cudaStream_t stream_ = nullptr;
    cublasHandle_t cublas_ = nullptr;
    DeviceBuffer scratch_;
    DeviceBuffer small_;
    DeviceBuffer ones_;
    size_t ones_count_ = 0;
    void* host_staging_ = nullptr;
    PinnedSlot uploads_[kUploadSlots];
    int next_upload_ = 0;
    DownloadSlots download_slots_;
    PinnedSlot downloads_[DownloadSlots::kSlots];
    WaitWatch watch_;
};

}  // namespace fusedrnn::gpu
