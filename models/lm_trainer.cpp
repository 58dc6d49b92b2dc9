#include "fusedrnn/models/lm_trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <initializer_list>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "fusedrnn/core/data/text.h"
#include "fusedrnn/core/detail/json_error.h"
#include "fusedrnn/models/checkpoint.h"
#include "fusedrnn/models/detail/divergence_advice.h"
#include "fusedrnn/models/detail/resume_checks.h"

namespace fusedrnn {

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Fisher–Yates from mt19937_64's raw output (fixed by the standard), not std::shuffle, whose use of
// the generator is implementation-defined: the same seed gives the same window order everywhere.
void shuffle_indices(std::vector<size_t>& v, uint64_t seed, int epoch) {
    std::mt19937_64 rng(seed ^ (0x9E3779B97F4A7C15ull * uint64_t(epoch + 1)));
    for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[size_t(rng() % i)]);
}

// Streams for the held-out stream evaluation: as many as training uses, but no more than lets each
// stream hold one full chunk, so a short held-out part is not cut into fragments of a token or two.
int heldout_streams(size_t tokens, int streams, int bptt) {
    const size_t fit = tokens / size_t(bptt + 1);
    return int(std::max<size_t>(1, std::min<size_t>(size_t(streams), fit)));
}

}  // namespace

nlohmann::json LmEpochRecord::to_json() const {
    nlohmann::json j = {{"epoch", epoch},         {"train_loss", train_loss}, {"train_accuracy", train_accuracy},
                        {"grad_norm", grad_norm}, {"lr", lr}, {"seconds", seconds},       {"tokens_per_s", tokens_per_s},
                        {"best", best}};
    if (has_heldout) {
        j["heldout_loss"] = heldout_loss;
        j["heldout_accuracy"] = heldout_accuracy;
        j["heldout_perplexity"] = std::exp(heldout_loss);
        j["heldout_oov"] = heldout_oov;
    }
    return j;
}

LmEpochRecord LmEpochRecord::from_json(const nlohmann::json& j) {
    LmEpochRecord r;
    r.epoch = j.at("epoch").get<int>();
    r.train_loss = j.at("train_loss").get<double>();
    r.train_accuracy = j.at("train_accuracy").get<double>();
    r.grad_norm = j.at("grad_norm").get<double>();
    r.lr = j.at("lr").get<double>();
    r.seconds = j.at("seconds").get<double>();
    r.tokens_per_s = j.at("tokens_per_s").get<double>();
    r.best = j.at("best").get<bool>();
    r.has_heldout = j.contains("heldout_loss");
    if (r.has_heldout) {
        r.heldout_loss = j.at("heldout_loss").get<double>();
        r.heldout_accuracy = j.at("heldout_accuracy").get<double>();
        r.heldout_oov = j.value("heldout_oov", 0.0);  // absent before it was recorded: resume_from_last fills it in
    }
    return r;
}

LmTrainer::LmTrainer(LanguageModel& lm, Optimizer& optimizer, const std::vector<int32_t>& tokens,
                     LmTrainOptions options)
    : lm_(lm), opt_(optimizer), o_(std::move(options)) {
    FR_CHECK(o_.epochs >= 1, "--epochs must be at least 1, got {}", o_.epochs);
    FR_CHECK(o_.batch >= 1, "--batch must be at least 1, got {}", o_.batch);
    FR_CHECK(o_.max_chunks >= 0, "--max-chunks must be >= 0, got {}", o_.max_chunks);
    FR_CHECK(std::isfinite(o_.clip), "--clip must be a finite number (0 = off), got {}", o_.clip);  // QA: 1e400
    FR_CHECK(o_.clip >= 0, "--clip must be >= 0 (0 = off), got {}", o_.clip);
    FR_CHECK(std::isfinite(o_.lr_decay) && o_.lr_decay > 0 && o_.lr_decay <= 1,
             "--lr-decay must be in (0, 1] (1 = constant learning rate), got {}", o_.lr_decay);
    const LmSettings& s = lm_.settings;
    s.validate();
    check_token_ids(tokens, lm_.model->vocab(), "the training text");
    // A text too short for the mode is named by its file where the caller gave one (lm-train does).
    const std::string text_name = o_.info.is_object() ? o_.info.value("text", std::string()) : std::string();
    const auto split_text = [&] {
        // A text too short for even one prediction first, whatever is held out (QA: a 1-token text was told to raise
        // --heldout, then to hold out less, then that it was too short).
        const bool window = s.mode == LmMode::Window;
        const size_t least = window ? size_t(s.context) + 1 : 2;
        FR_CHECK(tokens.size() >= least, "the text has {}: too few for {}; give a longer text{}",
                 data::counted(tokens.size(), "token", "tokens"),
                 window ? fmt::format("one window of {} + 1 target",
                                      data::counted(size_t(s.context), "context token", "context tokens"))
                        : std::string("one prediction (a token and the one after it)"),
                 window && s.context > 1 && tokens.size() >= 2 ? ", or lower --context" : "");
        if (window) {
            // As make_window_dataset checks it, with this command's flags to change.
            const size_t heldout = text::heldout_size(tokens.size(), o_.heldout);
            FR_CHECK(o_.heldout == 0 || heldout > size_t(s.context), "the held-out {:g}% of the text is {}, too few for "
                     "one window of {} + 1 target; raise --heldout, {}or hold out nothing (--heldout 0)",
                     100 * o_.heldout, data::counted(heldout, "token", "tokens"),
                     data::counted(size_t(s.context), "context token", "context tokens"),
                     s.context > 1 ? "lower --context, " : "");
            windows_ = text::make_window_dataset(tokens, s.context, o_.heldout);
            train_tokens_ = windows_.train.count + size_t(s.context);
            heldout_tokens_ = windows_.heldout.count ? windows_.heldout.count + size_t(s.context) : 0;
            order_.resize(windows_.train.count);
            for (size_t i = 0; i < order_.size(); ++i) order_[i] = i;
        } else {
            text::HeldoutSplit split = text::split_heldout(tokens, o_.heldout);
            FR_CHECK(o_.heldout == 0 || split.heldout.size() >= 2,
                     "the held-out {:g}% of the text is {}, too few for one prediction; raise --heldout or hold out "
                     "nothing (--heldout 0)", 100 * o_.heldout, data::counted(split.heldout.size(), "token", "tokens"));
            train_tokens_ = split.train.size();
            heldout_tokens_ = split.heldout.size();
            train_stream_.emplace_back(split.train, s.streams, s.bptt);
            heldout_stream_ = std::move(split.heldout);
        }
    };
    if (text_name.empty())
        split_text();
    else
        naming_source(text_name, split_text);
    // Both modes hold out the last heldout_tokens_ tokens (text::split_heldout).
    heldout_unknown_ =
        size_t(std::count(tokens.end() - long(heldout_tokens_), tokens.end(), text::Tokenizer::unk_id()));
}

