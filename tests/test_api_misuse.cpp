// The C++ API used wrongly: each misuse is a fusedrnn::Error that names what was wrong, thrown before anything
// changes (gradients, files, optimizer state) — never a crash, a memory error, another exception type, or a model
// that silently computes something else. The cases come from a QA pass over the installed package.
#include <stdlib.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include <nlohmann/json.hpp>

#include "fusedrnn/core/backend.h"
#include "fusedrnn/core/error.h"
#include "fusedrnn/core/tensor.h"
#include "fusedrnn/models/checkpoint.h"
#include "fusedrnn/models/forecast_evaluation.h"
#include "fusedrnn/models/loss.h"
#include "fusedrnn/models/model.h"
#include "fusedrnn/models/optimizer.h"
#include "fusedrnn/models/tbptt.h"
#include "fusedrnn/tests/test_support.h"

namespace fusedrnn {
namespace {

using testing::error_of;

Tensor<float> random_tensor(Backend<float>& be, const Shape& shape, std::mt19937_64& rng) {
    return be.from_host(testing::random_vector<float>(shape_numel(shape), rng), shape);
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// A message that wraps another's (its what() at the end) keeps the location where the problem was found, not a
// second one after it: "... (models/language_model.cpp:20) (models/language_model.cpp:47)" read as noise.
TEST(ApiMisuse, AWrappedErrorNamesOneLocation) {
    std::string m;
    try {
        try {
            FR_FAIL("inner {}", 1);
        } catch (const Error& e) {
            FR_FAIL("outer: {}", e.what());
        }
    } catch (const Error& e) {
        m = e.what();
    }
    EXPECT_EQ(m.rfind("outer: inner 1 (", 0), 0u) << m;
    EXPECT_EQ(m.find(".cpp:"), m.rfind(".cpp:")) << m;
    // A message of its own that happens to end in parentheses still gets its location.
    try {
        FR_FAIL("a value (3 of 4)");
    } catch (const Error& e) {
        m = e.what();
    }
    EXPECT_NE(m.find("a value (3 of 4) ("), std::string::npos) << m;
}

// The command line shows errors without the source locations (a user reads "(core/data/dataset.cpp:109)" as a
// place in their input), wherever a wrapping message left them; FUSEDRNN_SOURCE_LOCATIONS=1 keeps them.
TEST(ApiMisuse, UsersReadErrorsWithoutSourceLocations) {
    const std::string wrapped = "--resume: a.safetensors cannot be read (truncated (core/safetensors.cpp:55)): put it "
                                "back (models/checkpoint.cpp:340)";
    EXPECT_EQ(detail::without_locations(wrapped), "--resume: a.safetensors cannot be read (truncated): put it back");
    // Brackets that are not locations stay: numbers, times, file names, a colon with text after it.
    const std::string plain = "window (input 48 (step 1)) at (12:00) of (st.csv) (x.cpp:line) (a b.cpp:3)";
    EXPECT_EQ(detail::without_locations(plain), plain);
    EXPECT_EQ(detail::without_locations(""), "");
    EXPECT_EQ(detail::without_locations("bad (cuda/kernels.cu:7)"), "bad");
    ::unsetenv("FUSEDRNN_SOURCE_LOCATIONS");
    EXPECT_EQ(message_for_user(wrapped), detail::without_locations(wrapped));
    ::setenv("FUSEDRNN_SOURCE_LOCATIONS", "0", 1);
    EXPECT_EQ(message_for_user(wrapped), detail::without_locations(wrapped));
    ::setenv("FUSEDRNN_SOURCE_LOCATIONS", "1", 1);
    EXPECT_EQ(message_for_user(wrapped), wrapped);
    ::unsetenv("FUSEDRNN_SOURCE_LOCATIONS");
}

TEST(ApiMisuse, AnOptimizerStepsOnlyTheParametersItWasMadeFor) {
    auto be = make_backend("cpu");
    Forecaster small(be, {CellType::Lstm, 3, 8, 1, false}, 2, 1), big(be, {CellType::Lstm, 3, 64, 1, false}, 2, 1),
        twin(be, {CellType::Lstm, 3, 8, 1, false}, 2, 2);
    auto opt = make_optimizer(small.params(), {});
    const std::vector<float> big_before = big.params().values_to_host(), twin_before = twin.params().values_to_host();
    // A larger model would be read past the end of the state; one of the same size stepped with another's moments.
    EXPECT_TRUE(has(error_of([&] { opt->step(big.params()); }), "other than those it was made for")) << "big";
    const std::string n = std::to_string(small.params().size());
    EXPECT_TRUE(has(error_of([&] { opt->step(twin.params()); }),
                    "(" + n + " values) other than those it was made for (" + n + " values)"));
    EXPECT_EQ(big.params().values_to_host(), big_before);
    EXPECT_EQ(twin.params().values_to_host(), twin_before);
    EXPECT_EQ(opt->steps(), 0);
    EXPECT_TRUE(opt->made_for(small.params()));
    EXPECT_FALSE(opt->made_for(twin.params()));
    EXPECT_NO_THROW(opt->step(small.params()));
    const std::string path = testing::temp_dir() + "/m.safetensors";
    EXPECT_TRUE(has(error_of([&] { save_checkpoint(path, twin, {}, opt.get()); }), "made for another model's"));
    EXPECT_FALSE(std::filesystem::exists(path));
}

// What a copy would share or slice cannot be copied (QA: `auto best = model.params()` followed training; `*adam =
// *sgd` compiled and crashed at the next step). Compile-time checks: this suite does not build otherwise.
static_assert(!std::is_copy_constructible_v<ParamStore> && !std::is_copy_assignable_v<ParamStore>);
static_assert(!std::is_move_constructible_v<ParamStore> && !std::is_move_assignable_v<ParamStore>);
static_assert(!std::is_copy_constructible_v<Optimizer> && !std::is_copy_assignable_v<Optimizer>);
static_assert(!std::is_copy_constructible_v<Forecaster> && !std::is_copy_assignable_v<Forecaster>);
// A layer's copy would share the activations the original reuses in place (note40); moving stays possible.
static_assert(!std::is_copy_constructible_v<RecurrentStack> && !std::is_copy_assignable_v<RecurrentStack>);
static_assert(!std::is_copy_constructible_v<Linear> && !std::is_copy_constructible_v<Embedding>);
static_assert(std::is_nothrow_move_constructible_v<RecurrentStack> && std::is_move_assignable_v<Linear>);

TEST(ApiMisuse, OptimizerSettersCheckAsTheConstructorDoes) {
    auto be = make_backend("cpu");
    Forecaster m(be, {CellType::Gru, 3, 4, 1, false}, 2, 1);
    auto opt = make_optimizer(m.params(), {});
    for (float lr : {-1.0f, std::nanf(""), INFINITY})
        EXPECT_TRUE(has(error_of([&] { opt->set_lr(lr); }), "set_lr needs a finite learning rate >= 0")) << lr;
    EXPECT_FLOAT_EQ(opt->lr(), 1e-3f);
    opt->set_lr(0.0f);  // where a cosine schedule ends
    EXPECT_EQ(opt->lr(), 0.0f);
    std::map<std::string, std::vector<float>> state = opt->state_to_host();
    EXPECT_TRUE(has(error_of([&] { opt->state_from_host(state, -5); }), "step count must be >= 0, got -5"));
    state["exp_avg_sqq"] = state["exp_avg"];
    EXPECT_TRUE(has(error_of([&] { opt->state_from_host(state, 3); }),
                    "optimizer 'adam' has no state 'exp_avg_sqq' (its state: exp_avg, exp_avg_sq)"));
    EXPECT_EQ(opt->steps(), 0);
}

// Settings that would pass a sign check yet do nothing or harm: a NaN or negative max_norm read as "no clipping"; an
// AdamW decay factor 1 - lr*wd at or below 0, which wipes or flips the weights every step.
TEST(ApiMisuse, ClippingAndDecoupledDecayRefuseSettingsThatWouldMisbehave) {
    auto be = make_backend("cpu");
    Forecaster m(be, {CellType::Gru, 3, 4, 1, false}, 2, 1);
    for (double max_norm : {std::nan(""), -1.0, double(INFINITY)}) {
        EXPECT_TRUE(has(error_of([&] { clip_grad_norm(m.params(), max_norm); }), "max_norm must be a finite number"))
            << max_norm;
        double norms2[2] = {0, 0};  // the CPU backend's memory is the host's
        EXPECT_TRUE(has(error_of([&] { queue_update(m.params(), nullptr, max_norm, &norms2[0], &norms2[1]); }),
                        "max_norm must be a finite number"))
            << max_norm;
    }
    EXPECT_NO_THROW(clip_grad_norm(m.params(), 0.0));
    OptimizerConfig c;
    c.name = "adamw";
    c.lr = 1e-3f;
    c.weight_decay = 2000;
    EXPECT_TRUE(has(error_of([&] { make_optimizer(m.params(), c); }), "which must stay above 0"));
    c.weight_decay = 0.01f;
    auto opt = make_optimizer(m.params(), c);
    EXPECT_TRUE(has(error_of([&] { opt->set_lr(200.0f); }), "learning rate 200 x weight decay 0.01 = 2"));
    EXPECT_FLOAT_EQ(opt->lr(), 1e-3f);
    c.name = "adam";  // L2 decay added to the gradient: no such factor
    c.weight_decay = 2000;
    EXPECT_NO_THROW(make_optimizer(m.params(), c));
}

// A reverse direction reads what comes next: truncated BPTT has no reverse state to carry, and trained on next
// tokens it reads the token it predicts (QA: a bidirectional LM reached loss 0.16 on random tokens of entropy 2.30).
// A batch beyond int is refused before anything runs (QA: 2^32 + 2 rows ran as 2, then failed in a view). The tensor
// claims rows it does not have: the check must come before any is read.
TEST(ApiMisuse, ABatchBeyondIntIsRefusedBeforeItRuns) {
    auto be = make_backend("cpu");
    Forecaster m(be, RnnSpec{CellType::Lstm, 5, 8, 1, false}, 6, 1);
    static float buf[64] = {};
    for (const long n : {(1L << 32) + 2, (1L << 31) + 5}) {
        const Tensor<float> x(std::make_shared<Storage>(buf, size_t(n) * 5 * sizeof(float), Device{}, nullptr),
                              Shape{1, n, 5});
        EXPECT_TRUE(has(error_of([&] { m.forward(x, false); }),
                        fmt::format("batch {} is more than the 2147483647 a forward takes; split it", n)));
    }
}

TEST(ApiMisuse, TruncatedBpttRefusesABidirectionalStack) {
    auto be = make_backend("cpu");
    std::mt19937_64 rng(testing::test_seed());
    SequenceModel tokens(be, {CellType::Lstm, 3, 4, 1, true}, 10, 10, 1);  // as a non-causal tagger it may be one
    SequenceModel::State st;
    const std::vector<int32_t> host_ids(6 * 2, 1);
    Tensor<int32_t> ids = be->empty_i32({6, 2});
    be->copy_from_host(ids.data(), host_ids.data(), host_ids.size() * sizeof(int32_t));
    EXPECT_TRUE(has(error_of([&] { tbptt_chunk_tokens(tokens, nullptr, ids, ids.reshape({12}), st, 0); }),
                    "truncated BPTT carries the state forward"));
    SequenceModel features(be, {CellType::Gru, 3, 4, 2, true}, 0, 2, 1);
    const Tensor<float> x = random_tensor(*be, {5, 2, 3}, rng), y = random_tensor(*be, {10, 2}, rng);
    EXPECT_TRUE(has(error_of([&] { tbptt_chunk_mse(features, nullptr, x, y, st, 0); }),
                    "truncated BPTT carries the state forward"));
}

// Names and shapes agree between these pairs; only the config tells them apart.
TEST(ApiMisuse, ACheckpointOfAnotherCellOrModelKindIsRefused) {
    auto be = make_backend("cpu");
    const std::string dir = testing::temp_dir();
    const std::pair<CellType, CellType> pairs[] = {{CellType::GruResetBefore, CellType::Gru},
                                                   {CellType::RnnTanh, CellType::RnnRelu}};
    for (const auto& [saved, loaded] : pairs) {
        Forecaster a(be, {saved, 3, 4, 1, false}, 2, 1), b(be, {loaded, 3, 4, 1, false}, 2, 2);
        save_checkpoint(dir + "/a.safetensors", a, {});
        const std::vector<float> before = b.params().values_to_host();
        const std::string msg = error_of([&] { load_parameters(read_checkpoint(dir + "/a.safetensors"), b); });
        EXPECT_TRUE(has(msg, std::string("a.safetensors: the checkpoint holds another model than this one (spec.cell: \"") +
                                 cell_name(saved) + "\" saved, \"" + cell_name(loaded) + "\" now)"))
            << msg;
        EXPECT_EQ(b.params().values_to_host(), before);
    }
    Forecaster f(be, {CellType::Lstm, 3, 4, 1, false}, 2, 1);
    save_checkpoint(dir + "/f.safetensors", f, {});
    SequenceModel s(be, {CellType::Lstm, 3, 4, 1, false}, 0, 2, 1);
    EXPECT_TRUE(has(error_of([&] { load_parameters(read_checkpoint(dir + "/f.safetensors"), s); }), "kind"));
    // Dropout changes no function outside training: a model without it takes the weights of one trained with it.
    Forecaster dropped(be, {CellType::Lstm, 3, 4, 2, false}, 2, 1), plain(be, {CellType::Lstm, 3, 4, 2, false}, 2, 2);
    dropped.set_dropout(0.3f);
    save_checkpoint(dir + "/d.safetensors", dropped, {});
    EXPECT_NO_THROW(load_parameters(read_checkpoint(dir + "/d.safetensors"), plain));
    EXPECT_EQ(plain.params().values_to_host(), dropped.params().values_to_host());
}

TEST(ApiMisuse, ALanguageModelTakesTokenIdsNotFeatures) {
    auto be = make_backend("cpu");
    std::mt19937_64 rng(testing::test_seed());
    SequenceModel lm(be, {CellType::Lstm, 3, 4, 1, false}, 10, 10, 1);
    SequenceModel::State st;
    const Tensor<float> x = random_tensor(*be, {6, 4, 3}, rng);
    EXPECT_TRUE(has(error_of([&] { lm.forward(x, st, true); }), "give it token ids (forward_tokens), not features"));
}

TEST(ApiMisuse, ABackwardThatFailsLeavesTheGradientsAsTheyWere) {
    auto be = make_backend("cpu");
    std::mt19937_64 rng(testing::test_seed());
    Forecaster direct(be, {CellType::Lstm, 3, 4, 1, false}, 2, 1);
    Seq2SeqShape shape;
    shape.horizon = 2;
    shape.target_inputs = {0};
    Forecaster seq2seq(be, {CellType::Gru, 3, 4, 1, false}, shape, 1);
    SequenceModel seq(be, {CellType::Gru, 3, 4, 1, false}, 0, 2, 1);
    const Tensor<float> x = random_tensor(*be, {5, 2, 3}, rng);
    for (Forecaster* m : {&direct, &seq2seq}) {
        const Tensor<float> g = random_tensor(*be, {2, 2}, rng);
        m->params().zero_grad();
        m->forward(x, true);
        m->backward(g);
        const std::vector<float> grads = be->to_host(m->params().grads_tensor());
        EXPECT_TRUE(has(error_of([&] { m->backward(g); }), "backward needs a training forward before it"));
        EXPECT_EQ(be->to_host(m->params().grads_tensor()), grads);
        m->forward(x, false);
        EXPECT_TRUE(has(error_of([&] { m->backward(g); }), "training = false keeps nothing"));
        EXPECT_EQ(be->to_host(m->params().grads_tensor()), grads);
    }
    SequenceModel::State st;
    seq.forward(x, st, false);
    seq.params().zero_grad();
    const Tensor<float> g = random_tensor(*be, {10, 2}, rng);
    EXPECT_TRUE(has(error_of([&] { seq.backward(g); }), "backward needs a training forward"));
    EXPECT_EQ(be->to_host(seq.params().grads_tensor()), std::vector<float>(seq.params().size(), 0.0f));
    // A forward that fails (another sequence length's input with the wrong width) after a training forward: the
    // backward that follows is refused before it adds anything (it added the head's gradients, then failed).
    const Tensor<float> wrong = random_tensor(*be, {7, 2, 4}, rng);
    for (Forecaster* m : {&direct, &seq2seq}) {
        m->params().zero_grad();
        m->forward(x, true);
        EXPECT_TRUE(has(error_of([&] { m->forward(wrong, true); }), "features per step"));
        EXPECT_TRUE(has(error_of([&] { m->backward(random_tensor(*be, {2, 2}, rng)); }), "backward needs a training "
                        "forward"));
        EXPECT_EQ(be->to_host(m->params().grads_tensor()), std::vector<float>(m->params().size(), 0.0f));
    }
    SequenceModel lm(be, {CellType::Lstm, 3, 4, 1, false}, 10, 10, 1);
    std::vector<int32_t> ids_host(10, 1);
    const Tensor<int32_t> ids = be->empty_i32({5, 2});
    be->copy_from_host(ids.data(), ids_host.data(), ids_host.size() * sizeof(int32_t));
    SequenceModel::State s2;
    lm.params().zero_grad();
    lm.forward_tokens(ids, s2, true);
    SequenceModel::State bad_state;
    bad_state.h = random_tensor(*be, {3, 2, 4}, rng);  // [L·D = 1, N, H] expected
    SequenceModel::State out;
    EXPECT_TRUE(has(error_of([&] { lm.forward_tokens(ids, bad_state, out, true); }), "initial hidden state h0"));
    EXPECT_TRUE(has(error_of([&] { lm.backward(random_tensor(*be, {10, 10}, rng)); }), "backward needs a training"));
    EXPECT_EQ(be->to_host(lm.params().grads_tensor()), std::vector<float>(lm.params().size(), 0.0f));
    // A gradient with a shape but no memory is an error, not a read through a null pointer.
    direct.forward(x, true);
    const Tensor<float> no_memory(nullptr, {2, 2});
    EXPECT_TRUE(has(error_of([&] { direct.backward(no_memory); }), "has the shape [2, 2] but no memory"));
}

// A model that does not fit the dataset is refused by evaluation as by training (its outputs were read past their
// end, or scored as a mix of lead times); an encoder-decoder fed another column than the one it predicts too; window
// starts outside the series are refused before the gather kernel reads past it.
TEST(ApiMisuse, AModelThatDoesNotFitTheDataIsRefusedBeforeItIsRead) {
    auto be = make_backend("cpu");
    const int F = 5, rows = 60;
    std::vector<float> series(size_t(rows) * F);
    for (size_t i = 0; i < series.size(); ++i) series[i] = float(i % 17) * 0.1f;
    const data::WindowSpec window{12, 1, 6, 1, 1};
    data::WindowStarts starts;
    for (int64_t s = 0; s + window.span() <= rows; s += 5) starts.push_back(s);
    const ForecastDataset d = ForecastDataset::upload(*be, series, F, window, {0}, {starts, starts, starts}, {"TMP"},
                                                      {1.0});
    Forecaster fewer(be, {CellType::Lstm, F, 4, 1, false}, 3, 1), more(be, {CellType::Lstm, F, 4, 1, false}, 12, 1);
    EXPECT_TRUE(has(error_of([&] { evaluate_forecaster(fewer, d, starts, 4); }),
                    "model predicts 3 values, data has horizon 6 x 1 targets"));
    EXPECT_TRUE(has(error_of([&] { evaluate_forecaster(more, d, starts, 4); }),
                    "model predicts 12 values, data has horizon 6 x 1 targets"));
    Forecaster short_decoder(be, {CellType::Gru, F, 4, 1, false}, Seq2SeqShape{3, {0, 1}}, 1);
    EXPECT_TRUE(has(error_of([&] { evaluate_forecaster(short_decoder, d, starts, 4); }),
                    "the seq2seq model's decoder runs 3 lead times, data has horizon 6"));
    Forecaster other_column(be, {CellType::Gru, F, 4, 1, false}, Seq2SeqShape{6, {4}}, 1);
    EXPECT_TRUE(has(error_of([&] { evaluate_forecaster(other_column, d, starts, 4); }),
                    "feeds back input columns [4], but the data's targets are columns [0]"));
    Forecaster fits(be, {CellType::Gru, F, 4, 1, false}, Seq2SeqShape{6, {0}}, 1);
    // A variable predicted twice is refused as the command line's --targets refuses it (QA: the API built it).
    EXPECT_TRUE(has(error_of([&] { Forecaster(be, {CellType::Gru, F, 4, 1, false}, Seq2SeqShape{6, {1, 1}}, 1); }),
                    "input column 1 is predicted twice (target_inputs 0 and 1)"));
    EXPECT_GT(evaluate_forecaster(fits, d, starts, 4).windows(), 0);
    Tensor<int64_t> starts_dev;
    Tensor<float> x, y;
    for (const int64_t bad : {int64_t(rows - 3), int64_t(-1), int64_t(1) << 40}) {
        const int64_t batch[2] = {0, bad};
        EXPECT_TRUE(has(error_of([&] { gather_batch(*be, d, batch, 2, starts_dev, x, y); }),
                        fmt::format("window start {} (batch position 1) is outside the series", bad)));
    }
    // A model config's decoder columns are whole numbers in int range, as every other field.
    nlohmann::json c = fits.config();
    c["target_inputs"] = {1.7};
    EXPECT_TRUE(has(error_of([&] { Forecaster::from_config(be, c); }), "'target_inputs'[0] in the model config is 1.7"));
    c["target_inputs"] = {1e12};
    EXPECT_TRUE(has(error_of([&] { Forecaster::from_config(be, c); }), "not a whole number of int range"));
}

// The README's training loop computes its loss with mse_loss, which checks the target against the prediction
// (Backend::mse, with raw pointers and pred's count, read a smaller target past its end).
TEST(ApiMisuse, AnMseTargetOfAnotherShapeIsNamed) {
    auto be = make_backend("cpu");
    std::mt19937_64 rng(testing::test_seed());
    const Tensor<float> pred = random_tensor(*be, {4, 6}, rng), target = random_tensor(*be, {4, 6}, rng);
    Tensor<float> grad;
    const double loss = mse_loss(*be, pred, target, grad);
    EXPECT_EQ(grad.shape(), pred.shape());
    Tensor<float> raw = be->empty({4, 6});
    EXPECT_EQ(loss, be->mse(24, pred.data(), target.data(), raw.data(), 1.0f).loss);
    EXPECT_EQ(be->to_host(grad), be->to_host(raw));
    const Tensor<float> small = random_tensor(*be, {4, 3}, rng);
    EXPECT_TRUE(has(error_of([&] { mse_loss(*be, pred, small, grad); }),
                    "mse_loss: the prediction is [4, 6] but the target is [4, 3]"));
    EXPECT_TRUE(has(error_of([&] { mse_loss(*be, pred, Tensor<float>(), grad); }), "must both hold values"));
}

TEST(ApiMisuse, TensorsOnAnotherDeviceAreNamed) {
    auto be = make_backend("cpu");
    std::mt19937_64 rng(testing::test_seed());
    Forecaster m(be, {CellType::Lstm, 3, 4, 1, false}, 2, 1);
    // Host memory labelled as a GPU's: what a cuda backend's tensor looks like to the cpu one.
    const Tensor<float> host = random_tensor(*be, {5, 2, 3}, rng);
    const Tensor<float> on_gpu(std::make_shared<Storage>(host.data(), host.numel() * sizeof(float),
                                                         Device{DeviceType::CUDA, 0}, nullptr),
                               host.shape());
    EXPECT_TRUE(has(error_of([&] { m.forward(on_gpu, false); }), "the recurrent input x is on cuda:0, but the model is on cpu"));
    m.forward(host, true);
    const Tensor<float> g = random_tensor(*be, {2, 2}, rng);
    const Tensor<float> g_gpu(std::make_shared<Storage>(g.data(), g.numel() * sizeof(float),
                                                        Device{DeviceType::CUDA, 1}, nullptr),
                              g.shape());
    EXPECT_TRUE(has(error_of([&] { m.backward(g_gpu); }), "the output gradient is on cuda:1, but the model is on cpu"));
}

TEST(ApiMisuse, ViewsThatWouldWrapAroundAreRefused) {
    auto be = make_backend("cpu");
    const Tensor<float> t = be->zeros({4});
    long T = 0;  // the classic: T - 1 on an empty time axis, as size_t
    EXPECT_TRUE(has(error_of([&] { (void)t.view(size_t(T - 1), {1}); }), "is outside tensor [4]"));
    EXPECT_TRUE(has(error_of([&] { (void)t.view(5, {0}); }), "is outside tensor [4]"));
    EXPECT_NO_THROW((void)t.view(4, {0}));
    EXPECT_TRUE(has(error_of([&] { Tensor<float>(t.storage(), {1}, std::numeric_limits<size_t>::max()); }),
                    "exceeds its storage"));
    EXPECT_TRUE(has(error_of([&] { (void)t.dim(1); }), "dimension 1 of a tensor of shape [4], which has 1"));
    const Forecaster m(be, {CellType::Lstm, 3, 4, 1, false}, 2, 1);
    EXPECT_TRUE(has(error_of([&] { const_cast<Forecaster&>(m).forward(Tensor<float>(), false); }),
                    "the input must be [T, N, C], got []"));
}

TEST(ApiMisuse, CheckpointsThatCouldNotBeLoadedBackAreNotWritten) {
    auto be = make_backend("cpu");
    const std::string dir = testing::temp_dir();
    Forecaster m(be, {CellType::Lstm, 3, 4, 1, false}, 2, 1);
    std::vector<float> values = m.params().values_to_host();
    values[m.params().layout().at("rnn.weight_hh_l0").offset + 5] = std::nanf("");
    m.params().values_from_host(values);
    EXPECT_TRUE(has(error_of([&] { save_checkpoint(dir + "/nan.safetensors", m, {}); }),
                    "nan.safetensors: not saved: parameter 'rnn.weight_hh_l0' holds NaN or Inf"));
    EXPECT_FALSE(std::filesystem::exists(dir + "/nan.safetensors"));
    Forecaster ok(be, {CellType::Lstm, 3, 4, 1, false}, 2, 1);
    const nlohmann::json extra = {{"station", std::string("K\xff")}};
    EXPECT_TRUE(has(error_of([&] { save_checkpoint(dir + "/x.safetensors", ok, extra); }),
                    "x.safetensors: the extra metadata given to save_checkpoint cannot be written as JSON"));
    EXPECT_FALSE(std::filesystem::exists(dir + "/x.safetensors"));
}

TEST(ApiMisuse, ModelConfigsWithSizesNoIntHoldsAreRefused) {
    auto be = make_backend("cpu");
    const Forecaster m(be, {CellType::Lstm, 3, 4, 1, false}, 2, 1);
    for (const nlohmann::json& hidden : {nlohmann::json(1e12), nlohmann::json(8.7), nlohmann::json(uint64_t(1) << 63),
                                         nlohmann::json("8")}) {
        nlohmann::json c = m.config();
        c["spec"]["hidden_size"] = hidden;
        const std::string msg = error_of([&] { (void)Forecaster::from_config(be, c); });
        EXPECT_TRUE(has(msg, "'hidden_size' in the model config is " + hidden.dump() + ", not a whole number")) << msg;
    }
    nlohmann::json c = m.config();
    c["outputs"] = 2.5;
    EXPECT_TRUE(has(error_of([&] { (void)Forecaster::from_config(be, c); }), "'outputs' in the model config is 2.5"));
    EXPECT_TRUE(has(error_of([] { RnnSpec{CellType::Lstm, 3, 1500000000, 1, true}.validate(); }),
                    "hidden_size must be in [1, 16777216], got 1500000000"));
}

TEST(ApiMisuse, DenseOpsCheckTheirSizes) {
    auto be = make_backend("cpu");
    const Tensor<float> w = be->zeros({4}), dw = be->zeros({4});
    EXPECT_TRUE(has(error_of([&] { be->linear_backward(-3, 2, 2, nullptr, w.data(), nullptr, nullptr, dw.data(), nullptr); }),
                    "linear_backward: bad sizes M=-3 in=2 out=2"));
}

}  // namespace
}  // namespace fusedrnn
