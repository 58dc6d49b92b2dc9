// `fusedrnn predict`: a forecaster checkpoint + recent station history → forecast CSV in original
// units. For each station, the forecast is issued from the latest hour (at or before --issued-at) whose whole input
// window is present; stations with no complete window are listed, not silently dropped.
#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "fusedrnn/core/data/far_values.h"
#include "fusedrnn/core/data/splits.h"
#include "fusedrnn/core/data/text.h"
#include "fusedrnn/core/data/time.h"
#include "fusedrnn/tools/atomic_write.h"
#include "fusedrnn/tools/cli_checks.h"
#include "fusedrnn/tools/commands.h"
#include "fusedrnn/tools/forecast_csv.h"
#include "fusedrnn/tools/forecast_checkpoint.h"
#include "fusedrnn/tools/output_paths.h"
#include "fusedrnn/tools/progress.h"
#include "fusedrnn/tools/run_folder.h"

namespace fusedrnn::tools {
namespace {

// Inputs many standard deviations from the training data (a pressure of 10 hPa from a line cut off mid-number, a
// temperature in °F where the model learnt °C) make a forecast of no worth that looks like any other: said, the
// first few by station, variable, value and time. `z` is the standardized input [input_len, B, F].
void warn_inputs_far_from_training(const std::vector<float>& z, const data::StationSet& set,
                                   const std::vector<int>& chosen, const std::vector<int64_t>& ends,
                                   const data::WindowSpec& w, const data::NormStats& stats) {
    constexpr double kFar = 10;  // standard deviations; a tenth of a percent of normal data lies beyond 3.3
    const int B = int(chosen.size()), F = set.num_vars();
    std::vector<std::string> said;
    int far_stations = 0;
    for (int b = 0; b < B; ++b) {
        const auto& st = set.stations[size_t(chosen[size_t(b)])];
        for (int t = w.input_len - 1, found = 0; t >= 0 && !found; --t)  // the newest first
            for (int v = 0; v < F && !found; ++v) {
                const float zv = z[(size_t(t) * B + b) * F + v];
                if (!(std::fabs(zv) > kFar)) continue;
                found = 1;
                ++far_stations;
                if (said.size() >= 5) break;
                const int64_t row = ends[size_t(b)] - int64_t(w.input_len - 1 - t) * w.in_step;
                const float value = set.values[size_t(st.row_begin + row) * size_t(F) + size_t(v)];
                // A huge count as 5.7e+37, not as 38 digits (QA).
                const double far = std::fabs(zv);
                said.push_back(fmt::format("{}: {} {} at {} ({} standard deviations {} the training mean {:.6g})",
                                           st.id, set.vars[size_t(v)], data::shortest_text(value),
                                           data::format_time(st.start + row * set.step),
                                           far < 1e6 ? fmt::format("{:.0f}", far) : fmt::format("{:.2g}", far),
                                           zv > 0 ? "above" : "below", stats.mean[size_t(v)]));
            }
    }
    if (far_stations == 0) return;
    log_line(fmt::format("warning: {} input values far outside the training data ({}{}): a unit mix-up, or a line "
                         "cut off mid-number? The {} made from them as they are",
                         data::counted(size_t(far_stations), "station has", "stations have"), fmt::join(said, "; "),
                         far_stations > int(said.size()) ? "; ..." : "",
                         far_stations == 1 ? "forecast is" : "forecasts are"));
}

// Latest local row e <= last such that rows e - t·in_step (t < Tin) are present in every variable; -1 if none.
int64_t latest_window_end(const data::StationSet& set, int s, const data::WindowSpec& w, int64_t last) {
    const auto& st = set.stations[size_t(s)];
    const int F = set.num_vars();
    auto present = [&](int64_t r) {
        const float* row = set.values.data() + size_t(st.row_begin + r) * F;
        for (int f = 0; f < F; ++f)
            if (data::is_missing(row[f])) return false;
        return true;
    };
    for (int64_t e = std::min(last, st.rows - 1); e >= int64_t(w.input_len - 1) * w.in_step; --e) {
        bool ok = true;
        for (int t = 0; t < w.input_len && ok; ++t) ok = present(e - int64_t(t) * w.in_step);
        if (ok) return e;
    }
    return -1;
}

// Why station s has no complete input window ending at or before row `last` (latest_window_end gave -1): too few
// rows, or the latest missing value (variable and time), which is where a user would look.
std::string why_no_window(const data::StationSet& set, int s, const data::WindowSpec& w, int64_t last) {
    const auto& st = set.stations[size_t(s)];
    const int64_t span = int64_t(w.input_len - 1) * w.in_step + 1, end = std::min(last, st.rows - 1);
    if (end < 0) return "its data starts later";
    if (end + 1 < span) return fmt::format("{} up to then, fewer than the {} a window spans",
                                           data::counted(size_t(end + 1), "row", "rows"), span);
    const int F = set.num_vars();
    // A variable the station never reports (ISD stations without SLP) is the whole answer.
    std::vector<std::string> never;
    for (int f = 0; f < F; ++f) {
        bool any = false;
        for (int64_t r = 0; r <= end && !any; ++r) any = !data::is_missing(set.values[size_t(st.row_begin + r) * F + f]);
        if (!any) never.push_back(set.vars[size_t(f)]);
    }
    if (!never.empty()) return fmt::format("no {} at all{}", fmt::join(never, ", "), last < st.rows - 1 ? " up to then" : "");
    for (int64_t r = end; r >= 0; --r) {
        const float* row = set.values.data() + size_t(st.row_begin + r) * F;
        for (int f = 0; f < F; ++f)
            if (data::is_missing(row[f]))
                return fmt::format("missing values in every window; the latest: {} at {}", set.vars[size_t(f)],
                                   data::format_time(st.start + r * set.step));
    }
    return "missing values in every window";  // not reached: a window would have been found
}

// --issued-at as a time on the data's clock (kTimeMax when not given): checked before any data is read.
int64_t parse_issued_at(const std::string& given_text, bool given) {
    // Spaces at the ends are a quoting slip (QA's recheck: " " was "\"\" does not match", not empty).
    const std::string issued_at(data::trim(given_text));
    FR_CHECK(!given || !issued_at.empty(), "--issued-at is empty: give a time (YYYY-MM-DD HH:MM), or leave the flag "
             "out to forecast from the latest data");
    if (issued_at.empty()) return data::kTimeMax;
    std::string text = issued_at, why;
    // ISO 8601's separator, with a time after it (QA's recheck: "2022-01-01T" passed for midnight).
    FR_CHECK(!(text.size() == 11 && text[10] == 'T'), "--issued-at \"{}\": no time after the T (give YYYY-MM-DDTHH:MM, "
             "or the date alone for midnight)", issued_at);
    if (text.size() > 10 && text[10] == 'T') text[10] = ' ';
    // The form the text has (by its colons) is the one to read it with, so that the error is about it: "25:00" is
    // not a valid time, rather than "extra characters after %Y-%m-%d".
    const auto colons = std::count(text.begin(), text.end(), ':');
    const char* format = colons >= 2 ? "%Y-%m-%d %H:%M:%S" : colons == 1 ? "%Y-%m-%d %H:%M" : "%Y-%m-%d";
    int64_t as_of = 0;
    // The reason quotes the text it read: the flag's value once (QA: "--issued-at \"x\": \"x\" is not ..."), unless
    // that text is not the one given (ISO's T made a space).
    FR_CHECK(data::parse_time(text, format, as_of, why), "--issued-at{}: {} (expected YYYY-MM-DD[ HH:MM[:SS]], on the "
             "data's clock)", text == issued_at ? std::string() : fmt::format(" \"{}\"", issued_at), why);
    return as_of;
}

// The stations forecast and the local row each one's input window ends at.
struct ChosenWindows {
    std::vector<int> stations;
    std::vector<int64_t> ends;
};

// Of the stations asked for (all when `only` is empty), those with a complete input window ending at or before
// `as_of`, each at its latest; the others are listed with the reason, and none at all is an error.
ChosenWindows choose_windows(const data::StationSet& set, const data::WindowSpec& w,
                             const std::vector<std::string>& only, int64_t as_of, const std::string& before) {
    ChosenWindows c;
    std::vector<std::string> skipped;  // the first few, with the reason
    size_t skipped_count = 0;
    for (int s = 0; s < set.num_stations(); ++s) {
        const auto& st = set.stations[size_t(s)];
        if (!only.empty() && std::find(only.begin(), only.end(), st.id) == only.end()) continue;
        // The last row at or before --issued-at (floor division: the clock may sit between rows).
        const int64_t last = as_of == data::kTimeMax ? st.rows - 1
                             : as_of < st.start      ? -1
                                                     : (as_of - st.start) / set.step;
        const int64_t e = latest_window_end(set, s, w, last);
        if (e < 0) {
            if (skipped.size() < 8) skipped.push_back(st.id + " (" + why_no_window(set, s, w, last) + ")");
            ++skipped_count;
            continue;
        }
        c.stations.push_back(s);
        c.ends.push_back(e);
    }
    if (skipped_count > 0)
        log_line(fmt::format("no complete {}-step input window{} at {} (not forecast): {}{}", w.input_len, before,
                             data::counted(skipped_count, "station", "stations"), fmt::join(skipped, "; "),
                             skipped_count > skipped.size() ? "; ..." : ""));
    FR_CHECK(!c.stations.empty(), "no station has a complete input window of {} steps{} to forecast from",
             w.input_len, before);
    return c;
}

// A forecast issued before the time asked for — or, without --issued-at, before the newest data of any station — is
// stale: say which, and why (the station's data ends earlier, or a gap in the window ending then), so that it is
// never taken for a fresh one.
void warn_stale_forecasts(const data::StationSet& set, const ChosenWindows& c, int64_t as_of, bool issued_given) {
    int64_t newest = data::kTimeMin;
    for (int s : c.stations) {
        const auto& st = set.stations[size_t(s)];
        newest = std::max(newest, st.start + (st.rows - 1) * set.step);
    }
    const int64_t wanted = data::floor_div(issued_given ? as_of : newest, set.step) * set.step;
    if (issued_given && wanted != as_of)
        log_line(fmt::format("--issued-at {} falls between the rows of the data's {:g}-minute grid: forecasts as of "
                             "{}, the row before it", data::format_time(as_of), set.step / 60.0,
                             data::format_time(wanted)));
    size_t stale = 0;
    std::vector<std::string> listed;  // the first few
    for (size_t b = 0; b < c.stations.size(); ++b) {
        const auto& st = set.stations[size_t(c.stations[b])];
        const int64_t issued = st.start + c.ends[b] * set.step, data_end = st.start + (st.rows - 1) * set.step;
        if (issued == wanted) continue;
        ++stale;
        if (listed.size() < 8)
            listed.push_back(fmt::format("{} at {} ({})", st.id, data::format_time(issued),
                                         data_end < wanted && issued == data_end
                                             ? std::string("its data ends then")
                                             : fmt::format("the input window ending at {} is incomplete",
                                                           data::format_time(std::min(wanted, data_end)))));
    }
    if (stale > 0)
        log_line(fmt::format("{} issued before {}{}: {}{}; issued_at in the CSV says when",
                             c.stations.size() == 1 ? std::string("the forecast is")
                                                    : fmt::format("{} of {} stations' forecasts are", stale,
                                                                  c.stations.size()),
                             data::format_time(wanted),
                             issued_given ? "" : " (the newest data of the stations read)",
                             fmt::join(listed, ", "), stale > listed.size() ? ", ..." : ""));
}

// The chosen windows' inputs as the model takes them: [input_len, B, F], time-major, not yet standardized.
std::vector<float> gather_inputs(const data::StationSet& set, const ChosenWindows& c, const data::WindowSpec& w) {
    const int B = int(c.stations.size()), F = set.num_vars();
    std::vector<float> x(size_t(w.input_len) * B * F);
    for (int b = 0; b < B; ++b) {
        const auto& st = set.stations[size_t(c.stations[size_t(b)])];
        for (int t = 0; t < w.input_len; ++t) {
            const int64_t r = st.row_begin + c.ends[size_t(b)] - int64_t(w.input_len - 1 - t) * w.in_step;
            for (int v = 0; v < F; ++v) x[(size_t(t) * B + b) * F + v] = set.values[size_t(r) * F + v];
        }
    }
    return x;
}

}  // namespace

void register_predict(CLI::App& app) {
    struct Opts {
        std::string checkpoint, out = "forecast.csv", backend = "auto", issued_at;
        std::vector<std::string> stations;
        DataOptions data;
    };
    auto o = std::make_shared<Opts>();
    auto* cmd = app.add_subcommand("predict", "Forecast from the most recent history of each station");
    cmd->add_option("--checkpoint", o->checkpoint, "Forecaster checkpoint")->required()->check(CLI::ExistingFile);
    add_data_options(cmd, o->data, DataDefaults::Checkpoint);
    // Repeated, not comma-separated: a station id is a file name, which may hold a comma.
    add_list_option(cmd, "--station", o->stations, "Only these station ids, comma-separated or repeated (an id "
                    "holding a comma in double quotes); station files of others are not read");
    CLI::Option* issued_flag = cmd->add_option(
        "--issued-at", o->issued_at,
        "Forecast as of this time (\"YYYY-MM-DD[ HH:MM[:SS]]\", a 'T' between date and time also read, on the data's "
        "clock: UTC, except local standard time for noaa-lcd and NCEI LCD files): from each station's latest complete input "
        "window ending at or before it (default: the latest in the data)");
    cmd->add_option("--out", o->out, "Forecast CSV to write")->capture_default_str();
    cmd->add_option("--backend", o->backend, "auto, cpu, cuda or cudnn")->capture_default_str();
    cmd->callback([o, cmd, issued_flag] {
        const bool issued_given = !o->issued_at.empty();
        const int64_t as_of = parse_issued_at(o->issued_at, issued_flag->count() > 0);  // before any data is read
        // Both pick stations; together, --max-stations would cut a station --station names (QA: then said to be
        // "no such station in the data").
        FR_CHECK(o->stations.empty() || cmd->count("--max-stations") == 0, "--station and --max-stations both pick "
                 "the stations to forecast: give one of them");
        for (const std::string& id : o->stations)
            FR_CHECK(!id.empty(), "--station: an empty station id (two commas in a row, or one at the end?)");
        keep_stdout_for_data({o->out});
        auto backend = make_backend(o->backend);
        LoadedForecaster f = load_forecaster(o->checkpoint, backend);
        check_output_file("--out", o->out, data_for_checkpoint(cmd, o->data, f.data), {o->checkpoint});
        check_output_outside_run("--out", o->out, o->checkpoint);
        ReadLabels labels;
        // With --station, station files other than those are not read (QA: one station's forecast read them all).
        o->data.only_stations = o->stations;
        data::StationSet set = load_stations_for_checkpoint(
            cmd, o->data, f.data, &labels, [&f](data::StationSet& s) { conform_to_checkpoint(s, f, false); });
        conform_to_checkpoint(set, f);
        const data::WindowSpec& w = f.dataset.window;
        std::vector<int32_t> target_cols;
        for (const auto& t : f.dataset.targets) target_cols.push_back(set.var_index(t));
        const int F = set.num_vars(), K = int(target_cols.size());
        for (const auto& id : o->stations) {
            const bool known = std::any_of(set.stations.begin(), set.stations.end(),
                                           [&](const data::StationInfo& st) { return st.id == id; });
            FR_CHECK(known, "--station {}: no such station in the data ({} stations, e.g. {})", id,
                     set.num_stations(), set.stations.front().id);
        }

        // Inputs of every station with a complete window, standardized with the checkpoint's statistics: every value
        // must standardize to a float, as eval requires of the same files.
        data::check_values_standardize(set, f.stats);
        const std::string before = issued_given ? " ending at or before " + data::format_time(as_of) : "";
        const ChosenWindows chosen = choose_windows(set, w, o->stations, as_of, before);
        warn_stale_forecasts(set, chosen, as_of, issued_given);
        const int B = int(chosen.stations.size());
        std::vector<float> x = gather_inputs(set, chosen, w);
        // Standardized as training and eval standardize their series (in float, by the same function), so that a
        // forecast here is bit for bit eval's for the same window.
        f.stats.normalize(x);
        warn_inputs_far_from_training(x, set, chosen.stations, chosen.ends, w, f.stats);
        const auto pred = backend->to_host(f.model->forward(backend->from_host(x, {w.input_len, B, F}), false));

        ForecastCsv csv(o->out, f.dataset.targets, target_cols, f.stats, w, set.step, /*with_observed*/ false);
        for (int b = 0; b < B; ++b) {
            const auto& st = set.stations[size_t(chosen.stations[size_t(b)])];
            csv.add(st.id, st.start + chosen.ends[size_t(b)] * set.step, pred.data() + size_t(b) * w.horizon * K);
        }
        csv.commit();
        fmt::print("wrote {} ({} x {} lead times{}; times: {})\n", shown_output_name(o->out),
                   data::counted(size_t(B), "station", "stations"), w.horizon,
                   labels.units.empty() ? std::string() : "; values in " + labels.units, labels.clock);
    });
}

}  // namespace fusedrnn::tools
