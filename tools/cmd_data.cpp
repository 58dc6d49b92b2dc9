// `fusedrnn data`: look at station data before training on it, write the synthetic stations out as WEATHER-5K-style
// CSV files (one per station) to see and reuse the format, or export any station data fusedrnn reads as such CSV
// files (tools/station_csv.h).
#include <algorithm>
#include <atomic>
#include <cmath>
#include <exception>
#include <filesystem>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <typeinfo>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "fusedrnn/core/data/far_values.h"
#include "fusedrnn/core/data/synthetic.h"
#include "fusedrnn/core/data/text.h"
#include "fusedrnn/core/data/time.h"
#include "fusedrnn/core/detail/temp_file.h"
#include "fusedrnn/core/error.h"
#include "fusedrnn/core/text/utf8.h"
#include "fusedrnn/models/checkpoint.h"
#include "fusedrnn/tools/cli_checks.h"
#include "fusedrnn/tools/commands.h"
#include "fusedrnn/tools/output_paths.h"
#include "fusedrnn/tools/progress.h"
#include "fusedrnn/tools/station_csv.h"
#include "fusedrnn/tools/station_data.h"

namespace fusedrnn::tools {

namespace {

// Where stations [begin, end) of those written are: a set, and the index of station `begin` in it.
using StationChunk = std::function<std::pair<const data::StationSet*, int>(int begin, int end)>;

// Runs `body(i)` for i in [begin, end) on OpenMP's threads; once one throws, those not begun are skipped, and the
// first exception in index order is rethrown after.
void parallel_over(int begin, int end, const std::function<void(int)>& body) {
    std::vector<std::exception_ptr> errors(size_t(end - begin));
    std::atomic<bool> failed{false};
#pragma omp parallel for schedule(dynamic, 1)
    for (int i = begin; i < end; ++i) {
        if (failed.load()) continue;
        try {
            body(i);
        } catch (...) {
            errors[size_t(i - begin)] = std::current_exception();
            failed = true;
        }
    }
    for (const auto& e : errors)
        if (e) std::rethrow_exception(e);
}

// Writes `n` stations, taken `per_chunk` at a time from `chunk`, to out/<station_csv_name>, several at a time
// (formatting the numbers is the cost: ~0.9M rows/s on one thread), with a progress count: WEATHER-5K's 5,672
// stations are ~22 GB (QA: minutes of silence).
void write_station_files(int n, int per_chunk, const StationChunk& chunk, const std::string& out,
                         const StationCsvOptions& csv, const std::string& what) {
    // An earlier export or synth killed hard left its temp files here; they are not station files, so the folder
    // check let them be, but nothing else would ever remove them.
    for (const fusedrnn::detail::AbandonedTempFile& f : fusedrnn::detail::remove_abandoned_temp_files(out))
        log_line(fmt::format("removed {}, left by a write that was killed (process {})", f.path, f.owner));
    CountProgress progress(what, "stations");
    progress(0, size_t(n));
    std::atomic<int> written{0};
    for (int begin = 0; begin < n; begin += per_chunk) {
        const int end = std::min(n, begin + per_chunk);
        const auto [set, first] = chunk(begin, end);
        try {
            parallel_over(first, first + end - begin, [&, set = set](int s) {
                write_station_csv(*set, s, (std::filesystem::path(out) / station_csv_name(*set, s)).string(), csv);
                ++written;
            });
        } catch (const Error& e) {
            // What the folder now holds, which reads as a smaller set of stations (QA: a full disk left 5 of 10
            // files and said only which one failed).
            if (typeid(e) != typeid(Error)) throw;
            throw Error(fmt::format("{} ({} of the {} station files were written to {} before it: the folder holds "
                                    "part of the set)", e.what(), written.load(), n, out));
        }
        progress(size_t(end), size_t(n));
    }
}

void write_station_files(const data::StationSet& set, const std::string& out, const StationCsvOptions& csv,
                         const std::string& what) {
    write_station_files(set.num_stations(), 64, [&set](int begin, int) { return std::make_pair(&set, begin); }, out,
                        csv, what);
}

void export_stations(const DataOptions& data, const std::string& out, const StationCsvOptions& csv, bool overwrite) {
    check_folder_writable("--out", out);  // before the read, which may take minutes
    // Never over the files being read: --out must not be the data folder, or the folder of the data file. (Without
    // --data, the synthetic stations: as `data synth`, with exact values and optionally the time columns.)
    if (!data.synthetic()) {
        const std::filesystem::path in(data.path);
        const bool in_is_dir = std::filesystem::is_directory(in);
        FR_CHECK(!same_path(out, in_is_dir ? in : in.parent_path().empty() ? "." : in.parent_path()),
                 "data export: --out {} is where the data is read from ({}); write the CSV files to another folder",
                 out, data.path);
    }
    std::string format_read;
    const data::StationSet set = load_stations(data, &format_read);
    std::set<std::string> names;
    for (int s = 0; s < set.num_stations(); ++s)
        FR_CHECK(names.insert(station_csv_name(set, s)).second,
                 "data export: two stations would be written to {} (station ids that differ only in characters not "
                 "allowed in file names)", station_csv_name(set, s));
    if (csv.time_columns)
        for (const auto& name : time_column_names())
            FR_CHECK(std::find(set.vars.begin(), set.vars.end(), name) == set.vars.end(),
                     "data export: the data already has a {} column (exported with --time-columns before?); export "
                     "it without --time-columns", name);
    check_station_files_folder("--out", out, names, overwrite);
    create_output_folder(out);
    write_station_files(set, out, csv, "exporting");
    int without_longitude = 0;
    for (const auto& st : set.stations) without_longitude += std::isnan(st.meta.longitude);
    std::vector<std::string> columns{"DATE"};
    columns.insert(columns.end(), set.vars.begin(), set.vars.end());
    if (csv.time_columns) columns.insert(columns.end(), time_column_names().begin(), time_column_names().end());
    log_line(fmt::format("wrote {} to {}/: {}", data::counted(size_t(set.num_stations()), "station file", "station files"),
                         out, fmt::join(columns, ",")));
    if (csv.time_columns && without_longitude > 0)
        log_line(fmt::format("  {} of {} stations have no known longitude: their HOUR columns follow the series' clock "
                             "(UTC; local standard time for noaa-lcd and NCEI LCD files), not local solar time",
                             without_longitude, set.num_stations()));
    std::string read_back = fmt::format("  read them with --data {} --format csv", out);
    // The CSV layout's defaults are hourly: another grid is named, or the files would not read back.
    if (set.step != 3600) read_back += fmt::format(" --csv-step-minutes {:g}", double(set.step) / 60.0);
    if (csv.time_columns) {
        const std::string targets = data::csv_list(set.vars);  // a name holding a comma quoted, for the shell too
        read_back += fmt::format(" --targets {} (the time columns as inputs only)",
                                 targets.find('"') == std::string::npos ? targets : "'" + targets + "'");
    }
    log_line(read_back);
    // The files keep the data's clock; read back as csv they would be taken for UTC (QA: LCD stations of four time
    // zones, labelled UTC by eval and predict).
    const std::string clock = clock_of_times(data, format_read);
    if (clock.rfind("local standard time", 0) == 0)
        log_line(fmt::format("  their times are {} (no UTC offset stated): read back with --format csv they are taken "
                             "as UTC unless --csv-utc-offset H says the offset, one for all the files read (so read "
                             "each time zone's stations apart)", clock));
    // eval and predict take a checkpoint's CSV layout over for files read with --format csv: one trained on these
    // files' source (a ';' file, renamed columns, a UTC offset) would read the exported ones with that layout, and
    // fail. The exported layout in full, every flag that may differ from such a checkpoint's, overrides it.
    const CsvOptions defaults;
    const CsvOptions& source = data.csv;
    if (format_read == "csv" && (source.delimiter != defaults.delimiter || source.time != defaults.time ||
                                 source.time_format != defaults.time_format ||
                                 source.utc_offset_hours != defaults.utc_offset_hours || !source.columns.empty() ||
                                 !source.mask_column.empty())) {
        std::vector<std::string> quoted;
        for (const std::string& v : set.vars) quoted.push_back(data::csv_field(v));
        log_line(fmt::format("  with eval or predict and a checkpoint trained on the source files' layout, give this "
                             "one in full: --format csv --csv-delimiter , --csv-time DATE --csv-time-format "
                             "'%Y-%m-%d %H:%M:%S' --csv-utc-offset 0 --csv-columns '{}'{}",
                             fmt::join(quoted, ","), source.mask_column.empty() ? "" : " --csv-mask-column ''"));
    }
}

// The ranges the values were checked against and how many fell outside (masked), with the first of each: an
// implausible value is read as missing, so it shows in the shares above too, and here is why.
// "100%" only when every row is present and "0%" only when none is: a whole-percent rounding would show a
// column with 81 missing rows of 35,064 as complete. Otherwise one decimal, rounded toward 50%.
std::string present_share(int64_t present, int64_t rows) {
    if (rows <= 0 || present == 0) return "0%";
    if (present == rows) return "100%";
    const double pct = 100.0 * double(present) / double(rows);
    return fmt::format("{:.1f}%", std::clamp(pct >= 50 ? std::floor(pct * 10) / 10 : std::ceil(pct * 10) / 10, 0.1,
                                             99.9));
}

// A station's count of rows present for one variable.
struct PresentCount {
    int64_t present = 0, rows = 0;
    int station = 0;
    double share() const { return rows > 0 ? double(present) / double(rows) : 0; }
};

// Under a table of many stations, the shares in a few lines (QA: 1,000 stations gave 1,000 lines and no overview):
// per variable the median station's, the lowest and whose it is, with how many more share it ("(TMP, DEW: A and 2
// more; SLP: B)", or "(A)" when one station is lowest in every variable; nothing where all are complete).
// `lead`: the width of the columns before the shares.
void print_present_summary(const data::StationSet& set, std::vector<std::vector<PresentCount>> present,
                           const std::vector<size_t>& widths, size_t lead) {
    constexpr int kFewStations = 10;  // a table that short is its own overview
    if (set.num_stations() < kFewStations) return;
    std::string median, lowest;
    std::vector<std::pair<std::string, std::vector<std::string>>> whose;  // who is lowest -> in which variables
    for (size_t v = 0; v < present.size(); ++v) {
        auto& c = present[v];
        std::stable_sort(c.begin(), c.end(), [](const PresentCount& a, const PresentCount& b) {
            return a.share() < b.share();
        });
        const PresentCount& mid = c[c.size() / 2];
        const PresentCount& low = c.front();
        median += fmt::format(" {:>{}}", present_share(mid.present, mid.rows), widths[v]);
        lowest += fmt::format(" {:>{}}", present_share(low.present, low.rows), widths[v]);
        if (low.present == low.rows) continue;  // every station complete in it
        const size_t ties = size_t(std::count_if(c.begin(), c.end(), [&](const PresentCount& x) {
            return x.present * low.rows == low.present * x.rows;
        }));
        const std::string who = set.stations[size_t(low.station)].id +
                                (ties > 1 ? fmt::format(" and {} more", ties - 1) : std::string());
        auto it = std::find_if(whose.begin(), whose.end(), [&](const auto& w) { return w.first == who; });
        if (it == whose.end()) whose.push_back({who, {set.vars[v]}});
        else it->second.push_back(set.vars[v]);
    }
    std::string names;
    if (whose.size() == 1 && whose[0].second.size() == present.size()) {
        names = "   (" + whose[0].first + ")";
    } else if (!whose.empty()) {
        std::vector<std::string> parts;
        for (const auto& [who, vars] : whose) parts.push_back(fmt::format("{}: {}", fmt::join(vars, ", "), who));
        names = fmt::format("   ({})", fmt::join(parts, "; "));
    }
    fmt::print("{:<{}}{}\n{:<{}}{}{}\n", fmt::format("median of {} stations", set.num_stations()), lead, median,
               "lowest", lead, lowest, names);
}

void print_out_of_range(const data::ReadReport& report) {
    if (report.out_of_range.empty()) return;  // no range applies to these variables (or synthetic stations)
    fmt::print("\nvalid ranges (values outside are masked as missing): {} outside\n",
               data::counted(size_t(report.out_of_range_values()), "value", "values"));
    for (const auto& r : report.out_of_range)
        fmt::print("  {:<10} {:<14} {:>9} outside{}\n", r.var, r.range, r.count,
                   r.first.empty() ? "" : fmt::format("  first {}", r.first));
}

// Values absurdly far from the rest of their variable (data/far_values.h), over the whole span read: train warns about
// them in its training split, after the statistics took them in; here they show before any run.
void print_far_values(const data::StationSet& set) {
    const std::vector<data::FarValues> far =
        data::find_far_values(set, {set.begin_time(), set.end_time()}, std::vector<bool>(size_t(set.num_vars()), true));
    if (far.empty()) return;
    int64_t total = 0;
    for (const auto& fv : far) total += fv.count;
    fmt::print("\nvalues absurdly far from the rest (more than {:g} interquartile widths beyond the quartiles): {}; a "
               "unit mix-up or a typo? mask them with --valid-range NAME=LO:HI, or correct the file\n",
               data::kFarValuesReach, data::counted(size_t(total), "value", "values"));
    for (const auto& fv : far)
        fmt::print("  {:<10} {:>9} outside {:g}..{:g} (quartiles {:g}..{:g})  {} {:g} at station {}\n",
                   set.vars[size_t(fv.var)], fv.count, fv.low, fv.high, fv.bulk_low, fv.bulk_high,
                   fv.count == 1 ? "it:" : "farthest", double(fv.farthest), fv.where);
}

}  // namespace

void register_data(CLI::App& app) {
    auto* cmd = app.add_subcommand("data", "Inspect station data, write synthetic stations, or export station data as CSV");
    cmd->require_subcommand(1);

    auto io = std::make_shared<DataOptions>();
    auto* inspect = cmd->add_subcommand("inspect", "Read station files and summarize them");
    add_data_options(inspect, *io);
    inspect->callback([io] {
        data::ReadReport report;
        data::StationSet set = load_stations(*io, nullptr, &report);
        // The last row's time, not the exclusive end one step later ("a .. b" reads as inclusive).
        fmt::print("{}, variables {}, step {} s, rows from {} to {}\n",
                   data::counted(size_t(set.num_stations()), "station", "stations"),
                   data::shown_csv_list(set.vars), set.step, data::format_time(set.begin_time()),
                   data::format_time(set.end_time() - set.step));
        // Ids are as long as they come (a file name for some formats); percentages sit under their variable.
        // Names too, whole (NOAA LCD's run to 80 characters); a name that only repeats the id (formats whose files
        // hold none: the file name is both) is left blank, and the column goes when no station has one of its own.
        size_t id_width = 16, name_width = 0;
        const auto own_name = [](const data::StationInfo& st) { return st.name == st.id ? std::string() : st.name; };
        for (const auto& st : set.stations) {
            id_width = std::max(id_width, st.id.size());
            name_width = std::max(name_width, own_name(st).size());
        }
        const auto name_cell = [&](const std::string& name) {
            return name_width == 0 ? std::string() : fmt::format(" {:<{}}", name, std::max<size_t>(name_width, 4));
        };
        const int F = set.num_vars();
        // Each variable's column as wide as its name (at least a percentage's 9), so the shares stay under it.
        std::vector<size_t> widths;
        std::string vars_header;
        for (const auto& v : set.vars) {
            widths.push_back(std::max<size_t>(9, text::utf8_length(v)));  // fmt pads UTF-8 by characters too
            vars_header += fmt::format(" {:>{}}", v, widths.back());
        }
        fmt::print("{:<{}}{} {:>8}  {:<19} {}   (share of rows present)\n", "id", id_width, name_cell("name"), "rows",
                   "first", vars_header);
        std::vector<std::vector<PresentCount>> present(static_cast<size_t>(F));  // per variable, per station
        for (int s = 0; s < set.num_stations(); ++s) {
            const auto& st = set.stations[size_t(s)];
            std::string pct;
            for (int v = 0; v < F; ++v) {
                int64_t n = 0;
                for (int64_t r = st.row_begin; r < st.row_end(); ++r) n += !data::is_missing(set.values[size_t(r) * F + v]);
                pct += fmt::format(" {:>{}}", present_share(n, st.rows), widths[size_t(v)]);
                present[size_t(v)].push_back({n, st.rows, s});
            }
            fmt::print("{:<{}}{} {:>8}  {:<19} {}\n", st.id, id_width, name_cell(own_name(st)), st.rows,
                       data::format_time(st.start), pct);
        }
        print_present_summary(set, present, widths, id_width + name_cell("").size() + 31);
        print_out_of_range(report);
        print_far_values(set);
    });

    struct Synth {
        data::SyntheticConfig config;
        std::string out = "synthetic-stations";
        bool overwrite = false;
    };
    auto so = std::make_shared<Synth>();
    so->config.stations = 4;
    auto* synth = cmd->add_subcommand("synth", "Write synthetic stations as WEATHER-5K-style CSV files");
    synth->add_option("--stations", so->config.stations, "Stations")->capture_default_str()->check(kPositive);
    synth->add_option("--years", so->config.years, "Years per station")->capture_default_str()->check(in_range(1, 200));
    synth->add_option("--start-year", so->config.start_year, "First year")
        ->capture_default_str()
        ->check(in_range(data::kMinSyntheticYear, data::kMaxSyntheticYear));
    synth->add_option("--seed", so->config.seed, "Generator seed")->capture_default_str()->check(kSeed);
    synth->add_option("--gaps", so->config.gap_fraction, "Fraction of missing values")
        ->capture_default_str()
        ->check(in_range(0, data::kMaxSyntheticGaps));
    synth->add_option("--out", so->out, "Output folder")->capture_default_str()->transform(kFolderName);
    synth->add_flag("--overwrite", so->overwrite, "Replace station files of the same names already in --out");
    synth->callback([so] {
        check_folder_writable("--out", so->out);  // before generating, which may take minutes and gigabytes
        data::check_synthetic_config(so->config);  // before any folder is made (the review: --start-year 9999 made one)
        const int n = so->config.stations;
        std::set<std::string> names;
        for (int s = 0; s < n; ++s) names.insert(data::synthetic_station_id(s) + ".csv");
        check_station_files_folder("--out", so->out, names, so->overwrite);
        create_output_folder(so->out);
        StationCsvOptions csv;
        csv.one_decimal = true;
        // Generated a chunk at a time as it is written, never the whole set at once (QA: 0.5 MB per station and 3
        // years held until the end, ~10 GB at WEATHER-5K scale); each station is the same as in the whole set.
        // At most 64 stations, and about 128 MiB of values, at a time (a station of centuries is most of that): held
        // twice while the chunk's set is made of its stations, so about 256 MiB at the most.
        const double station_bytes = double(so->config.rows_per_station()) * double(data::weather5k_vars().size()) * 4;
        const int per_chunk = int(std::clamp(std::floor(128.0 * 1024 * 1024 / station_bytes), 1.0, 64.0));
        data::StationSet chunk;
        write_station_files(n, per_chunk, [&](int begin, int end) {
            chunk = data::StationSet();  // the last chunk's, written: not held beside the next (the review)
            std::vector<data::StationSeries> series(size_t(end - begin));
            parallel_over(begin, end, [&](int s) {
                series[size_t(s - begin)] = data::generate_synthetic_station(so->config, s);
            });
            chunk = data::StationSet::from_series(std::move(series));
            return std::make_pair(static_cast<const data::StationSet*>(&chunk), 0);
        }, so->out, csv, "generating and writing");
        end_live_line();
        fmt::print("wrote {} to {}/ (read them with --data {} --format weather5k)\n",
                   data::counted(size_t(n), "station file", "station files"), so->out, so->out);
    });

    struct Export {
        DataOptions data;
        std::string out;
        StationCsvOptions csv;
        bool overwrite = false;
    };
    auto eo = std::make_shared<Export>();
    auto* exp = cmd->add_subcommand("export", "Write station data as plain CSV files, one per station (DATE, variables)");
    add_data_options(exp, eo->data);
    exp->add_option("--out", eo->out, "Output folder")->required()->transform(kFolderName);
    exp->add_flag("--time-columns", eo->csv.time_columns,
                  "Add HOUR_SIN, HOUR_COS (local solar time where the longitude is known) and DOY_SIN, DOY_COS columns");
    exp->add_flag("--overwrite", eo->overwrite, "Replace station files of the same names already in --out");
    exp->callback([eo] { export_stations(eo->data, eo->out, eo->csv, eo->overwrite); });
}

}  // namespace fusedrnn::tools
