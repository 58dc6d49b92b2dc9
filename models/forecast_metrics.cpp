#include "fusedrnn/models/forecast_metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <string>

#include <fmt/format.h>

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
    arc_.assign(2 * size_t(horizon_), 0.0);
    open_arc_.assign(2 * size_t(horizon_), 0.0);
}

void ForecastMetrics::enable_circular(int k, double period) {
    FR_CHECK(windows_ == 0, "ForecastMetrics: enable a circular variable before adding windows");
    FR_CHECK(k >= 0 && size_t(k) < targets_.size(), "ForecastMetrics: no target variable {} (of {})", k,
             targets_.size());
    FR_CHECK(std::isfinite(period) && period > 0, "ForecastMetrics: the period of a direction must be positive, got {}",
             period);
    circular_ = k;
    period_ = period;
}

void ForecastMetrics::enable_extremes(std::vector<double> percentiles) {
    FR_CHECK(windows_ == 0, "ForecastMetrics: enable extremes before adding windows");
    percentiles_ = std::move(percentiles);
    table_.assign(targets_.size() * percentiles_.size(), Contingency{});
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

// Adds the circular variable's arcs of n windows into arc (squared at [h], absolute at [H + h]): the error in the
// variable's unit (normalized difference × std; the mean cancels), taken round the circle the shorter way.
struct Arcs {
    int k = -1;  // the circular variable, -1: none
    size_t K = 0, H = 0;
    double scale = 0, period = 0;
};
void accumulate_arcs(const float* pred, const float* truth, long n, const Arcs& c, double* arc) {
    if (c.k < 0) return;
    const size_t hk = c.H * c.K;
    for (long b = 0; b < n; ++b)
        for (size_t h = 0; h < c.H; ++h) {
            const size_t i = size_t(b) * hk + h * c.K + size_t(c.k);
            double d = std::fabs(double(pred[i]) - double(truth[i])) * c.scale;
            if (d >= c.period) d = std::fmod(d, c.period);
            d = std::min(d, c.period - d);
            arc[h] += d * d;
            arc[c.H + h] += d;
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
    const size_t hk = se_.size(), na = arc_.size();
    const Arcs arcs{circular_, targets_.size(), size_t(horizon_), circular_ >= 0 ? stds_[size_t(circular_)] : 0.0,
                    period_};
    auto close_block = [&](const double* s, const double* a, const double* c) {
        for (size_t i = 0; i < hk; ++i) {
            se_[i] += s[i];
            ae_[i] += a[i];
        }
        for (size_t i = 0; i < na; ++i) arc_[i] += c[i];
    };
    auto accumulate = [&](long first, long n, double* s, double* a, double* c) {
        accumulate_errors(pred + size_t(first) * hk, truth + size_t(first) * hk, n, hk, s, a);
        accumulate_arcs(pred + size_t(first) * hk, truth + size_t(first) * hk, n, arcs, c);
    };
    long done = 0;
    if (open_windows_ > 0) {  // first finish the block the last call left open
        done = std::min(B, kBlockWindows - open_windows_);
        accumulate(0, done, open_se_.data(), open_ae_.data(), open_arc_.data());
        open_windows_ += done;
        if (open_windows_ == kBlockWindows) {
            close_block(open_se_.data(), open_ae_.data(), open_arc_.data());
            std::fill(open_se_.begin(), open_se_.end(), 0.0);
            std::fill(open_ae_.begin(), open_ae_.end(), 0.0);
            std::fill(open_arc_.begin(), open_arc_.end(), 0.0);
            open_windows_ = 0;
        }
    }
    const long blocks = (B - done) / kBlockWindows;
    if (blocks > 0) {
        const size_t stride = 2 * hk + na;  // per block: se [hk], ae [hk], arcs [na]
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
        accumulate(done, B - done, open_se_.data(), open_ae_.data(), open_arc_.data());
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

double ForecastMetrics::mse_circular() const {
    if (circular_ < 0) return std::nan("");
    double s = 0;
    for (size_t h = 0; h < size_t(horizon_); ++h) s += arc_[h] + open_arc_[h];
    return safe_div(s, double(windows_) * horizon_);
}
double ForecastMetrics::mae_circular() const {
    if (circular_ < 0) return std::nan("");
    double s = 0;
    for (size_t h = 0; h < size_t(horizon_); ++h) s += arc_[size_t(horizon_) + h] + open_arc_[size_t(horizon_) + h];
    return safe_div(s, double(windows_) * horizon_);
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
    if (circular_ >= 0) {
        per[targets_[size_t(circular_)]]["mse_circular"] = mse_circular();
        per[targets_[size_t(circular_)]]["mae_circular"] = mae_circular();
    }
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
