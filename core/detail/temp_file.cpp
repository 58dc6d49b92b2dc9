#include "fusedrnn/core/detail/temp_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "fusedrnn/core/error.h"

namespace fusedrnn::detail {

int create_temp_beside(const std::filesystem::path& target, std::string& tmp_path, std::string_view what) {
    static std::atomic<unsigned> counter{0};
    const auto dir = target.has_parent_path() ? target.parent_path() : std::filesystem::path(".");
    for (int attempt = 0;; ++attempt) {
        tmp_path = (dir / ("." + target.filename().string() + ".tmp." + std::to_string(::getpid()) + "." +
                           std::to_string(counter++))).string();
        const int fd = ::open(tmp_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0) return fd;
        if (errno != EEXIST || attempt > 100)
            FR_FAIL("cannot write {} '{}': cannot create temporary file '{}': {}", what, target.string(), tmp_path,
                    std::strerror(errno));
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

void sync_parent_folder(const std::filesystem::path& path) {
    const auto dir = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;
    (void)::fsync(fd);
    ::close(fd);
}

}  // namespace fusedrnn::detail
