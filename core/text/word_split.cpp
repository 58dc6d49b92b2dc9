#include "fusedrnn/core/text/word_split.h"

#include "fusedrnn/core/error.h"
#include "fusedrnn/core/text/utf8.h"

namespace fusedrnn::text {

bool is_space(char32_t c) {
    return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200B) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
           c == 0x205F || c == 0x3000 || c == 0xFEFF;
}

bool is_punctuation(char32_t c, int rules) {
    if (c < 0x80) return (c >= 0x21 && c <= 0x2F) || (c >= 0x3A && c <= 0x40) ||
                         (c >= 0x5B && c <= 0x60) || (c >= 0x7B && c <= 0x7E);
    if (c >= 0xA1 && c <= 0xBF)  // Latin-1 punctuation; ª ² ³ µ ¹ º ¼ ½ ¾ are letters/numbers
        return !(c == 0xAA || c == 0xB2 || c == 0xB3 || c == 0xB5 || c == 0xB9 || c == 0xBA ||
                 (c >= 0xBC && c <= 0xBE));
    if (c == 0xD7 || c == 0xF7) return true;  // × ÷
    if (c >= 0x2010 && c <= 0x2027) return true;  // dashes, quotes, bullets, …
    if (c >= 0x2030 && c <= 0x205E) return true;  // ‰ ′ ‹ › ※ ...
    if (c >= 0x3001 && c <= 0x3003) return true;  // 、 。 〃
    if (c >= 0x3008 && c <= 0x3011) return true;  // CJK brackets
    if (c >= 0x3014 && c <= 0x301F) return true;
    if ((c >= 0xFF01 && c <= 0xFF0F) || (c >= 0xFF1A && c <= 0xFF20) || (c >= 0xFF3B && c <= 0xFF40) ||
        (c >= 0xFF5B && c <= 0xFF65))
        return true;  // full-width forms
    if (rules < 2) return false;
    // Rules 2: symbols that stand between words and numbers rather than inside them (QA: "5€" and "3€" were two
    // words, "x≤y" one, while "$5" split).
    if (c >= 0x20A0 && c <= 0x20CF) return true;  // currency signs: € ₫ ₹ ₩ ₺ ...
    if (c == 0x2103 || c == 0x2109 || c == 0x2116 || c == 0x2117 || c == 0x2120 || c == 0x2122)
        return true;  // ℃ ℉ № ℗ ℠ ™
    if (c >= 0x2190 && c <= 0x22FF) return true;  // arrows, mathematical operators
    if ((c >= 0x27C0 && c <= 0x27FF) || (c >= 0x2900 && c <= 0x2AFF)) return true;  // more of both
    return false;
}

namespace {

bool is_word_char(char32_t c, int rules) { return !is_space(c) && !is_punctuation(c, rules); }
bool is_digit(char32_t c) { return c >= '0' && c <= '9'; }

// May mark `c` stay inside the word it sits in, given its neighbours?
bool joins(char32_t prev, char32_t c, char32_t next, int rules) {
    if (c == '\'' || c == 0x2019 || c == '-' || c == 0x2010)
        return is_word_char(prev, rules) && is_word_char(next, rules);
    if (c == '.' || c == ',') return is_digit(prev) && is_digit(next);
    return false;
}

}  // namespace

std::vector<std::string> split_words(std::string_view text, std::string_view source, int rules) {
    FR_CHECK(rules == 1 || rules == 2, "split_words: rules {} is not 1 or 2", rules);
    const std::u32string cps = decode_utf8(text, source);
    std::vector<std::string> out;
    std::string word;
    auto flush = [&] {
        if (!word.empty()) out.push_back(std::move(word));
        word.clear();
    };
    for (size_t i = 0; i < cps.size(); ++i) {
        const char32_t c = cps[i];
        if (is_space(c)) {
            flush();
        } else if (is_punctuation(c, rules)) {
            const char32_t prev = i > 0 ? cps[i - 1] : U' ';
            const char32_t next = i + 1 < cps.size() ? cps[i + 1] : U' ';
            if (!word.empty() && joins(prev, c, next, rules)) {
                append_utf8(word, c);
            } else {
                flush();
                out.push_back(encode_utf8(c));
            }
        } else {
            append_utf8(word, c);
        }
    }
    flush();
    return out;
}

namespace {

enum class Attach { None, Left, Right, Both, Quote, Currency };

Attach attachment(const std::string& tok) {
    const std::u32string cps = decode_utf8(tok);
    if (cps.size() != 1) return Attach::None;
    switch (cps[0]) {
        case '.': case ',': case ';': case ':': case '!': case '?': case ')': case ']': case '}':
        case '%': case 0x2026 /* … */: case 0x201D /* ” */: case 0x2019 /* ’ */: case 0xBB /* » */:
        case 0x203A /* › */: case 0x3001: case 0x3002: case 0xFF0C: case 0xFF0E: case 0xFF01:
        case 0xFF1F: case 0xFF09:
            return Attach::Left;
        case '(': case '[': case '{': case 0x201C /* “ */: case 0x2018 /* ‘ */: case 0xAB /* « */:
        case 0x2039 /* ‹ */: case 0xBF /* ¿ */: case 0xA1 /* ¡ */: case 0xFF08:
        case '$': case '#': case 0xA3 /* £ */: case 0xA5 /* ¥ */:  // "$3.50", "#1"
            return Attach::Right;
        case '-': case 0x2010: case 0x2013: case 0x2014: case '/':
            return Attach::Both;
        case '"': case '\'':
            return Attach::Quote;
        default:  // the currency block (€ ₫ ₹ ...): after a number or before one (WordJoiner::append)
            return cps[0] >= 0x20A0 && cps[0] <= 0x20CF ? Attach::Currency : Attach::None;
    }
}

}  // namespace

std::string WordJoiner::append(const std::string& tok) {
    std::string out;
    Attach a = attachment(tok);
    if (a == Attach::Quote) {
        bool& open = quote_open_[tok == "'" ? 1 : 0];
        a = open ? Attach::Left : Attach::Right;
        open = !open;
    }
    // "5€" and "€5" are both written: a sign after a number stays on it (QA's recheck: "5 €and then").
    if (a == Attach::Currency) a = after_number_ ? Attach::Left : Attach::Right;
    after_number_ = !tok.empty() && tok.back() >= '0' && tok.back() <= '9';
    if (!glue_next_ && a != Attach::Left && a != Attach::Both) out.push_back(' ');
    out += tok;
    glue_next_ = (a == Attach::Right || a == Attach::Both);
    return out;
}

std::string join_words(const std::vector<std::string>& tokens) {
    std::string out;
    WordJoiner joiner;
    for (const std::string& tok : tokens) out += joiner.append(tok);
    return out;
}

}  // namespace fusedrnn::text
