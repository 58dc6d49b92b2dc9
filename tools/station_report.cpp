#include "fusedrnn/tools/station_report.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "fusedrnn/core/data/text.h"
#include "fusedrnn/tools/atomic_write.h"

namespace fusedrnn::tools {

namespace {

std::string number(double v, int decimals) {
    return std::isfinite(v) ? fmt::format("{:.{}f}", v, decimals) : std::string();  // empty cell: undefined
}

// Value at fraction q of sorted values (linear interpolation between neighbours).
double quantile(const std::vector<double>& sorted, double q) {
    const double pos = q * double(sorted.size() - 1);
    const size_t lo = size_t(pos), hi = std::min(lo + 1, sorted.size() - 1);
    return sorted[lo] + (pos - double(lo)) * (sorted[hi] - sorted[lo]);
}

}  // namespace

void write_station_scores(const std::string& path, const StationScores& scores) {
    AtomicFile file(path);
    std::string line = "station,windows,mse,mae,persistence_mse,skill";
    for (const auto& t : scores.targets())
        line += fmt::format(",{},{}", data::csv_field(t + "_rmse"), data::csv_field(t + "_persistence_rmse"));
    file.stream() << line << '\n';
    for (const auto& r : scores.rows()) {
        line = fmt::format("{},{},{},{},{},{}", data::csv_field(r.station), r.windows, number(r.mse, 5), number(r.mae, 5),
                           number(r.persistence_mse, 5), number(r.skill, 4));
        for (size_t k = 0; k < r.rmse.size(); ++k)
            line += fmt::format(",{},{}", number(r.rmse[k], 4), number(r.persistence_rmse[k], 4));
        file.stream() << line << '\n';
    }
    file.commit();
}

namespace {

// What the printed summary and the JSON say: skill's spread over the stations, and the lowest few.
struct Summary {
    size_t stations = 0;
    std::vector<double> skills;               // defined ones, sorted
    long worse = 0;                           // stations below persistence
    std::vector<StationScores::Row> lowest;   // up to five, lowest skill first
    double q(double f) const { return quantile(skills, f); }
};

Summary summarize(const StationScores& scores) {
    Summary s;
    std::vector<StationScores::Row> rows = scores.rows();
    s.stations = rows.size();
    // Undefined skills (persistence exact at a station) are neither counted nor ranked.
    rows.erase(std::remove_if(rows.begin(), rows.end(), [](const auto& r) { return !std::isfinite(r.skill); }),
               rows.end());
    for (const auto& r : rows) s.skills.push_back(r.skill);
    std::sort(s.skills.begin(), s.skills.end());
    s.worse = std::count_if(s.skills.begin(), s.skills.end(), [](double v) { return v < 0; });
    std::stable_sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.skill < b.skill; });
    rows.resize(std::min<size_t>(5, rows.size()));
    s.lowest = std::move(rows);
    return s;
}

}  // namespace

void print_station_summary(const StationScores& scores) {
    const Summary s = summarize(scores);
    if (s.skills.empty()) {
        fmt::print("\nper station: no station with a defined skill (persistence exact everywhere)\n");
        return;
    }
    fmt::print("\nper station ({}): skill vs persistence median {:.3f}, quartiles {:.3f} .. {:.3f}; worse "
               "than persistence at {} station{}\n",
               data::counted(size_t(s.stations), "station", "stations"), s.q(0.5), s.q(0.25), s.q(0.75), s.worse,
               s.worse == 1 ? "" : "s");
    if (s.skills.size() < 2) return;
    std::string worst;
    for (size_t i = 0; i < s.lowest.size(); ++i)
        worst += fmt::format("{}{} {:.3f} (MSE {:.4f}, {})", i ? ", " : "", s.lowest[i].station, s.lowest[i].skill,
                             s.lowest[i].mse, data::counted(size_t(s.lowest[i].windows), "window", "windows"));
    fmt::print("lowest skill: {}\n", worst);
}

nlohmann::json station_summary_json(const StationScores& scores) {
    const Summary s = summarize(scores);
    nlohmann::json j = {{"stations", s.stations}};
    if (s.skills.empty()) return j;
    j["skill_median"] = s.q(0.5);
    j["skill_q25"] = s.q(0.25);
    j["skill_q75"] = s.q(0.75);
    j["worse_than_persistence"] = s.worse;
    j["lowest_skill"] = nlohmann::json::array();
    for (const auto& r : s.lowest)
        j["lowest_skill"].push_back({{"station", r.station}, {"skill", r.skill}, {"mse", r.mse}, {"windows", r.windows}});
    return j;
}

}  // namespace fusedrnn::tools
