#include "tools/forecast_checkpoint.h"

#include <algorithm>
#include <map>
#include <optional>

namespace fusedrnn::tools {

LoadedForecaster load_forecaster(const std::string& path, std::shared_ptr<Backend<float>> backend) {
    LoadedForecaster f;
    f.checkpoint = read_checkpoint(path);
    const std::string kind = f.checkpoint.config.value("kind", "");
    FR_CHECK(kind == "forecaster", "{} is a {} checkpoint, not a forecaster", path,
             kind == "sequence" ? "language-model" : kind);
    f.model = Forecaster::from_config(std::move(backend), f.checkpoint.config);
    load_parameters(f.checkpoint, *f.model);
    try {
        const auto& meta = f.checkpoint.extra.at("dataset");
        f.vars = meta.at("vars").get<std::vector<std::string>>();
        f.dataset = data::dataset_config_from_meta(meta);
        f.stats = *f.dataset.stats;
        f.data = DataOptions::from_json(f.checkpoint.extra.at("data"));
    } catch (const nlohmann::json::exception& e) {
        FR_FAIL("{}: forecaster checkpoint lacks its dataset description: {}", path, e.what());
    }
    return f;
}

}  // namespace fusedrnn::tools
