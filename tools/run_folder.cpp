#include "tools/run_folder.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include "core/error.h"
#include "tools/progress.h"

namespace fusedrnn::tools {

FolderLock::FolderLock(const std::string& folder, const std::string& flag) {
    const std::string path = (std::filesystem::path(folder) / ".fusedrnn.lock").string();
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    FR_CHECK(fd_ >= 0, "cannot create {}: {}", path, std::strerror(errno));
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
        const int err = errno;
        char holder[32] = {};
        const ssize_t n = ::pread(fd_, holder, sizeof holder - 1, 0);
        ::close(fd_);
        fd_ = -1;
        FR_CHECK(err != EWOULDBLOCK, "{} {} is in use by another fusedrnn run{}: wait for it to end, or choose another "
                 "{}", flag, folder, n > 0 ? fmt::format(" (process {})", std::string(holder, size_t(n))) : "", flag);
        // A filesystem without locks (some network mounts: ENOLCK, EOPNOTSUPP) must not stop the run: it only loses
        // the guard against a second run, and says so.
        log_line(fmt::format("warning: cannot lock {} ({}): nothing stops a second run from writing to {} meanwhile",
                             path, std::strerror(err), folder));
        return;
    }
    // Who holds it, for the message above (informational: the flock is the lock).
    const std::string pid = std::to_string(::getpid());
    if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, pid.data(), pid.size(), 0) < 0) {
        // Not fatal: the flock holds; only a second run's message loses the process id.
    }
}

FolderLock::~FolderLock() {
    if (fd_ >= 0) ::close(fd_);  // closing the descriptor releases the flock
}

void remove_previous_run(const std::string& folder, std::initializer_list<const char*> files) {
    namespace fs = std::filesystem;
    std::vector<std::string> removed;
    for (const char* name : files) {
        std::error_code ec;
        if (fs::remove(fs::path(folder) / name, ec)) removed.push_back(name);
        FR_CHECK(!ec, "cannot remove the previous run's {}/{}: {}", folder, name, ec.message());
    }
    if (!removed.empty())
        log_line(fmt::format("replacing the previous run in {}/: removed {}", folder, fmt::join(removed, ", ")));
}

}  // namespace fusedrnn::tools
