#include "models/forecast_trainer.h"

#include <chrono>
#include <cmath>
#include <filesystem>

#include "core/data/sampler.h"
#include "models/checkpoint.h"

namespace fusedrnn {

ForecastDataset ForecastDataset::upload(Backend<float>& be, std::vector<float> series, int F,
                                        const data::WindowSpec& g, std::vector<int32_t> target_cols,
                                        std::array<std::vector<int64_t>, 3> starts,
                                        std::vector<std::string> target_names, std::vector<double> target_stds) {
    FR_CHECK(F > 0 && series.size() % size_t(F) == 0, "dataset: {} values is not a whole number of {}-variable rows",
             series.size(), F);
    g.validate();
    FR_CHECK(!target_cols.empty() && target_cols.size() == target_names.size() &&
                 target_names.size() == target_stds.size(),
             "dataset: {} target columns, {} names, {} stds", target_cols.size(), target_names.size(),
             target_stds.size());
    for (int32_t c : target_cols) FR_CHECK(c >= 0 && c < F, "target column {} outside [0, {})", c, F);
    const int64_t rows = int64_t(series.size() / size_t(F));
    for (const auto& split : starts)
        for (int64_t s : split)
            FR_CHECK(s >= 0 && s + g.span() <= rows, "window start {} (span {}) outside the {} rows", s, g.span(),
                     rows);
    ForecastDataset d;
    d.series = be.from_host(std::move(series), {rows, F});
    d.F = F;
    d.window = g;
    d.target_cols = std::move(target_cols);
    d.target_cols_dev = be.empty_i32({long(d.target_cols.size())});
    be.copy_from_host(d.target_cols_dev.data(), d.target_cols.data(), d.target_cols.size() * sizeof(int32_t));
    d.starts = std::move(starts);
    d.target_names = std::move(target_names);
    d.target_stds = std::move(target_stds);
    return d;
}

namespace {
std::vector<double> target_stds_of(const data::WindowedDataset& ds) {
    std::vector<double> stds;
    for (int32_t c : ds.target_cols) stds.push_back(ds.stats.std[size_t(c)]);
    return stds;
}
}  // namespace

ForecastDataset ForecastDataset::from_windowed(Backend<float>& be, data::WindowedDataset&& ds) {
    auto stds = target_stds_of(ds);
    return upload(be, std::move(ds.data.values), ds.num_vars(), ds.window, ds.target_cols,
                  {std::move(ds.starts[0]), std::move(ds.starts[1]), std::move(ds.starts[2])}, ds.target_names,
                  std::move(stds));
}

ForecastDataset ForecastDataset::from_windowed(Backend<float>& be, const data::WindowedDataset& ds) {
    return upload(be, ds.data.values, ds.num_vars(), ds.window, ds.target_cols,
                  {ds.starts[0], ds.starts[1], ds.starts[2]}, ds.target_names, target_stds_of(ds));
}

std::vector<int64_t> evenly_spaced_subset(const std::vector<int64_t>& starts, size_t n) {
    if (n == 0 || starts.size() <= n) return starts;
    std::vector<int64_t> kept(n);
    for (size_t i = 0; i < n; ++i) kept[i] = starts[size_t(double(i) * double(starts.size()) / double(n))];
    return kept;
}

void ForecastDataset::limit_evaluation(size_t max_windows) {
    for (size_t split : {size_t(1), size_t(2)}) starts[split] = evenly_spaced_subset(starts[split], max_windows);
}

// ---- records ------------------------------------------------------------------------------------------

nlohmann::json EpochRecord::to_json() const {
    return {{"epoch", epoch},     {"train_loss", train_loss}, {"val_loss", val_loss},
            {"grad_norm", grad_norm}, {"seconds", seconds},   {"windows_per_s", windows_per_s}, {"best", best}};
}

EpochRecord EpochRecord::from_json(const nlohmann::json& j) {
    EpochRecord r;
    r.epoch = j.at("epoch").get<int>();
    r.train_loss = j.at("train_loss").get<double>();
    r.val_loss = j.at("val_loss").get<double>();
    r.grad_norm = j.at("grad_norm").get<double>();
    r.seconds = j.at("seconds").get<double>();
    r.windows_per_s = j.at("windows_per_s").get<double>();
    r.best = j.at("best").get<bool>();
    return r;
}

// ---- batches ---------------------------------------------------------------------------------------------

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Gathers the windows starting at starts[0..B) into x [Tin, B, F] and y [B, horizon·K].
void gather(Backend<float>& be, const ForecastDataset& d, const int64_t* starts, int B, Tensor<int64_t>& starts_dev,
            Tensor<float>& x, Tensor<float>& y) {
    const data::WindowSpec& g = d.window;
    const int K = int(d.target_cols.size());
    if (starts_dev.empty() || starts_dev.numel() < size_t(B)) starts_dev = be.empty_i64({B});
    be.copy_from_host(starts_dev.data(), starts, size_t(B) * sizeof(int64_t));
    ensure_shape(be, x, {g.input_len, B, d.F});
    ensure_shape(be, y, {B, long(g.horizon) * K});
    be.gather_windows(d.series.data(), d.F, starts_dev.data(), B, g.input_len, g.in_step, g.horizon, g.out_offset,
                      g.out_step, d.target_cols_dev.data(), K, x.data(), y.data());
}

}  // namespace

