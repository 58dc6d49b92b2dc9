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

    // Also count extreme events: a value above its window's station threshold at each percentile (see
    // core/data/extremes.h), for SEDI. Call before the first add().
    void enable_extremes(std::vector<double> percentiles);
    bool has_extremes() const { return !percentiles_.empty(); }
    const std::vector<double>& extreme_percentiles() const { return percentiles_; }

    // Also score wind direction the shorter way round the compass: a forecast of 350° for 10° misses by 20°, where
    // mse_original and mae_original of a direction regressed as a number (WEATHER-5K's way) count 340°. Either
    // from variable k, the direction in degrees, or from the wind's components ku (eastward) and kv (northward;
    // core/data/wind_components.h), whose means un-normalize them — then the speed is scored too. Call one of
    // them before the first add().
    // An observed calm has no direction, so its values (window × lead time) are left out of the direction's scores
    // (as wind-direction verification does; the speed is still scored there): a speed under data::kCalmSpeed, from
    // the components, or with a direction from the speed variable `speed_k` (its mean un-normalizes it). Without
    // speed_k (-1) a calm cannot be told (ISD-Lite writes its direction as 0°, north), and every value is scored.
    void score_direction(int k, int speed_k = -1, double mean_speed = 0);
    void score_direction_from_components(int ku, int kv, double mean_u, double mean_v);
    // The target names the direction is scored from (empty: not scored).
    std::vector<std::string> direction_from() const;
    double mse_direction() const;  // degrees²; NaN when not scored (or every observed hour was calm)
    double mae_direction() const;  // degrees
    bool tells_calms() const { return wind_u_ >= 0 || wind_speed_ >= 0; }
    long direction_scored() const;  // the values (window × lead time) the direction's scores are over
    long calms_left_out() const;    // the observed calms left out of them (0 unless tells_calms())
    double mse_speed() const;       // from the components, in their unit²; NaN otherwise
    double mae_speed() const;

    // pred, truth: [B, horizon·K] normalized, row-major (h-major within a row, as gather_windows writes).
    // thresholds: with extremes enabled, [B, K, P] — each window's station thresholds (NaN: none).
    // The windows are folded in blocks of kBlockWindows counted from the first window ever added, the blocks in
    // parallel (OpenMP) and their sums in block order: the figures have the same bits whatever the thread count
    // and however the windows are split into add() calls (batch sizes).
    void add(const float* pred, const float* truth, long B, const float* thresholds = nullptr);
    static constexpr long kBlockWindows = 64;
    long windows() const { return windows_; }
    int horizon() const { return horizon_; }

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
    // Symmetric Extremal Dependence Index (Ferro & Stephenson 2011) of variable k at percentile index p, over
    // every lead time: (ln F − ln H − ln(1−F) + ln(1−H)) / (ln F + ln H + ln(1−F) + ln(1−H)) with hit rate H and
    // false-alarm rate F; 1 is perfect, 0 no skill. NaN when undefined (H or F is 0 or 1, e.g. no events).
    double sedi(int k, int p) const;
    long extreme_events(int k, int p) const;  // observed events
    // Values of variable k compared with a threshold at percentile index p: 0 where no evaluated window's station has
    // a training-split value of k to take the percentile of (then no event can be counted).
    long extreme_values_scored(int k, int p) const;

    nlohmann::json to_json() const;
    const std::vector<std::string>& targets() const { return targets_; }

private:
    std::vector<std::string> targets_;
    std::vector<double> stds_;
    int horizon_;
    long windows_ = 0;
    // Error sums per (lead h, variable k), index h·K + k: the closed blocks' (summed in block order) and the open
    // block's, which the next add() continues. Per variable and per lead time sums are taken from these.
    std::vector<double> se_, ae_, open_se_, open_ae_;
    // The same for the wind direction's arcs and (from components) the speed's errors, per lead time h: squared arcs
    // [h], absolute arcs [H + h], squared speed errors [2H + h], absolute [3H + h], and the arcs scored (the values
    // not observed calm) [4H + h].
    std::vector<double> wind_, open_wind_;
    static constexpr size_t kWindParts = 5;
    int direction_ = -1, wind_u_ = -1, wind_v_ = -1, wind_speed_ = -1;  // the scored columns (-1: none)
    double mean_u_ = 0, mean_v_ = 0, mean_speed_ = 0;
    double wind_sum(int part) const;  // part 0..4 of wind_ over every lead time
    long open_windows_ = 0;
    double sum_se(size_t i) const { return se_[i] + open_se_[i]; }
    double sum_ae(size_t i) const { return ae_[i] + open_ae_[i]; }
    double se_of_variable(size_t k) const;
    double ae_of_variable(size_t k) const;
    void count_extremes(const float* pred, const float* truth, long B, const float* thresholds);
    std::vector<double> percentiles_;
    struct Contingency {
        long hits = 0, false_alarms = 0, misses = 0, correct_negatives = 0;
    };
    std::vector<Contingency> table_;  // [K, P]; counts are exact, so their order of addition does not matter
};

}  // namespace fusedrnn
