// ForecastTrainer's training loop: epochs of batches, the validation pass, the learning-rate schedule and early
// stopping. Data parallelism is in forecast_trainer_ranks.cpp, checkpoints and --resume in
// forecast_trainer_resume.cpp.
#include "fusedrnn/models/forecast_trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <limits>

#include <fmt/format.h>

#include "fusedrnn/core/data/rng.h"
#include "fusedrnn/core/data/sampler.h"
#include "fusedrnn/core/detail/json_error.h"
#include "fusedrnn/models/checkpoint.h"
#include "fusedrnn/models/detail/divergence_advice.h"
#include "fusedrnn/models/optimizer.h"

namespace fusedrnn {

// ---- records ------------------------------------------------------------------------------------------

nlohmann::json EpochRecord::to_json() const {
    return {{"epoch", epoch},     {"train_loss", train_loss}, {"val_loss", val_loss},
            {"grad_norm", grad_norm}, {"seconds", seconds},   {"windows_per_s", windows_per_s}, {"lr", lr},
            {"step", step},   {"best", best}, {"val_seconds", val_seconds}};
}

EpochRecord EpochRecord::from_json(const nlohmann::json& j) {
    EpochRecord r;
    r.epoch = j.at("epoch").get<int>();
    r.train_loss = j.at("train_loss").get<double>();
    r.val_loss = j.at("val_loss").get<double>();
    r.grad_norm = j.at("grad_norm").get<double>();
    r.seconds = j.at("seconds").get<double>();
    r.windows_per_s = j.at("windows_per_s").get<double>();
    r.lr = j.value("lr", 0.0);  // not recorded before learning-rate schedules existed
    r.step = j.value("step", 0L);  // nor this before --steps-per-epoch
    r.val_seconds = j.value("val_seconds", 0.0);  // nor this before 0.3.14
    r.best = j.at("best").get<bool>();
    return r;
}

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

}  // namespace

// ---- trainer ---------------------------------------------------------------------------------------------

void TrainOptions::validate() const {
    FR_CHECK(epochs > 0, "--epochs must be positive, got {}", epochs);
    FR_CHECK(batch > 0, "--batch must be positive, got {}", batch);
    FR_CHECK(patience >= 0, "--patience must be >= 0, got {}", patience);
    FR_CHECK(std::isfinite(clip), "--clip must be a finite number (0 = off), got {}", clip);  // QA: 1e400, inf
    FR_CHECK(clip >= 0, "--clip must be >= 0 (0 = off), got {}", clip);
    FR_CHECK(max_batches >= 0, "--max-batches must be >= 0 (0 = all), got {}", max_batches);
    FR_CHECK(!(resume && overwrite), "--resume continues the run in {}, --overwrite starts it over: give one of "
             "them", out_dir);
    FR_CHECK(std::isfinite(lr_decay) && lr_decay > 0 && lr_decay <= 1,
             "--lr-decay must be in (0, 1] (1 = constant learning rate), got {}", lr_decay);
    FR_CHECK(lr_plateau >= 0, "--lr-plateau must be >= 0 (0 = off), got {}", lr_plateau);
    FR_CHECK(std::isfinite(lr_plateau_factor) && lr_plateau_factor > 0 && lr_plateau_factor < 1,
             "--lr-plateau-factor must be in (0, 1), got {}", lr_plateau_factor);
    FR_CHECK(steps_per_epoch >= 0, "--steps-per-epoch must be >= 0 (0 = one pass over the data), got {}",
             steps_per_epoch);
    FR_CHECK(steps_per_epoch == 0 || max_batches == 0,
             "--steps-per-epoch and --max-batches both set the length of an epoch: give one of them");
    FR_CHECK(!lr_cosine || (lr_decay == 1 && lr_plateau == 0),
             "--lr-cosine sets the learning rate at every step: it cannot be combined with --lr-decay or --lr-plateau");
    FR_CHECK(std::isfinite(teacher_forcing) && teacher_forcing >= 0 && teacher_forcing <= 1,
             "--teacher-forcing must be a probability in [0, 1], got {}", teacher_forcing);
}

