#include "fusedrnn/core/text/utf8.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "fusedrnn/core/error.h"

namespace fusedrnn::text {

namespace {

// Result of decoding one sequence at a position: the code point and its length in bytes, or
// length 0 with a description of what is wrong.
struct Step {
    char32_t cp = 0;
    size_t len = 0;
    const char* what = nullptr;
};

bool is_cont(unsigned char b) { return (b & 0xC0) == 0x80; }

Step decode_one(const unsigned char* p, size_t avail) {
    const unsigned char b0 = p[0];
    if (b0 < 0x80) return {b0, 1, nullptr};
    if (is_cont(b0)) return {0, 0, "unexpected continuation byte"};
    if (b0 < 0xC2) return {0, 0, "overlong 2-byte sequence"};  // C0, C1 only encode ASCII
    size_t len;
    char32_t cp;
    if (b0 < 0xE0) { len = 2; cp = b0 & 0x1F; }
    else if (b0 < 0xF0) { len = 3; cp = b0 & 0x0F; }
    else if (b0 < 0xF5) { len = 4; cp = b0 & 0x07; }
    else return {0, 0, "byte that never occurs in UTF-8"};
    for (size_t i = 1; i < len; ++i) {
        if (i >= avail) return {0, 0, "sequence truncated by the end of the data"};
        if (!is_cont(p[i])) return {0, 0, "sequence truncated, missing continuation byte"};
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000)) return {0, 0, "overlong sequence"};
    if (cp >= 0xD800 && cp <= 0xDFFF) return {0, 0, "UTF-16 surrogate encoded in UTF-8"};
    if (cp > 0x10FFFF) return {0, 0, "code point above U+10FFFF"};
    return {cp, len, nullptr};
}

// Control bytes that never appear in ordinary text files; their density is a binary-file sign.
bool is_suspicious_control(unsigned char b) {
    return (b < 0x20 && b != '\t' && b != '\n' && b != '\r' && b != '\f' && b != 0x1B) || b == 0x7F;
}

// Binary sniffing over a prefix: many text formats (and our own error positions) care about the
// first problem, but one stray Latin-1 byte in a big file should read as "invalid UTF-8 at offset N",
// not "binary". A 10% density of invalid/control bytes is far above any real text's.
bool looks_binary_prefix(const unsigned char* p, size_t n) {
    const size_t limit = std::min<size_t>(n, 64 * 1024);
    size_t bad = 0, i = 0;
    while (i < limit) {
        if (is_suspicious_control(p[i])) { ++bad; ++i; continue; }
        const Step s = decode_one(p + i, n - i);
        if (s.len == 0) { ++bad; ++i; } else i += s.len;
    }
    // At least 8 bad bytes: a short prompt with one bad byte is invalid text, not a binary file.
    return bad >= 8 && bad * 10 > limit;
}

void locate(const unsigned char* p, size_t offset, Utf8Problem& pr) {
    pr.offset = offset;
    pr.line = 1;
    pr.column = 1;
    for (size_t i = 0; i < offset; ++i) {
        if (p[i] == '\n') { pr.line++; pr.column = 1; }
        else if (!is_cont(p[i])) pr.column++;
    }
}

}  // namespace

