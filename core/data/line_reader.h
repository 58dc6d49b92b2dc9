// fusedrnn::data — line-by-line reading of station files, plain or gzip-compressed.
// Gzip is recognised by its magic bytes (not the file name), so "x.csv.gz" and ISD-Lite's ".gz"
// files read like plain ones. Line numbers are 1-based and go into every error message.
#pragma once

#include <cstdint>
#include <cstdio>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace fusedrnn::detail {
class GzipStream;
}

namespace fusedrnn::data {

// Whether this build can read gzip files (compiled with zlib: FUSEDRNN_WITH_ZLIB).
bool gzip_supported();

class LineReader {
public:
    // Opens `path`; throws fusedrnn::Error naming the file when it cannot be opened, or when it is
    // gzip-compressed and this build has no zlib.
    explicit LineReader(std::string path);
    ~LineReader();
    LineReader(const LineReader&) = delete;
    LineReader& operator=(const LineReader&) = delete;

    // Next line without its "\n" / "\r\n" (and without a UTF-8 byte-order mark on line 1). The view
    // is valid until the next call. Returns false at end of file; throws on read or decompression
    // errors (a truncated .gz file ends with an error, never with silently missing lines).
    bool next(std::string_view& line);
    // Hands back `lines` (read already, the first of them line `first_line`) to be returned again by next(), in order
    // and with their line numbers, before the file's next line: a record that swallowed them (a stray quote opens a
    // field that runs on over the following lines) turned out bad, and they are read again on their own. They must
    // be the lines up to the one last returned.
    void unread(std::vector<std::string> lines, int64_t first_line);
    int64_t line_number() const { return line_number_; }
    // Whether the line last returned ended the file without a line end: a file still being written (a logger's, the
    // usual input of `predict`), or one cut off, may end in half a number there.
    bool last_line_unterminated() const { return unterminated_; }
    const std::string& path() const { return path_; }
    // "path:line" of the line last returned, for messages.
    std::string where() const;

private:
    size_t fill();  // reads more bytes into buf_; returns how many
    // Lines read intact so far: those returned plus the complete ones waiting in the buffer (for error messages).
    int64_t lines_intact() const;

    std::string path_;
    std::FILE* file_ = nullptr;
    std::unique_ptr<detail::GzipStream> gz_;  // when compressed: decompresses file_
    void resize_buffer(size_t bytes);  // keeps buf_[0, end_)
    // Uninitialised (std::vector would zero its megabyte for every file, however small: a folder of thousands of
    // short station files paid for that, and so did the fuzzer, at a file per input).
    std::unique_ptr<char[]> buf_;
    size_t buf_size_ = 0;
    size_t begin_ = 0, end_ = 0;  // unread bytes are buf_[begin_, end_)
    bool eof_ = false;
    int64_t line_number_ = 0;
    bool unterminated_ = false;
    std::deque<std::string> replay_;   // lines handed back by unread(), returned first
    std::string replayed_;             // the replayed line last returned (the view points into it)
    bool replay_unterminated_ = false;  // unterminated_ of the last line handed back, for when it is returned again
};

}  // namespace fusedrnn::data
