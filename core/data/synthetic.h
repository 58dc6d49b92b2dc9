// fusedrnn::data — synthetic weather stations: the embedded default data (so the forecasting job
// runs anywhere) and a WEATHER-5K-sized set for benchmarks.
// Each station gets a climate from its (random) latitude, longitude, elevation and continentality:
// mean temperature, seasonal and diurnal amplitudes (diurnal phase in local solar time), dew-point
// depression, sea-level pressure belts, prevailing winds. On top: fronts (random multi-day passages
// with a pressure dip, warm-then-cold temperature swing, wind burst and veer), semi-diurnal pressure
// tide, noise that is AR(1) in time and correlated across the variables, and gaps (outages of all
// variables plus isolated missing values). Output: weather5k_vars() in physical units, hourly, UTC,
// calm = angle 0 / rate 0 and directions 10..360 in 10° steps, as in ISD.
// Deterministic: station i depends only on (seed, i), whatever the thread count. Cost O(rows);
// stations are generated in parallel (OpenMP).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "fusedrnn/core/data/station_series.h"
#include "fusedrnn/core/data/time.h"

namespace fusedrnn::data {

// The years synthetic stations may span: four-digit years from kEarliestYear (time.h), as station files read them.
inline constexpr int kMinSyntheticYear = int(kEarliestYear), kMaxSyntheticYear = 9999;
// The largest gap_fraction accepted.
inline constexpr double kMaxSyntheticGaps = 0.5;

struct SyntheticConfig {
    int stations = 32;
    int years = 10;           // whole calendar years
    int start_year = 2014;    // 2014..2023 matches WEATHER-5K's default split; all years within 1000..9999
    uint64_t seed = 0;
    double gap_fraction = 0.01;  // expected fraction of missing values (0 = complete series)

    int64_t rows_per_station() const;
};

// All stations, concatenated (ids "SYN00000", ...). `progress` (stations done, total), if given, is called
// on the calling thread as chunks of stations are finished (WEATHER-5K scale takes a minute or more).
StationSet generate_synthetic(const SyntheticConfig& config,
                              const std::function<void(size_t, size_t)>& progress = {});
// One station, identical to station `index` of generate_synthetic(config).
StationSeries generate_synthetic_station(const SyntheticConfig& config, int index);
// Station `index`'s id: "SYN00000", ...
std::string synthetic_station_id(int index);
// Throws Error naming what is out of range in `config` (what generate_synthetic checks first).
void check_synthetic_config(const SyntheticConfig& config);

}  // namespace fusedrnn::data
