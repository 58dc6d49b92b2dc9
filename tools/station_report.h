// `eval --per-station`: the evaluation scored station by station (models/station_scores.h), written as a CSV
//   station,windows,mse,mae,persistence_mse,skill,<target>_rmse,<target>_persistence_rmse,...
// (mse, mae: normalized; rmse: original units), and summed up in a few lines: how skill spreads over the stations
// and which do worst, since an overall MSE over thousands of stations can hide a few the model fails at.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "fusedrnn/models/station_scores.h"

namespace fusedrnn::tools {

// Writes the CSV atomically, a row per station with windows, in the data's order.
void write_station_scores(const std::string& path, const StationScores& scores);
// Prints the summary to stdout: the median and quartiles of per-station skill, how many stations the model does
// worse than persistence at, and the worst few by skill.
void print_station_summary(const StationScores& scores);
// The same as JSON (metrics.json's and eval --json's "stations"): {"stations", "skill_median", "skill_q25",
// "skill_q75", "worse_than_persistence", "lowest_skill": [{"station", "skill", "mse", "windows"}, ...]}; only
// "stations" when no station has a defined skill.
nlohmann::json station_summary_json(const StationScores& scores);

}  // namespace fusedrnn::tools
