// Language-model checkpoints: a saved and reloaded model generates exactly the same text for the same
// seed (both modes, sampled, not greedy), keeps its tokenizer and mode, and the wrong kind of
// checkpoint gets a clear error.
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fusedrnn/core/text/sampling.h"
#include "fusedrnn/core/safetensors.h"
#include "fusedrnn/models/checkpoint.h"
#include "fusedrnn/models/lm_generate.h"
#include "fusedrnn/tests/test_support.h"

namespace fusedrnn {
namespace {

using testing::error_of;

LanguageModel random_model(text::TokenizerKind kind, const std::string& corpus, const LmSettings& s, uint64_t seed) {
    text::TokenizerOptions to;
    to.kind = kind;
    to.lowercase = true;
    return make_language_model(make_backend("cpu"), {CellType::Gru, 8, 16, 2, false},
                               text::Tokenizer::build(corpus, to), s, seed);
}

std::vector<int32_t> sample(LanguageModel& lm, const std::string& prompt, uint64_t seed) {
    text::SamplingOptions so;
    so.temperature = 1.3;  // flat enough that every draw matters
    so.top_k = 20;
    text::Sampler sampler(so, seed);
    LmGenerator gen(lm);
    return gen.generate(prompt, 40, sampler);
}

TEST(LmCheckpoint, ReloadedModelGeneratesIdenticalText) {
    const std::string dir = testing::temp_dir();
    const uint64_t seed = testing::test_seed();
    struct Case {
        text::TokenizerKind kind;
        LmMode mode;
        std::string corpus, prompt;
    };
    const Case cases[] = {
        {text::TokenizerKind::Word, LmMode::Window, "The mice had a general council, to consider what to do.",
         "had a general"},
        {text::TokenizerKind::Char, LmMode::Stream, "Truyện Kiều: trăm năm trong cõi người ta", "trăm"},
    };
    for (const Case& c : cases) {
        LmSettings s;
        s.mode = c.mode;
        s.context = 3;
        s.bptt = 7;
        s.streams = 3;
        LanguageModel a = random_model(c.kind, c.corpus, s, seed);
        save_language_model(dir + "/lm.safetensors", a, {{"epoch", 4}});
        LanguageModel b = load_language_model(dir + "/lm.safetensors", make_backend("cpu"));

        EXPECT_EQ(b.settings.mode, c.mode);
        EXPECT_EQ(b.settings.context, 3);
        EXPECT_EQ(b.settings.bptt, 7);
        EXPECT_EQ(b.settings.streams, 3);
        EXPECT_EQ(b.tokenizer.vocab().tokens(), a.tokenizer.vocab().tokens());
        EXPECT_EQ(b.tokenizer.kind(), c.kind);
        EXPECT_TRUE(b.tokenizer.options().lowercase);
        EXPECT_EQ(b.training["epoch"], 4);
        const auto want = sample(a, c.prompt, seed);
        EXPECT_EQ(sample(b, c.prompt, seed), want);
        EXPECT_EQ(sample(b, c.prompt, seed), want);  // the generator resets its state per prompt
        EXPECT_NE(sample(b, c.prompt, seed + 1), want);
    }
}

// A LanguageModel put together by hand is checked as a loaded one is: no model, a features model, or a vocabulary
// other than the tokenizer's is refused when it is made, not when its saved file fails to load (or when generation
// meets a token id its embedding lacks).
TEST(LmCheckpoint, ALanguageModelMadeByHandIsCheckedAsALoadedOne) {
    text::TokenizerOptions to;
    to.kind = text::TokenizerKind::Word;
    const text::Tokenizer tok = text::Tokenizer::build("a b c d e f g", to);  // 8 tokens with <unk>
    auto be = make_backend("cpu");
    const RnnSpec spec{CellType::Gru, 4, 6, 1, false};
    EXPECT_NE(error_of([&] { LanguageModel(nullptr, tok, LmSettings{}); }).find("LanguageModel: no model"),
              std::string::npos);
    EXPECT_NE(error_of([&] { LanguageModel(std::make_unique<SequenceModel>(be, spec, 0, 8, 1), tok, LmSettings{}); })
                  .find("the model takes features, not token ids"),
              std::string::npos);
    EXPECT_NE(error_of([&] { LanguageModel(std::make_unique<SequenceModel>(be, spec, 3, 3, 1), tok, LmSettings{}); })
                  .find("the model has 3 embedding rows and 3 outputs but its tokenizer has 8 tokens"),
              std::string::npos);
    // A reverse direction would read the token it is to predict.
    EXPECT_NE(error_of([&] {
                  LanguageModel(std::make_unique<SequenceModel>(be, RnnSpec{CellType::Gru, 4, 6, 1, true}, 8, 8, 1),
                                tok, LmSettings{});
              }).find("a bidirectional stack would read the token it predicts"),
              std::string::npos);
    const LanguageModel fine(std::make_unique<SequenceModel>(be, spec, 8, 8, 1), tok, LmSettings{});
    const std::string path = testing::temp_dir() + "/hand.safetensors";
    save_language_model(path, fine, nlohmann::json::object());
    EXPECT_EQ(load_language_model(path, be).tokenizer.size(), 8);
}

TEST(LmCheckpoint, WrongKindsOfCheckpointAreNamed) {
    const std::string dir = testing::temp_dir();
    auto be = make_backend("cpu");
    Forecaster f(be, {CellType::Lstm, 5, 8, 1, false}, 4, 1);
    save_checkpoint(dir + "/forecaster.safetensors", f, {});
    std::string msg = error_of([&] { load_language_model(dir + "/forecaster.safetensors", be); });
    EXPECT_NE(msg.find("forecaster.safetensors is a forecaster checkpoint, not a language model"), std::string::npos)
        << msg;

    SequenceModel plain(be, {CellType::Lstm, 4, 8, 1, false}, 10, 10, 1);
    save_checkpoint(dir + "/plain.safetensors", plain, {{"note", 1}});
    msg = error_of([&] { load_language_model(dir + "/plain.safetensors", be); });
    EXPECT_NE(msg.find("without a tokenizer"), std::string::npos) << msg;

    // Tokenizer and model that disagree on the vocabulary size.
    LmSettings s;
    LanguageModel lm = random_model(text::TokenizerKind::Word, "a b c d e", s, 1);
    nlohmann::json extra;
    extra["tokenizer"] = nlohmann::json::parse(lm.tokenizer.to_json());
    extra["lm"] = s.to_json();
    save_checkpoint(dir + "/mismatch.safetensors", plain, extra);
    msg = error_of([&] { load_language_model(dir + "/mismatch.safetensors", be); });
    EXPECT_NE(msg.find("its tokenizer has 6 tokens"), std::string::npos) << msg;

    msg = error_of([&] { load_language_model(dir + "/missing.safetensors", be); });
    EXPECT_NE(msg.find("missing.safetensors"), std::string::npos) << msg;
}

// A hand-edited checkpoint fails at once naming the file and the field: no hang building 1e5 layers, no wrapped
// integer blamed on a flag the user never gave.
TEST(LmCheckpoint, EditedMetadataIsRefusedNamingTheFile) {
    const std::string dir = testing::temp_dir();
    LmSettings s;
    LanguageModel lm = random_model(text::TokenizerKind::Word, "a b c d e", s, 1);
    const std::string good = dir + "/lm.safetensors";
    save_language_model(good, lm, {{"epoch", 1}});
    const auto edited = [&](const std::string& key, const std::function<void(nlohmann::json&)>& edit) {
        SafetensorsFile f = read_safetensors(good);
        nlohmann::json j = nlohmann::json::parse(f.metadata.at(key));
        edit(j);
        f.metadata[key] = j.dump();
        EXPECT_EQ(f.metadata.erase("fusedrnn.metadata_checksum"), 1u);  // as the checksum's error says to
        const std::string path = dir + "/edited.safetensors";
        write_safetensors(path, f);
        return error_of([&] { load_language_model(path, make_backend("cpu")); });
    };
    const std::string file = dir + "/edited.safetensors: ";
    std::string m = edited("fusedrnn.model", [](nlohmann::json& c) { c["spec"]["num_layers"] = 100000; });
    EXPECT_NE(m.find(file + "spec.num_layers in the checkpoint metadata is 100000"), std::string::npos) << m;
    m = edited("fusedrnn.model", [](nlohmann::json& c) { c["spec"]["num_layers"] = 1e9; });
    EXPECT_NE(m.find(file + "spec.num_layers in the checkpoint metadata is 1000000000.0"), std::string::npos) << m;
    m = edited("fusedrnn.model", [](nlohmann::json& c) { c["spec"]["num_layers"] = 3; });
    EXPECT_NE(m.find(file + "its metadata declares a gru C=8 H=16 L=3 language model of 15 parameter tensors, but "
                     "the file holds 11"), std::string::npos) << m;
    m = edited("fusedrnn.model", [](nlohmann::json& c) { c["spec"]["num_layers"] = 0; });
    EXPECT_NE(m.find(file + "spec.num_layers in the checkpoint metadata is 0"), std::string::npos) << m;
    m = edited("fusedrnn.model", [](nlohmann::json& c) { c["spec"]["hidden_size"] = 17; });
    EXPECT_NE(m.find(file + "tensor '"), std::string::npos) << m;
    EXPECT_NE(m.find("but the gru C=8 H=17 L=2 language model its metadata declares needs"), std::string::npos) << m;
    m = edited("fusedrnn.model", [](nlohmann::json& c) { c["spec"]["cell"] = "transformer"; });
    EXPECT_NE(m.find(file + "spec.cell in the checkpoint metadata"), std::string::npos) << m;
    m = edited("fusedrnn.extra", [](nlohmann::json& x) { x["lm"]["context"] = 1000000000000; });
    EXPECT_NE(m.find("edited.safetensors is damaged: lm.context in the checkpoint metadata is 1000000000000"),
              std::string::npos) << m;
    EXPECT_EQ(m.find("--context"), std::string::npos) << m;
    m = edited("fusedrnn.extra", [](nlohmann::json& x) { x["lm"]["mode"] = "sideways"; });
    EXPECT_NE(m.find("edited.safetensors is damaged: lm.mode"), std::string::npos) << m;
    // A damaged tokenizer, and a tokenizer without the settings beside it: damage, not "without a tokenizer".
    m = edited("fusedrnn.extra", [](nlohmann::json& x) { x["tokenizer"]["tokens"][2] = x["tokenizer"]["tokens"][1]; });
    EXPECT_NE(m.find("edited.safetensors is damaged: the tokenizer stored in it is invalid: "), std::string::npos) << m;
    EXPECT_NE(m.find("duplicate token"), std::string::npos) << m;
    m = edited("fusedrnn.extra", [](nlohmann::json& x) { x.erase("lm"); });
    EXPECT_NE(m.find("edited.safetensors is damaged: it stores a tokenizer but not the language model's settings"),
              std::string::npos) << m;
    EXPECT_NO_THROW(load_language_model(good, make_backend("cpu")));
}

// A language model's checkpoint keeps its checksums under the same keys as a forecaster's: a flipped bit in the
// metadata checksum's name is damage, not a checkpoint from before that checksum.
TEST(LmCheckpoint, AFlippedBitInAMetadataKeyIsRefused) {
    const std::string dir = testing::temp_dir();
    LmSettings s;
    LanguageModel lm = random_model(text::TokenizerKind::Char, "abcab", s, 2);
    const std::string path = dir + "/lm_key.safetensors";
    save_language_model(path, lm, {{"epoch", 1}});
    std::string bytes = testing::read_file_bytes(path);
    const size_t at = bytes.find("fusedrnn.metadata_checksum");
    ASSERT_NE(at, std::string::npos);
    bytes[at + 21] = static_cast<char>(bytes[at + 21] ^ 0x01);  // "checksum" -> "chebksum"
    std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
    const std::string m = error_of([&] { load_language_model(path, make_backend("cpu")); });
    EXPECT_NE(m.find(path + ": the file is damaged: its metadata key 'fusedrnn.metadata_chebksum' is one byte off"),
              std::string::npos) << m;
}

}  // namespace
}  // namespace fusedrnn