// ---- trainer ---------------------------------------------------------------------------------------------

ForecastTrainer::ForecastTrainer(Forecaster& model, Optimizer& optimizer, const ForecastDataset& data,
                                 TrainOptions options)
    : model_(model), opt_(optimizer), data_(data), o_(std::move(options)) {
    FR_CHECK(o_.epochs > 0, "--epochs must be positive, got {}", o_.epochs);
    FR_CHECK(o_.batch > 0, "--batch must be positive, got {}", o_.batch);
    FR_CHECK(o_.patience >= 0, "--patience must be >= 0, got {}", o_.patience);
    FR_CHECK(!data_.starts[0].empty(), "no training windows: the training split has no stretch of {} consecutive "
             "present rows (input {} + horizon {}); use a shorter window or more data",
             data_.window.span(), data_.window.input_len, data_.window.horizon);
    FR_CHECK(!data_.starts[1].empty(), "no validation windows: the validation split has no stretch of {} consecutive "
             "present rows", data_.window.span());
    const int K = int(data_.target_cols.size());
    FR_CHECK(model_.outputs() == data_.window.horizon * K, "model predicts {} values, data has horizon {} x {} targets",
             model_.outputs(), data_.window.horizon, K);
    FR_CHECK(model_.spec().input_size == data_.F, "model takes {} input variables, data has {}",
             model_.spec().input_size, data_.F);
}

double ForecastTrainer::loss_on(const std::vector<int64_t>& starts) {
    Backend<float>& be = model_.backend();
    double sum = 0;
    long n = 0;
    for (size_t i = 0; i < starts.size(); i += size_t(o_.batch)) {
        const int B = int(std::min(starts.size() - i, size_t(o_.batch)));
        gather(be, data_, starts.data() + i, B, starts_dev_, x_, y_);
        Tensor<float> pred = model_.forward(x_, false);
        sum += be.mse(pred.numel(), pred.data(), y_.data(), nullptr, 1.0f).loss * B;
        n += B;
        if (on_eval_progress) on_eval_progress(size_t(n), starts.size());
    }
    return n ? sum / double(n) : std::nan("");
}

