// Printing and saving forecast evaluations: the model next to the persistence baseline, normalized
// overall and per variable, then per variable in original units (the WEATHER-5K paper's two tables).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "models/forecast_metrics.h"

namespace fusedrnn::tools {

// Prints the report for one split ("test") to stdout.
void print_forecast_report(const std::string& split, const ForecastMetrics& model, const ForecastMetrics& persistence);
// {"model": ..., "persistence": ..., "skill_mse": 1 - mse/mse_persistence}
nlohmann::json forecast_report_json(const ForecastMetrics& model, const ForecastMetrics& persistence);
// Writes JSON atomically (temp + rename).
void write_json_file(const std::string& path, const nlohmann::json& j);

}  // namespace fusedrnn::tools
