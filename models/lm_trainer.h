// fusedrnn — training a language model on a token stream, in either mode (models/language_model.h).
//
// The held-out part is the last fraction of the token stream, cut before windowing/streaming
// (text::split_heldout), so no held-out prediction sees a training token.
//   window  the training windows are shuffled each epoch (order fixed by seed and epoch) and cut into
//           batches of `batch`; the last, smaller batch is kept (small corpora such as a fable have
//           only ~200 windows, and every one of them matters).
//   stream  the training tokens are cut into N streams read in chunks of `bptt` steps; the state is
//           carried from chunk to chunk (detached) and reset to zero at the start of the text.
//           max_chunks > 0 makes an "epoch" that many chunks: the next epoch continues where the last
//           stopped (state carried), wrapping to the start of the text (state reset) when it runs out —
//           so short epochs still see the whole corpus in order, and the held-out loss is printed often.
// After each epoch: held-out loss/accuracy/perplexity (inference mode, fresh state), then checkpoints
// <out>/last.safetensors and, when the held-out loss improved, <out>/best.safetensors (with no held-out
// part, "best" follows the training loss). last.safetensors also holds what resuming needs — optimizer
// state, learning rate, history, the stream position and carried state — and is written within an
// epoch every few minutes and when a stop is requested (Ctrl-C), so --resume continues at the step it
// stopped after: bit-identical to an uninterrupted run on the CPU backend.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fusedrnn/core/text/streams.h"
#include "fusedrnn/core/text/windows.h"
#include "fusedrnn/models/lm_eval.h"

namespace fusedrnn {

struct Checkpoint;

// Keys of LmTrainOptions::info that identify the training text by content (lm_text_fingerprint): a resumed run
// compares these rather than the path it was given (info["text"]), when the checkpoint has them.
inline constexpr const char* kTextBytesKey = "text_bytes";
inline constexpr const char* kTextHashKey = "text_fnv1a64";
// Key of LmTrainOptions::info that lm-train sets to "training part": the vocabulary came from the training part only
// (load_lm_corpus). Runs written before have no such key: their vocabulary came from the whole text, held-out part
// included, and a resumed one keeps it.
inline constexpr const char* kVocabularyKey = "vocabulary";

struct LmTrainOptions {
    int epochs = 20;
    int batch = 32;          // window mode: windows per step (stream mode uses settings.streams)
    double clip = 5.0;       // global gradient-norm clip; 0 = off
    double heldout = 0.1;    // fraction of the tokens held out, in [0, 1)
    double lr_decay = 1.0;   // the learning rate is multiplied by this after every epoch (1 = constant)
    uint64_t seed = 0;       // window order
    long max_chunks = 0;     // steps per epoch (chunks or batches); 0 = the whole training text
    std::string out_dir;     // checkpoints; "" = none
    nlohmann::json info;     // stored in every checkpoint's training block (corpus name, command, ...);
                             // a resumed run must have the same
    bool resume = false;     // continue from <out_dir>/last.safetensors (also from within an epoch)
    bool overwrite = false;  // start over even when <out_dir> holds an unfinished run (else: an error)
    double checkpoint_seconds = 600;       // save last.safetensors within an epoch at most this often (0 = no)
    std::function<bool()> stop_requested;  // polled after every step: true → save last.safetensors and
                                           // throw Interrupted
    std::function<void()> before_save;     // called in every checkpoint save once its file is written, just
                                           // before it replaces the old one (since 0.3.2; before, as the save
                                           // began); an Error from it stops the run unsaved, the old file kept
                                           // (the CLI checks there that it still holds --out's lock)
};

struct LmProgress {
    int epoch = 0, epochs = 0;
    long step = 0, steps = 0;  // within the epoch
    double loss = 0;           // running mean over the epoch so far
    double accuracy = 0;
    double tokens_per_s = 0;   // predicted positions per second
    double eta_s = 0;          // rest of the epoch
};

struct LmEpochRecord {
    int epoch = 0;
    double train_loss = 0, train_accuracy = 0;  // running means over the epoch's steps
    bool has_heldout = false;
    double heldout_loss = 0, heldout_accuracy = 0;
    // Share of the held-out tokens that are <unk>: outside the vocabulary, because they never occur in the training
    // part (load_lm_corpus) or were cut by --min-count / --max-vocab. A model that learned to predict <unk> does so
    // easily, so the held-out perplexity can flatter it in proportion: this says by how much to distrust it.
    double heldout_oov = 0;
    double grad_norm = 0;                       // mean over the epoch (before clipping)
    double lr = 0;                              // learning rate used in this epoch
    double seconds = 0, tokens_per_s = 0;
    bool best = false;
    nlohmann::json to_json() const;
    static LmEpochRecord from_json(const nlohmann::json& j);
};

class LmTrainer {
public:
    // `tokens` is the whole corpus as ids of lm.tokenizer, whose vocabulary should come from the training part only
    // (load_lm_corpus with the same held-out fraction), or held-out words count as known. Throws Error when the training or held-out
    // part is too short for the mode's windows or streams (the message names the numbers).
    LmTrainer(LanguageModel& lm, Optimizer& optimizer, const std::vector<int32_t>& tokens, LmTrainOptions options);

