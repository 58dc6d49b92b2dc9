#include "fusedrnn/core/detail/temp_file.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <time.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>

#include "fusedrnn/core/error.h"

namespace fusedrnn::detail {
namespace {

struct TempSlot {
    std::atomic<bool> claimed{false};  // taken by a writer
    std::atomic<bool> ready{false};    // path written: a signal handler may use it
    char path[4096] = {};
};
static_assert(std::atomic<bool>::is_always_lock_free, "a signal handler reads the slots");
// 256: `data synth` and `data export` write one file per OpenMP thread at once (QA: with 32 threads, 16 slots left
// 16 temp files behind on Ctrl-C).
std::array<TempSlot, 256> g_temp_files;
// Threads between registering a temp file and having it made (create_temp_beside), and whether the process is
// ending on a signal (remove_temp_files_for_exit): together they close the window in which a thread could make a
// file just after the handler removed the registered ones.
std::atomic<int> g_creating{0};
std::atomic<bool> g_ending{false};
// This thread is among g_creating: a handler running on it does not wait for itself (its file is either not made
// and never will be, or made and registered).
thread_local volatile sig_atomic_t t_creating = 0;
static_assert(std::atomic<int>::is_always_lock_free, "a signal handler reads g_creating");

int64_t monotonic_ns() {  // clock_gettime is async-signal-safe
    timespec t{};
    ::clock_gettime(CLOCK_MONOTONIC, &t);
    return int64_t(t.tv_sec) * 1'000'000'000 + t.tv_nsec;
}

}  // namespace

int register_temp_file(const std::string& path) {
    if (path.size() >= sizeof(TempSlot::path)) return -1;
    for (size_t i = 0; i < g_temp_files.size(); ++i) {
        bool expected = false;
        if (!g_temp_files[i].claimed.compare_exchange_strong(expected, true)) continue;
        std::memcpy(g_temp_files[i].path, path.c_str(), path.size() + 1);
        g_temp_files[i].ready.store(true);
        return int(i);
    }
    return -1;
}

void unregister_temp_file(int slot) {
    if (slot < 0) return;
    g_temp_files[size_t(slot)].ready.store(false);
    g_temp_files[size_t(slot)].claimed.store(false);
}

void remove_registered_temp_files() noexcept {
    for (auto& slot : g_temp_files)
        if (slot.ready.load()) ::unlink(slot.path);
}

void remove_temp_files_for_exit() noexcept {
    g_ending.store(true);
    // A thread creating one now finishes (and its file is then registered); the handler does not wait for its own
    // thread. The bound is for a thread that is not scheduled at all for long (a loaded machine: 2 s, not 0.2).
    const int self = t_creating ? 1 : 0;
    const int64_t deadline = monotonic_ns() + 2'000'000'000;
    while (g_creating.load() > self && monotonic_ns() < deadline) {
    }
    remove_registered_temp_files();
}

int create_temp_beside(const std::filesystem::path& target, std::string& tmp_path, std::string_view what, int* slot) {
    static std::atomic<unsigned> counter{0};
    const auto dir = target.has_parent_path() ? target.parent_path() : std::filesystem::path(".");
    for (int attempt = 0;; ++attempt) {
        tmp_path = (dir / ("." + target.filename().string() + ".tmp." + std::to_string(::getpid()) + "." +
                           std::to_string(counter++))).string();
        // Registered first: a signal between the two removes at most a name not made yet, or (EEXIST) a file left by
        // a killed earlier process that had this one's id, garbage either way. Counted as being created meanwhile,
        // and not begun at all once the process is ending on a signal (remove_temp_files_for_exit).
        // Counted before marked (and unmarked before uncounted): a handler between the two waits out its bound rather
        // than leave another thread's file.
        g_creating.fetch_add(1);
        t_creating = 1;
        if (g_ending.load()) {
            t_creating = 0;
            g_creating.fetch_sub(1);
            for (;;) ::pause();  // the handler ends the process (it does, right after: signal(SIG_DFL), raise)
        }
        *slot = register_temp_file(tmp_path);
        const int fd = ::open(tmp_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        const int err = errno;
        t_creating = 0;
        g_creating.fetch_sub(1);
        if (fd >= 0) return fd;
        unregister_temp_file(*slot);
        *slot = -1;
        if (err != EEXIST || attempt > 100)
            FR_FAIL("cannot write {} '{}': cannot create temporary file '{}': {}", what, target.string(), tmp_path,
                    std::strerror(err));
    }
}

std::optional<pid_t> temp_file_owner(const std::string& file_name) {
    const size_t tmp = file_name.rfind(".tmp.");
    if (file_name.size() < 2 || file_name[0] != '.' || tmp == std::string::npos || tmp == 0) return std::nullopt;
    const std::string rest = file_name.substr(tmp + 5);  // "<pid>.<n>"
    const size_t dot = rest.find('.');
    if (dot == std::string::npos) return std::nullopt;
    const std::string pid = rest.substr(0, dot), n = rest.substr(dot + 1);
    const auto digits = [](const std::string& s) {
        return !s.empty() && s.size() <= 9 && s.find_first_not_of("0123456789") == std::string::npos;
    };
    if (!digits(pid) || !digits(n)) return std::nullopt;
    return pid_t(std::stol(pid));
}

std::vector<AbandonedTempFile> remove_abandoned_temp_files(const std::string& folder) {
    namespace fs = std::filesystem;
    std::vector<AbandonedTempFile> removed;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(folder, ec)) {
        const std::optional<pid_t> owner = temp_file_owner(entry.path().filename().string());
        if (!owner || *owner == ::getpid() || ::kill(*owner, 0) == 0 || errno != ESRCH) continue;  // alive, or unknown
        std::error_code kind, rm;
        if (fs::is_regular_file(entry.symlink_status(kind)) && fs::remove(entry.path(), rm))
            removed.push_back({entry.path().string(), *owner});
    }
    return removed;
}

void sync_parent_folder(const std::filesystem::path& path) {
    const auto dir = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;
    (void)::fsync(fd);
    ::close(fd);
}

}  // namespace fusedrnn::detail
