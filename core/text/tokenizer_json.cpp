// Tokenizer <-> JSON string, for checkpoint metadata (safetensors "__metadata__" values are strings).
// Format (version 1):
//   {"format": "fusedrnn.tokenizer", "version": 1, "kind": "word" | "char",
//    "lowercase": bool, "min_count": int, "max_size": int, "unk": "<unk>",
//    "tokens": ["<unk>", ...]}            // tokens in id order
// Version 2 (a word tokenizer splitting by rules 2, core/text/word_split.h) adds "word_rules": 2. Version 1 is
// still written where it says all (characters, rules 1), so builds that read only it keep reading those; a version
// 2 vocabulary is refused by them rather than split by rules it was not made with.
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
constexpr int kLatestVersion = 2;

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
    const bool rules_2 = options_.kind == TokenizerKind::Word && options_.word_rules == 2;
    j["version"] = rules_2 ? 2 : 1;
    if (rules_2) j["word_rules"] = 2;
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
    FR_CHECK(version >= 1 && version <= kLatestVersion,
             "tokenizer JSON: version {} is not supported (this build reads 1 to {})", version, kLatestVersion);

    TokenizerOptions opt;
    opt.kind = parse_tokenizer_kind(field(j, "kind", V::string, "a string").get_ref<const std::string&>());
    opt.lowercase = field(j, "lowercase", V::boolean, "true or false").get<bool>();
    opt.min_count = field(j, "min_count", V::number_integer, "an integer").get<int64_t>();
    opt.max_size = field(j, "max_size", V::number_integer, "an integer").get<int64_t>();
    opt.word_rules = 1;
    FR_CHECK(version >= 2 || !j.contains("word_rules"),
             "tokenizer JSON: version 1 has no word_rules (rules 1); a vocabulary of word_rules 2 is version 2");
    if (version >= 2) {
        const int64_t rules = field(j, "word_rules", V::number_integer, "an integer").get<int64_t>();
        FR_CHECK(rules == 2 && opt.kind == TokenizerKind::Word,
                 "tokenizer JSON: word_rules {} with kind \"{}\" (version 2 has word_rules 2, for words)", rules,
                 to_string(opt.kind));
        opt.word_rules = 2;
    }
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
