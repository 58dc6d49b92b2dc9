// fusedrnn — a language model as the tools see it: a SequenceModel (Embedding → recurrent stack →
// Linear head per step) together with the tokenizer that gives its ids meaning and the training mode
// that says how it reads text. All three travel in one checkpoint: the parameters as safetensors, the
// tokenizer and the mode in the metadata's `extra` JSON:
//
//   extra["tokenizer"] = the tokenizer's JSON object (core/text/tokenizer_json.cpp)
//   extra["lm"]        = {"format": "fusedrnn.lm", "version": 1, "mode": "window"|"stream",
//                         "context": K, "bptt": T, "streams": N}
//   extra["training"]  = what the trainer wants to remember (epoch, history, corpus name, ...)
//
// Two modes, because they are two different models of text:
//   window  fixed context ("3 words → next word", the course's Aesop LSTM): every prediction starts
//           from a zero state and sees exactly K tokens. Generation feeds the last K tokens each time.
//   stream  truncated BPTT over long text (char-rnn): the state is carried from token to token, so
//           the context is everything read so far. Generation feeds the prompt, then one token at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "fusedrnn/core/text/tokenizer.h"
#include "fusedrnn/models/checkpoint.h"
#include "fusedrnn/models/model.h"

namespace fusedrnn {

enum class LmMode { Window, Stream };
const char* to_string(LmMode mode);          // "window", "stream"
LmMode parse_lm_mode(std::string_view name);  // throws Error naming the accepted values

struct LmSettings {
    LmMode mode = LmMode::Window;
    int context = 3;   // K, window mode: tokens in, one token out
    int bptt = 64;     // T, stream mode: steps per truncated-BPTT chunk
    int streams = 32;  // N, stream mode: parallel streams (the batch)
    // Whether <unk> occurred in the training text (the vocabulary cut some of its tokens), so that the model learned
    // to predict it; what lm-train saw. Unset in checkpoints from before 0.3: LanguageModel::unk_in_training guesses.
    std::optional<bool> unk_in_training;

    void validate() const;  // throws Error naming the bad field
    nlohmann::json to_json() const;
    // Throws Error naming `source` (the checkpoint) for a missing/mistyped field or an unknown format.
    static LmSettings from_json(const nlohmann::json& j, std::string_view source);
};

struct LanguageModel {
    std::unique_ptr<SequenceModel> model;
    text::Tokenizer tokenizer;
    LmSettings settings;
    nlohmann::json training;  // extra["training"] as saved (null for a fresh model)

    LanguageModel(std::unique_ptr<SequenceModel> m, text::Tokenizer tok, LmSettings s);
    // "word" / "character" (for messages: "needs 3 words", "unknown characters").
    std::string unit_name(bool plural) const;
    // Whether <unk> stood for tokens of the training text, so that the model learned to predict it (then a prompt's
    // unknown words are read as <unk>; else they are an error). As recorded (settings.unk_in_training), or, for a
    // checkpoint from before 0.3, guessed from the tokenizer: its vocabulary full (--max-vocab) or --min-count > 1.
    bool unk_in_training() const;
    // What scoring a text's unknown tokens as <unk> does to its loss and accuracy, for a message after "N tokens not
    // in the vocabulary, scored as <unk>: ". It depends on the training (unk_in_training).
    std::string unk_scoring_effect() const;
};

class Optimizer;

// A fresh model over `tokenizer`'s vocabulary: embedding of size spec.input_size, head of size V.
// Throws Error when spec is invalid or the vocabulary is only <unk>.
LanguageModel make_language_model(std::shared_ptr<Backend<float>> backend, const RnnSpec& spec,
                                  text::Tokenizer tokenizer, const LmSettings& settings, uint64_t seed);

// Writes the model, tokenizer, settings and `training` atomically (see models/checkpoint.h), and the
// optimizer's state when given (for resuming). before_rename: see write_safetensors.
void save_language_model(const std::string& path, const LanguageModel& lm, const nlohmann::json& training,
                         const Optimizer* optimizer = nullptr, const std::function<void()>& before_rename = nullptr,
                         const std::vector<StateTensor>& state = {});

// Reads a checkpoint written by save_language_model. Throws Error naming `path` when it is a
// forecaster checkpoint ("... is a forecaster checkpoint, not a language model"), a sequence model
// without a tokenizer, or when the tokenizer's vocabulary does not match the model's embedding.
LanguageModel load_language_model(const std::string& path, std::shared_ptr<Backend<float>> backend);

// The tokenizer and the settings a language model's checkpoint stores (`extra` as read from `path`); throws Error
// naming `path` and the block that is missing or invalid.
text::Tokenizer stored_tokenizer(const nlohmann::json& extra, const std::string& path);
LmSettings stored_settings(const nlohmann::json& extra, const std::string& path);
// All of a language model's checkpoint that load_language_model checks before it builds the model: its kind, the
// tokenizer and settings above, and the vocabulary and outputs its model description declares against the
// tokenizer's size. Returns the tokenizer and settings it read; throws Error naming ckpt.path.
struct StoredLanguageModel {
    text::Tokenizer tokenizer;
    LmSettings settings;
};
StoredLanguageModel check_stored_language_model(const Checkpoint& ckpt);

}  // namespace fusedrnn
