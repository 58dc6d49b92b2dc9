// ForecastMetrics on hand-computed cases: normalized MSE/MAE overall, per variable and per lead time, the
// original-unit figures (scaled by each variable's standard deviation) and their mean over the variables
// (WEATHER-5K's "Overall"), across several add() calls; and on random data, the parallel blocked fold against a
// naive one, with the same bits whatever the thread count and however the windows are split into add() calls; a
// direction's error the shorter way round the circle.
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <omp.h>
#include <random>

#include "fusedrnn/core/data/wind_components.h"
#include "fusedrnn/models/forecast_metrics.h"

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

// Wind direction scored round the compass: one variable in degrees (std 100), horizon 1, normalized errors +3.4
// (340°), -0.5 (50°), +7.3 (730° = 2 turns + 10°) and 1.8 (180°, either way round).
TEST(ForecastMetrics, ADirectionIsScoredByTheShorterArc) {
    ForecastMetrics m({"TMP", "WND_ANGLE"}, {1.0, 100.0}, 1);
    EXPECT_TRUE(m.direction_from().empty());
    EXPECT_TRUE(std::isnan(m.mae_direction()));
    m.score_direction(1);
    EXPECT_EQ(m.direction_from(), std::vector<std::string>{"WND_ANGLE"});
    const float pred[] = {0, 3.4f, 0, 0, 0, 8.0f, 0, 2.0f};
    const float truth[] = {0, 0, 0, 0.5f, 0, 0.7f, 0, 0.2f};
    m.add(pred, truth, 4);
    // Arcs 20°, 50°, 10°, 180° (float inputs: up to ~1e-4 degree off).
    EXPECT_NEAR(m.mae_direction(), (20.0 + 50 + 10 + 180) / 4, 1e-3);
    EXPECT_NEAR(m.mse_direction(), (400.0 + 2500 + 100 + 32400) / 4, 0.1);
    EXPECT_TRUE(std::isnan(m.mae_speed()));  // only from components
    // The plain figures still count the numbers' difference (WEATHER-5K's way): 340, 50, 730, 180.
    EXPECT_NEAR(m.mae_original(1), (340.0 + 50 + 730 + 180) / 4, 1e-3);
    const auto j = m.to_json().at("wind_direction");
    EXPECT_EQ(j.at("from"), nlohmann::json({"WND_ANGLE"}));
    EXPECT_DOUBLE_EQ(j.at("mae_arc").get<double>(), m.mae_direction());
    EXPECT_DOUBLE_EQ(j.at("mse_arc").get<double>(), m.mse_direction());
    EXPECT_FALSE(j.contains("speed_mae"));
    EXPECT_THROW(m.score_direction(1), std::exception);  // after add(), and twice
    ForecastMetrics fresh({"A"}, {1.0}, 1);
    EXPECT_THROW(fresh.score_direction(1), std::exception);
    EXPECT_THROW(fresh.score_direction_from_components(0, 0, 0, 0), std::exception);
    EXPECT_FALSE(fresh.to_json().contains("wind_direction"));
}

