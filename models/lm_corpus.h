// fusedrnn — a text file as a language model's token stream.
// Errors come from text::load_text_file (missing, empty, binary, invalid UTF-8: each names the file)
// and from the tokenizer; both name the file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/text/tokenizer.h"

namespace fusedrnn {

struct LmCorpus {
    text::Tokenizer tokenizer;
    std::vector<int32_t> tokens;
    size_t bytes = 0;  // of the text as loaded (BOM dropped, CRLF → LF)
    uint64_t hash = 0;  // text_fnv1a64 of that text: a resumed run checks it trains on the same text
};

// FNV-1a, 64 bits, over the bytes: a content fingerprint (not a cryptographic hash) recorded in checkpoints.
uint64_t text_fnv1a64(const std::string& text);

// Loads `path` and builds a tokenizer on it (vocabulary from this text).
LmCorpus load_lm_corpus(const std::string& path, const text::TokenizerOptions& options);

struct EncodedText {
    std::vector<int32_t> tokens;
    size_t unknown = 0;  // tokens outside the tokenizer's vocabulary (encoded as <unk>)
};
// Loads `path` and encodes it with an existing tokenizer (e.g. a checkpoint's).
EncodedText encode_text_file(const std::string& path, const text::Tokenizer& tokenizer);

}  // namespace fusedrnn
