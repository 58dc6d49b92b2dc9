#include "fusedrnn/models/checkpoint.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <iterator>
#include <set>
#include <system_error>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "fusedrnn/core/detail/checksum.h"
#include "fusedrnn/core/detail/json_error.h"
#include "fusedrnn/core/detail/json_fields.h"
#include "fusedrnn/core/data/text.h"

namespace fusedrnn {

namespace {
constexpr const char* kModelKey = "fusedrnn.model";
constexpr const char* kExtraKey = "fusedrnn.extra";
constexpr const char* kOptimizerKey = "fusedrnn.optimizer";
constexpr const char* kOptimizerPrefix = "optimizer.";
constexpr const char* kChecksumKey = "fusedrnn.tensors_checksum";

constexpr const char* kMetadataChecksumKey = "fusedrnn.metadata_checksum";
constexpr const char* kOwnPrefix = "fusedrnn.";

// Optimizer state and a trainer's carried state sit beside the parameters in the file.
bool not_a_parameter(const std::string& name) {
    return name.rfind(kOptimizerPrefix, 0) == 0 || name.rfind(kTrainerStatePrefix, 0) == 0;
}

// Every metadata key fusedrnn writes, and has written in any version it still loads ("format" is safetensors.torch's
// "pt"; the checksums came later, and older files lack them). Anything else under "fusedrnn." is refused: the
// checksums are found by name, so a flipped bit in a key's name ("fusedrnn.metadata_chebksum") would otherwise turn
// the check off and the file would load as an older one without it.
constexpr const char* kKnownKeys[] = {"format", kModelKey, kExtraKey, kOptimizerKey, kChecksumKey, kMetadataChecksumKey};

// Whether `a` and `b` are the same length and differ in one byte: what a flipped bit leaves of a key.
bool one_byte_apart(const std::string& a, const std::string& b) {
    if (a.size() != b.size()) return false;
    size_t differ = 0;
    for (size_t i = 0; i < a.size() && differ < 2; ++i) differ += a[i] != b[i];
    return differ == 1;
}

// Keys other tools add (safetensors' own tools, a user's script) are theirs and are let be, unless they are one byte
// away from one of ours: a bit flipped in "fusedrnn." itself ("fwsedrnn.metadata_checksum") must not hide a key.
void check_metadata_keys(const SafetensorsFile& file, const std::string& path) {
    for (const auto& entry : file.metadata) {
        const std::string& key = entry.first;
        if (std::find(std::begin(kKnownKeys), std::end(kKnownKeys), key) != std::end(kKnownKeys)) continue;
        for (const char* known : kKnownKeys)
            FR_CHECK(!one_byte_apart(key, known), "{}: the file is damaged: its metadata key '{}' is one byte off '{}' "
                     "(a flipped bit on disk, or in a copy); use another copy of it, or an earlier checkpoint", path,
                     data::printable(key), known);
        FR_CHECK(key.rfind(kOwnPrefix, 0) != 0, "{}: unknown metadata key '{}': the file is damaged, or was written by "
                 "a newer fusedrnn than this one", path, data::printable(key));
    }
}

// A checksum of the tensors — names, dtypes, shapes and bytes, in name order — written with every checkpoint: a
// flipped bit in the weights or the optimizer state would otherwise load silently (and a resumed run would go on
// from it).
std::string tensors_checksum(const SafetensorsFile& file) {
    std::vector<const SafetensorsTensor*> order;
    for (const auto& t : file.tensors()) order.push_back(&t);
    std::sort(order.begin(), order.end(), [](const auto* a, const auto* b) { return a->name < b->name; });
    Checksum sum;
    for (const SafetensorsTensor* t : order) {
        sum.add(t->name);
        sum.add(t->dtype);
        for (long d : t->shape) sum.add(&d, sizeof d);
        sum.add(t->bytes.data(), t->bytes.size());
    }
    return sum.hex();
}

// The same over the metadata, every entry but the checksums, keys and values in key order. Its JSON is checked
// field by field as it is read, but a flipped bit in a number (a normalization mean, the resume state's step) or in
// a key (fusedrnn.extra read as absent) reads as valid. An edit by hand reads as damage too: whoever edits on
// purpose deletes this entry (the error says so).
std::string metadata_checksum(const SafetensorsFile& file) {
    Checksum sum;
    for (const auto& [key, value] : file.metadata) {  // a std::map: in key order
        if (key == kChecksumKey || key == kMetadataChecksumKey) continue;
        sum.add(key);
        sum.add(value);
    }
    return sum.hex();
}

// Sizes in the metadata must be backed by the file's tensors before a model is built from them: a corrupted
// hidden_size of 2^20 would otherwise allocate terabytes before load_parameters could say that no tensor fits. These
// are necessary conditions of a real checkpoint of any kind (weight_ih_l0 holds G·H·C values, every layer a G·H·H
// weight_hh, the head or embedding a row per output or token), and they bound the model to a few times the file.
// The loaders check each tensor's shape afterwards (load_parameters; the language model's before it is built).
void check_sizes_backed_by_tensors(const Checkpoint& c) {
    if (!c.config.contains("spec")) return;
    double held = 0;  // the model's values in the file (optimizer state aside)
    for (const SafetensorsTensor& t : c.file.tensors())
        if (!not_a_parameter(t.name)) held += double(shape_numel(t.shape));
    const RnnSpec spec = declared_spec(c.config, c.path);
    const double G = spec.gates(), C = spec.input_size, H = spec.hidden_size, L = spec.num_layers;
    FR_CHECK(G * H * C <= held && L * G * H * H <= held,
             "{}: its metadata declares a {} stack, more parameters than the file's {} stored values: the metadata "
             "was edited or the file is damaged", c.path, spec.describe(), held);
    const long outputs = checkpoint_integer(c.config, "outputs", "outputs", 1, kMaxCheckpointSetting, c.path);
    // A direct head holds a row per output. A seq2seq head holds a row per predicted variable and is applied once per
    // lead time, so its outputs (horizon x variables) may well outnumber a small model's values: a tiny model with a
    // long horizon is a real checkpoint. Its horizon is bounded by checkpoint_integer's limit instead.
    const auto decoder = c.config.find("decoder");  // its type is checked where the model is built from it
    if (decoder != c.config.end() && decoder->is_string() && *decoder == "seq2seq") {
        const nlohmann::json& targets = c.config.value("target_inputs", nlohmann::json::array());
        FR_CHECK(targets.is_array() && double(targets.size()) <= held, "{}: its metadata declares {} predicted "
                 "variables, more than the file's {} stored values: the metadata was edited or the file is damaged",
                 c.path, targets.size(), held);
        return;
    }
    FR_CHECK(double(outputs) <= held, "{}: its metadata declares {} outputs, more than the file's {} stored values: the "
             "metadata was edited or the file is damaged", c.path, outputs, held);
}

// The JSON document stored as metadata entry `key` (which must exist). A metadata checksum written with the file has
// matched by now, so a document that does not parse was edited by hand, or damaged in a file without that checksum.
nlohmann::json metadata_json(const SafetensorsFile& file, const char* key, const std::string& path) {
    const std::string& text = file.metadata.at(key);
    try {
        return nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& e) {
        FR_FAIL("{}: the file is damaged or was edited: its metadata entry '{}' is not valid JSON {} (counting from the "
                "start of the entry's text)", path, key, detail::json_parse_problem(e, text));
    }
}

}  // namespace

long checkpoint_integer(const nlohmann::json& obj, const char* key, const std::string& field, long lo, long hi,
                        std::string_view source) {
    FR_CHECK(obj.is_object() && obj.contains(key), "{}: the checkpoint metadata has no {}", source, field);
    const nlohmann::json& v = obj.at(key);
    FR_CHECK(detail::whole_in_range(v, lo, hi), "{}: {} in the checkpoint metadata is {}, not a whole number in [{}, {}] (the file was edited or "
             "is damaged)", source, field, v.dump(), lo, hi);
    return long(v.get<int64_t>());
}

RnnSpec declared_spec(const nlohmann::json& c, std::string_view source) {
    FR_CHECK(c.is_object() && c.contains("spec") && c.at("spec").is_object(), "{}: the checkpoint metadata has no "
             "model spec (fusedrnn.model.spec)", source);
    const nlohmann::json& js = c.at("spec");
    RnnSpec spec;
    try {
        FR_CHECK(js.contains("cell") && js.at("cell").is_string(), "the cell is missing");
        spec.cell = parse_cell(js.at("cell").get<std::string>());
    } catch (const Error& e) {
        FR_FAIL("{}: spec.cell in the checkpoint metadata: {}", source, e.what());
    }
    spec.input_size = int(checkpoint_integer(js, "input_size", "spec.input_size", 1, kMaxCheckpointSetting, source));
    spec.hidden_size = int(checkpoint_integer(js, "hidden_size", "spec.hidden_size", 1, kMaxCheckpointSetting, source));
    spec.num_layers = int(checkpoint_integer(js, "num_layers", "spec.num_layers", 1, 1024, source));
    FR_CHECK(js.contains("bidirectional") && js.at("bidirectional").is_boolean(), "{}: spec.bidirectional in the "
             "checkpoint metadata is missing or not true/false", source);
    spec.bidirectional = js.at("bidirectional").get<bool>();
    return spec;
}

std::vector<StateTensor> state_tensors_of(const Checkpoint& c) {
    std::vector<StateTensor> out;
    const std::string prefix = kTrainerStatePrefix;
    for (const SafetensorsTensor& t : c.file.tensors())
        if (t.name.rfind(prefix, 0) == 0) out.push_back({t.name.substr(prefix.size()), t.shape, c.file.get_f32(t.name)});
    return out;
}

void save_checkpoint(const std::string& path, const Model& model, const nlohmann::json& extra,
                     const Optimizer* optimizer, const std::function<void()>& before_rename,
                     const std::vector<StateTensor>& state) {
    FR_CHECK(optimizer == nullptr || optimizer->made_for(model.params()), "{}: the optimizer given to save_checkpoint "
             "was made for another model's parameters: its state would not match these", path);
    SafetensorsFile file;
    file.metadata["format"] = "pt";  // what safetensors.torch writes; lets torch tools recognise it
    file.metadata[kModelKey] = model.config().dump();
    try {
        file.metadata[kExtraKey] = extra.dump();
    } catch (const nlohmann::json::exception& e) {  // text that is not UTF-8, which JSON cannot hold
        FR_FAIL("{}: the extra metadata given to save_checkpoint cannot be written as JSON: {}", path, e.what());
    }
    const std::vector<float> values = model.params().values_to_host();
    // load_parameters refuses NaN and Inf: a checkpoint that could not be loaded back is not written.
    for (const ParamEntry& e : model.params().layout().entries()) {
        const float* v = values.data() + e.offset;
        FR_CHECK(std::all_of(v, v + e.numel, [](float x) { return std::isfinite(x); }), "{}: not saved: parameter "
                 "'{}' holds NaN or Inf (the model diverged; save an earlier state)", path, e.name);
        file.add_f32(e.name, e.shape, v);
    }
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
    for (const StateTensor& t : state) {
        FR_CHECK(t.values.size() == size_t(shape_numel(t.shape)), "{}: trainer state '{}' holds {} values for shape {}",
                 path, t.name, t.values.size(), shape_str(t.shape));
        file.add_f32(kTrainerStatePrefix + t.name, t.shape, t.values.data());
    }
    file.metadata[kChecksumKey] = tensors_checksum(file);
    file.metadata[kMetadataChecksumKey] = metadata_checksum(file);
    write_safetensors(path, file, before_rename);
}

Checkpoint read_checkpoint(const std::string& path) {
    Checkpoint c;
    c.path = path;
    c.file = read_safetensors(path);
    // Checkpoints from before the metadata checksum was written (or edited by hand, with it deleted) have none.
    const auto meta_sum = c.file.metadata.find(kMetadataChecksumKey);
    FR_CHECK(meta_sum == c.file.metadata.end() || meta_sum->second == metadata_checksum(c.file),
             "{}: the file is damaged: its metadata (model description, settings, training state) does not match "
             "the checksum written with it (a flipped bit on disk, or in a copy); use another copy of it, or an "
             "earlier checkpoint. If you edited the metadata on purpose, delete its '{}' entry", path,
             kMetadataChecksumKey);
    check_metadata_keys(c.file, path);
    auto it = c.file.metadata.find(kModelKey);
    FR_CHECK(it != c.file.metadata.end(),
             "{}: not a fusedrnn checkpoint (no '{}' in its metadata; a plain safetensors file?)", path, kModelKey);
    c.config = metadata_json(c.file, kModelKey, path);
    c.extra = c.file.metadata.count(kExtraKey) ? metadata_json(c.file, kExtraKey, path) : nlohmann::json::object();
    FR_CHECK(c.config.is_object() && c.config.contains("kind") && c.config["kind"].is_string(),
             "{}: checkpoint metadata has no model kind", path);
    // Checkpoints from before the checksum was written have none: nothing to compare.
    const auto sum = c.file.metadata.find(kChecksumKey);
    FR_CHECK(sum == c.file.metadata.end() || sum->second == tensors_checksum(c.file),
             "{}: the file is damaged: its tensor data does not match the checksum written with it (a flipped bit on "
             "disk, or in a copy); use another copy of it, or an earlier checkpoint", path);
    check_sizes_backed_by_tensors(c);
    return c;
}

void check_declared_parameters(const Checkpoint& ckpt, std::string_view what) {
    const std::string model = fmt::format("{} {}", declared_spec(ckpt.config, ckpt.path).describe(), what);
    const ParamLayout layout = naming_source(ckpt.path, [&] { return declared_layout(ckpt.config); });
    size_t held = 0;
    for (const SafetensorsTensor& t : ckpt.file.tensors()) {
        if (not_a_parameter(t.name)) continue;
        ++held;
        const ParamEntry* e = layout.find(t.name);
        FR_CHECK(e != nullptr, "{}: tensor '{}' is not a parameter of the {} its metadata declares: the metadata was "
                 "edited or the file is damaged", ckpt.path, t.name, model);
        FR_CHECK(t.shape == e->shape, "{}: tensor '{}' has shape {}, but the {} its metadata declares needs {}: the "
                 "metadata was edited or the file is damaged", ckpt.path, t.name, shape_str(t.shape), model,
                 shape_str(e->shape));
    }
    FR_CHECK(held == layout.entries().size(), "{}: its metadata declares a {} of {} parameter tensors, but the file "
             "holds {}: the metadata was edited or the file is damaged", ckpt.path, model, layout.entries().size(), held);
}

namespace {

// A model's config without what does not change the function its parameters compute (dropout is off outside
// training, and a model may be trained with it and used without).
nlohmann::json structure(nlohmann::json config) {
    if (config.is_object()) {
        config.erase("dropout");
        config.erase("dropout_locked");
    }
    return config;
}

}  // namespace

void load_parameters(const Checkpoint& ckpt, Model& model) {
    // Names and shapes alone would let a GRU's weights into a reset-before GRU, or a tanh RNN's into a ReLU one.
    const nlohmann::json saved = structure(ckpt.config), now = structure(model.config());
    FR_CHECK(saved == now, "{}: the checkpoint holds another model than this one ({})", ckpt.path,
             json_differences(saved, now));
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
        if (not_a_parameter(name)) continue;
        FR_CHECK(layout.find(name) != nullptr, "{}: checkpoint holds parameter '{}' that this model does not have",
                 ckpt.path, name);
    }
    for (float v : host)
        FR_CHECK(std::isfinite(v), "{}: checkpoint parameters contain NaN or Inf", ckpt.path);
    model.params().values_from_host(host);
}