ForecastTrainer::ForecastTrainer(Forecaster& model, Optimizer& optimizer, const ForecastDataset& data,
                                 TrainOptions options)
    : model_(model), opt_(optimizer), data_(data), o_(std::move(options)) {
    o_.validate();
    FR_CHECK(o_.teacher_forcing == 0 || model_.seq2seq(),
             "--teacher-forcing feeds a seq2seq decoder: it needs --decoder seq2seq (this model is {})",
             model_.decoder_name());
    base_lr_ = opt_.lr();
    FR_CHECK(!data_.starts[0].empty(), "no training windows: the training split has no stretch of {} consecutive "
             "present rows (input {} + horizon {}); use a shorter window or more data",
             data_.window.span(), data_.window.input_len, data_.window.horizon);
    FR_CHECK(!data_.starts[1].empty(), "no validation windows: the validation split has no stretch of {} consecutive "
             "present rows", data_.window.span());
    check_forecaster_fits(model_, data_);
    ranks_.resize(1);
    ranks_[0].model = &model_;
    ranks_[0].opt = &opt_;
    ranks_[0].data = &data_;
}

ForecastTrainer::~ForecastTrainer() = default;


double ForecastTrainer::loss_on(const data::WindowStarts& starts) {
    sync_replicas();  // the ranks share the batches: before fit() they may hold other parameters
    return mean_loss(starts, nullptr);
}

long ForecastTrainer::steps_per_pass() const {
    const data::BatchSampler sampler(data_.starts[0], o_.batch, data::BatchSampler::Order::Shuffled, o_.seed);
    const long steps = long(sampler.batches_per_epoch());
    FR_CHECK(steps > 0, "only {} training windows, fewer than one batch of {}: lower --batch", sampler.num_windows(),
             o_.batch);
    return steps;
}

long ForecastTrainer::steps_per_epoch() const {
    if (o_.steps_per_epoch > 0) return o_.steps_per_epoch;
    const long pass = steps_per_pass();
    return o_.max_batches > 0 ? std::min(pass, o_.max_batches) : pass;
}

std::pair<long, long> ForecastTrainer::pass_and_batch(int epoch, long s) const {
    if (o_.steps_per_epoch == 0) return {epoch, s};  // an epoch is a pass (or its first max_batches batches)
    const long g = global_step(epoch, s), pass = steps_per_pass();
    return {g / pass + 1, g % pass};  // passes are numbered from 1, as epochs: steps_per_epoch = a pass changes nothing
}

float ForecastTrainer::cosine_lr(long g) const {
    const double total = double(o_.epochs) * double(steps_per_epoch());
    return float(double(base_lr_) * 0.5 * (1.0 + std::cos(std::acos(-1.0) * std::min(double(g), total) / total)));
}

// A training step queues its work and leaves its loss, gradient norm² and parameter norm² in a block of
// backend memory; the host reads the block back every kReadBackSteps steps, or sooner when it needs the
// numbers (progress, a checkpoint, a stop, the end of the epoch). On a GPU nothing crosses PCIe per step
// but the batch's window starts, and the host never waits for a step, so it queues the next while the
// device runs. The sums are folded in step order, so the epoch record is the same to the bit as when each
// step was read back at once (the CPU backend's results do not change). The layout is StepSlot's; a
// regression has no hits, so kCorrectSlot is left unwritten and unread.

