#include "fusedrnn/models/forecast_trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <memory>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "fusedrnn/core/data/rng.h"
#include "fusedrnn/core/data/sampler.h"
#include "fusedrnn/models/checkpoint.h"
#include "fusedrnn/models/detail/resume_checks.h"
#include "fusedrnn/models/optimizer.h"

namespace fusedrnn {

// ---- records ------------------------------------------------------------------------------------------

nlohmann::json EpochRecord::to_json() const {
    return {{"epoch", epoch},     {"train_loss", train_loss}, {"val_loss", val_loss},
            {"grad_norm", grad_norm}, {"seconds", seconds},   {"windows_per_s", windows_per_s}, {"lr", lr},
            {"step", step},   {"best", best}};
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
    FR_CHECK(std::isfinite(clip) && clip >= 0, "--clip must be >= 0 (0 = off), got {}", clip);
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

namespace {

// Why a resumed run's data is not the checkpoint's, in the terms of its flags: the data description (--data,
// --synthetic-*) and the window, targets and split first, the normalization statistics (which follow from them)
// only when nothing else differs.
// The dataset description `now` as a checkpoint written before 0.3 would hold it: without the values' checksum when
// `saved` has none (such a run resumes as before, on whatever values the files hold now).
nlohmann::json dataset_as_saved(const nlohmann::json& saved, nlohmann::json now) {
    if (saved.is_object() && !saved.contains("values_checksum") && now.is_object()) now.erase("values_checksum");
    return now;
}

bool same_dataset(const nlohmann::json& saved, const nlohmann::json& now) {
    return saved == dataset_as_saved(saved, now);
}

std::string dataset_differences(const nlohmann::json& saved, const nlohmann::json& now) {
    std::vector<std::string> parts;
    if (saved.contains("data") && now.contains("data") && saved.at("data") != now.at("data"))
        parts.push_back("data: " + json_differences(saved.at("data"), now.at("data")));
    nlohmann::json s = saved.at("dataset"), n = dataset_as_saved(saved.at("dataset"), now.at("dataset"));
    const nlohmann::json s_sum = s.value("values_checksum", nlohmann::json()),
                         n_sum = n.value("values_checksum", nlohmann::json());
    s.erase("values_checksum");
    n.erase("values_checksum");
    // The same stations, variables and split with other values: the files were changed (e.g. corrected) since.
    if (s == n && s_sum != n_sum)
        return fmt::format("the data's values differ from those it trained on (checksum {} then, {} now): its files "
                           "were changed since", s_sum.is_string() ? s_sum.get<std::string>() : s_sum.dump(),
                           n_sum.is_string() ? n_sum.get<std::string>() : n_sum.dump());
    const nlohmann::json s_stats = s.value("stats", nlohmann::json()), n_stats = n.value("stats", nlohmann::json());
    s.erase("stats");
    n.erase("stats");
    if (s != n) parts.push_back(json_differences(s, n));
    if (parts.empty()) parts.push_back("normalization: " + json_differences(s_stats, n_stats));
    return fmt::format("{}", fmt::join(parts, "; "));
}

// FNV-1a over the window lists: processes that built other windows (other files, flags or a damaged copy) would
// train on other batches.
uint64_t fingerprint(const data::WindowStarts& starts, uint64_t h = 1469598103934665603ull) {
    for (int64_t v : starts) {
        for (int byte = 0; byte < 8; ++byte) {
            h ^= uint64_t(v >> (8 * byte)) & 0xffu;
            h *= 1099511628211ull;
        }
    }
    return h;
}

}  // namespace

void ForecastTrainer::set_up_data_parallel(const std::vector<Replica>& replicas, ProcessGroup* processes,
                                           RankRunner::Threads threads) {
    FR_CHECK(ranks_.size() == 1 && !processes_, "the data-parallel set-up of this trainer is done already ({} ranks)",
             ranks());
    if (processes && processes->size() > 1) processes_ = processes;
    const int L = int(replicas.size()) + 1, R = L * this->processes();
    if (R == 1) return;
    FR_CHECK(o_.batch % R == 0, "--batch {} does not split evenly over {} data-parallel ranks: use a multiple of {}",
             o_.batch, R, R);
    std::vector<Backend<float>*> backends{&model_.backend()};
    for (size_t i = 0; i < replicas.size(); ++i) {
        const Replica& r = replicas[i];
        const size_t rank = i + 1;
        FR_CHECK(r.model && r.optimizer && r.data, "data-parallel rank {}: a model, an optimizer and a dataset are "
                 "needed", rank);
        FR_CHECK(r.model->config() == model_.config(), "data-parallel rank {} holds a different model ({}) than rank "
                 "0 ({})", rank, r.model->config().dump(), model_.config().dump());
        FR_CHECK(r.optimizer->config().name == opt_.config().name, "data-parallel rank {} uses optimizer {}, rank 0 {}",
                 rank, r.optimizer->config().name, opt_.config().name);
        // The series and the training windows must match: rank 0's window lists index every rank's series.
        const ForecastDataset& d = *r.data;
        const bool same_windows = d.F == data_.F && d.target_cols == data_.target_cols &&
                                  d.window.span() == data_.window.span() && d.series.numel() == data_.series.numel() &&
                                  d.starts[0].size() == data_.starts[0].size();
        FR_CHECK(same_windows, "data-parallel rank {} was given other data than rank 0 (variables, targets, window, "
                 "rows or training windows differ)", rank);
        backends.push_back(&r.model->backend());
        Rank k;
        k.model = r.model;
        k.opt = r.optimizer;
        k.data = r.data;
        ranks_.push_back(std::move(k));
    }
    if (processes_) {
        first_rank_ = processes_->rank() * L;
        // Everything that decides the batches, the model and the updates must be the same in every process.
        const OptimizerConfig& oc = opt_.config();
        check_same_on_every_process(
            *processes_, "ranks, model, optimizer, schedule and data",
            fmt::format("ranks per process {}; model {}; optimizer {}; lr {}; momentum {}; weight decay {}; epochs {}; "
                        "batch {}; clip {}; patience {}; seed {}; lr-decay {}; lr-plateau {}; lr-plateau-factor {}; "
                        "lr-cosine {}; teacher forcing {}; max-batches {}; steps-per-epoch {}; resume {}; dataset {}; "
                        "variables {}; rows {}; windows {}/{}/{}; window fingerprint {:x}",
                        L, model_.config().dump(), oc.name, oc.lr, oc.momentum, oc.weight_decay, o_.epochs, o_.batch,
                        o_.clip, o_.patience, o_.seed, o_.lr_decay, o_.lr_plateau, o_.lr_plateau_factor, o_.lr_cosine,
                        o_.teacher_forcing, o_.max_batches, o_.steps_per_epoch, o_.resume,
                        o_.extra.contains("dataset") ? o_.extra.at("dataset").dump() : std::string("-"), data_.F,
                        data_.series.numel(), data_.starts[0].size(), data_.starts[1].size(), data_.starts[2].size(),
                        fingerprint(data_.starts[2], fingerprint(data_.starts[1], fingerprint(data_.starts[0])))));
    }
    if (L > 1) runner_ = std::make_unique<RankRunner>(backends, threads);
    gradient_sum_ = make_gradient_sum(backends, &why_not_nccl_, processes_);
}

void ForecastTrainer::agree_on_step(bool& stop, bool& save_due, bool& report_due) {
    if (!processes_) return;
    const uint8_t mine = uint8_t((stop ? 1 : 0) | (save_due ? 2 : 0) | (report_due ? 4 : 0));
    std::vector<uint8_t> all(size_t(processes_->size()), 0);
    processes_->all_gather(&mine, 1, all.data());
    stop = false;
    for (uint8_t f : all) stop = stop || (f & 1);
    save_due = all[0] & 2;
    report_due = all[0] & 4;
}

std::vector<std::vector<double>> ForecastTrainer::gather_ranks(const std::vector<std::vector<double>>& local,
                                                               size_t per_rank, const char* what) {
    std::vector<double> mine;
    mine.reserve(local.size() * per_rank);
    for (const auto& v : local) {
        FR_CHECK(v.size() <= per_rank, "{}: a rank has {} values for {} slots", what, v.size(), per_rank);
        mine.insert(mine.end(), v.begin(), v.end());
        mine.resize(mine.size() + per_rank - v.size(), 0.0);  // a rank that had no batch in the last round
    }
    std::vector<std::vector<double>> per_process{mine};
    if (processes_) per_process = all_gather(*processes_, mine, what);
    std::vector<std::vector<double>> out;
    for (const auto& p : per_process)
        for (size_t k = 0; k < local.size(); ++k)
            out.emplace_back(p.begin() + std::ptrdiff_t(k * per_rank), p.begin() + std::ptrdiff_t((k + 1) * per_rank));
    return out;
}

void ForecastTrainer::run_ranks(const std::function<void(int)>& fn) {
    if (runner_) runner_->run(fn);
    else fn(0);
}

void ForecastTrainer::sync_replicas() {
    if (ranks() == 1) return;
    std::vector<float> values = model_.params().values_to_host();
    auto state = opt_.state_to_host();
    long steps = opt_.steps();
    float lr = opt_.lr();
    if (processes_) {  // process 0's rank 0 is every rank's source
        broadcast(*processes_, values, 0);
        for (auto& kv : state) broadcast(*processes_, kv.second, 0);  // the same names everywhere (same optimizer)
        processes_->broadcast(&steps, sizeof steps, 0);
        processes_->broadcast(&lr, sizeof lr, 0);
        if (processes_->rank() > 0) {
            model_.params().values_from_host(values);
            opt_.state_from_host(state, steps);
            opt_.set_lr(lr);
        }
    }
    for (size_t r = 1; r < ranks_.size(); ++r) {
        ranks_[r].model->params().values_from_host(values);
        ranks_[r].opt->state_from_host(state, steps);
        ranks_[r].opt->set_lr(lr);
    }
}

void ForecastTrainer::check_replicas_agree(int epoch) {
    if (ranks() == 1) return;
    std::vector<float> ref = model_.params().values_to_host();
    if (processes_) broadcast(*processes_, ref, 0);
    std::vector<int64_t> differ(ranks_.size(), 0);  // per local rank
    for (size_t r = 0; r < ranks_.size(); ++r) {
        if (r == 0 && (!processes_ || processes_->rank() == 0)) continue;
        const std::vector<float> v = ranks_[r].model->params().values_to_host();
        for (size_t i = 0; i < v.size(); ++i) differ[r] += std::memcmp(&v[i], &ref[i], sizeof(float)) != 0;
    }
    std::vector<std::vector<int64_t>> all{differ};
    if (processes_) all = all_gather(*processes_, differ, "the ranks' parameter check");
    for (size_t p = 0; p < all.size(); ++p)
        for (size_t r = 0; r < all[p].size(); ++r)
            FR_CHECK(all[p][r] == 0, "data parallelism: after epoch {} the parameters of rank {}{} differ from rank 0's "
                     "in {} of {} values; the gradient sum ({}) or an update is not the same on every rank", epoch,
                     p * ranks_.size() + r, processes_ ? fmt::format(" (process {})", p) : std::string(), all[p][r],
                     ref.size(), gradient_sum_name());
}

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
    const long steps = st.steps, pass_steps = steps_per_pass();
    for (Rank& k : ranks_) k.results.reset(k.model->backend(), kStepSlots, kReadBackSteps);
    const int R = ranks();
    std::vector<float*> grads;  // every rank's gradient buffer, for the sum
    for (Rank& k : ranks_) grads.push_back(k.model->params().grads());
    std::vector<int64_t> order;
    std::vector<int> queued_batch;  // batch sizes of the steps queued since the last read-back
    const auto t0 = Clock::now();
    const double seconds_before = st.seconds;
    const long windows_before = st.windows, first_step = st.steps_done;
    // Whether the parameters the epoch starts from are finite (for the cause of a NaN loss; after that, an
    // update that makes them non-finite stops the run at once).
    const bool params_finite = be.all_finite(params.size(), params.values());
    double last_norm = 0;

    // Folds the queued steps' results into st, in step order; stops at the first non-finite one. With several
    // ranks a step's loss is the mean of theirs (equal slices); the norms are the same on every rank.
    auto read_back = [&]() {
        if (queued_batch.empty()) return;
        std::vector<double> r = ranks_[0].results.take(be);
        if (R > 1) {
            // Every global rank's records (across processes: gathered), the losses added in global rank order.
            std::vector<std::vector<double>> local{r};
            for (size_t k = 1; k < ranks_.size(); ++k)
                local.push_back(ranks_[k].results.take(ranks_[k].model->backend()));
            const std::vector<std::vector<double>> all =
                gather_ranks(local, queued_batch.size() * kStepSlots, "the training steps' losses");
            r = all[0];  // global rank 0's norms (the same bits on every rank)
            for (size_t k = 1; k < all.size(); ++k)
                for (size_t i = 0; i < queued_batch.size(); ++i)
                    r[i * kStepSlots + kLossSlot] += all[k][i * kStepSlots + kLossSlot];
            for (size_t i = 0; i < queued_batch.size(); ++i) r[i * kStepSlots + kLossSlot] /= R;
        }
        for (size_t i = 0; i < queued_batch.size(); ++i) {
            const double* step = r.data() + i * kStepSlots;
            const long s = st.steps_done;  // the step these results are from
            const double loss = step[kLossSlot];
            const double norm = std::sqrt(step[kGradNorm2Slot]);
            if (!std::isfinite(loss)) throw_nonfinite("loss", loss, st.epoch, s, steps, params_finite);
            if (!std::isfinite(norm)) throw_nonfinite("gradient norm", norm, st.epoch, s, steps, params_finite);
            // Parameters the update made non-finite stop the run here, before anything could save them.
            if (!std::isfinite(step[kParamNorm2Slot]))
                throw NumericError(fmt::format("the parameters became NaN/Inf in the update of epoch {} step {}/{} "
                                               "(gradient norm {:.4g}): training diverged (lower --lr or set --clip)",
                                               st.epoch, s + 1, steps, norm));
            st.loss_sum += loss * queued_batch[i];
            st.norm_sum += norm;
            st.windows += queued_batch[i];
            st.steps_done = s + 1;
            last_norm = norm;
        }
        queued_batch.clear();
        st.seconds = seconds_before + seconds_since(t0);
    };

    auto last_report = t0, last_save = t0;
    for (long s = st.steps_done; s < steps; ++s) {
        const auto [pass, batch] = pass_and_batch(st.epoch, s);
        const int B = sampler.batch(pass, batch, order);
        if (o_.lr_cosine) opt_.set_lr(cosine_lr(global_step(st.epoch, s)));
        const bool teacher = draw_teacher_forcing(global_step(st.epoch, s));
        // Global rank g trains on windows [g·B/R, (g+1)·B/R) of the batch (full batches: B is --batch, a multiple of
        // R); this process's ranks are g = first_rank_ + k.
        run_ranks([&](int k) {
            forward_backward(k, order.data() + size_t(global_rank(k)) * size_t(B / R), B / R, teacher,
                             global_step(st.epoch, s));
        });
        if (gradient_sum_) gradient_sum_->sum(grads, params.size());
        run_ranks([&](int k) { update(k); });
        queued_batch.push_back(B);

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
            Progress p;
            p.epoch = st.epoch;
            p.epochs = o_.epochs;
            p.step = s + 1;
            p.steps = steps;
            p.passes = double(global_step(st.epoch, s + 1)) / double(pass_steps);
            p.loss = st.loss_sum / double(st.windows);
            p.grad_norm = last_norm;
            const double el = seconds_since(t0);
            p.windows_per_s = double(st.windows - windows_before) / std::max(el, 1e-9);
            p.eta_s = el / double(s + 1 - first_step) * double(steps - s - 1);
            on_progress(p);
        }
    }
    read_back();
    rec.seconds = st.seconds;
    rec.step = global_step(st.epoch, steps);
    rec.train_loss = st.loss_sum / double(std::max(st.windows, 1L));
    rec.grad_norm = st.norm_sum / double(std::max(steps, 1L));
    rec.windows_per_s = double(st.windows) / std::max(st.seconds, 1e-9);
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
    throw NumericError(fmt::format(
        "{} is {} at epoch {} step {}/{}: {}", quantity, finite_or_name(value), epoch, s + 1, steps,
        bad_input        ? "the batch contains NaN/Inf values (a window touched missing data)"
        : !params_finite ? "the parameters became NaN/Inf (diverged: lower --lr or set --clip)"
        : is_loss        ? "the model output overflowed (lower --lr or set --clip)"
                         : "training diverged (lower --lr or set --clip)"));
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

void ForecastTrainer::save_and_stop(const EpochState& st, const char* where) {
    save(last_path_, true, &st);
    throw Interrupted(fmt::format("stopped at epoch {}, step {}/{}{}; {} {} (continue with --resume)", st.epoch,
                                  st.steps_done, st.steps, where, writes_files() ? "saved" : "process 0 saved",
                                  last_path_));
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

// What decides the batches and the rate of every later step must not change on resume (fields absent
// in checkpoints from before they existed mean the defaults).
void ForecastTrainer::check_resumed_schedule(const nlohmann::json& t) {
    const long spe = t.value("steps_per_epoch", 0L);
    auto describe = [](long n) { return n > 0 ? fmt::format("--steps-per-epoch {}", n) : std::string("epochs of one pass "
                                                                                                   "over the data"); };
    FR_CHECK(spe == o_.steps_per_epoch, "--resume: {} was trained with {}, this run asks for {}: the batch order "
             "depends on it; resume with the same flag", last_path_, describe(spe), describe(o_.steps_per_epoch));
    // So do the batch size and the epoch's length (recorded since 0.3.1; before, only an interrupted epoch's were).
    if (t.contains("batch"))
        FR_CHECK(t.at("batch").get<int>() == o_.batch, "--resume: {} was trained with --batch {}, this run asks for "
                 "{}: every later epoch's batches depend on it; resume with the same flag", last_path_,
                 t.at("batch").get<int>(), o_.batch);
    if (t.contains("max_batches")) {
        const long mb = t.at("max_batches").get<long>();
        auto shown = [](long n) { return n > 0 ? fmt::format("--max-batches {}", n) : std::string("no --max-batches"); };
        FR_CHECK(mb == o_.max_batches, "--resume: {} was trained with {}, this run asks for {}: the length of every "
                 "later epoch depends on it; resume with the same flag", last_path_, shown(mb), shown(o_.max_batches));
    }
    const bool cosine = t.value("lr_cosine", false);
    FR_CHECK(cosine == o_.lr_cosine, "--resume: {} was trained {} --lr-cosine; resume with the same schedule",
             last_path_, cosine ? "with" : "without");
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
        FR_CHECK(decay == o_.lr_decay && plateau == o_.lr_plateau && (plateau == 0 || factor == o_.lr_plateau_factor),
                 "--resume: {} was trained with {}, this run asks for {}: the learning rate of every later epoch "
                 "depends on them; resume with the same flags", last_path_, flags(decay, plateau, factor),
                 flags(o_.lr_decay, o_.lr_plateau, o_.lr_plateau_factor));
    }
    const double tf = t.value("teacher_forcing", 0.0);
    FR_CHECK(tf == o_.teacher_forcing, "--resume: {} was trained with --teacher-forcing {:g}, this run asks for {:g}; "
             "resume with the same flag", last_path_, tf, o_.teacher_forcing);
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
    load_parameters(c, model_);
    load_optimizer(c, opt_);
    const auto& t = c.extra.at("trainer");
    FR_CHECK(t.value("seed", uint64_t(0)) == o_.seed, "--resume: the run used --seed {}, not {}",
             t.value("seed", uint64_t(0)), o_.seed);
    check_resumed_schedule(t);
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
    const float requested_lr = base_lr_;
    if (t.contains("lr")) opt_.set_lr(t.at("lr").get<float>());  // as scheduled so far
    if (t.contains("base_lr")) base_lr_ = t.at("base_lr").get<float>();
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
    // null: no epoch validated yet (interrupted in the first); JSON has no infinity.
    best_val_ = t.at("best_val").is_null() ? std::numeric_limits<double>::infinity() : t.at("best_val").get<double>();
    FR_CHECK(!std::isnan(best_val_), "--resume: {} is damaged: its best validation loss is NaN", last_path_);
    bad_epochs_ = t.at("bad_epochs").get<int>();
    FR_CHECK(bad_epochs_ >= 0 && bad_epochs_ <= epochs_done, "--resume: {} is damaged: {} epochs without improvement "
             "out of {} done", last_path_, bad_epochs_, epochs_done);
    // Before any training: a best model missing or replaced would only show in the final report.
    check_best_checkpoint(t);
    if (t.contains("epoch_in_progress")) {
        resumed_ = t.at("epoch_in_progress").get<EpochState>();
        FR_CHECK(resumed_.epoch == epochs_done + 1 && resumed_.steps_done >= 0 &&
                     resumed_.steps_done <= resumed_.steps && resumed_.windows >= 0 &&
                     std::isfinite(resumed_.loss_sum) && std::isfinite(resumed_.norm_sum),
                 "--resume: {} is damaged: its epoch in progress (epoch {}, step {}/{}) does not follow its history "
                 "({} epoch(s)) or is out of range", last_path_, resumed_.epoch, resumed_.steps_done, resumed_.steps,
                 epochs_done);
        FR_CHECK(resumed_.batch == o_.batch, "--resume: epoch {} was interrupted with --batch {}; resume it with the "
                 "same batch size (not {})", resumed_.epoch, resumed_.batch, o_.batch);
        FR_CHECK(resumed_.steps == steps_per_epoch(), "--resume: epoch {} was interrupted in a {}-step epoch, this run "
                 "has {} steps per epoch: use the same --max-batches", resumed_.epoch, resumed_.steps,
                 steps_per_epoch());
    }
    detail::check_epochs_reach(o_.epochs, resumed_.epoch, epochs_done, last_path_);
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

std::vector<EpochRecord> ForecastTrainer::fit() {
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
    if (o_.resume) {
        try {
            resume_from_last();
        } catch (const nlohmann::json::exception& e) {  // a field missing or of the wrong type
            FR_FAIL("--resume: the training state in {} is damaged or incomplete ({}); start a new run or use another "
                    "--out", last_path_, e.what());
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
                on_message(fmt::format("the run had stopped early ({} epochs without improvement, --patience {}): "
                                       "nothing more to train (a larger --patience goes on)", bad_epochs_,
                                       o_.patience));
            return history_;
        }
    }
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
            rec.val_loss = mean_loss(data_.starts[1], &st);
        } catch (const OutOfDeviceMemory& e) {  // the activations and gradients of one batch did not fit
            throw OutOfDeviceMemory(fmt::format("training {} at batch {}: {}. Use a smaller --batch or model, or "
                                                "--backend cpu",
                                                model_.spec().describe(), o_.batch, e.what()));
        }
        FR_CHECK(std::isfinite(rec.val_loss), "validation loss is {} after epoch {}", rec.val_loss, epoch);
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
        // last first: a run stopped between the two writes resumes, and writes best.safetensors again then
        // (check_best_checkpoint); the other order would leave best.safetensors ahead of the run's history.
        save(last_path_, true, nullptr, early_stop || epoch == o_.epochs);
        if (rec.best) save(best_path_, false);
        if (on_epoch) on_epoch(rec);
        if (!lr_note.empty() && !early_stop && epoch < o_.epochs && on_message) on_message(lr_note);
        if (early_stop) {
            if (on_message)
                on_message(fmt::format("early stop: validation loss has not improved for {} epochs (best {:.4f})",
                                       bad_epochs_, best_val_));
            break;
        }
    }
    return history_;
}

}  // namespace fusedrnn
