#include "models/checkpoint.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>
#include <system_error>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace fusedrnn {

namespace {
constexpr const char* kModelKey = "fusedrnn.model";
constexpr const char* kExtraKey = "fusedrnn.extra";
constexpr const char* kOptimizerKey = "fusedrnn.optimizer";
constexpr const char* kOptimizerPrefix = "optimizer.";
}  // namespace

void save_checkpoint(const std::string& path, const Model& model, const nlohmann::json& extra,
                     const Optimizer* optimizer) {
    SafetensorsFile file;
    file.metadata["format"] = "pt";  // what safetensors.torch writes; lets torch tools recognise it
    file.metadata[kModelKey] = model.config().dump();
    file.metadata[kExtraKey] = extra.dump();
    const std::vector<float> values = model.params().values_to_host();
    for (const ParamEntry& e : model.params().layout().entries())
        file.add_f32(e.name, e.shape, values.data() + e.offset);
    if (optimizer) {
        const auto& c = optimizer->config();
        file.metadata[kOptimizerKey] =
            nlohmann::json{{"name", c.name},   {"steps", optimizer->steps()}, {"lr", c.lr},
                           {"momentum", c.momentum}, {"weight_decay", c.weight_decay}, {"beta1", c.beta1},
                           {"beta2", c.beta2}, {"alpha", c.alpha}, {"eps", c.eps}}
                .dump();
        for (const auto& kv : optimizer->state_to_host())
            file.add_f32(kOptimizerPrefix + kv.first, {long(kv.second.size())}, kv.second.data());
    }
    write_safetensors(path, file);
}

Checkpoint read_checkpoint(const std::string& path) {
    Checkpoint c;
    c.path = path;
    c.file = read_safetensors(path);
    auto it = c.file.metadata.find(kModelKey);
    FR_CHECK(it != c.file.metadata.end(),
             "{}: not a fusedrnn checkpoint (no '{}' in its metadata; a plain safetensors file?)", path, kModelKey);
    try {
        c.config = nlohmann::json::parse(it->second);
        auto ex = c.file.metadata.find(kExtraKey);
        c.extra = ex == c.file.metadata.end() ? nlohmann::json::object() : nlohmann::json::parse(ex->second);
    } catch (const nlohmann::json::exception& e) {
        FR_FAIL("{}: corrupted checkpoint metadata: {}", path, e.what());
    }
    FR_CHECK(c.config.is_object() && c.config.contains("kind"), "{}: checkpoint metadata has no model kind", path);
    return c;
}

void load_parameters(const Checkpoint& ckpt, Model& model) {
    const ParamLayout& layout = model.params().layout();
    std::vector<float> host(layout.total());
    for (const ParamEntry& e : layout.entries()) {
        FR_CHECK(ckpt.file.has(e.name), "{}: parameter '{}' {} of the model is missing from the checkpoint", ckpt.path,
                 e.name, shape_str(e.shape));
        const auto& t = ckpt.file.at(e.name);
        FR_CHECK(t.shape == e.shape, "{}: parameter '{}' has shape {} in the checkpoint, but the model needs {}",
                 ckpt.path, e.name, shape_str(t.shape), shape_str(e.shape));
        ckpt.file.copy_f32(e.name, e.shape, host.data() + e.offset);
    }
    for (const std::string& name : ckpt.file.names()) {
        if (name.rfind(kOptimizerPrefix, 0) == 0) continue;
        FR_CHECK(layout.find(name) != nullptr, "{}: checkpoint holds parameter '{}' that this model does not have",
                 ckpt.path, name);
    }
    for (float v : host)
        FR_CHECK(std::isfinite(v), "{}: checkpoint parameters contain NaN or Inf", ckpt.path);
    model.params().values_from_host(host);
}

