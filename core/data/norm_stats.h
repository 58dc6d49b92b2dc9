// fusedrnn::data — per-variable standardization, z = (x - mean) / std.
// Statistics come either from the TRAINING split only (every present value whose time lies in the
// training range, at every station; missing values ignored), or are fixed (WEATHER-5K's published
// global statistics, or the ones stored in a checkpoint). They are saved as JSON in checkpoints so
// evaluation and prediction standardize exactly as training did.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "fusedrnn/core/data/splits.h"
#include "fusedrnn/core/data/station_series.h"

namespace fusedrnn::data {

struct NormStats {
    std::vector<std::string> vars;
    std::vector<double> mean, std;   // per variable; std > 0
    std::vector<int64_t> counts;     // values the statistics were computed from (empty when fixed)
    std::string source;              // "train [2014-01-01 ..., 2022-01-01 ...)" or "weather5k (fixed)"
    std::vector<std::string> warnings;  // e.g. a constant variable whose std was set to 1

    int num_vars() const { return int(vars.size()); }

    // WEATHER-5K's fixed global statistics for TMP, DEW, WND_ANGLE, WND_RATE, SLP.
    static NormStats weather5k();
    // Mean and population standard deviation (ddof = 0, as StandardScaler) per variable over the
    // values of `set` whose time lies in `train`, ignoring missing ones; accumulated in double.
    // Throws naming a variable with no training value at all. A variable with zero spread gets
    // std = 1 (and a warning) so it standardizes to 0 instead of dividing by zero.
    // With `fixed`: the variables it covers take its statistics, the others are computed as above (WEATHER-5K's
    // fixed statistics on data with more columns, e.g. exported time features); `source` names which is which.
    static NormStats compute(const StationSet& set, const TimeRange& train, const NormStats* fixed = nullptr);

    // The same statistics in the order of `names` (matched by name); throws listing what is missing.
    NormStats select(const std::vector<std::string>& names) const;
    // Standardizes `values` [rows, vars] in place (NaN stays NaN); vars must match this->vars.
    void normalize(std::vector<float>& values) const;
    // Physical value of a standardized one, and back.
    double denormalize(int var, double z) const { return z * std[size_t(var)] + mean[size_t(var)]; }
    double normalize(int var, double x) const { return (x - mean[size_t(var)]) / std[size_t(var)]; }

    nlohmann::json to_json() const;
    // Throws fusedrnn::Error on missing fields, size mismatches, or non-finite / non-positive std.
    // `where` names the object in messages ("dataset.stats.counts[2] is 1.5, not a whole number in [...]").
    static NormStats from_json(const nlohmann::json& j, std::string_view where = "stats");
    void validate() const;
};

}  // namespace fusedrnn::data