std::string LmTrainer::divergence_advice() const {
    return detail::divergence_advice(o_.clip, o_.resume, !history_.empty());
}

long LmTrainer::steps_per_epoch() const {
    const long all = lm_.settings.mode == LmMode::Window
                         ? long((windows_.train.count + size_t(o_.batch) - 1) / size_t(o_.batch))
                         : long(train_stream_.front().num_chunks());
    return o_.max_chunks > 0 ? std::min(all, o_.max_chunks) : all;
}

LmEval LmTrainer::evaluate_heldout() {
    if (lm_.settings.mode == LmMode::Window) {
        if (windows_.heldout.count == 0) return {};
        return evaluate_windows(*lm_.model, windows_.heldout, o_.batch);
    }
    if (heldout_stream_.size() < 2) return {};
    return evaluate_stream(*lm_.model, heldout_stream_,
                           heldout_streams(heldout_stream_.size(), lm_.settings.streams, lm_.settings.bptt),
                           lm_.settings.bptt);
}

size_t LmTrainer::train_windows() const { return windows_.train.count; }

LmEval LmTrainer::evaluate_train() {
    if (lm_.settings.mode == LmMode::Window)
        return evaluate_windows(*lm_.model, windows_.train, o_.batch, o_.stop_requested,
                                o_.max_chunks > 0 ? size_t(o_.max_chunks) * size_t(o_.batch) : 0);
    // The stream layout keeps every training token ([L, N] time-major), so rebuild the stream from it.
    const text::StreamBatches& b = train_stream_.front();
    const size_t L = b.stream_length(), N = size_t(b.streams());
    std::vector<int32_t> flat(L * N);
    for (size_t n = 0; n < N; ++n)
        for (size_t t = 0; t < L; ++t) flat[n * L + t] = b.data()[t * N + n];
    return evaluate_stream(*lm_.model, flat, b.streams(), b.bptt(), o_.stop_requested);
}

long LmTrainer::train_step(int epoch, long step, double* results) {
    Backend<float>& be = lm_.model->backend();
    // The masks depend on the step counted over the whole run, so a resumed run draws the same ones.
    const uint64_t run_step = uint64_t(epoch - 1) * uint64_t(steps_per_epoch()) + uint64_t(step);
    lm_.model->set_dropout_draw(DropoutDraw{o_.seed, run_step});
    if (lm_.settings.mode == LmMode::Window) {
        const size_t start = size_t(step) * size_t(o_.batch);
        const size_t B = std::min(size_t(o_.batch), order_.size() - start);
        wbuf_.load(be, windows_.train, order_.data() + start, B);
        queue_window_step(*lm_.model, &opt_, wbuf_, o_.clip, results);
        return long(B);
    }
    const text::StreamBatches& batches = train_stream_.front();
    if (cursor_ >= batches.num_chunks()) {  // back at the start of the text: nothing to carry over
        cursor_ = 0;
        state_ = SequenceModel::State();
    }
    sbuf_.load(be, batches, cursor_);
    ++cursor_;
    queue_chunk_tokens(*lm_.model, &opt_, sbuf_.ids, sbuf_.targets, state_, spare_state_, sbuf_.dlogits, o_.clip,
                       results);
    std::swap(state_, spare_state_);
    return long(sbuf_.targets.numel());
}

