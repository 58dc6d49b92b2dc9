#include "fusedrnn/tools/forecast_csv.h"

#include <algorithm>
#include <cmath>
#include <iterator>

#include <fmt/format.h>

#include "fusedrnn/core/data/text.h"
#include "fusedrnn/core/data/time.h"
#include "fusedrnn/core/data/wind_components.h"
#include "fusedrnn/core/error.h"

namespace fusedrnn::tools {
namespace {

// `value` as it is written with `decimals`, without the sign of a value that rounds to zero (QA's recheck: an
// observed calm, 0 standardized and back, was written "-0.000").
double unsigned_zero(double value, int decimals) {
    return std::fabs(value) < 0.5 * std::pow(10.0, -decimals) ? 0.0 : value;
}

// `degrees` as the same direction in [0, 360), also once shown with `decimals` (359.9999 would print as 360.000).
double compass_degrees(double degrees, int decimals) {
    if (!std::isfinite(degrees)) return degrees;
    double d = std::fmod(degrees, 360.0);
    if (d < 0) d += 360.0;
    return d >= 360.0 - 0.5 * std::pow(10.0, -decimals) ? 0.0 : d;
}

}  // namespace

ForecastCsv::ForecastCsv(const std::string& path, std::vector<std::string> targets, std::vector<int32_t> target_cols,
                         const data::NormStats& stats, const data::WindowSpec& window, int64_t step, bool with_observed)
    : file_(path), cols_(std::move(target_cols)), stats_(stats), window_(window), step_(step),
      observed_(with_observed) {
    FR_CHECK(targets.size() == cols_.size(), "forecast CSV: {} target names for {} columns", targets.size(),
             cols_.size());
    // Three decimals suit degrees and hectopascals; a variable whose training spread is small (precipitation in
    // metres, humidity in kg/kg: std 0.0006) gets as many more as its spread is below 1, so its values keep three
    // significant digits instead of rounding to 0.001.
    for (int32_t c : cols_) {
        const double spread = stats_.std[size_t(c)];
        decimals_.push_back(3 + std::clamp(int(-std::floor(std::log10(spread))), 0, 9));
    }
    auto target = [&](const char* name) {
        const auto it = std::find(targets.begin(), targets.end(), name);
        return it == targets.end() ? -1 : int(it - targets.begin());
    };
    direction_ = target(data::kWindDirection);
    speed_ = target(data::kWindSpeed);
    if (target(data::kWindU) >= 0 && target(data::kWindV) >= 0) {
        wind_u_ = target(data::kWindU);
        wind_v_ = target(data::kWindV);
        wind_speed_ = target(data::kWindSpeed) < 0;
    }
    auto derived = [&](const std::string& suffix) {
        if (wind_u_ < 0) return std::string();
        return fmt::format(",{}{}{}", data::kWindDirection, suffix,
                           wind_speed_ ? fmt::format(",{}{}", data::kWindSpeed, suffix) : std::string());
    };
    std::string header = "station,issued_at,lead,time";
    for (const auto& t : targets) header += "," + data::csv_field(t);
    header += derived("");
    if (observed_) {
        for (const auto& t : targets) header += "," + data::csv_field(t + "_observed");
        header += derived("_observed");
    }
    file_.stream() << header << '\n';
}

void ForecastCsv::add(const std::string& station, int64_t issued_at, const float* forecast, const float* observed) {
    FR_CHECK(!observed_ || observed, "forecast CSV: the observed values are missing");
    const size_t K = cols_.size();
    // The station and issue time are the same on every row of the window: formatted once.
    const std::string row_start = data::csv_field(station) + "," + data::format_time(issued_at) + ",";
    lines_.clear();
    auto out = std::back_inserter(lines_);
    for (int h = 0; h < window_.horizon; ++h) {
        const int64_t lead = int64_t(window_.out_offset) + int64_t(h) * window_.out_step;
        lines_ += row_start;
        fmt::format_to(out, "{},{}", lead, data::format_time(issued_at + lead * step_));
        for (size_t k = 0; k < K; ++k) {
            const double value = stats_.denormalize(cols_[k], forecast[size_t(h) * K + k]);
            // A regressed speed dips below zero at times (QA: -0.4 m/s): written as the calm it stands for.
            fmt::format_to(out, ",{:.{}f}",
                           int(k) == direction_ ? compass_degrees(value, decimals_[k])
                           : int(k) == speed_   ? unsigned_zero(std::max(value, 0.0), decimals_[k])
                                                : unsigned_zero(value, decimals_[k]),
                           decimals_[k]);
        }
        add_wind(out, forecast + size_t(h) * K);
        if (observed_) {
            for (size_t k = 0; k < K; ++k)
                fmt::format_to(out, ",{:.{}f}",
                               unsigned_zero(stats_.denormalize(cols_[k], observed[size_t(h) * K + k]), decimals_[k]),
                               decimals_[k]);
            add_wind(out, observed + size_t(h) * K);
        }
        lines_ += '\n';
        ++rows_;
    }
    file_.stream() << lines_;
}

void ForecastCsv::add_wind(std::back_insert_iterator<std::string> out, const float* values) const {
    if (wind_u_ < 0) return;
    const size_t ku = size_t(wind_u_), kv = size_t(wind_v_);
    const double u = stats_.denormalize(cols_[ku], values[ku]), v = stats_.denormalize(cols_[kv], values[kv]);
    // In [0, 360) as shown, as the direction column of an angle model (QA: 359.97 was written "360.0", and north
    // both ways in one file).
    fmt::format_to(out, ",{:.1f}", compass_degrees(data::wind_direction_or_calm(u, v), 1));
    if (wind_speed_) fmt::format_to(out, ",{:.{}f}", std::hypot(u, v), decimals_[ku]);
}

ForecastSink forecast_csv_sink(ForecastCsv& csv, const data::WindowedDataset& ds) {
    const size_t per_window = size_t(ds.window.horizon) * ds.target_cols.size();
    const int64_t last_input = int64_t(ds.window.input_len - 1) * ds.window.in_step;
    return [&csv, &ds, per_window, last_input](const EvaluatedBatch& batch) {
        for (size_t b = 0; b < batch.starts.size(); ++b) {
            const int64_t start = batch.starts[b];
            const std::string& station = ds.data.stations[size_t(ds.data.station_of_row(start))].id;
            csv.add(station, ds.time_of_row(start + last_input), batch.forecast + b * per_window,
                    batch.truth + b * per_window);
        }
    };
}

}  // namespace fusedrnn::tools
