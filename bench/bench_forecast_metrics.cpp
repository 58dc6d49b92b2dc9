// Forecast metrics fold: ForecastMetrics::add, which every evaluation (the test report at the end of `train`,
// `eval`, the persistence baselines) runs on the host over each batch's forecasts and targets. At WEATHER-5K
// scale the test year holds ~50 million windows of horizon·5 values, so this fold sets how long the final
// report takes once the forward passes run on a GPU.
//
//   build/bench/bench_forecast_metrics --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
//
// Arguments: horizon, extreme-event percentiles (0, or 4 as the report uses), and how often the station changes
// (every window, or every 1000: an evaluation walks the windows station by station). One add() of 4096 windows
// (eval's default batch) per iteration; items = values folded (4096·horizon·5).
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "fusedrnn/models/forecast_metrics.h"

namespace {

using fusedrnn::ForecastMetrics;

constexpr long kWindows = 4096;
constexpr int kVariables = 5;

void BM_ForecastMetricsAdd(benchmark::State& state) {
    const int horizon = int(state.range(0));
    const size_t percentiles = size_t(state.range(1));
    const long station_every = long(state.range(2));
    std::mt19937 rng(1);
    std::normal_distribution<float> normal;
    std::vector<float> pred(size_t(kWindows) * size_t(horizon) * kVariables), truth(pred.size());
    for (size_t i = 0; i < pred.size(); ++i) {
        truth[i] = normal(rng);
        pred[i] = 0.8f * truth[i] + 0.4f * normal(rng);
    }
    std::vector<float> thresholds, station(kVariables * percentiles);
    for (long b = 0; b < kWindows; ++b) {
        if (b % station_every == 0)
            for (float& t : station) t = 1.0f + normal(rng) * 0.3f;
        thresholds.insert(thresholds.end(), station.begin(), station.end());
    }
    ForecastMetrics m({"TMP", "DEW", "WND_ANGLE", "WND_RATE", "SLP"}, {1, 1, 1, 1, 1}, horizon);
    const std::vector<double> report_percentiles{99.5, 98, 95, 90};
    if (percentiles > 0)
        m.enable_extremes({report_percentiles.begin(), report_percentiles.begin() + long(percentiles)});
    for (auto _ : state) {
        m.add(pred.data(), truth.data(), kWindows, percentiles > 0 ? thresholds.data() : nullptr);
        benchmark::DoNotOptimize(m.windows());
    }
    benchmark::DoNotOptimize(m.mse());
    state.SetItemsProcessed(state.iterations() * kWindows * horizon * kVariables);
    state.SetLabel("horizon " + std::to_string(horizon) + ", " + std::to_string(percentiles) +
                   " percentiles, a new station every " + std::to_string(station_every) + " windows");
}

}  // namespace

BENCHMARK(BM_ForecastMetricsAdd)
    ->ArgNames({"horizon", "percentiles", "station_every"})
    ->Args({24, 0, 1000})
    ->Args({72, 0, 1000})
    ->Args({24, 4, 1000})
    ->Args({72, 4, 1000})
    ->Args({72, 4, 1})
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

BENCHMARK_MAIN();