namespace {

// The carried stream state as JSON (exact: a float widened to double prints and parses back unchanged).
// The carried state `name` ("h" or "c") as saved: its shape in the training block (null: zeros, the start of the
// text), its values as the tensor trainer_state.<name> beside the parameters (StateTensor: a big run's state, millions
// of values, would not fit in the JSON metadata).
nlohmann::json save_state_tensor(Backend<float>& be, const Tensor<float>& t, const char* name,
                                 std::vector<StateTensor>& tensors) {
    if (t.empty()) return nullptr;
    tensors.push_back({name, t.shape(), be.to_host(t)});
    return {{"shape", t.shape()}};
}

// Read back; a checkpoint of 0.3.6 or before holds the values in the JSON ("values").
Tensor<float> read_state_tensor(Backend<float>& be, const Checkpoint& c, const nlohmann::json& j, const char* name) {
    if (j.is_null()) return {};
    const auto shape = j.at("shape").get<std::vector<long>>();
    const Shape s(shape.begin(), shape.end());
    if (j.contains("values")) return be.from_host(j.at("values").get<std::vector<float>>(), s);
    std::vector<float> values(size_t(shape_numel(s)));
    c.file.copy_f32(std::string(kTrainerStatePrefix) + name, s, values.data());
    return be.from_host(values, s);
}

}  // namespace

void LmTrainer::save(const std::string& name, const EpochState* in_progress) {
    if (o_.out_dir.empty()) return;
    nlohmann::json hist = nlohmann::json::array();
    for (const auto& r : history_) hist.push_back(r.to_json());
    nlohmann::json training = {{"epoch", history_.empty() ? 0 : history_.back().epoch},
                               {"epochs", o_.epochs},
                               {"history", hist},
                               {"info", o_.info},
                               {"best", std::isfinite(best_) ? nlohmann::json(best_) : nlohmann::json()},
                               {"lr", opt_.lr()},
                               {"cursor", cursor_},
                               {"arithmetic", run_arithmetic(lm_.model->backend())},
                               {"finished", !in_progress && !history_.empty() && history_.back().epoch >= o_.epochs}};
    const bool last = name == "last.safetensors";
    std::vector<StateTensor> state;
    if (last && lm_.settings.mode == LmMode::Stream) {
        Backend<float>& be = lm_.model->backend();
        training["state"] = {{"h", save_state_tensor(be, state_.h, "h", state)},
                             {"c", save_state_tensor(be, state_.c, "c", state)}};
    }
    if (in_progress) training["epoch_in_progress"] = *in_progress;
    save_language_model((std::filesystem::path(o_.out_dir) / name).string(), lm_, training, last ? &opt_ : nullptr,
                        o_.before_save, state);
}

void LmTrainer::save_and_stop(const EpochState& st) {
    save("last.safetensors", &st);
    throw Interrupted(fmt::format("stopped at epoch {}, step {}/{}; saved {}/last.safetensors (continue with "
                                  "--resume)", st.epoch, st.steps_done, st.steps, o_.out_dir));
}

namespace {

// A language-model settings block without the entries its mode does not use (window: bptt, streams; stream: context).
nlohmann::json used_settings(nlohmann::json lm) {
    if (!lm.is_object()) return lm;
    lm.erase("unk_in_training");  // follows from the text and the vocabulary, which are compared on their own
    const bool window = lm.value("mode", "") == "window";
    for (const char* unused : window ? std::vector<const char*>{"bptt", "streams"} : std::vector<const char*>{"context"})
        lm.erase(unused);
    return lm;
}

// "flag: X saved, Y now" for each (JSON pointer, flag) whose value differs between `saved` and `now`: "none" where
// absent, a float as typed (data::shortest_text). Returns how many it added.
// A setting recorded only when it is not its default (so that checkpoints from before it existed still resume) is
// shown as its default where absent: "--dropout: 0 saved, 0.1 now", not "none saved".
struct FlagField {
    const char* pointer;
    const char* flag;
    const char* absent = "none";
};

size_t add_flag_differences(const nlohmann::json& saved, const nlohmann::json& now,
                            std::initializer_list<FlagField> fields, std::vector<std::string>& out) {
    const size_t before = out.size();
    for (const auto& [pointer, flag, absent] : fields) {
        const nlohmann::json::json_pointer at(pointer);
        const auto shown = [&, absent = absent](const nlohmann::json& j) {
            if (!j.is_object() || !j.contains(at)) return std::string(absent);
            const nlohmann::json& v = j.at(at);
            return v.is_number_float() ? data::shortest_text(v.get<double>()) : v.dump();
        };
        if (shown(saved) != shown(now)) out.push_back(fmt::format("{}: {} saved, {} now", flag, shown(saved), shown(now)));
    }
    return out.size() - before;
}

}  // namespace