// From the wind's components (means 1 and 2, stds 2 and 4: the direction needs the values, not only differences):
// observed 10 m/s from the north (u 0, v -10) forecast as 5 m/s from the east (u -5, v 0): 90° and -5 m/s off;
// observed from 350° forecast from 10°, both 10 m/s: 20° and 0 off.
TEST(ForecastMetrics, WindComponentsAreScoredAsDirectionAndSpeed) {
    ForecastMetrics m({"WND_U", "WND_V"}, {2.0, 4.0}, 1);
    m.score_direction_from_components(0, 1, 1.0, 2.0);
    EXPECT_EQ(m.direction_from(), (std::vector<std::string>{"WND_U", "WND_V"}));
    const double s = 10 * std::sin(10 * 3.14159265358979323846 / 180), c = 10 * std::cos(10 * 3.14159265358979323846 / 180);
    auto norm = [](double u, double v) { return std::vector<float>{float((u - 1) / 2), float((v - 2) / 4)}; };
    std::vector<float> pred, truth;
    for (const auto& [p, t] : {std::pair{norm(-5, 0), norm(0, -10)}, std::pair{norm(-s, -c), norm(s, -c)}}) {
        pred.insert(pred.end(), p.begin(), p.end());
        truth.insert(truth.end(), t.begin(), t.end());
    }
    m.add(pred.data(), truth.data(), 2);
    EXPECT_NEAR(m.mae_direction(), (90.0 + 20) / 2, 1e-4);
    EXPECT_NEAR(m.mse_direction(), (8100.0 + 400) / 2, 1e-2);
    EXPECT_NEAR(m.mae_speed(), 5.0 / 2, 1e-5);
    EXPECT_NEAR(m.mse_speed(), 25.0 / 2, 1e-4);
    const auto j = m.to_json().at("wind_direction");
    EXPECT_EQ(j.at("from"), nlohmann::json({"WND_U", "WND_V"}));
    EXPECT_DOUBLE_EQ(j.at("speed_mae").get<double>(), m.mae_speed());
}

// A calm comes back from normalization as a float leftover, not (0, 0), which points anywhere. An observed calm has
// no direction and is left out of the direction's scores (not the speed's); a forecast calm counts as north, as the
// readers write a calm's direction. Rows: observed calm, forecast 3 m/s from 10°; observed 3 m/s from 10°, forecast
// calm (10° off); both calm.
TEST(ForecastMetrics, ACalmFromComponentsIsLeftOutWhereObservedAndNorthWhereForecast) {
    ForecastMetrics m({"WND_U", "WND_V"}, {2.0, 4.0}, 1);
    m.score_direction_from_components(0, 1, 1.3, 2.7);
    auto norm = [](double u, double v) { return std::vector<float>{float((u - 1.3) / 2), float((v - 2.7) / 4)}; };
    const double r = 10 * 3.14159265358979323846 / 180;
    const std::vector<float> calm = norm(0, 0), from_10 = norm(-3 * std::sin(r), -3 * std::cos(r));
    std::vector<float> pred, truth;
    for (const auto& [p, t] : {std::pair{from_10, calm}, std::pair{calm, from_10}, std::pair{calm, calm}}) {
        pred.insert(pred.end(), p.begin(), p.end());
        truth.insert(truth.end(), t.begin(), t.end());
    }
    m.add(pred.data(), truth.data(), 3);
    EXPECT_TRUE(m.tells_calms());
    EXPECT_EQ(m.direction_scored(), 1);
    EXPECT_EQ(m.calms_left_out(), 2);
    EXPECT_NEAR(m.mae_direction(), 10.0, 1e-4);
    EXPECT_NEAR(m.mae_speed(), (3.0 + 3.0 + 0) / 3, 1e-5);
}

// With its speed among the targets, a direction's observed calms (speed 0, direction 0 as ISD-Lite writes them) are
// left out: observed calm forecast 180°; observed 350° at 5 m/s forecast 10° (20° off).
TEST(ForecastMetrics, ADirectionsObservedCalmIsLeftOutWhenTheSpeedIsATarget) {
    ForecastMetrics m({"WND_ANGLE", "WND_RATE"}, {100.0, 2.0}, 1);
    m.score_direction(0, 1, 3.0);
    const float pred[] = {1.8f, 0.0f, 0.1f, 1.0f};
    const float truth[] = {0.0f, float((0 - 3.0) / 2), 3.5f, 1.0f};
    m.add(pred, truth, 2);
    EXPECT_EQ(m.direction_scored(), 1);
    EXPECT_EQ(m.calms_left_out(), 1);
    EXPECT_NEAR(m.mae_direction(), 20.0, 1e-3);
    ForecastMetrics blind({"WND_ANGLE", "WND_RATE"}, {100.0, 2.0}, 1);
    blind.score_direction(0);  // without the speed the calm counts as wind from the north: 180° off
    blind.add(pred, truth, 2);
    EXPECT_EQ(blind.direction_scored(), 2);
    EXPECT_NEAR(blind.mae_direction(), (180.0 + 20) / 2, 1e-3);
}

