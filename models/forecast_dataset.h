// fusedrnn — the forecasting dataset on the backend's device, and the gathering of its batches.
// The whole normalized series lives on the device; a batch uploads only its window start indices and the
// backend's gather_windows builds x [T, B, F] and y [B, horizon·K] there.
#pragma once

#include <array>
#include <optional>
#include <cstdint>
#include <string>
#include <vector>

#include "fusedrnn/core/backend.h"
#include "fusedrnn/core/data/dataset.h"
#include "fusedrnn/core/data/extremes.h"
#include "fusedrnn/core/data/windows.h"

namespace fusedrnn {

// The device-side dataset: series [rows, F] normalized (rows no window touches may hold anything),
// and per split the valid window start rows.
struct ForecastDataset {
    Tensor<float> series;
    int F = 0;
    data::WindowSpec window;
    std::vector<int32_t> target_cols;                // K variables predicted (indices into the F columns)
    Tensor<int32_t> target_cols_dev;                 // device copy
    std::array<data::WindowStarts, 3> starts;        // train, val, test
    std::vector<std::string> target_names;           // K names
    std::vector<double> target_stds;                 // K standard deviations (original units)
    std::vector<double> target_means;                // K means (original units; from_windowed sets them)
    int64_t rows_per_day = 0;                        // rows in 24 h (0: the step does not divide a day)
    data::ExtremeThresholds extremes;                // per-station thresholds for SEDI (host; empty: none)

    // Puts `series` [rows, F] on the backend's device (a host backend adopts the buffer, a GPU backend
    // copies it and frees the host copy; pass an lvalue to keep yours). Checks every window of every
    // split lies inside the series.
    static ForecastDataset upload(Backend<float>& backend, std::vector<float> series, int F,
                                  const data::WindowSpec& window, std::vector<int32_t> target_cols,
                                  std::array<data::WindowStarts, 3> starts,
                                  std::vector<std::string> target_names, std::vector<double> target_stds);

    // From a windowed dataset, with the extreme-event thresholds of its stations: percentiles of their values in
    // `thresholds_from` where given (eval --on all puts every window in the test split, but the thresholds stay the
    // model's training period's), else in the dataset's training split. The rvalue form takes its series and window
    // lists (at WEATHER-5K scale ~10 GB that would otherwise be held twice); its metadata and report stay usable.
    static ForecastDataset from_windowed(Backend<float>& backend, data::WindowedDataset&& ds,
                                         const std::optional<data::TimeRange>& thresholds_from = std::nullopt);
    static ForecastDataset from_windowed(Backend<float>& backend, const data::WindowedDataset& ds);
    // What a data-parallel rank other than 0 needs on its backend: the series and the training windows (rank 0
    // alone validates and tests, so no other split and no extreme-event thresholds).
    static ForecastDataset training_replica(Backend<float>& backend, const data::WindowedDataset& ds);

    // Keeps at most `max_windows` validation and test windows, evenly spaced through each split (so every
    // station and season stays represented). At WEATHER-5K scale a full validation pass is ~50 M
    // windows; a few hundred thousand estimate the loss to well under a percent. 0 = keep all.
    void limit_evaluation(size_t max_windows);
};

// At most n of `starts`, evenly spaced through them (all of them when n is 0 or not smaller).
data::WindowStarts evenly_spaced_subset(const data::WindowStarts& starts, size_t n);

// Gathers the windows starting at starts[0..B) (host memory) into x [Tin, B, F] and y [B, horizon·K], reshaping
// them (and growing starts_dev) as needed. Uploads only the B start indices, without waiting for the device.
void gather_batch(Backend<float>& backend, const ForecastDataset& data, const int64_t* starts, int B,
                  Tensor<int64_t>& starts_dev, Tensor<float>& x, Tensor<float>& y);
// The same for the B consecutive windows at positions [first, first + B) of `starts` (evaluation order); `host`
// receives their start rows.
void gather_batch_range(Backend<float>& backend, const ForecastDataset& data, const data::WindowStarts& starts,
                        size_t first, int B, std::vector<int64_t>& host, Tensor<int64_t>& starts_dev, Tensor<float>& x,
                        Tensor<float>& y);

}  // namespace fusedrnn
