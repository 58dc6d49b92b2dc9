#include "fusedrnn/tools/forecast_report.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "fusedrnn/core/data/text.h"
#include "fusedrnn/core/data/wind_components.h"
#include "fusedrnn/core/error.h"
#include "fusedrnn/tools/atomic_write.h"
#include "fusedrnn/tools/progress.h"

namespace fusedrnn::tools {

namespace {

// A value in original units for a table column of `width`: three decimals, or three significant digits where
// those would show 0.000 (a variable in small units: an MSE of 6.9e-08 kg²/kg²) or would not fit the column (the
// MSE of a variable whose statistics a wild value wrecked, 1e74: 75 digits that push the table apart).
std::string original_units_cell(double v, int width) {
    const bool tiny = v != 0 && std::isfinite(v) && std::fabs(v) < 0.0005;
    const bool huge = std::isfinite(v) && std::fabs(v) >= 1e6;  // 1e6 with three decimals: 11 characters
    return tiny || huge ? fmt::format("{:>{}.3g}", v, width) : fmt::format("{:>{}.3f}", v, width);
}

// A normalized score for a column of `width`: four decimals, or four significant digits once it would not fit (a
// value standardized to 1e34 by a wild input gave a 70-digit MSE that pushed the table apart, QA).
std::string normalized_cell(double v, int width) {
    return std::isfinite(v) && std::fabs(v) >= 1e6 ? fmt::format("{:>{}.4g}", v, width)
                                                   : fmt::format("{:>{}.4f}", v, width);
}

// The report's sections, each over the model (m), persistence (p) and, where the window allows it, same-time-of-day
// persistence (d, null otherwise).
class ReportPrinter {
public:
    explicit ReportPrinter(const ForecastEvaluation& e)
        : m(*e.model), p(e.persistence), d(e.same_time_of_day ? &*e.same_time_of_day : nullptr) {}

    void normalized() const {
        header("normalized");
        const auto line = [&](const std::string& name, const auto& score_mse, const auto& score_mae) {
            fmt::print("{:<14}{}{}{}{}{}\n", name, normalized_cell(score_mse(m), 12), normalized_cell(score_mae(m), 12),
                       normalized_cell(score_mse(p), 16), normalized_cell(score_mae(p), 16),
                       d ? normalized_cell(score_mse(*d), 14) : "");
        };
        line("overall", [](const ForecastMetrics& x) { return x.mse(); },
             [](const ForecastMetrics& x) { return x.mae(); });
        for (size_t k = 0; k < m.targets().size(); ++k) {
            const int ki = int(k);
            line(m.targets()[k], [ki](const ForecastMetrics& x) { return x.mse(ki); },
                 [ki](const ForecastMetrics& x) { return x.mae(ki); });
        }
    }

    void original_units() const {
        header("original units");
        for (size_t k = 0; k < m.targets().size(); ++k) {
            const int ki = int(k);
            row(m.targets()[k], m.mse_original(ki), m.mae_original(ki), p.mse_original(ki), p.mae_original(ki),
                [ki](const ForecastMetrics& x) { return x.mse_original(ki); });
        }
        if (m.targets().size() > 1)  // WEATHER-5K's "Overall": the plain mean over the variables, mixed units
            row("mean of vars", m.mse_original_mean(), m.mae_original_mean(), p.mse_original_mean(),
                p.mae_original_mean(), [](const ForecastMetrics& x) { return x.mse_original_mean(); });
        if (!m.direction_from().empty()) wind();
    }

