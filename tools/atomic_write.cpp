#include "fusedrnn/tools/atomic_write.h"

#include <fcntl.h>
#include <unistd.h>

#include <ext/stdio_filebuf.h>  // libstdc++: a streambuf over a file descriptor

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <vector>

#include "fusedrnn/core/detail/temp_file.h"
#include "fusedrnn/core/error.h"

namespace fusedrnn::tools {
namespace {

// The descriptor of this process that `path` names — /dev/stdout, /dev/stderr, /dev/fd/N, /proc/self/fd/N,
// /proc/<pid>/fd/N, or a link leading to one — else -1. Opened by name, such a path is a new open of the file behind
// the descriptor: a regular file would be truncated (or renamed over), losing what a `>> log` redirect had appended.
int own_descriptor(const std::string& path) {
    namespace fs = std::filesystem;
    if (path == "-") return 1;  // the usual name for standard output (QA: it wrote a file named "-")
    const std::string pid_fd = "/proc/" + std::to_string(::getpid()) + "/fd/";
    fs::path p(path);
    for (int hop = 0; hop < 8; ++hop) {  // a chain of links, bounded
        const std::string s = p.lexically_normal().string();
        if (s == "/dev/stdout") return 1;
        if (s == "/dev/stderr") return 2;
        for (const std::string& dir : {std::string("/dev/fd/"), std::string("/proc/self/fd/"), pid_fd}) {
            if (s.size() <= dir.size() || s.compare(0, dir.size(), dir) != 0) continue;
            const std::string digits = s.substr(dir.size());
            if (digits.size() > 9 || digits.find_first_not_of("0123456789") != std::string::npos) return -1;
            return std::atoi(digits.c_str());
        }
        std::error_code ec;
        if (!fs::is_symlink(p, ec)) return -1;
        const fs::path target = fs::read_symlink(p, ec);
        if (ec) return -1;
        p = target.is_absolute() ? target : p.parent_path() / target;
    }
    return -1;
}

// A FIFO, a terminal, /dev/null: written in place, since renaming a file over it would replace the
// device or pipe (atomicity means nothing for a stream anyway).
bool is_stream(const std::string& path) {
    std::error_code ec;
    const auto st = std::filesystem::status(path, ec);
    return !ec && std::filesystem::exists(st) && !std::filesystem::is_regular_file(st) &&
           !std::filesystem::is_directory(st);
}

// Writes to a descriptor (standard output, a pipe) through a buffer of 1 MiB. libstdc++'s filebuf hands any piece of
// 1 KiB or more straight to writev, so a forecast went out a station at a time and a reader that closed after the
// first line (`| head -1`) ended the process by SIGPIPE at the second: now what fits the buffer goes in one write at
// commit, whole into a pipe with room for it.
class DescriptorBuffer : public std::streambuf {
public:
    explicit DescriptorBuffer(int fd) : fd_(fd), buffer_(size_t(1) << 20) { reset(); }
    ~DescriptorBuffer() override {
        (void)write_out();
        ::close(fd_);
    }

protected:
    int_type overflow(int_type c) override {
        if (write_out() != 0) return traits_type::eof();
        if (!traits_type::eq_int_type(c, traits_type::eof())) {
            *pptr() = traits_type::to_char_type(c);
            pbump(1);
        }
        return traits_type::not_eof(c);
    }
    int sync() override { return write_out(); }

private:
    void reset() { setp(buffer_.data(), buffer_.data() + buffer_.size()); }
    int write_out() {
        for (const char* p = pbase(); p < pptr();) {
            const ssize_t n = ::write(fd_, p, size_t(pptr() - p));
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) return -1;  // errno says why, for commit()
            p += n;
        }
        reset();
        return 0;
    }
    int fd_;
    std::vector<char> buffer_;
};

// Where the data for standard output goes once keep_stdout_for_data set it aside (-1: descriptor 1 itself).
int g_data_stdout = -1;

// own_descriptor, with standard output taken to where keep_stdout_for_data set it aside.
int data_descriptor(const std::string& path) {
    const int fd = own_descriptor(path);
    return fd == 1 && g_data_stdout >= 0 ? g_data_stdout : fd;
}

}  // namespace

bool names_standard_output(const std::string& path) { return own_descriptor(path) == 1; }

std::string shown_output_name(const std::string& path) { return path == "-" ? "standard output" : path; }

std::string link_target(const std::string& path) {
    namespace fs = std::filesystem;
    fs::path p(path);
    for (int hop = 0; hop < 40; ++hop) {  // the kernel's own limit (ELOOP)
        std::error_code ec;
        if (!fs::is_symlink(p, ec)) return p.string();
        const fs::path target = fs::read_symlink(p, ec);
        if (ec) return p.string();
        p = (target.is_absolute() ? target : p.parent_path() / target).lexically_normal();
    }
    FR_FAIL("cannot write {}: it is a loop of symbolic links", path);
}

