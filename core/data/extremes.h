// fusedrnn::data — per-station thresholds for extreme-event scores (WEATHER-5K reports SEDI at the 99.5th,
// 98th, 95th and 90th percentiles of each station's values). Here the thresholds come from each station's
// present training-split values (WEATHER-5K ships its own percentile.json, computed by the dataset's
// authors; it is not in the shared data), so no validation or test value leaks into them.
#pragma once

#include <cstdint>
#include <vector>

#include "fusedrnn/core/data/dataset.h"

namespace fusedrnn::data {

struct ExtremeThresholds {
    std::vector<double> percentiles;         // P of them, e.g. 99.5, 98, 95, 90
    int targets = 0;                         // K
    std::vector<int64_t> station_row_begin;  // increasing: the station of a row is the last begin <= row
    std::vector<float> values;               // [stations, K, P], normalized units; NaN: no training value

    bool empty() const { return values.empty(); }
    int station_of_row(int64_t row) const;
    // The K·P thresholds of the station holding `row`.
    const float* for_row(int64_t row) const;
};

// Linear interpolation between closest ranks (numpy.percentile's default) over each station's present values of
// each target in `training` (the training split's range, ds.ranges[0], as a rule). Stations run in parallel.
ExtremeThresholds compute_extreme_thresholds(const WindowedDataset& ds, const TimeRange& training,
                                             std::vector<double> percentiles = {99.5, 98, 95, 90});

// The percentile p of v (reordered in place; NaN when v is empty).
double percentile_in_place(std::vector<float>& v, double p);

}  // namespace fusedrnn::data