    void extremes() const {
        if (!m.has_extremes()) return;
        // WEATHER-5K's extreme-event score; "-" where undefined (no event, or every one caught or missed).
        const auto& pct = m.extreme_percentiles();
        fmt::print("SEDI, events above the station's training percentile: model (persistence)\n{:<14}", "");
        for (double q : pct) fmt::print("{:>18}", fmt::format("{:g}%", q));
        fmt::print("\n");
        auto cell = [](double v) { return std::isfinite(v) ? fmt::format("{:.3f}", v) : std::string("-"); };
        for (size_t k = 0; k < m.targets().size(); ++k) {
            fmt::print("{:<14}", m.targets()[k]);
            for (size_t q = 0; q < pct.size(); ++q)
                fmt::print("{:>18}", fmt::format("{} ({})", cell(m.sedi(int(k), int(q))), cell(p.sedi(int(k), int(q)))));
            fmt::print("\n");
        }
        // A "-" for want of thresholds is not a "-" for want of events (QA: a station with no training-split values
        // showed "-" throughout, unexplained).
        // Nor, where only some stations have training values (eval --on all over stations of later years too), may
        // their windows' values count in no event unsaid.
        std::vector<std::string> unscored, partly;
        std::vector<long> partly_counts;
        const long values = m.windows() * long(m.horizon());
        for (size_t k = 0; k < m.targets().size(); ++k) {
            const long scored = m.extreme_values_scored(int(k), 0);
            if (scored == 0) unscored.push_back(m.targets()[k]);
            else if (scored < values) {
                partly.push_back(fmt::format("{} {} of {}", m.targets()[k], values - scored, values));
                partly_counts.push_back(values - scored);
            }
        }
        if (partly.size() == m.targets().size() && partly.size() > 1 &&
            std::equal(partly_counts.begin() + 1, partly_counts.end(), partly_counts.begin()))
            partly = {fmt::format("{} of the {} values of each variable", partly_counts[0], values)};
        const bool all = unscored.size() == m.targets().size();
        if (!unscored.empty())
            // The model's training period: eval takes the checkpoint's, whatever --split or --on (QA's recheck: "the
            // training split" read as the --split just given, which had values).
            fmt::print("  {}no threshold, so no events: none of the evaluated windows' stations has {} in the model's "
                       "training period to take percentiles of\n",
                       all ? "" : fmt::format("{}: ", fmt::join(unscored, ", ")),
                       all ? "values" : unscored.size() == 1 ? "a value of it" : "values of them");
        if (!partly.empty())
            fmt::print("  values with no threshold, counted in no event (their stations have none of the variable in "
                       "the model's training period): {}\n", fmt::join(partly, ", "));
    }

    // How the error grows with lead time: five lead times spread over the horizon (all of them when fewer).
    void by_lead(const data::WindowSpec& window) const {
        const auto lm = m.mse_by_lead(), lp = p.mse_by_lead();
        std::vector<size_t> leads;
        for (int q = 0; q <= 4; ++q) {
            const size_t h = (lm.size() - 1) * size_t(q) / 4;
            if (leads.empty() || leads.back() != h) leads.push_back(h);
        }
        std::string text;
        for (size_t h : leads)
            text += fmt::format(" | +{} {} ({})", int64_t(window.out_offset) + int64_t(h) * window.out_step,
                                normalized_cell(lm[h], 0), normalized_cell(lp[h], 0));
        fmt::print("normalized MSE by lead time, steps ahead (persistence){}\n", text);
    }

    void skill() const {
        // A baseline with no error (a constant series) leaves the skill undefined: say so, not "-inf" or "nan".
        auto against = [&](double baseline) {
            return baseline > 0 ? fmt::format("{:.3f}", 1.0 - m.mse() / baseline)
                                : std::string("undefined (the baseline's MSE is 0)");
        };
        fmt::print("skill vs persistence (1 - MSE/MSE_persistence): {}", against(p.mse()));
        if (d) fmt::print("; vs same-time-of-day persistence: {}", against(d->mse()));
        fmt::print("\n");
    }

private:
    void header(const char* first) const {
        fmt::print("{:<14}{:>12}{:>12}{:>16}{:>16}{}\n", first, "MSE", "MAE", "persistence MSE", "persistence MAE",
                   d ? fmt::format("{:>14}", "same-time MSE") : "");
    }

    // A row in original units; same_time picks the same-time-of-day baseline's MSE, when there is one.
    template <class SameTime>
    void row(const std::string& name, double mse, double mae, double pmse, double pmae, SameTime same_time) const {
        fmt::print("{:<14}{}{}{}{}{}\n", name, original_units_cell(mse, 12), original_units_cell(mae, 12),
                   original_units_cell(pmse, 16), original_units_cell(pmae, 16),
                   d ? original_units_cell(same_time(*d), 14) : "");
    }

