// fusedrnn — test-style evaluation of a forecaster: its forecasts and the persistence baselines', folded into
// ForecastMetrics (overall, per variable, per lead time, extreme events) in one pass over the windows.
//
// The pass is pipelined: batch i+1 is gathered and forecast on the device while the host folds batch i. Each
// batch's forecast, its targets and the input steps the baselines repeat come back through queued downloads
// (Backend::queue_download; pinned memory on a GPU), so the host waits for batch i's copies only, never for the
// whole device, and the device is not idle while the host folds. The metrics sum in window order (as
// ForecastMetrics promises), so the baselines' figures have the same bits whatever the batch size; the model's
// differ only as its forward pass rounds by batch shape (a GEMM of another size sums in another order).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "fusedrnn/core/backend.h"
#include "fusedrnn/core/data/windows.h"
#include "fusedrnn/models/forecast_dataset.h"
#include "fusedrnn/models/forecast_metrics.h"
#include "fusedrnn/models/model.h"

namespace fusedrnn {

// Called after each evaluation batch with the windows done so far and the total (long evaluations at
// WEATHER-5K scale would otherwise be silent for minutes).
using EvalProgress = std::function<void(size_t windows_done, size_t windows_total)>;

// Persistence baselines: Last repeats each target's last observed input value for the whole horizon;
// SameTimeOfDay takes, for each lead time, the input value observed at the same time of day on the latest
// day the input covers (the diurnal cycle persistence cannot follow).
enum class Persistence { Last, SameTimeOfDay };

// For SameTimeOfDay: per lead time h, the input step t whose row is the target's time of day k whole days
// earlier (the smallest k that lands in the input). Empty when rows_per_day is 0 or some lead time has no
// such input step (input shorter than a day, or a step that skips that row); then `why`, when given, says which.
std::vector<int> same_time_of_day_sources(const data::WindowSpec& window, int64_t rows_per_day,
                                          std::string* why = nullptr);

// One evaluated batch, as a sink sees it: the windows' start rows, and [B, horizon·K] normalized, lead-major per
// window: the model's forecasts (null when no model was evaluated), the targets, and the last-value persistence
// forecasts (null when that baseline was not folded).
struct EvaluatedBatch {
    const std::vector<int64_t>& starts;
    const float* forecast;
    const float* truth;
    const float* persistence;
};
// Given every evaluated batch after its fold, in window order (eval --forecasts writes them out, --per-station
// scores them by station).
using ForecastSink = std::function<void(const EvaluatedBatch& batch)>;

struct ForecastEvaluation {
    std::optional<ForecastMetrics> model;             // when a model was evaluated
    ForecastMetrics persistence;                      // Persistence::Last
    std::optional<ForecastMetrics> same_time_of_day;  // when the window has same_time_of_day_sources
    std::string same_time_of_day_absent;              // why it has none (evaluate_with_baselines; empty otherwise)
};

// One pass over the windows at `starts`, `batch` at a time: the model's forecasts (none when model is null) and
// both persistence baselines'. The model runs on its own backend, which must be the dataset's.
ForecastEvaluation evaluate_with_baselines(Forecaster* model, Backend<float>& backend, const ForecastDataset& data,
                                           const data::WindowStarts& starts, int batch,
                                           const EvalProgress& progress = {}, const ForecastSink& sink = {});

// Throws naming the difference when `model` cannot forecast `data`'s windows: its inputs are not the data's
// variables, its outputs not horizon × targets, or (an encoder-decoder) its horizon or the input columns it feeds
// back are not the window's horizon and the targets' columns. Outputs of the wrong size would be read past their
// end; a decoder fed another column than the one it predicts trains and scores without a word.
void check_forecaster_fits(const Forecaster& model, const ForecastDataset& data);

// The model's metrics alone, and one baseline's alone (the same pass, folding less).
ForecastMetrics evaluate_forecaster(Forecaster& model, const ForecastDataset& data, const data::WindowStarts& starts,
                                    int batch, const EvalProgress& progress = {});
ForecastMetrics evaluate_persistence(Backend<float>& backend, const ForecastDataset& data,
                                     const data::WindowStarts& starts, int batch, const EvalProgress& progress = {},
                                     Persistence kind = Persistence::Last);

}  // namespace fusedrnn