void ForecastTrainer::train_epoch(int epoch, EpochRecord& rec) {
    Backend<float>& be = model_.backend();
    // Shuffled full batches; the order depends only on (seed, epoch).
    const data::BatchSampler sampler(data_.starts[0], o_.batch, data::BatchSampler::Order::Shuffled, o_.seed);
    long steps = long(sampler.batches_per_epoch());
    FR_CHECK(steps > 0, "only {} training windows, fewer than one batch of {}: lower --batch",
             sampler.num_windows(), o_.batch);
    if (o_.max_batches > 0) steps = std::min(steps, o_.max_batches);
    std::vector<int64_t> order;
    const auto t0 = Clock::now();
    double loss_sum = 0, norm_sum = 0;
    long windows = 0;
    auto last_report = t0;
    for (long s = 0; s < steps; ++s) {
        const int B = sampler.batch(epoch, s, order);
        gather(be, data_, order.data(), B, starts_dev_, x_, y_);
        model_.zero_grad();
        Tensor<float> pred = model_.forward(x_, true);
        ensure_shape(be, grad_, pred.shape());
        const double loss = be.mse(pred.numel(), pred.data(), y_.data(), grad_.data(), 1.0f).loss;
        if (!std::isfinite(loss)) {
            const bool bad_input = !be.all_finite(x_.numel(), x_.data()) || !be.all_finite(y_.numel(), y_.data());
            const bool bad_params = !be.all_finite(model_.params().size(), model_.params().values());
            throw NumericError(fmt::format(
                "loss is {} at epoch {} step {}/{}: {}", loss, epoch, s + 1, steps,
                bad_input    ? "the batch contains NaN/Inf values (a window touched missing data)"
                : bad_params ? "the parameters became NaN/Inf (diverged: lower --lr or set --clip)"
                             : "the model output overflowed (lower --lr or set --clip)"));
        }
        model_.backward(grad_);
        const double norm = clip_grad_norm(model_.params(), o_.clip);
        if (!std::isfinite(norm))
            throw NumericError(fmt::format("gradient norm is {} at epoch {} step {}/{}: training diverged "
                                           "(lower --lr or set --clip)", norm, epoch, s + 1, steps));
        opt_.step(model_.params());
        loss_sum += loss * B;
        norm_sum += norm;
        windows += B;
        if (on_progress && (seconds_since(last_report) > 0.5 || s + 1 == steps)) {
            last_report = Clock::now();
            Progress p;
            p.epoch = epoch;
            p.epochs = o_.epochs;
            p.step = s + 1;
            p.steps = steps;
            p.loss = loss_sum / double(windows);
            p.grad_norm = norm;
            const double el = seconds_since(t0);
            p.windows_per_s = windows / std::max(el, 1e-9);
            p.eta_s = el / double(s + 1) * double(steps - s - 1);
            on_progress(p);
        }
    }
    rec.seconds = seconds_since(t0);
    rec.train_loss = loss_sum / double(std::max(windows, 1L));
    rec.grad_norm = norm_sum / double(std::max(steps, 1L));
    rec.windows_per_s = windows / std::max(rec.seconds, 1e-9);
}

void ForecastTrainer::save(const std::string& path, bool with_optimizer, const std::vector<EpochRecord>& history,
                           double best_val, int bad_epochs) {
    nlohmann::json extra = o_.extra;
    nlohmann::json hist = nlohmann::json::array();
    for (const auto& r : history) hist.push_back(r.to_json());
    extra["trainer"] = {{"epochs_done", history.empty() ? 0 : history.back().epoch},
                        {"best_val", best_val},
                        {"bad_epochs", bad_epochs},
                        {"seed", o_.seed},
                        {"history", hist}};
    save_checkpoint(path, model_, extra, with_optimizer ? &opt_ : nullptr);
}

