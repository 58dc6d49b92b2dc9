// `fusedrnn eval`: a forecaster checkpoint + station data → the same report as training's test
// evaluation (model and persistence; normalized and in original units), standardized with the
// checkpoint's statistics.
#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "fusedrnn/core/data/far_values.h"
#include "fusedrnn/core/data/text.h"
#include "fusedrnn/models/forecast_trainer.h"
#include "fusedrnn/tools/atomic_write.h"
#include "fusedrnn/tools/cli_checks.h"
#include "fusedrnn/tools/commands.h"
#include "fusedrnn/tools/forecast_checkpoint.h"
#include "fusedrnn/tools/forecast_csv.h"
#include "fusedrnn/tools/forecast_plot.h"
#include "fusedrnn/tools/forecast_report.h"
#include "fusedrnn/tools/output_paths.h"
#include "fusedrnn/tools/progress.h"
#include "fusedrnn/tools/run_folder.h"
#include "fusedrnn/tools/split_span.h"
#include "fusedrnn/tools/station_report.h"

namespace fusedrnn::tools {

namespace {

struct EvalOpts {
    std::string checkpoint, split = "test", backend = "auto", json, time_split, forecasts, plot, per_station;
    DataOptions data;
    int batch = 4096;
    long max_windows = 0;
};

// --forecasts: a row per window and lead time, in original units, next to the observed values. A WEATHER-5K test
// year is ~100 GB of it: said before it is written, with the room there is (QA: nothing warned of 1.2 GB for 400k
// windows).
std::unique_ptr<ForecastCsv> open_forecasts_csv(const std::string& path, const data::WindowedDataset& ds,
                                                size_t windows) {
    const double per_row = 60.0 + 2 * 9.0 * double(ds.target_cols.size());
    const double bytes = double(windows) * double(ds.window.horizon) * per_row;
    if (bytes > 1e9) {
        std::error_code ec;
        const auto room = std::filesystem::space(std::filesystem::absolute(path, ec).parent_path(), ec);
        log_line(fmt::format("warning: --forecasts writes a row per window and lead time: about {:.1f} GB for "
                             "{} windows{}; --max-windows N writes fewer", bytes / 1e9, windows,
                             ec ? std::string() : fmt::format(" ({:.1f} GB free there)",
                                                              double(room.available) / 1e9)));
    }
    return std::make_unique<ForecastCsv>(path, ds.target_names, ds.target_cols, ds.stats, ds.window, ds.data.step,
                                         /*with_observed*/ true);
}

// Values absurdly far from the rest of the evaluated span (data/far_values.h: a 1e34 typed into a file, a pressure
// without its decimal point): train warns of them in its training split and predict of inputs far from the training
// data, and eval scores them as they are, so that one value can set a variable's MSE. Said per variable, with the
// farthest one, where it was read and how far it lies from the model's training mean.
void warn_far_values(const data::StationSet& set, const data::TimeRange& span, const data::NormStats& stats) {
    for (const data::FarValues& fv :
         data::find_far_values(set, span, std::vector<bool>(size_t(set.num_vars()), true))) {
        const std::string& var = set.vars[size_t(fv.var)];
        const auto it = std::find(stats.vars.begin(), stats.vars.end(), var);  // none for a wind form converted
        const size_t k = size_t(it - stats.vars.begin());
        const double sds = it == stats.vars.end() ? 0 : std::fabs((fv.farthest - stats.mean[k]) / stats.std[k]);
        const bool one = fv.count == 1;
        log_line(fmt::format(
            "warning: {}: {} absurdly far from the bulk of the evaluated values ({:g}..{:g}; {:g} times that width "
            "beyond it is {:g}..{:g}){}: {:g} at station {}{}; the scores take {} in as {}. If {} no {}, mask {} with "
            "--valid-range {} (or correct the file)",
            var, data::counted(size_t(fv.count), "value lies", "values lie"), fv.bulk_low, fv.bulk_high,
            data::kFarValuesReach, fv.low, fv.high, one ? "" : ", the farthest", double(fv.farthest), fv.where,
            it == stats.vars.end() ? std::string()
                                   : fmt::format(", {} standard deviations from the training mean {:.6g}",
                                                 sds < 1e6 ? fmt::format("{:.0f}", sds) : fmt::format("{:.2g}", sds),
                                                 stats.mean[k]),
            one ? "it" : "them", one ? "it is" : "they are", one ? "it is" : "they are",
            one ? "measurement" : "measurements", one ? "it" : "them", data::valid_range_argument(var)));
    }
}

// The split scored, as times: fractions given with --split are those of this data's span, so the times they came to
// are what repeats the evaluation (QA's recheck: the JSON said "fraction:0.5,0.25").
std::string scored_split(const data::WindowedDataset& ds) {
    if (ds.split.kind != data::SplitSpec::Kind::Fractions) return ds.split.str();
    return fmt::format("{} ({} of this data)", ds.split_as_times().str(), ds.split.str());
}

// The report's files beside the printed report: --json, --per-station, --forecasts, and last --plot, so that a plot
// that cannot be written loses nothing written before it.
void write_eval_files(const EvalOpts& o, const DataOptions& read, const ForecastEvaluation& e,
                      const StationScores& by_station, ForecastCsv* csv, const ReadLabels& labels,
                      const PlotWindows& plot_windows, LoadedForecaster& f, const ForecastDataset& dev,
                      const data::WindowedDataset& ds, const std::string& label, size_t split_windows) {
    if (!o.json.empty()) {
        nlohmann::json report = forecast_report_json(e);
        report["stations"] = station_summary_json(by_station);
        const std::string units = converted_units_of(labels.format, ds.target_names);
        if (!units.empty()) report["original_units"] = units;  // as metrics.json says it
        // What was evaluated, so the file stands on its own (QA: it said neither checkpoint, data nor split).
        report["evaluated"] = {{"checkpoint", o.checkpoint},
                               {"on", label},
                               // --on all: the checkpoint's, whose training period set the extreme-event
                               // thresholds (the dataset's own split put everything in test); under --split the
                               // split scored, the thresholds still the checkpoint's (thresholds_from).
                               {"split", label == "all" ? f.dataset.split.str() : scored_split(ds)},
                               {"windows", e.model->windows()},
                               {"windows_in_split", split_windows},
                               {"data", read.to_json()},
                               // The top-level "model" is the model's scores, as in metrics.json's "test" block;
                               // metrics.json's own top-level "model" is the architecture, given here (QA).
                               {"architecture", f.model->config()}};
        write_json_file(o.json, report);
        log_line(fmt::format("wrote {}", shown_output_name(o.json)));
    }
    if (!o.per_station.empty()) {
        write_station_scores(o.per_station, by_station);
        const size_t n = by_station.rows().size();
        log_line(fmt::format("wrote {} ({} station{})", shown_output_name(o.per_station), n, n == 1 ? "" : "s"));
    }
    if (csv) {
        csv->commit();
        log_line(fmt::format("wrote {} ({}: {} x {}, forecast and observed in {}; times: {})",
                             shown_output_name(o.forecasts), data::counted(csv->rows(), "row", "rows"),
                             data::counted(size_t(e.model->windows()), "window", "windows"),
                             data::counted(size_t(ds.window.horizon), "lead time", "lead times"),
                             labels.units.empty() ? std::string("original units") : labels.units, labels.clock));
    }
    if (!o.plot.empty()) {
        write_forecast_plot(o.plot, plot_windows, *f.model, dev, ds, label,
                            converted_unit(labels.format, ds.target_names.at(0)));
        log_line(plot_windows.starts.empty() ? std::string("no window to plot")
                                             : fmt::format("wrote {} ({}, {} windows)", shown_output_name(o.plot),
                                                           plot_windows.station, plot_windows.starts.size()));
    }
}

}  // namespace

void register_eval(CLI::App& app) {
    auto o = std::make_shared<EvalOpts>();
    auto* cmd = app.add_subcommand("eval", "Evaluate a forecaster checkpoint on station data");
    cmd->add_option("--checkpoint", o->checkpoint, "Checkpoint (best.safetensors)")->required()->check(CLI::ExistingFile);
    add_data_options(cmd, o->data, DataDefaults::Checkpoint);
    cmd->add_option("--on", o->split,
                    "Split to evaluate: train, val, test, or all (every window of the data, whatever its time)")
        ->capture_default_str()
        ->check(CLI::IsMember({"train", "val", "test", "all"}));
    cmd->add_option("--split", o->time_split,
                    "The splits' time ranges, as train's --split (default: the checkpoint's); the normalization "
                    "statistics stay the checkpoint's");
    cmd->add_option("--backend", o->backend, "auto, cpu, cuda or cudnn")->capture_default_str();
    cmd->add_option("--batch", o->batch, "Windows per batch")->capture_default_str()->check(kPositive);
    cmd->add_option("--max-windows", o->max_windows, "Evaluate on at most N windows, evenly spaced (0 = all)")
        ->capture_default_str()->check(kNonNegative);
    cmd->add_option("--json", o->json, "Also write the report as JSON to this file");
    cmd->add_option("--forecasts", o->forecasts,
                    "Also write every evaluated window's forecast next to the observed values, in original units, to "
                    "this CSV (a row per window and lead time: --max-windows keeps it small)");
    cmd->add_option("--per-station", o->per_station,
                    "Also write the scores of each station to this CSV: windows, MSE and MAE (normalized), persistence "
                    "MSE, skill, and RMSE per variable in original units next to persistence's");
    cmd->add_option("--plot", o->plot,
                    "Also draw, as train's forecast.svg, up to two weeks of consecutive windows of one station from "
                    "the evaluated split: observed and forecast first target, to this SVG file");
    cmd->callback([o, cmd] {
        FR_CHECK(o->split != "all" || o->time_split.empty(),
                 "--on all evaluates every window whatever its time: it takes no --split");
        keep_stdout_for_data({o->json, o->forecasts, o->plot, o->per_station});
        auto backend = make_backend(o->backend);
        LoadedForecaster f = load_forecaster(o->checkpoint, backend);
        const DataOptions read = data_for_checkpoint(cmd, o->data, f.data);
        const std::vector<std::pair<std::string, std::string>> outputs = {
            {"--json", o->json}, {"--forecasts", o->forecasts}, {"--plot", o->plot}, {"--per-station", o->per_station}};
        for (const auto& [flag, path] : outputs) {
            // An empty value (an unset shell variable) would write nothing without a word.
            FR_CHECK(!cmd->count(flag) || !path.empty(), "{} needs a file name, got an empty one", flag);
            if (!path.empty()) check_output_file(flag, path, read, {o->checkpoint});
            check_output_outside_run(flag, path, o->checkpoint);
        }
        check_distinct_outputs(outputs);
        data::DatasetConfig config = f.dataset;
        if (o->split == "all") config.split = data::SplitSpec::dates(data::kTimeMin, data::kTimeMin, data::kTimeMin);  // all in test
        else if (!o->time_split.empty()) config.split = split_from_flag(o->time_split, read);
        // Checkpoints from 0.3.13 hold a fraction split as the times it came to (data::WindowedDataset::meta_json);
        // an older one's fractions are taken of this data's span, the trained-on times only on the same files.
        if (o->split != "all" && o->time_split.empty() && config.split.kind == data::SplitSpec::Kind::Fractions)
            log_line(fmt::format("warning: {} holds its split as fractions of the data's span ({}; written before "
                                 "0.3.13): they are taken of this data's span, which puts other times in {} unless "
                                 "the data is the files it trained on, unchanged; --split dates:... scores fixed times "
                                 "(its normalization: {})", o->checkpoint, config.split.str(), o->split,
                                 f.stats.source));
        const std::string on = o->split == "all" ? "test" : o->split;
        const size_t which = on == "train" ? 0 : on == "val" ? 1 : 2;
        // Without --data (and without synthetic flags), evaluate on the data the model was trained on.
        ReadLabels labels;
        data::StationSet stations = load_stations_for_checkpoint(
            cmd, o->data, f.data, &labels, [&f](data::StationSet& s) { conform_to_checkpoint(s, f, false); });
        conform_to_checkpoint(stations, f);
        const size_t stations_read = stations.num_stations();
        live_line("looking for values absurdly far from the rest ...");
        warn_far_values(stations,
                        o->split == "all" ? data::TimeRange{stations.begin_time(), stations.end_time()}
                                          : config.split.resolve(stations.begin_time(), stations.end_time(),
                                                                 stations.step)[which],
                        f.stats);
        live_line(fmt::format("listing the valid windows of {} stations ...", stations.num_stations()));
        data::WindowedDataset ds = data::build_dataset(std::move(stations), config);
        // The data the model trained on, as the checkpoint names it, must still be that data (QA: a relative path
        // run from another folder, or a folder that grew, was scored as the checkpoint's test set without a word).
        // --skip-bad-lines changes nothing in files that read without it, as the trained-on ones did or training
        // skipped them too (QA's recheck: the flag turned the warning off). Nor does a --max-stations that stopped
        // neither reading (fewer stations now than either cap: both read every file, if the folder is as it was), or
        // one that read as many stations as training did: the first N files by name either way (QA's recheck: a cap
        // equal to the station count turned the warning off).
        const auto cap_idle = [&](int cap) { return cap <= 0 || stations_read < size_t(cap); };
        const bool caps_idle = (cap_idle(read.max_stations) && cap_idle(f.data.max_stations)) ||
                               (f.stations > 0 && stations_read == size_t(f.stations));
        const auto reading = [caps_idle](nlohmann::json j) {
            j.erase("skip_bad_lines");
            if (caps_idle) j.erase("max_stations");
            return j;
        };
        if (reading(read.to_json()) == reading(f.data.to_json()) && !f.values_checksum.empty() &&
            ds.values_checksum != f.values_checksum)
            log_line(fmt::format("warning: this is not the data {} trained on (values checksum {} then, {} now): its "
                                 "files changed or grew since{}; give --data for the files meant", o->checkpoint,
                                 f.values_checksum, ds.values_checksum,
                                 std::filesystem::path(read.path).is_relative()
                                     ? ", or the path, relative, leads elsewhere from this folder" : ""));
        // Only the split scored matters here (QA: --on train warned that val had no window).
        log_line(ds.report.summary(o->split == "all", int(which)));
        const std::string stretched = span_stretcher(ds);  // before ds lends its series to the backend
        const data::TimeRange range = ds.ranges[which];
        const std::string split_text = ds.split.str();
        // --on all puts every window in the test split, which leaves the training split empty: the thresholds are
        // still the percentiles of the checkpoint's training period (QA: none at all, so no extreme event and no
        // SEDI for the model or the baselines). So under --split, whose training range is not the model's (QA: the
        // percentiles of the year after training, or of later unseen years under --split dates:,2025-01-01,...).
        const std::optional<data::TimeRange> thresholds_from =
            o->split == "all" || !o->time_split.empty() ? std::optional<data::TimeRange>(
                                    f.dataset.split.resolve(ds.data.begin_time(), ds.data.end_time(), ds.data.step)[0])
                              : std::nullopt;
        live_line("each station's extreme-event thresholds (training percentiles), and the data to the backend ...");
        // ds keeps its metadata.
        ForecastDataset dev = ForecastDataset::from_windowed(*backend, std::move(ds), thresholds_from);
        // The plot's windows: consecutive ones of the whole split, not of --max-windows' evenly spaced sample.
        const PlotWindows plot_windows = o->plot.empty() ? PlotWindows() : choose_plot_windows(dev.starts[which], ds);
        const auto starts = evenly_spaced_subset(dev.starts[which], size_t(o->max_windows));
        FR_CHECK(o->split != "all" || !starts.empty(),
                 "no window of {} rows with every variable present anywhere in this data", dev.window.span());
        FR_CHECK(!starts.empty(), "no {} windows in this data: {} is {} (split {}){}{}", on, on, range.str(), split_text,
                 o->time_split.empty()
                     ? "; that is the checkpoint's split: give --split to evaluate other times, or --on all"
                     : "",
                 stretched.empty() ? "" : "." + stretched);
        const std::string label = o->split == "all" ? "all" : on;
        // ds lent its series and window lists to dev; its stations, statistics and window stay.
        const std::unique_ptr<ForecastCsv> csv =
            o->forecasts.empty() ? nullptr : open_forecasts_csv(o->forecasts, ds, starts.size());
        const ForecastSink csv_sink = csv ? forecast_csv_sink(*csv, ds) : ForecastSink();
        StationScores by_station(ds.data, ds.target_names, dev.target_stds, dev.window.horizon);
        const ForecastSink sink = [&](const EvaluatedBatch& batch) {
            by_station.add(batch);
            if (csv_sink) csv_sink(batch);
        };
        const ForecastEvaluation e = evaluate_with_baselines(f.model.get(), *backend, dev, starts, o->batch,
                                                             CountProgress(label + ", model and baselines"), sink);
        log_line(o->split == "all" ? fmt::format("evaluated on {} of all {} windows", e.model->windows(),
                                                 dev.starts[which].size())
                                   : fmt::format("evaluated on {} of the {} {} windows", e.model->windows(),
                                                 dev.starts[which].size(), label));
        print_forecast_report(label, e, ds.window, converted_units_of(labels.format, ds.target_names));
        if (ds.data.num_stations() > 1) print_station_summary(by_station);
        write_eval_files(*o, read, e, by_station, csv.get(), labels, plot_windows, f, dev, ds, label,
                         dev.starts[which].size());
    });
}

}  // namespace fusedrnn::tools
