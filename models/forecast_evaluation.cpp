#include "fusedrnn/models/forecast_evaluation.h"

#include <algorithm>
#include <array>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "fusedrnn/core/data/wind_components.h"
#include "fusedrnn/core/error.h"

namespace fusedrnn {

std::vector<int> same_time_of_day_sources(const data::WindowSpec& g, int64_t rows_per_day, std::string* why) {
    const auto none = [&](std::string reason) {
        if (why) *why = std::move(reason);
        return std::vector<int>();
    };
    if (rows_per_day <= 0) return none("the series' step does not divide a day");
    const int64_t last_input = int64_t(g.input_len - 1) * g.in_step;
    std::vector<int> t_of_lead;
    for (int h = 0; h < g.horizon; ++h) {
        const int64_t target = g.first_target() + int64_t(h) * g.out_step;  // rows from the window start
        const int64_t days_back = (target - last_input + rows_per_day - 1) / rows_per_day;  // >= 1
        const int64_t source = target - days_back * rows_per_day;
        if (source < 0)
            return none(fmt::format("the input spans {} rows, less than the {} of a day", last_input + 1,
                                    rows_per_day));
        if (source % g.in_step != 0)
            return none(fmt::format("the input, every {} rows, has no row at the time of day of the lead time {} "
                                    "{} ahead (the window's row {}, a day before it)", g.in_step,
                                    target - last_input, target - last_input == 1 ? "step" : "steps", source));
        t_of_lead.push_back(int(source / g.in_step));
    }
    if (why) why->clear();
    return t_of_lead;
}

namespace {

ForecastMetrics metrics_for(const ForecastDataset& data) {
    ForecastMetrics m(data.target_names, data.target_stds, data.window.horizon);
    if (!data.extremes.empty()) m.enable_extremes(data.extremes.percentiles);
    // Wind direction is also scored round the compass: as every station reader names it (degrees), or from the wind's
    // components (`train --wind uv` or `uv+speed`).
    auto column = [&](const char* name) {
        const auto it = std::find(data.target_names.begin(), data.target_names.end(), name);
        return it == data.target_names.end() ? -1 : int(it - data.target_names.begin());
    };
    const int direction = column(data::kWindDirection), u = column(data::kWindU), v = column(data::kWindV);
    const int speed = column(data::kWindSpeed);
    // The speed tells an observed calm, which has no direction to score; its mean un-normalizes it.
    if (direction >= 0 && speed >= 0 && !data.target_means.empty())
        m.score_direction(direction, speed, data.target_means[size_t(speed)]);
    else if (direction >= 0) m.score_direction(direction);
    else if (u >= 0 && v >= 0 && !data.target_means.empty())
        m.score_direction_from_components(u, v, data.target_means[size_t(u)], data.target_means[size_t(v)]);
    return m;
}

// The [B, K, P] station thresholds of the windows starting at starts[0..B) (null without extremes).
const float* thresholds_of(const ForecastDataset& data, const std::vector<int64_t>& starts, std::vector<float>& out) {
    if (data.extremes.empty()) return nullptr;
    const size_t per_window = size_t(data.extremes.targets) * data.extremes.percentiles.size();
    out.resize(starts.size() * per_window);
    for (size_t b = 0; b < starts.size(); ++b)
        std::copy_n(data.extremes.for_row(starts[b]), per_window, out.data() + b * per_window);
    return out.data();
}

// The [B, horizon·K] forecast that repeats, at lead time h, each target's value at input step source[h]. `inputs`
// holds the batch's input steps first_step .. Tin-1, [B, F] each (time-major, as x).
void persistence_forecast(const ForecastDataset& d, const std::vector<int>& source, int first_step,
                          const float* inputs, int B, std::vector<float>& pred) {
    const int H = d.window.horizon, K = int(d.target_cols.size());
    pred.resize(size_t(B) * H * K);
    for (int h = 0; h < H; ++h) {
        const float* in = inputs + size_t(source[size_t(h)] - first_step) * B * d.F;
        for (int b = 0; b < B; ++b)
            for (int k = 0; k < K; ++k)
                pred[(size_t(b) * H + h) * K + k] = in[size_t(b) * d.F + d.target_cols[size_t(k)]];
    }
}

// One batch from its queueing to its fold.
struct InFlight {
    int B = 0;
    std::vector<int64_t> starts;  // the windows' start rows: their stations' extreme-event thresholds
    DownloadTicket forecast, truth, inputs;
};

// What one pass folds: the model's forecasts (when model is set) and which baselines'.
struct Folds {
    Forecaster* model = nullptr;
    bool last = false;
    bool same_time_of_day = false;
    ForecastSink sink;
};

ForecastEvaluation evaluate_pass(Backend<float>& be, const ForecastDataset& data, const data::WindowStarts& starts,
                                 int batch, const EvalProgress& progress, const Folds& folds) {
    FR_CHECK(batch > 0, "evaluation batch must be positive, got {}", batch);
    if (folds.model) check_forecaster_fits(*folds.model, data);
    FR_CHECK(!folds.model || &folds.model->backend() == &be,
             "evaluation: the model runs on a {} backend that is not the one the dataset was uploaded to ({})",
             folds.model->backend().name(), be.name());
    const data::WindowSpec& g = data.window;
    const std::vector<int> last_source(size_t(g.horizon), g.input_len - 1);
    const std::vector<int> daily_source =
        folds.same_time_of_day ? same_time_of_day_sources(g, data.rows_per_day) : std::vector<int>();
    FR_CHECK(!folds.same_time_of_day || !daily_source.empty(),
             "no same-time-of-day persistence for this window ({}; {} rows per day)", g.str(), data.rows_per_day);
    // The baselines read input steps first_step .. Tin-1 only: one contiguous block of x, read back per batch.
    int first_step = g.input_len;
    if (folds.last) first_step = g.input_len - 1;
    for (int t : daily_source) first_step = std::min(first_step, t);
    const bool baselines = first_step < g.input_len;

    ForecastEvaluation e{std::nullopt, metrics_for(data), std::nullopt, {}};
    if (folds.model) e.model = metrics_for(data);
    if (folds.same_time_of_day) e.same_time_of_day = metrics_for(data);

    Tensor<int64_t> starts_dev;
    Tensor<float> x, y;
    // Queues batch [first, first + B): the gather, the forward pass and the read-backs, none waited for. The
    // device buffers are reused from batch to batch: the next batch's gather and forward are queued after this
    // batch's read-backs, so they run after them.
    auto queue = [&](size_t first, InFlight& f) {
        f.B = int(std::min(starts.size() - first, size_t(batch)));
        gather_batch_range(be, data, starts, first, f.B, f.starts, starts_dev, x, y);
        if (folds.model) {
            const Tensor<float> pred = folds.model->forward(x, false);
            f.forecast = be.queue_download(pred.data(), pred.numel() * sizeof(float));
        }
        f.truth = be.queue_download(y.data(), y.numel() * sizeof(float));
        if (baselines) {
            const size_t step_values = size_t(f.B) * size_t(data.F);
            f.inputs = be.queue_download(x.data() + size_t(first_step) * step_values,
                                         size_t(g.input_len - first_step) * step_values * sizeof(float));
        }
    };
    std::vector<float> thresholds, baseline, daily;
    auto fold = [&](const InFlight& f) {
        const float* thr = thresholds_of(data, f.starts, thresholds);  // host work, while the device runs on
        const auto* truth = static_cast<const float*>(be.wait_download(f.truth));
        const auto* forecast = folds.model ? static_cast<const float*>(be.wait_download(f.forecast)) : nullptr;
        if (folds.model) e.model->add(forecast, truth, f.B, thr);
        const float* last = nullptr;
        if (baselines) {
            const auto* inputs = static_cast<const float*>(be.wait_download(f.inputs));
            if (folds.same_time_of_day) {
                persistence_forecast(data, daily_source, first_step, inputs, f.B, daily);
                e.same_time_of_day->add(daily.data(), truth, f.B, thr);
            }
            if (folds.last) {
                persistence_forecast(data, last_source, first_step, inputs, f.B, baseline);
                e.persistence.add(baseline.data(), truth, f.B, thr);
                last = baseline.data();
            }
        }
        if (folds.sink) folds.sink(EvaluatedBatch{f.starts, forecast, truth, last});
    };

    // Two batches in flight: batch i+1 is queued before batch i is folded.
    std::array<InFlight, 2> flights;
    if (!starts.empty()) queue(0, flights[0]);
    size_t done = 0;
    for (int cur = 0; done < starts.size(); cur = 1 - cur) {
        const size_t after = done + size_t(flights[size_t(cur)].B);
        if (after < starts.size()) queue(after, flights[size_t(1 - cur)]);
        fold(flights[size_t(cur)]);
        done = after;
        if (progress) progress(done, starts.size());
    }
    return e;
}

}  // namespace

void check_forecaster_fits(const Forecaster& model, const ForecastDataset& data) {
    const int K = int(data.target_cols.size());
    FR_CHECK(model.spec().input_size == data.F, "model takes {} input variables, data has {}",
             model.spec().input_size, data.F);
    FR_CHECK(model.outputs() == data.window.horizon * K, "model predicts {} values, data has horizon {} x {} targets",
             model.outputs(), data.window.horizon, K);
    if (!model.seq2seq()) return;
    const Seq2SeqShape s = model.seq2seq_shape();
    FR_CHECK(s.horizon == data.window.horizon, "the seq2seq model's decoder runs {} lead times, data has horizon {}",
             s.horizon, data.window.horizon);
    FR_CHECK(s.target_inputs == data.target_cols, "the seq2seq model's decoder feeds back input columns [{}], but the "
             "data's targets are columns [{}]: a decoder must be fed the variables it predicts",
             fmt::join(s.target_inputs, ", "), fmt::join(data.target_cols, ", "));
}

ForecastEvaluation evaluate_with_baselines(Forecaster* model, Backend<float>& be, const ForecastDataset& data,
                                           const data::WindowStarts& starts, int batch, const EvalProgress& progress,
                                           const ForecastSink& sink) {
    std::string why_not_daily;
    const bool daily = !same_time_of_day_sources(data.window, data.rows_per_day, &why_not_daily).empty();
    ForecastEvaluation e = evaluate_pass(be, data, starts, batch, progress, Folds{model, true, daily, sink});
    e.same_time_of_day_absent = why_not_daily;
    return e;
}

ForecastMetrics evaluate_forecaster(Forecaster& model, const ForecastDataset& data, const data::WindowStarts& starts,
                                    int batch, const EvalProgress& progress) {
    return *evaluate_pass(model.backend(), data, starts, batch, progress, Folds{&model, false, false, {}}).model;
}

ForecastMetrics evaluate_persistence(Backend<float>& be, const ForecastDataset& data,
                                     const data::WindowStarts& starts, int batch, const EvalProgress& progress,
                                     Persistence kind) {
    if (kind == Persistence::Last)
        return evaluate_pass(be, data, starts, batch, progress, Folds{nullptr, true, false, {}}).persistence;
    return *evaluate_pass(be, data, starts, batch, progress, Folds{nullptr, false, true, {}}).same_time_of_day;
}

}  // namespace fusedrnn
