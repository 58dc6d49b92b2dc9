// Extreme-event thresholds: numpy's default percentile (linear between closest ranks), computed per station
// and target from the present training-split values only.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "fusedrnn/core/data/extremes.h"
#include "fusedrnn/core/data/splits.h"
#include "fusedrnn/core/data/synthetic.h"

namespace fusedrnn::data {
namespace {

TEST(DataExtremes, PercentileInterpolatesBetweenRanks) {
    auto pct = [](std::vector<float> v, double p) { return percentile_in_place(v, p); };
    const std::vector<float> v = {5, 1, 4, 2, 3};  // numpy.percentile([1..5], p)
    EXPECT_DOUBLE_EQ(pct(v, 50), 3.0);
    EXPECT_NEAR(pct(v, 90), 4.6, 1e-12);
    EXPECT_NEAR(pct(v, 99.5), 4.98, 1e-12);
    EXPECT_NEAR(pct(v, 10), 1.4, 1e-12);
    EXPECT_DOUBLE_EQ(pct({7}, 95), 7.0);
    EXPECT_TRUE(std::isnan(pct({}, 95)));
    EXPECT_NEAR(pct({2, 2, 2, 9}, 90), 6.9, 1e-12);  // ties
}

// Against a plain sort of each station's present training values; a validation/test value changed to an
// outlier moves nothing.
TEST(DataExtremes, ThresholdsComeFromEachStationsTrainingValues) {
    SyntheticConfig sc;
    sc.stations = 3;
    sc.years = 3;
    sc.start_year = 2021;
    sc.seed = 2;
    DatasetConfig dc;
    dc.split = SplitSpec::years(2021, 2021, 2022, 2022, 2023, 2023);
    WindowedDataset ds = build_dataset(generate_synthetic(sc), dc);
    const ExtremeThresholds t = compute_extreme_thresholds(ds, ds.ranges[0]);
    ASSERT_EQ(t.percentiles, (std::vector<double>{99.5, 98, 95, 90}));
    ASSERT_EQ(t.values.size(), size_t(3 * ds.num_targets() * 4));
    const size_t F = size_t(ds.num_vars());
    for (size_t s = 0; s < 3; ++s) {
        const StationInfo& st = ds.data.stations[s];
        const RowRange train = rows_in_range(st.start, st.rows, ds.data.step, ds.ranges[0]);
        ASSERT_GT(train.size(), 8000);
        EXPECT_EQ(t.station_of_row(st.row_begin), int(s));
        EXPECT_EQ(t.station_of_row(st.row_end() - 1), int(s));
        for (int k = 0; k < ds.num_targets(); ++k) {
            std::vector<double> sorted;
            for (int64_t r = train.first; r < train.last; ++r) {
                const float v = ds.data.values[size_t(st.row_begin + r) * F + size_t(ds.target_cols[size_t(k)])];
                if (!std::isnan(v)) sorted.push_back(v);
            }
            std::sort(sorted.begin(), sorted.end());
            for (size_t p = 0; p < 4; ++p) {
                const double pos = t.percentiles[p] / 100 * double(sorted.size() - 1);
                const size_t lo = size_t(pos);
                const double expected = sorted[lo] + (pos - double(lo)) * (sorted[lo + 1] - sorted[lo]);
                EXPECT_NEAR(t.for_row(st.row_begin + 5)[size_t(k) * 4 + p], expected, 1e-5)
                    << "station " << s << " target " << k << " p " << t.percentiles[p];
            }
        }
    }
    // Outliers outside the training split leave the thresholds alone.
    const StationInfo& st0 = ds.data.stations[0];
    const RowRange test = rows_in_range(st0.start, st0.rows, ds.data.step, ds.ranges[2]);
    ASSERT_GT(test.size(), 0);
    for (int64_t r = test.first; r < test.last; ++r) ds.data.values[size_t(st0.row_begin + r) * F] = 1e6f;
    EXPECT_EQ(compute_extreme_thresholds(ds, ds.ranges[0]).values, t.values);
}

}  // namespace
}  // namespace fusedrnn::data
