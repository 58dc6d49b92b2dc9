#include "models/lm_corpus.h"

#include <algorithm>

#include "core/text/text_file.h"

namespace fusedrnn {

uint64_t text_fnv1a64(const std::string& text) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (const char c : text) {
        h ^= uint64_t(static_cast<unsigned char>(c));
        h *= 0x100000001b3ull;
    }
    return h;
}

LmCorpus load_lm_corpus(const std::string& path, const text::TokenizerOptions& options) {
    const std::string text = text::load_text_file(path);
    text::Tokenizer tok = text::Tokenizer::build(text, options, path);
    std::vector<int32_t> tokens = tok.encode(text, path);
    return LmCorpus{std::move(tok), std::move(tokens), text.size(), text_fnv1a64(text)};
}

EncodedText encode_text_file(const std::string& path, const text::Tokenizer& tokenizer) {
    const std::string text = text::load_text_file(path);
    EncodedText e;
    e.tokens = tokenizer.encode(text, path);
    // <unk> is id 0 and no real token maps to it, so counting zeros counts the unknown tokens.
    e.unknown = size_t(std::count(e.tokens.begin(), e.tokens.end(), text::Tokenizer::unk_id()));
    return e;
}

}  // namespace fusedrnn