void LmTrainer::resume_from_last() {
    namespace fs = std::filesystem;
    FR_CHECK(!o_.out_dir.empty(), "--resume needs an output folder");
    const std::string path = (fs::path(o_.out_dir) / "last.safetensors").string();
    FR_CHECK(fs::exists(path), "--resume: {} does not exist (nothing to resume)", path);
    const Checkpoint c = read_checkpoint(path);
    const bool has_info = c.extra.is_object() && c.extra.contains("training") && c.extra.at("training").is_object() &&
                          c.extra.at("training").contains("info");
    check_resumed_settings(c, has_info, path);
    FR_CHECK(c.extra.contains("training") && c.extra.at("training").is_object(), "--resume: {} is damaged: it holds "
             "no training state (its \"training\" block is {})", path,
             c.extra.contains("training") ? data::printable(c.extra.at("training").dump(), 60) : "missing");
    const auto& t = c.extra.at("training");
    std::vector<std::string> missing;
    for (const char* k : {"lr", "cursor", "info"})
        if (!t.contains(k)) missing.push_back(k);
    FR_CHECK(missing.empty(), "--resume: {} was written by a version that could not resume, or is damaged (its training "
             "state has no {}); start a new run", path, fmt::join(missing, ", "));
    detail::check_resume_wholes(t, "training",
                                {{{"epoch"}, {"epochs"}, {"cursor", true}},
                                 {{"epoch"}},
                                 {{"epoch"}, {"steps_done", true}, {"steps", true}, {"correct", true},
                                  {"predictions", true}}},
                                path);
    load_parameters(c, *lm_.model);
    load_optimizer_to_resume(c, opt_);
    const double lr = t.at("lr").get<double>();
    FR_CHECK(std::isfinite(lr) && lr >= 0, "--resume: {} is damaged: its learning rate is {}", path, lr);
    opt_.set_lr(float(lr));
    read_resumed_history(t, path);
    read_stream_position(c, t, path);
    read_epoch_in_progress(t, path);
    // Every epoch takes the same steps (--max-chunks is part of the run's settings, checked above).
    const long whole = long(history_.size()) * steps_per_epoch();
    const long partial = resumed_.epoch > 0 ? resumed_.steps_done : 0;
    detail::check_optimizer_steps(opt_.steps(), whole + partial,
                                  fmt::format("{}{}", history_.empty() ? std::string("no epoch finished")
                                              : fmt::format("{} epoch{} of {} step{}", history_.size(),
                                                            history_.size() == 1 ? "" : "s", steps_per_epoch(),
                                                            steps_per_epoch() == 1 ? "" : "s"),
                                              resumed_.epoch > 0 ? fmt::format(", and {} in epoch {}", partial,
                                                                               resumed_.epoch)
                                                                 : std::string()),
                                  path);
    if (const std::string note = resumed_arithmetic_note(t, run_arithmetic(lm_.model->backend()), path);
        on_message && !note.empty())
        on_message(note);
    if (on_message)
        on_message(resumed_.epoch > 0
                       ? fmt::format("resumed from {} in epoch {} at step {}/{}", path, resumed_.epoch,
                                     resumed_.steps_done, resumed_.steps)
                       : fmt::format("resumed from {} after epoch {}", path,
                                     history_.empty() ? 0 : history_.back().epoch));
    // Each epoch shuffles the previous epoch's window order: replay the shuffles of the epochs done.
    if (lm_.settings.mode == LmMode::Window) {
        const int next = resumed_.epoch > 0 ? resumed_.epoch : history_.empty() ? 1 : history_.back().epoch + 1;
        for (int e = 1; e < next; ++e) shuffle_indices(order_, o_.seed, e);
    }
}

