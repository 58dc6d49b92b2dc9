#include "models/lm_generate.h"

#include <algorithm>
#include <memory>

namespace fusedrnn {

namespace {

std::string quoted_list(const std::vector<std::string>& items) {
    std::string s;
    for (const std::string& it : items) s += (s.empty() ? "'" : ", '") + it + "'";
    return s;
}

std::string join(const std::vector<std::string>& tokens, size_t begin, size_t end, bool words) {
    std::string s;
    for (size_t i = begin; i < end; ++i) s += (i > begin && words ? " " : "") + tokens[i];
    return s;
}

}  // namespace

std::vector<int32_t> LmGenerator::encode_prompt(std::string_view prompt) const {
    const text::Tokenizer& tok = lm_.tokenizer;
    const bool words = tok.kind() == text::TokenizerKind::Word;
    const std::vector<std::string> unknown = tok.unknown_tokens(prompt, "the prompt");
    FR_CHECK(unknown.empty(), "unknown {} in the prompt: {} — the model knows only the {} {} of its training text",
             lm_.unit_name(unknown.size() != 1), quoted_list(unknown), tok.size() - 1, lm_.unit_name(true));
    const std::vector<std::string> pieces = tok.split(prompt, "the prompt");
    FR_CHECK(!pieces.empty(), "the prompt is empty: give at least one {}", lm_.unit_name(false));
    if (lm_.settings.mode == LmMode::Window) {
        const size_t K = size_t(lm_.settings.context);
        const std::string need = fmt::format("{} {}", K, lm_.unit_name(K != 1));
        const char* note = words ? " (a punctuation mark counts as a word)" : "";
        FR_CHECK(pieces.size() >= K, "the prompt '{}' has {} {}, but this model predicts from exactly {}{}: give {} "
                 "more", join(pieces, 0, pieces.size(), words), pieces.size(), lm_.unit_name(pieces.size() != 1), need,
                 note, K - pieces.size());
        FR_CHECK(pieces.size() <= K, "the prompt '{}' has {} {}, but this model predicts from exactly {}{}: give only "
                 "{}, e.g. the last ones, '{}'", join(pieces, 0, pieces.size(), words), pieces.size(),
                 lm_.unit_name(true), need, note, need, join(pieces, pieces.size() - K, pieces.size(), words));
    }
    return tok.encode(prompt, "the prompt");
}

std::vector<float> LmGenerator::next_logits(const std::vector<int32_t>& ids, bool carry_state) {
    Backend<float>& be = lm_.model->backend();
    const long P = long(ids.size());
    Tensor<int32_t> dev = be.empty_i32({P, 1});
    be.copy_from_host(dev.data(), ids.data(), ids.size() * sizeof(int32_t));
    SequenceModel::State fresh;
    Tensor<float> logits = lm_.model->forward_tokens(dev, carry_state ? state_ : fresh, false);
    const long V = logits.dim(1);
    std::vector<float> last(static_cast<size_t>(V));
    be.copy_to_host(last.data(), logits.data() + size_t((P - 1) * V), last.size() * sizeof(float));
    return last;
}

std::vector<int32_t> LmGenerator::generate(std::string_view prompt, int count, text::Sampler& sampler) {
    return generate_ids(encode_prompt(prompt), count, sampler);
}

std::vector<int32_t> LmGenerator::generate_ids(std::vector<int32_t> ids, int count, text::Sampler& sampler) {
    FR_CHECK(count >= 0, "--count must be >= 0, got {}", count);
    const size_t K = size_t(lm_.settings.context);
    const bool window = lm_.settings.mode == LmMode::Window;
    FR_CHECK(ids.size() >= (window ? K : 1), "generation needs at least {} prompt token(s), got {}", window ? K : 1,
             ids.size());
    std::vector<int32_t> out;
    if (count == 0) return out;
    if (window) {
        for (int i = 0; i < count; ++i) {
            const std::vector<int32_t> last(ids.end() - long(K), ids.end());
            const int32_t next = sampler.next(next_logits(last, false));
            ids.push_back(next);
            out.push_back(next);
        }
        return out;
    }
    state_ = SequenceModel::State();  // every prompt starts a new text
    std::vector<float> logits = next_logits(ids, true);
    for (int i = 0; i < count; ++i) {
        const int32_t next = sampler.next(logits);
        out.push_back(next);
        if (i + 1 < count) logits = next_logits({next}, true);
    }
    return out;
}

std::string LmGenerator::continue_text(std::string_view prompt, int count, text::Sampler& sampler) {
    std::vector<int32_t> ids = encode_prompt(prompt);
    const std::vector<int32_t> more = generate(prompt, count, sampler);
    ids.insert(ids.end(), more.begin(), more.end());
    return lm_.tokenizer.decode(ids);
}

}  // namespace fusedrnn