void ForecastTrainer::train_epoch(EpochState& st, EpochRecord& rec) {
    Backend<float>& be = model_.backend();
    ParamStore& params = model_.params();
    // Shuffled full batches; the order depends only on (seed, pass), so a resumed epoch picks up at
    // step st.steps_done with exactly the batches it would have seen.
    const data::BatchSampler sampler(data_.starts[0], o_.batch, data::BatchSampler::Order::Shuffled, o_.seed);
    const long steps = st.steps;
    for (Rank& k : ranks_) k.results.reset(k.model->backend(), kStepSlots, kReadBackSteps);
    std::vector<float*> grads;  // every rank's gradient buffer, for the sum
    for (Rank& k : ranks_) grads.push_back(k.model->params().grads());
    std::vector<int64_t> order;
    const EpochStart start{Clock::now(), st.seconds, st.windows, st.steps_done};
    QueuedSteps queued;
    // Whether the parameters the epoch starts from are finite (for the cause of a NaN loss; after that, an
    // update that makes them non-finite stops the run at once).
    queued.params_finite = be.all_finite(params.size(), params.values());
    auto read_back = [&]() {
        if (fold_queued_steps(st, queued)) st.seconds = start.seconds + seconds_since(start.time);
    };

    auto last_report = start.time, last_save = start.time;
    for (long s = st.steps_done; s < steps; ++s) {
        queued.batch.push_back(queue_step(sampler, st.epoch, s, order, grads));

        const bool last = s + 1 == steps;
        bool stop = o_.stop_requested && o_.stop_requested();
        bool save_due = o_.checkpoint_seconds > 0 && seconds_since(last_save) >= o_.checkpoint_seconds;
        bool report_due = on_progress && (seconds_since(last_report) > 0.5 || last);
        agree_on_step(stop, save_due, report_due);
        if (ranks_[0].results.full() || last || stop || save_due || report_due) read_back();
        if (stop) save_and_stop(st, "");
        if (save_due) {
            save(last_path_, true, &st);
            last_save = Clock::now();
        }
        if (report_due && on_progress) {
            last_report = Clock::now();
            on_progress(progress_at(st, start, queued.last_norm));
        }
    }
    read_back();
    rec.seconds = st.seconds;
    rec.step = global_step(st.epoch, steps);
    rec.train_loss = st.loss_sum / double(std::max(st.windows, 1L));
    rec.grad_norm = st.norm_sum / double(std::max(steps, 1L));
    rec.windows_per_s = double(st.windows) / std::max(st.seconds, 1e-9);
}

// Step s of the epoch, queued on every rank: its batch drawn, the learning rate and teacher forcing of the step set,
// forward and backward, the gradient sum, the update. Returns the batch's size.
int ForecastTrainer::queue_step(const data::BatchSampler& sampler, int epoch, long s, std::vector<int64_t>& order,
                                const std::vector<float*>& grads) {
    const auto [pass, batch] = pass_and_batch(epoch, s);
    const int B = sampler.batch(pass, batch, order);
    const long g = global_step(epoch, s);
    if (o_.lr_cosine) opt_.set_lr(cosine_lr(g));
    const bool teacher = draw_teacher_forcing(g);
    // Global rank r trains on windows [r·B/R, (r+1)·B/R) of the batch (full batches: B is --batch, a multiple of
    // R); this process's ranks are r = first_rank_ + k.
    const int R = ranks();
    run_ranks([&](int k) {
        forward_backward(k, order.data() + size_t(global_rank(k)) * size_t(B / R), B / R, teacher, g);
    });
    if (gradient_sum_) gradient_sum_->sum(grads, model_.params().size());
    run_ranks([&](int k) { update(k); });
    return B;
}

std::string ForecastTrainer::divergence_advice() const {
    return detail::divergence_advice(o_.clip, o_.resume, !history_.empty());
}

// Folds the queued steps' results into st, in step order; stops at the first non-finite one.
bool ForecastTrainer::fold_queued_steps(EpochState& st, QueuedSteps& queued) {
    if (queued.batch.empty()) return false;
    const std::vector<double> r = take_step_results(queued.batch.size());
    for (size_t i = 0; i < queued.batch.size(); ++i) {
        const double* step = r.data() + i * kStepSlots;
        const long s = st.steps_done;  // the step these results are from
        const double loss = step[kLossSlot];
        const double norm = std::sqrt(step[kGradNorm2Slot]);
        if (!std::isfinite(loss)) throw_nonfinite("loss", loss, st.epoch, s, st.steps, queued.params_finite);
        if (!std::isfinite(norm))
            throw_nonfinite("gradient norm", norm, st.epoch, s, st.steps, queued.params_finite);
        // Parameters the update made non-finite stop the run here, before anything could save them.
        if (!std::isfinite(step[kParamNorm2Slot]))
            throw NumericError(fmt::format("the parameters became NaN/Inf in the update of epoch {} step {}/{} "
                                           "(gradient norm {:.4g}): training diverged ({})", st.epoch, s + 1,
                                           st.steps, norm, divergence_advice()));
        st.loss_sum += loss * queued.batch[i];
        st.norm_sum += norm;
        st.windows += queued.batch[i];
        st.steps_done = s + 1;
        queued.last_norm = norm;
    }
    queued.batch.clear();
    return true;
}