std::vector<EpochRecord> ForecastTrainer::fit() {
    namespace fs = std::filesystem;
    FR_CHECK(!o_.out_dir.empty(), "an output folder is required");
    create_output_folder(o_.out_dir);
    const std::string last = (fs::path(o_.out_dir) / "last.safetensors").string();
    const std::string best = (fs::path(o_.out_dir) / "best.safetensors").string();
    std::vector<EpochRecord> history;
    double best_val = std::numeric_limits<double>::infinity();
    int bad_epochs = 0, first_epoch = 1;
    if (o_.resume) {
        FR_CHECK(fs::exists(last), "--resume: {} does not exist (nothing to resume)", last);
        Checkpoint c = read_checkpoint(last);
        FR_CHECK(c.config == model_.config(), "--resume: {} holds a different model ({}) than requested ({})", last,
                 c.config.dump(), model_.config().dump());
        load_parameters(c, model_);
        load_optimizer(c, opt_);
        const auto& t = c.extra.at("trainer");
        FR_CHECK(t.value("seed", uint64_t(0)) == o_.seed, "--resume: the run used --seed {}, not {}",
                 t.value("seed", uint64_t(0)), o_.seed);
        for (const auto& r : t.at("history")) history.push_back(EpochRecord::from_json(r));
        best_val = t.at("best_val").get<double>();
        bad_epochs = t.at("bad_epochs").get<int>();
        first_epoch = t.at("epochs_done").get<int>() + 1;
        if (on_message)
            on_message(fmt::format("resumed from {} after epoch {} (best validation loss {:.4f})", last,
                                   first_epoch - 1, best_val));
        if (o_.patience > 0 && bad_epochs >= o_.patience) return history;
    }
    for (int epoch = first_epoch; epoch <= o_.epochs; ++epoch) {
        EpochRecord rec;
        rec.epoch = epoch;
        train_epoch(epoch, rec);
        rec.val_loss = loss_on(data_.starts[1]);
        FR_CHECK(std::isfinite(rec.val_loss), "validation loss is {} after epoch {}", rec.val_loss, epoch);
        rec.best = rec.val_loss < best_val;
        if (rec.best) {
            best_val = rec.val_loss;
            bad_epochs = 0;
        } else {
            ++bad_epochs;
        }
        history.push_back(rec);
        if (rec.best) save(best, false, history, best_val, bad_epochs);
        save(last, true, history, best_val, bad_epochs);  // after best: a crash between the two loses nothing
        if (on_epoch) on_epoch(rec);
        if (o_.patience > 0 && bad_epochs >= o_.patience) {
            if (on_message)
                on_message(fmt::format("early stop: validation loss has not improved for {} epochs (best {:.4f})",
                                       bad_epochs, best_val));
            break;
        }
    }
    return history;
}

// ---- evaluation --------------------------------------------------------------------------------------------

ForecastMetrics evaluate_forecaster(Forecaster& model, const ForecastDataset& data, const std::vector<int64_t>& starts,
                                    int batch, const EvalProgress& progress) {
    Backend<float>& be = model.backend();
    ForecastMetrics m(data.target_names, data.target_stds, data.window.horizon);
    Tensor<int64_t> sd;
    Tensor<float> x, y;
    for (size_t i = 0; i < starts.size(); i += size_t(batch)) {
        const int B = int(std::min(starts.size() - i, size_t(batch)));
        gather(be, data, starts.data() + i, B, sd, x, y);
        const auto pred = be.to_host(model.forward(x, false));
        const auto truth = be.to_host(y);
        m.add(pred.data(), truth.data(), B);
        if (progress) progress(i + size_t(B), starts.size());
    }
    return m;
}

ForecastMetrics evaluate_persistence(Backend<float>& be, const ForecastDataset& data,
                                     const std::vector<int64_t>& starts, int batch, const EvalProgress& progress) {
    const data::WindowSpec& g = data.window;
    const int K = int(data.target_cols.size());
    ForecastMetrics m(data.target_names, data.target_stds, g.horizon);
    Tensor<int64_t> sd;
    Tensor<float> x, y;
    for (size_t i = 0; i < starts.size(); i += size_t(batch)) {
        const int B = int(std::min(starts.size() - i, size_t(batch)));
        gather(be, data, starts.data() + i, B, sd, x, y);
        const auto xs = be.to_host(x);
        const auto truth = be.to_host(y);
        std::vector<float> pred(truth.size());
        const float* last = xs.data() + size_t(g.input_len - 1) * B * data.F;  // [B, F] at the last input step
        for (int b = 0; b < B; ++b)
            for (int h = 0; h < g.horizon; ++h)
                for (int k = 0; k < K; ++k)
                    pred[(size_t(b) * g.horizon + h) * K + k] = last[size_t(b) * data.F + data.target_cols[size_t(k)]];
        m.add(pred.data(), truth.data(), B);
        if (progress) progress(i + size_t(B), starts.size());
    }
    return m;
}

}  // namespace fusedrnn