// Every setting of this run that differs from the checkpoint's, named at once by its flag: a run goes on only with
// the text, tokenizer, model and mode it started with.
void LmTrainer::check_resumed_settings(const Checkpoint& c, bool has_info, const std::string& path) const {
    // A damaged block is named as such, not as flags that differ from it.
    naming_source("--resume", [&] { (void)check_stored_language_model(c); });
    // Every flag that differs, named at once (a changed text is named as such first: setting_differences throws).
    std::vector<std::string> differ;
    if (has_info) differ = setting_differences(c.extra.at("training").at("info"), path);
    const nlohmann::json saved_tok = c.extra.value("tokenizer", nlohmann::json());
    const nlohmann::json now_tok = nlohmann::json::parse(lm_.tokenizer.to_json());
    const bool same_tokenizer = saved_tok == now_tok;
    // By flag; "the vocabulary" where the flags are the same (another text's words).
    if (!same_tokenizer && add_flag_differences(saved_tok, now_tok,
                                                {{"/kind", "--tokenizer"}, {"/lowercase", "--lowercase"},
                                                 {"/min_count", "--min-count"}, {"/max_size", "--max-vocab"}},
                                                differ) == 0) {
        // The same text (its content hash matched) and the same tokenizer flags give the same vocabulary: another
        // one was edited in. Without the hash (a checkpoint from before it) the text under the path may have changed.
        const bool hashed = has_info && c.extra.at("training").at("info").is_object() &&
                            c.extra.at("training").at("info").contains(kTextHashKey);
        FR_CHECK(!(hashed && differ.empty()), "--resume: {} is "
                 "damaged: its vocabulary is not the one this text and these flags give (the file was edited, or "
                 "written by a version that splits text otherwise); start a new run", path);
        differ.push_back("the vocabulary the text gives (another text, or another --heldout, gives another)");
    }
    // The model's flags by name; its vocabulary and outputs follow from the tokenizer's, named above.
    const nlohmann::json now_config = lm_.model->config();
    add_flag_differences(c.config, now_config,
                         {{"/spec/cell", "--cell"}, {"/spec/input_size", "--embedding"},
                          {"/spec/hidden_size", "--hidden"}, {"/spec/num_layers", "--layers"},
                          {"/spec/bidirectional", "--bidirectional"}, {"/dropout", "--dropout", "0"},
                          {"/dropout_locked", "--dropout-locked", "false"}},
                         differ);
    if (same_tokenizer && differ.empty() && c.config != now_config)  // a field this list does not know
        differ.push_back("model: " + json_differences(c.config, now_config));
    // Compared on what the mode uses: the other mode's flags do nothing (lm-train says so), so they may differ.
    const nlohmann::json saved_lm = used_settings(c.extra.contains("lm") ? c.extra.at("lm") : nlohmann::json());
    const nlohmann::json now_lm = used_settings(lm_.settings.to_json());
    if (saved_lm != now_lm &&
        add_flag_differences(saved_lm, now_lm,
                             {{"/mode", "--mode"}, {"/context", "--context"}, {"/bptt", "--bptt"},
                              {"/streams", "--streams"}},
                             differ) == 0)
        differ.push_back("mode: " + json_differences(saved_lm, now_lm));
    FR_CHECK(differ.empty(), "--resume: {} was trained with other settings ({}): resume with the same flags", path,
             fmt::join(differ, ", "));
}

// The epochs done and the best loss so far.
void LmTrainer::read_resumed_history(const nlohmann::json& t, const std::string& path) {
    for (const auto& r : t.at("history")) {
        history_.push_back(LmEpochRecord::from_json(r));
        // A checkpoint from before the share was recorded: the same text and vocabulary (checked above) give it.
        if (history_.back().has_heldout && !r.contains("heldout_oov")) history_.back().heldout_oov = heldout_oov();
    }
    std::vector<int> epochs;
    for (const auto& r : history_) epochs.push_back(r.epoch);
    detail::check_history_order(epochs, path);
    // The epoch it records is its history's last (0 for none): another was edited in, or the history cut.
    const long recorded = t.at("epoch").get<long>(), last = history_.empty() ? 0 : history_.back().epoch;
    FR_CHECK(recorded == last, "--resume: {} is damaged: it records epoch {} as done, but its history {}", path,
             recorded, last == 0 ? std::string("is empty") : fmt::format("ends at epoch {}", last));
    best_ = t.at("best").is_null() ? INFINITY : t.at("best").get<double>();
    FR_CHECK(!std::isnan(best_), "--resume: {} is damaged: its best loss is NaN", path);
}

// Stream mode: the next chunk of the text and the state carried into it (window mode: no position, cursor 0).
void LmTrainer::read_stream_position(const Checkpoint& c, const nlohmann::json& t, const std::string& path) {
    const long cursor = t.at("cursor").get<long>();
    const long chunks = lm_.settings.mode == LmMode::Stream ? long(train_stream_.front().num_chunks()) : 0;
    if (lm_.settings.mode != LmMode::Stream)
        FR_CHECK(cursor == 0, "--resume: {} is damaged: it records a stream position (chunk {}), but a window-mode run "
                 "has none (0)", path, cursor);
    FR_CHECK(cursor >= 0 && cursor <= chunks, "--resume: {} is damaged: its stream position (chunk {}) is outside "
             "the {} of this text", path, cursor, data::counted(size_t(chunks), "chunk", "chunks"));
    cursor_ = size_t(cursor);
    if (lm_.settings.mode == LmMode::Stream) {
        FR_CHECK(t.contains("state") && t.at("state").is_object(), "--resume: {} is damaged: the carried stream state "
                 "is missing", path);
        Backend<float>& be = lm_.model->backend();
        const RnnSpec& sp = lm_.model->spec();
        const std::vector<long> want{long(sp.num_layers) * sp.directions(), long(lm_.settings.streams),
                                     long(sp.hidden_size)};
        const bool lstm = has_cell_state(sp.cell);
        for (const char* k : {"h", "c"}) {
            const nlohmann::json& j = t.at("state").at(k);
            if (j.is_null()) continue;  // zeros (the start of the text)
            FR_CHECK(std::string(k) == "h" || lstm, "--resume: {} is damaged: a {} cell has no c state", path,
                     cell_name(sp.cell));
            const auto shape = j.at("shape").get<std::vector<long>>();
            const std::string tensor = std::string(kTrainerStatePrefix) + k;
            const size_t values = j.contains("values")   ? j.at("values").size()
                                  : c.file.has(tensor) ? size_t(shape_numel(c.file.at(tensor).shape))
                                                       : 0;
            FR_CHECK(shape == want && values == size_t(want[0] * want[1] * want[2]), "--resume: {} is damaged: the "
                     "carried stream state {} has shape [{}] and {} values, expected [{}]", path, k,
                     fmt::join(shape, ", "), values, fmt::join(want, ", "));
        }
        state_.h = read_state_tensor(be, c, t.at("state").at("h"), "h");
        state_.c = read_state_tensor(be, c, t.at("state").at("c"), "c");
    }
}