// The last `steps` steps' slots, read back from rank 0. With several ranks a step's loss is the mean of theirs (equal
// slices); the norms are the same on every rank.
std::vector<double> ForecastTrainer::take_step_results(size_t steps) {
    std::vector<double> r = ranks_[0].results.take(model_.backend());
    const int R = ranks();
    if (R == 1) return r;
    // Every global rank's records (across processes: gathered), the losses added in global rank order.
    std::vector<std::vector<double>> local{r};
    for (size_t k = 1; k < ranks_.size(); ++k) local.push_back(ranks_[k].results.take(ranks_[k].model->backend()));
    const std::vector<std::vector<double>> all = gather_ranks(local, steps * kStepSlots, "the training steps' losses");
    r = all[0];  // global rank 0's norms (the same bits on every rank)
    for (size_t k = 1; k < all.size(); ++k)
        for (size_t i = 0; i < steps; ++i) r[i * kStepSlots + kLossSlot] += all[k][i * kStepSlots + kLossSlot];
    for (size_t i = 0; i < steps; ++i) r[i * kStepSlots + kLossSlot] /= R;
    return r;
}

// The progress line's numbers once st.steps_done steps of the epoch are folded in.
Progress ForecastTrainer::progress_at(const EpochState& st, const EpochStart& start, double grad_norm) const {
    Progress p;
    p.epoch = st.epoch;
    p.epochs = o_.epochs;
    p.step = st.steps_done;
    p.steps = st.steps;
    p.passes = double(global_step(st.epoch, st.steps_done)) / double(steps_per_pass());
    p.loss = st.loss_sum / double(st.windows);
    p.grad_norm = grad_norm;
    const double el = seconds_since(start.time);
    p.windows_per_s = double(st.windows - start.windows) / std::max(el, 1e-9);
    p.eta_s = el / double(st.steps_done - start.step) * double(st.steps - st.steps_done);
    return p;
}

// Local rank k's share of a training step: its B windows of the batch forward and backward, the loss into its step
// slots. Each rank's loss gradient is scaled by 1/ranks (all processes'), so the summed gradient is that of the
// whole batch's mean.
void ForecastTrainer::forward_backward(int rank, const int64_t* starts, int B, bool teacher, long step) {
    Rank& k = ranks_[size_t(rank)];
    // Dropout masks by the step over the whole run and the rows of the batch this rank holds: the masks of a
    // resumed run, and of any rank count, are those of one uninterrupted rank.
    k.model->set_dropout_draw(DropoutDraw{o_.seed, uint64_t(step), long(global_rank(rank)) * B, long(B) * ranks()});
    Backend<float>& be = k.model->backend();
    gather_batch(be, *k.data, starts, B, k.starts_dev, k.x, k.y);
    k.step = k.results.next();
    k.model->zero_grad();
    k.teacher.y = &k.y;
    Tensor<float> pred = k.model->forward(k.x, true, teacher ? &k.teacher : nullptr);
    ensure_shape(be, k.grad, pred.shape());
    be.mse_into(pred.numel(), pred.data(), k.y.data(), k.grad.data(), 1.0f / float(ranks()), k.step + kLossSlot);
    k.model->backward(k.grad);
}

void ForecastTrainer::update(int rank) {
    Rank& k = ranks_[size_t(rank)];
    if (rank > 0) k.opt->set_lr(opt_.lr());  // the schedules run on rank 0's optimizer
    queue_update(k.model->params(), k.opt, o_.clip, k.step + kGradNorm2Slot, k.step + kParamNorm2Slot);
}

