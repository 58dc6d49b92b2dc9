// Language models learn: the window step scores only the last step; a tiny corpus is learned to
// near-zero loss in both modes; after training, generation continues the training text.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "fusedrnn/core/text/sampling.h"
#include "fusedrnn/models/lm_corpus.h"
#include "fusedrnn/models/lm_generate.h"
#include "fusedrnn/models/lm_trainer.h"
#include "fusedrnn/tests/test_support.h"

namespace fusedrnn {
namespace {

// Every 3-word context in this sentence is followed by one word only, so it can be learned exactly.
const char* kFable =
    "long ago , the mice had a general council to consider what measures they could take to outwit "
    "their common enemy , the cat .";

LanguageModel tiny_model(const std::string& corpus, text::TokenizerKind kind, const LmSettings& s, int hidden,
                         uint64_t seed) {
    text::TokenizerOptions to;
    to.kind = kind;
    return make_language_model(make_backend("cpu"), {CellType::Lstm, 16, hidden, 1, false},
                               text::Tokenizer::build(corpus, to), s, seed);
}

std::vector<LmEpochRecord> train(LanguageModel& lm, const std::string& corpus, int epochs, int batch, float lr) {
    OptimizerConfig oc;
    oc.lr = lr;
    auto opt = make_optimizer(lm.model->params(), oc);
    LmTrainOptions o;
    o.epochs = epochs;
    o.batch = batch;
    o.heldout = 0;
    o.seed = 3;
    LmTrainer trainer(lm, *opt, lm.tokenizer.encode(corpus), o);
    return trainer.fit();
}

TEST(LmWindowStep, OnlyTheLastStepIsScored) {
    LmSettings s;
    s.context = 4;
    LanguageModel lm = tiny_model(kFable, text::TokenizerKind::Word, s, 12, testing::test_seed());
    Backend<float>& be = lm.model->backend();
    const auto windows = text::make_windows(lm.tokenizer.encode(kFable), 4);
    const std::vector<size_t> idx{0, 5, 9, 17, 2};
    const long B = long(idx.size()), V = lm.tokenizer.size();
    WindowBuffers buf;
    buf.load(be, windows, idx.data(), idx.size());
    const ChunkResult r = lm_window_step(*lm.model, nullptr, buf, 0.0);

    // Reference from the logits: mean cross-entropy of the last step's rows, and the head bias
    // gradient Σ_b (softmax_b − onehot_b) / B — a leak from earlier steps would change it.
    SequenceModel::State st;
    const std::vector<float> logits = be.to_host(lm.model->forward_tokens(buf.ids, st, false));
    double loss = 0;
    std::vector<double> dbias(size_t(V), 0.0);
    for (long b = 0; b < B; ++b) {
        const float* row = logits.data() + size_t((3 * B + b) * V);
        double mx = row[0], sum = 0;
        for (long v = 0; v < V; ++v) mx = std::max(mx, double(row[v]));
        for (long v = 0; v < V; ++v) sum += std::exp(row[v] - mx);
        const int32_t target = buf.host_targets[size_t(b)];
        loss += mx + std::log(sum) - row[target];
        for (long v = 0; v < V; ++v) dbias[size_t(v)] += std::exp(row[v] - mx) / sum / double(B);
        dbias[size_t(target)] -= 1.0 / double(B);
    }
    EXPECT_NEAR(r.loss, loss / double(B), 1e-5);
    EXPECT_LT(testing::rel_error(be.to_host(lm.model->params().grad("head.bias")), dbias), 1e-5);
    // And evaluate_windows agrees on the same windows.
    text::Windows some;
    some.context = 4;
    some.count = idx.size();
    for (size_t i : idx) {
        some.inputs.insert(some.inputs.end(), windows.inputs.begin() + long(i * 4), windows.inputs.begin() + long(i * 4 + 4));
        some.targets.push_back(windows.targets[i]);
    }
    EXPECT_NEAR(evaluate_windows(*lm.model, some, 2).loss, loss / double(B), 1e-5);
}

TEST(LmLearning, WindowModeLearnsATinyTextAndContinuesIt) {
    LmSettings s;  // window, 3 words → next
    LanguageModel lm = tiny_model(kFable, text::TokenizerKind::Word, s, 48, 11);
    const auto history = train(lm, kFable, 60, 8, 0.02f);
    EXPECT_LT(history.back().train_loss, 0.01);
    EXPECT_GT(history.front().train_loss, 1.0);  // it started from knowing nothing
    EXPECT_FALSE(history.back().has_heldout);

    LmGenerator gen(lm);
    text::SamplingOptions greedy;
    greedy.greedy = true;
    text::Sampler sampler(greedy, 0);
    EXPECT_EQ(gen.continue_text("had a general", 10, sampler),
              "had a general council to consider what measures they could take to outwit");
}

TEST(LmLearning, StreamModeLearnsATinyCharacterTextAndContinuesIt) {
    const std::string corpus = [] {
        std::string s;
        for (int i = 0; i < 40; ++i) s += "hello world. ";
        return s;
    }();
    LmSettings s;
    s.mode = LmMode::Stream;
    s.streams = 4;
    s.bptt = 16;
    LanguageModel lm = tiny_model(corpus, text::TokenizerKind::Char, s, 32, 5);
    const auto history = train(lm, corpus, 40, 1, 0.02f);
    EXPECT_LT(history.back().train_loss, 0.01);

    LmGenerator gen(lm);
    text::SamplingOptions greedy;
    greedy.greedy = true;
    text::Sampler sampler(greedy, 0);
    EXPECT_EQ(gen.continue_text("hello wo", 21, sampler), "hello world. hello world. hel");
}

TEST(LmTrainer, HeldOutMetricsAndCheckpointsEachEpoch) {
    const std::string corpus = std::string(kFable) + " " + kFable;
    LmSettings s;
    LanguageModel lm = tiny_model(corpus, text::TokenizerKind::Word, s, 16, 2);
    auto opt = make_optimizer(lm.model->params(), OptimizerConfig{});
    LmTrainOptions o;
    o.epochs = 3;
    o.heldout = 0.2;
    o.out_dir = testing::temp_dir() + "/run";
    LmTrainer trainer(lm, *opt, lm.tokenizer.encode(corpus), o);
    EXPECT_EQ(trainer.train_tokens() + trainer.heldout_tokens(), lm.tokenizer.encode(corpus).size());
    int epochs_seen = 0;
    trainer.on_epoch = [&](const LmEpochRecord&) { ++epochs_seen; };
    const auto history = trainer.fit();
    ASSERT_EQ(history.size(), 3u);
    EXPECT_EQ(epochs_seen, 3);
    EXPECT_TRUE(history[0].has_heldout);
    EXPECT_TRUE(history[0].best);
    EXPECT_GT(history[0].heldout_loss, 0);
    EXPECT_TRUE(std::ifstream(o.out_dir + "/last.safetensors").good());
    EXPECT_TRUE(std::ifstream(o.out_dir + "/best.safetensors").good());
    const LanguageModel back = load_language_model(o.out_dir + "/last.safetensors", make_backend("cpu"));
    EXPECT_EQ(back.training["epoch"], 3);
    EXPECT_EQ(back.training["history"].size(), 3u);
}

TEST(LmTrainer, MaxChunksEpochsWalkThroughTheWholeStream) {
    std::string corpus;
    for (int i = 0; i < 30; ++i) corpus += "abcdefgh ";
    LmSettings s;
    s.mode = LmMode::Stream;
    s.streams = 2;
    s.bptt = 10;
    LanguageModel lm = tiny_model(corpus, text::TokenizerKind::Char, s, 8, 1);
    auto opt = make_optimizer(lm.model->params(), OptimizerConfig{});
    LmTrainOptions o;
    o.epochs = 4;
    o.heldout = 0;
    o.max_chunks = 5;
    LmTrainer trainer(lm, *opt, lm.tokenizer.encode(corpus), o);
    // 270 tokens / 2 streams = 135 steps per stream = 14 chunks of 10 (the last one of 4).
    EXPECT_EQ(trainer.steps_per_epoch(), 5);
    std::vector<size_t> next;
    trainer.on_epoch = [&](const LmEpochRecord&) { next.push_back(trainer.next_chunk()); };
    trainer.fit();
    // Each epoch continues where the last stopped; the third wraps to the start of the text.
    EXPECT_EQ(next, (std::vector<size_t>{5, 10, 1, 6}));
}

// The trainer queues its stream-mode steps (results read back in blocks, the carried state alternating
// between two buffers); it must train exactly as a plain loop of tbptt_chunk_tokens over the same chunks,
// carrying the state from chunk to chunk and resetting it where the text wraps.
TEST(LmTrainer, StreamModeTrainsAsAPlainTbpttLoop) {
    std::string corpus;
    for (int i = 0; i < 12; ++i) corpus += "the cat sat on the mat; ";
    LmSettings s;
    s.mode = LmMode::Stream;
    s.streams = 3;
    s.bptt = 7;
    const int epochs = 2;
    const long steps = 10;  // per epoch: the second epoch wraps past the 14th (last, shorter) chunk
    OptimizerConfig oc;
    oc.lr = 0.01f;
    const double clip = 0.3;

    LanguageModel queued = tiny_model(corpus, text::TokenizerKind::Char, s, 9, 5);
    auto opt = make_optimizer(queued.model->params(), oc);
    LmTrainOptions o;
    o.epochs = epochs;
    o.heldout = 0;
    o.max_chunks = steps;
    o.clip = clip;
    LmTrainer trainer(queued, *opt, queued.tokenizer.encode(corpus), o);
    const std::vector<LmEpochRecord> history = trainer.fit();
    EXPECT_EQ(trainer.next_chunk(), 6u);

    LanguageModel plain = tiny_model(corpus, text::TokenizerKind::Char, s, 9, 5);
    Backend<float>& be = plain.model->backend();
    auto plain_opt = make_optimizer(plain.model->params(), oc);
    const text::StreamBatches batches(plain.tokenizer.encode(corpus), s.streams, s.bptt);
    ASSERT_EQ(batches.num_chunks(), 14u);
    StreamBuffers buf;
    SequenceModel::State state;
    ASSERT_EQ(history.size(), size_t(epochs));
    for (int e = 0; e < epochs; ++e) {
        double loss_sum = 0, norm_sum = 0;
        long predictions = 0;
        for (long k = e * steps; k < (e + 1) * steps; ++k) {
            const size_t chunk = size_t(k) % batches.num_chunks();
            if (chunk == 0) state = SequenceModel::State();
            buf.load(be, batches, chunk);
            const ChunkResult r = tbptt_chunk_tokens(*plain.model, plain_opt.get(), buf.ids, buf.targets, state, clip);
            loss_sum += r.loss * double(buf.targets.numel());
            norm_sum += r.grad_norm;
            predictions += long(buf.targets.numel());
        }
        EXPECT_DOUBLE_EQ(history[size_t(e)].train_loss, loss_sum / double(predictions)) << e;
        EXPECT_DOUBLE_EQ(history[size_t(e)].grad_norm, norm_sum / double(steps)) << e;
    }
    EXPECT_EQ(queued.model->params().values_to_host(), plain.model->params().values_to_host());
}

// Token ids are checked on the host before any step, so a bad id is an exact error on every backend (a GPU's own
// check would only report it at its next wait, after the step has run).
TEST(LmTrainer, TokenIdsOutsideTheVocabularyAreRefusedBeforeTraining) {
    LmSettings s;
    s.mode = LmMode::Stream;
    s.streams = 2;
    s.bptt = 4;
    LanguageModel lm = tiny_model(kFable, text::TokenizerKind::Char, s, 8, 1);
    const int V = lm.tokenizer.size();
    std::vector<int32_t> tokens = lm.tokenizer.encode(kFable);
    tokens[7] = V;
    auto opt = make_optimizer(lm.model->params(), OptimizerConfig{});
    LmTrainOptions o;
    o.epochs = 1;
    const std::string msg = testing::error_of([&] { LmTrainer trainer(lm, *opt, tokens, o); });
    EXPECT_NE(msg.find(fmt::format("the training text: token id {} at position 7 is outside the model's vocabulary "
                                   "[0, {})", V, V)),
              std::string::npos)
        << msg;
    tokens[7] = -1;
    const std::string eval = testing::error_of([&] { evaluate_stream(*lm.model, tokens, 2, 4); });
    EXPECT_NE(eval.find("evaluation text: token id -1 at position 7"), std::string::npos) << eval;
}

// The stream evaluation carries each stream's state from chunk to chunk: read in chunks of 4 steps it scores the
// text as one chunk of every step does (mutation testing: chunks each starting from a zero state passed every test).
TEST(LmTrainer, StreamEvaluationCarriesTheStateAcrossChunks) {
    LmSettings s;
    s.mode = LmMode::Stream;
    s.streams = 2;
    s.bptt = 4;
    LanguageModel lm = tiny_model(kFable, text::TokenizerKind::Char, s, 8, 1);
    const std::vector<int32_t> tokens = lm.tokenizer.encode(kFable);
    const int per_stream = int(tokens.size() / 2) - 1;
    const LmEval chunked = evaluate_stream(*lm.model, tokens, 2, 4);
    const LmEval whole = evaluate_stream(*lm.model, tokens, 2, per_stream);
    EXPECT_NEAR(chunked.loss, whole.loss, 1e-5 * whole.loss);
    EXPECT_EQ(chunked.accuracy, whole.accuracy);
    EXPECT_EQ(chunked.predictions, whole.predictions);
}

// The share of held-out tokens that are <unk> (id 0): counted on the held-out tail only, in both modes, recorded in
// every epoch's record and its JSON; a record saved before the share existed reads back as 0.
TEST(LmTrainer, CountsTheUnknownTokensOfTheHeldOutPart) {
    for (const LmMode mode : {LmMode::Window, LmMode::Stream}) {
        LmSettings s;
        s.mode = mode;
        s.streams = 2;
        s.bptt = 4;
        LanguageModel lm = tiny_model(kFable, text::TokenizerKind::Word, s, 8, 1);
        std::vector<int32_t> tokens(40);
        for (size_t i = 0; i < tokens.size(); ++i) tokens[i] = int32_t(1 + i % size_t(lm.tokenizer.size() - 1));
        tokens[3] = tokens[12] = 0;               // <unk> in the training part: not counted
        tokens[31] = tokens[35] = tokens[39] = 0;  // 3 of the last 10 (held out)
        auto opt = make_optimizer(lm.model->params(), OptimizerConfig{});
        LmTrainOptions o;
        o.epochs = 1;
        o.heldout = 0.25;
        LmTrainer trainer(lm, *opt, tokens, o);
        EXPECT_EQ(trainer.heldout_tokens(), 10u) << to_string(mode);
        EXPECT_EQ(trainer.heldout_unknown(), 3u) << to_string(mode);
        EXPECT_DOUBLE_EQ(trainer.heldout_oov(), 0.3) << to_string(mode);
        const auto history = trainer.fit();
        ASSERT_TRUE(history.at(0).has_heldout) << to_string(mode);
        EXPECT_DOUBLE_EQ(history.at(0).heldout_oov, 0.3) << to_string(mode);
        nlohmann::json j = history.at(0).to_json();
        EXPECT_DOUBLE_EQ(j.at("heldout_oov").get<double>(), 0.3);
        EXPECT_DOUBLE_EQ(LmEpochRecord::from_json(j).heldout_oov, 0.3);
        j.erase("heldout_oov");
        EXPECT_EQ(LmEpochRecord::from_json(j).heldout_oov, 0.0);
    }
}

// 20 words; with --heldout 0.2 the last 4 ("c zebra d a") are held out. "zebra" occurs only there; "c" and "d" occur
// once in the training part and once in the held-out part.
const char* kSplitText = "a b a b a b a b a b a b a b c d c zebra d a\n";

std::string write_text(const std::string& text) {
    const std::string path = testing::temp_dir() + "/t.txt";
    std::ofstream(path) << text;
    return path;
}

// load_lm_corpus's tokens are the whole-text tokens, position by position, apart from <unk>: the same count (so the
// same split point) and, where not <unk>, the same token.
void expect_same_tokens_apart_from_unk(const LmCorpus& c, const std::string& text, const text::TokenizerOptions& to) {
    const text::Tokenizer whole = text::Tokenizer::build(text, to);
    const std::vector<int32_t> ids = whole.encode(text);
    ASSERT_EQ(c.tokens.size(), ids.size());
    for (size_t i = 0; i < ids.size(); ++i) {
        if (c.tokens[i] != text::Tokenizer::unk_id()) {
            EXPECT_EQ(c.tokenizer.vocab().token(c.tokens[i]), whole.vocab().token(ids[i])) << "token " << i;
        }
    }
}

// PTB-style: the vocabulary and its counts come from the training part only; a word seen only in the held-out part
// is <unk> there and not in the vocabulary, and the held-out part the trainer scores is the one the vocabulary left
// out.
TEST(LmCorpus, TheVocabularyComesFromTheTrainingPartOnly) {
    const std::string path = write_text(kSplitText);
    text::TokenizerOptions to;
    const LmCorpus c = load_lm_corpus(path, to, 0.2);
    EXPECT_FALSE(c.tokenizer.vocab().contains("zebra"));
    EXPECT_EQ(c.tokenizer.vocab().tokens(), (std::vector<std::string>{"<unk>", "a", "b", "c", "d"}));
    EXPECT_EQ(c.vocab_tokens, 16u);
    EXPECT_EQ(c.heldout_unseen, 1u);
    const std::vector<int32_t> heldout(c.tokens.end() - 4, c.tokens.end());
    EXPECT_EQ(c.tokenizer.decode(heldout), "c <unk> d a");
    expect_same_tokens_apart_from_unk(c, kSplitText, to);

    LmSettings s;  // window mode, 3 words in: the 4 held-out words give one window
    LanguageModel lm = make_language_model(make_backend("cpu"), {CellType::Lstm, 4, 8, 1, false}, c.tokenizer, s, 1);
    auto opt = make_optimizer(lm.model->params(), OptimizerConfig{});
    LmTrainOptions o;
    o.epochs = 1;
    o.heldout = 0.2;
    LmTrainer trainer(lm, *opt, c.tokens, o);
    EXPECT_EQ(trainer.train_tokens(), c.vocab_tokens);
    EXPECT_EQ(trainer.heldout_tokens(), 4u);
    EXPECT_EQ(trainer.heldout_unknown(), 1u);  // "zebra": the share is > 0 with --min-count 1
    EXPECT_DOUBLE_EQ(trainer.heldout_oov(), 0.25);
}

// --min-count counts the training part's occurrences: "c" and "d", once there and once held out, are cut at 2.
TEST(LmCorpus, MinCountCountsTheTrainingPartOnly) {
    const std::string path = write_text(kSplitText);
    text::TokenizerOptions to;
    to.min_count = 2;
    const LmCorpus c = load_lm_corpus(path, to, 0.2);
    EXPECT_EQ(c.tokenizer.vocab().tokens(), (std::vector<std::string>{"<unk>", "a", "b"}));
    EXPECT_EQ(c.heldout_unseen, 1u);  // zebra; c and d are seen in the training part, but cut
    const std::vector<int32_t> heldout(c.tokens.end() - 4, c.tokens.end());
    EXPECT_EQ(c.tokenizer.decode(heldout), "<unk> <unk> <unk> a");
    expect_same_tokens_apart_from_unk(c, kSplitText, to);
}

// Characters likewise: one seen only in the held-out part is <unk> (U+FFFD when decoded) and not in the vocabulary.
TEST(LmCorpus, ACharacterSeenOnlyInTheHeldOutPartIsUnknown) {
    const std::string text = "abababababababab" "azbb";  // 20 characters, the last 4 held out
    const std::string path = write_text(text);
    text::TokenizerOptions to;
    to.kind = text::TokenizerKind::Char;
    const LmCorpus c = load_lm_corpus(path, to, 0.2);
    EXPECT_EQ(c.tokenizer.vocab().tokens(), (std::vector<std::string>{"<unk>", "a", "b"}));
    EXPECT_EQ(c.heldout_unseen, 1u);
    const std::vector<int32_t> heldout(c.tokens.end() - 4, c.tokens.end());
    EXPECT_EQ(c.tokenizer.decode(heldout), "a\xEF\xBF\xBD" "bb");
    expect_same_tokens_apart_from_unk(c, text, to);
}

// Nothing held out: the vocabulary of the whole text, exactly as Tokenizer::build gives it (the held-out fraction
// only moves the vocabulary's source when there is a held-out part: 0.2 on the same text leaves "zebra" out).
TEST(LmCorpus, WithNothingHeldOutTheVocabularyIsTheWholeTexts) {
    const std::string path = write_text(kSplitText);
    text::TokenizerOptions to;
    to.min_count = 2;
    const LmCorpus c = load_lm_corpus(path, to, 0);
    const text::Tokenizer whole = text::Tokenizer::build(kSplitText, to);
    EXPECT_EQ(c.tokenizer.to_json(), whole.to_json());
    EXPECT_EQ(c.tokens, whole.encode(kSplitText));
    EXPECT_EQ(c.vocab_tokens, c.tokens.size());
    EXPECT_EQ(c.heldout_unseen, 0u);
    EXPECT_TRUE(c.tokenizer.vocab().contains("c"));
    EXPECT_FALSE(load_lm_corpus(path, to, 0.2).tokenizer.vocab().contains("c"));
}

// A held-out fraction that leaves no training token is named as such, not as an empty text.
TEST(LmCorpus, AnEmptyTrainingPartIsNamed) {
    const std::string path = write_text("word\n");
    const std::string m = testing::error_of([&] { load_lm_corpus(path, text::TokenizerOptions{}, 0.5); });
    EXPECT_NE(m.find("the training part is empty"), std::string::npos) << m;
}

}  // namespace
}  // namespace fusedrnn
