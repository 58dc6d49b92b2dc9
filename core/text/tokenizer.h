// fusedrnn — tokenisers for language models: character-level and word-level, one value type.
//
// Char: one token per Unicode code point (not per byte, not per grapheme). No normalisation, so text
//       round-trips byte for byte, precomposed (NFC) and decomposed (NFD) Vietnamese alike; a combining
//       mark is a token of its own. Vocabulary in code-point order (char-rnn's convention).
// Word: words and punctuation marks as split by split_words() (core/text/word_split.h); vocabulary by
//       frequency. decode() joins them readably (not an exact inverse: white space is not kept).
// Both: optional lower-casing (Unicode-aware, core/text/unicode_case.h), a minimum count and a size
// cap; anything not in the vocabulary encodes as <unk> (id 0), and unknown_tokens() lists such
// tokens so a tool can say "unknown words in the prompt: ..." instead of silently using <unk>.
// The tokenizer serialises to a JSON string for checkpoint metadata (core/text/tokenizer_json.cpp).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fusedrnn/core/text/vocabulary.h"
#include "fusedrnn/core/text/word_split.h"

namespace fusedrnn::text {

enum class TokenizerKind { Char, Word };
const char* to_string(TokenizerKind kind);             // "char", "word"
TokenizerKind parse_tokenizer_kind(std::string_view s);  // throws for anything else

struct TokenizerOptions {
    TokenizerKind kind = TokenizerKind::Word;
    bool lowercase = false;  // lower-case before counting and before lookup
    int64_t min_count = 1;   // tokens seen fewer times in the corpus become <unk>
    int64_t max_size = 0;    // cap on the vocabulary size including <unk>; 0 = none
    int word_rules = kWordSplitRules;  // word: split_words' rules (1 for vocabularies written before 0.3.14)
};

class Tokenizer {
public:
    // Build a vocabulary from `corpus` (UTF-8; `source` names it in errors). Throws for invalid UTF-8
    // and for a corpus with no tokens at all.
    static Tokenizer build(std::string_view corpus, const TokenizerOptions& options,
                           std::string_view source = "corpus");
    // The same from tokens already split by split() (so lower-cased when the options say so): the vocabulary of
    // tokens[0, count), e.g. of a text's training part (models/lm_corpus.h). Throws when count is 0.
    static Tokenizer build_from_tokens(const std::string* tokens, size_t count, const TokenizerOptions& options,
                                       std::string_view source = "corpus");
    // From a given vocabulary (e.g. one read back from a checkpoint); checks that its tokens suit `kind`.
    Tokenizer(const TokenizerOptions& options, Vocabulary vocab);

    // Tokens as looked up (after lower-casing), before mapping to ids.
    std::vector<std::string> split(std::string_view text, std::string_view source = "text") const;
    std::vector<int32_t> encode(std::string_view text, std::string_view source = "text") const;
    // Ids of tokens already split by split(): encode(text) == encode_tokens(split(text)).
    std::vector<int32_t> encode_tokens(const std::vector<std::string>& tokens) const;
    // Ids back to text. <unk> decodes as U+FFFD for characters and "<unk>" for words.
    std::string decode(const int32_t* ids, size_t count) const;
    std::string decode(const std::vector<int32_t>& ids) const { return decode(ids.data(), ids.size()); }
    // The text of one id as it should be printed on its own (same conventions as decode).
    std::string token_text(int32_t id) const;

    // Distinct tokens of `text` that are not in the vocabulary, in order of first appearance, as
    // written in `text` (before lower-casing). Empty when every token is known.
    std::vector<std::string> unknown_tokens(std::string_view text, std::string_view source = "text") const;

    TokenizerKind kind() const { return options_.kind; }
    const TokenizerOptions& options() const { return options_; }
    const Vocabulary& vocab() const { return vocab_; }
    int32_t size() const { return vocab_.size(); }
    static constexpr int32_t unk_id() { return Vocabulary::kUnkId; }

    // JSON string with format tag, version, kind, options and the token list (tokenizer_json.cpp).
    std::string to_json() const;
    // Throws fusedrnn::Error for malformed JSON, a missing or mistyped field, an unknown kind or
    // version, duplicate tokens, or tokens that cannot belong to this kind of tokenizer.
    static Tokenizer from_json(std::string_view json);

private:
    // Surface tokens (as written) of text.
    std::vector<std::string> surface_tokens(std::string_view text, std::string_view source) const;
    std::string normalize(const std::string& surface) const;

    TokenizerOptions options_;
    Vocabulary vocab_;
};

// Tokenizer::decode one id at a time, for text printed as it is generated: the pieces next() returns,
// concatenated, are decode() of the ids.
class StreamDecoder {
public:
    explicit StreamDecoder(const Tokenizer& tokenizer) : tok_(tokenizer) {}
    std::string next(int32_t id);

private:
    const Tokenizer& tok_;
    WordJoiner joiner_;
};

}  // namespace fusedrnn::text
