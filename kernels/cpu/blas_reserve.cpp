#include "fusedrnn/kernels/cpu/blas_reserve.h"

#include <sys/mman.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <omp.h>

#include "fusedrnn/core/detail/address_space.h"
#include "fusedrnn/core/error.h"
#include "fusedrnn/kernels/cpu/blas.h"

// OpenBLAS's buffer pool (exported by libopenblas, not in its headers): a buffer taken and given back stays mapped
// in the pool, shared by every thread that calls OpenBLAS. Weak: another BLAS has none, and the warm-up alone is
// used.
extern "C" void* blas_memory_alloc(int procpos) __attribute__((weak));
extern "C" void blas_memory_free(void* buffer) __attribute__((weak));

namespace fusedrnn::cpu {
namespace {

// A buffer's address space: Debian's OpenBLAS 0.3.21 on x86-64 maps BUFFER_SIZE = 128 MiB (32 << 22) and a page more
// per calling thread (measured: 8 threads' first concurrent sgemm grew the process by 1016 MiB), rounded up for the
// builds whose buffers are a little larger.
constexpr size_t kBufferBytes = size_t(130) << 20;
// What else a thread of the team maps on its first call: glibc's malloc arena for the thread (64 MiB reserved; OpenBLAS
// falls back to malloc when its mmap fails) and its stack.
constexpr size_t kThreadBytes = size_t(72) << 20;
// How long the warm-up may take before it is taken for OpenBLAS's endless retry: a 256³ product per thread takes
// milliseconds.
constexpr auto kWarmUpLimit = std::chrono::seconds(20);

double gib(size_t bytes) { return double(bytes) / double(size_t(1) << 30); }

std::string too_small(size_t cap, int threads) {
    const size_t used = detail::mapped_address_space();
    const size_t room = used && used < cap ? cap - used : 0;
    const size_t fit = room / (kBufferBytes + kThreadBytes);  // threads whose buffers would fit
    return fmt::format("out of host memory: the address-space limit (ulimit -v {} KiB, {:.2f} GiB{}) leaves too little "
                       "for the CPU backend's matrix products: OpenBLAS maps about {} MiB of work buffer for each of {} "
                       "thread{} ({:.2f} GiB); raise the limit{}",
                       cap >> 10, gib(cap), used ? fmt::format(", {:.2f} GiB of it in use", gib(used)) : std::string(),
                       kBufferBytes >> 20, threads, threads == 1 ? "" : "s", gib(size_t(threads) * kBufferBytes),
                       fit >= 1 && int(fit) < threads ? fmt::format(", or run on fewer threads (OMP_NUM_THREADS={})", fit)
                                                      : std::string());
}

// A buffer per thread of the team, all held at once so that each is a new one, then given back to the pool; then a
// small product on every thread of the team, which starts them (their stacks and malloc arenas mapped now too).
// Measured here: after this, products of any size on the team map no more; a warm-up of products alone mapped fewer
// buffers than threads on a machine with fewer cores than threads, and the first larger product of training then
// needed another (QA: a run hung in training at limits that passed the check).
void map_buffers(int threads) {
#if defined(OPENBLAS_VERSION)
    // OpenBLAS's own threads (it starts threads - 1 when loaded) each take a buffer of the pool when they first run:
    // one that started late took a buffer mapped below for the team, whose next product then needed another (a test's
    // process making its backend at once, on a loaded machine). A product split across them has them all running.
    if (openblas_get_num_threads() > 1) {
        constexpr int m = 512;
        const std::vector<float> a(size_t(m) * m, 1.0f);
        std::vector<float> c(size_t(m) * m);
        gemm(false, false, m, m, m, 1.0f, a.data(), m, a.data(), m, 0.0f, c.data(), m);
    }
#endif
    if (blas_memory_alloc != nullptr && blas_memory_free != nullptr) {
        std::vector<void*> held;
        for (int t = 0; t < threads; ++t) held.push_back(blas_memory_alloc(0));
        for (void* buffer : held) blas_memory_free(buffer);
    }
    const BlasSingleThread single(true);
    constexpr int n = 256;
#pragma omp parallel num_threads(threads)
    {
        const std::vector<float> a(size_t(n) * n, 1.0f);
        std::vector<float> c(size_t(n) * n);
#pragma omp barrier
        gemm(false, false, n, n, n, 1.0f, a.data(), n, a.data(), n, 0.0f, c.data(), n);
    }
}

// False without a limit (nothing done); true once the buffers are mapped.
bool reserve_under_limit() {
    const size_t limit = detail::address_space_limit();
    if (limit == 0) return false;
    const int threads = omp_get_max_threads();
    const size_t need = size_t(threads) * (kBufferBytes + kThreadBytes);
    // An inaccessible, unbacked mapping counts against RLIMIT_AS as the buffers will, and costs nothing.
    void* probe = ::mmap(nullptr, need, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (probe == MAP_FAILED) throw AddressSpaceTooSmall(too_small(limit, threads));
    ::munmap(probe, need);
    // What the probe cannot foresee (another thread's mappings in between, a build with larger buffers) would leave
    // the warm-up retrying for ever: past the limit, the process ends with the message (nothing to unwind to from
    // OpenBLAS's loop, and its exit handler would wait for the retrying thread).
    std::mutex mutex;
    std::condition_variable cv;
    bool done = false;
    const std::string message = "fusedrnn: error: " + too_small(limit, threads) + "\n";
    std::thread watchdog;
    try {
        watchdog = std::thread([&] {
            std::unique_lock<std::mutex> lock(mutex);
            if (cv.wait_for(lock, kWarmUpLimit, [&] { return done; })) return;
            std::fputs(message.c_str(), stderr);
            std::fflush(nullptr);
            std::_Exit(2);
        });
    } catch (const std::system_error&) {
        // no thread to be had under this limit: the warm-up goes on unwatched
    }
    map_buffers(threads);
    {
        const std::lock_guard<std::mutex> lock(mutex);
        done = true;
    }
    cv.notify_one();
    if (watchdog.joinable()) watchdog.join();
    return true;
}

}  // namespace

void reserve_blas_work_buffers() {
    // Once per process where a limit was met; until then at every backend made (a limit may be set later, as a test
    // does), and after a refusal too (the limit may have been raised by then).
    static std::mutex mutex;
    static bool reserved = false;
    const std::lock_guard<std::mutex> lock(mutex);
    if (!reserved) reserved = reserve_under_limit();
}

}  // namespace fusedrnn::cpu
