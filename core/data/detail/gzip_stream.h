// fusedrnn::detail — decompressing a gzip file for LineReader.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

namespace fusedrnn::detail {

// Decompresses a gzip file of one or more members (as `cat a.gz b.gz` makes) from `file`, read from its current
// position. zlib's gzread takes whatever follows the last member for the file's end and passes over it without a word
// (QA: plain lines a logger appended to a .gz file were lost, and predict forecast from data two months old); here
// bytes after a member that begin no other member are a failure, unless they are all zero (padding).
class GzipStream {
public:
    enum class Failure {
        None,
        Damaged,       // zlib found the stream corrupt, or it ends before its last member does (`what`: zlib's words)
        CheckFailed,   // the trailer's CRC or length does not match: the damage may be anywhere
        TrailingData,  // bytes after the last member that are not gzip (`what` says where and how many)
    };

    explicit GzipStream(std::FILE* file);
    ~GzipStream();
    GzipStream(const GzipStream&) = delete;
    GzipStream& operator=(const GzipStream&) = delete;

    // Up to `room` decompressed bytes into `out`; 0 at the end of the last member, or on a failure (then `failure`
    // and `what` say which).
    size_t read(char* out, size_t room, Failure& failure, std::string& what);

private:
    struct State;
    std::unique_ptr<State> s_;
};

}  // namespace fusedrnn::detail
