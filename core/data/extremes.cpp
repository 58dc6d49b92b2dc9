#include "fusedrnn/core/data/extremes.h"

#include <algorithm>
#include <cmath>

#include "fusedrnn/core/data/splits.h"
#include "fusedrnn/core/error.h"

namespace fusedrnn::data {

int ExtremeThresholds::station_of_row(int64_t row) const {
    const auto it = std::upper_bound(station_row_begin.begin(), station_row_begin.end(), row);
    FR_CHECK(it != station_row_begin.begin(), "row {} lies before the first station", row);
    return int(it - station_row_begin.begin()) - 1;
}

const float* ExtremeThresholds::for_row(int64_t row) const {
    return values.data() + size_t(station_of_row(row)) * size_t(targets) * percentiles.size();
}

double percentile_in_place(std::vector<float>& v, double p) {
    if (v.empty()) return std::nan("");
    const double pos = p / 100.0 * double(v.size() - 1);
    const size_t lo = size_t(std::floor(pos));
    std::nth_element(v.begin(), v.begin() + long(lo), v.end());
    const double low = v[lo];
    if (lo + 1 >= v.size()) return low;
    // The next rank is the smallest value above position lo (nth_element left them all to its right).
    const double high = *std::min_element(v.begin() + long(lo) + 1, v.end());
    return low + (pos - double(lo)) * (high - low);
}

ExtremeThresholds compute_extreme_thresholds(const WindowedDataset& ds, const TimeRange& training,
                                             std::vector<double> percentiles) {
    for (double p : percentiles) FR_CHECK(p > 0 && p < 100, "extreme-event percentile {} is not in (0, 100)", p);
    ExtremeThresholds t;
    t.percentiles = std::move(percentiles);
    t.targets = ds.num_targets();
    const StationSet& set = ds.data;
    const size_t S = set.stations.size(), K = size_t(t.targets), P = t.percentiles.size(), F = size_t(ds.num_vars());
    for (const auto& st : set.stations) t.station_row_begin.push_back(st.row_begin);
    t.values.assign(S * K * P, std::nanf(""));
#pragma omp parallel for schedule(dynamic)
    for (long s = 0; s < long(S); ++s) {
        const StationInfo& st = set.stations[size_t(s)];
        const RowRange train = rows_in_range(st.start, st.rows, set.step, training);
        std::vector<float> present;
        for (size_t k = 0; k < K; ++k) {
            present.clear();
            for (int64_t r = train.first; r < train.last; ++r) {
                const float v = set.values[size_t(st.row_begin + r) * F + size_t(ds.target_cols[k])];
                if (!std::isnan(v)) present.push_back(v);
            }
            for (size_t p = 0; p < P; ++p)
                t.values[(size_t(s) * K + k) * P + p] = float(percentile_in_place(present, t.percentiles[p]));
        }
    }
    return t;
}

}  // namespace fusedrnn::data
