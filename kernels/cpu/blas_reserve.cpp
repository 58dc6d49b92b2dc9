#include "fusedrnn/kernels/cpu/blas_reserve.h"

#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

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

#include "fusedrnn/core/error.h"
#include "fusedrnn/kernels/cpu/blas.h"

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

// The process's mapped address space now (the first field of /proc/self/statm, in pages); 0 when unknown.
size_t mapped_bytes() {
    std::FILE* f = std::fopen("/proc/self/statm", "r");
    if (!f) return 0;
    unsigned long pages = 0;
    const bool read = std::fscanf(f, "%lu", &pages) == 1;
    std::fclose(f);
    return read ? size_t(pages) * size_t(::sysconf(_SC_PAGESIZE)) : 0;
}

double gib(size_t bytes) { return double(bytes) / double(size_t(1) << 30); }

std::string too_small(const struct rlimit& limit, int threads) {
    const size_t used = mapped_bytes(), cap = size_t(limit.rlim_cur);
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

// Every thread of the team at once (the barrier), each with a product large enough to pack through a buffer: a
// buffer is returned to OpenBLAS's pool after the call and kept mapped, so the team's later calls find theirs.
void map_buffers(int threads) {
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

void reserve_once() {
    struct rlimit limit;
    if (::getrlimit(RLIMIT_AS, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return;
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
}

}  // namespace

void reserve_blas_work_buffers() {
    // A throw leaves the flag unset: the next backend made checks again (the limit may have been raised by then).
    static std::once_flag once;
    std::call_once(once, reserve_once);
}

}  // namespace fusedrnn::cpu