void load_optimizer_to_resume(const Checkpoint& ckpt, Optimizer& optimizer) {
    try {
        load_optimizer(ckpt, optimizer);
    } catch (const OutOfDeviceMemory&) {
        throw;
    } catch (const Error& e) {
        FR_FAIL("--resume: {}", e.what());
    }
}

nlohmann::json check_optimizer_settings(const Checkpoint& ckpt, const OptimizerConfig& c) {
    auto it = ckpt.file.metadata.find(kOptimizerKey);
    FR_CHECK(it != ckpt.file.metadata.end(), "{}: checkpoint has no optimizer state to resume from", ckpt.path);
    const nlohmann::json meta = metadata_json(ckpt.file, kOptimizerKey, ckpt.path);
    // Every version of fusedrnn has written these three: one missing, or of another type, is an edit or damage (the
    // step count decides Adam's bias correction, so a missing one must not pass for zero).
    FR_CHECK(meta.is_object(), "{}: the file is damaged: its optimizer metadata ({}) is not a JSON object; resume from "
             "an unedited checkpoint", ckpt.path, kOptimizerKey);
    for (const char* key : {"name", "steps", "lr"})
        FR_CHECK(meta.contains(key), "{}: the file is damaged: its optimizer metadata has no {}.{}, which every "
                 "version of fusedrnn writes; resume from an unedited checkpoint", ckpt.path, kOptimizerKey, key);
    FR_CHECK(meta.at("name").is_string(), "{}: the file is damaged: its optimizer name ({}.name) is {}, not a name; "
             "resume from an unedited checkpoint", ckpt.path, kOptimizerKey, meta.at("name").dump());
    const nlohmann::json& lr = meta.at("lr");
    FR_CHECK(lr.is_number() && std::isfinite(lr.get<double>()) && lr.get<double>() >= 0, "{}: the file is damaged: "
             "its learning rate ({}.lr) is {}, not a number >= 0; resume from an unedited checkpoint", ckpt.path,
             kOptimizerKey, lr.dump());
    const std::string name = meta.at("name").get<std::string>();
    // Worded as the settings below (QA: "with optimizer 'adam', not 'sgd'" named no flag).
    FR_CHECK(name == c.name, "{}: checkpoint was trained with --optimizer {}, this run has {}: resume with the same "
             "optimizer flags", ckpt.path, name, c.name);
    // The settings that shape every later update must be the ones the state was built with (a resumed run equals an
    // uninterrupted one only then). The learning rate is the trainer's: its schedule restores it. Checkpoints
    // written before these were recorded have none of them.
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
        FR_CHECK(meta.at(s.key).is_number(), "{}: the file is damaged: its optimizer's {} ({}.{}) is {}, not a number; "
                 "resume from an unedited checkpoint", ckpt.path, s.key, kOptimizerKey, s.key, meta.at(s.key).dump());
        const float saved = meta.at(s.key).get<float>();
        // A setting with a flag: use the same flag. One without (Adam's betas, ...) is fixed on the command line, so
        // there a file that differs was edited or written by another version; a program sets it in OptimizerConfig
        // (QA: an API program's other eps was blamed on the file).
        FR_CHECK(saved == s.now, "{}: checkpoint was trained with {} {:g}, this run has {:g}: {}", ckpt.path, s.shown,
                 saved, s.now, s.shown[0] == '-' ? "resume with the same optimizer flags"
                                                 : "no command-line flag sets it, so the file was edited or written by "
                                                   "another version of fusedrnn (or a program's OptimizerConfig "
                                                   "differs from the one it was saved with); resume from an unedited "
                                                   "checkpoint");
    }
    return meta;
}

