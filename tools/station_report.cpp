#include "tools/station_report.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "tools/atomic_write.h"

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
    for (const auto& t : scores.targets()) line += fmt::format(",{0}_rmse,{0}_persistence_rmse", t);
    file.stream() << line << '\n';
    for (const auto& r : scores.rows()) {
        line = fmt::format("{},{},{},{},{},{}", r.station, r.windows, number(r.mse, 5), number(r.mae, 5),
                           number(r.persistence_mse, 5), number(r.skill, 4));
        for (size_t k = 0; k < r.rmse.size(); ++k)
            line += fmt::format(",{},{}", number(r.rmse[k], 4), number(r.persistence_rmse[k], 4));
        file.stream() << line << '\n';
    }
    file.commit();
}

void print_station_summary(const StationScores& scores) {
    std::vector<StationScores::Row> rows = scores.rows();
    std::vector<double> skills;
    for (const auto& r : rows)
        if (std::isfinite(r.skill)) skills.push_back(r.skill);
    if (skills.empty()) {
        fmt::print("\nper station: no station with a defined skill (persistence exact everywhere)\n");
        return;
    }
    std::sort(skills.begin(), skills.end());
    const long worse = std::count_if(skills.begin(), skills.end(), [](double s) { return s < 0; });
    fmt::print("\nper station ({} stations): skill vs persistence median {:.3f}, quartiles {:.3f} .. {:.3f}; worse "
               "than persistence at {} station{}\n",
               rows.size(), quantile(skills, 0.5), quantile(skills, 0.25), quantile(skills, 0.75), worse,
               worse == 1 ? "" : "s");
    // The worst few: undefined skills (persistence exact) are not ranked.
    rows.erase(std::remove_if(rows.begin(), rows.end(), [](const auto& r) { return !std::isfinite(r.skill); }),
               rows.end());
    std::stable_sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.skill < b.skill; });
    const size_t shown = std::min<size_t>(5, rows.size());
    if (rows.size() < 2) return;
    std::string worst;
    for (size_t i = 0; i < shown; ++i)
        worst += fmt::format("{}{} {:.3f} (MSE {:.4f}, {} windows)", i ? ", " : "", rows[i].station, rows[i].skill,
                             rows[i].mse, rows[i].windows);
    fmt::print("lowest skill: {}\n", worst);
}

}  // namespace fusedrnn::tools
