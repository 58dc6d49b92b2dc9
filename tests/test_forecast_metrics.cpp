// ForecastMetrics on hand-computed cases: normalized MSE/MAE overall, per variable and per lead time, the
// original-unit figures (scaled by each variable's standard deviation) and their mean over the variables
// (WEATHER-5K's "Overall"), across several add() calls.
#include <cmath>

#include <gtest/gtest.h>

#include "models/forecast_metrics.h"

namespace fusedrnn {
namespace {

// Two variables (stds 2 and 10), horizon 2; rows are [h0: k0 k1, h1: k0 k1].
TEST(ForecastMetrics, HandComputedErrors) {
    ForecastMetrics m({"A", "B"}, {2.0, 10.0}, 2);
    const float pred1[] = {1, 0, 0, 0};     // window 1: errors A +1 (h0), 0; B 0, 0
    const float truth1[] = {0, 0, 0, 0};
    const float pred2[] = {0, -2, 3, 0,     // window 2: A 0 (h0), +3 (h1); B -2 (h0), 0
                           0, 0, 0, 1};     // window 3: A 0, 0; B 0 (h0), +1 (h1)
    const float truth2[] = {0, 0, 0, 0, 0, 0, 0, 0};
    m.add(pred1, truth1, 1);
    m.add(pred2, truth2, 2);
    EXPECT_EQ(m.windows(), 3);
    // A: squared errors 1 + 9 = 10 over 3 windows x 2 leads; B: 4 + 1 = 5.
    EXPECT_DOUBLE_EQ(m.mse(0), 10.0 / 6);
    EXPECT_DOUBLE_EQ(m.mse(1), 5.0 / 6);
    EXPECT_DOUBLE_EQ(m.mae(0), 4.0 / 6);
    EXPECT_DOUBLE_EQ(m.mae(1), 3.0 / 6);
    EXPECT_DOUBLE_EQ(m.mse(), 15.0 / 12);
    EXPECT_DOUBLE_EQ(m.mae(), 7.0 / 12);
    // Lead 0: 1 + 4 = 5; lead 1: 9 + 1 = 10; each over 3 windows x 2 variables.
    ASSERT_EQ(m.mse_by_lead().size(), 2u);
    EXPECT_DOUBLE_EQ(m.mse_by_lead()[0], 5.0 / 6);
    EXPECT_DOUBLE_EQ(m.mse_by_lead()[1], 10.0 / 6);
    EXPECT_DOUBLE_EQ(m.mse_original(0), 10.0 / 6 * 4);
    EXPECT_DOUBLE_EQ(m.mse_original(1), 5.0 / 6 * 100);
    EXPECT_DOUBLE_EQ(m.mae_original(1), 3.0 / 6 * 10);
    EXPECT_DOUBLE_EQ(m.mse_original_mean(), (10.0 / 6 * 4 + 5.0 / 6 * 100) / 2);
    EXPECT_DOUBLE_EQ(m.mae_original_mean(), (4.0 / 6 * 2 + 3.0 / 6 * 10) / 2);
    const auto j = m.to_json();
    EXPECT_DOUBLE_EQ(j.at("per_variable").at("B").at("mse_original").get<double>(), 5.0 / 6 * 100);
    EXPECT_DOUBLE_EQ(j.at("mse_original_mean").get<double>(), m.mse_original_mean());
    EXPECT_DOUBLE_EQ(j.at("mae_original_mean").get<double>(), m.mae_original_mean());
}

TEST(ForecastMetrics, NoWindowsIsNotANumberAndBadShapesAreErrors) {
    ForecastMetrics m({"A"}, {1.0}, 3);
    EXPECT_TRUE(std::isnan(m.mse()));
    EXPECT_TRUE(std::isnan(m.mae(0)));
    EXPECT_THROW(ForecastMetrics({"A", "B"}, {1.0}, 3), std::exception);
    EXPECT_THROW(ForecastMetrics({"A"}, {1.0}, 0), std::exception);
}

}  // namespace
}  // namespace fusedrnn