TEST(ForecastMetrics, NoWindowsIsNotANumberAndBadShapesAreErrors) {
    ForecastMetrics m({"A"}, {1.0}, 3);
    EXPECT_TRUE(std::isnan(m.mse()));
    EXPECT_TRUE(std::isnan(m.mae(0)));
    EXPECT_THROW(ForecastMetrics({"A", "B"}, {1.0}, 3), std::exception);
    EXPECT_THROW(ForecastMetrics({"A"}, {1.0}, 0), std::exception);
}

// SEDI from a contingency table built by hand: one variable, horizon 1, threshold 0 for every window, so a
// value above 0 is an event. 10 windows: 3 hits, 1 miss, 2 false alarms, 4 correct negatives.
TEST(ForecastMetrics, SediFromAHandMadeContingencyTable) {
    ForecastMetrics m({"A"}, {1.0}, 1);
    m.enable_extremes({90});
    const float truth[] = {1, 1, 1, 1, -1, -1, -1, -1, -1, -1};
    const float pred[] = {1, 1, 1, -1, 1, 1, -1, -1, -1, -1};
    const float thresholds[10] = {};
    m.add(pred, truth, 10, thresholds);
    const double H = 3.0 / 4, F = 2.0 / 6;
    const double expected = (std::log(F) - std::log(H) - std::log(1 - F) + std::log(1 - H)) /
                            (std::log(F) + std::log(H) + std::log(1 - F) + std::log(1 - H));
    EXPECT_NEAR(m.sedi(0, 0), expected, 1e-12);
    EXPECT_EQ(m.extreme_events(0, 0), 4);
    const auto j = m.to_json();
    EXPECT_NEAR(j.at("sedi").at("A").at("90").get<double>(), expected, 1e-12);
    EXPECT_EQ(j.at("extreme_events").at("A").at("90").get<long>(), 4);

    // Every event caught (H = 1), or none forecast (H = F = 0): the formula is undefined there (its logarithms
    // diverge), so NaN, left out of the JSON; a NaN threshold (a station without training values) counts nothing.
    ForecastMetrics all_caught({"A"}, {1.0}, 1);
    all_caught.enable_extremes({90});
    const float pred2[] = {1, 1, 1, 1, -1, -1, -1, -1, -1, -0.5f};  // one false alarm keeps F above 0
    const float thr2[10] = {0, 0, 0, 0, 0, 0, 0, 0, 0, -0.6f};
    all_caught.add(pred2, truth, 10, thr2);
    EXPECT_TRUE(std::isnan(all_caught.sedi(0, 0)));  // H = 1
    ForecastMetrics never({"A"}, {1.0}, 1);
    never.enable_extremes({90});
    const float low[10] = {-1, -1, -1, -1, -1, -1, -1, -1, -1, -1};
    never.add(low, truth, 10, thresholds);
    EXPECT_TRUE(std::isnan(never.sedi(0, 0)));  // H = 0 and F = 0
    EXPECT_FALSE(never.to_json().at("sedi").at("A").contains("90"));
    ForecastMetrics none({"A"}, {1.0}, 1);
    none.enable_extremes({90});
    const float nan_thr[10] = {NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN};
    none.add(pred, truth, 10, nan_thr);
    EXPECT_EQ(none.extreme_events(0, 0), 0);
    EXPECT_DOUBLE_EQ(none.mse(), m.mse());  // the errors count all the same
}

