#include "fusedrnn/core/text/text_file.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>
#include <vector>

#include "fusedrnn/core/error.h"
#include "fusedrnn/core/text/utf8.h"
#include "fusedrnn/core/text/word_split.h"

namespace fusedrnn::text {

namespace {

std::string read_all(const std::string& path) {
    namespace fs = std::filesystem;
    std::error_code ec;
    const fs::file_status st = fs::status(path, ec);
    // A loop of links, a folder that cannot be searched: the system's reason, not "does not exist" (QA).
    FR_CHECK(!ec || ec == std::errc::no_such_file_or_directory, "cannot read text file '{}': {}", path, ec.message());
    FR_CHECK(!ec && fs::exists(st), "text file '{}' does not exist", path);
    FR_CHECK(!fs::is_directory(st), "text file '{}' is a directory, not a file", path);
    std::ifstream in(path, std::ios::binary);
    FR_CHECK(in.good(), "cannot open text file '{}': {}", path, std::strerror(errno));
    // Read in pieces: a device or pipe (/dev/zero, /dev/urandom) has no end, so reading stops after the first NUL byte
    // (no text has one) and a file that is not a regular one at kMaxStreamBytes.
    const bool regular = fs::is_regular_file(st);
    constexpr size_t kMaxStreamBytes = size_t(1) << 32;  // 4 GiB: more than any corpus read from a pipe
    std::string out;
    std::vector<char> buf(size_t(1) << 20);
    for (;;) {
        in.read(buf.data(), std::streamsize(buf.size()));
        const size_t n = size_t(in.gcount());
        out.append(buf.data(), n);
        // The text is refused at its first NUL (check_utf8_text names it: binary, or UTF-16): nothing after it matters.
        if (std::memchr(buf.data(), 0, n) != nullptr || n < buf.size()) break;
        FR_CHECK(regular || out.size() <= kMaxStreamBytes, "text file '{}' is not a regular file and gave more than {} "
                 "GiB without ending: give a file", path, kMaxStreamBytes >> 30);
    }
    FR_CHECK(!in.bad(), "error while reading text file '{}': {}", path, std::strerror(errno));
    return out;
}

}  // namespace

std::string crlf_to_lf(const std::string& s) {
    std::string out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size(); ++i)
        if (!(s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n')) out.push_back(s[i]);
    return out;
}

std::string load_text_file(const std::string& path, const TextFileOptions& options) {
    std::string bytes = read_all(path);
    FR_CHECK(!bytes.empty(), "text file '{}' is empty", path);
    // Validate before any edit so reported offsets are offsets in the file as it is on disk.
    check_utf8_text(bytes, fmt::format("text file '{}'", path));
    if (options.strip_bom && bytes.compare(0, 3, "\xEF\xBB\xBF") == 0) bytes.erase(0, 3);
    if (options.normalize_newlines && bytes.find('\r') != std::string::npos) bytes = crlf_to_lf(bytes);
    // Only white space is as useless as empty; the cheap ASCII test settles almost every file.
    const size_t first = bytes.find_first_not_of(" \t\n\r\f\v");
    bool any_text = first != std::string::npos && static_cast<unsigned char>(bytes[first]) < 0x80;
    if (!any_text && first != std::string::npos)
        for (char32_t c : decode_utf8(bytes, path))
            if (!is_space(c)) { any_text = true; break; }
    FR_CHECK(any_text, "text file '{}' has no text ({})", path,
             first == std::string::npos && bytes.empty() ? "only a byte-order mark" : "only white space");
    return bytes;
}

}  // namespace fusedrnn::text
