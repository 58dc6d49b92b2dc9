#include "fusedrnn/core/detail/json_fields.h"

#include <fmt/format.h>

#include "fusedrnn/core/data/text.h"
#include "fusedrnn/core/error.h"

namespace fusedrnn::detail {

bool whole_in_range(const nlohmann::json& v, int64_t lo, int64_t hi) {
    // nlohmann parses non-negative integers as unsigned and negative ones as signed; 12.7 and 1e3 as floats.
    if (v.is_number_unsigned()) {
        const uint64_t u = v.get<uint64_t>();
        return hi >= 0 && u <= uint64_t(hi) && (lo <= 0 || u >= uint64_t(lo));
    }
    return v.is_number_integer() && v.get<int64_t>() >= lo && v.get<int64_t>() <= hi;
}

namespace {

// A value as written, for a message: a hand-edited string may be long or hold any bytes.
std::string shown(const nlohmann::json& v) { return data::printable(v.dump(), 80); }

const nlohmann::json& field_of(const nlohmann::json& obj, const char* key, std::string_view field) {
    FR_CHECK(obj.is_object() && obj.contains(key), "{} is missing", field);
    return obj.at(key);
}

// `v` (named `field`) as a whole number in [lo, hi].
int64_t whole(const nlohmann::json& v, std::string_view field, int64_t lo, int64_t hi) {
    FR_CHECK(whole_in_range(v, lo, hi), "{} is {}, not a whole number in [{}, {}]", field, shown(v), lo, hi);
    return v.is_number_unsigned() ? int64_t(v.get<uint64_t>()) : v.get<int64_t>();
}

// obj[key] as a list, each entry through `read` with its name ("<field>[i]").
template <class T, class Read>
std::vector<T> list(const nlohmann::json& obj, const char* key, std::string_view field, const char* of, Read read) {
    const nlohmann::json& v = field_of(obj, key, field);
    FR_CHECK(v.is_array(), "{} is {}, not a list of {}", field, shown(v), of);
    std::vector<T> out;
    for (size_t i = 0; i < v.size(); ++i) out.push_back(read(v[i], fmt::format("{}[{}]", field, i)));
    return out;
}

}  // namespace

int64_t json_whole(const nlohmann::json& obj, const char* key, std::string_view field, int64_t lo, int64_t hi) {
    return whole(field_of(obj, key, field), field, lo, hi);
}

std::vector<int64_t> json_wholes(const nlohmann::json& obj, const char* key, std::string_view field, int64_t lo,
                                 int64_t hi) {
    return list<int64_t>(obj, key, field, "whole numbers",
                         [&](const nlohmann::json& v, const std::string& name) { return whole(v, name, lo, hi); });
}

std::vector<std::string> json_strings(const nlohmann::json& obj, const char* key, std::string_view field) {
    return list<std::string>(obj, key, field, "strings", [](const nlohmann::json& v, const std::string& name) {
        FR_CHECK(v.is_string(), "{} is {}, not a string", name, shown(v));
        return v.get<std::string>();
    });
}

}  // namespace fusedrnn::detail
