// Host emulation of what the CUDA module's host code calls — the CUDA runtime, cuBLAS, and the kernel
// launchers — so that cuda/context.cpp, device_memory.cpp, gpu_backend.cpp and fused_backend.cpp run on a
// machine without a GPU (test_cuda_host_emulation). "Device" memory is host memory poisoned with NaN on
// allocation (a read of never-written scratch shows up as NaN in the results); cuBLAS is a column-major
// reference with cuBLAS's own argument checks, so the row-major ↔ column-major mapping in
// GpuContext::gemm is checked against cuBLAS's rules; the RNN step launchers run the kernels' real
// per-thread bodies (kernels/cuda/rnn_step.cuh, host-compilable) in a loop over the threads, and the dense
// launchers their kernels' per-element bodies (kernels/cuda/dense_elements.cuh); the block reductions and
// atomics are only exercised on a GPU (scripts/gpu_check.sh). Work is deferred as on a device: launches,
// memsets and asynchronous copies are queued and run only when the host waits (stream, event or device
// synchronisation or query, cudaFreeHost, a copy into pageable memory; a cudaFree with work still queued is an error,
// as the driver does not promise to wait), so host code that reads a result before waiting
// for it, or overwrites a pinned buffer a queued copy still reads, computes wrong numbers here too; and the
// waits are counted (emulation.h), so a test can check how often a training step makes the host wait.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <exception>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "fusedrnn/core/backend.h"
#include "fusedrnn/core/error.h"
#include "cublas_v2.h"
#include "fusedrnn/cuda/check.h"
#include "fusedrnn/kernels/cuda/dense_elements.cuh"
#include "fusedrnn/kernels/cuda/dense_kernels.h"
#include "fusedrnn/kernels/cuda/rnn_kernels.h"
#include "fusedrnn/kernels/cuda/rnn_recurrence.cuh"
#include "fusedrnn/kernels/cuda/rnn_step.cuh"
#include "fusedrnn/tests/cuda_emulation/emulation.h"

// ---- runtime ------------------------------------------------------------------------------------------
// One in-order queue stands for the device (the module uses one stream per backend, and the tests one backend
// at a time): launches, memsets and copies whose host side need not be waited for are queued, and run when
// the host waits — as on a GPU, where they run later, on the device.

namespace {
int current_device = 0;
fusedrnn::emulation::Counters counts;

struct QueuedOp {
    std::function<void()> run;
    std::function<bool()> can_run;  // null: runs at once (see emulation.h)
};
struct Queue {
    std::deque<QueuedOp> ops;
    long enqueued = 0, executed = 0;  // sequence numbers: op k is the k-th ever queued
};
Queue queue;
std::map<const void*, size_t> pinned_bytes;  // blocks from cudaMallocHost and their sizes
std::map<const void*, size_t> device_bytes;  // blocks from cudaMalloc and their sizes
size_t device_capacity = fusedrnn::emulation::kDefaultDeviceMemory;
size_t device_in_use = 0;
// Few multiprocessors, so the persistent recurrence kernels' automatic rows per block (one block per
// multiprocessor) gives blocks of several rows, the last one partial, at the suites' small batches.
int emulated_sm_count = 2;

void enqueue(std::function<void()> op, std::function<bool()> can_run = nullptr) {
    queue.ops.push_back({std::move(op), std::move(can_run)});
    ++queue.enqueued;
}
// An error raised by queued work during a wait that must not throw (cudaFree is called from noexcept
// destructors): kept, and thrown by the next wait that may.
std::exception_ptr deferred_error;

// Runs the queued work up to op `seq`, or (a query: `blocking` false) up to the first op that cannot run yet;
// returns whether op `seq` has run. An op that throws (a launcher's error) is dropped and its exception reaches the
// waiting host call, as a kernel's error does on a GPU. A blocking wait for work that can never run is an error: on a
// GPU it would never return.
bool run_until(long seq, bool blocking = true) {
    if (deferred_error) std::rethrow_exception(std::exchange(deferred_error, nullptr));
    while (queue.executed < seq && !queue.ops.empty()) {
        if (queue.ops.front().can_run && !queue.ops.front().can_run()) {
            if (!blocking) return false;
            FR_FAIL("the host waits (blocking) for device work that can never finish, such as an all-reduce a peer "
                    "never joins: on a GPU this wait would never return");
        }
        auto op = std::move(queue.ops.front().run);
        queue.ops.pop_front();
        ++queue.executed;
        op();
    }
    return true;
}
void drain() { run_until(queue.enqueued); }
void drain_noexcept() noexcept {
    try {
        drain();
    } catch (...) {
        if (!deferred_error) deferred_error = std::current_exception();
    }
}

bool is_pinned(const void* p) {
    auto it = pinned_bytes.upper_bound(p);
    if (it == pinned_bytes.begin()) return false;
    --it;
    return static_cast<const char*>(p) < static_cast<const char*>(it->first) + it->second;
}

struct Event {
    long seq = 0;  // the queue position recorded
};
}  // namespace

