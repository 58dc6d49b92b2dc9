// `fusedrnn eval`: a forecaster checkpoint + station data → the same report as training's test
// evaluation (model and persistence; normalized and in original units), standardized with the
// checkpoint's statistics.
#include <array>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "models/forecast_trainer.h"
#include "tools/commands.h"
#include "tools/forecast_checkpoint.h"
#include "tools/forecast_report.h"
#include "tools/progress.h"

namespace fusedrnn::tools {

void register_eval(CLI::App& app) {
    struct Opts {
        std::string checkpoint, split = "test", backend = "auto", json;
        DataOptions data;
        int batch = 4096;
        long max_windows = 0;
    };
    auto o = std::make_shared<Opts>();
    auto* cmd = app.add_subcommand("eval", "Evaluate a forecaster checkpoint on station data");
    cmd->add_option("--checkpoint", o->checkpoint, "Checkpoint (best.safetensors)")->required()->check(CLI::ExistingFile);
    add_data_options(cmd, o->data);
    cmd->add_option("--on", o->split, "Split to evaluate: train, val or test")->capture_default_str();
    cmd->add_option("--backend", o->backend, "auto, cpu, cuda or cudnn")->capture_default_str();
    cmd->add_option("--batch", o->batch, "Windows per batch")->capture_default_str()->check(CLI::PositiveNumber);
    cmd->add_option("--max-windows", o->max_windows, "Evaluate on at most N windows, evenly spaced (0 = all)")
        ->capture_default_str()->check(CLI::NonNegativeNumber);
    cmd->add_option("--json", o->json, "Also write the report as JSON to this file");
    cmd->callback([o, cmd] {
        auto backend = make_backend(o->backend);
        LoadedForecaster f = load_forecaster(o->checkpoint, backend);
        // Without --data (and without synthetic flags), evaluate on the data the model was trained on.
        data::WindowedDataset ds = data::build_dataset(load_stations(data_for_checkpoint(cmd, o->data, f.data)), f.dataset);
        FR_CHECK(ds.data.vars == f.vars, "the data's variables ({}) differ from the checkpoint's ({})",
                 fmt::join(ds.data.vars, ","), fmt::join(f.vars, ","));
        fmt::print(stderr, "{}\n", ds.report.summary());
        int which = o->split == "train" ? 0 : o->split == "val" ? 1 : o->split == "test" ? 2 : -1;
        FR_CHECK(which >= 0, "--on must be train, val or test, got '{}'", o->split);
        ForecastDataset dev = ForecastDataset::from_windowed(*backend, std::move(ds));  // ds keeps its metadata
        const auto starts = evenly_spaced_subset(dev.starts[size_t(which)], size_t(o->max_windows));
        FR_CHECK(!starts.empty(), "no {} windows in this data", o->split);
        const ForecastEvaluation e = evaluate_with_baselines(f.model.get(), *backend, dev, starts, o->batch,
                                                             CountProgress(o->split + ", model and baselines"));
        log_line(fmt::format("evaluated on {} of the {} {} windows", e.model->windows(),
                             dev.starts[size_t(which)].size(), o->split));
        print_forecast_report(o->split, e);
        if (!o->json.empty()) write_json_file(o->json, forecast_report_json(e));
    });
}

}  // namespace fusedrnn::tools
