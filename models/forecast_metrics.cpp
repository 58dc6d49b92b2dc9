#include "models/forecast_metrics.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <string>

#include <fmt/format.h>

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

void ForecastMetrics::enable_extremes(std::vector<double> percentiles) {
    FR_CHECK(windows_ == 0, "ForecastMetrics: enable extremes before adding windows");
    percentiles_ = std::move(percentiles);
    table_.assign(targets_.size() * percentiles_.size(), Contingency{});
}

void ForecastMetrics::add(const float* pred, const float* truth, long B, const float* thresholds) {
    const size_t K = targets_.size(), P = percentiles_.size();
    FR_CHECK(P == 0 || thresholds, "ForecastMetrics: extreme-event thresholds are missing");
    for (long b = 0; b < B; ++b)
        for (int h = 0; h < horizon_; ++h)
            for (size_t k = 0; k < K; ++k) {
                const size_t i = (size_t(b) * horizon_ + h) * K + k;
                const double d = double(pred[i]) - double(truth[i]);
                se_[k] += d * d;
                ae_[k] += std::abs(d);
                se_lead_[size_t(h)] += d * d;
                for (size_t p = 0; p < P; ++p) {
                    const float thr = thresholds[(size_t(b) * K + k) * P + p];
                    if (std::isnan(thr)) continue;
                    const bool observed = truth[i] > thr, forecast = pred[i] > thr;
                    Contingency& c = table_[k * P + p];
                    if (observed) ++(forecast ? c.hits : c.misses);
                    else ++(forecast ? c.false_alarms : c.correct_negatives);
                }
            }
    windows_ += B;
}

double ForecastMetrics::sedi(int k, int p) const {
    const Contingency& c = table_[size_t(k) * percentiles_.size() + size_t(p)];
    const double H = double(c.hits) / double(c.hits + c.misses);
    const double F = double(c.false_alarms) / double(c.false_alarms + c.correct_negatives);
    if (!(H > 0 && H < 1 && F > 0 && F < 1)) return std::nan("");  // also NaN for 0/0
    const double lF = std::log(F), lH = std::log(H), l1F = std::log1p(-F), l1H = std::log1p(-H);
    return (lF - lH - l1F + l1H) / (lF + lH + l1F + l1H);
}

long ForecastMetrics::extreme_events(int k, int p) const {
    const Contingency& c = table_[size_t(k) * percentiles_.size() + size_t(p)];
    return c.hits + c.misses;
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
    if (has_extremes()) {
        // Per variable and percentile ("99.5"): SEDI where defined (left out otherwise) and the observed events.
        nlohmann::json by_var = nlohmann::json::object(), events = nlohmann::json::object();
        for (size_t k = 0; k < targets_.size(); ++k) {
            nlohmann::json sk = nlohmann::json::object(), ek = nlohmann::json::object();
            for (size_t p = 0; p < percentiles_.size(); ++p) {
                const std::string key = fmt::format("{:g}", percentiles_[p]);
                if (const double v = sedi(int(k), int(p)); std::isfinite(v)) sk[key] = v;
                ek[key] = extreme_events(int(k), int(p));
            }
            by_var[targets_[k]] = sk;
            events[targets_[k]] = ek;
        }
        j["sedi"] = by_var;
        j["extreme_events"] = events;
    }
    j["mse_by_lead"] = mse_by_lead();
    return j;
}

}  // namespace fusedrnn