namespace fusedrnn::emulation {
Counters counters() { return counts; }
void reset_counters() { counts = Counters{}; }
void set_device_memory(size_t bytes) {
    FR_CHECK(bytes >= device_in_use, "set_device_memory: {} bytes are in use", device_in_use);
    device_capacity = bytes;
}
size_t device_memory_in_use() { return device_in_use; }
void enqueue_device_work(std::function<void()> op, std::function<bool()> can_run) {
    ++counts.launches;
    enqueue(std::move(op), std::move(can_run));
}
}  // namespace fusedrnn::emulation

cudaError_t cudaGetDevice(int* device) {
    *device = current_device;
    return cudaSuccess;
}
cudaError_t cudaSetDevice(int device) {
    current_device = device;
    return cudaSuccess;
}
cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned) {
    static char token;
    *stream = reinterpret_cast<cudaStream_t>(&token);
    return cudaSuccess;
}
cudaError_t cudaStreamDestroy(cudaStream_t) {
    drain();
    return cudaSuccess;
}
cudaError_t cudaStreamSynchronize(cudaStream_t) {
    ++counts.stream_syncs;
    drain();
    return cudaSuccess;
}
// Runs what can run; a query that finds the work done counts as the wait it ends.
cudaError_t cudaStreamQuery(cudaStream_t) {
    if (!run_until(queue.enqueued, /*blocking=*/false)) return cudaErrorNotReady;
    ++counts.stream_syncs;
    return cudaSuccess;
}
cudaError_t cudaDeviceGetAttribute(int* value, cudaDeviceAttr attr, int) {
    switch (attr) {
    case cudaDevAttrComputeCapabilityMajor: *value = 9; break;  // sm_90
    case cudaDevAttrMultiProcessorCount: *value = emulated_sm_count; break;
    default: *value = 0;
    }
    return cudaSuccess;
}
cudaError_t cudaGetLastError() { return cudaSuccess; }
const char* cudaGetErrorName(cudaError_t) { return "cudaErrorEmulated"; }
const char* cudaGetErrorString(cudaError_t) { return "error in the host emulation"; }
cudaError_t cudaMalloc(void** ptr, size_t bytes) {
    ++counts.mallocs;
    *ptr = nullptr;
    if (bytes > device_capacity - device_in_use) return cudaErrorMemoryAllocation;
    *ptr = std::malloc(std::max<size_t>(bytes, 1));
    if (!*ptr) return cudaErrorMemoryAllocation;
    device_bytes[*ptr] = bytes;
    device_in_use += bytes;
    const uint32_t nan_bits = 0x7fc00badu;  // a quiet NaN in every float slot
    for (size_t i = 0; i + sizeof nan_bits <= bytes; i += sizeof nan_bits)
        std::memcpy(static_cast<char*>(*ptr) + i, &nan_bits, sizeof nan_bits);
    return cudaSuccess;
}
cudaError_t cudaDeviceSynchronize() {
    ++counts.implicit_syncs;  // device_free's wait before cudaFree
    drain_noexcept();
    return cudaSuccess;
}
// The driver documents only that cudaFree *may* wait for the device, so host code must have waited: a free with
// work still queued is reported at the next wait (the work then runs, as it might on a GPU that did wait).
cudaError_t cudaFree(void* ptr) {
    if (ptr && queue.executed < queue.enqueued && !deferred_error) {
        try {
            FR_FAIL("cudaFree with device work still queued (the CUDA driver does not promise to wait for it)");
        } catch (...) {
            deferred_error = std::current_exception();
        }
    }
    drain_noexcept();
    if (auto it = device_bytes.find(ptr); it != device_bytes.end()) {
        device_in_use -= it->second;
        device_bytes.erase(it);
    }
    std::free(ptr);
    return cudaSuccess;
}
cudaError_t cudaMallocHost(void** ptr, size_t bytes) {
    *ptr = std::malloc(std::max<size_t>(bytes, 1));
    if (!*ptr) return cudaErrorMemoryAllocation;
    pinned_bytes[*ptr] = std::max<size_t>(bytes, 1);
    return cudaSuccess;
}
cudaError_t cudaFreeHost(void* ptr) {
    if (ptr) {
        ++counts.implicit_syncs;
        drain_noexcept();
        pinned_bytes.erase(ptr);
    }
    std::free(ptr);
    return cudaSuccess;
}
cudaError_t cudaMemGetInfo(size_t* free_bytes, size_t* total_bytes) {
    *free_bytes = device_capacity - device_in_use;
    *total_bytes = device_capacity;
    return cudaSuccess;
}
cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind, cudaStream_t) {
    switch (kind) {
    case cudaMemcpyHostToDevice:
        if (is_pinned(src)) {  // read when the copy runs: the host must not overwrite src before then
            ++counts.uploads_pinned;
            enqueue([=] { std::memmove(dst, src, bytes); });
        } else {  // staged by the driver before the call returns
            ++counts.uploads_pageable;
            auto staged = std::make_shared<std::vector<char>>(static_cast<const char*>(src),
                                                              static_cast<const char*>(src) + bytes);
            enqueue([=] { std::memmove(dst, staged->data(), bytes); });
        }
        return cudaSuccess;
    case cudaMemcpyDeviceToHost:
        ++counts.downloads;
        if (is_pinned(dst)) {  // lands when the copy runs: the host reads it after a wait
            enqueue([=] { std::memmove(dst, src, bytes); });
        } else {  // into pageable memory the call returns when the copy is done
            ++counts.implicit_syncs;
            drain();
            std::memmove(dst, src, bytes);
        }
        return cudaSuccess;
    case cudaMemcpyDeviceToDevice:
        ++counts.launches;
        enqueue([=] { std::memmove(dst, src, bytes); });
        return cudaSuccess;
    case cudaMemcpyHostToHost:
        drain();
        std::memmove(dst, src, bytes);
        return cudaSuccess;
    }
    return cudaErrorInvalidValue;
}
// Device to device only (all the CUDA module uses), with the runtime's argument checks.
cudaError_t cudaMemcpy2DAsync(void* dst, size_t dpitch, const void* src, size_t spitch, size_t width, size_t height,
                              cudaMemcpyKind kind, cudaStream_t) {
    if (kind != cudaMemcpyDeviceToDevice || dpitch < width || spitch < width) return cudaErrorInvalidValue;
    ++counts.launches;
    enqueue([=] {
        for (size_t r = 0; r < height; ++r)
            std::memcpy(static_cast<char*>(dst) + r * dpitch, static_cast<const char*>(src) + r * spitch, width);
    });
    return cudaSuccess;
}
cudaError_t cudaMemsetAsync(void* dst, int value, size_t bytes, cudaStream_t) {
    ++counts.launches;
    enqueue([=] { std::memset(dst, value, bytes); });
    return cudaSuccess;
}
cudaError_t cudaEventCreateWithFlags(cudaEvent_t* event, unsigned) {
    *event = reinterpret_cast<cudaEvent_t>(new Event);
    return cudaSuccess;
}
cudaError_t cudaEventDestroy(cudaEvent_t event) {
    delete reinterpret_cast<Event*>(event);
    return cudaSuccess;
}
cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t) {
    reinterpret_cast<Event*>(event)->seq = queue.enqueued;
    return cudaSuccess;
}
namespace {
// Counts a wait for an event, by the queue as it was when the wait began.
void count_event_wait(long seq, long enqueued, long executed) {
    // Waiting for an event behind which nothing is queued is waiting for the whole device.
    if (seq == enqueued && executed < seq) ++counts.full_event_waits;
    else ++counts.event_waits;
}
}  // namespace
cudaError_t cudaEventSynchronize(cudaEvent_t event) {
    const long seq = reinterpret_cast<Event*>(event)->seq;
    count_event_wait(seq, queue.enqueued, queue.executed);
    run_until(seq);
    return cudaSuccess;
}
// Runs what can run; a query that finds the event reached counts as the wait it ends.
cudaError_t cudaEventQuery(cudaEvent_t event) {
    const long seq = reinterpret_cast<Event*>(event)->seq;
    const long enqueued = queue.enqueued, executed = queue.executed;
    if (!run_until(seq, /*blocking=*/false)) return cudaErrorNotReady;
    count_event_wait(seq, enqueued, executed);
    return cudaSuccess;
}

