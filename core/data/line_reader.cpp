#include "core/data/line_reader.h"

#include <cerrno>
#include <cstring>
#include <memory>

#include "core/error.h"

#ifdef FUSEDRNN_WITH_ZLIB
#include <zlib.h>
#endif

namespace fusedrnn::data {

bool gzip_supported() {
#ifdef FUSEDRNN_WITH_ZLIB
    return true;
#else
    return false;
#endif
}

namespace {
constexpr size_t kChunk = size_t(1) << 20;
}

LineReader::LineReader(std::string path) : path_(std::move(path)) {
    file_ = std::fopen(path_.c_str(), "rb");
    FR_CHECK(file_ != nullptr, "{}: cannot open: {}", path_, std::strerror(errno));
    unsigned char magic[2] = {0, 0};
    const size_t got = std::fread(magic, 1, 2, file_);
    const bool gzip = got == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
    if (!gzip) {
        std::rewind(file_);
        buf_.resize(kChunk);
        return;
    }
    std::fclose(file_);
    file_ = nullptr;
#ifdef FUSEDRNN_WITH_ZLIB
    gzFile gz = gzopen(path_.c_str(), "rb");
    FR_CHECK(gz != nullptr, "{}: cannot open gzip file: {}", path_, std::strerror(errno));
    gzbuffer(gz, 256 * 1024);
    gz_ = gz;
    buf_.resize(kChunk);
#else
    FR_FAIL("{}: gzip-compressed, but this build of fusedrnn has no zlib (build with FUSEDRNN_WITH_ZLIB, "
            "or decompress it with gunzip)", path_);
#endif
}

LineReader::~LineReader() {
    if (file_) std::fclose(file_);
#ifdef FUSEDRNN_WITH_ZLIB
    if (gz_) gzclose(static_cast<gzFile>(gz_));
#endif
}

std::string LineReader::where() const { return path_ + ":" + std::to_string(line_number_); }

size_t LineReader::fill() {
    if (eof_) return 0;
    // Move the unread tail to the front so that a line never straddles the buffer's end.
    if (begin_ > 0) {
        std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
        end_ -= begin_;
        begin_ = 0;
    }
    const size_t room = buf_.size() - end_;
    size_t got = 0;
    if (file_) {
        got = std::fread(buf_.data() + end_, 1, room, file_);
        FR_CHECK(!std::ferror(file_), "{}: read error after line {}: {}", path_, line_number_, std::strerror(errno));
    }
#ifdef FUSEDRNN_WITH_ZLIB
    else if (gz_) {
        const int n = gzread(static_cast<gzFile>(gz_), buf_.data() + end_, unsigned(room));
        if (n < 0) {
            int code = 0;
            const char* msg = gzerror(static_cast<gzFile>(gz_), &code);
            FR_FAIL("{}: gzip error after line {}: {}", path_, line_number_, msg ? msg : "unknown");
        }
        got = size_t(n);
        if (got == 0) {
            // gzread returns 0 both at a clean end and at a truncated stream; gzerror tells them apart.
            int code = 0;
            const char* msg = gzerror(static_cast<gzFile>(gz_), &code);
            FR_CHECK(code == Z_OK || code == Z_STREAM_END, "{}: gzip error after line {}: {}", path_, line_number_,
                     msg ? msg : "unknown");
        }
    }
#endif
    if (got == 0) eof_ = true;
    end_ += got;
    return got;
}

bool LineReader::next(std::string_view& line) {
    for (;;) {
        const char* start = buf_.data() + begin_;
        const size_t avail = end_ - begin_;
        const void* nl = std::memchr(start, '\n', avail);
        if (nl != nullptr || (eof_ && avail > 0)) {
            const size_t len = nl ? size_t(static_cast<const char*>(nl) - start) : avail;
            begin_ += nl ? len + 1 : len;
            std::string_view piece(start, len);
            if (!piece.empty() && piece.back() == '\r') piece.remove_suffix(1);
            if (line_number_ == 0 && piece.size() >= 3 && std::memcmp(piece.data(), "\xEF\xBB\xBF", 3) == 0)
                piece.remove_prefix(3);
            ++line_number_;
            line = piece;
            return true;
        }
        if (eof_) return false;
        // A line longer than the buffer: grow it (rare; the buffer starts at 1 MiB).
        if (begin_ == 0 && end_ == buf_.size()) buf_.resize(buf_.size() * 2);
        fill();
    }
}

}  // namespace fusedrnn::data
