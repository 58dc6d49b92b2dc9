// fusedrnn — a forecast evaluation scored station by station: which stations the model forecasts well, which
// worse than persistence. Fed by the evaluation's sink (models/forecast_evaluation.h), window by window.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "fusedrnn/core/data/station_series.h"
#include "fusedrnn/models/forecast_evaluation.h"

namespace fusedrnn {

class StationScores {
public:
    // stations: the evaluated data's stations (windows are mapped to them by their start row); targets and stds:
    // the K predicted variables and their standard deviations (for original units); horizon: lead times.
    StationScores(const data::StationSet& stations, std::vector<std::string> targets, std::vector<double> stds,
                  int horizon);

    // One evaluated batch; it must carry the model's forecasts and the persistence baseline's.
    void add(const EvaluatedBatch& batch);

    struct Row {
        std::string station;
        long windows = 0;
        double mse = 0, mae = 0;   // the model's, normalized, over every variable and lead time
        double persistence_mse = 0;
        double skill = 0;          // 1 - mse / persistence_mse (NaN when persistence is exact)
        std::vector<double> rmse, persistence_rmse;  // per variable, in original units
    };
    // The stations that had at least one window, in the data's order.
    std::vector<Row> rows() const;
    const std::vector<std::string>& targets() const { return targets_; }

private:
    const data::StationSet& stations_;
    std::vector<std::string> targets_;
    std::vector<double> stds_;
    int horizon_;
    struct Sums {
        long windows = 0;
        std::vector<double> se, ae, persistence_se;  // per variable, normalized
    };
    std::vector<Sums> sums_;  // per station
};

}  // namespace fusedrnn
