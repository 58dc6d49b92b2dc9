#include "models/forecast_metrics.h"

#include <cmath>

#include "core/error.h"

namespace fusedrnn {

ForecastMetrics::ForecastMetrics(std::vector<std::string> targets, std::vector<double> stds, int horizon)
    : targets_(std::move(targets)), stds_(std::move(stds)), horizon_(horizon) {
    FR_CHECK(targets_.size() == stds_.size() && !targets_.empty(), "ForecastMetrics: {} targets, {} stds",
             targets_.size(), stds_.size());
    FR_CHECK(horizon > 0, "ForecastMetrics: horizon must be positive");
    se_.assign(targets_.size(), 0.0);
    ae_.assign(targets_.size(), 0.0);
    se_lead_.assign(size_t(horizon), 0.0);
}

void ForecastMetrics::add(const float* pred, const float* truth, long B) {
    const size_t K = targets_.size();
    for (long b = 0; b < B; ++b)
        for (int h = 0; h < horizon_; ++h)
            for (size_t k = 0; k < K; ++k) {
                const size_t i = (size_t(b) * horizon_ + h) * K + k;
                const double d = double(pred[i]) - double(truth[i]);
                se_[k] += d * d;
                ae_[k] += std::abs(d);
                se_lead_[size_t(h)] += d * d;
            }
    windows_ += B;
}

namespace {
double safe_div(double a, double b) { return b > 0 ? a / b : std::nan(""); }
}  // namespace

double ForecastMetrics::mse() const {
    double s = 0;
    for (double v : se_) s += v;
    return safe_div(s, double(windows_) * horizon_ * double(targets_.size()));
}
double ForecastMetrics::mae() const {
    double s = 0;
    for (double v : ae_) s += v;
    return safe_div(s, double(windows_) * horizon_ * double(targets_.size()));
}
double ForecastMetrics::mse(int k) const { return safe_div(se_[size_t(k)], double(windows_) * horizon_); }
double ForecastMetrics::mae(int k) const { return safe_div(ae_[size_t(k)], double(windows_) * horizon_); }
double ForecastMetrics::mse_original(int k) const { return mse(k) * stds_[size_t(k)] * stds_[size_t(k)]; }
double ForecastMetrics::mae_original(int k) const { return mae(k) * stds_[size_t(k)]; }

double ForecastMetrics::mse_original_mean() const {
    double s = 0;
    for (size_t k = 0; k < targets_.size(); ++k) s += mse_original(int(k));
    return s / double(targets_.size());
}
double ForecastMetrics::mae_original_mean() const {
    double s = 0;
    for (size_t k = 0; k < targets_.size(); ++k) s += mae_original(int(k));
    return s / double(targets_.size());
}

std::vector<double> ForecastMetrics::mse_by_lead() const {
    std::vector<double> out;
    for (double v : se_lead_) out.push_back(safe_div(v, double(windows_) * double(targets_.size())));
    return out;
}

nlohmann::json ForecastMetrics::to_json() const {
    nlohmann::json j;
    j["windows"] = windows_;
    j["mse"] = mse();
    j["mae"] = mae();
    nlohmann::json per = nlohmann::json::object();
    for (size_t k = 0; k < targets_.size(); ++k)
        per[targets_[k]] = {{"mse", mse(int(k))},
                            {"mae", mae(int(k))},
                            {"mse_original", mse_original(int(k))},
                            {"mae_original", mae_original(int(k))}};
    j["per_variable"] = per;
    j["mse_original_mean"] = mse_original_mean();
    j["mae_original_mean"] = mae_original_mean();
    j["mse_by_lead"] = mse_by_lead();
    return j;
}

}  // namespace fusedrnn
