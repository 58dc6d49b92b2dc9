// The encoder-decoder (seq2seq) Forecaster: agreement with the same model written in PyTorch 1.13 (predictions
// and every parameter gradient, free running and with teacher forcing; goldens from
// tests/fixtures/make_seq2seq_fixtures.py in float64), on the CPU backend and on every GPU backend present;
// checkpoints; errors. (Learning: tests/test_models.cpp.)
#include <algorithm>
#include <cmath>
#include <functional>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "fusedrnn/core/safetensors.h"
#include "fusedrnn/models/checkpoint.h"
#include "fusedrnn/models/model.h"
#include "fusedrnn/tests/test_support.h"

namespace fusedrnn {
namespace {

using testing::rel_error;

const std::string kFixtureDir = FUSEDRNN_SOURCE_DIR "/tests/fixtures/torch_seq2seq";

std::vector<std::string> fixture_names() { return testing::file_stems(kFixtureDir, ".safetensors"); }

std::vector<int> int_list(const std::string& s) {
    std::vector<int> v;
    std::stringstream in(s);
    for (std::string item; std::getline(in, item, ',');) v.push_back(std::stoi(item));
    return v;
}

std::string what_of(const std::function<void()>& f) {
    try { f(); } catch (const Error& e) { return e.what(); }
    return "(no error)";
}

struct Fixture {
    SafetensorsFile file;
    RnnSpec spec;
    Seq2SeqShape shape;
    std::vector<uint8_t> use_truth;
    int T = 0, N = 0;
    long outputs() const { return long(shape.horizon) * long(shape.target_inputs.size()); }
};

Fixture load_fixture(const std::string& name) {
    Fixture f;
    f.file = read_safetensors(kFixtureDir + "/" + name + ".safetensors");
    const auto& m = f.file.metadata;
    f.spec = {parse_cell(m.at("cell")), std::stoi(m.at("F")), std::stoi(m.at("H")), std::stoi(m.at("L")), false};
    f.shape.horizon = std::stoi(m.at("horizon"));
    for (int c : int_list(m.at("target_inputs"))) f.shape.target_inputs.push_back(c);
    for (int u : int_list(m.at("use_truth"))) f.use_truth.push_back(uint8_t(u));
    f.T = std::stoi(m.at("T"));
    f.N = std::stoi(m.at("N"));
    return f;
}

Tensor<float> fixture_tensor(Backend<float>& be, const Fixture& f, const std::string& name, const Shape& shape) {
    std::vector<float> v(shape_numel(shape));
    f.file.copy_f32(name, shape, v.data());
    return be.from_host(v, shape);
}

// Forward with the fixture's teacher forcing, then backward seeded with dpred: checks the prediction and the
// gradient of every parameter (by PyTorch name: loading by name also checks our names and shapes are PyTorch's).
void expect_agreement(const std::shared_ptr<Backend<float>>& be, const Fixture& f) {
    Forecaster model(be, f.spec, f.shape, 7);
    const auto& entries = model.params().layout().entries();
    size_t fixture_params = 0;
    for (const auto& t : f.file.tensors()) fixture_params += t.name.rfind("grad.", 0) == 0;
    EXPECT_EQ(entries.size(), fixture_params) << "our parameters and PyTorch's differ in number";
    for (const auto& e : entries) {
        std::vector<float> v(e.numel);
        f.file.copy_f32(e.name, e.shape, v.data());
        be->copy_from_host(model.params().value(e.name).data(), v.data(), v.size() * sizeof(float));
    }
    const Tensor<float> x = fixture_tensor(*be, f, "x", {f.T, f.N, f.spec.input_size});
    const Tensor<float> y = fixture_tensor(*be, f, "y", {f.N, f.outputs()});
    const Tensor<float> dpred = fixture_tensor(*be, f, "dpred", {f.N, f.outputs()});
    TeacherForcing teacher{&y, f.use_truth};
    model.zero_grad();
    const Tensor<float> pred = model.forward(x, true, &teacher);
    EXPECT_LT(rel_error(be->to_host(pred), f.file.get_f64("pred")), 1e-5) << "prediction";
    model.backward(dpred);
    for (const auto& e : entries) {
        const std::vector<float> g = be->to_host(model.params().grad(e.name));
        EXPECT_LT(rel_error(g, f.file.get_f64("grad." + e.name)), 1e-5) << "gradient of " << e.name;
    }
    // In inference the teacher is ignored: the prediction is the free-running one.
    const auto free_running = be->to_host(model.forward(x, false));
    EXPECT_EQ(be->to_host(model.forward(x, false, &teacher)), free_running);
}

class TorchSeq2Seq : public ::testing::TestWithParam<std::string> {};

TEST_P(TorchSeq2Seq, CpuFloat) {
    const Fixture f = load_fixture(GetParam());
    SCOPED_TRACE(f.spec.describe());
    auto be = make_backend("cpu");
    expect_agreement(be, f);
}

TEST_P(TorchSeq2Seq, GpuBackendsFloat) {
    const std::vector<std::string> gpu = testing::gpu_backend_names();
    if (gpu.empty()) GTEST_SKIP() << "no GPU backend available in this process (no GPU, or built without CUDA)";
    const Fixture f = load_fixture(GetParam());
    for (const auto& name : gpu) {
        SCOPED_TRACE("backend " + name + ": " + f.spec.describe());
        expect_agreement(make_backend(name), f);
    }
}

std::string fixture_test_name(const ::testing::TestParamInfo<std::string>& p) { return p.param; }
INSTANTIATE_TEST_SUITE_P(Fixtures, TorchSeq2Seq, ::testing::ValuesIn(fixture_names()), fixture_test_name);

// Guards against a checkout without fixtures silently running no agreement test.
TEST(TorchSeq2SeqFixtures, AllPresent) {
    std::vector<std::string> expected;
    for (const char* cell : {"gru", "lstm", "rnn_tanh"})
        for (const char* mode : {"free_running", "teacher_forcing"}) expected.push_back(std::string(cell) + "_" + mode);
    EXPECT_EQ(fixture_names(), expected) << "regenerate with: /usr/bin/python3 tests/fixtures/make_seq2seq_fixtures.py";
}

TEST(Seq2SeqForecaster, CheckpointRoundTripGivesIdenticalPredictions) {
    auto be = make_backend("cpu");
    std::mt19937_64 rng(testing::test_seed());
    Forecaster a(be, {CellType::Lstm, 5, 12, 2, false}, Seq2SeqShape{6, {4, 1}}, 3);
    EXPECT_TRUE(a.seq2seq());
    EXPECT_EQ(a.outputs(), 12);
    const std::string path = testing::temp_dir() + "/seq2seq.safetensors";
    save_checkpoint(path, a, {});
    Checkpoint c = read_checkpoint(path);
    EXPECT_EQ(c.config.at("decoder"), "seq2seq");
    auto b = Forecaster::from_config(be, c.config);
    load_parameters(c, *b);
    EXPECT_TRUE(b->seq2seq());
    const auto x = be->from_host(testing::random_vector<float>(7 * 3 * 5, rng), {7, 3, 5});
    EXPECT_EQ(be->to_host(a.forward(x, false)), be->to_host(b->forward(x, false)));
    EXPECT_TRUE(b->params().layout().find("decoder.weight_hh_l1") != nullptr);
    EXPECT_EQ(b->params().value("head.weight").shape(), (Shape{2, 12}));
}

// A seq2seq head is applied once per lead time: a tiny model with a long horizon predicts more values (72 x 5) than
// it has parameters (QA: such a run trained, then could not read its own best.safetensors).
TEST(Seq2SeqForecaster, ATinyModelWithALongHorizonReadsBackItsCheckpoint) {
    auto be = make_backend("cpu");
    Forecaster a(be, {CellType::RnnTanh, 5, 8, 1, false}, Seq2SeqShape{72, {0, 1, 2, 3, 4}}, 3);
    ASSERT_GT(a.outputs(), long(a.params().size()));
    const std::string path = testing::temp_dir() + "/seq2seq_long_horizon.safetensors";
    save_checkpoint(path, a, {});
    Checkpoint c = read_checkpoint(path);
    auto b = Forecaster::from_config(be, c.config);
    load_parameters(c, *b);
    EXPECT_EQ(b->outputs(), 360);
    std::mt19937_64 rng(testing::test_seed());
    const auto x = be->from_host(testing::random_vector<float>(4 * 2 * 5, rng), {4, 2, 5});
    EXPECT_EQ(be->to_host(a.forward(x, false)), be->to_host(b->forward(x, false)));
}

TEST(Seq2SeqForecaster, BadShapesAreClearErrors) {
    auto be = make_backend("cpu");
    EXPECT_NE(what_of([&] { Forecaster(be, {CellType::Gru, 5, 8, 1, true}, Seq2SeqShape{4, {0}}, 1); })
                  .find("unidirectional encoder"),
              std::string::npos);
    EXPECT_NE(what_of([&] { Forecaster(be, {CellType::Gru, 5, 8, 1, false}, Seq2SeqShape{4, {5}}, 1); })
                  .find("input column 5"),
              std::string::npos);
    EXPECT_NE(what_of([&] { Forecaster(be, {CellType::Gru, 5, 8, 1, false}, Seq2SeqShape{0, {1}}, 1); })
                  .find("horizon"),
              std::string::npos);
    Forecaster m(be, {CellType::Gru, 5, 8, 1, false}, Seq2SeqShape{4, {1}}, 1);
    std::mt19937_64 rng(1);
    const auto x = be->from_host(testing::random_vector<float>(6 * 2 * 5, rng), {6, 2, 5});
    const auto y = be->from_host(testing::random_vector<float>(2 * 3, rng), {2, 3});
    TeacherForcing wrong{&y, {0, 1, 1, 1}};
    EXPECT_NE(what_of([&] { m.forward(x, true, &wrong); }).find("teacher-forcing targets"), std::string::npos);
    // A checkpoint whose metadata disagrees with itself.
    nlohmann::json c = m.config();
    c["outputs"] = 5;
    EXPECT_NE(what_of([&] { Forecaster::from_config(be, c); }).find("5 outputs, but horizon 4 x 1"), std::string::npos);
    c = m.config();
    c["decoder"] = "attention";
    EXPECT_NE(what_of([&] { Forecaster::from_config(be, c); }).find("unknown forecaster decoder 'attention'"),
              std::string::npos);
}

}  // namespace
}  // namespace fusedrnn