void load_optimizer(const Checkpoint& ckpt, Optimizer& optimizer) {
    const nlohmann::json meta = check_optimizer_settings(ckpt, optimizer.config());
    std::map<std::string, std::vector<float>> state;
    for (const std::string& n : ckpt.file.names())
        if (n.rfind(kOptimizerPrefix, 0) == 0) state[n.substr(std::string(kOptimizerPrefix).size())] = ckpt.file.get_f32(n);
    // A whole number as written: get<long>() would take 3.9 as 3 and 1e30 as anything.
    const long steps = long(detail::json_whole(meta, "steps", fmt::format("{}: the optimizer's step count "
                                               "(fusedrnn.optimizer.steps)", ckpt.path), 0,
                                               std::numeric_limits<long>::max()));
    try {
        optimizer.state_from_host(state, steps);
    } catch (const Error& e) {
        FR_FAIL("{}: {}", ckpt.path, e.what());
    } catch (const nlohmann::json::exception& e) {
        FR_FAIL("{}: corrupted optimizer metadata: {}", ckpt.path, e.what());
    }
}

namespace {

void collect_differences(const nlohmann::json& a, const nlohmann::json& b, const std::string& path,
                         std::vector<std::string>& out) {
    if (a == b) return;
    auto shown = [](const nlohmann::json& j) {
        if (j.is_null()) return std::string("absent");
        if (j.is_number_float()) return data::shortest_text(j.get<double>());
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

std::string run_arithmetic(const Backend<float>& backend) {
    const std::string details = backend.details();
    return details.empty() ? backend.name() : fmt::format("{} ({})", backend.name(), details);
}

std::string resumed_arithmetic_note(const nlohmann::json& state, const std::string& now, const std::string& last_path) {
    if (!state.is_object() || !state.contains("arithmetic") || !state.at("arithmetic").is_string()) return {};
    const std::string then = state.at("arithmetic").get<std::string>();
    if (then == now) return {};
    // Checkpoints before 0.3.5 did not record the CPU backend's OpenBLAS kernels: compare what they did record.
    const size_t blas = now.find(", OpenBLAS ");
    if (blas != std::string::npos && then.find(", OpenBLAS ") == std::string::npos && then == now.substr(0, blas) + ")")
        return {};
    return fmt::format("--resume: {} was trained on {}, this run computes on {}: it goes on, but may differ from an "
                       "uninterrupted run by rounding (bit for bit only on the same)", last_path, then, now);
}

void create_output_folder(const std::string& dir) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    FR_CHECK(!ec, "cannot create the output folder '{}': {}", dir, ec.message());
}

namespace {
std::string resume_way_on(const std::string& last_path) {
    return fmt::format("put it back, or start a new run (--overwrite) rather than --resume from {}", last_path);
}
}  // namespace

Checkpoint read_best_checkpoint_for_resume(const std::string& best_path, int best_epoch, const std::string& last_path,
                                           const std::function<void(const Checkpoint&)>& check) {
    FR_CHECK(std::filesystem::exists(best_path), "--resume: {} (the best model, epoch {}) is missing: {}", best_path,
             best_epoch, resume_way_on(last_path));
    try {
        Checkpoint c = read_checkpoint(best_path);
        if (check) check(c);
        return c;
    } catch (const Error& e) {
        FR_FAIL("--resume: {} (the best model, epoch {}) cannot be read ({}): {}", best_path, best_epoch, e.what(),
                resume_way_on(last_path));
    }
}

bool best_checkpoint_is_behind(const std::string& best_path, const nlohmann::json& config, const char* block,
                               const nlohmann::json& last_history) {
    if (!std::filesystem::exists(best_path)) return true;
    Checkpoint b;
    try {
        b = read_checkpoint(best_path);
    } catch (const Error&) {
        return false;  // unreadable: not what a stop between two atomic writes leaves
    }
    if (b.config != config || !b.extra.is_object() || !b.extra.contains(block) || !b.extra.at(block).is_object())
        return false;
    const nlohmann::json& h = b.extra.at(block).value("history", nlohmann::json());
    if (!h.is_array() || !last_history.is_array() || h.size() >= last_history.size()) return false;
    for (size_t i = 0; i < h.size(); ++i)
        if (h[i] != last_history[i]) return false;
    return true;
}

void fail_not_the_runs_best(const std::string& best_path, const std::string& what, const std::string& last_path) {
    FR_FAIL("--resume: {} is not the best model of this run ({}): {}", best_path, what, resume_way_on(last_path));
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
