// fusedrnn — a text file as a language model's token stream.
// Errors come from text::load_text_file (missing, empty, binary, invalid UTF-8: each names the file)
// and from the tokenizer; both name the file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fusedrnn/core/text/tokenizer.h"

namespace fusedrnn {

struct LmCorpus {
    text::Tokenizer tokenizer;
    std::vector<int32_t> tokens;
    size_t bytes = 0;  // of the text as loaded (BOM dropped, CRLF → LF)
    uint64_t hash = 0;  // text_fnv1a64 of that text: a resumed run checks it trains on the same text
    // The vocabulary and its counts come from tokens[0, vocab_tokens): the training part (every token when nothing
    // is held out).
    size_t vocab_tokens = 0;
    // Held-out tokens (the last tokens.size() - vocab_tokens) that never occur in the training part, so <unk> whatever
    // min_count and max_size say; the held-out part's other <unk> tokens were cut by those.
    size_t heldout_unseen = 0;
};

// FNV-1a, 64 bits, over the bytes: a content fingerprint (not a cryptographic hash) recorded in checkpoints.
uint64_t text_fnv1a64(const std::string& text);

// Loads `path` and tokenizes it, with a vocabulary built from its training part only: every token but the last
// text::heldout_size(n, heldout), the held-out part LmTrainer holds out with the same fraction. As for PTB-style
// word models, the held-out part then counts nowhere in the vocabulary or in the counts min_count and max_size
// judge by, and a held-out token outside that vocabulary (a word or character seen only there) is <unk>. The
// tokens are the whole text's, in order, <unk> aside; heldout 0 takes the vocabulary from the whole text. Throws
// naming the file when the held-out part would take every token.
LmCorpus load_lm_corpus(const std::string& path, const text::TokenizerOptions& options, double heldout);

struct EncodedText {
    std::vector<int32_t> tokens;
    size_t unknown = 0;  // tokens outside the tokenizer's vocabulary (encoded as <unk>)
    size_t unknown_decomposed = 0;  // of those, the ones holding a combining mark (decomposed text: NFD)
    size_t unknown_non_ascii = 0;   // of those, the ones holding any character beyond ASCII
};
// Loads `path` and encodes it with an existing tokenizer (e.g. a checkpoint's).
EncodedText encode_text_file(const std::string& path, const text::Tokenizer& tokenizer);

}  // namespace fusedrnn
