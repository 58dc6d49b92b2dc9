#include "fusedrnn/core/data/detail/gzip_stream.h"

#ifdef FUSEDRNN_WITH_ZLIB  // the readers refuse .gz files without it

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include <fmt/format.h>
#include <zlib.h>

#include "fusedrnn/core/error.h"

namespace fusedrnn::detail {

namespace {
constexpr size_t kInput = size_t(32) << 10;  // compressed bytes read at a time
}  // namespace

struct GzipStream::State {
    std::FILE* file = nullptr;
    z_stream z{};
    std::vector<unsigned char> in = std::vector<unsigned char>(kInput);
    int64_t read_total = 0;        // compressed bytes read from the file so far
    bool file_ended = false;
    bool between_members = false;  // a member has ended and what follows is not looked at yet
    bool done = false;

    // Moves the unread input to the front and reads more after it; false when the file has no more.
    bool refill() {
        if (file_ended) return false;
        if (z.avail_in > 0 && z.next_in != in.data()) std::memmove(in.data(), z.next_in, z.avail_in);
        const size_t got = std::fread(in.data() + z.avail_in, 1, in.size() - z.avail_in, file);
        FR_CHECK(!std::ferror(file), "read error: {}", std::strerror(errno));
        if (got == 0) file_ended = true;
        read_total += int64_t(got);
        z.next_in = in.data();
        z.avail_in += unsigned(got);
        return got > 0;
    }

    // Where the last member ended, in bytes from the start of the file.
    int64_t offset() const { return read_total - int64_t(z.avail_in); }

    // Whether every byte from the current one to the file's end is zero (padding some tools write); if not, the input
    // is left at the first byte that is not.
    bool rest_is_zero() {
        for (;;) {
            const unsigned char* p = z.next_in;
            const unsigned char* nonzero = std::find_if(p, p + z.avail_in, [](unsigned char c) { return c != 0; });
            z.avail_in -= unsigned(nonzero - p);
            z.next_in = const_cast<unsigned char*>(nonzero);
            if (z.avail_in > 0) return false;
            if (!refill()) return true;
        }
    }
};

GzipStream::GzipStream(std::FILE* file) : s_(std::make_unique<State>()) {
    s_->file = file;
    // 15 + 16: a gzip wrapper (not zlib's or raw deflate), the largest window.
    FR_CHECK(inflateInit2(&s_->z, 15 + 16) == Z_OK, "zlib: cannot start decompression: {}",
             s_->z.msg ? s_->z.msg : "out of memory");
}

GzipStream::~GzipStream() { inflateEnd(&s_->z); }

size_t GzipStream::read(char* out, size_t room, Failure& failure, std::string& what) {
    failure = Failure::None;
    State& s = *s_;
    z_stream& z = s.z;
    if (s.done || room == 0) return 0;
    z.next_out = reinterpret_cast<unsigned char*>(out);
    z.avail_out = unsigned(std::min<size_t>(room, 1u << 30));
    const unsigned out_room = z.avail_out;
    for (;;) {
        if (s.between_members) {
            while (z.avail_in < 2 && s.refill()) {
            }
            if (z.avail_in == 0) {
                s.done = true;
                return out_room - z.avail_out;
            }
            if (z.avail_in >= 2 && z.next_in[0] == 0x1f && z.next_in[1] == 0x8b) {  // another member
                inflateReset(&z);
                s.between_members = false;
                continue;
            }
            const int64_t end = s.offset();
            if (s.rest_is_zero()) {
                s.done = true;
                return out_room - z.avail_out;
            }
            struct stat st{};
            const int64_t size = ::fstat(fileno(s.file), &st) == 0 ? int64_t(st.st_size) : -1;
            const int64_t rest = s.offset();  // the first byte after the gzip data that is not zero padding
            failure = Failure::TrailingData;
            what = fmt::format("its gzip data ends at byte {}, and the {} after it are not gzip (lines appended to a "
                               "compressed file?): they would go unread. Make it one file of one kind: the gzip part "
                               "decompressed (zcat) followed by the rest (tail -c +{})",
                               end, size > end ? fmt::format("{} bytes", size - end) : std::string("bytes"), rest + 1);
            return 0;
        }
        if (z.avail_in == 0 && !s.refill()) {
            failure = Failure::Damaged;
            what = "unexpected end of file";
            return 0;
        }
        const int ret = inflate(&z, Z_NO_FLUSH);
        const size_t produced = out_room - z.avail_out;
        if (ret == Z_STREAM_END) {
            s.between_members = true;
            if (produced > 0) return produced;
            continue;
        }
        if (ret == Z_OK || (ret == Z_BUF_ERROR && z.avail_in == 0)) {
            if (produced > 0) return produced;
            continue;
        }
        what = z.msg ? z.msg : fmt::format("zlib error {}", ret);
        failure = what == "incorrect data check" || what == "incorrect length check" ? Failure::CheckFailed
                                                                                      : Failure::Damaged;
        return 0;
    }
}

}  // namespace fusedrnn::detail

#endif  // FUSEDRNN_WITH_ZLIB
