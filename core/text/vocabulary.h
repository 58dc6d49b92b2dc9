// fusedrnn — a vocabulary: the bijection between token strings and int32 ids.
// Id 0 is always the unknown token "<unk>" (it can never collide with a real token: the word
// splitter makes '<' and '>' tokens of their own, and a character token is one code point).
// Building from counts is deterministic — the same corpus gives the same ids on every machine and
// run — because ids feed embedding rows and output logits, and a checkpoint's vocabulary must mean
// the same thing wherever it is loaded.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace fusedrnn::text {

// How build() orders the kept tokens (after <unk>).
enum class VocabOrder {
    ByFrequency,  // count descending, ties by byte order: rare words at the end, so a size cap is a prefix
    ByCodePoint,  // byte order of the UTF-8 strings = code-point order (char-rnn's sorted(set(text)))
};

class Vocabulary {
public:
    static constexpr const char* kUnk = "<unk>";
    static constexpr int32_t kUnkId = 0;

    Vocabulary();  // just <unk>
    // From a token list in id order; tokens[0] must be "<unk>", no duplicates, no empty tokens.
    explicit Vocabulary(std::vector<std::string> tokens);

    // Keep tokens with count >= min_count (min_count >= 1); at most max_size tokens including <unk>
    // (0 = no cap; the most frequent are kept, ties by byte order).
    static Vocabulary build(const std::unordered_map<std::string, int64_t>& counts, VocabOrder order,
                            int64_t min_count = 1, int64_t max_size = 0);

    int32_t size() const { return int32_t(tokens_.size()); }
    const std::vector<std::string>& tokens() const { return tokens_; }
    const std::string& token(int32_t id) const;  // throws for an id outside [0, size)
    std::optional<int32_t> find(const std::string& token) const;
    int32_t id_or_unk(const std::string& token) const;
    bool contains(const std::string& token) const { return index_.count(token) != 0; }

private:
    std::vector<std::string> tokens_;
    std::unordered_map<std::string, int32_t> index_;
};

}  // namespace fusedrnn::text