    std::function<void(const LmProgress&)> on_progress;  // every ~0.25 s and at the end of an epoch
    std::function<void(const LmEpochRecord&)> on_epoch;
    std::function<void(const std::string&)> on_message;  // where a resumed run continues

    // Trains for options.epochs epochs and returns the history. Throws NumericError naming the epoch
    // and step when the loss, the gradient norm or the parameters turn NaN/Inf. Steps are queued and
    // their results read back every 32 steps (or sooner for progress, a checkpoint or a stop), so on a
    // GPU the host never waits for a step; the records are the same as reading each step at once.
    std::vector<LmEpochRecord> fit();
    // The epochs trained so far (after fit() threw, the ones before the failure).
    const std::vector<LmEpochRecord>& history() const { return history_; }

    size_t train_tokens() const { return train_tokens_; }
    size_t heldout_tokens() const { return heldout_tokens_; }
    size_t heldout_unknown() const { return heldout_unknown_; }  // held-out tokens that are <unk>
    double heldout_oov() const {                                 // their share (0 with nothing held out)
        return heldout_tokens_ ? double(heldout_unknown_) / double(heldout_tokens_) : 0.0;
    }
    long steps_per_epoch() const;
    size_t next_chunk() const { return cursor_; }  // stream mode: the chunk the next step trains on
    // Inference-mode loss/accuracy on the training part: all windows, or with --max-chunks M as many as M steps
    // train on (M x batch, evenly spaced: a short run is not followed by a pass over a whole book); or the whole
    // stream.
    LmEval evaluate_train();
    size_t train_windows() const;  // window mode: all of them
    LmEval evaluate_heldout();  // predictions == 0 when nothing is held out

private:
    // What to change when the numbers go bad: for a new run, with --overwrite once an unfinished last.safetensors
    // of this run is in --out (models/detail/divergence_advice.h).
    std::string divergence_advice() const;
    // The epoch in progress, saved mid-epoch so a resumed run continues with the same running sums.
    struct EpochState {
        int epoch = 0;
        long steps_done = 0, steps = 0, correct = 0, predictions = 0;
        double loss_sum = 0, norm_sum = 0, seconds = 0;
        // Stored in last.safetensors; every field is required when read back (JSON keeps doubles exactly).
        NLOHMANN_DEFINE_TYPE_INTRUSIVE(EpochState, epoch, steps_done, steps, correct, predictions, loss_sum, norm_sum,
                                       seconds)
    };

    // Queues step `step`'s work; its results are left at results[StepSlot]. Returns its predictions.
    long train_step(int epoch, long step, double* results);
    void train_epoch(EpochState& st, bool resumed);
    void save(const std::string& name, const EpochState* in_progress = nullptr);
    void resume_from_last();  // and its parts, in the order it runs them:
    void check_resumed_settings(const Checkpoint& c, bool has_info, const std::string& path) const;
    void read_resumed_history(const nlohmann::json& training_block, const std::string& path);
    void read_stream_position(const Checkpoint& c, const nlohmann::json& training_block, const std::string& path);
    void read_epoch_in_progress(const nlohmann::json& training_block, const std::string& path);
    // The recorded settings that differ from this run's ("lr: 0.01 saved, 0.5 now"); throws for another text.
    std::vector<std::string> setting_differences(const nlohmann::json& saved, const std::string& path) const;
    void check_best_checkpoint(const std::string& last_path, const nlohmann::json& last_history);
    [[noreturn]] void save_and_stop(const EpochState& st);
    // For a message about memory running out: what one step holds ("training LSTM ... on 64 streams x 35-step
    // chunks"), and the flags of this mode that size it.
    std::string memory_context() const;
    const char* sizing_flags() const;

    LanguageModel& lm_;
    Optimizer& opt_;
    LmTrainOptions o_;
    size_t train_tokens_ = 0, heldout_tokens_ = 0, heldout_unknown_ = 0;
    // window mode
    text::WindowDataset windows_;
    std::vector<size_t> order_;
    WindowBuffers wbuf_;
    // stream mode
    std::vector<int32_t> heldout_stream_;
    std::vector<text::StreamBatches> train_stream_;  // zero or one (StreamBatches has no empty state)
    size_t cursor_ = 0;                              // next training chunk
    SequenceModel::State state_;                     // carried from chunk to chunk
    SequenceModel::State spare_state_;               // the next chunk's final state is written here, then swapped
    StreamBuffers sbuf_;
    // fit()'s progress (members so mid-epoch saves can write them)
    std::vector<LmEpochRecord> history_;
    double best_ = 0;
    EpochState resumed_;  // epoch in progress read from last.safetensors (epoch 0 = none)
    StepResults step_results_;
};

}  // namespace fusedrnn