// The epoch in progress, checked against the history, then the epochs asked for and best.safetensors.
void LmTrainer::read_epoch_in_progress(const nlohmann::json& t, const std::string& path) {
    if (t.contains("epoch_in_progress")) {
        resumed_ = t.at("epoch_in_progress").get<EpochState>();
        FR_CHECK(resumed_.steps == steps_per_epoch(), "--resume: epoch {} was interrupted in a {}-step epoch, this run "
                 "has {} steps per epoch", resumed_.epoch, resumed_.steps, steps_per_epoch());
        FR_CHECK(resumed_.epoch == int(history_.size()) + 1 && resumed_.steps_done >= 0 &&
                     resumed_.steps_done <= resumed_.steps && resumed_.predictions >= 0 && resumed_.correct >= 0 &&
                     resumed_.correct <= resumed_.predictions && std::isfinite(resumed_.loss_sum) &&
                     resumed_.loss_sum >= 0 && std::isfinite(resumed_.norm_sum) && resumed_.norm_sum >= 0 &&
                     std::isfinite(resumed_.seconds) && resumed_.seconds >= 0,
                 "--resume: {} is damaged: its epoch in progress (epoch {}, step {}/{}) does not follow its history "
                 "({} epoch(s)) or is out of range", path, resumed_.epoch, resumed_.steps_done, resumed_.steps,
                 history_.size());
    }
    detail::check_epochs_reach(o_.epochs, resumed_.epoch, history_.empty() ? 0 : history_.back().epoch, path);
    check_best_checkpoint(path, t.at("history"));
}

// The settings recorded in last.safetensors against this run's. The training text is compared by its size and
// content hash when the checkpoint has them (any path to the same text is accepted; a changed file under the
// same name is not); a checkpoint from before they were recorded compares the path, as it did then.
std::vector<std::string> LmTrainer::setting_differences(const nlohmann::json& saved, const std::string& path) const {
    FR_CHECK(saved.is_object(), "--resume: {} is damaged: its training settings are not a JSON object", path);
    const bool fingerprinted = saved.contains(kTextHashKey) && o_.info.contains(kTextHashKey);
    if (fingerprinted && (saved.at(kTextHashKey) != o_.info.at(kTextHashKey) ||
                          saved.value(kTextBytesKey, nlohmann::json()) != o_.info.value(kTextBytesKey, nlohmann::json())))
        FR_FAIL("--resume: the training text {} is not the text {} was trained on ({} bytes of text then, {} now; "
                "content hash {} then, {} now): resume with the same text, or start a new run",
                o_.info.value("text", nlohmann::json("?")).dump(), path,
                saved.value(kTextBytesKey, nlohmann::json("?")).dump(), o_.info.value(kTextBytesKey, nlohmann::json("?")).dump(),
                saved.at(kTextHashKey).dump(), o_.info.at(kTextHashKey).dump());
    std::vector<std::string> differ;  // "name: value saved, value now"
    const auto unused = [this](const std::string& k) {  // the window batch does nothing in stream mode
        return k == "batch" && lm_.settings.mode == LmMode::Stream;
    };
    const auto value = [](const nlohmann::json& v) {  // a float as given on the command line, not as stored
        return v.is_number_float() ? data::shortest_text(v.get<double>()) : v.dump();
    };
    const auto shown = [&](const nlohmann::json& j, const std::string& k) {
        if (j.contains(k)) return value(j.at(k));
        return k == "weight_decay" ? std::string("0") : std::string("none");  // recorded only when not 0
    };
    // By the flag that sets it ("lr_decay" is --lr-decay), as the model's and tokenizer's settings are named.
    const auto named = [](std::string k) {
        if (k == kVocabularyKey) return std::string("the vocabulary's source");
        std::replace(k.begin(), k.end(), '_', '-');
        return "--" + k;
    };
    // A value of another kind than this run's (a string for a number) was edited in: damage, not a flag to change.
    const auto kind = [](const nlohmann::json& j) { return j.is_number() ? std::string("number") : j.type_name(); };
    for (const auto& [k, v] : o_.info.items())
        FR_CHECK(!saved.contains(k) || kind(saved.at(k)) == kind(v), "--resume: {} is damaged: its training.info.{} is "
                 "{}, not a {}", path, k, data::printable(saved.at(k).dump(), 80), kind(v));
    for (const auto& [k, v] : o_.info.items()) {
        if (k == kTextHashKey || k == kTextBytesKey || unused(k)) continue;  // the text: compared above
        if (k == "text" && fingerprinted) continue;                          // the same content under another path
        if (!saved.contains(k) || saved.at(k) != v)
            differ.push_back(fmt::format("{}: {} saved, {} now", named(k), shown(saved, k), value(v)));
    }
    for (const auto& [k, v] : saved.items())
        if (!o_.info.contains(k) && k != kTextHashKey && k != kTextBytesKey && !unused(k))
            differ.push_back(fmt::format("{}: {} saved, {} now", named(k), value(v), shown(o_.info, k)));
    return differ;
}

