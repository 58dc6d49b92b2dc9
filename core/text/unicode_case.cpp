#include "fusedrnn/core/text/unicode_case.h"

#include "fusedrnn/core/text/utf8.h"

namespace fusedrnn::text {

namespace {

// In blocks where capitals and small letters alternate (capital at one parity), map the capital.
char32_t alternating(char32_t cp, bool capital_is_even) {
    return ((cp % 2 == 0) == capital_is_even) ? cp + 1 : cp;
}

}  // namespace

char32_t to_lower(char32_t cp) {
    if (cp < 0x80) return (cp >= 'A' && cp <= 'Z') ? cp + 32 : cp;
    // Latin-1 Supplement: À..Þ except the multiplication sign.
    if (cp >= 0xC0 && cp <= 0xDE) return cp == 0xD7 ? cp : cp + 32;
    // Latin Extended-A (Đ U+0110, Œ U+0152, ...).
    if (cp >= 0x100 && cp <= 0x17F) {
        if (cp == 0x130) return 'i';  // İ
        if (cp == 0x178) return 0xFF;  // Ÿ
        if (cp == 0x131 || cp == 0x138 || cp == 0x149 || cp == 0x17F) return cp;
        if (cp >= 0x139 && cp <= 0x148) return alternating(cp, false);
        if (cp >= 0x179 && cp <= 0x17E) return alternating(cp, false);
        return alternating(cp, true);
    }
    // Latin Extended-B: only the letters Vietnamese (Ơ, Ư) and Romanian (Ș, Ț) need.
    if (cp == 0x1A0 || cp == 0x1AF) return cp + 1;
    if (cp >= 0x218 && cp <= 0x21B) return alternating(cp, true);
    // Latin Extended Additional: Vietnamese letters with tone marks (Ạ..Ỹ) and the rest.
    if ((cp >= 0x1E00 && cp <= 0x1E95) || (cp >= 0x1EA0 && cp <= 0x1EFF)) return alternating(cp, true);
    if (cp == 0x1E9E) return 0xDF;  // ẞ
    // Greek.
    if (cp >= 0x391 && cp <= 0x3AB && cp != 0x3A2) return cp + 32;
    if (cp == 0x386) return 0x3AC;
    if (cp >= 0x388 && cp <= 0x38A) return cp + 37;
    if (cp == 0x38C) return 0x3CC;
    if (cp == 0x38E || cp == 0x38F) return cp + 63;
    // Cyrillic.
    if (cp >= 0x410 && cp <= 0x42F) return cp + 32;
    if (cp >= 0x400 && cp <= 0x40F) return cp + 80;
    if ((cp >= 0x460 && cp <= 0x481) || (cp >= 0x48A && cp <= 0x4BF)) return alternating(cp, true);
    return cp;
}

std::string to_lower_utf8(std::string_view utf8) {
    std::string out;
    out.reserve(utf8.size());
    for (char32_t cp : decode_utf8(utf8)) append_utf8(out, to_lower(cp));
    return out;
}

}  // namespace fusedrnn::text