std::optional<Utf8Problem> find_utf8_problem(std::string_view bytes) {
    const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
    const size_t n = bytes.size();
    Utf8Problem pr;
    // UTF-32's marks first: little-endian's begins with UTF-16LE's (FF FE), then two NUL bytes (QA: a UTF-32 file was
    // called UTF-16, and converted as such it was called UTF-16 again).
    const bool utf32 = n >= 4 && ((p[0] == 0xFF && p[1] == 0xFE && p[2] == 0 && p[3] == 0) ||
                                  (p[0] == 0 && p[1] == 0 && p[2] == 0xFE && p[3] == 0xFF));
    if (utf32 || (n >= 2 && ((p[0] == 0xFF && p[1] == 0xFE) || (p[0] == 0xFE && p[1] == 0xFF)))) {
        pr.binary = true;
        pr.encoding = utf32 ? "UTF-32" : "UTF-16";
        pr.what = fmt::format("it starts with a {} byte-order mark (convert it to UTF-8)", pr.encoding);
        return pr;
    }
    if (const void* nul = std::memchr(p, 0, n)) {
        locate(p, size_t(static_cast<const unsigned char*>(nul) - p), pr);
        pr.binary = true;
        pr.what = "NUL byte";
        return pr;
    }
    for (size_t i = 0; i < n;) {
        const Step s = decode_one(p + i, n - i);
        if (s.len != 0) { i += s.len; continue; }
        locate(p, i, pr);
        pr.what = fmt::format("{} (byte 0x{:02X})", s.what, unsigned(p[i]));
        pr.binary = looks_binary_prefix(p, n);
        return pr;
    }
    return std::nullopt;
}

namespace {

// "UTF-32LE" or "UTF-32BE" when `bytes` look like UTF-32 text without a byte-order mark (the high bytes of every four
// NUL, the lowest not), else nullptr.
const char* utf32_without_bom(std::string_view bytes) {
    const size_t n = std::min<size_t>(bytes.size(), 4096) & ~size_t(3);
    if (n < 8) return nullptr;
    size_t zero[4] = {0, 0, 0, 0};
    for (size_t i = 0; i < n; ++i) zero[i % 4] += bytes[i] == '\0' ? 1 : 0;
    const size_t quads = n / 4;
    const auto mostly = [&](size_t z) { return z * 10 >= quads * 9; };
    const auto rarely = [&](size_t z) { return z * 10 <= quads; };
    // Bytes 2 and 3 of a little-endian code point are 0 below U+10000 (byte 1 too for Latin text only: QA's
    // Vietnamese was "binary"); byte 0 is 0 only for NUL itself.
    if (rarely(zero[0]) && mostly(zero[2]) && mostly(zero[3])) return "UTF-32LE";
    if (mostly(zero[0]) && mostly(zero[1]) && rarely(zero[3])) return "UTF-32BE";
    return nullptr;
}

// "LE" or "BE" when `bytes` look like UTF-16 text without a byte-order mark (NUL bytes at every other place, at the
// other places almost never), else nullptr.
const char* utf16_without_bom(std::string_view bytes) {
    const size_t n = std::min<size_t>(bytes.size(), 4096) & ~size_t(1);
    if (n < 4) return nullptr;
    size_t zero_even = 0, zero_odd = 0;
    for (size_t i = 0; i < n; i += 2) {
        zero_even += bytes[i] == '\0' ? 1 : 0;
        zero_odd += bytes[i + 1] == '\0' ? 1 : 0;
    }
    // Text that is not mostly Latin has fewer NUL high bytes (Vietnamese: its letters U+1Exx): a quarter of the
    // pairs is enough where the other half of the bytes is almost never NUL, as in no binary format.
    const size_t pairs = n / 2;
    if (zero_odd * 4 >= pairs && zero_even * 50 <= zero_odd) return "LE";
    if (zero_even * 4 >= pairs && zero_odd * 50 <= zero_even) return "BE";
    return nullptr;
}

}  // namespace