// A run whose history has a best epoch wrote best.safetensors then: resuming must not later report a file that was
// deleted or replaced since.
void LmTrainer::check_best_checkpoint(const std::string& last_path, const nlohmann::json& last_history) {
    int best_epoch = 0;
    for (const auto& r : history_)
        if (r.best) best_epoch = r.epoch;
    const nlohmann::json config = lm_.model->config();
    detail::ResumedBest r;
    r.best_path = (std::filesystem::path(o_.out_dir) / "best.safetensors").string();
    r.last_path = last_path;
    r.epoch = best_epoch;
    r.last_ends_it = !history_.empty() && best_epoch == history_.back().epoch && resumed_.epoch == 0;
    r.config = &config;
    r.block = "training";
    r.last_history = &last_history;
    r.save_best = [this] { save("best.safetensors"); };
    r.is_the_runs_best = [&](const Checkpoint& b) {  // its epoch and loss, with the same settings
        const nlohmann::json t = b.extra.contains("training") ? b.extra.at("training") : nlohmann::json();
        return b.extra.contains("lm") && used_settings(b.extra.at("lm")) == used_settings(lm_.settings.to_json()) &&
               t.is_object() && t.value("epoch", -1) == best_epoch && t.contains("best") && t.at("best").is_number() &&
               t.at("best").get<double>() == best_;
    };
    // A best.safetensors without its tokenizer or settings was cut or edited (QA: its "lm" block deleted was "not the
    // best model of this run"): damaged, as generate and perplexity call it.
    r.check_readable = [](const Checkpoint& b) { (void)check_stored_language_model(b); };
    r.what = fmt::format("epoch {}", best_epoch);
    const std::string note = detail::check_resumed_best(r);
    if (!note.empty() && on_message) on_message(note);
}

// Steps are queued with their results left in backend memory and read back every kReadBackSteps steps or
// when the host needs them (progress, a checkpoint, a stop, the end of the epoch), folded in step order: the
// same sums as reading each step at once. The state saved with a checkpoint is the one after the last step
// read back (a save always reads back first).
std::string LmTrainer::memory_context() const {
    return fmt::format("training {} with a vocabulary of {} on {}", lm_.model->spec().describe(), lm_.model->vocab(),
                       lm_.settings.mode == LmMode::Window
                           ? fmt::format("batch {} of {}-token windows", o_.batch, lm_.settings.context)
                           : fmt::format("{} streams x {}-step chunks", lm_.settings.streams, lm_.settings.bptt));
}

const char* LmTrainer::sizing_flags() const {
    return lm_.settings.mode == LmMode::Window ? "--batch or --context" : "--streams or --bptt";
}

void LmTrainer::train_epoch(EpochState& st, bool resumed) {
    Backend<float>& be = lm_.model->backend();
    const bool window = lm_.settings.mode == LmMode::Window;
    if (window) shuffle_indices(order_, o_.seed, st.epoch);
    else if (o_.max_chunks == 0 && !resumed) cursor_ = train_stream_.front().num_chunks();  // restart the text
    step_results_.reset(be, kStepSlots, kReadBackSteps);
    std::vector<long> queued_predictions;
    const auto t0 = Clock::now();
    const double seconds_before = st.seconds;
    const long predictions_before = st.predictions, first_step = st.steps_done;

    auto read_back = [&]() {
        if (queued_predictions.empty()) return;
        const std::vector<double> r = step_results_.take(be);
        for (size_t i = 0; i < queued_predictions.size(); ++i) {
            const double* step = r.data() + i * kStepSlots;
            const ChunkResult c = chunk_result(step);
            const long s = st.steps_done;  // the step these results are from
            if (!std::isfinite(c.loss) || !std::isfinite(c.grad_norm))
                throw NumericError(fmt::format("epoch {} step {}: the training loss is {} (gradient norm {}); {}",
                                               st.epoch, s + 1, finite_or_name(c.loss), finite_or_name(c.grad_norm),
                                               divergence_advice()));
            if (!std::isfinite(step[kParamNorm2Slot]))
                throw NumericError(fmt::format("the parameters became NaN/Inf in the update of epoch {} step {} "
                                               "(gradient norm {:.4g}): training diverged ({})", st.epoch,
                                               s + 1, c.grad_norm, divergence_advice()));
            st.loss_sum += c.loss * double(queued_predictions[i]);
            st.norm_sum += c.grad_norm;
            st.correct += c.correct;
            st.predictions += queued_predictions[i];
            st.steps_done = s + 1;
        }
        queued_predictions.clear();
        st.seconds = seconds_before + seconds_since(t0);
    };

    auto last_report = t0, last_save = t0;
    for (long s = st.steps_done; s < st.steps; ++s) {
        queued_predictions.push_back(train_step(st.epoch, s, step_results_.next()));
        const bool last = s + 1 == st.steps;
        const bool stop = o_.stop_requested && o_.stop_requested();
        const bool save_due = o_.checkpoint_seconds > 0 && !o_.out_dir.empty() &&
                              seconds_since(last_save) >= o_.checkpoint_seconds;
        const bool report_due = on_progress && (seconds_since(last_report) > 0.25 || last);
        if (step_results_.full() || last || stop || save_due || report_due) read_back();
        if (stop) save_and_stop(st);
        if (save_due) {
            save("last.safetensors", &st);
            last_save = Clock::now();
        }
        if (report_due) {
            last_report = Clock::now();
            const double el = seconds_since(t0);
            LmProgress p{st.epoch, o_.epochs, s + 1, st.steps, st.loss_sum / double(st.predictions),
                         double(st.correct) / double(st.predictions),
                         double(st.predictions - predictions_before) / std::max(el, 1e-9),
                         el / double(s + 1 - first_step) * double(st.steps - s - 1)};
            on_progress(p);
        }
    }
    read_back();
}