// Random windows with extreme-event thresholds (some NaN: stations without one; runs of equal rows: windows from
// one station), folded naively in double, window by window, as the definition reads.
struct RandomWindows {
    static constexpr int K = 3, H = 7;
    // Variable B is a direction in degrees with std 300, so that many errors go more than half way round.
    static constexpr int kDirection = 1;
    static constexpr double kDirectionStd = 300;
    // How the wind is scored: from B as a direction (with A as its speed, which tells calms, or without), or from A
    // and C as its components. A (mean 0.5) and C (mean -1) are un-normalized by these.
    enum class Wind { Direction, DirectionAndSpeed, Components };
    static constexpr double kMeanA = 0.5, kMeanC = -1.0, kStdA = 1.0, kStdC = 3.0;
    static constexpr int kCalmEvery = 17;  // an observed calm at every 17th (window, lead time), where speed tells
    long B;
    std::vector<double> percentiles{90, 99};
    std::vector<float> pred, truth, thresholds;
    Wind wind = Wind::Direction;
    explicit RandomWindows(long windows, Wind scored = Wind::Direction) : B(windows), wind(scored) {
        std::mt19937 rng(7);
        std::normal_distribution<float> normal;
        const size_t P = percentiles.size();
        for (long i = 0; i < B * H * K; ++i) {
            truth.push_back(normal(rng));
            pred.push_back(0.7f * truth.back() + 0.5f * normal(rng));
        }
        if (wind != Wind::Direction)
            for (long i = 0; i < B * H; i += kCalmEvery) {  // speed 0: A (and C) at the normalized 0
                truth[size_t(i) * K] = float((0 - kMeanA) / kStdA);
                if (wind == Wind::Components) truth[size_t(i) * K + 2] = float((0 - kMeanC) / kStdC);
            }
        std::vector<float> station(K * P);
        for (long b = 0; b < B; ++b) {
            if (b % 50 == 0)  // a new station every 50 windows
                for (size_t i = 0; i < station.size(); ++i)
                    station[i] = std::uniform_int_distribution<int>(0, 9)(rng) == 0 ? NAN : normal(rng);
            thresholds.insert(thresholds.end(), station.begin(), station.end());
        }
    }
    ForecastMetrics empty() const {
        ForecastMetrics m({"A", "B", "C"}, {kStdA, kDirectionStd, kStdC}, H);
        m.enable_extremes(percentiles);
        if (wind == Wind::Components) m.score_direction_from_components(0, 2, kMeanA, kMeanC);
        else if (wind == Wind::DirectionAndSpeed) m.score_direction(kDirection, 0, kMeanA);
        else m.score_direction(kDirection);
        return m;
    }
    // Adds the windows in calls of the given sizes, repeated until all are in.
    ForecastMetrics fold(const std::vector<long>& calls) const {
        ForecastMetrics m = empty();
        for (long b = 0, c = 0; b < B; ++c) {
            const long n = std::min(calls[size_t(c) % calls.size()], B - b);
            m.add(pred.data() + b * H * K, truth.data() + b * H * K, n, thresholds.data() + b * K * long(percentiles.size()));
            b += n;
        }
        return m;
    }
};

