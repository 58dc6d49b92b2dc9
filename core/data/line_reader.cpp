#include "fusedrnn/core/data/line_reader.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iterator>
#include <memory>

#include "fusedrnn/core/error.h"

#include "fusedrnn/core/data/detail/gzip_stream.h"

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
// Decompressed bytes asked of zlib per call. On a corrupt stream the bytes of the failing call are lost, so this
// bounds how far before the damage the lines read intact end (a failed 1 MiB read said "after line 0" for damage
// 15,000 lines in).
constexpr size_t kGzipPiece = size_t(64) << 10;
}

LineReader::LineReader(std::string path) : path_(std::move(path)) {
    file_ = std::fopen(path_.c_str(), "rb");
    FR_CHECK(file_ != nullptr, "{}: cannot open: {}", path_, std::strerror(errno));
    unsigned char magic[2] = {0, 0};
    const size_t got = std::fread(magic, 1, 2, file_);
    const bool gzip = got == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
    std::rewind(file_);
    resize_buffer(kChunk);
    if (!gzip) return;
#ifdef FUSEDRNN_WITH_ZLIB
    try {
        gz_ = std::make_unique<detail::GzipStream>(file_);
    } catch (...) {  // no destructor runs for a constructor that throws
        std::fclose(file_);
        throw;
    }
#else
    std::fclose(file_);
    file_ = nullptr;
    FR_FAIL("{}: gzip-compressed, but this build of fusedrnn has no zlib (build with FUSEDRNN_WITH_ZLIB, "
            "or decompress it with gunzip)", path_);
#endif
}

LineReader::~LineReader() {
    gz_.reset();  // before the file it reads
    if (file_) std::fclose(file_);
}

void LineReader::resize_buffer(size_t bytes) {
    std::unique_ptr<char[]> bigger(new char[bytes]);
    if (end_ > 0) std::memcpy(bigger.get(), buf_.get(), end_);
    buf_ = std::move(bigger);
    buf_size_ = bytes;
}

std::string LineReader::where() const { return path_ + ":" + std::to_string(line_number_); }

int64_t LineReader::lines_intact() const {
    return line_number_ + int64_t(std::count(buf_.get() + begin_, buf_.get() + end_, '\n'));
}

size_t LineReader::fill() {
    if (eof_) return 0;
    // Move the unread tail to the front so that a line never straddles the buffer's end.
    if (begin_ > 0) {
        std::memmove(buf_.get(), buf_.get() + begin_, end_ - begin_);
        end_ -= begin_;
        begin_ = 0;
    }
    const size_t room = buf_size_ - end_;
    size_t got = 0;
    if (gz_) {
#ifdef FUSEDRNN_WITH_ZLIB
        using Failure = detail::GzipStream::Failure;
        Failure failure = Failure::None;
        std::string what;
        try {
            got = gz_->read(buf_.get() + end_, std::min(room, kGzipPiece), failure, what);
        } catch (const Error& e) {  // a read error of the file beneath
            FR_FAIL("{}: {} after line {}", path_, message_for_user(e.what()), lines_intact());
        }
        // The trailer's checks fail only once the whole stream is decompressed: the damage may be anywhere, so no
        // line is named (and the last piece decompressed is dropped, so no count of lines would be exact).
        if (failure == Failure::CheckFailed)
            FR_FAIL("{}: gzip error at the end of the file: {} (zlib: {}): the decompressed data is corrupt "
                    "somewhere in the file; recompress it from a good copy", path_,
                    what == "incorrect data check" ? "CRC mismatch" : "length mismatch", what);
        if (failure == Failure::TrailingData) FR_FAIL("{}: {}", path_, what);
        // Lines read intact: those handed out and the complete ones waiting in the buffer.
        if (failure == Failure::Damaged) FR_FAIL("{}: gzip error after line {}: {}", path_, lines_intact(), what);
#endif
    } else if (file_) {
        got = std::fread(buf_.get() + end_, 1, room, file_);
        FR_CHECK(!std::ferror(file_), "{}: read error after line {}: {}", path_, lines_intact(), std::strerror(errno));
    }
    if (got == 0) eof_ = true;
    end_ += got;
    return got;
}

void LineReader::unread(std::vector<std::string> lines, int64_t first_line) {
    if (lines.empty()) return;
    FR_CHECK(first_line >= 1 && first_line + int64_t(lines.size()) - 1 == line_number_,
             "LineReader::unread: lines {}..{} of {} are not the lines up to the one last read ({})", first_line,
             first_line + int64_t(lines.size()) - 1, path_, line_number_);
    // Lines still waiting from an earlier unread() follow these; the last of them is the file's last line read.
    if (replay_.empty()) replay_unterminated_ = unterminated_;
    replay_.insert(replay_.begin(), std::make_move_iterator(lines.begin()), std::make_move_iterator(lines.end()));
    line_number_ = first_line - 1;
}

bool LineReader::next(std::string_view& line) {
    if (!replay_.empty()) {
        replayed_ = std::move(replay_.front());
        replay_.pop_front();
        ++line_number_;
        unterminated_ = replay_.empty() && replay_unterminated_;
        line = replayed_;
        return true;
    }
    for (;;) {
        const char* start = buf_.get() + begin_;
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
            unterminated_ = nl == nullptr;
            line = piece;
            return true;
        }
        if (eof_) return false;
        // A line longer than the buffer: grow it (rare; the buffer starts at 1 MiB).
        if (begin_ == 0 && end_ == buf_size_) resize_buffer(buf_size_ * 2);
        fill();
    }
}

}  // namespace fusedrnn::data
