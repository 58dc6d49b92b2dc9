// Printing and saving forecast evaluations: the model next to the persistence baselines, normalized
// overall and per variable, then per variable in original units (the WEATHER-5K paper's two tables).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "fusedrnn/core/data/windows.h"
#include "fusedrnn/models/forecast_metrics.h"
#include "fusedrnn/models/forecast_trainer.h"

namespace fusedrnn::tools {

// Prints the report for one split ("test") to stdout: the model (e.model, which must be set) next to the
// persistence baselines (models/forecast_evaluation.h: the last observed value, and — where the input covers a
// day and the step divides one — the same time of day on the latest observed day). Lead times are labelled in steps
// after the last input row, from `window` (out_offset, out_step), as the forecast CSVs label them. `units`, where the
// reader converted the values (converted_units: LCD's °F to °C), is said above the table in original units.
void print_forecast_report(const std::string& split, const ForecastEvaluation& e, const data::WindowSpec& window,
                           const std::string& units = "");
// {"model": ..., "persistence": ..., "skill_mse": 1 - mse/mse_persistence,
//  "persistence_same_time_of_day": ..., "skill_mse_same_time_of_day": ...} (the last two when available; else
//  "persistence_same_time_of_day_absent": why, when known)
nlohmann::json forecast_report_json(const ForecastEvaluation& e);
// Writes JSON atomically (temp + rename).
void write_json_file(const std::string& path, const nlohmann::json& j);

}  // namespace fusedrnn::tools