void load_optimizer(const Checkpoint& ckpt, Optimizer& optimizer) {
    auto it = ckpt.file.metadata.find(kOptimizerKey);
    FR_CHECK(it != ckpt.file.metadata.end(), "{}: checkpoint has no optimizer state to resume from", ckpt.path);
    nlohmann::json meta;
    try {
        meta = nlohmann::json::parse(it->second);
    } catch (const nlohmann::json::exception& e) {
        FR_FAIL("{}: corrupted optimizer metadata: {}", ckpt.path, e.what());
    }
    const std::string name = meta.value("name", "");
    FR_CHECK(name == optimizer.config().name, "{}: checkpoint was trained with optimizer '{}', not '{}'", ckpt.path,
             name, optimizer.config().name);
    // The settings that shape every later update must be the ones the state was built with (a resumed run equals an
    // uninterrupted one only then). The learning rate is the trainer's: its schedule restores it. Checkpoints
    // written before these were recorded have none of them.
    const OptimizerConfig& c = optimizer.config();
    struct Setting {
        const char* key;
        const char* shown;  // the command-line flag where there is one
        float now;
    };
    const Setting settings[] = {{"momentum", "--momentum", c.momentum}, {"weight_decay", "--weight-decay", c.weight_decay},
                                {"beta1", "beta1", c.beta1},             {"beta2", "beta2", c.beta2},
                                {"alpha", "alpha", c.alpha},             {"eps", "eps", c.eps}};
    for (const Setting& s : settings) {
        if (!meta.contains(s.key)) continue;
        const float saved = meta.at(s.key).get<float>();
        FR_CHECK(saved == s.now, "{}: checkpoint was trained with {} {:g}, this run has {:g}: resume with the same "
                 "optimizer flags", ckpt.path, s.shown, saved, s.now);
    }
    std::map<std::string, std::vector<float>> state;
    for (const std::string& n : ckpt.file.names())
        if (n.rfind(kOptimizerPrefix, 0) == 0) state[n.substr(std::string(kOptimizerPrefix).size())] = ckpt.file.get_f32(n);
    optimizer.state_from_host(state, meta.value("steps", 0L));
}

namespace {

void collect_differences(const nlohmann::json& a, const nlohmann::json& b, const std::string& path,
                         std::vector<std::string>& out) {
    if (a == b) return;
    auto shown = [](const nlohmann::json& j) {
        if (j.is_null()) return std::string("absent");
        std::string s = j.dump();
        return s.size() > 48 ? s.substr(0, 45) + "..." : s;
    };
    if (a.is_object() && b.is_object()) {
        std::set<std::string> keys;
        for (const auto& [k, v] : a.items()) keys.insert(k);
        for (const auto& [k, v] : b.items()) keys.insert(k);
        for (const auto& k : keys)
            collect_differences(a.contains(k) ? a.at(k) : nlohmann::json(), b.contains(k) ? b.at(k) : nlohmann::json(),
                                path.empty() ? k : path + "." + k, out);
        return;
    }
    if (a.is_array() && b.is_array() && a.size() == b.size()) {
        for (size_t i = 0; i < a.size(); ++i) collect_differences(a[i], b[i], fmt::format("{}[{}]", path, i), out);
        return;
    }
    out.push_back(fmt::format("{}: {} saved, {} now", path.empty() ? "value" : path, shown(a), shown(b)));
}

}  // namespace

std::string json_differences(const nlohmann::json& saved, const nlohmann::json& now, size_t max_items) {
    std::vector<std::string> items;
    collect_differences(saved, now, "", items);
    if (items.empty()) return "no difference";
    const size_t shown = std::min(items.size(), std::max<size_t>(max_items, 1));
    std::string s = fmt::format("{}", fmt::join(items.begin(), items.begin() + long(shown), "; "));
    if (items.size() > shown) s += fmt::format("; and {} more", items.size() - shown);
    return s;
}

void create_output_folder(const std::string& dir) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    FR_CHECK(!ec, "cannot create the output folder '{}': {}", dir, ec.message());
}

void refuse_to_overwrite_unfinished_run(const std::string& last_path, const std::string& block) {
    if (!std::filesystem::exists(last_path)) return;
    nlohmann::json state;
    try {
        const Checkpoint c = read_checkpoint(last_path);
        if (!c.extra.is_object() || !c.extra.contains(block)) return;
        state = c.extra.at(block);
    } catch (const Error& e) {
        FR_FAIL("{} exists but cannot be read ({}); add --overwrite to replace it, or choose another --out", last_path,
                e.what());
    }
    if (!state.is_object() || state.value("finished", true)) return;
    std::string where = "after epoch " + state.value("epochs_done", state.value("epoch", nlohmann::json(0))).dump();
    if (state.contains("epoch_in_progress") && state["epoch_in_progress"].is_object()) {
        const auto& p = state["epoch_in_progress"];
        where = fmt::format("in epoch {}, step {}/{}", p.value("epoch", 0), p.value("steps_done", 0L), p.value("steps", 0L));
    }
    FR_FAIL("{} holds an unfinished run (stopped {}): add --resume to continue it, or --overwrite to start over "
            "(or choose another --out)", last_path, where);
}

}  // namespace fusedrnn