void keep_stdout_for_data(const std::vector<std::string>& paths) {
    if (g_data_stdout >= 0) return;
    for (const std::string& path : paths) {
        if (path.empty() || own_descriptor(path) != 1) continue;
        std::fflush(stdout);
        const int kept = ::fcntl(1, F_DUPFD_CLOEXEC, 3);
        FR_CHECK(kept >= 0, "cannot write {}: {}", path, std::strerror(errno));
        FR_CHECK(::dup2(2, 1) == 1, "cannot write {}: {}", path, std::strerror(errno));
        g_data_stdout = kept;
        return;
    }
}

AtomicFile::AtomicFile(std::string path)
    : descriptor_(data_descriptor(path)),
      path_(descriptor_ >= 0 ? shown_output_name(path) : link_target(path)),
      direct_(descriptor_ >= 0 || is_stream(path_)),
      tmp_(direct_ ? path_ : std::string()) {
    if (descriptor_ >= 0) {
        const int mode = ::fcntl(descriptor_, F_GETFL);
        FR_CHECK(mode != -1 && (mode & O_ACCMODE) != O_RDONLY, "cannot write {}: descriptor {} is not open for "
                 "writing", path_, descriptor_);
        // What this process printed before comes first.
        std::fflush(stdout);
        std::fflush(stderr);
        const int fd = ::dup(descriptor_);
        FR_CHECK(fd >= 0, "cannot write {}: {}", path_, std::strerror(errno));
        dup_ = std::make_unique<DescriptorBuffer>(fd);
        out_.rdbuf(dup_.get());
        return;
    }
    if (direct_) {
        errno = 0;
        const bool opened = file_.open(path_, std::ios::out | std::ios::binary) != nullptr;
        FR_CHECK(opened, "cannot write {}: {}", path_, errno ? std::strerror(errno) : "cannot open it");
        out_.rdbuf(&file_);
        return;
    }
    temp_fd_ = detail::create_temp_beside(path_, tmp_, "file", &slot_);
    temp_ = std::make_unique<__gnu_cxx::stdio_filebuf<char>>(temp_fd_, std::ios::out | std::ios::binary);
    out_.rdbuf(temp_.get());
}

AtomicFile::~AtomicFile() {
    if (committed_) return;
    file_.close();
    if (direct_) return;
    temp_.reset();  // closes the temp file
    std::error_code ignore;
    std::filesystem::remove(tmp_, ignore);
    detail::unregister_temp_file(slot_);
}

namespace {

// The cause of a failed stream write, where errno holds one a write gives (iostreams keep none themselves: an errno
// from some earlier, unrelated call must not be named instead).
std::string write_failure_cause(int err) {
    // EPIPE: /dev/stdout into a pipe whose reader has gone (`| head`), with SIGPIPE ignored.
    if (err == ENOSPC || err == EFBIG || err == EDQUOT || err == EIO || err == EPIPE) return std::strerror(err);
    return "disk full?";
}

}  // namespace

void AtomicFile::commit() {
    out_.flush();
    // A failed flush on close (a full disk) counts as a failed write. The temp file is on disk (fsync) before it is
    // renamed: otherwise a crash could leave the new name pointing at blocks never written.
    bool closed = false;
    if (dup_) closed = dup_->pubsync() == 0;
    else if (temp_) closed = temp_->pubsync() == 0 && ::fsync(temp_fd_) == 0;
    else closed = file_.close() != nullptr;
    const bool failed = out_.fail() || !closed;
    const int err = errno;
    temp_.reset();
    if (direct_) {
        committed_ = true;
        FR_CHECK(!failed, "failed writing {} ({})", path_, write_failure_cause(err));
        return;
    }
    std::error_code ec;
    if (failed) {
        std::filesystem::remove(tmp_, ec);
        detail::unregister_temp_file(slot_);
        committed_ = true;  // nothing left for the destructor
        FR_FAIL("failed writing {} ({})", path_, write_failure_cause(err));  // the user's name, not the temp file's
    }
    std::filesystem::rename(tmp_, path_, ec);
    if (ec) {
        std::error_code ignore;
        std::filesystem::remove(tmp_, ignore);
        detail::unregister_temp_file(slot_);
        committed_ = true;
        FR_FAIL("cannot rename {} to {}: {}", tmp_, path_, ec.message());
    }
    detail::unregister_temp_file(slot_);
    committed_ = true;
    detail::sync_parent_folder(path_);  // the rename itself durable (best effort)
}

void write_file_atomically(const std::string& path, const std::string& contents) {
    AtomicFile f(path);
    f.stream() << contents;
    f.commit();
}

}  // namespace fusedrnn::tools
