#include "fusedrnn/models/lm_corpus.h"

#include <algorithm>
#include <cstddef>
#include <string_view>
#include <unordered_set>

#include "fusedrnn/core/error.h"
#include "fusedrnn/core/text/text_file.h"
#include "fusedrnn/core/text/utf8.h"
#include "fusedrnn/core/text/windows.h"

namespace fusedrnn {

uint64_t text_fnv1a64(const std::string& text) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (const char c : text) {
        h ^= uint64_t(static_cast<unsigned char>(c));
        h *= 0x100000001b3ull;
    }
    return h;
}

LmCorpus load_lm_corpus(const std::string& path, const text::TokenizerOptions& options, double heldout) {
    const std::string text = text::load_text_file(path);
    const std::vector<std::string> split = text::Tokenizer(options, text::Vocabulary()).split(text, path);
    const size_t train = split.size() - text::heldout_size(split.size(), heldout);
    // (No tokens at all is the tokenizer's error: an empty text.)
    FR_CHECK(split.empty() || train > 0, "{}: the training part is empty: the held-out {:g}% of its {} {} takes "
             "them all, and the vocabulary comes from the training part; hold out less", path, 100 * heldout,
             split.size(), split.size() == 1 ? "token" : "tokens");
    LmCorpus c{text::Tokenizer::build_from_tokens(split.data(), train, options, path), {}, text.size(),
               text_fnv1a64(text)};
    c.tokens = c.tokenizer.encode_tokens(split);
    c.vocab_tokens = train;
    if (train < split.size()) {
        const std::unordered_set<std::string_view> seen(split.begin(), split.begin() + std::ptrdiff_t(train));
        for (size_t i = train; i < split.size(); ++i) c.heldout_unseen += seen.count(split[i]) == 0 ? 1 : 0;
    }
    return c;
}

EncodedText encode_text_file(const std::string& path, const text::Tokenizer& tokenizer) {
    const std::string text = text::load_text_file(path);
    EncodedText e;
    const std::vector<std::string> split = tokenizer.split(text, path);
    e.tokens = tokenizer.encode_tokens(split);
    // <unk> is id 0 and no real token maps to it, so counting zeros counts the unknown tokens.
    for (size_t i = 0; i < split.size(); ++i)
        if (e.tokens[i] == text::Tokenizer::unk_id()) {
            ++e.unknown;
            e.unknown_decomposed += text::has_combining_mark(split[i]) ? 1 : 0;
            const bool non_ascii = std::any_of(split[i].begin(), split[i].end(), [](char c) { return (c & 0x80) != 0; });
            e.unknown_non_ascii += non_ascii ? 1 : 0;
        }
    return e;
}

}  // namespace fusedrnn
