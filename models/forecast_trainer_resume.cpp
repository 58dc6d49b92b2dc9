// ForecastTrainer's checkpoints and --resume: what a checkpoint records of the run, and the checks that a resumed
// run continues the one it resumes (the same data, batches and schedule), so that it ends where an uninterrupted
// run would. The training loop is in forecast_trainer.cpp.
#include "fusedrnn/models/forecast_trainer.h"

#include <cmath>
#include <filesystem>
#include <limits>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "fusedrnn/core/data/text.h"
#include "fusedrnn/models/checkpoint.h"
#include "fusedrnn/models/detail/resume_checks.h"

namespace fusedrnn {

namespace {

// The dataset description `now` as an older checkpoint would hold it: without the values' checksum when `saved` has
// none (before 0.3: such a run resumes as before, on whatever values the files hold now), without the station
// count (before 0.3.12; the checksum covers the stations), and without a fraction split's times (before 0.3.13; they
// follow from the split and the data).
nlohmann::json dataset_as_saved(const nlohmann::json& saved, nlohmann::json now) {
    for (const char* key : {"values_checksum", "stations", "split_resolved"})
        if (saved.is_object() && !saved.contains(key) && now.is_object()) now.erase(key);
    return now;
}

bool same_dataset(const nlohmann::json& saved, const nlohmann::json& now) {
    return saved == dataset_as_saved(saved, now);
}

// What differs in the data read (stations, variables, window, targets, split), else its values, else the
// normalization statistics (which follow from them).
std::string read_data_differences(const nlohmann::json& saved, const nlohmann::json& now) {
    nlohmann::json s = saved.at("dataset"), n = dataset_as_saved(saved.at("dataset"), now.at("dataset"));
    const nlohmann::json s_sum = s.value("values_checksum", nlohmann::json()),
                         n_sum = n.value("values_checksum", nlohmann::json());
    const nlohmann::json s_stats = s.value("stats", nlohmann::json()), n_stats = n.value("stats", nlohmann::json());
    for (const char* key : {"values_checksum", "stats"}) {
        s.erase(key);
        n.erase(key);
    }
    if (s != n) return json_differences(s, n);
    // The same count of stations, variables and split with other values or station ids: the files were changed
    // (e.g. corrected) or renamed since. Said before the statistics, which then differ as well, perhaps only in the
    // last digit for the same values in another order (QA's recheck).
    // Synthetic stations have no files: another seed or gap share made them (QA's recheck).
    const bool synthetic = now.contains("data") && now.at("data").is_object() &&
                           now.at("data").value("source", std::string()) == "synthetic";
    if (s_sum != n_sum)
        return fmt::format("the data's values or station ids differ from those it trained on (checksum {} then, {} "
                           "now): {}",
                           s_sum.is_string() ? s_sum.get<std::string>() : s_sum.dump(),
                           n_sum.is_string() ? n_sum.get<std::string>() : n_sum.dump(),
                           synthetic ? "the synthetic stations were generated otherwise"
                                     : "its files were changed or renamed since");
    return "normalization: " + json_differences(s_stats, n_stats);
}

// Why a resumed run's data is not the checkpoint's: what differs in the data read, then, as context, the data flags
// that differ (QA: a renamed folder with a station more was refused naming only the path, which alone refuses no
// resume). Flags that only say again what the data did (--synthetic-stations 5: "stations: 16 saved, 5 now" in
// both) are left out (QA).
std::string dataset_differences(const nlohmann::json& saved, const nlohmann::json& now) {
    const std::string said = read_data_differences(saved, now);
    if (!saved.contains("data") || !now.contains("data") || !saved.at("data").is_object() ||
        !now.at("data").is_object())
        return said;
    // Flag by flag, those whose difference is not said already (QA's recheck: with --synthetic-seed changed too, the
    // stations were said again).
    const nlohmann::json& s = saved.at("data");
    const nlohmann::json& n = now.at("data");
    nlohmann::json s_left = nlohmann::json::object(), n_left = nlohmann::json::object();
    for (const auto* side : {&s, &n})
        for (const auto& [key, value] : side->items()) {
            const nlohmann::json a = s.value(key, nlohmann::json()), b = n.value(key, nlohmann::json());
            if (a == b || said.find(json_differences({{key, a}}, {{key, b}})) != std::string::npos) continue;
            if (s.contains(key)) s_left[key] = a;
            if (n.contains(key)) n_left[key] = b;
        }
    return s_left == n_left ? said : said + "; data flags: " + json_differences(s_left, n_left);
}

// What decides the batches and the rate of every later step must not change on resume (fields absent
// in checkpoints from before they existed mean the defaults).
void check_resumed_schedule(const nlohmann::json& t, const TrainOptions& o, const std::string& last_path) {
    const long spe = t.value("steps_per_epoch", 0L);
    auto describe = [](long n) { return n > 0 ? fmt::format("--steps-per-epoch {}", n) : std::string("epochs of one pass "
                                                                                                   "over the data"); };
    FR_CHECK(spe == o.steps_per_epoch, "--resume: {} was trained with {}, this run asks for {}: the batch order "
             "depends on it; resume with the same flag", last_path, describe(spe), describe(o.steps_per_epoch));
    // So do the batch size and the epoch's length (recorded since 0.3.1; before, only an interrupted epoch's were).
    if (t.contains("batch"))
        FR_CHECK(t.at("batch").get<int>() == o.batch, "--resume: {} was trained with --batch {}, this run asks for "
                 "{}: every later epoch's batches depend on it; resume with the same flag", last_path,
                 t.at("batch").get<int>(), o.batch);
    if (t.contains("max_batches")) {
        const long mb = t.at("max_batches").get<long>();
        auto shown = [](long n) { return n > 0 ? fmt::format("--max-batches {}", n) : std::string("no --max-batches"); };
        FR_CHECK(mb == o.max_batches, "--resume: {} was trained with {}, this run asks for {}: the length of every "
                 "later epoch depends on it; resume with the same flag", last_path, shown(mb), shown(o.max_batches));
    }
    const bool cosine = t.value("lr_cosine", false);
    FR_CHECK(cosine == o.lr_cosine, "--resume: {} was trained {} --lr-cosine, this run asks {} it: the learning rate "
             "of every later step depends on it; resume with the same flag", last_path, cosine ? "with" : "without",
             o.lr_cosine ? "with" : "without");
    // Checkpoints before 0.3 did not record the per-epoch schedule: their resume takes this run's flags, as it did.
    if (t.contains("lr_decay")) {
        const auto flags = [](double decay, long plateau, double factor) {
            std::string f = fmt::format("--lr-decay {:g}", decay);
            if (plateau > 0) f += fmt::format(" --lr-plateau {} --lr-plateau-factor {:g}", plateau, factor);
            else f += " and no --lr-plateau";
            return f;
        };
        const double decay = t.value("lr_decay", 1.0), factor = t.value("lr_plateau_factor", 0.5);
        const long plateau = t.value("lr_plateau", 0L);
        FR_CHECK(decay == o.lr_decay && plateau == o.lr_plateau && (plateau == 0 || factor == o.lr_plateau_factor),
                 "--resume: {} was trained with {}, this run asks for {}: the learning rate of every later epoch "
                 "depends on them; resume with the same flags", last_path, flags(decay, plateau, factor),
                 flags(o.lr_decay, o.lr_plateau, o.lr_plateau_factor));
    }
    const double tf = t.value("teacher_forcing", 0.0);
    FR_CHECK(tf == o.teacher_forcing, "--resume: {} was trained with --teacher-forcing {:g}, this run asks for {:g}: "
             "the decoder's inputs in every later step depend on it; resume with the same flag", last_path, tf,
             o.teacher_forcing);
}

// The trainer block's counts are whole numbers in range (an edited or damaged file is refused as such, not compared
// with the flags: QA's recheck, "trained with --batch -2147483648").
void check_trainer_wholes(const nlohmann::json& t, const std::string& last_path) {
    detail::check_resume_wholes(t, "trainer",
                                {{{"epochs_done"}, {"bad_epochs"}, {"patience"}, {"steps_per_epoch", true},
                                  {"batch"}, {"max_batches", true}, {"epochs"}, {"ranks"},
                                  {"validation_windows", true}},
                                 {{"epoch"}, {"step", true}},
                                 {{"epoch"}, {"batch"}, {"steps_done", true}, {"steps", true}, {"windows", true}}},
                                last_path);
}

// The seed decides the batch order. Worded as the other refusals, naming the file (QA).
void check_resumed_seed(const nlohmann::json& t, const TrainOptions& o, const std::string& last_path) {
    FR_CHECK(t.value("seed", uint64_t(0)) == o.seed, "--resume: {} was trained with --seed {}, this run asks for {}: "
             "the batch order depends on it; resume with the same flag", last_path, t.value("seed", uint64_t(0)),
             o.seed);
}

}  // namespace

void ForecastTrainer::save(const std::string& path, bool with_optimizer, const EpochState* in_progress,
                           bool finished) {
    if (!writes_files()) return;  // process 0's: every process holds the same state
    nlohmann::json extra = o_.extra;
    nlohmann::json hist = nlohmann::json::array();
    for (const auto& r : history_) hist.push_back(r.to_json());
    extra["trainer"] = {{"epochs_done", history_.empty() ? 0 : history_.back().epoch},
                        {"best_val", std::isfinite(best_val_) ? nlohmann::json(best_val_) : nlohmann::json()},
                        {"bad_epochs", bad_epochs_},
                        {"seed", o_.seed},
                        {"lr", opt_.lr()},
                        {"base_lr", base_lr_},
                        {"lr_cosine", o_.lr_cosine},
                        {"lr_decay", o_.lr_decay},
                        {"lr_plateau", o_.lr_plateau},
                        {"lr_plateau_factor", o_.lr_plateau_factor},
                        {"teacher_forcing", o_.teacher_forcing},
                        {"clip", o_.clip},
                        {"patience", o_.patience},
                        {"steps_per_epoch", o_.steps_per_epoch},
                        {"batch", o_.batch},
                        {"max_batches", o_.max_batches},
                        {"epochs", o_.epochs},
                        {"ranks", ranks()},
                        {"validation_windows", data_.starts[1].size()},
                        {"arithmetic", run_arithmetic(model_.backend())},
                        {"finished", finished},  // false: --resume has more to do
                        {"history", hist}};
    if (in_progress) extra["trainer"]["epoch_in_progress"] = *in_progress;
    save_checkpoint(path, model_, extra, with_optimizer ? &opt_ : nullptr, o_.before_save);
}

void ForecastTrainer::save_and_stop(const EpochState& st, const char* where) {
    save(last_path_, true, &st);
    throw Interrupted(fmt::format("stopped at epoch {}, step {}/{}{}; {} {} (continue with --resume)", st.epoch,
                                  st.steps_done, st.steps, where, writes_files() ? "saved" : "process 0 saved",
                                  last_path_));
}

void ForecastTrainer::check_resume_flags(const Checkpoint& last, const TrainOptions& options,
                                         const OptimizerConfig& optimizer) {
    try {
        const nlohmann::json& t = last.extra.at("trainer");
        check_trainer_wholes(t, last.path);
        check_resumed_seed(t, options, last.path);
        check_resumed_schedule(t, options, last.path);
    } catch (const nlohmann::json::exception&) {
        return;  // a damaged state: fit() says how
    }
    try {
        check_optimizer_settings(last, optimizer);
    } catch (const Error& e) {
        FR_FAIL("--resume: {}", e.what());
    }
}

void ForecastTrainer::check_best_checkpoint(const nlohmann::json& last_state) {
    const EpochRecord* best = nullptr;
    for (const auto& r : history_)
        if (r.best) best = &r;
    if (!best) return;  // checked on every process (each read last.safetensors): none goes on alone
    const nlohmann::json config = model_.config();
    detail::ResumedBest r;
    r.best_path = best_path_;
    r.last_path = last_path_;
    r.epoch = best->epoch;
    r.last_ends_it = best == &history_.back() && !last_state.contains("epoch_in_progress");
    r.config = &config;
    r.block = "trainer";
    r.last_history = &last_state.at("history");
    r.save_best = [this] { save(best_path_, false); };
    r.is_the_runs_best = [&](const Checkpoint& b) {  // its epoch and validation loss, on the same data
        const nlohmann::json t = b.extra.contains("trainer") ? b.extra.at("trainer") : nlohmann::json();
        const bool same_data =
            !o_.extra.contains("dataset") ||
            (b.extra.contains("dataset") && same_dataset(b.extra.at("dataset"), o_.extra.at("dataset")));
        return same_data && t.is_object() && t.value("epochs_done", -1) == best->epoch && t.contains("best_val") &&
               t.at("best_val").is_number() && t.at("best_val").get<double>() == best->val_loss;
    };
    r.what = fmt::format("epoch {}, validation loss {:.6g}", best->epoch, best->val_loss);
    const std::string note = detail::check_resumed_best(r);
    if (!note.empty() && on_message) on_message(note);
}

void ForecastTrainer::resume_from_last() {
    namespace fs = std::filesystem;
    FR_CHECK(fs::exists(last_path_), "--resume: {} does not exist (nothing to resume)", last_path_);
    Checkpoint c = read_checkpoint(last_path_);
    check_resumed_run(c);
    const auto& t = c.extra.at("trainer");
    check_trainer_wholes(t, last_path_);
    load_parameters(c, model_);
    load_optimizer_to_resume(c, opt_);
    check_resumed_seed(t, o_, last_path_);
    check_resumed_schedule(t, o_, last_path_);
    const int epochs_done = read_resumed_history(t);
    continue_resumed_schedule(t);
    read_resumed_progress(t, epochs_done);
    // Each record holds the steps done by its epoch's end (0 in checkpoints from before it was recorded).
    const long history_steps = history_.empty() ? 0 : history_.back().step;
    if (history_.empty() || history_steps > 0)
        detail::check_optimizer_steps(opt_.steps(), history_steps + resumed_.steps_done,
                                      fmt::format("{}{}", history_.empty() ? std::string("no epoch finished")
                                                  : fmt::format("{} step{} by the end of epoch {}", history_steps,
                                                                history_steps == 1 ? "" : "s", history_.size()),
                                                  resumed_.epoch > 0 ? fmt::format(", and {} in epoch {}",
                                                                                   resumed_.steps_done, resumed_.epoch)
                                                                     : std::string()),
                                      last_path_);
    say_how_resumed(t, epochs_done);
}

// The checkpoint must be of this run: the same data, windows and normalization, and the same model.
void ForecastTrainer::check_resumed_run(const Checkpoint& c) {
    // The wind's form first: it changes the variables, which the comparison below would name one by one.
    if (o_.extra.contains("dataset") && c.extra.contains("dataset")) {
        const auto form = [](const nlohmann::json& d) { return d.value("wind", std::string("angle")); };
        FR_CHECK(form(c.extra.at("dataset")) == form(o_.extra.at("dataset")), "--resume: {} was trained with --wind "
                 "{}, this run has --wind {}: resume with the same --wind, or use a new --out", last_path_,
                 form(c.extra.at("dataset")), form(o_.extra.at("dataset")));
    }
    // The same windows and normalization, or the continued run would silently train on other data. Checked before
    // the model, whose output size follows from the window (a new --horizon is named as such, not as "outputs").
    if (o_.extra.contains("dataset") && c.extra.contains("dataset"))
        FR_CHECK(same_dataset(c.extra.at("dataset"), o_.extra.at("dataset")),
                 "--resume: {} was trained on other data, windows, targets, split or normalization than this run's "
                 "({}); use the same data flags, or a new --out", last_path_, dataset_differences(c.extra, o_.extra));
    // A 0.2 bidirectional direct forecaster's head read the last step's output; this version's reads the final states
    // (models/model.h). Its checkpoints still evaluate and predict as trained, but a run cannot go on with one head
    // after the other.
    const bool legacy_head = model_.config().contains("bidirectional_head") && c.config.is_object() &&
                             !c.config.contains("bidirectional_head") && !c.config.contains("decoder");
    FR_CHECK(!legacy_head, "--resume: {} was trained by fusedrnn 0.2, whose bidirectional forecaster's head read the "
             "last step's output; this version's reads each direction's final state, so it cannot continue that run. "
             "Its checkpoints still work with eval and predict; train anew for a model of this version", last_path_);
    FR_CHECK(c.config == model_.config(), "--resume: {} holds a different model than requested ({}); use the same "
             "model flags, or a new --out", last_path_, json_differences(c.config, model_.config()));
}

// The epochs done, from the trainer block's history; returns their number.
int ForecastTrainer::read_resumed_history(const nlohmann::json& t) {
    for (const auto& r : t.at("history")) history_.push_back(EpochRecord::from_json(r));
    // A hand-edited or damaged state is refused here, not trained on: the history, the counters and the epoch in
    // progress must follow one another (as the language-model trainer checks its own).
    std::vector<int> epochs;
    for (const auto& r : history_) epochs.push_back(r.epoch);
    detail::check_history_order(epochs, last_path_);
    // The best epoch and early stopping compare validation losses: all of a run's must be taken on the same windows
    // (absent in checkpoints from before it was recorded: nothing to compare).
    if (!history_.empty() && t.contains("validation_windows"))
        FR_CHECK(t.at("validation_windows").get<size_t>() == data_.starts[1].size(), "--resume: {} measured its "
                 "validation loss on {} windows, this run would on {}: the best epoch and early stopping compare those "
                 "losses; resume with the same --eval-windows", last_path_, t.at("validation_windows").get<size_t>(),
                 data_.starts[1].size());
    const int epochs_done = t.at("epochs_done").get<int>();
    FR_CHECK(epochs_done == int(history_.size()), "--resume: {} is damaged: it says {} epochs done, its history "
             "holds {}", last_path_, epochs_done, history_.size());
    return epochs_done;
}

// The learning rate goes on as scheduled; what this command line changes (--lr, --clip, --patience, the arithmetic)
// is said.
void ForecastTrainer::continue_resumed_schedule(const nlohmann::json& t) {
    const float requested_lr = base_lr_;
    // A rate or clip as written: a damaged or hand-edited one is named, not passed on to the optimizer's own check.
    const auto rate = [&](const char* key) {
        const nlohmann::json& v = t.at(key);
        FR_CHECK(v.is_number() && std::isfinite(v.get<double>()) && v.get<double>() >= 0, "--resume: {} is damaged: "
                 "its trainer.{} is {}, not a finite number >= 0", last_path_, key, data::printable(v.dump(), 80));
        return v.get<double>();
    };
    if (t.contains("lr")) opt_.set_lr(float(rate("lr")));  // as scheduled so far
    if (t.contains("base_lr")) base_lr_ = float(rate("base_lr"));
    if (t.contains("clip")) (void)rate("clip");
    // Without a schedule the rate never changes: another than the run's first was edited into the file.
    const bool constant = !o_.lr_cosine && o_.lr_decay == 1 && o_.lr_plateau == 0;
    FR_CHECK(!constant || !t.contains("lr") || !t.contains("base_lr") || opt_.lr() == base_lr_, "--resume: {} is "
             "damaged: its learning rate is {:g}, but the run has no schedule (--lr-cosine, --lr-decay, --lr-plateau) "
             "and started at {:g}; start a new run or resume from an unedited checkpoint", last_path_, opt_.lr(),
             base_lr_);
    // The schedule goes on from where it was: a different --lr on the command line is not used, and says so.
    if (on_message && base_lr_ != requested_lr)
        on_message(fmt::format("--resume: the learning rate goes on with {}'s schedule (its --lr {:g}, now {:g}); "
                               "this command line's --lr {:g} is not used", last_path_, base_lr_, opt_.lr(),
                               requested_lr));
    // Clipping is not part of the schedule: a new --clip applies from here on (the run is then not the one it
    // would have been uninterrupted), and says so.
    if (on_message && t.contains("clip") && t.at("clip").get<double>() != o_.clip) {
        auto shown = [](double v) { return v > 0 ? fmt::format("{:g}", v) : std::string("off"); };
        on_message(fmt::format("--resume: gradient clipping changes from {} to {} for the rest of the run",
                               shown(t.at("clip").get<double>()), shown(o_.clip)));
    }
    // Early stopping is not part of the schedule either: a new --patience judges the epochs already without
    // improvement too (absent in checkpoints from before it was recorded: nothing to compare).
    if (on_message && t.contains("patience") && t.at("patience").get<int>() != o_.patience)
        on_message(fmt::format("--resume: --patience changes from {} to {} (the run has gone {} epoch{} without "
                               "improving on its best validation loss)", t.at("patience").get<int>(), o_.patience,
                               t.at("bad_epochs").get<int>(), t.at("bad_epochs").get<int>() == 1 ? "" : "s"));
    if (const std::string note = resumed_arithmetic_note(t, run_arithmetic(model_.backend()), last_path_);
        on_message && !note.empty())
        on_message(note);
}

// The best validation loss, the epochs without improvement and the epoch in progress, each checked against the
// history.
void ForecastTrainer::read_resumed_progress(const nlohmann::json& t, int epochs_done) {
    // null: no epoch validated yet (interrupted in the first); JSON has no infinity.
    best_val_ = t.at("best_val").is_null() ? std::numeric_limits<double>::infinity() : t.at("best_val").get<double>();
    FR_CHECK(!std::isnan(best_val_), "--resume: {} is damaged: its best validation loss is NaN", last_path_);
    // The best loss is its history's lowest, and each epoch marked best improved on those before it: an edited loss
    // would pick another model as the best (JSON keeps doubles exactly, so equality is the test).
    double lowest = std::numeric_limits<double>::infinity();
    for (const EpochRecord& r : history_) {
        FR_CHECK(r.best == (r.val_loss < lowest), "--resume: {} is damaged: its history {} epoch {} (validation loss "
                 "{}) as the best so far, but the lowest before it was {}", last_path_, r.best ? "marks" : "does not mark",
                 r.epoch, r.val_loss, lowest);
        lowest = std::min(lowest, r.val_loss);
    }
    FR_CHECK(best_val_ == lowest, "--resume: {} is damaged: its best validation loss is {}, but its history's lowest "
             "is {}", last_path_, best_val_, lowest);
    bad_epochs_ = t.at("bad_epochs").get<int>();
    FR_CHECK(bad_epochs_ >= 0 && bad_epochs_ <= epochs_done, "--resume: {} is damaged: {} epochs without improvement "
             "out of {} done", last_path_, bad_epochs_, epochs_done);
    // Before any training: a best model missing or replaced would only show in the final report.
    check_best_checkpoint(t);
    if (t.contains("epoch_in_progress")) {
        resumed_ = t.at("epoch_in_progress").get<EpochState>();
        FR_CHECK(resumed_.epoch == epochs_done + 1 && resumed_.steps_done >= 0 &&
                     resumed_.steps_done <= resumed_.steps && resumed_.windows >= 0 &&
                     std::isfinite(resumed_.loss_sum) && resumed_.loss_sum >= 0 && std::isfinite(resumed_.norm_sum) &&
                     resumed_.norm_sum >= 0 && std::isfinite(resumed_.seconds) && resumed_.seconds >= 0,
                 "--resume: {} is damaged: its epoch in progress (epoch {}, step {}/{}) does not follow its history "
                 "({} epoch(s)) or is out of range", last_path_, resumed_.epoch, resumed_.steps_done, resumed_.steps,
                 epochs_done);
        // The run's batch (checked against --batch above) and the epoch's must agree; and every step is a full batch.
        FR_CHECK(!t.contains("batch") || resumed_.batch == t.at("batch").get<int>(), "--resume: {} is damaged: its "
                 "epoch in progress says --batch {}, the run --batch {}", last_path_, resumed_.batch,
                 t.at("batch").get<int>());
        FR_CHECK(resumed_.windows == resumed_.steps_done * long(resumed_.batch), "--resume: {} is damaged: its epoch "
                 "in progress counts {} windows in {} steps of {}", last_path_, resumed_.windows, resumed_.steps_done,
                 resumed_.batch);
        FR_CHECK(resumed_.batch == o_.batch, "--resume: epoch {} was interrupted with --batch {}; resume it with the "
                 "same batch size (not {})", resumed_.epoch, resumed_.batch, o_.batch);
        FR_CHECK(resumed_.steps == steps_per_epoch(), "--resume: epoch {} was interrupted in a {}-step epoch, this run "
                 "has {} steps per epoch: use the same --max-batches", resumed_.epoch, resumed_.steps,
                 steps_per_epoch());
    }
    detail::check_epochs_reach(o_.epochs, resumed_.epoch, epochs_done, last_path_);
}

// The notes on a changed --epochs (under --lr-cosine) and rank count, then where the run goes on from.
void ForecastTrainer::say_how_resumed(const nlohmann::json& t, int epochs_done) {
    // The cosine runs over --epochs: more (or fewer) epochs stretch the rest of the curve, which lifts (or drops) the
    // rate at once (docs/forecasting.md). Said here, as the --lr note above (recorded since 0.3.1).
    if (on_message && o_.lr_cosine && t.contains("epochs") && t.at("epochs").get<int>() != o_.epochs) {
        const long next = resumed_.epoch > 0 ? global_step(resumed_.epoch, resumed_.steps_done)
                                             : global_step(epochs_done + 1, 0);
        on_message(fmt::format("--resume: --lr-cosine now runs to the end of epoch {} (the run's curve ended at "
                               "epoch {}): the rate goes on from {:g} at the next step (it was {:g})", o_.epochs,
                               t.at("epochs").get<int>(), cosine_lr(next), opt_.lr()));
    }
    // Another number of data-parallel ranks sees the same batches: the same run up to the order of float sums.
    const int saved_ranks = t.value("ranks", 1);
    if (saved_ranks != ranks() && on_message)
        on_message(fmt::format("{} was trained on {} data-parallel rank{}, this run has {}: the same batches and "
                               "schedule, equal up to the order of the float sums", last_path_, saved_ranks,
                               saved_ranks == 1 ? "" : "s", ranks()));
    if (on_message) {
        const std::string best = std::isfinite(best_val_) ? fmt::format("best validation loss {:.4f}", best_val_)
                                                           : std::string("no validation yet");
        on_message(resumed_.epoch > 0
                       ? fmt::format("resumed from {} in epoch {} at step {}/{} ({})", last_path_, resumed_.epoch,
                                     resumed_.steps_done, resumed_.steps, best)
                       : fmt::format("resumed from {} after epoch {} ({})", last_path_, epochs_done, best));
    }
}

}  // namespace fusedrnn
