// fusedrnn — reading a UTF-8 text corpus or prompt file, with errors a user can act on:
// missing / unreadable / a directory, empty (or only white space), binary (NUL bytes, UTF-16,
// mostly invalid bytes), or invalid UTF-8 (with byte offset, line and column).
#pragma once

#include <string>

namespace fusedrnn::text {

struct TextFileOptions {
    // Drop a leading UTF-8 byte-order mark (War and Peace has one): it is an encoding marker, not text,
    // and would otherwise become a vocabulary entry and a first token.
    bool strip_bom = true;
    // CRLF → LF (and lone CR kept): Windows line ends would otherwise double every newline token for a
    // character model and make generated text depend on the platform the corpus came from.
    bool normalize_newlines = true;
};

// CRLF → LF, a lone CR kept: what load_text_file does to a text (normalize_newlines), for text that comes another way
// (generate's --prompt, pasted from a Windows file).
std::string crlf_to_lf(const std::string& s);

// The file's text, validated as UTF-8. Throws fusedrnn::Error naming `path` on any problem above.
std::string load_text_file(const std::string& path, const TextFileOptions& options = {});

}  // namespace fusedrnn::text
