#include "fusedrnn/tools/forecast_checkpoint.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>

#include <fmt/format.h>

#include "fusedrnn/core/data/text.h"
#include "fusedrnn/core/data/wind_components.h"
#include "fusedrnn/core/detail/json_error.h"
#include "fusedrnn/core/detail/json_fields.h"
#include "fusedrnn/tools/progress.h"

namespace fusedrnn::tools {

namespace {

// What eval and predict rely on and a hand-edited or corrupted checkpoint could break: the model reads one input
// per variable, the statistics are the variables', each target is a variable, and the outputs are horizon x targets.
void check_consistent(const LoadedForecaster& f) {
    FR_CHECK(f.model->spec().input_size == int(f.vars.size()),
             "the model reads {} inputs, but the checkpoint's data has {} variables ({})", f.model->spec().input_size,
             f.vars.size(), fmt::join(f.vars, ","));
    FR_CHECK(f.stats.vars == f.vars, "the normalization statistics are for {}, but the data's variables are {}",
             fmt::join(f.stats.vars, ","), fmt::join(f.vars, ","));
    const auto& targets = f.dataset.targets;
    for (size_t i = 0; i < targets.size(); ++i) {
        FR_CHECK(std::find(f.vars.begin(), f.vars.end(), targets[i]) != f.vars.end(),
                 "target '{}' is not one of the variables ({})", targets[i], fmt::join(f.vars, ","));
        FR_CHECK(std::find(targets.begin(), targets.begin() + long(i), targets[i]) == targets.begin() + long(i),
                 "target '{}' is listed twice", targets[i]);
    }
    FR_CHECK(!targets.empty() && int64_t(f.model->outputs()) == int64_t(f.dataset.window.horizon) * int64_t(targets.size()),
             "the model has {} outputs, but the window's horizon {} x {} targets would need {}", f.model->outputs(),
             f.dataset.window.horizon, targets.size(), int64_t(f.dataset.window.horizon) * int64_t(targets.size()));
    FR_CHECK(f.dataset.stride >= 1, "the window stride is {} (must be >= 1)", f.dataset.stride);
}

}  // namespace

LoadedForecaster load_forecaster(const std::string& path, std::shared_ptr<Backend<float>> backend) {
    LoadedForecaster f;
    f.checkpoint = read_checkpoint(path);
    const std::string kind = f.checkpoint.config.value("kind", "");
    FR_CHECK(kind == "forecaster", "{} is a {} checkpoint, not a forecaster{}", path,
             kind == "sequence" ? "language-model" : kind,
             kind == "sequence" ? " (of `fusedrnn lm-train`): use it with `fusedrnn generate` or `fusedrnn perplexity`"
                                : "");
    check_declared_parameters(f.checkpoint, "forecaster");
    // Every message below names the file, also those of the parsers deep down.
    naming_source(path, [&] {
        f.model = Forecaster::from_config(std::move(backend), f.checkpoint.config);
        load_parameters(f.checkpoint, *f.model);
        try {
            const auto& meta = f.checkpoint.extra.at("dataset");
            f.vars = fusedrnn::detail::json_strings(meta, "vars", "dataset.vars");
            if (meta.contains("step_seconds"))  // not recorded by the earliest versions
                f.step_seconds = fusedrnn::detail::json_whole(meta, "step_seconds", "dataset.step_seconds", 0,
                                                    std::numeric_limits<int64_t>::max());
            f.dataset = data::dataset_config_from_meta(meta);
            if (meta.contains("values_checksum") && meta.at("values_checksum").is_string())
                f.values_checksum = meta.at("values_checksum").get<std::string>();
            if (meta.contains("stations"))
                f.stations = fusedrnn::detail::json_whole(meta, "stations", "dataset.stations", 0,
                                                          std::numeric_limits<int64_t>::max());
            f.stats = *f.dataset.stats;
            f.data = DataOptions::from_json(f.checkpoint.extra.at("data"));
        } catch (const nlohmann::json::out_of_range& e) {
            FR_FAIL("forecaster checkpoint lacks its dataset description: {}", e.what());
        } catch (const nlohmann::json::exception& e) {  // present, but not of the type fusedrnn writes
            FR_FAIL("forecaster checkpoint: a value in its dataset description is of the wrong type: {}",
                    fusedrnn::detail::json_access_problem(e));
        }
        check_consistent(f);
    });
    return f;
}

namespace {

std::string step_text(int64_t seconds) {
    return seconds % 60 == 0 ? fmt::format("{} min", seconds / 60) : fmt::format("{} s", seconds);
}

}  // namespace

void conform_to_checkpoint(data::StationSet& set, const LoadedForecaster& f, bool say_reordered) {
    FR_CHECK(f.step_seconds <= 0 || set.step == f.step_seconds,
             "the data's time step is {}, but the checkpoint's model was trained on a {} step: its {} input steps and "
             "{} lead times would mean other times; read data on the checkpoint's grid{}",
             step_text(set.step), step_text(f.step_seconds), f.dataset.window.input_len, f.dataset.window.horizon,
             f.data.effective_format() == "csv" ? fmt::format(" (--csv-step-minutes {:g})", f.step_seconds / 60.0)
                                                : std::string());
    // A model trained on the wind's components takes them (core/data/wind_components.h).
    data::convert_wind(set, f.dataset.wind);
    if (set.vars == f.vars) return;
    std::vector<std::string> missing, extra;
    for (const auto& v : f.vars)
        if (std::find(set.vars.begin(), set.vars.end(), v) == set.vars.end()) missing.push_back(v);
    for (const auto& v : set.vars)
        if (std::find(f.vars.begin(), f.vars.end(), v) == f.vars.end()) extra.push_back(v);
    FR_CHECK(missing.empty() && extra.empty(),
             "the data's variables ({}) are not the checkpoint's ({}){}{}", data::shown_csv_list(set.vars),
             data::shown_csv_list(f.vars),
             missing.empty() ? "" : fmt::format("; missing: {}", data::shown_csv_list(missing)),
             extra.empty() ? "" : fmt::format("; not in the model: {}", data::shown_csv_list(extra)));
    // The same variables in another column order: move every row's values into the checkpoint's order.
    const size_t F = f.vars.size();
    std::vector<size_t> from(F);
    for (size_t v = 0; v < F; ++v) from[v] = size_t(set.var_index(f.vars[v]));
    std::vector<float> row(F);
    for (size_t r = 0; r < set.values.size() / F; ++r) {
        float* values = set.values.data() + r * F;
        for (size_t v = 0; v < F; ++v) row[v] = values[from[v]];
        std::copy(row.begin(), row.end(), values);
    }
    set.vars = f.vars;
    if (say_reordered)
        log_line(fmt::format("the data's columns are in another order than the checkpoint's: read as {}",
                             fmt::join(f.vars, ",")));
}

}  // namespace fusedrnn::tools
