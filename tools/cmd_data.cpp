// `fusedrnn data`: look at station data before training on it, or write the synthetic stations out
// as WEATHER-5K-style CSV files (one per station) to see and reuse the format.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/data/synthetic.h"
#include "core/data/time.h"
#include "models/checkpoint.h"
#include "tools/atomic_write.h"
#include "tools/commands.h"
#include "tools/station_data.h"

namespace fusedrnn::tools {

void register_data(CLI::App& app) {
    auto* cmd = app.add_subcommand("data", "Inspect station data, or write synthetic stations as CSV");
    cmd->require_subcommand(1);

    auto io = std::make_shared<DataOptions>();
    auto* inspect = cmd->add_subcommand("inspect", "Read station files and summarize them");
    add_data_options(inspect, *io);
    inspect->callback([io] {
        data::StationSet set = load_stations(*io);
        fmt::print("{} stations, variables {}, step {} s, {} .. {}\n", set.num_stations(), fmt::join(set.vars, ","),
                   set.step, data::format_time(set.begin_time()), data::format_time(set.end_time()));
        // Ids are as long as they come (a file name for some formats); percentages sit under their variable.
        size_t id_width = 16;
        for (const auto& st : set.stations) id_width = std::max(id_width, st.id.size());
        const int F = set.num_vars();
        std::string vars_header;
        for (const auto& v : set.vars) vars_header += fmt::format(" {:>9}", v);
        fmt::print("{:<{}} {:<28} {:>8}  {:<19} {}   (share of rows present)\n", "id", id_width, "name", "rows", "first",
                   vars_header);
        for (int s = 0; s < set.num_stations(); ++s) {
            const auto& st = set.stations[size_t(s)];
            std::string pct;
            for (int v = 0; v < F; ++v) {
                int64_t n = 0;
                for (int64_t r = st.row_begin; r < st.row_end(); ++r) n += !data::is_missing(set.values[size_t(r) * F + v]);
                pct += fmt::format(" {:>8.0f}%", st.rows ? 100.0 * double(n) / double(st.rows) : 0.0);
            }
            fmt::print("{:<{}} {:<28} {:>8}  {:<19} {}\n", st.id, id_width, st.name.substr(0, 28), st.rows,
                       data::format_time(st.start), pct);
        }
    });

    struct Synth {
        data::SyntheticConfig config;
        std::string out = "synthetic-stations";
    };
    auto so = std::make_shared<Synth>();
    so->config.stations = 4;
    auto* synth = cmd->add_subcommand("synth", "Write synthetic stations as WEATHER-5K-style CSV files");
    synth->add_option("--stations", so->config.stations, "Stations")->capture_default_str()->check(CLI::PositiveNumber);
    synth->add_option("--years", so->config.years, "Years per station")->capture_default_str()->check(CLI::PositiveNumber);
    synth->add_option("--start-year", so->config.start_year, "First year")->capture_default_str();
    synth->add_option("--seed", so->config.seed, "Generator seed")->capture_default_str();
    synth->add_option("--gaps", so->config.gap_fraction, "Fraction of missing values")->capture_default_str();
    synth->add_option("--out", so->out, "Output folder")->capture_default_str();
    synth->callback([so] {
        create_output_folder(so->out);
        const data::StationSet set = data::generate_synthetic(so->config);
        const int F = set.num_vars();
        for (int s = 0; s < set.num_stations(); ++s) {
            const auto& st = set.stations[size_t(s)];
            const std::string path = (std::filesystem::path(so->out) / (st.id + ".csv")).string();
            std::string csv = fmt::format("DATE,{}\n", fmt::join(set.vars, ","));
            for (int64_t r = 0; r < st.rows; ++r) {
                csv += data::format_time(st.start + r * set.step);
                for (int v = 0; v < F; ++v) {
                    const float x = set.values[size_t(st.row_begin + r) * F + v];
                    if (data::is_missing(x)) csv += ",";
                    else csv += fmt::format(",{:.1f}", x);
                }
                csv += "\n";
            }
            write_file_atomically(path, csv);
        }
        fmt::print("wrote {} station files to {}/ (read them with --data {} --format weather5k)\n",
                   set.num_stations(), so->out, so->out);
    });
}

}  // namespace fusedrnn::tools
