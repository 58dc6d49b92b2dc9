// fusedrnn (internal, not installed) — fields of the JSON documents fusedrnn reads back (a checkpoint's model, dataset
// and data descriptions), checked as they are read. nlohmann's get<int>() truncates 12.7 to 12 and wraps 2^32 + 12 to
// 12, and get<std::vector<std::string>>() names no entry when one is of another type: a hand-edited or damaged value
// must be refused naming the field and the value as written, not read as another one.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace fusedrnn::detail {

// Whether `v` is an integer (a JSON number without fraction or exponent) in [lo, hi].
bool whole_in_range(const nlohmann::json& v, int64_t lo, int64_t hi);

// obj[key] as a whole number in [lo, hi]; Error "<field> is <value as written>, not a whole number in [lo, hi]", or
// "<field> is missing". `field` is the key's path as a person finds it in the file ("dataset.window.input_len").
int64_t json_whole(const nlohmann::json& obj, const char* key, std::string_view field, int64_t lo, int64_t hi);

// obj[key] as a list of whole numbers in [lo, hi]; Errors as json_whole's, the entry named "<field>[i]".
std::vector<int64_t> json_wholes(const nlohmann::json& obj, const char* key, std::string_view field, int64_t lo,
                                 int64_t hi);

// obj[key] as a list of strings; Error "<field> is missing", "<field> is <value>, not a list of strings" or
// "<field>[i] is <value>, not a string".
std::vector<std::string> json_strings(const nlohmann::json& obj, const char* key, std::string_view field);

}  // namespace fusedrnn::detail
