#include "fusedrnn/models/language_model.h"

#include <string>
#include <utility>

#include "fusedrnn/models/checkpoint.h"

namespace fusedrnn {

namespace {
constexpr const char* kLmFormat = "fusedrnn.lm";
constexpr int kLmVersion = 1;
}  // namespace

const char* to_string(LmMode mode) { return mode == LmMode::Window ? "window" : "stream"; }

LmMode parse_lm_mode(std::string_view name) {
    if (name == "window") return LmMode::Window;
    if (name == "stream") return LmMode::Stream;
    FR_FAIL("unknown language-model mode '{}': expected 'window' (fixed context, K tokens → next) or "
            "'stream' (truncated BPTT over long text)", name);
}

void LmSettings::validate() const {
    // The upper bound is the one a checkpoint is read back with: nothing trained here may be unloadable.
    // Named for the API and the command line alike (QA: a program setting LmSettings::bptt was told of "--bptt").
    for (const auto& [name, value] :
         {std::pair{"context", context}, std::pair{"bptt", bptt}, std::pair{"streams", streams}})
        FR_CHECK(value >= 1 && value <= kMaxCheckpointSetting, "{} (--{}) must be in [1, {}], got {}", name, name,
                 kMaxCheckpointSetting, value);
}

nlohmann::json LmSettings::to_json() const {
    nlohmann::json j{{"format", kLmFormat}, {"version", kLmVersion}, {"mode", to_string(mode)},
                     {"context", context},  {"bptt", bptt},          {"streams", streams}};
    if (unk_in_training) j["unk_in_training"] = *unk_in_training;
    return j;
}

LmSettings LmSettings::from_json(const nlohmann::json& j, std::string_view source) {
    try {
        FR_CHECK(j.is_object() && j.value("format", "") == kLmFormat,
                 "{}: extra[\"lm\"] is not a fusedrnn language-model block", source);
        FR_CHECK(j.at("version").is_number_integer() && j.at("version").get<int64_t>() == kLmVersion,
                 "{}: language-model block version {} is not supported (this build reads version {})", source,
                 j.at("version").dump(), kLmVersion);
        LmSettings s;
        try {
            s.mode = parse_lm_mode(j.at("mode").get<std::string>());
        } catch (const Error& e) {
            FR_FAIL("{}: lm.mode in the checkpoint metadata: {}", source, e.what());
        }
        s.context = int(checkpoint_integer(j, "context", "lm.context", 1, kMaxCheckpointSetting, source));
        s.bptt = int(checkpoint_integer(j, "bptt", "lm.bptt", 1, kMaxCheckpointSetting, source));
        s.streams = int(checkpoint_integer(j, "streams", "lm.streams", 1, kMaxCheckpointSetting, source));
        if (j.contains("unk_in_training")) {
            FR_CHECK(j.at("unk_in_training").is_boolean(), "{}: lm.unk_in_training in the checkpoint metadata is {}, "
                     "not true or false", source, j.at("unk_in_training").dump());
            s.unk_in_training = j.at("unk_in_training").get<bool>();
        }
        return s;
    } catch (const nlohmann::json::exception& e) {
        FR_FAIL("{}: malformed language-model block in the checkpoint metadata: {}", source, e.what());
    }
}

LanguageModel::LanguageModel(std::unique_ptr<SequenceModel> m, text::Tokenizer tok, LmSettings s)
    : model(std::move(m)), tokenizer(std::move(tok)), settings(s) {
    // What load_language_model requires of a file, required of the model: one that passed here saves a file that
    // loads, and generates without meeting a token id its embedding lacks.
    FR_CHECK(model != nullptr, "LanguageModel: no model");
    FR_CHECK(model->vocab() > 0, "LanguageModel: the model takes features, not token ids (a SequenceModel with vocab "
             "0); a language model embeds its tokenizer's vocabulary");
    FR_CHECK(model->vocab() == tokenizer.size() && model->outputs() == tokenizer.size(),
             "LanguageModel: the model has {} embedding rows and {} outputs but its tokenizer has {} tokens",
             model->vocab(), model->outputs(), tokenizer.size());
    // A reverse direction reads the tokens the model is asked to predict: trained on next-token targets it learns to
    // copy them (QA: loss 0.16 on random tokens whose entropy is 2.30), and generation has no future to read.
    FR_CHECK(!model->spec().bidirectional, "LanguageModel: a language model predicts the next token from the ones "
             "before it; a bidirectional stack would read the token it predicts. Use a unidirectional one");
    settings.validate();
}

std::string LanguageModel::unit_name(bool plural) const {
    const char* unit = tokenizer.kind() == text::TokenizerKind::Word ? "word" : "character";
    return plural ? std::string(unit) + "s" : std::string(unit);
}

bool LanguageModel::unk_in_training() const {
    if (settings.unk_in_training) return *settings.unk_in_training;
    const text::TokenizerOptions& o = tokenizer.options();
    return (o.max_size > 0 && tokenizer.size() >= o.max_size) || o.min_count > 1;
}

std::string LanguageModel::unk_scoring_effect() const {
    // Predicting <unk> where a <unk> is counts as a hit. A model that met <unk> in training predicts it readily, so
    // its figures improve; one that never met it gives it almost no probability, so each costs a large loss (QA: one
    // unknown word of 204 took an Aesop model's loss from 0.019 to 0.133 nats).
    if (unk_in_training())
        return fmt::format("the model learned <unk> in training and predicting it counts as a hit, so the loss and "
                           "accuracy look better than on a text the model knows every {} of", unit_name(false));
    return fmt::format("the model never met <unk> in training (its vocabulary is every {} of its training text), so "
                       "each costs a large loss: the loss and perplexity look worse than the model is on text it knows",
                       unit_name(false));
}

LanguageModel make_language_model(std::shared_ptr<Backend<float>> backend, const RnnSpec& spec,
                                  text::Tokenizer tokenizer, const LmSettings& settings, uint64_t seed) {
    settings.validate();
    // A vocabulary of only <unk> cannot be a language model (and the tokenizer forbids it anyway).
    FR_CHECK(tokenizer.size() >= 2, "language model: the vocabulary has {} token(s); it needs at least one real token",
             tokenizer.size());
    const int V = tokenizer.size();
    auto model = std::make_unique<SequenceModel>(std::move(backend), spec, V, V, seed);
    return LanguageModel(std::move(model), std::move(tokenizer), settings);
}

void save_language_model(const std::string& path, const LanguageModel& lm, const nlohmann::json& training,
                         const Optimizer* optimizer, const std::function<void()>& before_rename,
                         const std::vector<StateTensor>& state) {
    nlohmann::json extra;
    extra["tokenizer"] = nlohmann::json::parse(lm.tokenizer.to_json());
    extra["lm"] = lm.settings.to_json();
    extra["training"] = training;
    save_checkpoint(path, *lm.model, extra, optimizer, before_rename, state);
}

text::Tokenizer stored_tokenizer(const nlohmann::json& extra, const std::string& path) {
    FR_CHECK(extra.is_object() && extra.contains("tokenizer"), "{} is a sequence-model checkpoint without a "
             "tokenizer, not a language model written by `fusedrnn lm-train`", path);
    try {
        return text::Tokenizer::from_json(extra.at("tokenizer").dump());
    } catch (const Error& e) {
        FR_FAIL("{} is damaged: the tokenizer stored in it is invalid: {}", path, e.what());
    }
}

LmSettings stored_settings(const nlohmann::json& extra, const std::string& path) {
    // A tokenizer without the block beside it: a file cut or edited, not another kind of model.
    FR_CHECK(extra.is_object() && extra.contains("lm"), "{} is damaged: it stores a tokenizer but not the language "
             "model's settings (its \"lm\" block: mode, context, bptt, streams)", path);
    try {
        return LmSettings::from_json(extra.at("lm"), path);
    } catch (const Error& e) {  // "<path>: lm.mode in the checkpoint metadata: ..." is damage, and says so
        const std::string what = e.what();
        const std::string own = path + ": ";
        FR_FAIL("{} is damaged: {}", path, what.rfind(own, 0) == 0 ? what.substr(own.size()) : what);
    }
}

StoredLanguageModel check_stored_language_model(const Checkpoint& ckpt) {
    const std::string& path = ckpt.path;
    const std::string kind = ckpt.config.value("kind", "unknown");
    FR_CHECK(kind != "forecaster", "{} is a forecaster checkpoint, not a language model (use `fusedrnn predict` "
             "or `fusedrnn eval` with it)", path);
    FR_CHECK(kind == "sequence", "{} holds a '{}' model, not a language model", path, kind);
    text::Tokenizer tok = stored_tokenizer(ckpt.extra, path);
    const LmSettings settings = stored_settings(ckpt.extra, path);
    // Bounded before they size anything (a hand-edited 1e12 must not wrap to a small int).
    const long vocab = checkpoint_integer(ckpt.config, "vocab", "vocab", 2, kMaxCheckpointSetting, path);
    const long outputs = checkpoint_integer(ckpt.config, "outputs", "outputs", 2, kMaxCheckpointSetting, path);
    FR_CHECK(vocab == long(tok.size()) && outputs == long(tok.size()), "{} is damaged: the model has {} "
             "embedding rows and {} outputs but its tokenizer has {} tokens", path, vocab, outputs, tok.size());
    return {std::move(tok), settings};
}

LanguageModel load_language_model(const std::string& path, std::shared_ptr<Backend<float>> backend) {
    Checkpoint ckpt = read_checkpoint(path);
    StoredLanguageModel stored = check_stored_language_model(ckpt);
    check_declared_parameters(ckpt, "language model");
    auto model = naming_source(path, [&] { return SequenceModel::from_config(std::move(backend), ckpt.config); });
    load_parameters(ckpt, *model);
    LanguageModel lm(std::move(model), std::move(stored.tokenizer), stored.settings);
    if (ckpt.extra.contains("training")) lm.training = ckpt.extra["training"];
    return lm;
}

}  // namespace fusedrnn
