#include "fusedrnn/models/forecast_metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <string>

#include <fmt/format.h>

#include "fusedrnn/core/data/wind_components.h"
#include "fusedrnn/core/error.h"

namespace fusedrnn {

ForecastMetrics::ForecastMetrics(std::vector<std::string> targets, std::vector<double> stds, int horizon)
    : targets_(std::move(targets)), stds_(std::move(stds)), horizon_(horizon) {
    FR_CHECK(targets_.size() == stds_.size() && !targets_.empty(), "ForecastMetrics: {} targets, {} stds",
             targets_.size(), stds_.size());
    FR_CHECK(horizon > 0, "ForecastMetrics: horizon must be positive");
    const size_t hk = size_t(horizon_) * targets_.size();
    se_.assign(hk, 0.0);
    ae_.assign(hk, 0.0);
    open_se_.assign(hk, 0.0);
    open_ae_.assign(hk, 0.0);
    wind_.assign(kWindParts * size_t(horizon_), 0.0);
    open_wind_.assign(kWindParts * size_t(horizon_), 0.0);
}

void ForecastMetrics::enable_extremes(std::vector<double> percentiles) {
    FR_CHECK(windows_ == 0, "ForecastMetrics: enable extremes before adding windows");
    percentiles_ = std::move(percentiles);
    table_.assign(targets_.size() * percentiles_.size(), Contingency{});
}

void ForecastMetrics::score_direction(int k, int speed_k, double mean_speed) {
    FR_CHECK(windows_ == 0 && direction_ < 0 && wind_u_ < 0,
             "ForecastMetrics: score the wind direction once, before adding windows");
    const int K = int(targets_.size());
    FR_CHECK(k >= 0 && k < K, "ForecastMetrics: no target variable {} (of {})", k, K);
    FR_CHECK(speed_k == -1 || (speed_k >= 0 && speed_k < K && speed_k != k),
             "ForecastMetrics: wind speed {} is not another of the {} target variables", speed_k, K);
    FR_CHECK(std::isfinite(mean_speed), "ForecastMetrics: the speed's mean must be finite");
    direction_ = k;
    wind_speed_ = speed_k;
    mean_speed_ = mean_speed;
}

void ForecastMetrics::score_direction_from_components(int ku, int kv, double mean_u, double mean_v) {
    FR_CHECK(windows_ == 0 && direction_ < 0 && wind_u_ < 0,
             "ForecastMetrics: score the wind direction once, before adding windows");
    const int K = int(targets_.size());
    FR_CHECK(ku >= 0 && ku < K && kv >= 0 && kv < K && ku != kv,
             "ForecastMetrics: wind components {} and {} are not two of the {} target variables", ku, kv, K);
    FR_CHECK(std::isfinite(mean_u) && std::isfinite(mean_v), "ForecastMetrics: the components' means must be finite");
    wind_u_ = ku;
    wind_v_ = kv;
    mean_u_ = mean_u;
    mean_v_ = mean_v;
}

namespace {
// Adds the squared and absolute errors of n windows (rows of hk = horizon·K values) into se and ae, window by
// window. One contiguous loop per window: it vectorizes, where a loop that sums per variable would not.
void accumulate_errors(const float* pred, const float* truth, long n, size_t hk, double* se, double* ae) {
    for (long b = 0; b < n; ++b) {
        const float* p = pred + size_t(b) * hk;
        const float* t = truth + size_t(b) * hk;
#pragma omp simd
        for (size_t i = 0; i < hk; ++i) {
            const double d = double(p[i]) - double(t[i]);
            se[i] += d * d;
            ae[i] += std::abs(d);
        }
    }
}

// The smaller of the two arcs between two directions a and b (degrees), whatever turns lie between them.
double arc_between(double a, double b) {
    double d = std::fabs(a - b);
    if (d >= 360) d = std::fmod(d, 360.0);
    return std::min(d, 360 - d);
}

// How the wind is scored: from a direction column, or from the two components (un-normalized: the direction and
// speed depend on the values, not only their differences).
struct WindScoring {
    int direction = -1, u = -1, v = -1, speed = -1;  // columns; -1: none
    size_t K = 0, H = 0;
    double std_direction = 0, mean_u = 0, std_u = 0, mean_v = 0, std_v = 0, mean_speed = 0, std_speed = 0;
};

// Adds n windows' wind errors into wind (squared arcs [h], absolute arcs [H + h]; from components also the speed's
// squared [2H + h] and absolute [3H + h] errors; the arcs scored [4H + h]). An observed calm's arc is left out.
void accumulate_wind(const float* pred, const float* truth, long n, const WindScoring& w, double* wind) {
    if (w.direction < 0 && w.u < 0) return;
    const size_t hk = w.H * w.K;
    for (long b = 0; b < n; ++b)
        for (size_t h = 0; h < w.H; ++h) {
            const size_t i = size_t(b) * hk + h * w.K;
            double arc = 0;
            if (w.direction >= 0) {  // the mean cancels in a difference of directions
                if (w.speed >= 0 && double(truth[i + size_t(w.speed)]) * w.std_speed + w.mean_speed < data::kCalmSpeed)
                    continue;
                const size_t j = i + size_t(w.direction);
                arc = arc_between(double(pred[j]) * w.std_direction, double(truth[j]) * w.std_direction);
            } else {
                const double pu = double(pred[i + size_t(w.u)]) * w.std_u + w.mean_u;
                const double pv = double(pred[i + size_t(w.v)]) * w.std_v + w.mean_v;
                const double tu = double(truth[i + size_t(w.u)]) * w.std_u + w.mean_u;
                const double tv = double(truth[i + size_t(w.v)]) * w.std_v + w.mean_v;
                const double ps = std::hypot(pu, pv), ts = std::hypot(tu, tv);
                const double speed = ps - ts;
                wind[2 * w.H + h] += speed * speed;
                wind[3 * w.H + h] += std::fabs(speed);
                if (ts < data::kCalmSpeed) continue;
                // A forecast calm's direction is north (data::wind_direction_or_calm), as the readers write it.
                arc = arc_between(data::wind_direction_or_calm(pu, pv), data::wind_direction(tu, tv));
            }
            wind[h] += arc * arc;
            wind[w.H + h] += arc;
            wind[4 * w.H + h] += 1;
        }
}

// Below this many windows a parallel region costs more than it saves.
constexpr long kParallelWindows = 256;
}  // namespace

void ForecastMetrics::add(const float* pred, const float* truth, long B, const float* thresholds) {
    FR_CHECK(B >= 0 && B <= std::numeric_limits<int>::max(), "ForecastMetrics: {} windows in one add()", B);
    FR_CHECK(percentiles_.empty() || thresholds, "ForecastMetrics: extreme-event thresholds are missing");
    if (B == 0) return;
    if (!percentiles_.empty()) count_extremes(pred, truth, B, thresholds);
    const size_t hk = se_.size(), na = wind_.size();
    auto std_of = [&](int k) { return k >= 0 ? stds_[size_t(k)] : 0.0; };
    WindScoring wind;
    wind.direction = direction_;
    wind.u = wind_u_;
    wind.v = wind_v_;
    wind.speed = wind_speed_;
    wind.K = targets_.size();
    wind.H = size_t(horizon_);
    wind.std_direction = std_of(direction_);
    wind.mean_u = mean_u_;
    wind.std_u = std_of(wind_u_);
    wind.mean_v = mean_v_;
    wind.std_v = std_of(wind_v_);
    wind.mean_speed = mean_speed_;
    wind.std_speed = std_of(wind_speed_);
    auto close_block = [&](const double* s, const double* a, const double* c) {
        for (size_t i = 0; i < hk; ++i) {
            se_[i] += s[i];
            ae_[i] += a[i];
        }
        for (size_t i = 0; i < na; ++i) wind_[i] += c[i];
    };
    auto accumulate = [&](long first, long n, double* s, double* a, double* c) {
        accumulate_errors(pred + size_t(first) * hk, truth + size_t(first) * hk, n, hk, s, a);
        accumulate_wind(pred + size_t(first) * hk, truth + size_t(first) * hk, n, wind, c);
    };
    long done = 0;
    if (open_windows_ > 0) {  // first finish the block the last call left open
        done = std::min(B, kBlockWindows - open_windows_);
        accumulate(0, done, open_se_.data(), open_ae_.data(), open_wind_.data());
        open_windows_ += done;
        if (open_windows_ == kBlockWindows) {
            close_block(open_se_.data(), open_ae_.data(), open_wind_.data());
            std::fill(open_se_.begin(), open_se_.end(), 0.0);
            std::fill(open_ae_.begin(), open_ae_.end(), 0.0);
            std::fill(open_wind_.begin(), open_wind_.end(), 0.0);
            open_windows_ = 0;
        }
    }
    const long blocks = (B - done) / kBlockWindows;
    if (blocks > 0) {
        const size_t stride = 2 * hk + na;  // per block: se [hk], ae [hk], wind [na]
        std::vector<double> sums(size_t(blocks) * stride, 0.0);
#pragma omp parallel for schedule(static) if (blocks * kBlockWindows >= kParallelWindows)
        for (long j = 0; j < blocks; ++j) {
            double* s = sums.data() + size_t(j) * stride;
            accumulate(done + j * kBlockWindows, kBlockWindows, s, s + hk, s + 2 * hk);
        }
        for (long j = 0; j < blocks; ++j) {
            const double* s = sums.data() + size_t(j) * stride;
            close_block(s, s + hk, s + 2 * hk);
        }
        done += blocks * kBlockWindows;
    }
    if (done < B) {  // the rest opens a block
        accumulate(done, B - done, open_se_.data(), open_ae_.data(), open_wind_.data());
        open_windows_ = B - done;
    }
    windows_ += B;
}

// Per (lead time, variable) and percentile: how many values were observed above the window's threshold, forecast
// above it, both, and had a threshold at all (NaN: the station has none); the table's four cells follow from those.
// Contiguous loops over each window's horizon·K values, so they vectorize. Integer counts are exact in any order,
// so each thread keeps its own (int: add() takes at most INT_MAX windows) and they are added up at the end.
void ForecastMetrics::count_extremes(const float* pred, const float* truth, long B, const float* thresholds) {
    const size_t K = targets_.size(), P = percentiles_.size(), hk = se_.size();
#pragma omp parallel if (B >= kParallelWindows)
    {
        // One window's threshold at each of its values, [P, hk]: the K thresholds repeated over the lead times, by
        // doubling copies (a vector load right after scalar stores to its lanes stalls). Windows in a batch mostly
        // come from one station, and then the row is kept.
        std::vector<float> thr(P * hk);
        const float* row_of = nullptr;  // the [K, P] thresholds thr holds
        std::vector<int> observed(P * hk), forecast(P * hk), both(P * hk), counted(P * hk);  // [P, hk]
#pragma omp for schedule(static)
        for (long b = 0; b < B; ++b) {
            const float* window_thresholds = thresholds + size_t(b) * K * P;  // [K, P]
            if (!row_of || !std::equal(window_thresholds, window_thresholds + K * P, row_of)) {
                for (size_t p = 0; p < P; ++p) {
                    float* t = thr.data() + p * hk;
                    for (size_t k = 0; k < K; ++k) t[k] = window_thresholds[k * P + p];
                    for (size_t done = K; done < hk; done *= 2) std::copy_n(t, std::min(done, hk - done), t + done);
                }
                row_of = window_thresholds;
            }
            const float* p_row = pred + size_t(b) * hk;
            const float* t_row = truth + size_t(b) * hk;
            for (size_t p = 0; p < P; ++p) {
                const float* t_p = thr.data() + p * hk;
                int* o_acc = observed.data() + p * hk;
                int* f_acc = forecast.data() + p * hk;
                int* b_acc = both.data() + p * hk;
                int* c_acc = counted.data() + p * hk;
#pragma omp simd
                for (size_t i = 0; i < hk; ++i) {
                    const int o = t_row[i] > t_p[i], f = p_row[i] > t_p[i];  // false for a NaN threshold
                    o_acc[i] += o;
                    f_acc[i] += f;
                    b_acc[i] += o & f;
                    c_acc[i] += t_p[i] == t_p[i];
                }
            }
        }
#pragma omp critical(fusedrnn_forecast_metrics_extremes)
        for (size_t p = 0; p < P; ++p)
            for (size_t i = 0; i < hk; ++i) {
                const size_t j = p * hk + i;
                Contingency& c = table_[(i % K) * P + p];  // i = h·K + k
                c.hits += both[j];
                c.misses += observed[j] - both[j];
                c.false_alarms += forecast[j] - both[j];
                c.correct_negatives += counted[j] - observed[j] - forecast[j] + both[j];
            }
    }
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

long ForecastMetrics::extreme_values_scored(int k, int p) const {
    const Contingency& c = table_[size_t(k) * percentiles_.size() + size_t(p)];
    return c.hits + c.misses + c.false_alarms + c.correct_negatives;
}

namespace {
double safe_div(double a, double b) { return b > 0 ? a / b : std::nan(""); }
}  // namespace

double ForecastMetrics::se_of_variable(size_t k) const {
    double s = 0;
    for (size_t i = k; i < se_.size(); i += targets_.size()) s += sum_se(i);
    return s;
}
double ForecastMetrics::ae_of_variable(size_t k) const {
    double s = 0;
    for (size_t i = k; i < ae_.size(); i += targets_.size()) s += sum_ae(i);
    return s;
}

double ForecastMetrics::mse() const {
    double s = 0;
    for (size_t k = 0; k < targets_.size(); ++k) s += se_of_variable(k);
    return safe_div(s, double(windows_) * horizon_ * double(targets_.size()));
}
double ForecastMetrics::mae() const {
    double s = 0;
    for (size_t k = 0; k < targets_.size(); ++k) s += ae_of_variable(k);
    return safe_div(s, double(windows_) * horizon_ * double(targets_.size()));
}
double ForecastMetrics::mse(int k) const { return safe_div(se_of_variable(size_t(k)), double(windows_) * horizon_); }
double ForecastMetrics::mae(int k) const { return safe_div(ae_of_variable(size_t(k)), double(windows_) * horizon_); }
double ForecastMetrics::mse_original(int k) const { return mse(k) * stds_[size_t(k)] * stds_[size_t(k)]; }
double ForecastMetrics::mae_original(int k) const { return mae(k) * stds_[size_t(k)]; }

std::vector<std::string> ForecastMetrics::direction_from() const {
    if (direction_ >= 0) return {targets_[size_t(direction_)]};
    if (wind_u_ >= 0) return {targets_[size_t(wind_u_)], targets_[size_t(wind_v_)]};
    return {};
}

double ForecastMetrics::wind_sum(int part) const {
    double s = 0;
    for (size_t h = 0; h < size_t(horizon_); ++h) {
        const size_t i = size_t(part) * size_t(horizon_) + h;
        s += wind_[i] + open_wind_[i];
    }
    return s;
}

long ForecastMetrics::direction_scored() const { return long(wind_sum(4)); }  // counts: exact in a double
long ForecastMetrics::calms_left_out() const {
    return direction_from().empty() ? 0 : windows_ * horizon_ - direction_scored();
}
double ForecastMetrics::mse_direction() const {
    return direction_from().empty() ? std::nan("") : safe_div(wind_sum(0), double(direction_scored()));
}
double ForecastMetrics::mae_direction() const {
    return direction_from().empty() ? std::nan("") : safe_div(wind_sum(1), double(direction_scored()));
}
double ForecastMetrics::mse_speed() const {
    return wind_u_ < 0 ? std::nan("") : safe_div(wind_sum(2), double(windows_) * horizon_);
}
double ForecastMetrics::mae_speed() const {
    return wind_u_ < 0 ? std::nan("") : safe_div(wind_sum(3), double(windows_) * horizon_);
}

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
    const size_t K = targets_.size();
    std::vector<double> out;
    for (size_t h = 0; h < size_t(horizon_); ++h) {
        double s = 0;
        for (size_t k = 0; k < K; ++k) s += sum_se(h * K + k);
        out.push_back(safe_div(s, double(windows_) * double(K)));
    }
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
    if (!direction_from().empty()) {
        nlohmann::json w = {{"from", direction_from()}, {"mse_arc", mse_direction()}, {"mae_arc", mae_direction()},
                            {"scored", direction_scored()}};
        if (tells_calms()) w["calms_left_out"] = calms_left_out();
        if (wind_u_ >= 0) {
            w["speed_mse"] = mse_speed();
            w["speed_mae"] = mae_speed();
        }
        j["wind_direction"] = w;
    }
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