    // The wind's direction round the compass (and its speed, from the components), with a note on how it is scored.
    void wind() const {
        const auto from = m.direction_from();
        row("direction arc", m.mse_direction(), m.mae_direction(), p.mse_direction(), p.mae_direction(),
            [](const ForecastMetrics& x) { return x.mse_direction(); });
        if (from.size() == 2) {
            row("speed", m.mse_speed(), m.mae_speed(), p.mse_speed(), p.mae_speed(),
                [](const ForecastMetrics& x) { return x.mse_speed(); });
            fmt::print("(direction and speed of the wind from {} and {}; the direction's error taken the shorter way "
                       "round the compass, 350° for 10° a 20° miss", from[0], from[1]);
        } else {
            fmt::print("(direction arc: {}'s error the shorter way round the compass, 350° for 10° a 20° miss; its "
                       "row above counts 340°, as WEATHER-5K does", from[0]);
        }
        // An observed calm has no direction: its hours are left out, as wind-direction verification does.
        if (m.tells_calms()) {
            fmt::print("; {} observed calm {} left out, {} scored)\n", m.calms_left_out(),
                       m.calms_left_out() == 1 ? "value" : "values", m.direction_scored());
            return;
        }
        // No speed among the targets, or none to un-normalize it with: a calm scores as its file writes it.
        const auto& t = m.targets();
        const bool has_speed = std::find(t.begin(), t.end(), data::kWindSpeed) != t.end();
        const std::string why = has_speed ? fmt::format("without {}'s mean (this dataset gives none)", data::kWindSpeed)
                                          : fmt::format("without {} among the targets", data::kWindSpeed);
        fmt::print("; calms cannot be told {}: every value scored, a calm at the direction its file gives it, 0° in "
                   "ISD-Lite's)\n", why);
    }

    const ForecastMetrics& m;
    const ForecastMetrics& p;
    const ForecastMetrics* d;
};

}  // namespace

void print_forecast_report(const std::string& split, const ForecastEvaluation& e, const data::WindowSpec& window,
                           const std::string& units) {
    FR_CHECK(e.model, "print_forecast_report: no model metrics");
    const ForecastMetrics& m = *e.model;
    fmt::print("\n{} set: {}, horizon {}, {}\n", split, data::counted(size_t(m.windows()), "window", "windows"),
               data::counted(m.mse_by_lead().size(), "step", "steps"),
               data::counted(m.targets().size(), "target variable", "target variables"));
    const ReportPrinter report(e);
    report.normalized();
    // Said where the files' own units differ (QA: LCD's TMP in °C was headed "original units" only, as if °F).
    if (!units.empty()) fmt::print("original units here: {}\n", units);
    report.original_units();
    report.extremes();
    report.by_lead(window);
    report.skill();
    if (!e.same_time_of_day_absent.empty())
        fmt::print("no same-time-of-day persistence: {}\n", e.same_time_of_day_absent);
}

nlohmann::json forecast_report_json(const ForecastEvaluation& e) {
    FR_CHECK(e.model, "forecast_report_json: no model metrics");
    const ForecastMetrics& m = *e.model;
    nlohmann::json j = {{"model", m.to_json()}, {"persistence", e.persistence.to_json()},
                        {"skill_mse", 1.0 - m.mse() / e.persistence.mse()}};
    if (e.same_time_of_day) {
        j["persistence_same_time_of_day"] = e.same_time_of_day->to_json();
        j["skill_mse_same_time_of_day"] = 1.0 - m.mse() / e.same_time_of_day->mse();
    } else if (!e.same_time_of_day_absent.empty()) {
        j["persistence_same_time_of_day_absent"] = e.same_time_of_day_absent;
    }
    return j;
}

void write_json_file(const std::string& path, const nlohmann::json& j) { write_file_atomically(path, j.dump(2) + "\n"); }

}  // namespace fusedrnn::tools