// ---- cuBLAS -------------------------------------------------------------------------------------------

// A handle holds its math mode: with CUBLAS_TF32_TENSOR_OP_MATH the emulated SGEMM rounds its inputs to TF32, as
// tensor cores do, so a TF32 run differs from an fp32 one here by what it would on a GPU.
struct cublasContext {
    cublasMath_t math = CUBLAS_DEFAULT_MATH;
};

namespace {
// To TF32: 8 exponent bits and 10 of the mantissa's 23, rounded to nearest (ties away from zero; whether a GPU's
// conversion rounds or truncates, the error is of this size); infinities and NaN pass unchanged.
float to_tf32(float x) {
    uint32_t u;
    std::memcpy(&u, &x, sizeof u);
    if ((u & 0x7f800000u) == 0x7f800000u) return x;
    u = (u + 0x1000u) & 0xffffe000u;
    std::memcpy(&x, &u, sizeof u);
    return x;
}
}  // namespace

cublasStatus_t cublasCreate(cublasHandle_t* handle) {
    *handle = new cublasContext;
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasDestroy(cublasHandle_t handle) {
    delete handle;
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasSetStream(cublasHandle_t, cudaStream_t) { return CUBLAS_STATUS_SUCCESS; }
cublasStatus_t cublasSetMathMode(cublasHandle_t handle, cublasMath_t mode) {
    handle->math = mode;
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasSetPointerMode(cublasHandle_t, cublasPointerMode_t) { return CUBLAS_STATUS_SUCCESS; }

// C = α·op(A)·op(B) + β·C, column-major, accumulated in double; β = 0 never reads C (as cuBLAS: C may hold
// NaN garbage then). Arguments are checked when called, α and β read then (host pointer mode); the product
// runs queued.
cublasStatus_t cublasSgemm(cublasHandle_t handle, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                           const float* alpha, const float* A, int lda, const float* B, int ldb, const float* beta,
                           float* C, int ldc) {
    if (m < 0 || n < 0 || k < 0 || lda < std::max(1, ta == CUBLAS_OP_N ? m : k) ||
        ldb < std::max(1, tb == CUBLAS_OP_N ? k : n) || ldc < std::max(1, m))
        return CUBLAS_STATUS_INVALID_VALUE;
    ++counts.launches;
    const bool tf32 = handle->math == CUBLAS_TF32_TENSOR_OP_MATH;
    enqueue([=, alpha = *alpha, beta = *beta] {
        const auto in = [tf32](float v) { return tf32 ? to_tf32(v) : v; };
        auto a = [&](int i, int p) { return in(ta == CUBLAS_OP_N ? A[i + size_t(p) * lda] : A[p + size_t(i) * lda]); };
        auto b = [&](int p, int j) { return in(tb == CUBLAS_OP_N ? B[p + size_t(j) * ldb] : B[j + size_t(p) * ldb]); };
        for (int j = 0; j < n; ++j)
            for (int i = 0; i < m; ++i) {
                double acc = 0;
                for (int p = 0; p < k; ++p) acc += double(a(i, p)) * double(b(p, j));
                float& c = C[i + size_t(j) * ldc];
                c = float(double(alpha) * acc + (beta == 0.f ? 0.0 : double(beta) * double(c)));
            }
    });
    return CUBLAS_STATUS_SUCCESS;
}

// C = alpha·op(A) + beta·op(B); B is not read when beta = 0.
cublasStatus_t cublasSgeam(cublasHandle_t, cublasOperation_t ta, cublasOperation_t tb, int m, int n, const float* alpha,
                           const float* A, int lda, const float* beta, const float* B, int ldb, float* C, int ldc) {
    if (m < 0 || n < 0 || lda < std::max(1, ta == CUBLAS_OP_N ? m : n) ||
        ldb < std::max(1, tb == CUBLAS_OP_N ? m : n) || ldc < std::max(1, m))
        return CUBLAS_STATUS_INVALID_VALUE;
    ++counts.launches;
    enqueue([=, alpha = *alpha, beta = *beta] {
        auto op = [](cublasOperation_t t, const float* X, int ld, int i, int j) {
            return t == CUBLAS_OP_N ? X[i + size_t(j) * ld] : X[j + size_t(i) * ld];
        };
        for (int j = 0; j < n; ++j)
            for (int i = 0; i < m; ++i)
                C[i + size_t(j) * ldc] = alpha * op(ta, A, lda, i, j) + (beta == 0.f ? 0.f : beta * op(tb, B, ldb, i, j));
    });
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSgemv(cublasHandle_t, cublasOperation_t trans, int m, int n, const float* alpha, const float* A,
                           int lda, const float* x, int incx, const float* beta, float* y, int incy) {
    if (m < 0 || n < 0 || lda < std::max(1, m) || incx == 0 || incy == 0) return CUBLAS_STATUS_INVALID_VALUE;
    ++counts.launches;
    enqueue([=, alpha = *alpha, beta = *beta] {
        const int rows = trans == CUBLAS_OP_N ? m : n, inner = trans == CUBLAS_OP_N ? n : m;
        for (int i = 0; i < rows; ++i) {
            double acc = 0;
            for (int j = 0; j < inner; ++j) {
                const float aij = trans == CUBLAS_OP_N ? A[i + size_t(j) * lda] : A[j + size_t(i) * lda];
                acc += double(aij) * double(x[size_t(j) * size_t(incx)]);
            }
            float& out = y[size_t(i) * size_t(incy)];
            out = float(double(alpha) * acc + (beta == 0.f ? 0.0 : double(beta) * double(out)));
        }
    });
    return CUBLAS_STATUS_SUCCESS;
}

namespace fusedrnn {

namespace emulation {
namespace {
// FUSEDRNN_EMULATION_THREADS_REVERSED=1 starts the process reversed (CTest runs the GPU suites so as well).
bool reversed_order = [] {
    const char* env = std::getenv("FUSEDRNN_EMULATION_THREADS_REVERSED");
    return env != nullptr && std::string(env) == "1";
}();
}  // namespace
void set_thread_order_reversed(bool reversed) { reversed_order = reversed; }
}  // namespace emulation

namespace gpu {

// cuda/check.cpp formats messages with cuDNN's and cuBLAS's status names, which the emulation lacks.
void throw_cuda_error(int status, const char* call, const char* file, int line) {
    detail::throw_error(file, line, fmt::format("CUDA call {} failed: status {} (emulated)", call, status));
}
void throw_cublas_error(int status, const char* call, const char* file, int line) {
    detail::throw_error(file, line, fmt::format("cuBLAS call {} failed: status {} (emulated)", call, status));
}
void throw_cudnn_error(int status, const char* call, const char* file, int line) {
    detail::throw_error(file, line, fmt::format("cuDNN call {} failed: status {} (emulated)", call, status));
}
void throw_gpu_logic_error(const char* what, const char* file, int line) {
    detail::throw_error(file, line, fmt::format("internal error in the CUDA module: {}", what));
}

namespace {
[[noreturn]] void not_emulated(const char* what) {
    FR_FAIL("{}: not emulated on the host (cuDNN's device code runs only on a GPU)", what);
}
}  // namespace

// The dense launchers run their kernels' per-element bodies (kernels/cuda/dense_elements.cuh) for every element,
// in increasing or (set_thread_order_reversed) decreasing order, as one thread each; what a GPU does with
// cooperating threads — the block reductions, atomics — is done here sequentially (in double, as the kernels
// accumulate), and fill/scale/axpy, one expression each, run the CPU backend's. What goes back to the host is
// written to "device" memory, as the kernels do. This exercises the kernels' index arithmetic and float
// expressions, GpuBackend's own host code — argument checks, flag zeroing, read-back through the pinned
// staging buffer, the Adam bias corrections — and everything above it (trainers, models) on a GPU backend.
namespace {
Backend<float>& cpu() {
    static const auto backend = make_backend("cpu");
    return *backend;
}

template <class Body>
void run_elements(size_t n, Body&& body) {
    for (size_t t = 0; t < n; ++t) body(emulation::reversed_order ? n - 1 - t : t);
}
}  // namespace

// Each launcher queues its work (arguments captured by value, as a kernel launch takes them).
#define FR_EMULATED_LAUNCH(...) (++counts.launches, enqueue([=] { __VA_ARGS__; }))

void fill(size_t n, float* x, float value, cudaStream_t) { FR_EMULATED_LAUNCH(cpu().fill(n, x, value)); }
void scale(size_t n, float* x, float alpha, cudaStream_t) { FR_EMULATED_LAUNCH(cpu().scale(n, x, alpha)); }
void axpy(size_t n, float alpha, const float* x, float* y, cudaStream_t) {
    FR_EMULATED_LAUNCH(cpu().axpy(n, alpha, x, y));
}
void broadcast_rows(int M, int cols, const float* b, float* y, cudaStream_t) {
    FR_EMULATED_LAUNCH(run_elements(size_t(M) * size_t(cols), [&](size_t i) { element::broadcast_row(i, cols, b, y); }));
}
namespace {
// Σ d² over squares_term in double (the kernels' tree adds the same terms in another order).
double sum_of_squares(size_t n, const float* a, const float* b, float* grad, float grad_coef) {
    double sum = 0;
    run_elements(n, [&](size_t i) {
        const float d = element::squares_term(i, a, b, grad, grad_coef);
        sum += double(d) * double(d);
    });
    return sum;
}
}  // namespace
void sum_squares(size_t n, const float* x, double*, double* out, cudaStream_t) {
    FR_EMULATED_LAUNCH(*out = sum_of_squares(n, x, nullptr, nullptr, 0.f));
}
void mse(size_t n, const float* pred, const float* target, float* grad, float grad_coef, double*, double* out,
         cudaStream_t) {
    FR_EMULATED_LAUNCH(*out = sum_of_squares(n, pred, target, grad, grad_coef) / double(n));
}
void find_nonfinite(size_t n, const float* x, unsigned int* flag, cudaStream_t) {
    FR_EMULATED_LAUNCH(if (!cpu().all_finite(n, x)) *flag = 1);
}
void clip_by_norm(size_t n, float* g, const double* sum_squares, double max_norm, cudaStream_t) {
    FR_EMULATED_LAUNCH({
        float factor;
        if (element::clip_factor(*sum_squares, max_norm, factor)) run_elements(n, [&](size_t i) { g[i] *= factor; });
    });
}
// The first bad index of the fault record's life is kept, as the kernels' atomicCAS does (which of several a
// GPU keeps depends on thread order; here it is the first in the emulation's order).
void record_bad_index(IndexFault* fault, int op, size_t position, int value) {
    if (fault->flag != 0) return;
    *fault = IndexFault{1, op, int(position), value};
}
// Bad ids are recorded and leave their rows alone, as the kernels do.
void embedding_forward(int n, int V, int dim, const int32_t* ids, const float* table, float* out, IndexFault* fault,
                       int op, cudaStream_t) {
    FR_EMULATED_LAUNCH(run_elements(size_t(n) * size_t(dim), [&](size_t e) {
        const element::EmbeddingElement el = element::embedding_element(e, V, dim, ids);
        if (el.valid) out[e] = table[el.table_index];
        else if (el.first_of_row) record_bad_index(fault, op, el.row, el.id);
    }));
}
void embedding_backward(int n, int V, int dim, const int32_t* ids, const float* dout, float* dtable,
                        IndexFault* fault, int op, cudaStream_t) {
    FR_EMULATED_LAUNCH(run_elements(size_t(n) * size_t(dim), [&](size_t e) {
        const element::EmbeddingElement el = element::embedding_element(e, V, dim, ids);
        if (el.valid) dtable[el.table_index] += dout[e];
        else if (el.first_of_row) record_bad_index(fault, op, el.row, el.id);
    }));
}
// Row by row as the kernel's blocks: the first maximum, Σ exp(logit − max) in double, the row's loss and hit, the
// gradient through the kernel's own expression; out[0] = Σ_rows loss / loss_divisor, out[1] = hits. A bad target
// is recorded and its row contributes nothing (no loss, a zero dlogits row), as in the kernel; the host throws after
// reading the record.
void softmax_cross_entropy(int M, int V, const float* logits, const int32_t* targets, float* dlogits, float grad_coef,
                           double*, double* out, double loss_divisor, IndexFault* fault, int op, cudaStream_t) {
    FR_EMULATED_LAUNCH({
        double loss = 0, correct = 0;
        for (int r = 0; r < M; ++r) {
            const float* row = logits + size_t(r) * size_t(V);
            const int tgt = targets[r];
            const bool valid = tgt >= 0 && tgt < V;
            const int best = int(std::max_element(row, row + V) - row);  // the first maximum, as block_argmax
            double acc = 0;
            for (int k = 0; k < V; ++k) acc += double(expf(row[k] - row[best]));
            const double lse = double(row[best]) + std::log(acc);
            if (!valid) record_bad_index(fault, op, size_t(r), tgt);
            loss += valid ? lse - double(row[tgt]) : 0.0;
            correct += valid && best == tgt ? 1.0 : 0.0;
            if (dlogits)
                for (int k = 0; k < V; ++k)
                    dlogits[size_t(r) * size_t(V) + size_t(k)] =
                        valid ? element::softmax_xent_grad(row[k], lse, grad_coef, k == tgt) : 0.0f;
        }
        out[0] = loss_divisor == 1.0 ? loss : loss / loss_divisor;
        out[1] = correct;
    });
}
void sgd_step(size_t n, float* p, const float* g, float* m, float lr, float momentum, float weight_decay,
              cudaStream_t) {
    FR_EMULATED_LAUNCH(run_elements(n, [&](size_t i) { element::sgd(i, p, g, m, lr, momentum, weight_decay); }));
}
void adam_step(size_t n, float* p, const float* g, float* m, float* v, float beta1, float beta2, float eps,
               float step_size, float inv_sqrt_bc2, float decay, float weight_decay, cudaStream_t) {
    FR_EMULATED_LAUNCH(run_elements(n, [&](size_t i) {
        element::adam(i, p, g, m, v, beta1, beta2, eps, step_size, inv_sqrt_bc2, decay, weight_decay);
    }));
}
void rmsprop_step(size_t n, float* p, const float* g, float* s, float lr, float alpha, float eps, float weight_decay,
                  cudaStream_t) {
    FR_EMULATED_LAUNCH(run_elements(n, [&](size_t i) { element::rmsprop(i, p, g, s, lr, alpha, eps, weight_decay); }));
}
void gather_windows(const float* series, int F, const int64_t* starts, int B, int Tin, int in_step, int horizon,
                    int out_offset, int out_step, const int32_t* target_cols, int K, float* x, float* y,
                    cudaStream_t) {
    const element::GatherWindowsArgs a{series, F, starts, B, Tin, in_step, horizon, out_offset, out_step,
                                       target_cols, K, x, y};
    FR_EMULATED_LAUNCH(run_elements(a.total(), [&](size_t i) { element::gather_window(i, a); }));
}
void dropout(const DropoutArgs& a, const float* x, float* y, cudaStream_t) {
    const auto m = fusedrnn::dropout::prepare<float>(a);
    FR_EMULATED_LAUNCH(run_elements(a.numel(), [&](size_t i) { element::dropout(i, m, x, y); }));
}
void scatter_params(size_t, const int32_t*, const float*, float*, cudaStream_t) { not_emulated("scatter_params"); }
void gather_add_params(size_t, const int32_t*, const float*, float*, cudaStream_t) {
    not_emulated("gather_add_params");
}
int probe_kernel_image(cudaStream_t) { return cudaSuccess; }
const char* compiled_architectures() { return "host emulation"; }

// ---- the RNN step kernels: the real per-thread bodies, one call per thread (n, j) ----------------------

namespace {
template <class Body>
void run_threads(int N, int H, Body&& body) {
    if (N <= 0 || H <= 0) return;
    const long total = long(N) * H;
    for (long t = 0; t < total; ++t) {
        const long i = emulation::reversed_order ? total - 1 - t : t;
        body(int(i / H), int(i % H));
    }
}
}  // namespace

void rnn_step_forward(CellType cell_type, const RnnStepForward& a, cudaStream_t) {
    cell::dispatch(cell_type, [&](auto tag) {
        using Cell = decltype(tag);
        if constexpr (Cell::kResetBefore) FR_GPU_FAIL("the reset-before GRU runs in two phases");
        else FR_EMULATED_LAUNCH(run_threads(a.N, a.H, [&](int n, int j) { step::forward<Cell>(a, n, j); }));
    });
}
void gru_rb_forward_gates(const RnnStepForward& a, cudaStream_t) {
    FR_EMULATED_LAUNCH(run_threads(a.N, a.H, [&](int n, int j) { step::rb_forward_gates(a, n, j); }));
}
void gru_rb_forward_output(const RnnStepForward& a, cudaStream_t) {
    FR_EMULATED_LAUNCH(run_threads(a.N, a.H, [&](int n, int j) { step::rb_forward_output(a, n, j); }));
}
void rnn_step_backward(CellType cell_type, const RnnStepBackward& a, cudaStream_t) {
    cell::dispatch(cell_type, [&](auto tag) {
        using Cell = decltype(tag);
        if constexpr (Cell::kResetBefore) FR_GPU_FAIL("the reset-before GRU runs in two phases");
        else FR_EMULATED_LAUNCH(run_threads(a.N, a.H, [&](int n, int j) { step::backward<Cell>(a, n, j); }));
    });
}
void gru_rb_backward_output(const RnnStepBackward& a, cudaStream_t) {
    FR_EMULATED_LAUNCH(run_threads(a.N, a.H, [&](int n, int j) { step::rb_backward_output(a, n, j); }));
}
void gru_rb_backward_gates(const RnnStepBackward& a, cudaStream_t) {
    FR_EMULATED_LAUNCH(run_threads(a.N, a.H, [&](int n, int j) { step::rb_backward_gates(a, n, j); }));
}

// ---- the persistent recurrence kernels: the real block bodies, block after block -----------------------

namespace {
// The host's driver of rnn_recurrence.cuh's block bodies: a phase's items one after another (in decreasing order
// when reversed); shared memory starts as NaN, as device memory does here, so a read before a write shows.
struct HostBlock {
    std::vector<float> memory;
    explicit HostBlock(size_t floats) : memory(floats, std::numeric_limits<float>::quiet_NaN()) {}
    float* shared() { return memory.data(); }
    template <class F>
    void phase(int n, F f) {
        for (int t = 0; t < n; ++t) f(emulation::reversed_order ? n - 1 - t : t);
    }
};

// The blocks run one after another, in increasing or (reversed) decreasing order: they share nothing.
template <class Body>
void run_blocks(int blocks, Body&& body) {
    for (int t = 0; t < blocks; ++t) body(emulation::reversed_order ? blocks - 1 - t : t);
}
}  // namespace

namespace {
template <class Params>
void emulate_recurrence(CellType cell, const Params& p, int R) {
    recurrence::dispatch_launch(cell, p, R, [&](auto tag, auto rows, int blocks, size_t bytes) {
        FR_EMULATED_LAUNCH(run_blocks(blocks, [&](int block) {
            HostBlock blk(bytes / sizeof(float));
            recurrence::run_block<decltype(tag), decltype(rows)::value>(p, block, blk);
        }));
    });
}
}  // namespace

void rnn_recurrence_forward(CellType cell, const RnnRecurrenceForward& p, int R, cudaStream_t) {
    emulate_recurrence(cell, p, R);
}
void rnn_recurrence_backward(CellType cell, const RnnRecurrenceBackward& p, int R, cudaStream_t) {
    emulate_recurrence(cell, p, R);
}

}  // namespace gpu
}  // namespace fusedrnn
