#include "fusedrnn/core/text/vocabulary.h"

#include <algorithm>
#include <limits>
#include <memory>

#include "fusedrnn/core/error.h"

namespace fusedrnn::text {

Vocabulary::Vocabulary() : Vocabulary(std::vector<std::string>{kUnk}) {}

Vocabulary::Vocabulary(std::vector<std::string> tokens) : tokens_(std::move(tokens)) {
    FR_CHECK(!tokens_.empty() && tokens_[0] == kUnk, "vocabulary: token 0 must be \"{}\", got \"{}\"", kUnk,
             tokens_.empty() ? std::string("(no tokens)") : tokens_[0]);
    FR_CHECK(tokens_.size() <= size_t(std::numeric_limits<int32_t>::max()),
             "vocabulary: {} tokens do not fit int32 ids", tokens_.size());
    index_.reserve(tokens_.size());
    for (size_t i = 0; i < tokens_.size(); ++i) {
        FR_CHECK(!tokens_[i].empty(), "vocabulary: token {} is empty", i);
        const auto [it, inserted] = index_.emplace(tokens_[i], int32_t(i));
        FR_CHECK(inserted, "vocabulary: duplicate token \"{}\" (ids {} and {})", tokens_[i], it->second, i);
    }
}

Vocabulary Vocabulary::build(const std::unordered_map<std::string, int64_t>& counts, VocabOrder order,
                             int64_t min_count, int64_t max_size) {
    FR_CHECK(min_count >= 1, "vocabulary: min_count must be >= 1, got {}", min_count);
    FR_CHECK(max_size == 0 || max_size >= 2, "vocabulary: max_size must be 0 (no cap) or >= 2, got {}",
             max_size);
    std::vector<std::pair<std::string, int64_t>> kept;
    for (const auto& [tok, n] : counts)
        if (n >= min_count && tok != kUnk) kept.emplace_back(tok, n);
    // Frequency order first in both cases: the cap must drop the rarest tokens.
    std::sort(kept.begin(), kept.end(), [](const auto& a, const auto& b) {
        return a.second != b.second ? a.second > b.second : a.first < b.first;
    });
    if (max_size > 0 && int64_t(kept.size()) > max_size - 1) kept.resize(size_t(max_size - 1));
    if (order == VocabOrder::ByCodePoint)
        std::sort(kept.begin(), kept.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<std::string> tokens{kUnk};
    tokens.reserve(kept.size() + 1);
    for (auto& kv : kept) tokens.push_back(std::move(kv.first));
    return Vocabulary(std::move(tokens));
}

const std::string& Vocabulary::token(int32_t id) const {
    FR_CHECK(id >= 0 && id < size(), "vocabulary: token id {} is outside [0, {})", id, size());
    return tokens_[size_t(id)];
}

std::optional<int32_t> Vocabulary::find(const std::string& token) const {
    const auto it = index_.find(token);
    if (it == index_.end()) return std::nullopt;
    return it->second;
}

int32_t Vocabulary::id_or_unk(const std::string& token) const {
    const auto it = index_.find(token);
    return it == index_.end() ? kUnkId : it->second;
}

}  // namespace fusedrnn::text
