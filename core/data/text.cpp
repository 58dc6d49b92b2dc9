#include "fusedrnn/core/data/text.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <memory>
#include <system_error>

#include <fmt/format.h>

namespace fusedrnn::data {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

bool parse_number(std::string_view s, double& out) {
    s = trim(s);
    // from_chars rejects a leading '+', which NOAA's station list uses ("+70.933").
    if (!s.empty() && s.front() == '+') s.remove_prefix(1);
    if (s.empty()) return false;
    const auto res = std::from_chars(s.data(), s.data() + s.size(), out);
    return res.ec == std::errc() && res.ptr == s.data() + s.size();
}

bool parse_int(std::string_view s, long long& out) {
    s = trim(s);
    if (!s.empty() && s.front() == '+') s.remove_prefix(1);
    if (s.empty()) return false;
    const auto res = std::from_chars(s.data(), s.data() + s.size(), out);
    return res.ec == std::errc() && res.ptr == s.data() + s.size();
}

bool split_csv(std::string_view line, char delimiter, std::vector<std::string>& fields, std::string& why) {
    size_t n = 0;
    size_t pos = 0;
    auto next_field = [&]() -> std::string& {
        if (n == fields.size()) fields.emplace_back();
        std::string& f = fields[n++];
        f.clear();
        return f;
    };
    for (;;) {
        std::string& field = next_field();
        // Skip spaces before an opening quote (`a, "b"` is common in hand-written files).
        size_t p = pos;
        while (p < line.size() && line[p] == ' ') ++p;
        if (p < line.size() && line[p] == '"') {
            pos = p + 1;
            for (;;) {
                if (pos >= line.size()) {
                    why = kUnterminatedQuote;
                    fields.resize(n);
                    return false;
                }
                if (line[pos] == '"') {
                    if (pos + 1 < line.size() && line[pos + 1] == '"') {
                        field.push_back('"');
                        pos += 2;
                        continue;
                    }
                    ++pos;
                    break;
                }
                field.push_back(line[pos++]);
            }
            while (pos < line.size() && line[pos] == ' ') ++pos;
            if (pos < line.size() && line[pos] != delimiter) {
                why = "text after a closing quote";
                fields.resize(n);
                return false;
            }
        } else {
            const size_t end = line.find(delimiter, pos);
            const size_t stop = end == std::string_view::npos ? line.size() : end;
            field.assign(line.data() + pos, stop - pos);
            pos = stop;
        }
        if (pos >= line.size()) break;
        ++pos;  // the delimiter
    }
    fields.resize(n);
    return true;
}

std::string csv_field(std::string_view s, char delimiter) {
    if (s.find(delimiter) == std::string_view::npos && s.find('"') == std::string_view::npos) return std::string(s);
    std::string q = "\"";
    for (char c : s) {
        if (c == '"') q += '"';
        q += c;
    }
    return q + '"';
}

bool parse_compass(std::string_view s, double& degrees) {
    static const char* kPoints[16] = {"N", "NNE", "NE", "ENE", "E", "ESE", "SE", "SSE",
                                      "S", "SSW", "SW", "WSW", "W", "WNW", "NW", "NNW"};
    s = trim(s);
    if (s.empty() || s.size() > 3) return false;
    char up[4] = {0, 0, 0, 0};
    for (size_t i = 0; i < s.size(); ++i) up[i] = char(std::toupper(static_cast<unsigned char>(s[i])));
    for (int i = 0; i < 16; ++i) {
        if (std::string_view(kPoints[i]) == std::string_view(up, s.size())) {
            degrees = i == 0 ? 360.0 : 22.5 * i;  // north as ISD writes it: 0 means calm there
            return true;
        }
    }
    return false;
}

namespace {

// Length of the well-formed UTF-8 sequence of two or more bytes at s[i] (RFC 3629: no overlong forms, no
// surrogates, nothing above U+10FFFF), or 0.
size_t utf8_sequence(std::string_view s, size_t i) {
    auto byte = [&](size_t k) { return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0u; };
    auto cont = [&](size_t k, unsigned lo = 0x80, unsigned hi = 0xBF) { return byte(k) >= lo && byte(k) <= hi; };
    const unsigned c = byte(0);
    if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
    if (c == 0xE0) return cont(1, 0xA0) && cont(2) ? 3 : 0;
    if (c == 0xED) return cont(1, 0x80, 0x9F) && cont(2) ? 3 : 0;
    if (c >= 0xE1 && c <= 0xEF) return cont(1) && cont(2) ? 3 : 0;
    if (c == 0xF0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
    if (c >= 0xF1 && c <= 0xF3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
    if (c == 0xF4) return cont(1, 0x80, 0x8F) && cont(2) && cont(3) ? 4 : 0;
    return 0;
}

}  // namespace

std::string shortest_text(double v) {
    const float f = static_cast<float>(v);
    return double(f) == v ? fmt::format("{}", f) : fmt::format("{}", v);
}

std::string figure(double v, int decimals) {
    if (std::isfinite(v) && std::fabs(v) >= 1e6) return fmt::format("{:.4g}", v);
    return fmt::format("{:.{}f}", v, decimals);
}

bool is_utf8(std::string_view s) {
    for (size_t i = 0; i < s.size();) {
        if (static_cast<unsigned char>(s[i]) < 0x80) {
            ++i;
        } else if (const size_t n = utf8_sequence(s, i)) {
            i += n;
        } else {
            return false;
        }
    }
    return true;
}

namespace {
// The code point of the valid UTF-8 sequence of n bytes at s[i].
uint32_t code_point(std::string_view s, size_t i, size_t n) {
    const auto b = [&](size_t k) { return uint32_t(static_cast<unsigned char>(s[i + k])); };
    if (n == 2) return (b(0) & 0x1F) << 6 | (b(1) & 0x3F);
    if (n == 3) return (b(0) & 0x0F) << 12 | (b(1) & 0x3F) << 6 | (b(2) & 0x3F);
    return (b(0) & 0x07) << 18 | (b(1) & 0x3F) << 12 | (b(2) & 0x3F) << 6 | (b(3) & 0x3F);
}

// Characters that print as nothing or as a plain space, which a message must show (QA: a byte-order mark in the
// middle of a file gave `"2014-03-04 11:00:00" does not match ... at character 1`, and a header of "DATE" with one
// before it, 'column "DATE" not found; available columns: DATE, ...'): C1 controls, the soft hyphen, the spaces of
// other widths (en, figure, thin, ideographic, no-break), zero-width and direction marks, line and paragraph
// separators, word joiners, variation selectors and the byte-order mark.
bool invisible(uint32_t cp) {
    return (cp >= 0x80 && cp <= 0xA0) || cp == 0xAD || cp == 0x180E || (cp >= 0x2000 && cp <= 0x200F) ||
           (cp >= 0x2028 && cp <= 0x202F) || (cp >= 0x205F && cp <= 0x2064) || cp == 0x3000 ||
           (cp >= 0xFE00 && cp <= 0xFE0F) || cp == 0xFEFF;
}
}  // namespace

std::string printable(std::string_view s, size_t max_bytes) {
    std::string out;
    size_t i = 0;
    while (i < s.size() && i < max_bytes) {
        const unsigned char c = static_cast<unsigned char>(s[i]);
        if (c >= 0x20 && c < 0x7F) {
            out += char(c);
            ++i;
        } else if (const size_t n = c >= 0x80 ? utf8_sequence(s, i) : 0) {
            if (const uint32_t cp = code_point(s, i, n); invisible(cp))
                out += fmt::format("\\u{:04X}", cp);
            else
                out.append(s.data() + i, n);
            i += n;
        } else {
            out += fmt::format("\\x{:02x}", c);
            ++i;
        }
    }
    if (i < s.size()) out += fmt::format("... ({} bytes)", s.size());
    return out;
}

std::string join_names(const std::vector<std::string>& names, size_t max_names) {
    // Bounded in bytes as well as in names: a mangled header can be one megabyte-long "column".
    constexpr size_t kMaxBytes = 1500;
    std::string out;
    size_t i = 0;
    for (; i < names.size() && i < max_names && out.size() < kMaxBytes; ++i) {
        if (i) out += ", ";
        // A name holding a comma ("DEW, C") in quotes, or the list would read as two names there.
        const bool comma = names[i].find(',') != std::string::npos;
        out += comma ? "\"" + printable(names[i], 256) + "\"" : printable(names[i], 256);
    }
    if (i < names.size()) out += ", ... (" + std::to_string(names.size()) + " in all)";
    return out;
}

std::string csv_list(const std::vector<std::string>& names) {
    std::string out;
    for (size_t i = 0; i < names.size(); ++i) out += (i ? "," : "") + csv_field(names[i]);
    return out;
}

std::string shown_csv_list(const std::vector<std::string>& names) {
    std::vector<std::string> shown;
    shown.reserve(names.size());
    for (const auto& n : names) shown.push_back(printable(n, 256));
    return csv_list(shown);
}

std::string counted(size_t n, std::string_view one, std::string_view many) {
    return fmt::format("{} {}", n, n == 1 ? one : many);
}

}  // namespace fusedrnn::data
