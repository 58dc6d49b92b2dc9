// fusedrnn — simple (one code point to one code point) lower-casing for the word tokeniser.
// ASCII-only lower-casing would leave "Đ", "Ư", "Ơ" and every capital Vietnamese letter with a tone
// mark (U+1EA0..U+1EF9) untouched, so this covers the Latin blocks (Latin-1, Extended-A, the Latin
// letters of Extended-B that Vietnamese and Romanian use, Extended Additional), Greek and Cyrillic.
// Scripts without case, and combining marks, pass through unchanged, so decomposed (NFD) text
// lower-cases its base letters and keeps its marks. It is not full Unicode case folding (no ß → ss):
// one-to-one mapping keeps token boundaries and lengths stable, which is all a vocabulary needs.
#pragma once

#include <string>
#include <string_view>

namespace fusedrnn::text {

char32_t to_lower(char32_t cp);

// Lower-case valid UTF-8 (callers validate first; invalid bytes are an error).
std::string to_lower_utf8(std::string_view utf8);

}  // namespace fusedrnn::text
