#include "fusedrnn/core/detail/json_error.h"

#include <algorithm>
#include <regex>

#include <fmt/format.h>

#include "fusedrnn/core/data/text.h"

namespace fusedrnn::detail {

namespace {

// Bytes of context shown before and after the place the parser stopped.
constexpr size_t kBefore = 32, kAfter = 8;

// nlohmann's reason without its prefix ("[json.exception.parse_error.101] parse error at line 1, column 188: ") and its
// "; last read: '...'" tail: what is left ("syntax error while parsing value - invalid string: ill-formed UTF-8
// byte") is short and its own words. Should a version of the library word it otherwise, the message is kept, bounded.
std::string parse_reason(const std::string& what) {
    std::string reason = what;
    if (const size_t tail = reason.find("; last read:"); tail != std::string::npos) reason.resize(tail);
    if (const size_t column = reason.find(", column "); column != std::string::npos)
        if (const size_t colon = reason.find(": ", column); colon != std::string::npos) reason.erase(0, colon + 2);
    return data::printable(reason, 160);
}

}  // namespace

std::string json_parse_problem(const nlohmann::json::exception& e, std::string_view text, uint64_t first_byte) {
    const auto* parse = dynamic_cast<const nlohmann::json::parse_error*>(&e);
    if (parse == nullptr) return data::printable(e.what(), 200);
    // nlohmann counts from 1, and puts an error at the end of the input one past its last byte.
    const size_t at = std::min(parse->byte == 0 ? size_t(0) : size_t(parse->byte - 1), text.size());
    return fmt::format("at byte {} ({}; near '{}')", first_byte + at, parse_reason(e.what()), excerpt_around(text, at));
}

std::string json_access_problem(const nlohmann::json::exception& e) {
    static const std::regex prefix(R"(^\[json\.exception\.[a-z_]+\.\d+\] )");
    static const std::regex missing(R"(^key '(.*)' not found$)");
    static const std::regex type(R"(^type must be (\w+), but is (\w+)$)");
    static const std::regex use(R"(^cannot use [^ ]+ with (\w+)$)");  // at(), operator[] on a string or null
    const std::string reason = std::regex_replace(std::string(e.what()), prefix, "", std::regex_constants::format_first_only);
    std::smatch m;
    if (std::regex_match(reason, m, missing)) return fmt::format("its field '{}' is missing", data::printable(m[1].str(), 80));
    const auto kind = [](const std::string& t) {  // nlohmann's type names: null, object, array, string, ...
        return t == "null" ? t : (t == "array" || t == "object" ? "an " : "a ") + t;
    };
    if (std::regex_match(reason, m, type))
        return fmt::format("a value is {} where {} belongs", kind(m[2].str()), kind(m[1].str()));
    if (std::regex_match(reason, m, use))
        return fmt::format("a value is {} where a block of fields belongs", kind(m[1].str()));
    return data::printable(reason, 200);
}

std::string excerpt_around(std::string_view text, size_t at) {
    at = std::min(at, text.size());
    const size_t from = at > kBefore ? at - kBefore : 0, to = std::min(text.size(), at + 1 + kAfter);
    return data::printable(text.substr(from, to - from), kBefore + 1 + kAfter);
}

}  // namespace fusedrnn::detail
