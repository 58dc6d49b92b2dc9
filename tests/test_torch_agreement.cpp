// Agreement with PyTorch 1.13 (nn.RNN tanh/relu, nn.LSTM, nn.GRU): forward outputs, final states and
// every gradient, against goldens made by tests/fixtures/make_torch_fixtures.py in float64.
// The fixtures store weights under PyTorch's names, so loading them through rnn_param_layout also checks
// that our flat layout, gate order and bias convention are PyTorch's.
//   cpu, double:          relative error < 1e-10 per tensor
//   every backend, float: relative error < 1e-5 per tensor (inputs rounded to float first)
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "fusedrnn/core/backend.h"
#include "fusedrnn/core/param_layout.h"
#include "fusedrnn/core/safetensors.h"
#include "fusedrnn/tests/test_support.h"

namespace fusedrnn {
namespace {

namespace fs = std::filesystem;
using testing::rel_error;

const std::string kFixtureDir = FUSEDRNN_SOURCE_DIR "/tests/fixtures/torch";

std::vector<std::string> fixture_names() { return testing::file_stems(kFixtureDir, ".safetensors"); }

struct Fixture {
    SafetensorsFile file;
    RnnSpec spec;
    int T = 0, N = 0;
    bool has_h0 = false;
    bool lstm() const { return has_cell_state(spec.cell); }
    long LD() const { return long(spec.num_layers) * spec.directions(); }
    Shape state_shape() const { return {LD(), N, spec.hidden_size}; }
    Shape seq_shape(long features) const { return {T, N, features}; }
};

Fixture load_fixture(const std::string& name) {
    Fixture f;
    f.file = read_safetensors(kFixtureDir + "/" + name + ".safetensors");
    const auto& m = f.file.metadata;
    f.spec.cell = parse_cell(m.at("cell"));
    f.spec.input_size = std::stoi(m.at("input_size"));
    f.spec.hidden_size = std::stoi(m.at("hidden_size"));
    f.spec.num_layers = std::stoi(m.at("num_layers"));
    f.spec.bidirectional = m.at("bidirectional") == "true";
    f.T = std::stoi(m.at("T"));
    f.N = std::stoi(m.at("N"));
    f.has_h0 = m.at("has_h0") == "true";
    return f;
}

// The fixture's tensor `name` as T, after checking its shape.
template <class T>
std::vector<T> values(const Fixture& f, const std::string& name, const Shape& expected) {
    std::vector<T> v(shape_numel(expected));
    if constexpr (std::is_same_v<T, float>) f.file.copy_f32(name, expected, v.data());
    else f.file.copy_f64(name, expected, v.data());
    return v;
}

// Runs forward + backward of the fixture on `be`; returns every result under the fixture's names
// (y, hn, cn, dx, dh0, dc0, grad.<weight>) as doubles.
template <class T>
std::map<std::string, std::vector<double>> run(Backend<T>& be, const Fixture& f) {
    const RnnSpec& spec = f.spec;
    const ParamLayout layout = rnn_param_layout(spec);
    std::vector<T> w(layout.total());
    for (const auto& e : layout.entries()) {
        const auto v = values<T>(f, e.name, e.shape);
        std::copy(v.begin(), v.end(), w.begin() + static_cast<long>(e.offset));
    }
    const Shape st = f.state_shape();
    const Shape xs = f.seq_shape(spec.input_size), ys = f.seq_shape(spec.output_size());
    const bool lstm = f.lstm();

    auto weights = be.from_host(w, {long(w.size())});
    auto x = be.from_host(values<T>(f, "x", xs), xs);
    Tensor<T> h0, c0;
    if (f.has_h0) {
        h0 = be.from_host(values<T>(f, "h0", st), st);
        if (lstm) c0 = be.from_host(values<T>(f, "c0", st), st);
    }
    auto dy = be.from_host(values<T>(f, "dy", ys), ys);
    auto dhn = be.from_host(values<T>(f, "dhn", st), st);
    Tensor<T> dcn;
    if (lstm) dcn = be.from_host(values<T>(f, "dcn", st), st);

    auto y = be.empty(ys), hn = be.empty(st), cn = be.empty(st);
    auto reserve = be.empty({long(be.rnn_reserve_size(spec, f.T, f.N))});
    RnnForwardArgs<T> fa;
    fa.T = f.T; fa.N = f.N; fa.x = x.data(); fa.h0 = h0.data(); fa.c0 = c0.data();
    fa.weights = weights.data(); fa.y = y.data(); fa.hn = hn.data(); fa.cn = lstm ? cn.data() : nullptr;
    fa.reserve = reserve.data();
    be.rnn_forward(spec, fa);

    auto dx = be.empty(xs), dh0 = be.empty(st), dc0 = be.empty(st);
    auto dw = be.zeros({long(w.size())});  // rnn_backward accumulates into it
    RnnBackwardArgs<T> ba;
    ba.T = f.T; ba.N = f.N; ba.x = x.data(); ba.h0 = h0.data(); ba.c0 = c0.data(); ba.weights = weights.data();
    ba.y = y.data(); ba.dy = dy.data(); ba.dhn = dhn.data(); ba.dcn = dcn.data(); ba.reserve = reserve.data();
    ba.dx = dx.data(); ba.dh0 = dh0.data(); ba.dc0 = lstm ? dc0.data() : nullptr; ba.dweights = dw.data();
    be.rnn_backward(spec, ba);
    be.synchronize();

    std::map<std::string, std::vector<double>> out;
    auto put = [&](const std::string& key, const Tensor<T>& t) {
        const auto v = be.to_host(t);
        out[key].assign(v.begin(), v.end());
    };
    put("y", y); put("hn", hn); put("dx", dx); put("dh0", dh0);
    if (lstm) { put("cn", cn); put("dc0", dc0); }
    const auto grads = be.to_host(dw);
    for (const auto& e : layout.entries())
        out["grad." + e.name].assign(grads.begin() + long(e.offset), grads.begin() + long(e.offset + e.numel));
    return out;
}

// Compares every result against the fixture; each tensor on its own so a failure names it.
void expect_agreement(const Fixture& f, const std::map<std::string, std::vector<double>>& got, double tol) {
    const size_t expected_count = 4 + (f.lstm() ? 2 : 0) + rnn_param_layout(f.spec).entries().size();
    EXPECT_EQ(got.size(), expected_count);
    for (const auto& [key, v] : got) {
        ASSERT_TRUE(f.file.has(key)) << "fixture has no '" << key << "'";
        const double err = rel_error(v, f.file.get_f64(key));
        EXPECT_LT(err, tol) << key << " differs from PyTorch";
    }
}

class TorchAgreement : public ::testing::TestWithParam<std::string> {};

TEST_P(TorchAgreement, CpuDouble) {
    const Fixture f = load_fixture(GetParam());
    SCOPED_TRACE(f.spec.describe());
    auto be = make_backend_f64("cpu");
    expect_agreement(f, run(*be, f), 1e-10);
}

TEST_P(TorchAgreement, CpuFloat) {
    const Fixture f = load_fixture(GetParam());
    SCOPED_TRACE(f.spec.describe());
    auto be = make_backend("cpu");
    expect_agreement(f, run(*be, f), 1e-5);
}

// The same goldens on the GPU backends (fused kernels and cuDNN) where a GPU is present.
TEST_P(TorchAgreement, GpuBackendsFloat) {
    const std::vector<std::string> gpu = testing::gpu_backend_names();
    if (gpu.empty()) GTEST_SKIP() << "no GPU backend available in this process (no GPU, or built without CUDA)";
    const Fixture f = load_fixture(GetParam());
    for (const auto& name : gpu) {
        SCOPED_TRACE("backend " + name + ": " + f.spec.describe());
        auto be = make_backend(name);
        expect_agreement(f, run(*be, f), 1e-5);
    }
}

std::string fixture_test_name(const ::testing::TestParamInfo<std::string>& p) { return p.param; }
INSTANTIATE_TEST_SUITE_P(Fixtures, TorchAgreement, ::testing::ValuesIn(fixture_names()), fixture_test_name);

// Guards against a checkout without fixtures silently running zero agreement tests.
TEST(TorchFixtures, AllPresentAndSmall) {
    const auto names = fixture_names();
    std::vector<std::string> expected;
    for (const char* cell : {"gru", "lstm", "rnn_relu", "rnn_tanh"})
        for (const char* config : {"l1_uni_zero_state", "l2_bidir_h0", "l3_uni_h0"})
            expected.push_back(std::string(cell) + "_" + config);
    std::sort(expected.begin(), expected.end());
    EXPECT_EQ(names, expected) << "regenerate with: /usr/bin/python3 tests/fixtures/make_torch_fixtures.py";
    uintmax_t total = 0;
    for (const auto& n : names) total += fs::file_size(kFixtureDir + "/" + n + ".safetensors");
    EXPECT_LT(total, 1u << 20) << "fixtures should stay well under 1 MB";
}

// The fixtures were written by Python's json + struct; our writer must produce the same bytes, which
// checks both implementations of the format against each other.
TEST(TorchFixtures, OurWriterReproducesThePythonWrittenBytes) {
    for (const auto& name : fixture_names()) {
        const std::string src = kFixtureDir + "/" + name + ".safetensors";
        const std::string dst = testing::temp_dir() + "/" + name + ".safetensors";
        write_safetensors(dst, read_safetensors(src));
        std::ifstream a(src, std::ios::binary), b(dst, std::ios::binary);
        const std::string sa(std::istreambuf_iterator<char>(a), {}), sb(std::istreambuf_iterator<char>(b), {});
        EXPECT_TRUE(sa == sb) << name << ": " << sa.size() << " vs " << sb.size() << " bytes";
    }
}

}  // namespace
}  // namespace fusedrnn