// The cause of a non-finite loss or gradient norm at step s: the step's batch is gathered again to look at it
// (the steps queued after it have overwritten the buffers; the run stops here, so that is harmless). An Inf in
// the input can leave the loss finite (saturated gates) and only the gradient non-finite.
void ForecastTrainer::throw_nonfinite(const char* quantity, double value, int epoch, long s, long steps,
                                      bool params_finite) {
    Backend<float>& be = model_.backend();
    const data::BatchSampler sampler(data_.starts[0], o_.batch, data::BatchSampler::Order::Shuffled, o_.seed);
    std::vector<int64_t> order;
    const auto [pass, batch] = pass_and_batch(epoch, s);
    const int B = sampler.batch(pass, batch, order);
    Rank& k = ranks_[0];
    gather_batch(be, data_, order.data(), B, k.starts_dev, k.x, k.y);
    const bool bad_input = !be.all_finite(k.x.numel(), k.x.data()) || !be.all_finite(k.y.numel(), k.y.data());
    const bool is_loss = std::string(quantity) == "loss";
    const std::string advice = divergence_advice();
    throw NumericError(fmt::format(
        "{} is {} at epoch {} step {}/{}: {}", quantity, finite_or_name(value), epoch, s + 1, steps,
        bad_input        ? std::string("the batch contains NaN/Inf values (a window touched missing data)")
        : !params_finite ? fmt::format("the parameters became NaN/Inf (diverged: {})", advice)
        : is_loss        ? fmt::format("the model output overflowed ({})", advice)
                         : fmt::format("training diverged ({})", advice)));
}

// With `st`, polls for a stop between rounds of batches: the epoch's training is done and saved with it, and a
// resumed run validates again from the start. Batch b runs on rank b % ranks (the ranks hold the same parameters);
// the batch losses stay in backend memory, are read back every kReadBackSteps rounds and summed in batch order, so
// the mean is the same to the bit whatever the number of ranks.
double ForecastTrainer::mean_loss(const data::WindowStarts& starts, const EpochState* st) {
    const size_t R = size_t(ranks()), batch = size_t(o_.batch);  // global ranks; this process's are first_rank_ + k
    const size_t batches = (starts.size() + batch - 1) / batch;
    auto batch_size = [&](size_t b) { return std::min(starts.size() - b * batch, batch); };
    for (Rank& k : ranks_) k.results.reset(k.model->backend(), 1, kReadBackSteps);
    double sum = 0;
    size_t first_batch = 0, queued_rounds = 0;  // the rounds queued since the last read-back start at first_batch
    auto read_back = [&]() {
        if (queued_rounds == 0) return;
        std::vector<std::vector<double>> local(ranks_.size());
        for (size_t k = 0; k < ranks_.size(); ++k)
            if (ranks_[k].results.queued() > 0) local[k] = ranks_[k].results.take(ranks_[k].model->backend());
        // Every global rank's losses (a rank without a batch in the last round reads 0 there, unused below).
        const std::vector<std::vector<double>> losses = gather_ranks(local, queued_rounds, "the validation losses");
        for (size_t j = 0; j < queued_rounds; ++j)
            for (size_t k = 0; k < R; ++k) {
                const size_t b = first_batch + j * R + k;
                if (b < batches) sum += losses[k][j] * double(batch_size(b));
            }
        first_batch += queued_rounds * R;
        queued_rounds = 0;
    };
    // The pass starts now: its rate and ETA count from here (QA: the first line took the training's time for the
    // first batch's, "121 windows/s | ETA 27m"; a later pass's first line divided by nothing, "1024000.0M windows/s").
    if (on_eval_progress) on_eval_progress(0, starts.size());
    for (size_t round = 0; round * R < batches; ++round) {
        run_ranks([&](int rank) {
            const size_t b = round * R + size_t(global_rank(rank));
            if (b >= batches) return;
            Rank& k = ranks_[size_t(rank)];
            Backend<float>& be = k.model->backend();
            gather_batch_range(be, *k.data, starts, b * batch, int(batch_size(b)), k.host_starts, k.starts_dev, k.x, k.y);
            Tensor<float> pred = k.model->forward(k.x, false);
            be.mse_into(pred.numel(), pred.data(), k.y.data(), nullptr, 1.0f, k.results.next());
        });
        ++queued_rounds;
        // By the count of rounds, not a rank's queue: in a multi-process run every process must gather alike.
        if (queued_rounds == size_t(kReadBackSteps)) read_back();
        if (on_eval_progress) on_eval_progress(std::min((round + 1) * R * batch, starts.size()), starts.size());
        if (st) {
            bool stop = o_.stop_requested && o_.stop_requested();
            if (processes_) stop = any_process(*processes_, stop);
            if (stop) save_and_stop(*st, " (during validation)");
        }
    }
    read_back();
    return starts.empty() ? std::nan("") : sum / double(starts.size());
}

