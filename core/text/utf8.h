// fusedrnn — UTF-8 decoding and encoding for the text pipeline (tokenisers, prompts, corpora).
// Decoding is strict (RFC 3629): overlong forms, UTF-16 surrogates, code points above U+10FFFF,
// stray continuation bytes and truncated sequences are errors that name the byte offset, line and
// column, so a user can find the bad byte in an editor. Text that is not text at all (a NUL byte,
// or many invalid sequences) gets a "looks like a binary file" error instead, which is what a user
// who passed the wrong file needs to hear. No Unicode normalisation is done anywhere: code points
// go in and come out unchanged, so decode∘encode is the identity on bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace fusedrnn::text {

// Where the first problem in a byte string is, and what it is.
struct Utf8Problem {
    size_t offset = 0;   // byte offset of the start of the bad sequence (or of the NUL byte)
    size_t line = 1;     // 1-based line of that byte
    size_t column = 1;   // 1-based column, counted in code points
    bool binary = false; // true: the data looks binary (NUL byte, UTF-16 or -32, many invalid bytes)
    // "UTF-16" or "UTF-32" where it starts with that encoding's byte-order mark (text, in another encoding), else "".
    std::string encoding;
    std::string what;    // e.g. "unexpected continuation byte 0x80"
};

// The first problem in `bytes`, or nullopt when it is clean UTF-8 text without NUL bytes.
// Binary detection: a NUL byte anywhere, a UTF-16 byte-order mark, or (when the data is not valid
// UTF-8) at least 8 and more than 10% invalid or control bytes (other than tab, newline, CR, form
// feed, escape) in the first 64 KiB.
std::optional<Utf8Problem> find_utf8_problem(std::string_view bytes);

// Throw fusedrnn::Error when find_utf8_problem() finds one, naming `source` (a file name or "prompt")
// and the problem's offset / line / column; binary data gets a "looks like a binary file" message.
void check_utf8_text(std::string_view bytes, std::string_view source = "text");

// Strictly decode `bytes` into code points; throws as check_utf8_text() does.
std::u32string decode_utf8(std::string_view bytes, std::string_view source = "text");

// Append the UTF-8 encoding of one code point. Throws for surrogates and values above U+10FFFF.
void append_utf8(std::string& out, char32_t cp);
std::string encode_utf8(char32_t cp);
std::string encode_utf8(std::u32string_view cps);

// A combining mark (the diacritic blocks U+0300-036F, 1AB0-1AFF, 1DC0-1DFF, 20D0-20FF, FE20-FE2F): in a word, the
// sign of decomposed (NFD) text, which a vocabulary read from precomposed (NFC) text does not hold.
bool is_combining_mark(char32_t cp);
// Whether valid UTF-8 holds one.
bool has_combining_mark(std::string_view valid_utf8);

// Number of code points in valid UTF-8 (counts lead bytes; does not validate).
size_t utf8_length(std::string_view valid_utf8);

}  // namespace fusedrnn::text