TEST(ForecastMetrics, ParallelBlockedFoldMatchesTheNaiveSumsAndCounts) {
    const RandomWindows w(1000);
    const ForecastMetrics m = w.fold({1000});
    const size_t P = w.percentiles.size();
    std::vector<double> se(RandomWindows::K), ae(RandomWindows::K), se_lead(RandomWindows::H);
    double arc_se = 0, arc_ae = 0;  // the direction's, in its unit
    long wrapped = 0;               // errors more than half way round
    std::vector<long> events(RandomWindows::K * P), hits(RandomWindows::K * P), alarms(RandomWindows::K * P),
        negatives(RandomWindows::K * P);
    for (long b = 0; b < w.B; ++b)
        for (int h = 0; h < RandomWindows::H; ++h)
            for (int k = 0; k < RandomWindows::K; ++k) {
                const size_t i = (size_t(b) * RandomWindows::H + size_t(h)) * RandomWindows::K + size_t(k);
                const double d = double(w.pred[i]) - double(w.truth[i]);
                se[size_t(k)] += d * d;
                ae[size_t(k)] += std::abs(d);
                se_lead[size_t(h)] += d * d;
                if (k == RandomWindows::kDirection) {
                    const double turns = std::abs(d) * RandomWindows::kDirectionStd / 360;
                    const double arc = std::abs(turns - std::round(turns)) * 360;
                    arc_se += arc * arc;
                    arc_ae += arc;
                    wrapped += turns - std::floor(turns) > 0.5;
                }
                for (size_t p = 0; p < P; ++p) {
                    const float thr = w.thresholds[(size_t(b) * RandomWindows::K + size_t(k)) * P + p];
                    if (std::isnan(thr)) continue;
                    const size_t c = size_t(k) * P + p;
                    const bool observed = w.truth[i] > thr, forecast = w.pred[i] > thr;
                    events[c] += observed;
                    hits[c] += observed && forecast;
                    alarms[c] += !observed && forecast;
                    negatives[c] += !observed && !forecast;
                }
            }
    const double per_variable = double(w.B) * RandomWindows::H;
    for (int k = 0; k < RandomWindows::K; ++k) {
        EXPECT_NEAR(m.mse(k), se[size_t(k)] / per_variable, 1e-12);
        EXPECT_NEAR(m.mae(k), ae[size_t(k)] / per_variable, 1e-12);
        for (size_t p = 0; p < P; ++p) {
            const size_t c = size_t(k) * P + p;
            EXPECT_EQ(m.extreme_events(k, int(p)), events[c]);
            const double H = double(hits[c]) / double(events[c]);
            const double F = double(alarms[c]) / double(alarms[c] + negatives[c]);
            const double sedi = (std::log(F) - std::log(H) - std::log1p(-F) + std::log1p(-H)) /
                                (std::log(F) + std::log(H) + std::log1p(-F) + std::log1p(-H));
            EXPECT_NEAR(m.sedi(k, int(p)), sedi, 1e-12) << "variable " << k << ", percentile " << w.percentiles[p];
        }
    }
    for (int h = 0; h < RandomWindows::H; ++h)
        EXPECT_NEAR(m.mse_by_lead()[size_t(h)], se_lead[size_t(h)] / (double(w.B) * RandomWindows::K), 1e-12);
    EXPECT_GT(wrapped, 100);  // the shorter way round is often the other one
    EXPECT_NEAR(m.mse_direction(), arc_se / per_variable, 1e-9);
    EXPECT_NEAR(m.mae_direction(), arc_ae / per_variable, 1e-10);
    EXPECT_LT(m.mae_direction(), m.mae_original(RandomWindows::kDirection));
}

// The direction B with its speed A (mean 0.5): values whose observed speed is under 0.05 are calms, left out of the
// direction's scores, against the definition window by window.
TEST(ForecastMetrics, ObservedCalmsAreLeftOutOfTheDirection) {
    using W = RandomWindows;
    const W w(1000, W::Wind::DirectionAndSpeed);
    const ForecastMetrics m = w.fold({1000});
    double arc_se = 0, arc_ae = 0;
    long scored = 0, planted = 0;
    for (long b = 0; b < w.B; ++b)
        for (int h = 0; h < W::H; ++h) {
            const size_t i = (size_t(b) * W::H + size_t(h)) * W::K;
            const double speed = w.truth[i] * W::kStdA + W::kMeanA;
            planted += std::abs(speed) < 1e-6;
            if (speed < 0.05) continue;
            const double turns = std::abs(double(w.pred[i + 1]) - double(w.truth[i + 1])) * W::kDirectionStd / 360;
            const double arc = std::abs(turns - std::round(turns)) * 360;
            arc_se += arc * arc;
            arc_ae += arc;
            ++scored;
        }
    EXPECT_GE(planted, w.B * W::H / W::kCalmEvery);
    EXPECT_TRUE(m.tells_calms());
    EXPECT_EQ(m.direction_scored(), scored);
    EXPECT_EQ(m.calms_left_out(), w.B * W::H - scored);
    EXPECT_NEAR(m.mse_direction(), arc_se / double(scored), 1e-9);
    EXPECT_NEAR(m.mae_direction(), arc_ae / double(scored), 1e-10);
    const auto j = m.to_json().at("wind_direction");
    EXPECT_EQ(j.at("scored").get<long>(), scored);
    EXPECT_EQ(j.at("calms_left_out").get<long>(), w.B * W::H - scored);
    // Without the speed a calm cannot be told: every value is scored, and the JSON does not claim calms were counted.
    const ForecastMetrics all = W(1000, W::Wind::Direction).fold({1000});
    EXPECT_FALSE(all.tells_calms());
    EXPECT_EQ(all.direction_scored(), w.B * W::H);
    EXPECT_EQ(all.calms_left_out(), 0);
    EXPECT_FALSE(all.to_json().at("wind_direction").contains("calms_left_out"));
    ForecastMetrics bad({"WND_ANGLE", "WND_RATE"}, {100.0, 2.0}, 1);
    EXPECT_THROW(bad.score_direction(0, 0, 1.0), std::exception);  // the speed is another variable
    EXPECT_THROW(bad.score_direction(0, 2, 1.0), std::exception);
    EXPECT_THROW(bad.score_direction(0, 1, NAN), std::exception);
}

