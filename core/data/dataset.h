// fusedrnn::data — the windowed forecasting dataset: all stations' standardized series in one
// [rows, F] array (the layout Backend::gather_windows reads) plus, per split, the global row of
// every valid window start (station by station, in time order; stored as runs, window_starts.h).
//
// Building it: targets resolved by name -> splits resolved to time ranges -> normalization
// statistics computed on the training split only (or fixed ones used) -> values standardized in
// place -> valid window starts found per station and split (windows.h rules). Missing values stay
// NaN in the array: only rows of valid windows are ever read, and a bug that read another row would
// surface as a NaN loss rather than as silently imputed data.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "fusedrnn/core/data/norm_stats.h"
#include "fusedrnn/core/data/splits.h"
#include "fusedrnn/core/data/station_series.h"
#include "fusedrnn/core/data/wind_components.h"
#include "fusedrnn/core/data/windows.h"

namespace fusedrnn::data {

struct DatasetConfig {
    WindowSpec window;
    // Forecast targets by name; empty = the readers' suggestion (StationSet::targets), else all variables.
    std::vector<std::string> targets;
    SplitSpec split = SplitSpec::weather5k();
    // Fixed statistics (NormStats::weather5k(), or a checkpoint's); empty = computed on the train split.
    std::optional<NormStats> stats;
    // With `stats`: variables it does not cover get statistics computed on the training split, rather than an
    // error (a new model under WEATHER-5K's fixed statistics; a checkpoint's statistics must cover its data).
    bool compute_uncovered_stats = false;
    int64_t stride = 1;  // rows between window starts (aligned to absolute time)
    // The window is a trained model's (dataset_config_from_meta), not the user's to shorten: errors about data too
    // short for it say so instead of advising shorter windows.
    bool window_from_model = false;
    // How the wind is held (core/data/wind_components.h: as read, or as its components WND_U, WND_V); the set is
    // converted as the dataset is built.
    WindForm wind = WindForm::Angle;
};

struct DatasetReport {
    int stations = 0;
    int64_t rows = 0;
    std::vector<int64_t> missing_per_var;       // NaN values per variable, all splits
    std::array<int64_t, kNumSplits> windows{};  // valid windows per split
    std::array<int, kNumSplits> stations_with_windows{};
    std::vector<std::string> too_short;         // "id (name): 1 rows < window span 72": no window can fit
    std::vector<std::string> without_windows;   // long enough, but gaps/splits leave no valid window
                                                // ("id (name): no SLP at all" when a variable is never present)
    std::vector<std::string> warnings;          // constant variables, far values, ...
    std::array<std::string, kNumSplits> empty;  // "split val [...) has no valid window", per split ("": it has one)

    // A few lines for the log. all_in_test: the split put every window in test (eval --on all), so the counts
    // are given as one. scored (0..2): only that split is used (eval --on), so another's lack of windows goes unsaid.
    std::string summary(bool all_in_test = false, int scored = -1) const;
    nlohmann::json to_json() const;
};

struct WindowedDataset {
    StationSet data;                      // values standardized, NaN = missing
    std::vector<std::string> target_names;
    std::vector<int32_t> target_cols;     // column of each target in data.vars
    WindowSpec window;
    int64_t stride = 1;
    NormStats stats;                      // in data.vars order
    SplitSpec split;
    SplitRanges ranges{};                 // the split's resolved time ranges
    // The split as the times it came to on this data (cut points; the outer ends open): for fractions, what another
    // data set must be split by to score the same times.
    SplitSpec split_as_times() const { return SplitSpec::dates(kTimeMin, ranges[1].begin, ranges[2].begin); }
    std::array<WindowStarts, kNumSplits> starts;  // valid window starts (global rows) per split
    DatasetReport report;
    // A checksum of the stations (ids, rows, times) and their standardized values, all splits: a resumed run compares
    // it, so data whose values were changed since (a corrected file) is not taken for the data the run trained on.
    std::string values_checksum;
    WindForm wind = WindForm::Angle;  // as the data's wind was converted (DatasetConfig)

    int num_vars() const { return data.num_vars(); }
    int num_targets() const { return int(target_cols.size()); }
    int64_t rows() const { return data.rows(); }
    const float* series() const { return data.values.data(); }
    const WindowStarts& windows(Split s) const { return starts[size_t(s)]; }
    // UTC time of a global row (its station's grid).
    int64_t time_of_row(int64_t row) const;

    // What a checkpoint needs to rebuild the same standardization and windows: variables, targets,
    // window, stride, split, statistics, step; and the values' checksum (which evaluation does not need).
    nlohmann::json meta_json() const;
};

// The configuration that rebuilds a dataset the way meta_json() describes it (same window, stride,
// targets, split and — fixed now — statistics): for evaluation and prediction from a checkpoint.
// Throws fusedrnn::Error naming a missing or malformed field by its path from `where` (the block's key in a checkpoint's
// metadata: "dataset.window.input_len is 12.7, not a whole number in [1, 2147483647]").
DatasetConfig dataset_config_from_meta(const nlohmann::json& meta, std::string_view where = "dataset");

// Builds the dataset, consuming `set`. Throws fusedrnn::Error when: a target name is unknown
// (listing the variables), the window is invalid, the window span is longer than every station
// ("horizon longer than the data"), the statistics do not cover the variables, a variable has no
// training value, or a value is infinite.
WindowedDataset build_dataset(StationSet&& set, const DatasetConfig& config);

}  // namespace fusedrnn::data
