#include "fusedrnn/core/data/dataset.h"

#include <algorithm>
#include <exception>
#include <limits>
#include <map>
#include <memory>

#include <fmt/format.h>

#include "fusedrnn/core/detail/checksum.h"
#include "fusedrnn/core/detail/json_fields.h"
#include "fusedrnn/core/data/far_values.h"
#include "fusedrnn/core/data/text.h"
#include "fusedrnn/core/data/time.h"
#include "fusedrnn/core/error.h"

namespace fusedrnn::data {

std::string DatasetReport::summary(bool all_in_test, int scored) const {
    const std::string of = counted(size_t(stations), "station", "stations");
    std::string s = all_in_test ? fmt::format("{}, {} rows; windows: {} (stations with windows: {})", of, rows,
                                              windows[2], stations_with_windows[2])
                                : fmt::format("{}, {} rows; windows: train {}, val {}, test {} (stations with "
                                              "windows: {}/{}/{})",
                                              of, rows, windows[0], windows[1], windows[2],
                                              stations_with_windows[0], stations_with_windows[1],
                                              stations_with_windows[2]);
    if (!too_short.empty())
        s += fmt::format("\n{} too short for one window: {}", counted(too_short.size(), "station", "stations"),
                         join_names(too_short, 20));
    if (!without_windows.empty())
        s += fmt::format("\n{} with no valid window (gaps, a variable never reported, or times outside the "
                         "splits): {}",
                         counted(without_windows.size(), "station", "stations"),
                         join_names(without_windows, 20));
    for (const auto& w : warnings) s += "\nwarning: " + w;
    for (int k = 0; k < kNumSplits; ++k)
        if (!empty[size_t(k)].empty() && (scored < 0 || scored == k)) s += "\nwarning: " + empty[size_t(k)];
    return s;
}

nlohmann::json DatasetReport::to_json() const {
    return {{"stations", stations},
            {"rows", rows},
            {"missing_per_var", missing_per_var},
            {"windows", {{"train", windows[0]}, {"val", windows[1]}, {"test", windows[2]}}},
            {"stations_with_windows",
             {{"train", stations_with_windows[0]}, {"val", stations_with_windows[1]}, {"test", stations_with_windows[2]}}},
            {"too_short", too_short},
            {"without_windows", without_windows},
            {"warnings", [&] {
                 std::vector<std::string> all = warnings;
                 for (const auto& e : empty)
                     if (!e.empty()) all.push_back(e);
                 return all;
             }()}};
}

int64_t WindowedDataset::time_of_row(int64_t row) const {
    const StationInfo& st = data.stations[size_t(data.station_of_row(row))];
    return st.start + (row - st.row_begin) * data.step;
}

nlohmann::json WindowedDataset::meta_json() const {
    nlohmann::json j = {{"vars", data.vars},     {"targets", target_names}, {"step_seconds", data.step},
                        {"window", window.to_json()}, {"stride", stride},   {"split", split.to_json()},
                        {"stats", stats.to_json()}, {"values_checksum", values_checksum},
                        {"stations", data.num_stations()}};
    if (wind != WindForm::Angle) j["wind"] = wind_form_name(wind);  // absent: as read (and before the option)
    // Fractions of this data's span, as the times they came to: evaluation on other files (or on these grown) scores
    // the times the model was tested on, not fractions of the new span (QA: eval on one station-year put part of the
    // checkpoint's training period in "test"). The outer ends open: data before or after is train or test.
    if (split.kind == SplitSpec::Kind::Fractions)
        j["split_resolved"] = split_as_times().to_json();
    return j;
}

DatasetConfig dataset_config_from_meta(const nlohmann::json& meta, std::string_view where) {
    DatasetConfig cfg;
    const auto path = [&](const char* key) { return fmt::format("{}.{}", where, key); };
    try {
        cfg.window = WindowSpec::from_json(meta.at("window"), path("window"));
        cfg.stride = detail::json_whole(meta, "stride", path("stride"), 1, std::numeric_limits<int64_t>::max());
        cfg.targets = detail::json_strings(meta, "targets", path("targets"));
        cfg.split = meta.contains("split_resolved")
                        ? SplitSpec::from_json(meta.at("split_resolved"), path("split_resolved"))
                        : SplitSpec::from_json(meta.at("split"), path("split"));
        cfg.stats = NormStats::from_json(meta.at("stats"), path("stats"));
        cfg.window_from_model = true;
        cfg.wind = parse_wind_form(meta.value("wind", std::string("angle")));
    } catch (const nlohmann::json::exception& e) {
        FR_FAIL("dataset metadata JSON: {}", e.what());
    }
    return cfg;
}

namespace {

std::vector<int32_t> resolve_targets(const StationSet& set, const std::vector<std::string>& wanted,
                                     std::vector<std::string>& names) {
    names = !wanted.empty() ? wanted : !set.targets.empty() ? set.targets : set.vars;
    std::vector<int32_t> cols;
    for (const auto& n : names) {
        auto it = std::find(set.vars.begin(), set.vars.end(), n);
        FR_CHECK(it != set.vars.end(), "target \"{}\" is not a variable of the data; variables: {}", n,
                 join_names(set.vars));
        const int32_t c = int32_t(it - set.vars.begin());
        FR_CHECK(std::find(cols.begin(), cols.end(), c) == cols.end(), "target \"{}\" is listed twice", n);
        cols.push_back(c);
    }
    return cols;
}

std::string values_checksum(const StationSet& set) {
    Checksum sum;
    for (const StationInfo& st : set.stations) {
        sum.add(st.id);
        const int64_t layout[] = {st.start, st.rows, st.row_begin};
        sum.add(layout, sizeof layout);
    }
    sum.add(set.values.data(), set.values.size() * sizeof(float));
    return sum.hex();
}

// "Horizon longer than the data": no station can hold a single window.
void check_a_window_fits(const StationSet& set, const DatasetConfig& cfg) {
    const int64_t span = cfg.window.span();
    int64_t longest = 0;
    std::string longest_id;
    for (const auto& st : set.stations)
        if (st.rows > longest) { longest = st.rows; longest_id = st.id; }
    FR_CHECK(span <= longest,
             "{}window ({}) needs {} consecutive rows ({} h at a {} s step) but the longest station ({}) has {}: {}",
             cfg.window_from_model ? "the model's " : "", cfg.window.str(), span, span * set.step / 3600.0, set.step,
             longest_id, counted(size_t(longest), "row", "rows"),
             cfg.window_from_model ? "give stations with longer series (a model's input and horizon are fixed when "
                                     "it is trained)"
                                   : "shorten the input or the horizon");
}

// The normalization statistics: those given, the training split's, or the given ones with the training split's for
// the variables they do not cover.
NormStats normalization_stats(const StationSet& set, const DatasetConfig& cfg, const TimeRange& training) {
    // Statistics from a training split outside the data would fail naming a variable, not the split.
    const TimeRange data_span{set.begin_time(), set.end_time()};
    // Variables the given statistics cover (all, without statistics given: none).
    size_t covered = 0;
    if (cfg.stats)
        for (const std::string& v : set.vars)
            covered += std::find(cfg.stats->vars.begin(), cfg.stats->vars.end(), v) != cfg.stats->vars.end();
    FR_CHECK(!cfg.stats || !cfg.compute_uncovered_stats || covered > 0,
             "normalization statistics ({}) cover none of this data's variables ({}); they cover: {}", cfg.stats->source,
             fmt::format("{}", fmt::join(set.vars, ", ")), fmt::format("{}", fmt::join(cfg.stats->vars, ", ")));
    const bool computes_stats = !cfg.stats || (cfg.compute_uncovered_stats && covered < set.vars.size());
    FR_CHECK(!computes_stats || training.overlaps(data_span), "no training windows: the training split is {}, the "
             "data covers {}: change --split", training.str(), data_span.str());
    NormStats stats = !cfg.stats                    ? NormStats::compute(set, training)
                      : cfg.compute_uncovered_stats ? NormStats::compute(set, training, &*cfg.stats)
                                                    : cfg.stats->select(set.vars);
    stats.validate();
    return stats;
}

// Missing values per variable into the report; returns, per station, the variables it never reports (e.g. ISD
// stations without sea-level pressure), which the report names since they rule out every window of the station.
std::vector<std::vector<std::string>> count_missing(const StationSet& set, DatasetReport& rep) {
    const int nv = set.num_vars();
    const int ns = set.num_stations();
    std::vector<int64_t> per_station(size_t(ns) * size_t(nv), 0);
#pragma omp parallel for schedule(dynamic, 1)
    for (int s = 0; s < ns; ++s) {
        const StationInfo& st = set.stations[size_t(s)];
        const float* p = set.values.data() + st.row_begin * nv;
        int64_t* c = per_station.data() + size_t(s) * size_t(nv);
        for (int64_t i = 0; i < st.rows * nv; ++i)
            if (is_missing(p[i])) ++c[i % nv];
    }
    rep.missing_per_var.assign(size_t(nv), 0);
    for (size_t i = 0; i < per_station.size(); ++i) rep.missing_per_var[i % size_t(nv)] += per_station[i];
    std::vector<std::vector<std::string>> never_present(static_cast<size_t>(ns));
    for (int s = 0; s < ns; ++s)
        for (int v = 0; v < nv; ++v)
            if (set.stations[size_t(s)].rows > 0 && per_station[size_t(s) * size_t(nv) + size_t(v)] ==
                                                        set.stations[size_t(s)].rows)
                never_present[size_t(s)].push_back(set.vars[size_t(v)]);
    return never_present;
}

// The valid window starts of every split into ds.starts; returns each station's count per split. Stations in
// parallel, each into its own run lists, then joined in station order: the result does not depend on the thread
// count, and the lists stay small (runs, not one entry per window).
std::vector<std::array<int64_t, kNumSplits>> collect_windows(const StationSet& set, const DatasetConfig& cfg,
                                                             WindowedDataset& ds) {
    const int S = set.num_stations();
    const int F = set.num_vars();
    const int64_t span = cfg.window.span();
    std::vector<std::array<WindowStarts, kNumSplits>> local(static_cast<size_t>(S));
    std::vector<std::exception_ptr> errors(static_cast<size_t>(S));
#pragma omp parallel for schedule(dynamic, 1)
    for (int s = 0; s < S; ++s) {
        try {
            const StationInfo& st = set.stations[size_t(s)];
            if (st.rows < span) continue;
            const WindowValidity validity(set.values.data() + st.row_begin * F, st.rows, F, ds.target_cols,
                                          cfg.window, st.id);
            const int64_t first_index = floor_div(st.start, set.step);
            for (int k = 0; k < kNumSplits; ++k) {
                const RowRange allowed = rows_in_range(st.start, st.rows, set.step, ds.ranges[size_t(k)]);
                validity.collect(allowed, cfg.stride, first_index, st.row_begin, &local[size_t(s)][size_t(k)]);
            }
        } catch (...) {
            errors[size_t(s)] = std::current_exception();
        }
    }
    for (const auto& e : errors)
        if (e) std::rethrow_exception(e);
    std::vector<std::array<int64_t, kNumSplits>> counts(static_cast<size_t>(S));
    for (int s = 0; s < S; ++s)
        for (int k = 0; k < kNumSplits; ++k) {
            counts[size_t(s)][size_t(k)] = int64_t(local[size_t(s)][size_t(k)].size());
            ds.starts[size_t(k)].append(local[size_t(s)][size_t(k)]);
            local[size_t(s)][size_t(k)] = WindowStarts();
        }
    return counts;
}

// The stations too short for a window, or without one (and why), the stations with windows and the windows per split.
void report_windows(const StationSet& set, const WindowedDataset& ds, int64_t span,
                    const std::vector<std::array<int64_t, kNumSplits>>& counts,
                    const std::vector<std::vector<std::string>>& never_present, DatasetReport& rep) {
    for (int s = 0; s < set.num_stations(); ++s) {
        const StationInfo& st = set.stations[size_t(s)];
        const std::string label = st.name == st.id ? st.id : st.id + " (" + st.name + ")";
        if (st.rows < span) {
            rep.too_short.push_back(fmt::format("{}: {} rows < window span {}", label, st.rows, span));
            continue;
        }
        int64_t any = 0;
        for (int k = 0; k < kNumSplits; ++k) {
            any += counts[size_t(s)][size_t(k)];
            if (counts[size_t(s)][size_t(k)] > 0) ++rep.stations_with_windows[size_t(k)];
        }
        if (any == 0) {
            const auto& absent = never_present[size_t(s)];
            // Its rows may lie outside every split's time range (QA: eval --on train of later years blamed gaps).
            bool a_split_holds_a_window = false;
            for (int k = 0; k < kNumSplits; ++k) {
                const RowRange in = rows_in_range(st.start, st.rows, set.step, ds.ranges[size_t(k)]);
                a_split_holds_a_window |= in.last - in.first >= span;
            }
            rep.without_windows.push_back(!absent.empty() ? label + ": no " + join_names(absent) + " at all"
                                          : a_split_holds_a_window ? label
                                                                   : label + ": no split's time range holds a window "
                                                                             "of its rows");
        }
    }
    for (int k = 0; k < kNumSplits; ++k) {
        rep.windows[size_t(k)] = int64_t(ds.starts[size_t(k)].size());
        if (rep.windows[size_t(k)] == 0 && !ds.ranges[size_t(k)].empty())  // an empty range was asked for
            rep.empty[size_t(k)] = fmt::format("split {} {} has no valid window", split_name(Split(k)),
                                               ds.ranges[size_t(k)].str());
    }
}

}  // namespace

WindowedDataset build_dataset(StationSet&& set, const DatasetConfig& cfg) {
    FR_CHECK(set.num_stations() > 0 && set.num_vars() > 0, "dataset: no station data");
    FR_CHECK(cfg.stride >= 1, "dataset: stride must be >= 1, got {}", cfg.stride);
    cfg.window.validate();

    convert_wind(set, cfg.wind);
    for (const auto& t : cfg.targets) {  // named as read, but the conversion replaced it
        const bool replaced = t == kWindDirection || (t == kWindSpeed && cfg.wind == WindForm::Uv);
        FR_CHECK(cfg.wind == WindForm::Angle || !replaced, "--targets {}: --wind {} replaces it by {} and {} (name "
                 "those)", t, wind_form_name(cfg.wind), kWindU, kWindV);
    }

    WindowedDataset ds;
    ds.wind = cfg.wind;
    ds.window = cfg.window;
    ds.stride = cfg.stride;
    ds.split = cfg.split;
    ds.target_cols = resolve_targets(set, cfg.targets, ds.target_names);
    check_a_window_fits(set, cfg);
    ds.ranges = cfg.split.resolve(set.begin_time(), set.end_time(), set.step);
    ds.stats = normalization_stats(set, cfg, ds.ranges[0]);

    DatasetReport& rep = ds.report;
    rep.stations = set.num_stations();
    rep.rows = set.rows();
    rep.warnings = ds.stats.warnings;
    const std::vector<std::vector<std::string>> never_present = count_missing(set, rep);
    check_values_standardize(set, ds.stats);
    ds.stats.normalize(set.values);
    const auto counts = collect_windows(set, cfg, ds);
    report_windows(set, ds, cfg.window.span(), counts, never_present, rep);
    ds.values_checksum = values_checksum(set);
    ds.data = std::move(set);
    return ds;
}

}  // namespace fusedrnn::data
