#include "fusedrnn/models/lm_generate.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <memory>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "fusedrnn/core/text/unicode_case.h"
#include "fusedrnn/core/text/utf8.h"
#include "fusedrnn/core/text/word_split.h"

namespace fusedrnn {

namespace {

// At most `max` bytes of `s` (cut at a UTF-8 character boundary), with "…" when cut: an 80 KB prompt is not echoed.
std::string shorten(const std::string& s, size_t max = 60) {
    if (s.size() <= max) return s;
    size_t cut = max;
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
    return s.substr(0, cut) + "…";
}

// A token as the user can read it in a message, quoted: characters that do not show (controls, combining marks,
// spaces other than ' ') as \uXXXX in place (QA: a decomposed 'Trăm' read "T r a U+0306 m", unquoted).
bool invisible(char32_t c) {
    return c < 0x20 || (c >= 0x7F && c < 0xA0) || text::is_combining_mark(c) || c == 0xA0 ||
           (c >= 0x2000 && c <= 0x200F) || (c >= 0x2028 && c <= 0x202F) || c == 0xFEFF || text::is_space(c);
}

std::string shown(const std::string& token, bool* combining) {
    const std::u32string cps = text::decode_utf8(token, "the prompt");
    bool any_invisible = false;
    for (char32_t c : cps) {
        any_invisible = any_invisible || invisible(c);
        if (text::is_combining_mark(c)) *combining = true;
    }
    if (!any_invisible) return "'" + shorten(token, 40) + "'";
    std::string codes;
    for (char32_t c : cps)
        codes += invisible(c) ? fmt::format(c > 0xFFFF ? "\\U{:08X}" : "\\u{:04X}", uint32_t(c)) : text::encode_utf8(c);
    return "'" + shorten(codes, 80) + "'";
}

std::string quoted_list(const std::vector<std::string>& items, bool* combining) {
    std::string s;
    const size_t show = std::min<size_t>(items.size(), 20);
    for (size_t i = 0; i < show; ++i) s += (s.empty() ? "" : ", ") + shown(items[i], combining);
    if (items.size() > show) s += fmt::format(" and {} more", items.size() - show);
    return s;
}

std::string join(const std::vector<std::string>& tokens, size_t begin, size_t end, bool words) {
    std::string s;
    for (size_t i = begin; i < end; ++i) s += (i > begin && words ? " " : "") + tokens[i];
    return s;
}

// For a case-sensitive vocabulary: the unknown words that are known in another case ("Had" where "had" is, "dog"
// where "Dog" is), as "; the model tells case apart: 'had' (not 'Had') is in its vocabulary", or "" (QA: "Had A
// General" said only that three words were unknown; the hint went one way only, lower case).
std::string case_hint(const text::Tokenizer& tok, const std::vector<std::string>& unknown) {
    if (tok.options().lowercase || tok.kind() != text::TokenizerKind::Word) return {};
    // Lower-cased unknown word -> the vocabulary's form (the first found: the most frequent).
    std::map<std::string, std::string> wanted;
    for (const std::string& w : unknown) wanted.emplace(text::to_lower_utf8(w), std::string());
    for (int32_t id = 1; id < tok.size(); ++id) {
        const auto it = wanted.find(text::to_lower_utf8(tok.vocab().token(id)));
        if (it != wanted.end() && it->second.empty()) it->second = tok.vocab().token(id);
    }
    std::vector<std::string> known, typed;
    for (const std::string& w : unknown) {
        const std::string& form = wanted.at(text::to_lower_utf8(w));
        if (!form.empty()) {
            known.push_back("'" + form + "'");
            typed.push_back("'" + w + "'");
        }
    }
    if (known.empty()) return {};
    return fmt::format("; the model tells case apart: {} (not {}) {} in its vocabulary", fmt::join(known, ", "),
                       fmt::join(typed, ", "), known.size() == 1 ? "is" : "are");
}

}  // namespace

std::vector<int32_t> LmGenerator::encode_prompt(std::string_view prompt) const {
    const text::Tokenizer& tok = lm_.tokenizer;
    const bool words = tok.kind() == text::TokenizerKind::Word;
    const std::vector<std::string> unknown = tok.unknown_tokens(prompt, "the prompt");
    if (!unknown.empty()) {
        bool combining = false;
        const std::string list = quoted_list(unknown, &combining);
        const bool capped = tok.options().max_size > 0 && tok.size() >= tok.options().max_size;
        const long min_count = long(tok.options().min_count);
        // The vocabulary may be less than the text's: cut to the most frequent, or to those seen often enough.
        const std::string cut =
            capped ? fmt::format(" (its vocabulary was capped at {} with <unk> by --max-vocab)", tok.options().max_size)
            : min_count > 1 ? fmt::format(" that occur at least {} times there (--min-count {})", min_count, min_count)
                            : std::string();
        // The tokens the vocabulary left out were <unk> in training: the model has learned what follows them.
        if (lm_.unk_in_training() && !combining) {
            if (on_warning)
                on_warning(fmt::format("{} in the prompt read as <unk>, as in training: {} — the model knows only the "
                                       "{} {}{} of its training text{}{}", lm_.unit_name(unknown.size() != 1), list,
                                       tok.size() - 1, capped ? "most frequent " : "",
                                       lm_.unit_name(tok.size() - 1 != 1), cut, case_hint(tok, unknown)));
        } else {
            FR_FAIL("unknown {} in the prompt: {} — the model knows only the {} {}{} of its training text{}{}{}",
                    lm_.unit_name(unknown.size() != 1), list, tok.size() - 1, capped ? "most frequent " : "",
                    lm_.unit_name(tok.size() - 1 != 1), cut,
                    combining ? "; a combining mark (U+0300...) means decomposed text: normalize the prompt to NFC "
                                "(precomposed characters), as most text is"
                              : "",
                    case_hint(tok, unknown));
        }
    }
    const std::vector<std::string> pieces = tok.split(prompt, "the prompt");
    FR_CHECK(!pieces.empty(), "the prompt is empty: give {}",
             lm_.settings.mode == LmMode::Window
                 ? fmt::format("{} {} (this model predicts from exactly that many)", lm_.settings.context,
                               lm_.unit_name(lm_.settings.context != 1))
                 : "at least one " + lm_.unit_name(false));
    if (lm_.settings.mode == LmMode::Window) {
        const size_t K = size_t(lm_.settings.context);
        const std::string need = fmt::format("{} {}", K, lm_.unit_name(K != 1));
        const char* note = words ? " (a punctuation mark counts as a word)" : "";
        FR_CHECK(pieces.size() >= K, "the prompt '{}' has {} {}, but this model predicts from exactly {}{}: give {} "
                 "more", shorten(join(pieces, 0, pieces.size(), words)), pieces.size(), lm_.unit_name(pieces.size() != 1), need,
                 note, K - pieces.size());
        FR_CHECK(pieces.size() <= K, "the prompt '{}' has {} {}, but this model predicts from exactly {}{}: give only "
                 "{}, e.g. the last ones, '{}'", shorten(join(pieces, 0, pieces.size(), words)), pieces.size(),
                 lm_.unit_name(true), need, note, need,
                 shorten(join(pieces, pieces.size() - K, pieces.size(), words)));
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

std::vector<int32_t> LmGenerator::generate_ids(std::vector<int32_t> ids, int count, text::Sampler& sampler,
                                               const std::function<bool(int32_t)>& on_token) {
    FR_CHECK(count >= 0, "the count of tokens to generate (--count) must be >= 0, got {}", count);
    const size_t K = size_t(lm_.settings.context);
    const bool window = lm_.settings.mode == LmMode::Window;
    FR_CHECK(ids.size() >= (window ? K : 1), "generation needs at least {} prompt token(s), got {}", window ? K : 1,
             ids.size());
    std::vector<int32_t> out;
    if (count == 0) return out;
    // <unk> stands for every word the model never learned: drawing it writes "<unk>" (or U+FFFD), not text.
    const auto draw = [&](std::vector<float> logits) {
        logits[size_t(text::Tokenizer::unk_id())] = -INFINITY;
        return sampler.next(logits);
    };
    if (window) {
        for (int i = 0; i < count; ++i) {
            const std::vector<int32_t> last(ids.end() - long(K), ids.end());
            const int32_t next = draw(next_logits(last, false));
            ids.push_back(next);
            out.push_back(next);
            if (on_token && !on_token(next)) break;
        }
        return out;
    }
    state_ = SequenceModel::State();  // every prompt starts a new text
    std::vector<float> logits = next_logits(ids, true);
    for (int i = 0; i < count; ++i) {
        const int32_t next = draw(std::move(logits));
        out.push_back(next);
        if (on_token && !on_token(next)) break;
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