// The wind from components A (mean 0.5) and C (mean -1), stds 1 and 3, against the definition window by window:
// the observed calms (speed under 0.05) are left out of the direction's scores, not the speed's.
TEST(ForecastMetrics, WindFromComponentsMatchesTheNaiveSums) {
    using W = RandomWindows;
    const W w(1000, W::Wind::Components);
    const ForecastMetrics m = w.fold({1000});
    double arc_ae = 0, speed_ae = 0;
    long scored = 0;
    for (long b = 0; b < w.B; ++b)
        for (int h = 0; h < W::H; ++h) {
            const size_t i = (size_t(b) * W::H + size_t(h)) * W::K;
            const double pu = w.pred[i] * W::kStdA + W::kMeanA, pv = w.pred[i + 2] * W::kStdC + W::kMeanC;
            const double tu = w.truth[i] * W::kStdA + W::kMeanA, tv = w.truth[i + 2] * W::kStdC + W::kMeanC;
            speed_ae += std::abs(std::hypot(pu, pv) - std::hypot(tu, tv));
            if (std::hypot(tu, tv) < 0.05) continue;
            // A forecast speed under 0.05 is a calm, whose direction is north.
            const double forecast = std::hypot(pu, pv) < 0.05 ? 0.0 : data::wind_direction(pu, pv);
            const double d = std::abs(forecast - data::wind_direction(tu, tv));
            arc_ae += std::min(d, 360 - d);
            ++scored;
        }
    const long values = w.B * W::H;
    EXPECT_GE(m.calms_left_out(), values / W::kCalmEvery);
    EXPECT_EQ(m.direction_scored(), scored);
    EXPECT_EQ(m.calms_left_out(), values - scored);
    EXPECT_NEAR(m.mae_direction(), arc_ae / double(scored), 1e-9);
    EXPECT_NEAR(m.mae_speed(), speed_ae / double(values), 1e-12);
}

TEST(ForecastMetrics, SameBitsWhateverTheThreadsAndTheBatchSizes) {
    for (const auto wind : {RandomWindows::Wind::Direction, RandomWindows::Wind::DirectionAndSpeed,
                            RandomWindows::Wind::Components}) {
        SCOPED_TRACE(int(wind));
        const RandomWindows w(1500, wind);
        const int threads = omp_get_max_threads();
        omp_set_num_threads(1);
        const std::string one = w.fold({1500}).to_json().dump();
        omp_set_num_threads(3);
        const std::string three = w.fold({1500}).to_json().dump();
        omp_set_num_threads(threads);
        EXPECT_EQ(one, three);
        EXPECT_EQ(one, w.fold({1024}).to_json().dump());
        EXPECT_EQ(one, w.fold({1, 63, 64, 65, 300, 7}).to_json().dump());  // blocks left open and closed across calls
        EXPECT_EQ(one, w.fold({1}).to_json().dump());
        EXPECT_NE(one.find("\"wind_direction\""), std::string::npos);
    }
}

}  // namespace
}  // namespace fusedrnn
