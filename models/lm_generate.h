// fusedrnn — generating text from a language model (models/language_model.h).
//
//   window mode  the prompt must be exactly `context` tokens (the model was only ever trained on
//                that many); each new token is predicted from the last `context` tokens, from a zero
//                state — the course's "type 3 words, get the next 10, each from the last 3".
//   stream mode  the prompt (at least one token) is fed through the model carrying the state, then
//                each sampled token is fed back one step at a time; the context is the whole text so far.
// Prompts are checked before anything runs: unknown tokens are listed by name, and a window-mode
// prompt of the wrong length says how many tokens are needed. Sampling (greedy / temperature / top-k / top-p)
// is text::Sampler: the same seed, model and prompt give the same text on every platform and backend
// whose logits agree.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "fusedrnn/core/text/sampling.h"
#include "fusedrnn/models/language_model.h"

namespace fusedrnn {

class LmGenerator {
public:
    explicit LmGenerator(LanguageModel& lm) : lm_(lm) {}

    // The prompt's token ids. Throws Error for unknown tokens ("unknown words in the prompt: 'x', 'y'
    // ..."), an empty prompt, or (window mode) a prompt longer or shorter than the context. Where the vocabulary was
    // cut (--max-vocab, --min-count), the model learned <unk> for the words left out: unknown tokens are read as
    // <unk> then, as the training text read them, and on_warning names them.
    std::vector<int32_t> encode_prompt(std::string_view prompt) const;

    std::function<void(const std::string&)> on_warning;  // unknown tokens read as <unk>

    // `count` new token ids following the prompt (count >= 0).
    std::vector<int32_t> generate(std::string_view prompt, int count, text::Sampler& sampler);

    // Same from token ids (window mode: at least `context` of them, the last `context` are used).
    // on_token, when given, sees each id as soon as it is drawn (to print text as it comes); returning
    // false stops the generation there (Ctrl-C). <unk> is never drawn: it is not a word to write.
    std::vector<int32_t> generate_ids(std::vector<int32_t> prompt_ids, int count, text::Sampler& sampler,
                                      const std::function<bool(int32_t)>& on_token = {});

    // The prompt (as the tokenizer reads it: lower-cased if the model is) followed by `count` generated
    // tokens, decoded as one text.
    std::string continue_text(std::string_view prompt, int count, text::Sampler& sampler);

private:
    // Logits [V] for the next token after feeding ids (window: from a zero state; stream: from state_).
    std::vector<float> next_logits(const std::vector<int32_t>& ids, bool carry_state);

    LanguageModel& lm_;
    SequenceModel::State state_;
};

}  // namespace fusedrnn
