#include "tools/forecast_report.h"

#include "tools/atomic_write.h"


#include <fmt/format.h>

#include "core/error.h"

namespace fusedrnn::tools {

void print_forecast_report(const std::string& split, const ForecastMetrics& m, const ForecastMetrics& p) {
    fmt::print("\n{} set: {} windows, horizon {} steps, {} target variables\n", split, m.windows(),
               m.mse_by_lead().size(), m.targets().size());
    fmt::print("{:<14}{:>12}{:>12}{:>16}{:>16}\n", "normalized", "MSE", "MAE", "persistence MSE", "persistence MAE");
    fmt::print("{:<14}{:>12.4f}{:>12.4f}{:>16.4f}{:>16.4f}\n", "overall", m.mse(), m.mae(), p.mse(), p.mae());
    for (size_t k = 0; k < m.targets().size(); ++k)
        fmt::print("{:<14}{:>12.4f}{:>12.4f}{:>16.4f}{:>16.4f}\n", m.targets()[k], m.mse(int(k)), m.mae(int(k)),
                   p.mse(int(k)), p.mae(int(k)));
    fmt::print("{:<14}{:>12}{:>12}{:>16}{:>16}\n", "original units", "MSE", "MAE", "persistence MSE",
               "persistence MAE");
    for (size_t k = 0; k < m.targets().size(); ++k)
        fmt::print("{:<14}{:>12.3f}{:>12.3f}{:>16.3f}{:>16.3f}\n", m.targets()[k], m.mse_original(int(k)),
                   m.mae_original(int(k)), p.mse_original(int(k)), p.mae_original(int(k)));
    fmt::print("skill vs persistence (1 - MSE/MSE_persistence): {:.3f}\n", 1.0 - m.mse() / p.mse());
}

nlohmann::json forecast_report_json(const ForecastMetrics& m, const ForecastMetrics& p) {
    return {{"model", m.to_json()}, {"persistence", p.to_json()}, {"skill_mse", 1.0 - m.mse() / p.mse()}};
}

void write_json_file(const std::string& path, const nlohmann::json& j) { write_file_atomically(path, j.dump(2) + "\n"); }

}  // namespace fusedrnn::tools
