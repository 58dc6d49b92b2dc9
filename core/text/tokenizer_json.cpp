// Tokenizer <-> JSON string, for checkpoint metadata (safetensors "__metadata__" values are strings).
// Format (version 1):
//   {"format": "fusedrnn.tokenizer", "version": 1, "kind": "word" | "char",
//    "lowercase": bool, "min_count": int, "max_size": int, "unk": "<unk>",
//    "tokens": ["<unk>", ...]}            // tokens in id order
// Every field is required and type-checked on load: a checkpoint whose vocabulary is silently
// misread would generate garbage with no error, which is worse than refusing to load it.
#include <algorithm>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "fusedrnn/core/error.h"
#include "fusedrnn/core/text/tokenizer.h"

namespace fusedrnn::text {

namespace {

constexpr const char* kFormat = "fusedrnn.tokenizer";
constexpr int kVersion = 1;

const nlohmann::json& field(const nlohmann::json& j, const char* name, nlohmann::json::value_t type,
                            const char* type_name) {
    const auto it = j.find(name);
    FR_CHECK(it != j.end(), "tokenizer JSON: missing field \"{}\"", name);
    const bool ok = it->type() == type ||
                    // nlohmann stores non-negative integers as unsigned; both are fine for an integer.
                    (type == nlohmann::json::value_t::number_integer && it->is_number_integer());
    FR_CHECK(ok, "tokenizer JSON: field \"{}\" must be {}, got {}", name, type_name, it->type_name());
    return *it;
}

}  // namespace

std::string Tokenizer::to_json() const {
    nlohmann::json j;
    j["format"] = kFormat;
    j["version"] = kVersion;
    j["kind"] = to_string(options_.kind);
    j["lowercase"] = options_.lowercase;
    j["min_count"] = options_.min_count;
    j["max_size"] = options_.max_size;
    j["unk"] = Vocabulary::kUnk;
    j["tokens"] = vocab_.tokens();
    return j.dump();  // UTF-8 kept as is (not \u-escaped): valid JSON, and readable in the metadata
}

Tokenizer Tokenizer::from_json(std::string_view json) {
    using V = nlohmann::json::value_t;
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(json.begin(), json.end());
    } catch (const nlohmann::json::exception& e) {
        FR_FAIL("tokenizer JSON does not parse: {}", e.what());
    }
    FR_CHECK(j.is_object(), "tokenizer JSON: expected an object, got {}", j.type_name());
    const auto& format = field(j, "format", V::string, "a string").get_ref<const std::string&>();
    FR_CHECK(format == kFormat, "tokenizer JSON: format is \"{}\", expected \"{}\"", format, kFormat);
    const int64_t version = field(j, "version", V::number_integer, "an integer").get<int64_t>();
    FR_CHECK(version == kVersion, "tokenizer JSON: version {} is not supported (this build reads {})",
             version, kVersion);

    TokenizerOptions opt;
    opt.kind = parse_tokenizer_kind(field(j, "kind", V::string, "a string").get_ref<const std::string&>());
    opt.lowercase = field(j, "lowercase", V::boolean, "true or false").get<bool>();
    opt.min_count = field(j, "min_count", V::number_integer, "an integer").get<int64_t>();
    opt.max_size = field(j, "max_size", V::number_integer, "an integer").get<int64_t>();
    const auto& unk = field(j, "unk", V::string, "a string").get_ref<const std::string&>();
    FR_CHECK(unk == Vocabulary::kUnk, "tokenizer JSON: unk is \"{}\", expected \"{}\"", unk, Vocabulary::kUnk);

    const auto& jt = field(j, "tokens", V::array, "an array of strings");
    std::vector<std::string> tokens;
    tokens.reserve(jt.size());
    for (size_t i = 0; i < jt.size(); ++i) {
        FR_CHECK(jt[i].is_string(), "tokenizer JSON: tokens[{}] must be a string, got {}", i, jt[i].type_name());
        tokens.push_back(jt[i].get<std::string>());
    }
    FR_CHECK(tokens.size() >= 2, "tokenizer JSON: the vocabulary has {} token(s); it needs <unk> and at least one more",
             tokens.size());
    // Vocabulary and Tokenizer check duplicates, <unk> at id 0 and that tokens suit the kind.
    return Tokenizer(opt, Vocabulary(std::move(tokens)));
}

}  // namespace fusedrnn::text