std::string ForecastTrainer::schedule_learning_rate() {
    const float before = opt_.lr();
    float lr = float(before * o_.lr_decay);
    const bool plateau = o_.lr_plateau > 0 && bad_epochs_ > 0 && bad_epochs_ % o_.lr_plateau == 0;
    if (plateau) lr = float(lr * o_.lr_plateau_factor);
    opt_.set_lr(lr);
    if (!plateau) return {};
    return fmt::format("validation loss has not improved for {} epoch{}: learning rate {:g} -> {:g}", bad_epochs_,
                       bad_epochs_ == 1 ? "" : "s", before, lr);
}

bool ForecastTrainer::draw_teacher_forcing(long g) {
    if (o_.teacher_forcing <= 0) return false;
    const int horizon = data_.window.horizon;
    std::vector<uint8_t> use_truth(size_t(horizon), 0);
    // A stream of its own (not the sampler's): the same (seed, step) gives the same lead times on every run.
    data::Rng rng(data::mix64(data::mix64(o_.seed, 0x7eac4e5ull), uint64_t(g)));
    for (int t = 1; t < horizon; ++t) use_truth[size_t(t)] = rng.uniform() < o_.teacher_forcing;
    for (Rank& k : ranks_) k.teacher.use_truth = use_truth;  // the same lead times on every rank
    return true;
}

std::vector<EpochRecord> ForecastTrainer::fit() {
    if (!start_or_resume()) return history_;
    // From here the processes move in step: one that stops answering for FUSEDRNN_PEER_TIMEOUT_S is stuck or gone.
    // (Not before, when one may still be reading its data; nor after, when process 0 alone runs the test report.)
    struct StepTimeout {
        ProcessGroup* processes;
        ~StepTimeout() {
            if (processes) processes->set_timeout(0);
        }
    } step_timeout{processes_};
    if (processes_) processes_->set_timeout(peer_timeout_seconds());
    sync_replicas();  // every rank starts from rank 0's state (fresh, or as resumed)
    const int first_epoch = resumed_.epoch > 0 ? resumed_.epoch : history_.empty() ? 1 : history_.back().epoch + 1;
    for (int epoch = first_epoch; epoch <= o_.epochs; ++epoch) {
        EpochRecord rec = train_and_validate(epoch);
        if (close_epoch(rec)) break;
    }
    return history_;
}