std::vector<LmEpochRecord> LmTrainer::fit() {
    FR_CHECK(o_.checkpoint_seconds >= 0, "the checkpoint interval must be >= 0, got {}", o_.checkpoint_seconds);
    if (!o_.out_dir.empty()) {
        create_output_folder(o_.out_dir);
        if (!o_.resume && !o_.overwrite)
            refuse_to_overwrite_unfinished_run((std::filesystem::path(o_.out_dir) / "last.safetensors").string(),
                                               "training");
    }
    history_.clear();
    best_ = INFINITY;
    resumed_ = EpochState{};
    if (o_.resume) {
        try {
            resume_from_last();
        } catch (const nlohmann::json::exception& e) {  // a field missing or of the wrong type
            FR_FAIL("--resume: the training state in {}/last.safetensors is damaged or incomplete ({}); start a new "
                    "run or use another --out", o_.out_dir, detail::json_access_problem(e));
        }
    }
    const int first_epoch = resumed_.epoch > 0 ? resumed_.epoch : history_.empty() ? 1 : history_.back().epoch + 1;
    for (int epoch = first_epoch; epoch <= o_.epochs; ++epoch) {
        EpochState st;
        const bool resumed = epoch == resumed_.epoch;
        if (resumed) {
            st = resumed_;
        } else {
            st.epoch = epoch;
            st.steps = steps_per_epoch();
        }
        try {
            train_epoch(st, resumed);
        } catch (const OutOfDeviceMemory& e) {  // one batch's activations, logits and gradients did not fit
            throw OutOfDeviceMemory(fmt::format("{}: {}. Use a smaller {}, a smaller model or vocabulary, or --backend "
                                                "cpu", memory_context(), e.what(), sizing_flags()));
        } catch (const OutOfHostMemory& e) {  // the same on the host: the mode's own flags (not --batch in stream mode)
            throw Error(fmt::format("{}: {}. Use a smaller {}, a smaller model or vocabulary, or a machine with more "
                                    "memory", memory_context(), e.what(), sizing_flags()));
        }
        LmEpochRecord rec;
        rec.epoch = epoch;
        rec.lr = opt_.lr();
        rec.train_loss = st.loss_sum / double(st.predictions);
        rec.train_accuracy = double(st.correct) / double(st.predictions);
        rec.grad_norm = st.norm_sum / double(st.steps);
        rec.tokens_per_s = double(st.predictions) / std::max(st.seconds, 1e-9);
        const auto eval_start = Clock::now();
        const LmEval h = evaluate_heldout();
        rec.has_heldout = h.predictions > 0;
        rec.heldout_loss = h.loss;
        rec.heldout_accuracy = h.accuracy;
        rec.heldout_oov = rec.has_heldout ? heldout_oov() : 0.0;
        const double score = rec.has_heldout ? rec.heldout_loss : rec.train_loss;
        rec.best = score < best_;
        if (rec.best) best_ = score;
        rec.seconds = st.seconds + seconds_since(eval_start);
        history_.push_back(rec);
        opt_.set_lr(float(opt_.lr() * o_.lr_decay));  // before saving: last.safetensors resumes with it
        // last first: a run stopped between the two writes resumes, and writes best.safetensors again then
        // (check_best_checkpoint); the other order would leave best.safetensors ahead of the run's history.
        save("last.safetensors");
        if (rec.best) save("best.safetensors");
        if (on_epoch) on_epoch(rec);
        // A stop asked for during the epoch's report or sample (lm-train's --sample): its end is saved above, so the
        // run stops here rather than train a step of the next epoch first.
        if (epoch < o_.epochs && o_.stop_requested && o_.stop_requested())
            throw Interrupted(fmt::format("stopped after epoch {}; saved {}/last.safetensors (continue with "
                                          "--resume)", epoch, o_.out_dir));
    }
    return history_;
}

}  // namespace fusedrnn
