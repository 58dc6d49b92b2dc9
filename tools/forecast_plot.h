// forecast.svg: a forecaster at work, as the course pictures it. At one station, over up to two weeks of consecutive
// windows of a split (train draws the test split's), the observed first target and the model's forecasts of it at the first and the last lead time, each
// plotted at the time it is for (original units). The further lead lags and smooths: the picture of skill fading
// with lead time that the report's per-lead MSE gives in numbers.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "fusedrnn/core/backend.h"
#include "fusedrnn/core/data/dataset.h"
#include "fusedrnn/models/forecast_dataset.h"
#include "fusedrnn/models/model.h"

namespace fusedrnn::tools {

struct PlotWindows {
    std::string station;          // id (name)
    std::vector<int64_t> starts;  // consecutive windows of that station (start rows)
};

// The first run of consecutive windows among `windows` (one station, no gap) that spans `days` days, or the longest
// run when none does; empty when `windows` is. Give it a whole split (train takes the test windows before
// limit_evaluation thins them). ds: the dataset the windows are of (its stations; its series may have moved to the
// device).
PlotWindows choose_plot_windows(const data::WindowStarts& windows, const data::WindowedDataset& ds, int days = 14);

// Forecasts those windows with `model` (on the dataset's backend) and writes the chart to `path`; `split` names
// where the windows are from in the axis label ("test"); `unit`, the first target's unit where the reader converted
// it (converted_unit: "°C, converted from °F"), labels the value axis, else "original units".
void write_forecast_plot(const std::string& path, const PlotWindows& windows, Forecaster& model,
                         const ForecastDataset& data, const data::WindowedDataset& ds, const std::string& split,
                         const std::string& unit = "");

}  // namespace fusedrnn::tools