// The output folder made (or a run there that must not be replaced refused), then a fresh start or, with --resume,
// the state of last.safetensors. False when the resumed run had already stopped early: nothing more to train.
bool ForecastTrainer::start_or_resume() {
    namespace fs = std::filesystem;
    FR_CHECK(!o_.out_dir.empty(), "an output folder is required");
    FR_CHECK(o_.checkpoint_seconds >= 0, "the checkpoint interval must be >= 0, got {}", o_.checkpoint_seconds);
    last_path_ = (fs::path(o_.out_dir) / "last.safetensors").string();
    best_path_ = (fs::path(o_.out_dir) / "best.safetensors").string();
    if (writes_files()) {
        create_output_folder(o_.out_dir);
        if (!o_.resume && !o_.overwrite) refuse_to_overwrite_unfinished_run(last_path_, "trainer");
    }
    history_.clear();
    best_val_ = std::numeric_limits<double>::infinity();
    bad_epochs_ = 0;
    resumed_ = EpochState{};
    if (!o_.resume) return true;
    try {
        resume_from_last();
    } catch (const nlohmann::json::exception& e) {  // a field missing or of the wrong type
        FR_FAIL("--resume: the training state in {} is damaged or incomplete ({}); start a new run or use another "
                "--out", last_path_, detail::json_access_problem(e));
    }
    // Every process read <out>/last.safetensors itself: it must have been the same file.
    if (processes_)
        check_same_on_every_process(*processes_, "resumed state of " + last_path_ +
                                                     " (--resume needs --out on a filesystem every process sees)",
                                    fmt::format("epochs done {}; epoch in progress {}; at step {}; best {}; bad "
                                                "epochs {}", history_.size(), resumed_.epoch, resumed_.steps_done,
                                                best_val_, bad_epochs_));
    if (resumed_.epoch == 0 && o_.patience > 0 && bad_epochs_ >= o_.patience) {
        if (on_message)
            on_message(fmt::format("the run had stopped early ({} epoch{} without improvement, --patience {}): "
                                   "nothing more to train (a larger --patience goes on)", bad_epochs_,
                                   bad_epochs_ == 1 ? "" : "s", o_.patience));
        return false;
    }
    return true;
}

// One epoch's training (from where a resumed one stopped) and its validation loss.
EpochRecord ForecastTrainer::train_and_validate(int epoch) {
    EpochState st;
    if (epoch == resumed_.epoch) {
        st = resumed_;
    } else {
        st.epoch = epoch;
        st.batch = o_.batch;
        st.steps = steps_per_epoch();
    }
    EpochRecord rec;
    rec.epoch = epoch;
    if (o_.lr_cosine) opt_.set_lr(cosine_lr(global_step(epoch, 0)));
    rec.lr = opt_.lr();
    try {
        train_epoch(st, rec);
        check_replicas_agree(epoch);
        const auto validation_start = Clock::now();
        rec.val_loss = mean_loss(data_.starts[1], &st);
        rec.val_seconds = seconds_since(validation_start);
    } catch (const OutOfDeviceMemory& e) {  // the activations and gradients of one batch did not fit
        throw OutOfDeviceMemory(fmt::format("training {} at batch {}: {}. Use a smaller --batch or model, or "
                                            "--backend cpu",
                                            model_.spec().describe(), o_.batch, e.what()));
    }
    FR_CHECK(std::isfinite(rec.val_loss), "validation loss is {} after epoch {}", rec.val_loss, epoch);
    return rec;
}

// After an epoch: the best loss and the patience count, the history, the learning-rate schedule, the checkpoints
// and the callbacks. True when the run stops early.
bool ForecastTrainer::close_epoch(EpochRecord& rec) {
    rec.best = rec.val_loss < best_val_;
    if (rec.best) {
        best_val_ = rec.val_loss;
        bad_epochs_ = 0;
    } else {
        ++bad_epochs_;
    }
    history_.push_back(rec);
    // Before saving: last.safetensors resumes with the next epoch's rate (also when --epochs is raised).
    const std::string lr_note = schedule_learning_rate();
    const bool early_stop = o_.patience > 0 && bad_epochs_ >= o_.patience;
    const bool last_epoch = rec.epoch == o_.epochs;
    // last first: a run stopped between the two writes resumes, and writes best.safetensors again then
    // (check_best_checkpoint); the other order would leave best.safetensors ahead of the run's history.
    save(last_path_, true, nullptr, early_stop || last_epoch);
    if (rec.best) save(best_path_, false);
    if ((early_stop || last_epoch) && on_trained) on_trained();
    if (on_epoch) on_epoch(rec);
    if (!lr_note.empty() && !early_stop && !last_epoch && on_message) on_message(lr_note);
    if (early_stop && on_message)
        on_message(fmt::format("early stop: validation loss has not improved for {} epoch{} (best {:.4f})", bad_epochs_,
                               bad_epochs_ == 1 ? "" : "s", best_val_));
    return early_stop;
}

}  // namespace fusedrnn
