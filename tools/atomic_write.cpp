#include "tools/atomic_write.h"

#include <signal.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "core/error.h"

namespace fusedrnn::tools {
namespace {

// The temp files being written, for the signal handler below: Ctrl-C during a long write (eval --forecasts writes
// hundreds of MB) must not leave "<path>.tmp" behind. Fixed slots, so the handler touches no allocator.
struct TempSlot {
    std::atomic<bool> claimed{false};  // taken by an AtomicFile
    std::atomic<bool> ready{false};    // path written: the handler may use it
    char path[4096] = {};
};
std::array<TempSlot, 16> g_temp_files;

extern "C" void remove_temp_files_then_stop(int sig) {
    for (auto& slot : g_temp_files)
        if (slot.ready.load()) ::unlink(slot.path);  // async-signal-safe
    ::signal(sig, SIG_DFL);                          // then end as the signal would have ended the process
    ::raise(sig);
}

// Installed for SIGINT and SIGTERM where they still have their default action (not while training's StopOnSignal,
// which saves a checkpoint instead, or where the shell set them to be ignored).
void handle_stop_signals() {
    for (int sig : {SIGINT, SIGTERM}) {
        struct sigaction current;
        if (::sigaction(sig, nullptr, &current) != 0 || current.sa_handler != SIG_DFL) continue;
        struct sigaction sa;
        std::memset(&sa, 0, sizeof sa);
        sa.sa_handler = remove_temp_files_then_stop;
        sigemptyset(&sa.sa_mask);
        ::sigaction(sig, &sa, nullptr);
    }
}

int register_temp_file(const std::string& path) {
    if (path.size() >= sizeof(TempSlot::path)) return -1;  // not removed on a signal; nothing else changes
    for (size_t i = 0; i < g_temp_files.size(); ++i) {
        bool expected = false;
        if (!g_temp_files[i].claimed.compare_exchange_strong(expected, true)) continue;
        std::memcpy(g_temp_files[i].path, path.c_str(), path.size() + 1);
        g_temp_files[i].ready.store(true);
        handle_stop_signals();
        return int(i);
    }
    return -1;
}

void unregister_temp_file(int slot) {
    if (slot < 0) return;
    g_temp_files[size_t(slot)].ready.store(false);
    g_temp_files[size_t(slot)].claimed.store(false);
}

}  // namespace

namespace {

// Where `path` leads: a link is followed (renaming over the link would replace the link, not the file it names).
std::string resolved(const std::string& path) {
    std::error_code ec;
    if (!std::filesystem::is_symlink(path, ec)) return path;
    const auto target = std::filesystem::weakly_canonical(path, ec);
    return ec ? path : target.string();
}

// A FIFO, a terminal, /dev/stdout, /dev/null: written in place, since renaming a file over it would replace the
// device or pipe (atomicity means nothing for a stream anyway).
bool is_stream(const std::string& path) {
    std::error_code ec;
    const auto st = std::filesystem::status(path, ec);
    return !ec && std::filesystem::exists(st) && !std::filesystem::is_regular_file(st) &&
           !std::filesystem::is_directory(st);
}

}  // namespace

AtomicFile::AtomicFile(std::string path)
    : path_(resolved(path)), direct_(is_stream(path_)), tmp_(direct_ ? path_ : path_ + ".tmp") {
    if (direct_) {
        errno = 0;
        out_.open(path_, std::ios::binary);
        FR_CHECK(out_.good(), "cannot write {}: {}", path_, errno ? std::strerror(errno) : "cannot open it");
        return;
    }
    slot_ = register_temp_file(tmp_);
    errno = 0;
    out_.open(tmp_, std::ios::binary);
    if (!out_.good()) {
        const int err = errno;
        unregister_temp_file(slot_);
        FR_FAIL("cannot write {}: {}", tmp_, err ? std::strerror(err) : "cannot open the file");
    }
}

AtomicFile::~AtomicFile() {
    if (committed_) return;
    out_.close();
    if (direct_) return;
    std::error_code ignore;
    std::filesystem::remove(tmp_, ignore);
    unregister_temp_file(slot_);
}

void AtomicFile::commit() {
    out_.close();
    if (direct_) {
        committed_ = true;
        FR_CHECK(!out_.fail(), "failed writing {}", path_);
        return;
    }
    std::error_code ec;
    if (out_.fail()) {
        std::filesystem::remove(tmp_, ec);
        unregister_temp_file(slot_);
        committed_ = true;  // nothing left for the destructor
        FR_FAIL("failed writing {} (disk full?)", tmp_);
    }
    std::filesystem::rename(tmp_, path_, ec);
    if (ec) {
        std::error_code ignore;
        std::filesystem::remove(tmp_, ignore);
        unregister_temp_file(slot_);
        committed_ = true;
        FR_FAIL("cannot rename {} to {}: {}", tmp_, path_, ec.message());
    }
    unregister_temp_file(slot_);
    committed_ = true;
}

void write_file_atomically(const std::string& path, const std::string& contents) {
    AtomicFile f(path);
    f.stream() << contents;
    f.commit();
}

}  // namespace fusedrnn::tools
