// `fusedrnn lm-train`: trains a word- or character-level language model on a text file.
// Defaults are the course's Aesop setting (word tokens, 3 words in → next word, LSTM 128), so
// `fusedrnn lm-train --text belling_the_cat.txt` works as is; a character model on a long corpus
// adds `--tokenizer char --mode stream`. One line per epoch on stdout; a live line on stderr when it
// is a terminal.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <unistd.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "fusedrnn/core/backend.h"
#include "fusedrnn/core/data/text.h"
#include "fusedrnn/core/text/sampling.h"
#include "fusedrnn/models/lm_corpus.h"
#include "fusedrnn/models/lm_generate.h"
#include "fusedrnn/models/checkpoint.h"
#include "fusedrnn/models/detail/divergence_advice.h"
#include "fusedrnn/models/lm_trainer.h"
#include "fusedrnn/tools/atomic_write.h"
#include "fusedrnn/tools/cli_checks.h"
#include "fusedrnn/tools/interrupt.h"
#include "fusedrnn/tools/lm_commands.h"
#include "fusedrnn/tools/output_paths.h"
#include "fusedrnn/tools/progress.h"
#include "fusedrnn/tools/run_folder.h"
#include "fusedrnn/tools/svg_plot.h"

namespace fusedrnn::tools {
namespace {

// Whether the file at `path` starts with UTF-8's byte-order mark.
bool has_utf8_bom(const std::string& path) {
    char head[3] = {};
    std::ifstream in(path, std::ios::binary);
    return in.read(head, 3) && std::string(head, 3) == "\xEF\xBB\xBF";
}

struct TrainFlags {
    std::string text, tokenizer = "word", mode = "window", cell = "lstm", optimizer = "adam", backend = "auto";
    std::string out = "runs/lm";
    bool lowercase = false;
    long min_count = 1, max_vocab = 0;
    int context = 3, bptt = 64, streams = 32;
    int embedding = 32, hidden = 128, layers = 1;
    float dropout = 0;
    bool dropout_locked = false;
    int epochs = 30, batch = 32;
    long max_chunks = 0;
    float lr = 0.01f;
    std::optional<float> weight_decay;  // default_weight_decay(optimizer) when not given
    double clip = 5.0, heldout = 0.1, lr_decay = 1.0;
    uint64_t seed = 0;
    int sample = 0;
    bool resume = false, overwrite = false;
    double checkpoint_minutes = 10;
    std::vector<std::string> given;  // the flags on the command line (for the mode-specific ones' warnings)
    bool was_given(const std::string& flag) const {
        for (const auto& g : given)
            if (g == flag) return true;
        return false;
    }
};

std::string si(double v) {
    if (v >= 1e6) return fmt::format("{:.1f}M", v / 1e6);
    if (v >= 1e3) return fmt::format("{:.1f}k", v / 1e3);
    return fmt::format("{:.0f}", v);
}

// The progress line (stderr): on a terminal rewritten in place, erased before each epoch line; elsewhere a plain line
// now and then (progress_line).
void show_progress(const LmProgress& p) {
    progress_line(fmt::format("  epoch {}/{} | step {}/{} | loss {:.4f} | acc {:.1f}% | {} tok/s | ETA {:.0f}s",
                              p.epoch, p.epochs, p.step, p.steps, p.loss, 100 * p.accuracy, si(p.tokens_per_s),
                              p.eta_s));
}

// Whether the held-out <unk> share is printed: always for words (words unseen in the training part, and any
// --min-count or --max-vocab cut, leave some); for characters when the held-out part has any (a character unseen in
// the training part) or the vocabulary was cut, since otherwise it is 0. (log.csv and the checkpoint's history record
// it either way.)
bool show_oov(const text::TokenizerOptions& t, size_t heldout_unknown) {
    return t.kind == text::TokenizerKind::Word || t.min_count > 1 || t.max_size > 0 || heldout_unknown > 0;
}

// The flags that cut the vocabulary, as given: "--min-count 3", "--min-count 3 and --max-vocab 5000".
std::string cut_flags(const text::TokenizerOptions& t) {
    std::vector<std::string> flags;
    if (t.min_count > 1) flags.push_back(fmt::format("--min-count {}", t.min_count));
    if (t.max_size > 0) flags.push_back(fmt::format("--max-vocab {}", t.max_size));
    return flags.empty() ? std::string("--min-count / --max-vocab") : fmt::format("{}", fmt::join(flags, " and "));
}

// What --resume continues with when last.safetensors was written before the vocabulary came from the training part
// (its settings have no "vocabulary" entry): its model was trained on a vocabulary of the whole text, held-out part
// included, and goes on with it. `tokenizer` is that vocabulary when the tokenizer flags are the run's; with others
// the resume is refused as any change of vocabulary is (the trainer's checks).
struct EarlierVocabulary {
    bool whole_text = false;
    std::optional<text::Tokenizer> tokenizer;
};

EarlierVocabulary earlier_vocabulary(const TrainFlags& f, const text::TokenizerOptions& topt) {
    EarlierVocabulary r;
    if (!f.resume) return r;
    try {
        const Checkpoint c = read_checkpoint((std::filesystem::path(f.out) / "last.safetensors").string());
        const nlohmann::json& x = c.extra;
        if (!x.is_object() || !x.contains("training") || !x.at("training").is_object() ||
            !x.at("training").contains("info") || !x.at("training").at("info").is_object() ||
            x.at("training").at("info").contains(kVocabularyKey))
            return r;
        r.whole_text = true;
        if (!x.contains("tokenizer")) return r;
        text::Tokenizer tok = text::Tokenizer::from_json(x.at("tokenizer").dump());
        const text::TokenizerOptions& o = tok.options();
        if (o.kind == topt.kind && o.lowercase == topt.lowercase && o.min_count == topt.min_count &&
            o.max_size == topt.max_size && (o.kind != text::TokenizerKind::Word || o.word_rules == topt.word_rules))
            r.tokenizer = std::move(tok);
    } catch (const Error&) {  // missing or unreadable: the trainer's --resume checks say so
    } catch (const nlohmann::json::exception&) {
    }
    return r;
}

std::string percent(double share) { return fmt::format("{:.1f}%", 100 * share); }

void epoch_line(const LmEpochRecord& r, int epochs, bool tty, bool oov) {
    if (tty) std::fprintf(stderr, "\r\033[K");
    std::string line = fmt::format("epoch {}/{} | loss {} acc {:.1f}%", r.epoch, epochs, data::figure(r.train_loss, 4),
                                   100 * r.train_accuracy);
    if (r.has_heldout)
        line += fmt::format(" | held-out loss {} acc {:.1f}% ppl {}{}", data::figure(r.heldout_loss, 4),
                            100 * r.heldout_accuracy, data::figure(std::exp(r.heldout_loss), 2),
                            oov ? " oov " + percent(r.heldout_oov) : std::string());
    line += fmt::format(" | grad-norm {} | {} tok/s | {:.2f}s{}", data::figure(r.grad_norm, 2), si(r.tokens_per_s),
                        r.seconds, r.best ? " | best" : "");
    fmt::print("{}\n", line);
    std::fflush(stdout);
}

// OUT/log.csv (a line per epoch, the whole run's after a resume) and OUT/loss.svg (training and held-out loss per
// epoch), as `train` writes for forecasters.
void write_history(const std::string& out, const std::vector<LmEpochRecord>& history, const std::string& model) {
    std::string csv = "epoch,train_loss,train_accuracy,heldout_loss,heldout_accuracy,heldout_perplexity,heldout_oov,"
                      "grad_norm,lr,seconds,tokens_per_s,best\n";
    Series train{"training", {}, {}, "#1f77b4"}, heldout{"held-out", {}, {}, "#d62728"};
    for (const auto& r : history) {
        const std::string h = r.has_heldout ? fmt::format("{:.6f},{:.6f},{:.4f},{:.6f}", r.heldout_loss,
                                                          r.heldout_accuracy, std::exp(r.heldout_loss), r.heldout_oov)
                                            : std::string(",,,");
        csv += fmt::format("{},{:.6f},{:.6f},{},{:.4f},{:g},{:.2f},{:.0f},{}\n", r.epoch, r.train_loss, r.train_accuracy,
                           h, r.grad_norm, r.lr, r.seconds, r.tokens_per_s, r.best ? 1 : 0);
        train.x.push_back(r.epoch);
        train.y.push_back(r.train_loss);
        if (!r.has_heldout) continue;
        heldout.x.push_back(r.epoch);
        heldout.y.push_back(r.heldout_loss);
    }
    write_file_atomically(out + "/log.csv", csv);
    std::vector<Series> lines{train};
    if (!heldout.x.empty()) lines.push_back(heldout);
    write_line_chart(out + "/loss.svg", model + " - cross-entropy (nats per token)", "epoch", "loss", lines,
                     YScale::LogWhenWide);
}

// An epoch whose training loss ended above a uniform guess (log V) by more than a nat per token: the optimization
// failed (a diverged rate), even where the numbers stayed finite. Judged on the training loss alone: a held-out loss
// can be high for other reasons (held-out words the vocabulary lacks, scored as <unk>; a memorised text).
bool diverged(const LmEpochRecord& r, int vocab) {
    return !std::isfinite(std::exp(r.train_loss)) || r.train_loss > std::log(double(vocab)) + 1;
}

// "the training loss of epoch 3 is 5.925e+28 nats per token, above the 2.40 of a uniform guess over the vocabulary
// of 11"
std::string divergence_figures(const LmEpochRecord& r, int vocab) {
    return fmt::format("the training loss of epoch {} is {} nats per token, above the {:.2f} of a uniform guess over "
                       "the vocabulary of {}", r.epoch, data::figure(r.train_loss, 4), std::log(double(vocab)), vocab);
}

// The other mode's flags: warned about when given, then set to their defaults, so that they are neither checked nor
// compared with a resumed run's.
void settle_mode_flags(TrainFlags& f, bool window_mode) {
    for (const char* flag : window_mode ? std::vector<const char*>{"--bptt", "--streams"}
                                        : std::vector<const char*>{"--context", "--batch"})
        if (f.was_given(flag))
            fmt::print("warning: {} does nothing in {} mode (it is for --mode {})\n", flag, f.mode,
                       window_mode ? "stream" : "window");
    const TrainFlags defaults;
    if (window_mode) {
        f.bptt = defaults.bptt;
        f.streams = defaults.streams;
    } else {
        f.context = defaults.context;
        f.batch = defaults.batch;
    }
}

// The word-splitting rules of the run in `out` (its last.safetensors' vocabulary), or the latest where it has none
// to read (the trainer's --resume checks say why).
int word_rules_of_run(const std::string& out) {
    try {
        const Checkpoint c = read_checkpoint((std::filesystem::path(out) / "last.safetensors").string());
        if (c.extra.is_object() && c.extra.contains("tokenizer"))
            return text::Tokenizer::from_json(c.extra.at("tokenizer").dump()).options().word_rules;
    } catch (const Error&) {
    } catch (const nlohmann::json::exception&) {
    }
    return text::kWordSplitRules;
}

// The tokenizer the flags ask for. Its limits are checked here to name the flags (the tokenizer's own checks name
// its fields: min_count, max_size).
text::TokenizerOptions tokenizer_options(const TrainFlags& f) {
    FR_CHECK(f.min_count >= 1, "--min-count must be at least 1, got {}", f.min_count);
    FR_CHECK(f.max_vocab == 0 || f.max_vocab >= 2, "--max-vocab must be 0 (no cap) or at least 2 (<unk> and one "
             "token), got {}", f.max_vocab);
    text::TokenizerOptions topt;
    topt.kind = text::parse_tokenizer_kind(f.tokenizer);
    topt.lowercase = f.lowercase;
    topt.min_count = f.min_count;
    topt.max_size = f.max_vocab;
    // A resumed run splits words as its vocabulary was made: one from before 0.3.14 by rules 1 (word_split.h).
    if (f.resume && topt.kind == text::TokenizerKind::Word) topt.word_rules = word_rules_of_run(f.out);
    return topt;
}

// The text's tokens and vocabulary: the training part's, or the whole text's where the run resumed was trained so
// (`earlier`, set here: the text is read first, so that its errors come first).
LmCorpus load_corpus(const TrainFlags& f, const text::TokenizerOptions& topt, EarlierVocabulary& earlier) {
    LmCorpus corpus = load_lm_corpus(f.text, topt, f.heldout);
    earlier = earlier_vocabulary(f, topt);
    if (earlier.tokenizer) {  // its tokens: the whole text's, held-out part included
        corpus.tokens = encode_text_file(f.text, *earlier.tokenizer).tokens;
        corpus.tokenizer = *earlier.tokenizer;
        corpus.vocab_tokens = corpus.tokens.size();
        corpus.heldout_unseen = 0;
    }
    const char* unit = f.tokenizer == "char" ? "character" : "word";
    FR_CHECK(corpus.tokenizer.size() >= 2, "--min-count {}: no {} of {} occurs that often, so the vocabulary would be "
             "<unk> alone; lower --min-count", f.min_count, unit,
             corpus.vocab_tokens < corpus.tokens.size()
                 ? fmt::format("the training part of {} (its first {} {}s)", f.text, corpus.vocab_tokens, unit)
                 : f.text);
    return corpus;
}

// The trainer's options from the flags; `info` is what the checkpoint records of the run (a resume must match it).
LmTrainOptions train_options(const TrainFlags& f, const OptimizerConfig& oc, const LmCorpus& corpus,
                             const EarlierVocabulary& earlier, FolderLock& out_lock) {
    LmTrainOptions o;
    o.epochs = f.epochs;
    o.batch = f.batch;
    o.clip = f.clip;
    o.heldout = f.heldout;
    o.lr_decay = f.lr_decay;
    o.seed = f.seed;
    o.max_chunks = f.max_chunks;
    o.out_dir = f.out;
    o.resume = f.resume;
    o.overwrite = f.overwrite;
    o.checkpoint_seconds = f.checkpoint_minutes * 60;
    o.stop_requested = &StopOnSignal::requested;
    o.before_save = [&out_lock] { out_lock.keep_held(); };
    o.info = {{"text", f.text}, {kTextBytesKey, corpus.bytes}, {kTextHashKey, fmt::format("{:016x}", corpus.hash)},
              {"optimizer", f.optimizer}, {"lr", f.lr}, {"seed", f.seed}, {"batch", f.batch},
              {"clip", f.clip}, {"heldout", f.heldout}, {"lr_decay", f.lr_decay}, {"max_chunks", f.max_chunks}};
    // Only when there is one, so a run without weight decay resumes from checkpoints written before the flag existed.
    if (oc.weight_decay > 0) o.info["weight_decay"] = oc.weight_decay;
    // A run resumed from before the vocabulary came from the training part goes on as it was recorded.
    if (!earlier.whole_text) o.info[kVocabularyKey] = "training part";
    return o;
}

// The "text", "model", "mode" and "held-out" lines of the run's header (the "optimizer" line follows once the
// signals are handled).
void print_header(const TrainFlags& f, const text::TokenizerOptions& topt, const LmCorpus& corpus,
                  const EarlierVocabulary& earlier, const LanguageModel& lm, const RnnSpec& spec,
                  const Backend<float>& backend, const LmTrainer& trainer, bool oov) {
    // With nothing held out (or a held-out part that rounds to no token) the training part is the whole text.
    const bool from_training_part = corpus.vocab_tokens < corpus.tokens.size();
    const std::string vocab_source =
        earlier.tokenizer && f.heldout > 0
            ? fmt::format(" from the whole text, held-out part included, as {}/last.safetensors was trained (before the "
                          "vocabulary came from the training part only; a new run takes it from there)", f.out)
        : from_training_part ? std::string(" from the training part")
                             : std::string();
    // The file's own size (what `ls -l` shows), and the text's where reading changed it (a byte-order mark dropped,
    // CRLF read as LF): the checkpoint records the text's.
    std::error_code size_error;
    const auto file_bytes = std::filesystem::file_size(f.text, size_error);
    // Which of the two changes it says by the bytes: a mark is 3, each CR one (QA: a CRLF file without a mark was
    // said to be read "without its byte-order mark").
    const auto size_note = [&] {
        const bool bom = has_utf8_bom(f.text);
        const size_t dropped = size_t(file_bytes - corpus.bytes);
        if (bom && dropped == 3) return std::string("without its byte-order mark");
        if (!bom) return fmt::format("without the CR of {} CRLF line end{}", dropped, dropped == 1 ? "" : "s");
        return fmt::format("without its byte-order mark and the CR of {} CRLF line end{}", dropped - 3,
                           dropped - 3 == 1 ? "" : "s");
    };
    const std::string size = size_error || file_bytes <= corpus.bytes
                                 ? fmt::format("{} bytes", corpus.bytes)
                                 : fmt::format("{} bytes ({} as text, {})", file_bytes, corpus.bytes, size_note());
    fmt::print("text      {}: {}, {} {} tokens, vocabulary {} (with <unk>){}\n", f.text, size, corpus.tokens.size(),
               f.tokenizer, corpus.tokenizer.size(), vocab_source);
    fmt::print("model     {} embedding {}{}, {} parameters, backend {}{}\n", spec.describe(), f.embedding,
               f.dropout > 0 ? fmt::format(", {}dropout {:g}", f.dropout_locked ? "locked " : "", f.dropout) : std::string(), lm.model->params().size(),
               backend.name(), backend.details().empty() ? "" : " (" + backend.details() + ")");
    const LmSettings& settings = lm.settings;
    if (settings.mode == LmMode::Window)
        fmt::print("mode      window: {} → next; {} training / {} held-out tokens; {} per epoch\n",
                   data::counted(size_t(settings.context), "token", "tokens"), trainer.train_tokens(),
                   trainer.heldout_tokens(),
                   // A text of fewer windows than a batch has one smaller batch (QA: "1 step of 32" for 1 window).
                   trainer.train_windows() < size_t(f.batch)
                       ? fmt::format("1 step of all {}", data::counted(trainer.train_windows(), "window", "windows"))
                       : fmt::format("{} of {}", data::counted(size_t(trainer.steps_per_epoch()), "step", "steps"),
                                     f.batch));
    // Each stream is 1/N of the text (core/text/streams.h): on a short text a stream may hold fewer steps than --bptt,
    // and a chunk is then that long.
    const size_t per_stream = trainer.train_tokens() / size_t(settings.streams);
    const size_t chunk = per_stream >= 2 ? std::min(size_t(settings.bptt), per_stream - 1) : size_t(settings.bptt);
    if (settings.mode != LmMode::Window) {
        fmt::print("mode      stream: {} × chunks of {}; {} training / {} held-out tokens; {} per epoch\n",
                   data::counted(size_t(settings.streams), "stream", "streams"),
                   data::counted(chunk, "step", "steps"), trainer.train_tokens(), trainer.heldout_tokens(),
                   data::counted(size_t(trainer.steps_per_epoch()), "chunk", "chunks"));
        if (chunk < size_t(settings.bptt)) {
            std::fflush(stdout);  // after the header line, where both streams go to one place
            // With one stream the text itself is too short: fewer streams cannot help.
            fmt::print(stderr, "warning: {} {} of the training text, so a chunk is {}, not --bptt {}: {}\n",
                       settings.streams == 1 ? std::string("the one stream holds")
                                             : fmt::format("each of the {} streams holds", settings.streams),
                       data::counted(per_stream, "token", "tokens"), data::counted(chunk, "step", "steps"),
                       settings.bptt,
                       settings.streams == 1 ? "a smaller --bptt says so, or give a longer text"
                                             : "use fewer --streams for longer chunks");
        }
    }
    if (trainer.heldout_tokens() > 0 && oov) {
        const size_t unknown = trainer.heldout_unknown(), unseen = std::min(corpus.heldout_unseen, unknown);
        std::vector<std::string> why;
        if (unseen > 0) why.push_back(fmt::format("{} never occur{} in the training part", unseen, unseen == 1 ? "s" : ""));
        if (unknown > unseen) why.push_back(fmt::format("{} cut by {}", unknown - unseen, cut_flags(topt)));
        fmt::print("held-out  {} of the {} held-out tokens ({}) {} <unk>, outside the {}vocabulary{}{}\n", unknown,
                   trainer.heldout_tokens(), percent(trainer.heldout_oov()), unknown == 1 ? "is" : "are",
                   from_training_part ? "training part's " : "",
                   why.empty() ? std::string() : fmt::format(" ({})", fmt::join(why, ", ")),
                   unknown > 0 ? ": " + lm.unk_scoring_effect() : std::string());
    }
}

// After training: the final evaluation (window mode), the best held-out figures, where the files are, and what the
// losses say. A stop request here ends the run as complete (exit 130, the files training saved).
void print_final_report(const TrainFlags& f, LmTrainer& trainer, const std::vector<LmEpochRecord>& history,
                        int vocab, bool window, bool oov) {
    int best = 0;
    for (const auto& r : history)
        if (r.best) best = r.epoch;
    const LmEpochRecord& best_record = history[size_t(best > 0 ? best - 1 : history.size() - 1)];
    const std::string saved = fmt::format("{0}/last.safetensors (epoch {1}), {0}/best.safetensors (epoch {2}, lowest "
                                          "{3} loss), log.csv, loss.svg", f.out, history.back().epoch, best,
                                          history.back().has_heldout ? "held-out" : "training");
    StopOnSignal::evaluating();
    if (StopOnSignal::requested())
        throw Interrupted(fmt::format("stopped after the last epoch; the run is complete: saved {}", saved));
    if (window) {
        const LmEval t = [&] {
            try {
                return trainer.evaluate_train();
            } catch (const Interrupted&) {
                throw Interrupted(fmt::format("stopped during the final evaluation; the run is complete: saved {}",
                                              saved));
            }
        }();
        const size_t all = trainer.train_windows();
        fmt::print("final     training windows (inference): loss {}, accuracy {:.1f}% ({})\n", data::figure(t.loss, 4),
                   100 * t.accuracy,
                   t.predictions < all ? fmt::format("{} of {} windows, evenly spaced: as many as --max-chunks {} "
                                                     "trains on", t.predictions, all, f.max_chunks)
                                       : data::counted(size_t(t.predictions), "window", "windows"));
    }
    StopOnSignal::finishing();  // only lines left to print: a signal from here lets them finish (exit 0)
    if (best_record.has_heldout)
        fmt::print("final     held-out (best.safetensors, epoch {}): loss {}, accuracy {:.1f}%, perplexity {}{}\n",
                   best_record.epoch, data::figure(best_record.heldout_loss, 4), 100 * best_record.heldout_accuracy,
                   data::figure(std::exp(best_record.heldout_loss), 2),
                   oov ? fmt::format(", {} of the held-out tokens <unk>", percent(best_record.heldout_oov))
                       : std::string());
    fmt::print("saved     {}\n", saved);
    // A diverged run is no success: with neither checkpoint of use it fails (exit 3, as a NaN loss does), else it
    // says which one is. Neither is a memorised text (the note below).
    const std::string advice = fusedrnn::detail::divergence_advice(f.clip, f.resume);
    if (diverged(history.back(), vocab) && diverged(best_record, vocab))
        throw TrainingDiverged(fmt::format("the training diverged: {}{}; the checkpoints were written but are of little "
                                           "use: {}", divergence_figures(history.back(), vocab),
                                           best_record.epoch == history.back().epoch
                                               ? std::string()
                                               : ", and best.safetensors' (epoch " + std::to_string(best_record.epoch) +
                                                     ") is " + data::figure(best_record.train_loss, 4),
                                           advice));
    if (diverged(history.back(), vocab)) {
        fmt::print("warning   the training diverged: {}; last.safetensors is of little use, best.safetensors (epoch {}, "
                   "training loss {}) is from before: {}\n", divergence_figures(history.back(), vocab),
                   best_record.epoch, data::figure(best_record.train_loss, 4), advice);
        return;
    }
    // A tiny text such as a fable is memorised: the held-out loss rises from the first epochs on, so
    // best.safetensors is an early, barely trained model. Say so rather than let it surprise.
    if (window && history.back().has_heldout && best < history.back().epoch)
        fmt::print("note      the held-out loss was lowest at epoch {}; later epochs fitted the training text more "
                   "closely.\n          To continue the training text use last.safetensors; for the model that "
                   "generalises best, best.safetensors.\n", best);
}

void run(TrainFlags f) {
    FR_CHECK(f.out.find_first_not_of(" \t") != std::string::npos, "--out is empty: give the folder for the "
             "checkpoints, log.csv and loss.svg (default runs/lm)");
    check_dropout_rate(f.dropout, "--dropout");  // before the text is read
    // Named by their flags, as train names them (QA: "RnnSpec: input_size must be in [1, 16777216]").
    FR_CHECK(f.embedding <= kMaxRnnSize, "--embedding {} is beyond this engine's limit of {}", f.embedding, kMaxRnnSize);
    FR_CHECK(f.hidden <= kMaxRnnSize, "--hidden {} is beyond this engine's limit of {} units", f.hidden, kMaxRnnSize);
    FR_CHECK(f.layers <= kMaxRnnLayers, "--layers {} is beyond this engine's limit of {}", f.layers, kMaxRnnLayers);
    const bool window = parse_lm_mode(f.mode) == LmMode::Window;
    settle_mode_flags(f, window);
    // One run at a time in --out, and never into another kind of run's folder: checked before the text is read.
    check_folder_writable("--out", f.out);  // as train's (QA's recheck: a link to nothing said "File exists")
    FolderLock out_lock(f.out, "--out");
    const bool replaces_forecaster = check_previous_run(f.out, RunKind::LanguageModel, f.resume, f.overwrite);
    check_input_outside_run_files("--text", f.text, f.out);
    if (f.dropout_locked && f.dropout == 0)
        fmt::print("warning: --dropout-locked does nothing without --dropout: it says how the masks are drawn\n");
    const text::TokenizerOptions topt = tokenizer_options(f);
    EarlierVocabulary earlier;
    const LmCorpus corpus = load_corpus(f, topt, earlier);

    LmSettings settings;
    settings.mode = parse_lm_mode(f.mode);
    settings.context = f.context;
    settings.bptt = f.bptt;
    settings.streams = f.streams;
    // Whether the vocabulary left out some of the training part's tokens: then <unk> is a token the model learns.
    const auto training_part_end = corpus.tokens.begin() + std::ptrdiff_t(corpus.vocab_tokens);
    settings.unk_in_training =
        std::find(corpus.tokens.begin(), training_part_end, text::Tokenizer::unk_id()) != training_part_end;
    const RnnSpec spec{parse_cell(f.cell), f.embedding, f.hidden, f.layers, false};
    auto backend = make_backend(f.backend);
    LanguageModel lm = make_language_model(backend, spec, corpus.tokenizer, settings, f.seed);
    lm.model->set_dropout(f.dropout);
    lm.model->set_dropout_locked(f.dropout_locked);

    OptimizerConfig oc;
    oc.name = f.optimizer;
    oc.lr = f.lr;
    oc.weight_decay = f.weight_decay.value_or(default_weight_decay(f.optimizer));
    auto opt = make_optimizer(lm.model->params(), oc);
    LmTrainer trainer(lm, *opt, corpus.tokens, train_options(f, oc, corpus, earlier, out_lock));
    // A cap above the whole text caps nothing (QA: --max-chunks 100 on a text of 6 chunks trained 6 without a word).
    if (f.max_chunks > trainer.steps_per_epoch())
        fmt::print("warning: --max-chunks {} does nothing: an epoch over the whole training text is only {}\n",
                   f.max_chunks, data::counted(size_t(trainer.steps_per_epoch()), "step", "steps"));

    const bool oov = show_oov(topt, trainer.heldout_unknown());
    print_header(f, topt, corpus, earlier, lm, spec, *backend, trainer, oov);
    // Ctrl-C / SIGTERM: save last.safetensors at the next step, exit 130; after training (its last sample, the final
    // evaluation) it stops that work and exits 130 too, with the files training saved. Installed before the last
    // header line is printed, so a signal sent on seeing that line never meets the default action (ended unsaved).
    const StopOnSignal stop_on_ctrl_c;
    fmt::print("optimizer {}{} lr {:g}{}, clip {}; checkpoints in {}\n", f.optimizer,
               oc.weight_decay > 0 ? fmt::format(" ({} weight decay {:g})", f.optimizer == "adamw" ? "decoupled" : "L2",
                                                 oc.weight_decay)
                                   : std::string(),
               f.lr,
               f.lr_decay != 1 ? fmt::format(" × {:g} per epoch", f.lr_decay) : "",
               f.clip > 0 ? fmt::format("{:g}", f.clip) : std::string("off"), f.out);
    std::fflush(stdout);

    const bool tty = ::isatty(fileno(stderr)) != 0;
    trainer.on_progress = show_progress;
    trainer.on_message = [](const std::string& m) {
        fmt::print("{}\n", m);
        std::fflush(stdout);
    };
    // A sample after each epoch shows the model learning to write (the course's char-RNN demo).
    LmGenerator gen(lm);
    const std::vector<int32_t> seed_ids(corpus.tokens.begin(),
                                        corpus.tokens.begin() + (window ? settings.context : 1));
    trainer.on_epoch = [&](const LmEpochRecord& r) {
        epoch_line(r, f.epochs, tty, oov);
        if (f.sample > 0) {  // a stop already requested cuts it at once: "sample: <seed> [stopped]"
            text::SamplingOptions so;
            so.temperature = 0.8;
            text::Sampler sampler(so, f.seed + uint64_t(r.epoch));
            std::vector<int32_t> ids = seed_ids;
            // Ctrl-C while sampling ends the sample there; the trainer then stops at its next step (exit 130).
            const auto more = gen.generate_ids(ids, f.sample, sampler,
                                               [](int32_t) { return !StopOnSignal::requested(); });
            ids.insert(ids.end(), more.begin(), more.end());
            fmt::print("  sample: {}{}\n", lm.tokenizer.decode(ids),
                       int(more.size()) < f.sample ? " [stopped]" : "");
            std::fflush(stdout);
        }
    };
    // A new run replaces the one in --out (tools/run_folder.h): its files move to --out/previous/ now, so a run
    // stopped early never leaves the old best.safetensors beside its own last.safetensors. With --overwrite over a
    // forecaster run, that run's report moves too.
    if (!f.resume) keep_previous_run(f.out, RunKind::LanguageModel, replaces_forecaster);
    const std::string curve_title = fmt::format("{} H={} {}", f.cell, f.hidden, f.tokenizer);
    const auto history = [&] {
        try {
            return trainer.fit();
        } catch (const NumericError&) {
            // The epochs before the numbers went bad are worth their log and curve: they show how the run diverged.
            if (!trainer.history().empty()) write_history(f.out, trainer.history(), curve_title);
            throw;
        }
    }();
    FR_CHECK(!history.empty(), "no epoch trained");
    write_history(f.out, history, curve_title);
    print_final_report(f, trainer, history, int(corpus.tokenizer.size()), window, oov);
}

}  // namespace

void register_lm_train(CLI::App& app) {
    auto* cmd = app.add_subcommand("lm-train", "Train a word- or character-level language model on a text file");
    auto f = std::make_shared<TrainFlags>();
    cmd->add_option("--text", f->text, "UTF-8 text file to learn")->required();
    // Checked as the flags are read, so that the error names the flag (as --cell's does).
    cmd->add_option("--tokenizer", f->tokenizer, "word (words and punctuation) or char (Unicode code points)")
        ->capture_default_str()
        ->check(library_check([](const std::string& name) { (void)text::parse_tokenizer_kind(name); }));
    cmd->add_flag("--lowercase", f->lowercase, "Lower-case the text before building the vocabulary");
    cmd->add_option("--min-count", f->min_count, "Tokens seen fewer times in the training part become <unk>")
        ->capture_default_str();
    cmd->add_option("--max-vocab", f->max_vocab, "Largest vocabulary incl. <unk> (0 = no cap): the training part's "
                    "most frequent tokens")->capture_default_str();
    cmd->add_option("--mode", f->mode, "window (context tokens → next) or stream (truncated BPTT)")
        ->capture_default_str()
        ->check(library_check([](const std::string& name) { (void)parse_lm_mode(name); }));
    cmd->add_option("--context", f->context, "window mode: tokens in per prediction")->capture_default_str();
    cmd->add_option("--bptt", f->bptt, "stream mode: steps per truncated-BPTT chunk")->capture_default_str();
    cmd->add_option("--streams", f->streams, "stream mode: parallel streams (the batch)")->capture_default_str();
    cmd->add_option("--cell", f->cell, "lstm, gru (or gru_reset_after), gru_reset_before, rnn_tanh (or rnn), rnn_relu")
        ->capture_default_str()->check(kCellName);
    cmd->add_option("--embedding", f->embedding, "Embedding size")->capture_default_str()->check(kPositive);
    cmd->add_option("--hidden", f->hidden, "Hidden size")->capture_default_str()->check(kPositive);
    cmd->add_option("--layers", f->layers, "Stacked recurrent layers")->capture_default_str()->check(kPositive);
    cmd->add_option("--dropout", f->dropout, "Dropout probability in training on the embedding, between layers and "
                    "before the output layer, as PyTorch's word_language_model (0 = off)")->capture_default_str();
    cmd->add_flag("--dropout-locked", f->dropout_locked,
                  "Variational dropout: one mask for every time step of a sequence (Gal & Ghahramani 2016; AWD-LSTM's "
                  "locked dropout) instead of a fresh one per step");
    cmd->add_option("--epochs", f->epochs, "Epochs")->capture_default_str();
    cmd->add_option("--max-chunks", f->max_chunks, "Steps per epoch (0 = the whole text; stream mode continues "
                    "where the last epoch stopped)")->capture_default_str()->check(kNonNegative);
    cmd->add_option("--batch", f->batch, "window mode: windows per step")->capture_default_str();
    cmd->add_option("--lr", f->lr, "Learning rate")->capture_default_str()->check(kPositiveFloat);
    cmd->add_option("--lr-decay", f->lr_decay, "Learning-rate factor applied after each epoch, in (0, 1] (1 = constant)")
        ->capture_default_str();
    cmd->add_option("--optimizer", f->optimizer,
                    "adam, adamw (Adam with decoupled weight decay, as torch.optim.AdamW), rmsprop or sgd")
        ->capture_default_str()->check(kOptimizerName);
    cmd->add_option("--weight-decay", f->weight_decay,
                    "Weight decay: L2 (added to the gradient) for adam, sgd and rmsprop; decoupled for adamw "
                    "(default 0, adamw 0.01)")->check(kNonNegativeFloat);
    cmd->add_option("--clip", f->clip, "Gradient-norm clip (0 = off)")->capture_default_str();
    cmd->add_option("--heldout", f->heldout, "Fraction of the text (its end) held out for evaluation; the vocabulary "
                    "comes from the rest, so held-out tokens unseen there are <unk>")->capture_default_str()
        ->check(in_range(0, 1, true));
    cmd->add_option("--seed", f->seed, "Seed for initial weights, window order and samples")
        ->capture_default_str()
        ->check(kSeed);
    cmd->add_option("--sample", f->sample, "Tokens to sample after each epoch (0 = none)")->capture_default_str()
        ->check(kNonNegative);
    cmd->add_option("--backend", f->backend, "auto, cpu, cuda, cudnn")->capture_default_str();
    cmd->add_option("--out", f->out, "Folder for best.safetensors and last.safetensors")
        ->capture_default_str()
        ->transform(kFolderName);
    cmd->add_flag("--resume", f->resume, "Continue from <out>/last.safetensors with the same flags (also mid-epoch, "
                  "after Ctrl-C)");
    cmd->add_flag("--overwrite", f->overwrite, "Start over even if --out holds an unfinished run");
    cmd->add_option("--checkpoint-minutes", f->checkpoint_minutes,
                    "Also save <out>/last.safetensors within an epoch this often (0 = after each epoch only)")
        ->capture_default_str()->check(kNonNegative);
    cmd->callback([f, cmd] {
        for (const char* flag : {"--batch", "--context", "--bptt", "--streams"})
            if (cmd->count(flag) > 0) f->given.push_back(flag);
        run(*f);
    });
}

}  // namespace fusedrnn::tools
