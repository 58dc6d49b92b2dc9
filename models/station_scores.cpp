#include "fusedrnn/models/station_scores.h"

#include <cmath>
#include <limits>

#include "fusedrnn/core/error.h"

namespace fusedrnn {

StationScores::StationScores(const data::StationSet& stations, std::vector<std::string> targets,
                             std::vector<double> stds, int horizon)
    : stations_(stations), targets_(std::move(targets)), stds_(std::move(stds)), horizon_(horizon) {
    FR_CHECK(targets_.size() == stds_.size() && !targets_.empty() && horizon_ > 0,
             "station scores: {} targets, {} standard deviations, horizon {}", targets_.size(), stds_.size(), horizon_);
    const size_t K = targets_.size();
    sums_.assign(size_t(stations_.num_stations()), Sums{0, std::vector<double>(K), std::vector<double>(K),
                                                        std::vector<double>(K)});
}

void StationScores::add(const EvaluatedBatch& batch) {
    FR_CHECK(batch.forecast && batch.persistence,
             "station scores need the model's forecasts and the persistence baseline's of every window");
    const size_t K = targets_.size(), per_window = size_t(horizon_) * K;
    for (size_t b = 0; b < batch.starts.size(); ++b) {
        Sums& s = sums_[size_t(stations_.station_of_row(batch.starts[b]))];
        const float* f = batch.forecast + b * per_window;
        const float* p = batch.persistence + b * per_window;
        const float* y = batch.truth + b * per_window;
        for (size_t i = 0; i < per_window; ++i) {
            const size_t k = i % K;
            const double e = double(f[i]) - double(y[i]), pe = double(p[i]) - double(y[i]);
            s.se[k] += e * e;
            s.ae[k] += std::fabs(e);
            s.persistence_se[k] += pe * pe;
        }
        ++s.windows;
    }
}

std::vector<StationScores::Row> StationScores::rows() const {
    std::vector<Row> out;
    const size_t K = targets_.size();
    for (size_t st = 0; st < sums_.size(); ++st) {
        const Sums& s = sums_[st];
        if (s.windows == 0) continue;
        Row r;
        r.station = stations_.stations[st].id;
        r.windows = s.windows;
        const double per_variable = double(s.windows) * horizon_;  // values of one variable
        double se = 0, ae = 0, pse = 0;
        for (size_t k = 0; k < K; ++k) {
            se += s.se[k];
            ae += s.ae[k];
            pse += s.persistence_se[k];
            r.rmse.push_back(std::sqrt(s.se[k] / per_variable) * stds_[k]);
            r.persistence_rmse.push_back(std::sqrt(s.persistence_se[k] / per_variable) * stds_[k]);
        }
        const double values = per_variable * double(K);
        r.mse = se / values;
        r.mae = ae / values;
        r.persistence_mse = pse / values;
        r.skill = r.persistence_mse > 0 ? 1.0 - r.mse / r.persistence_mse : std::numeric_limits<double>::quiet_NaN();
        out.push_back(std::move(r));
    }
    return out;
}

}  // namespace fusedrnn