void check_utf8_text(std::string_view bytes, std::string_view source) {
    const auto pr = find_utf8_problem(bytes);
    if (!pr) return;
    const size_t mark = pr->encoding == "UTF-32" ? 4 : 2;
    FR_CHECK(pr->encoding.empty() || bytes.size() > mark, "{} has no text (only a {} byte-order mark)", source,
             pr->encoding);
    if (!pr->encoding.empty())  // text after all: a prompt or a file saved by Windows Notepad, say, as "Unicode"
        FR_FAIL("{} is {} text (it starts with a byte-order mark), not UTF-8: convert it to UTF-8 (e.g. `iconv -f "
                "{} -t UTF-8`)", source, pr->encoding, pr->encoding);
    if (const char* encoding = pr->binary ? utf32_without_bom(bytes) : nullptr)
        FR_FAIL("{} looks like {} text without a byte-order mark (NUL bytes in a pattern of four), not UTF-8: "
                "convert it to UTF-8 (e.g. `iconv -f {} -t UTF-8`)", source, encoding, encoding);
    if (const char* order = pr->binary ? utf16_without_bom(bytes) : nullptr)
        FR_FAIL("{} looks like UTF-16 text without a byte-order mark (NUL bytes at every other place), not UTF-8: "
                "convert it to UTF-8 (e.g. `iconv -f UTF-16{} -t UTF-8`)", source, order);
    if (pr->binary)
        FR_FAIL("{} looks like a binary file, not UTF-8 text ({} at byte offset {})", source, pr->what, pr->offset);
    // Text of one line (a prompt; the interactive session names its stdin line itself): the column alone.
    const bool one_line = bytes.find('\n') == std::string_view::npos;
    FR_FAIL("{} is not valid UTF-8: {} at byte offset {} ({}column {})", source, pr->what, pr->offset,
            one_line ? std::string() : fmt::format("line {}, ", pr->line), pr->column);
}

std::u32string decode_utf8(std::string_view bytes, std::string_view source) {
    std::u32string out;
    out.reserve(bytes.size());
    const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
    const size_t n = bytes.size();
    for (size_t i = 0; i < n;) {
        const Step s = (p[i] == 0) ? Step{} : decode_one(p + i, n - i);
        if (s.len == 0) {
            check_utf8_text(bytes, source);  // slow path only on failure: the best description
            FR_FAIL("{}: internal error: UTF-8 decode failed at byte offset {}", source, i);
        }
        out.push_back(s.cp);
        i += s.len;
    }
    return out;
}

void append_utf8(std::string& out, char32_t cp) {
    FR_CHECK(cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF),
             "encode_utf8: U+{:04X} is not a Unicode scalar value", uint32_t(cp));
    if (cp < 0x80) {
        out.push_back(char(cp));
    } else if (cp < 0x800) {
        out.push_back(char(0xC0 | (cp >> 6)));
        out.push_back(char(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        out.push_back(char(0xE0 | (cp >> 12)));
        out.push_back(char(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(char(0x80 | (cp & 0x3F)));
    } else {
        out.push_back(char(0xF0 | (cp >> 18)));
        out.push_back(char(0x80 | ((cp >> 12) & 0x3F)));
        out.push_back(char(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(char(0x80 | (cp & 0x3F)));
    }
}

std::string encode_utf8(char32_t cp) {
    std::string s;
    append_utf8(s, cp);
    return s;
}

std::string encode_utf8(std::u32string_view cps) {
    std::string s;
    s.reserve(cps.size());
    for (char32_t c : cps) append_utf8(s, c);
    return s;
}

size_t utf8_length(std::string_view valid_utf8) {
    size_t n = 0;
    for (unsigned char b : valid_utf8) n += !is_cont(b);
    return n;
}

bool is_combining_mark(char32_t c) {
    return (c >= 0x0300 && c <= 0x036F) || (c >= 0x1AB0 && c <= 0x1AFF) || (c >= 0x1DC0 && c <= 0x1DFF) ||
           (c >= 0x20D0 && c <= 0x20FF) || (c >= 0xFE20 && c <= 0xFE2F);
}

bool has_combining_mark(std::string_view valid_utf8) {
    // Every block above is encoded with a lead byte of 0xCC-0xCD (U+0300-036F), 0xE1 or 0xE2 (U+1AB0-20FF), or
    // 0xEF (U+FE20-FE2F): text without those bytes (most ASCII and Latin-1 text) needs no decoding.
    if (valid_utf8.find_first_of("\xCC\xCD\xE1\xE2\xEF") == std::string_view::npos) return false;
    for (char32_t c : decode_utf8(valid_utf8))
        if (is_combining_mark(c)) return true;
    return false;
}

}  // namespace fusedrnn::text
