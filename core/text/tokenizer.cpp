#include "fusedrnn/core/text/tokenizer.h"

#include <unordered_set>

#include "fusedrnn/core/error.h"
#include "fusedrnn/core/text/unicode_case.h"
#include "fusedrnn/core/text/utf8.h"
#include "fusedrnn/core/text/word_split.h"

namespace fusedrnn::text {

const char* to_string(TokenizerKind kind) { return kind == TokenizerKind::Char ? "char" : "word"; }

TokenizerKind parse_tokenizer_kind(std::string_view s) {
    if (s == "char") return TokenizerKind::Char;
    if (s == "word") return TokenizerKind::Word;
    FR_FAIL("unknown tokenizer kind \"{}\" (expected \"char\" or \"word\")", s);
}

Tokenizer Tokenizer::build(std::string_view corpus, const TokenizerOptions& options, std::string_view source) {
    const std::vector<std::string> tokens = Tokenizer(options, Vocabulary()).split(corpus, source);
    return build_from_tokens(tokens.data(), tokens.size(), options, source);
}

Tokenizer Tokenizer::build_from_tokens(const std::string* tokens, size_t count, const TokenizerOptions& options,
                                       std::string_view source) {
    static_cast<void>(Tokenizer(options, Vocabulary()));  // checks the options
    std::unordered_map<std::string, int64_t> counts;
    for (size_t i = 0; i < count; ++i) ++counts[tokens[i]];
    FR_CHECK(count > 0, "{}: no tokens to build a vocabulary from (the text is empty or only white space)",
             source);
    const VocabOrder order = options.kind == TokenizerKind::Char ? VocabOrder::ByCodePoint : VocabOrder::ByFrequency;
    return Tokenizer(options, Vocabulary::build(counts, order, options.min_count, options.max_size));
}

Tokenizer::Tokenizer(const TokenizerOptions& options, Vocabulary vocab)
    : options_(options), vocab_(std::move(vocab)) {
    FR_CHECK(options_.min_count >= 1, "tokenizer: min_count must be >= 1, got {}", options_.min_count);
    FR_CHECK(options_.max_size >= 0, "tokenizer: max_size must be >= 0, got {}", options_.max_size);
    FR_CHECK(options_.word_rules == 1 || options_.word_rules == 2, "tokenizer: word_rules must be 1 or 2, got {}",
             options_.word_rules);
    // Characters split no words: one value for them, so options compare equal whatever set it (the review: a char
    // vocabulary read back with rules 1 no longer matched the flags' 2, and a resume rebuilt it).
    if (options_.kind == TokenizerKind::Char) options_.word_rules = kWordSplitRules;
    // A vocabulary that could never be produced by this kind would silently mis-tokenise.
    for (int32_t id = 1; id < vocab_.size(); ++id) {
        const std::string& tok = vocab_.token(id);
        const std::u32string cps = decode_utf8(tok, fmt::format("vocabulary token {}", id));
        if (options_.kind == TokenizerKind::Char) {
            FR_CHECK(cps.size() == 1, "char tokenizer: vocabulary token {} (\"{}\") is not a single character",
                     id, tok);
        } else {
            for (char32_t c : cps)
                FR_CHECK(!is_space(c), "word tokenizer: vocabulary token {} (\"{}\") contains white space", id, tok);
        }
    }
}

std::vector<std::string> Tokenizer::surface_tokens(std::string_view text, std::string_view source) const {
    if (options_.kind == TokenizerKind::Word) return split_words(text, source, options_.word_rules);
    std::vector<std::string> out;
    const std::u32string cps = decode_utf8(text, source);
    out.reserve(cps.size());
    for (char32_t c : cps) out.push_back(encode_utf8(c));
    return out;
}

std::string Tokenizer::normalize(const std::string& surface) const {
    return options_.lowercase ? to_lower_utf8(surface) : surface;
}

std::vector<std::string> Tokenizer::split(std::string_view text, std::string_view source) const {
    std::vector<std::string> toks = surface_tokens(text, source);
    if (options_.lowercase)
        for (auto& t : toks) t = normalize(t);
    return toks;
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, std::string_view source) const {
    return encode_tokens(split(text, source));
}

std::vector<int32_t> Tokenizer::encode_tokens(const std::vector<std::string>& toks) const {
    std::vector<int32_t> ids;
    ids.reserve(toks.size());
    for (const auto& t : toks) ids.push_back(vocab_.id_or_unk(t));
    return ids;
}

std::string Tokenizer::token_text(int32_t id) const {
    const std::string& tok = vocab_.token(id);  // range-checked
    if (id == unk_id() && options_.kind == TokenizerKind::Char) return "\xEF\xBF\xBD";  // U+FFFD
    return tok;
}

std::string Tokenizer::decode(const int32_t* ids, size_t count) const {
    if (options_.kind == TokenizerKind::Char) {
        std::string out;
        for (size_t i = 0; i < count; ++i) out += token_text(ids[i]);
        return out;
    }
    std::vector<std::string> words;
    words.reserve(count);
    for (size_t i = 0; i < count; ++i) words.push_back(token_text(ids[i]));
    return join_words(words);
}

std::vector<std::string> Tokenizer::unknown_tokens(std::string_view text, std::string_view source) const {
    std::vector<std::string> unknown;
    std::unordered_set<std::string> seen;
    for (const std::string& surface : surface_tokens(text, source)) {
        std::string key = normalize(surface);
        if (!vocab_.contains(key) && seen.insert(std::move(key)).second) unknown.push_back(surface);
    }
    return unknown;
}

std::string StreamDecoder::next(int32_t id) {
    if (tok_.kind() == TokenizerKind::Char) return tok_.token_text(id);
    return joiner_.append(tok_.token_text(id));
}

}  // namespace fusedrnn::text
