// fusedrnn — forecast metrics: MSE and MAE on normalized data, overall and per target variable, and
// per variable in original units (errors scale by the variable's standard deviation).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace fusedrnn {

class ForecastMetrics {
public:
    // targets: names of the K target variables; stds: their standard deviations (for original units).
    ForecastMetrics(std::vector<std::string> targets, std::vector<double> stds, int horizon);

    // pred, truth: [B, horizon·K] normalized, row-major (h-major within a row, as gather_windows writes).
    void add(const float* pred, const float* truth, long B);
    long windows() const { return windows_; }

    double mse() const;  // normalized, over all variables and horizons
    double mae() const;
    double mse(int k) const;  // normalized, variable k
    double mae(int k) const;
    double mse_original(int k) const;  // in the variable's unit²
    double mae_original(int k) const;  // in the variable's unit
    // The mean over the variables of mse_original / mae_original: WEATHER-5K's "Overall" in physical units
    // (mixed units, dominated by the largest: wind direction in degrees there).
    double mse_original_mean() const;
    double mae_original_mean() const;
    // Normalized MSE per lead time h (0-based), averaged over variables.
    std::vector<double> mse_by_lead() const;

    nlohmann::json to_json() const;
    const std::vector<std::string>& targets() const { return targets_; }

private:
    std::vector<std::string> targets_;
    std::vector<double> stds_;
    int horizon_;
    long windows_ = 0;
    std::vector<double> se_, ae_;  // per variable sums
    std::vector<double> se_lead_;  // per lead sums
};

}  // namespace fusedrnn
