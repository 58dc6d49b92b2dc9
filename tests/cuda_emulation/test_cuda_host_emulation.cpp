// The fused CUDA backend's host code (cuda/fused_backend.cpp, gpu_backend.cpp, context.cpp,
// device_memory.cpp) and its kernels' per-thread bodies (kernels/cuda/rnn_step.cuh), run on the CPU
// against the host emulation of the CUDA runtime and cuBLAS in emulated_cuda.cpp, and compared with the
// CPU backend in double. This checks, in every build and without a GPU, what a GPU run would otherwise be
// the first to check: the row-major GEMMs' mapping onto column-major cuBLAS (transposes, leading
// dimensions: the emulated cuBLAS rejects what cuBLAS rejects), the reserve layout shared by forward and
// backward, the reverse direction's time indexing, layer stacking, h0/c0 and dh_n/dc_n handling, weight
// gradients accumulating, no read of never-written scratch (device memory starts as NaN), and no
// dependency between the threads of one launch (they run in both orders). The GPU suites written for the
// device — the dense ops (tests/gpu_dense_suite.cpp, GpuDense.*) and the recurrent stack
// (tests/gpu_rnn_suite.cpp, GpuRnnSmall.*; cuDNN's parts and GpuRnnLarge.* skip) — are linked in too and run
// here on the same emulated backend, whose dense launchers run the kernels' per-element bodies. It does not replace a GPU run: launch configurations,
// the block reductions and atomics, and real memory/race behaviour are only checked there
// (tests/test_gpu_backends.cpp under compute-sanitizer, scripts/gpu_check.sh).
#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "fusedrnn/core/backend.h"
#include "fusedrnn/core/data/dataset.h"
#include "fusedrnn/core/gradient_sum.h"
#include "fusedrnn/core/param_layout.h"
#include "fusedrnn/core/process_group.h"
#include "fusedrnn/cuda/backends.h"
#include "fusedrnn/kernels/cuda/rnn_recurrence.h"
#include "fusedrnn/models/device_scalars.h"
#include "fusedrnn/models/forecast_trainer.h"
#include "fusedrnn/models/lm_trainer.h"
#include "fusedrnn/tests/cuda_emulation/emulation.h"
#include "fusedrnn/tests/gpu_suites.h"
#include "fusedrnn/tests/test_support.h"

namespace fusedrnn {
namespace {

using testing::rel_error;

// ‖a − b‖ ≤ 1e-5·‖b‖ (DESIGN.md: fp32 against the double reference) + 1e-6·√n: the absolute floor is for
// outputs near zero, where one float rounding in a 1-element case already exceeds 1e-5 relative; values here
// are O(1), so a real mistake is off by far more.
::testing::AssertionResult close(const std::vector<double>& a, const std::vector<double>& b, const char* what) {
    if (a.size() != b.size())
        return ::testing::AssertionFailure() << what << ": " << a.size() << " values vs " << b.size();
    double diff = 0, ref = 0;
    for (size_t i = 0; i < a.size(); ++i) {
        if (!std::isfinite(a[i])) return ::testing::AssertionFailure() << what << "[" << i << "] is " << a[i];
        diff += (a[i] - b[i]) * (a[i] - b[i]);
        ref += b[i] * b[i];
    }
    const double bound = 1e-5 * std::sqrt(ref) + 1e-6 * std::sqrt(double(a.size()));
    if (std::sqrt(diff) <= bound) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << what << ": ‖a − b‖ = " << std::sqrt(diff) << " > " << bound
                                         << " (relative " << rel_error(a, b) << ")";
}

struct Case {
    CellType cell;
    int input, hidden, layers;
    bool bidirectional;
    int T, N;
};

std::string case_name(const Case& c) {
    return fmt::format("{}_C{}_H{}_L{}_{}_T{}_N{}", cell_name(c.cell), c.input, c.hidden, c.layers,
                       c.bidirectional ? "bi" : "uni", c.T, c.N);
}

std::vector<Case> cases() {
    std::vector<Case> all;
    for (CellType cell : {CellType::RnnTanh, CellType::RnnRelu, CellType::Lstm, CellType::Gru, CellType::GruResetBefore})
        for (const Case& shape : std::vector<Case>{{cell, 1, 1, 1, false, 1, 1},
                                                   {cell, 4, 3, 2, true, 2, 7},
                                                   {cell, 5, 7, 3, true, 6, 5},
                                                   {cell, 3, 9, 1, false, 8, 1},
                                                   {cell, 6, 5, 4, true, 5, 3},
                                                   {cell, 5, 37, 2, true, 9, 33}})
            all.push_back(shape);
    return all;
}

// Inputs in double; each backend gets them in its own precision.
struct Inputs {
    std::vector<double> x, h0, c0, weights, dy, dhn, dcn, dweights0;
};
struct Outputs {
    std::vector<double> y, hn, cn, dx, dh0, dc0, dweights;
};

template <class S>
class Buffers {
public:
    explicit Buffers(Backend<S>& be) : be_(be) {}
    // A device buffer holding v, or none (nullptr) when v is empty.
    S* upload(const std::vector<double>& v) {
        if (v.empty()) return nullptr;
        const std::vector<S> s(v.begin(), v.end());
        keep_.push_back(be_.allocate(s.size() * sizeof(S)));
        be_.copy_from_host(keep_.back()->data(), s.data(), s.size() * sizeof(S));
        return static_cast<S*>(keep_.back()->data());
    }
    S* zeros(size_t n) { return upload(std::vector<double>(n, 0.0)); }
    std::vector<double> download(const S* p, size_t n) {
        std::vector<S> h(n);
        be_.copy_to_host(h.data(), p, n * sizeof(S));
        return {h.begin(), h.end()};
    }

private:
    Backend<S>& be_;
    std::vector<std::shared_ptr<Storage>> keep_;
};

// Training forward, then backward; with `full`, every optional argument is given (h0, c0, dh_n, dc_n,
// dx, dh0, dc0, non-zero weight gradients to accumulate onto), else only the required ones. Also checks
// that the inference forward (no reserve) gives the training forward's outputs.
template <class S>
Outputs run(Backend<S>& be, const RnnSpec& spec, int T, int N, const Inputs& in, bool full) {
    const bool lstm = has_cell_state(spec.cell);
    const size_t state = size_t(spec.num_layers) * spec.directions() * N * spec.hidden_size;
    const size_t ny = size_t(T) * N * spec.output_size(), nx = size_t(T) * N * spec.input_size;
    const size_t np = rnn_param_count(spec);
    Buffers<S> b(be);
    S* x = b.upload(in.x);
    S* weights = b.upload(in.weights);
    S* reserve = b.zeros(std::max<size_t>(be.rnn_reserve_size(spec, T, N), 1));
    RnnForwardArgs<S> f;
    f.T = T;
    f.N = N;
    f.x = x;
    f.h0 = b.upload(in.h0);
    f.c0 = b.upload(in.c0);
    f.weights = weights;
    f.y = b.zeros(ny);
    f.hn = full ? b.zeros(state) : nullptr;
    f.cn = full && lstm ? b.zeros(state) : nullptr;
    f.reserve = reserve;
    be.rnn_forward(spec, f);
    Outputs o;
    o.y = b.download(f.y, ny);
    if (f.hn) o.hn = b.download(f.hn, state);
    if (f.cn) o.cn = b.download(f.cn, state);

    RnnForwardArgs<S> inference = f;
    inference.reserve = nullptr;
    inference.y = b.zeros(ny);
    inference.hn = f.hn ? b.zeros(state) : nullptr;
    inference.cn = f.cn ? b.zeros(state) : nullptr;
    be.rnn_forward(spec, inference);
    EXPECT_EQ(b.download(inference.y, ny), o.y) << "inference y";  // the same arithmetic, without saving
    if (f.hn) {
        EXPECT_EQ(b.download(inference.hn, state), o.hn) << "inference h_n";
    }

    RnnBackwardArgs<S> g;
    g.T = T;
    g.N = N;
    g.x = x;
    g.h0 = f.h0;
    g.c0 = f.c0;
    g.weights = weights;
    g.y = f.y;
    g.dy = b.upload(in.dy);
    g.dhn = b.upload(in.dhn);
    g.dcn = b.upload(in.dcn);
    g.reserve = reserve;
    g.dx = full ? b.zeros(nx) : nullptr;
    g.dh0 = full ? b.zeros(state) : nullptr;
    g.dc0 = full && lstm ? b.zeros(state) : nullptr;
    g.dweights = in.dweights0.empty() ? b.zeros(np) : b.upload(in.dweights0);
    be.rnn_backward(spec, g);
    if (g.dx) o.dx = b.download(g.dx, nx);
    if (g.dh0) o.dh0 = b.download(g.dh0, state);
    if (g.dc0) o.dc0 = b.download(g.dc0, state);
    o.dweights = b.download(g.dweights, np);
    EXPECT_EQ(b.download(f.y, ny), o.y) << "backward changed y";
    return o;
}

// testing::relu_kink_flips between two backends' runs of a ReLU stack, every layer: the top layer's from y, the lower
// ones' from the stack cut to its first layers (whose parameters and initial states lead the full stack's).
template <class S1, class S2>
int relu_kink_flips(Backend<S1>& a, Backend<S2>& b, const RnnSpec& spec, int T, int N, const Inputs& in,
                    const Outputs& top_a, const Outputs& top_b) {
    int n = testing::relu_kink_flips(top_a.y, top_b.y);
    for (int layers = 1; layers < spec.num_layers; ++layers) {
        RnnSpec cut = spec;
        cut.num_layers = layers;
        Inputs c;  // forward only: no gradients in, none out
        c.x = in.x;
        c.weights.assign(in.weights.begin(), in.weights.begin() + long(rnn_param_count(cut)));
        if (!in.h0.empty())
            c.h0.assign(in.h0.begin(), in.h0.begin() + long(layers) * cut.directions() * N * cut.hidden_size);
        c.dy.assign(size_t(T) * N * cut.output_size(), 0.0);
        n += testing::relu_kink_flips(run(a, cut, T, N, c, false).y, run(b, cut, T, N, c, false).y);
    }
    return n;
}

// Each case on both recurrence strategies (kernels/cuda/rnn_recurrence.h): "persistent:2" makes blocks of two
// rows, so odd batches end on a partial block (the reset-before GRU runs alternating either way).
const std::vector<std::string> kRecurrences = {"alternating", "persistent:2"};

class FusedBackendOnHostEmulation
    : public ::testing::TestWithParam<std::tuple<Case, bool, bool, std::string>> {};

TEST_P(FusedBackendOnHostEmulation, MatchesCpuBackendInDouble) {
    const auto& [c, full, reversed, recurrence] = GetParam();
    emulation::set_thread_order_reversed(reversed);
    const RnnSpec spec{c.cell, c.input, c.hidden, c.layers, c.bidirectional};
    const size_t state = size_t(c.layers) * spec.directions() * c.N * c.hidden;
    const bool lstm = has_cell_state(c.cell);
    std::mt19937_64 rng(testing::test_seed());
    // Values a float holds exactly, so both backends start from the same numbers and differ only in how they
    // compute (rounding the inputs alone moves a 1-element output near zero by more than 1e-5 relative).
    auto random = [&](size_t n, double scale = 1.0) {
        const auto f = testing::random_vector<float>(n, rng, -scale, scale);
        return std::vector<double>(f.begin(), f.end());
    };
    auto fused = gpu::make_fused_backend(0, recurrence);
    auto reference = make_backend_f64("cpu");
    Outputs a, b;
    // A ReLU draw that lands on the kink (testing::relu_kink_flips: a unit the float and the double run put on
    // opposite sides of 0, where their gradients differ by design) is drawn again; 5 in a row would be ~1e-10.
    for (int draw = 1;; ++draw) {
        Inputs in;
        in.x = random(size_t(c.T) * c.N * c.input);
        in.weights = random(rnn_param_count(spec), 1.0 / std::sqrt(double(c.hidden)));
        in.dy = random(size_t(c.T) * c.N * spec.output_size());
        if (full) {
            in.h0 = random(state);
            in.dhn = random(state);
            if (lstm) {
                in.c0 = random(state);
                in.dcn = random(state);
            }
            in.dweights0 = random(rnn_param_count(spec));  // gradients accumulate onto these
        }
        a = run(*fused, spec, c.T, c.N, in, full);
        b = run(*reference, spec, c.T, c.N, in, full);
        if (c.cell != CellType::RnnRelu) break;
        const int flips = relu_kink_flips(*fused, *reference, spec, c.T, c.N, in, a, b);
        if (flips == 0) break;
        std::cout << "[ relu     ] draw " << draw << ": " << flips
                  << " unit(s) within rounding of the kink, where float and double differ by design: drawn again\n";
        ASSERT_LT(draw, 5) << "every draw landed on the ReLU kink";
    }
    EXPECT_TRUE(close(a.y, b.y, "y"));
    EXPECT_TRUE(close(a.hn, b.hn, "h_n"));
    EXPECT_TRUE(close(a.cn, b.cn, "c_n"));
    EXPECT_TRUE(close(a.dx, b.dx, "dx"));
    EXPECT_TRUE(close(a.dh0, b.dh0, "dh0"));
    EXPECT_TRUE(close(a.dc0, b.dc0, "dc0"));
    EXPECT_TRUE(close(a.dweights, b.dweights, "dweights"));
    emulation::set_thread_order_reversed(false);
}

INSTANTIATE_TEST_SUITE_P(Cases, FusedBackendOnHostEmulation,
                         ::testing::Combine(::testing::ValuesIn(cases()), ::testing::Bool(), ::testing::Bool(),
                                            ::testing::ValuesIn(kRecurrences)),
                         [](const ::testing::TestParamInfo<std::tuple<Case, bool, bool, std::string>>& p) {
                             std::string recurrence = std::get<3>(p.param);
                             std::replace(recurrence.begin(), recurrence.end(), ':', '_');
                             return fmt::format("{}_{}_{}_{}", case_name(std::get<0>(p.param)),
                                                std::get<1>(p.param) ? "all_args" : "required_args",
                                                std::get<2>(p.param) ? "threads_reversed" : "threads_in_order",
                                                recurrence);
                         });

// The persistent kernels at the station shape's length and hidden size, partitioned as on an H100/H200 (8 rows per
// block), against the CPU backend in double: T = 48 steps of float sums in one thread per column stay within 1e-5
// (measured: relative error 1.0e-7 in y, 9e-8 in the weight gradients, LSTM and GRU, 2 layers, hidden 64).
TEST(FusedBackendOnHostEmulation, PersistentRecurrenceAtTheStationShapeMatchesCpu) {
    const int T = 48, N = 128;  // 16 blocks (at N = 1024, 128 blocks: errors alike, 55 s on the emulation)
    std::mt19937_64 rng(testing::test_seed());
    auto random = [&](size_t n, double scale = 1.0) {
        const auto f = testing::random_vector<float>(n, rng, -scale, scale);
        return std::vector<double>(f.begin(), f.end());
    };
    for (CellType cell : {CellType::Lstm, CellType::Gru}) {
        SCOPED_TRACE(cell_name(cell));
        const RnnSpec spec{cell, 5, 64, 2, false};
        Inputs in;
        in.x = random(size_t(T) * N * 5);
        in.weights = random(rnn_param_count(spec), 1.0 / 8);
        in.dy = random(size_t(T) * N * 64);
        auto fused = gpu::make_fused_backend(0, "persistent:8");
        auto reference = make_backend_f64("cpu");
        const Outputs a = run(*fused, spec, T, N, in, false);
        const Outputs b = run(*reference, spec, T, N, in, false);
        EXPECT_TRUE(close(a.y, b.y, "y"));
        EXPECT_TRUE(close(a.dweights, b.dweights, "dweights"));
        std::cout << "[ persistent ] " << cell_name(cell) << " T " << T << " N " << N << ": y relative error "
                  << rel_error(a.y, b.y) << ", dweights " << rel_error(a.dweights, b.dweights) << "\n";
    }
}

// Rows per block of the persistent kernels: one block per multiprocessor at most (batch 1024 on an H100's 132: 8
// rows, 128 blocks), at most 16, halved until the block's shared memory fits 48 KiB; none for the reset-before GRU
// or a hidden size too large for one row.
TEST(FusedBackendOnHostEmulation, PersistentRowsPerBlockFollowTheGpu) {
    using gpu::recurrence::rows_per_block;
    EXPECT_EQ(rows_per_block(CellType::Lstm, 1024, 128, 132), 8);
    EXPECT_EQ(rows_per_block(CellType::Gru, 1024, 64, 132), 8);
    EXPECT_EQ(rows_per_block(CellType::Lstm, 7, 128, 132), 1);
    EXPECT_EQ(rows_per_block(CellType::Lstm, 100000, 64, 132), 16);
    EXPECT_EQ(rows_per_block(CellType::Lstm, 1024, 512, 132), 4);  // 8 rows x 5 x 512 floats would be 80 KiB
    EXPECT_EQ(rows_per_block(CellType::Lstm, 1024, 128, 132, 2), 2);
    EXPECT_EQ(rows_per_block(CellType::Lstm, 1024, 2457, 132), 1);
    EXPECT_EQ(rows_per_block(CellType::Lstm, 1024, 2458, 132), 0);
    EXPECT_EQ(rows_per_block(CellType::RnnTanh, 1024, 6144, 132), 1);
    EXPECT_EQ(rows_per_block(CellType::GruResetBefore, 1024, 128, 132), 0);
}

// The persistent strategy runs a layer-direction's whole recurrence in one launch each way (plus the input
// projection, W_hh's transpose and the weight-gradient GEMMs), where the alternating one launches per step; the
// reset-before GRU, which has two recurrent products per step, stays alternating. A bad strategy name is refused
// with the accepted ones.
TEST(FusedBackendOnHostEmulation, PersistentRecurrenceLaunchesOncePerLayerDirection) {
    const int T = 24, N = 9;
    auto launches = [&](const std::string& recurrence, CellType cell) {
        const RnnSpec spec{cell, 3, 8, 1, false};
        auto be = gpu::make_fused_backend(0, recurrence);
        Inputs in;
        in.x.assign(size_t(T) * N * 3, 0.5);
        in.weights.assign(rnn_param_count(spec), 0.1);
        in.dy.assign(size_t(T) * N * 8, 1.0);
        emulation::reset_counters();
        run(*be, spec, T, N, in, false);
        return emulation::counters().launches;
    };
    for (CellType cell : {CellType::RnnTanh, CellType::Lstm, CellType::Gru}) {
        SCOPED_TRACE(cell_name(cell));
        const long alternating = launches("alternating", cell), persistent = launches("persistent", cell);
        EXPECT_GT(alternating, 4 * T) << "two passes of forward (training and inference) and a backward, per step";
        EXPECT_LT(persistent, 40) << "alternating: " << alternating;
    }
    EXPECT_EQ(launches("persistent", CellType::GruResetBefore), launches("alternating", CellType::GruResetBefore));
    EXPECT_EQ(gpu::make_fused_backend(0, "persistent:4")->details(), "recurrence persistent:4");
    EXPECT_EQ(gpu::make_fused_backend(0, "alternating")->details(), "recurrence alternating");
    const std::string m = testing::error_of([] { gpu::make_fused_backend(0, "persistent:3"); });
    EXPECT_NE(m.find("persistent:3: expected alternating, persistent, or persistent:R"), std::string::npos) << m;
}

// The step kernels and cuBLAS index a step's gate matrix [N, 4·H] with 32-bit ints: a larger batch × hidden is
// refused up front with the numbers and a way out, and the largest shape that fits is accepted.
TEST(FusedBackendOnHostEmulation, ShapesBeyondThe32BitIndexAreRefused) {
    auto fused = gpu::make_fused_backend(0);
    const int N = 1 << 20;
    const std::string m = testing::error_of([&] { fused->rnn_reserve_size({CellType::Lstm, 5, 512, 1, false}, 48, N); });
    EXPECT_NE(m.find("batch 1048576 x hidden 512 is too large"), std::string::npos) << m;
    EXPECT_NE(m.find("cudnn backend"), std::string::npos) << m;
    EXPECT_GT(fused->rnn_reserve_size({CellType::Lstm, 5, 511, 1, false}, 48, N), 0u);
}

// FUSEDRNN_TF32 = 1 puts cuBLAS in TF32 mode (the emulated SGEMM then rounds its inputs as tensor cores do): the
// backend says so and its results move off fp32's by TF32's rounding, not more; 0 or unset is plain fp32, and any
// other value is refused naming the variable.
TEST(FusedBackendOnHostEmulation, Tf32IsOptInThroughTheEnvironment) {
    const RnnSpec spec{CellType::Lstm, 5, 64, 1, false};
    const int T = 6, N = 9;
    std::mt19937_64 rng(testing::test_seed());
    std::uniform_real_distribution<double> u(-1, 1);
    const auto draw = [&](size_t n, double scale) {
        std::vector<double> v(n);
        for (double& e : v) e = scale * u(rng);
        return v;
    };
    Inputs in;
    in.x = draw(size_t(T) * N * 5, 1.0);
    in.weights = draw(rnn_param_count(spec), 0.125);  // U(±1/√H)
    in.dy = draw(size_t(T) * N * 64, 1.0);
    const auto run_with = [&](const char* tf32, std::string* details) {
        const testing::ScopedEnv env("FUSEDRNN_TF32", tf32);
        auto be = gpu::make_fused_backend(0);
        *details = be->details();
        return run(*be, spec, T, N, in, true);
    };
    std::string fp32_details, tf32_details, zero_details;
    const Outputs fp32 = run_with("", &fp32_details), tf32 = run_with("1", &tf32_details);
    const Outputs zero = run_with("0", &zero_details);
    EXPECT_EQ(fp32_details, "recurrence alternating");
    EXPECT_EQ(zero_details, "recurrence alternating");
    EXPECT_EQ(tf32_details, "recurrence alternating, tf32");
    EXPECT_EQ(zero.y, fp32.y);
    for (const auto& [a, b, name] : {std::tuple{&tf32.y, &fp32.y, "y"}, {&tf32.dx, &fp32.dx, "dx"},
                                     {&tf32.dweights, &fp32.dweights, "dweights"}}) {
        const double e = rel_error(*a, *b);
        EXPECT_GT(e, 1e-6) << name << ": TF32's rounding did not reach the products";
        EXPECT_LT(e, 1e-2) << name;
    }
    std::string ignored;
    const std::string m = testing::error_of([&] { run_with("yes", &ignored); });
    EXPECT_NE(m.find("FUSEDRNN_TF32='yes': expected 1"), std::string::npos) << m;
}

// The dense layer: a GEMM with the bias broadcast first (forward) and the GEMMs plus a column-sum gemv for the
// bias gradient (backward), gradients accumulating.
TEST(GpuBackendOnHostEmulation, LinearMatchesCpuBackendInDouble) {
    const int M = 13, in = 7, out = 5;
    std::mt19937_64 rng(testing::test_seed());
    auto random = [&](size_t n) {
        const auto f = testing::random_vector<float>(n, rng);
        return std::vector<double>(f.begin(), f.end());
    };
    const auto x = random(size_t(M) * in), w = random(size_t(out) * in), bias = random(out), dy = random(size_t(M) * out),
               dw0 = random(size_t(out) * in), db0 = random(out);
    auto linear = [&](auto& be, auto scalar) {
        using S = decltype(scalar);
        Buffers<S> b(be);
        S* X = b.upload(x);
        S* W = b.upload(w);
        S* Y = b.zeros(size_t(M) * out);
        S* DX = b.zeros(size_t(M) * in);
        S* DW = b.upload(dw0);
        S* DB = b.upload(db0);
        be.linear_forward(M, in, out, X, W, b.upload(bias), Y);
        be.linear_backward(M, in, out, X, W, b.upload(dy), DX, DW, DB);
        return std::vector<std::vector<double>>{b.download(Y, size_t(M) * out), b.download(DX, size_t(M) * in),
                                                b.download(DW, size_t(out) * in), b.download(DB, out)};
    };
    auto fused = gpu::make_fused_backend(0);
    auto reference = make_backend_f64("cpu");
    const auto a = linear(*fused, float{});
    const auto b = linear(*reference, double{});
    const char* names[] = {"y", "dx", "dW", "db"};
    for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(close(a[i], b[i], names[i]));
}

// Two synthetic stations, 2021 to train, 2022 to validate, 2023 to test.
data::WindowedDataset station_dataset(uint64_t seed, int input_len, int horizon, int stride) {
    return testing::station_windows(2, input_len, horizon, stride, seed);
}

// Epoch records of the same run on two backends: losses within 1e-6, gradient norms within 1e-5 (relative).
void expect_same_history(const std::vector<EpochRecord>& gpu, const std::vector<EpochRecord>& cpu) {
    ASSERT_EQ(gpu.size(), cpu.size());
    for (size_t e = 0; e < cpu.size(); ++e) {
        EXPECT_NEAR(gpu[e].train_loss, cpu[e].train_loss, 1e-6 * cpu[e].train_loss) << e;
        EXPECT_NEAR(gpu[e].val_loss, cpu[e].val_loss, 1e-6 * cpu[e].val_loss) << e;
        EXPECT_NEAR(gpu[e].grad_norm, cpu[e].grad_norm, 1e-5 * cpu[e].grad_norm) << e;
    }
}

// The station forecaster's training path on a GPU backend — the normalized series uploaded to the device, each
// step's window starts uploaded and gathered there, forward, MSE, backward, gradient clipping, Adam, validation,
// checkpoints, then the test evaluation — against the same run on the CPU backend: the same batches, so the
// same losses and weights up to float rounding (the GEMMs accumulate differently).
// The forecaster of the GPU-vs-CPU training tests: the direct head on `spec`, or (seq2seq) an encoder-decoder over
// all the dataset's targets with the same encoder made unidirectional.
std::unique_ptr<Forecaster> make_forecaster(const std::shared_ptr<Backend<float>>& be, RnnSpec spec,
                                            const data::WindowedDataset& ds, int horizon, bool seq2seq) {
    if (!seq2seq) return std::make_unique<Forecaster>(be, spec, horizon * ds.num_targets(), 3);
    spec.bidirectional = false;
    return std::make_unique<Forecaster>(be, spec, Seq2SeqShape{horizon, ds.target_cols}, 3);
}

// A trained forecaster: its history, parameters and test MSE.
struct TrainedRun {
    std::vector<EpochRecord> history;
    std::vector<float> params;
    double test_mse = 0;
};

// Three short epochs of an LSTM forecaster on `ds`. ranks > 1: data-parallel, rank r on make_rank_backend(r) (cuda:r
// or its own CPU backend), gradients summed through host memory or, when a test registers the emulated NCCL, by NCCL
// (gpu_sum names which); the ranks driven one after another (the emulated runtime is not thread-safe).
TrainedRun train_on_ranks(const data::WindowedDataset& ds, const std::function<std::shared_ptr<Backend<float>>(int)>&
                          make_rank_backend, bool seq2seq, int ranks = 1, const std::string& gpu_sum = "host",
                          float dropout = 0) {
    std::vector<std::shared_ptr<Backend<float>>> backends;
    std::vector<ForecastDataset> data;
    std::vector<std::unique_ptr<Forecaster>> models;
    std::vector<std::unique_ptr<Optimizer>> opts;
    OptimizerConfig oc;
    oc.lr = 3e-3f;
    for (int r = 0; r < ranks; ++r) {
        backends.push_back(make_rank_backend(r));
        data.push_back(ForecastDataset::from_windowed(*backends.back(), ds));
        models.push_back(
            make_forecaster(backends.back(), {CellType::Lstm, ds.num_vars(), 16, 2, true}, ds, 6, seq2seq));
        models.back()->set_dropout(dropout);
        opts.push_back(make_optimizer(models.back()->params(), oc));
    }
    Forecaster& model = *models[0];
    TrainOptions o;
    if (seq2seq) o.teacher_forcing = 0.5;
    o.epochs = 3;
    o.batch = 64;
    o.max_batches = 5;
    o.clip = 0.5;
    o.patience = 0;
    o.seed = 11;
    o.out_dir = testing::temp_dir();
    ForecastTrainer trainer(model, *opts[0], data[0], o);
    std::vector<Replica> replicas;
    for (int r = 1; r < ranks; ++r)
        replicas.push_back({models[size_t(r)].get(), opts[size_t(r)].get(), &data[size_t(r)]});
    trainer.add_replicas(replicas, RankRunner::Threads::None);
    const bool gpu = !backends[0]->device().is_cpu();
    EXPECT_EQ(trainer.gradient_sum_name(), ranks == 1 ? "none" : gpu ? gpu_sum : "host");
    TrainedRun r;
    r.history = trainer.fit();
    r.params = model.params().values_to_host();
    for (int k = 1; k < ranks; ++k) EXPECT_EQ(models[size_t(k)]->params().values_to_host(), r.params) << k;
    r.test_mse = evaluate_forecaster(model, data[0], data[0].starts[2], 256).mse();
    return r;
}

// The GPU backend, on `ranks` emulated devices, trains as the CPU backend does.
void check_training_matches_cpu(bool seq2seq, int ranks = 1, const std::string& gpu_sum = "host", float dropout = 0) {
    const data::WindowedDataset ds = station_dataset(5, 24, 6, 17);
    const TrainedRun gpu =
        train_on_ranks(ds, [](int r) { return gpu::make_fused_backend(r); }, seq2seq, ranks, gpu_sum, dropout);
    const TrainedRun cpu =
        train_on_ranks(ds, [](int) { return make_backend("cpu"); }, seq2seq, ranks, gpu_sum, dropout);
    expect_same_history(gpu.history, cpu.history);
    EXPECT_LT(rel_error(gpu.params, cpu.params), 1e-5);
    EXPECT_NEAR(gpu.test_mse, cpu.test_mse, 1e-6 * cpu.test_mse);
    EXPECT_LT(cpu.history.back().val_loss, cpu.history.front().val_loss);  // it trained
}

TEST(GpuBackendOnHostEmulation, ForecasterTrainingMatchesCpuBackend) { check_training_matches_cpu(false); }
// The encoder-decoder: the decoder's per-lead-time steps, its column copies (copy_device_2d), the state
// gradient handed back to the encoder, and teacher forcing drawn per step.
TEST(GpuBackendOnHostEmulation, Seq2SeqForecasterTrainingMatchesCpuBackend) { check_training_matches_cpu(true); }
// Dropout between the two layers, on two ranks: the stack runs layer by layer on each device, the kernel drawing
// the CPU's masks, each rank its rows of the whole batch's mask.
TEST(GpuBackendOnHostEmulation, DataParallelTrainingWithDropoutMatchesCpuBackend) {
    check_training_matches_cpu(false, 2, "host", 0.3f);
}
// And in an encoder-decoder, whose decoder masks between its layers at every lead time.
TEST(GpuBackendOnHostEmulation, DataParallelSeq2SeqTrainingWithDropoutMatchesCpuBackend) {
    check_training_matches_cpu(true, 2, "host", 0.3f);
}
// Data parallelism over two GPU backends (cuda:0, cuda:1): each trains on half of every batch.
TEST(GpuBackendOnHostEmulation, DataParallelForecasterTrainingMatchesCpuBackend) {
    check_training_matches_cpu(false, 2);
}

// The same with the NCCL gradient sum (cuda/nccl_gradient_sum.cpp on the emulated NCCL): one grouped all-reduce
// per step, queued after both ranks' backward passes.
// Registers the emulated NCCL sum for the scope (other tests expect the host sum).
struct NcclRegistered {
    NcclRegistered() { register_nccl_gradient_sum(&gpu::make_nccl_gradient_sum); }
    ~NcclRegistered() { register_nccl_gradient_sum(nullptr); }
};

TEST(GpuBackendOnHostEmulation, DataParallelTrainingWithNcclMatchesCpuBackend) {
    const NcclRegistered nccl;
    check_training_matches_cpu(false, 2, "nccl");
}

// The seconds a timed-out NCCL sum says rank 0's all-reduce has been waiting (at least the timeout, and more on a
// loaded machine, the watch being called between polls); -1 if the error is another.
double seconds_reported_stuck(const std::string& error) {
    const std::string lead = "the gradient all-reduce of global rank 0 (cuda:0) has not finished after ";
    const size_t at = error.find(lead);
    return at == std::string::npos ? -1.0 : std::strtod(error.c_str() + at + lead.size(), nullptr);
}

// A peer process that dies, or stops, mid-run: the all-reduce it never joins would spin on the GPU, and the host's
// next wait with it, forever. The trainer stops instead, with NCCL's error (or the timeout) and what to do. On the
// emulated runtime a blocking wait for such work is itself an error, so this also checks that the trainer's first
// wait after the broken all-reduce goes through the NCCL watch.
TEST(GpuBackendOnHostEmulation, DataParallelTrainingStopsWhenAnNcclPeerFails) {
    const NcclRegistered nccl;
    const data::WindowedDataset ds = station_dataset(5, 24, 6, 17);
    auto train = [&] { (void)train_on_ranks(ds, [](int r) { return gpu::make_fused_backend(r); }, false, 2, "nccl"); };
    emulation::break_next_all_reduce(emulation::NcclFault::PeerDied);
    const std::string died = testing::error_of(train);
    EXPECT_NE(died.find("the NCCL gradient sum failed: NCCL reported an error on global rank 0 (cuda:0): remote "
                        "process exited or there was a network error: emulated: a peer's connection closed"),
              std::string::npos)
        << died;
    EXPECT_NE(died.find("restart it (with --resume to continue from the last checkpoint)"), std::string::npos) << died;

    const testing::ScopedEnv timeout("FUSEDRNN_PEER_TIMEOUT_S", "0.05");
    emulation::break_next_all_reduce(emulation::NcclFault::PeerStuck);
    const std::string stuck = testing::error_of(train);
    EXPECT_GE(seconds_reported_stuck(stuck), 0.05) << stuck;
    EXPECT_NE(stuck.find("s (FUSEDRNN_PEER_TIMEOUT_S): a peer process is stuck or gone"), std::string::npos) << stuck;
}

TEST(GpuBackendOnHostEmulation, NcclGradientSumAddsTheRanksBuffers) {
    auto b0 = gpu::make_fused_backend(0), b1 = gpu::make_fused_backend(1), b2 = gpu::make_fused_backend(2);
    auto sum = gpu::make_nccl_gradient_sum({b0.get(), b1.get(), b2.get()});
    EXPECT_EQ(sum->name(), "nccl");
    Tensor<float> g0 = b0->from_host(std::vector<float>{1, 2}, {2}), g1 = b1->from_host(std::vector<float>{10, 20}, {2}),
                  g2 = b2->from_host(std::vector<float>{100, 200}, {2});
    sum->sum({g0.data(), g1.data(), g2.data()}, 2);
    EXPECT_EQ(b0->to_host(g0), (std::vector<float>{111, 222}));
    EXPECT_EQ(b1->to_host(g1), (std::vector<float>{111, 222}));
    EXPECT_EQ(b2->to_host(g2), (std::vector<float>{111, 222}));
    // NCCL wants one rank per device: the error says which call failed and why.
    const std::string e = testing::error_of([&] { gpu::make_nccl_gradient_sum({b0.get(), b0.get()}); });
    EXPECT_NE(e.find("ncclCommInitAll"), std::string::npos) << e;
    EXPECT_NE(e.find("invalid usage"), std::string::npos) << e;
}

// The sum's failure, step by step: the all-reduce is queued and sum() returns; the host's next wait on either rank
// polls NCCL, sees the dead peer, aborts the communicators (which ends the all-reduce, unsummed) and throws. Until
// the sum is gone every later sum and wait says the same, so nothing built on the broken step goes on.
TEST(GpuBackendOnHostEmulation, NcclGradientSumGivesUpWhenAPeerDies) {
    auto b0 = gpu::make_fused_backend(0), b1 = gpu::make_fused_backend(1);
    auto sum = gpu::make_nccl_gradient_sum({b0.get(), b1.get()});
    Tensor<float> g0 = b0->from_host(std::vector<float>{1, 2}, {2}), g1 = b1->from_host(std::vector<float>{10, 20}, {2});
    emulation::break_next_all_reduce(emulation::NcclFault::PeerDied);
    sum->sum({g0.data(), g1.data()}, 2);
    const std::string e = testing::error_of([&] { (void)b1->to_host(g1); });
    EXPECT_NE(e.find("NCCL reported an error on global rank 0 (cuda:0): remote process exited or there was a network "
                     "error"),
              std::string::npos)
        << e;
    EXPECT_NE(e.find("Its communicators were aborted"), std::string::npos) << e;
    EXPECT_EQ(testing::error_of([&] { sum->sum({g0.data(), g1.data()}, 2); }), e);
    EXPECT_EQ(testing::error_of([&] { (void)b0->to_host(g0); }), e);
    sum.reset();  // the watches stand down: the backends wait as before, on a device that moved on
    EXPECT_EQ(b0->to_host(g0), (std::vector<float>{1, 2}));
    EXPECT_EQ(b1->to_host(g1), (std::vector<float>{10, 20}));
}

// A peer that stops without an error (a hung process) is caught by the timeout, a healthy sum is not, and a bad
// value of the variable stops the sum's set-up.
TEST(GpuBackendOnHostEmulation, NcclGradientSumTimesOutOnAStuckPeer) {
    auto b0 = gpu::make_fused_backend(0), b1 = gpu::make_fused_backend(1);
    Tensor<float> g0 = b0->from_host(std::vector<float>{1, 2}, {2}), g1 = b1->from_host(std::vector<float>{10, 20}, {2});
    {
        const testing::ScopedEnv timeout("FUSEDRNN_PEER_TIMEOUT_S", "0.2");
        auto sum = gpu::make_nccl_gradient_sum({b0.get(), b1.get()});
        sum->sum({g0.data(), g1.data()}, 2);
        EXPECT_EQ(b0->to_host(g0), (std::vector<float>{11, 22}));
        emulation::break_next_all_reduce(emulation::NcclFault::PeerStuck);
        sum->sum({g0.data(), g1.data()}, 2);
        const auto start = std::chrono::steady_clock::now();
        const std::string e = testing::error_of([&] { (void)b0->to_host(g0); });
        const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        EXPECT_GE(seconds_reported_stuck(e), 0.2) << e;
        EXPECT_GE(waited, seconds_reported_stuck(e));
        EXPECT_LT(waited, 30.0);
    }
    // Every value is checked in ProcessGroup.PeerTimeoutFromTheEnvironment.
    const testing::ScopedEnv timeout("FUSEDRNN_PEER_TIMEOUT_S", "5s");
    const std::string e = testing::error_of([&] { (void)gpu::make_nccl_gradient_sum({b0.get(), b1.get()}); });
    EXPECT_NE(e.find("FUSEDRNN_PEER_TIMEOUT_S='5s': expected a number of seconds > 0"), std::string::npos) << e;
}

// Two processes of two GPUs each (`mpirun -np 2 fusedrnn train --data-parallel 2`): process 0 makes NCCL's unique id
// and broadcasts it, each process's GPUs join one communicator of 4 ranks as global ranks 0-1 and 2-3
// (ncclCommInitRank in a group), and the all-reduce sums all four. Here the two "processes" take turns in one thread:
// the emulated NCCL keeps process 0's half of the all-reduce until process 1's arrives, as the real one waits for it.
TEST(GpuBackendOnHostEmulation, NcclGradientSumJoinsTheGpusOfSeveralProcesses) {
    // Process 0's broadcast leaves the id where process 1's picks it up (process 0 calls first).
    struct TakingTurns final : ProcessGroup {
        TakingTurns(int r, std::string* shared) : rank_(r), shared_(shared) {}
        int size() const override { return 2; }
        int rank() const override { return rank_; }
        int node_rank() const override { return rank_; }
        std::string name() const override { return "taking turns"; }
        void all_gather(const void*, size_t, void*) override { FR_FAIL("not used by the NCCL sum"); }
        void broadcast(void* buf, size_t bytes, int root) override {
            if (rank_ == root) shared_->assign(static_cast<const char*>(buf), bytes);
            else std::memcpy(buf, shared_->data(), std::min(bytes, shared_->size()));
        }
        [[noreturn]] void abort(int code) override { FR_FAIL("abort {}", code); }
        int rank_;
        std::string* shared_;
    };
    std::string id;
    TakingTurns p0(0, &id), p1(1, &id);
    std::vector<std::shared_ptr<Backend<float>>> gpus;
    for (int d = 0; d < 4; ++d) gpus.push_back(gpu::make_fused_backend(d % 2));  // each process's cuda:0 and cuda:1
    auto sum0 = gpu::make_nccl_gradient_sum({gpus[0].get(), gpus[1].get()}, &p0);
    auto sum1 = gpu::make_nccl_gradient_sum({gpus[2].get(), gpus[3].get()}, &p1);
    EXPECT_EQ(sum0->name(), "nccl");
    std::vector<Tensor<float>> g;
    for (int r = 0; r < 4; ++r)
        g.push_back(gpus[size_t(r)]->from_host(std::vector<float>{float(r + 1), r % 2 ? -1e8f : 1e8f}, {2}));
    sum0->sum({g[0].data(), g[1].data()}, 2);
    sum1->sum({g[2].data(), g[3].data()}, 2);
    for (int r = 0; r < 4; ++r)
        EXPECT_EQ(gpus[size_t(r)]->to_host(g[size_t(r)]), (std::vector<float>{10, 0})) << "rank " << r;
}

// A station set larger than the device's memory: the error says what did not fit, how big it is, and what to do
// instead, keeps its type (the CLI reports it as it is), and the backend works on afterwards.
TEST(GpuBackendOnHostEmulation, DatasetLargerThanTheDeviceIsAClearError) {
    const data::WindowedDataset ds = station_dataset(5, 24, 6, 17);
    auto gpu = gpu::make_fused_backend(0);
    const size_t series_bytes = ds.data.values.size() * sizeof(float);
    emulation::set_device_memory(emulation::device_memory_in_use() + series_bytes / 2);
    std::string msg;
    try {
        (void)ForecastDataset::from_windowed(*gpu, ds);
    } catch (const OutOfDeviceMemory& e) {
        msg = e.what();
    }
    emulation::set_device_memory(emulation::kDefaultDeviceMemory);
    ASSERT_FALSE(msg.empty()) << "expected OutOfDeviceMemory";
    const std::string size = fmt::format("({} rows x {} variables, ", ds.data.values.size() / size_t(ds.num_vars()),
                                         ds.num_vars());
    EXPECT_NE(msg.find("dataset: the normalized series " + size), std::string::npos) << msg;
    EXPECT_NE(msg.find("is kept on the GPU for the whole run and does not fit: out of GPU memory allocating"),
              std::string::npos)
        << msg;
    EXPECT_NE(msg.find("Train on fewer stations or years, or with --backend cpu"), std::string::npos) << msg;
    const ForecastDataset dev = ForecastDataset::from_windowed(*gpu, ds);
    const std::vector<float> back = gpu->to_host(dev.series);  // bit for bit: masked values are NaN
    ASSERT_EQ(back.size(), ds.data.values.size());
    EXPECT_EQ(0, std::memcmp(back.data(), ds.data.values.data(), back.size() * sizeof(float)));
}

// A batch whose activations do not fit beside the dataset and the model: the error names the model, the batch and
// the device, and says what to change.
TEST(GpuBackendOnHostEmulation, BatchLargerThanTheDeviceIsAClearError) {
    const data::WindowedDataset ds = station_dataset(5, 24, 6, 17);
    auto gpu = gpu::make_fused_backend(0);
    const ForecastDataset dev = ForecastDataset::from_windowed(*gpu, ds);
    Forecaster model(gpu, {CellType::Gru, ds.num_vars(), 16, 1, false}, 6 * ds.num_targets(), 3);
    auto opt = make_optimizer(model.params(), OptimizerConfig{});
    TrainOptions o;
    o.epochs = 1;
    o.batch = 64;
    o.max_batches = 2;
    o.out_dir = testing::temp_dir();
    ForecastTrainer trainer(model, *opt, dev, o);
    emulation::set_device_memory(emulation::device_memory_in_use() + 4096);
    std::string msg;
    try {
        trainer.fit();
    } catch (const OutOfDeviceMemory& e) {
        msg = e.what();
    }
    emulation::set_device_memory(emulation::kDefaultDeviceMemory);
    ASSERT_FALSE(msg.empty()) << "expected OutOfDeviceMemory";
    EXPECT_NE(msg.find("training gru C=" + std::to_string(ds.num_vars()) + " H=16 L=1"), std::string::npos) << msg;
    EXPECT_NE(msg.find(" at batch 64: out of GPU memory allocating"), std::string::npos) << msg;
    EXPECT_NE(msg.find("Use a smaller --batch or model, or --backend cpu"), std::string::npos) << msg;
}

// What the issue asks of the GPU pipeline: nothing crosses PCIe per training step but the batch's window starts,
// and the host never waits for a step. Two runs that differ only in the number of training steps (4 or 68 per
// epoch; the same validation and checkpoints) are counted: the 64 extra steps may add 64 uploads from pinned
// memory (the starts), two read-backs of the per-step results (every 32 steps), and nothing else — no waits
// for the device per step, no uploads from pageable memory (which may wait), no allocations (a cudaFree waits
// for the whole device). The longer run's numbers match the CPU backend's, across read-back blocks.
void check_steps_do_not_wait(bool seq2seq) {
    const data::WindowedDataset ds = station_dataset(8, 12, 4, 5);
    struct Run {
        emulation::Counters counts;
        std::vector<EpochRecord> history;
        std::vector<float> params;
    };
    auto train = [&](const std::shared_ptr<Backend<float>>& be, long steps) {
        ForecastDataset dev = ForecastDataset::from_windowed(*be, ds);
        dev.limit_evaluation(64);
        const auto owner = make_forecaster(be, {CellType::Gru, ds.num_vars(), 8, 1, false}, ds, 4, seq2seq);
        Forecaster& model = *owner;
        OptimizerConfig oc;
        oc.lr = 3e-3f;
        auto opt = make_optimizer(model.params(), oc);
        TrainOptions o;
        if (seq2seq) o.teacher_forcing = 0.3;
        o.epochs = 2;
        o.batch = 16;
        o.steps_per_epoch = steps;
        o.clip = 0.5;
        o.patience = 0;
        o.seed = 2;
        o.out_dir = testing::temp_dir();
        ForecastTrainer trainer(model, *opt, dev, o);
        emulation::reset_counters();
        Run r;
        r.history = trainer.fit();
        r.counts = emulation::counters();
        r.params = model.params().values_to_host();
        return r;
    };
    const Run brief = train(gpu::make_fused_backend(0), 4);
    const Run longer = train(gpu::make_fused_backend(0), 68);
    const long extra_steps = 2 * 64;  // two epochs
    const emulation::Counters &a = brief.counts, &b = longer.counts;
    EXPECT_EQ(b.uploads_pinned - a.uploads_pinned, extra_steps) << "one upload per step: the window starts";
    EXPECT_EQ(b.uploads_pageable, a.uploads_pageable) << "per-step uploads from pageable memory";
    EXPECT_EQ(b.mallocs, a.mallocs) << "per-step device allocations";
    EXPECT_LE(b.downloads - a.downloads, extra_steps / 32) << "per-step copies to the host";
    // A read-back is a copy into pageable memory and a stream synchronisation: two counted waits.
    EXPECT_LE(b.syncs() - a.syncs(), 2 * (extra_steps / 32)) << "the host waited for the device during training steps";
    EXPECT_GT(b.launches - a.launches, extra_steps * 10) << "the steps were not queued at all?";

    const Run cpu = train(make_backend("cpu"), 68);
    expect_same_history(longer.history, cpu.history);
    EXPECT_LT(rel_error(longer.params, cpu.params), 1e-5);
}

TEST(GpuBackendOnHostEmulation, ForecasterTrainingStepsDoNotWaitForTheDevice) { check_steps_do_not_wait(false); }
TEST(GpuBackendOnHostEmulation, Seq2SeqForecasterTrainingStepsDoNotWaitForTheDevice) { check_steps_do_not_wait(true); }

// A test evaluation (the model and both persistence baselines in one pass) queues batch i+1's gather and forward
// pass before it folds batch i on the host: the host waits for each batch's read-backs only (events with the next
// batch's work queued behind them), never for the whole device — which a loop that folds before it queues the next
// batch does once per batch. The figures are the CPU backend's: the baselines' to the bit (copies of the same
// values), the model's within float rounding.
void check_evaluation_overlaps_the_fold(bool seq2seq) {
    const data::WindowedDataset ds = station_dataset(5, 24, 6, 7);
    const int batch = 16;
    struct Run {
        std::optional<ForecastEvaluation> e;
        emulation::Counters counts;
        long batches = 0;
    };
    auto evaluate = [&](const std::shared_ptr<Backend<float>>& be) {
        ForecastDataset dev = ForecastDataset::from_windowed(*be, ds);
        const auto model = make_forecaster(be, {CellType::Lstm, ds.num_vars(), 16, 2, !seq2seq}, ds, 6, seq2seq);
        Run r;
        emulation::reset_counters();
        r.e.emplace(evaluate_with_baselines(model.get(), *be, dev, dev.starts[2], batch,
                                            [&](size_t, size_t) { ++r.batches; }));
        r.counts = emulation::counters();
        return r;
    };
    const Run gpu = evaluate(gpu::make_fused_backend(0));
    const Run cpu = evaluate(make_backend("cpu"));
    ASSERT_GE(gpu.batches, 8) << "too few test windows to see a pipeline";
    ASSERT_TRUE(gpu.e->same_time_of_day.has_value());
    // The full waits left: the last, smaller batch's reallocations (freeing a buffer waits) and the final fold.
    EXPECT_LE(gpu.counts.syncs(), 4) << "full waits in " << gpu.batches << " batches";
    EXPECT_GE(gpu.counts.event_waits, gpu.batches) << "each batch's read-backs";
    EXPECT_EQ(gpu.counts.downloads, 3 * gpu.batches) << "forecast, targets, the baselines' input steps";
    EXPECT_EQ(gpu.e->persistence.to_json(), cpu.e->persistence.to_json());
    EXPECT_EQ(gpu.e->same_time_of_day->to_json(), cpu.e->same_time_of_day->to_json());
    EXPECT_EQ(gpu.e->model->windows(), cpu.e->model->windows());
    EXPECT_NEAR(gpu.e->model->mse(), cpu.e->model->mse(), 1e-6 * cpu.e->model->mse());
    EXPECT_NEAR(gpu.e->model->mae(), cpu.e->model->mae(), 1e-6 * cpu.e->model->mae());
}

TEST(GpuBackendOnHostEmulation, EvaluationFoldsOneBatchWhileTheNextRuns) { check_evaluation_overlaps_the_fold(false); }
TEST(GpuBackendOnHostEmulation, Seq2SeqEvaluationFoldsOneBatchWhileTheNextRuns) {
    check_evaluation_overlaps_the_fold(true);
}

// Indices are checked on the device without waiting: an embedding with a bad id returns, and the next wait
// reports it by op, value and position (recorded by the kernel: nothing is read back from the ids, which may be
// gone by then); a cross-entropy with a bad target waits, so it throws in the call. After a report the record is
// cleared and the backend works on.
TEST(GpuBackendOnHostEmulation, BadIndicesAreReportedAtTheNextWait) {
    auto gpu = gpu::make_fused_backend(0);
    const int V = 5, dim = 3, n = 4;
    const Tensor<float> table = gpu->from_host(std::vector<float>(size_t(V) * dim, 0.5f), {V, dim});
    Tensor<float> out = gpu->empty({n, dim});
    Tensor<float> dtable = gpu->empty({V, dim});
    Tensor<int32_t> ids = gpu->empty_i32({n});
    const std::vector<int32_t> good = {0, 4, 2, 1}, bad = {0, 4, 9, 1};
    gpu->copy_from_host(ids.data(), bad.data(), sizeof(int32_t) * n);
    gpu->embedding_forward(n, V, dim, ids.data(), table.data(), out.data());  // no wait, no throw
    std::string msg = testing::error_of([&] { gpu->synchronize(); });
    EXPECT_NE(msg.find("embedding: token id 9 at position 2 is outside [0, 5)"), std::string::npos) << msg;
    EXPECT_NO_THROW(gpu->synchronize());  // reported once

    // The bad ids overwritten, and more bad ids freed, before the wait (uploads that do not wait): the record
    // still names the first exactly. (copy_from_host itself waits, and would report at once.)
    gpu->embedding_forward(n, V, dim, ids.data(), table.data(), out.data());  // ids still the bad ones
    gpu->copy_from_host_async(ids.data(), good.data(), sizeof(int32_t) * n);
    gpu->embedding_forward(n, V, dim, ids.data(), table.data(), out.data());
    {
        Tensor<int32_t> gone = gpu->empty_i32({n});
        const std::vector<int32_t> worse = {-3, 0, 0, 0};
        gpu->copy_from_host_async(gone.data(), worse.data(), sizeof(int32_t) * n);
        gpu->embedding_backward(n, V, dim, gone.data(), out.data(), dtable.data());
    }
    // The first bad index seen is the one reported: the first op's id 9 at position 2.
    msg = testing::error_of([&] { (void)gpu->to_host(out); });
    EXPECT_NE(msg.find("embedding: token id 9 at position 2 is outside [0, 5)"), std::string::npos) << msg;

    gpu->copy_from_host_async(ids.data(), good.data(), sizeof(int32_t) * n);
    {
        Tensor<int32_t> gone = gpu->empty_i32({n});
        const std::vector<int32_t> worse = {0, 0, 0, -3};
        gpu->copy_from_host_async(gone.data(), worse.data(), sizeof(int32_t) * n);
        gpu->embedding_backward(n, V, dim, gone.data(), out.data(), dtable.data());
    }
    msg = testing::error_of([&] { gpu->synchronize(); });
    EXPECT_NE(msg.find("embedding: token id -3 at position 3 is outside [0, 5)"), std::string::npos) << msg;

    // Cross-entropy waits for its result, so a bad target throws in the call; the backend then works on.
    const Tensor<float> logits = gpu->from_host(std::vector<float>(size_t(n) * V, 0.f), {n, V});
    gpu->copy_from_host(ids.data(), bad.data(), sizeof(int32_t) * n);
    msg = testing::error_of([&] { gpu->softmax_cross_entropy(n, V, logits.data(), ids.data(), nullptr, 1.f); });
    EXPECT_NE(msg.find("softmax_cross_entropy: target 9 at position 2 is outside [0, 5)"), std::string::npos) << msg;
    gpu->copy_from_host(ids.data(), good.data(), sizeof(int32_t) * n);
    EXPECT_NEAR(gpu->softmax_cross_entropy(n, V, logits.data(), ids.data(), nullptr, 1.f).loss, std::log(5.0), 1e-6);
    gpu->embedding_forward(n, V, dim, ids.data(), table.data(), out.data());
    EXPECT_EQ(gpu->to_host(out), std::vector<float>(size_t(n) * dim, 0.5f));
}

// The cross-entropy a training loop leaves in device memory is the synchronous op's to the bit (the mean is
// divided on the device as the host divides it), hits and gradient included.
TEST(GpuBackendOnHostEmulation, CrossEntropyLeftOnTheDeviceIsTheSynchronousOne) {
    auto gpu = gpu::make_fused_backend(0);
    std::mt19937_64 rng(testing::test_seed());
    const int M = 37, V = 11;
    const auto host_logits = testing::random_vector<float>(size_t(M) * V, rng, -3, 3);
    std::vector<int32_t> host_targets(M);
    for (int r = 0; r < M; ++r) host_targets[size_t(r)] = int32_t(rng() % V);
    const Tensor<float> logits = gpu->from_host(host_logits, {M, V});
    Tensor<int32_t> targets = gpu->empty_i32({M});
    gpu->copy_from_host(targets.data(), host_targets.data(), sizeof(int32_t) * M);
    Tensor<float> d_sync = gpu->empty({M, V}), d_into = gpu->empty({M, V});
    const LossResult sync = gpu->softmax_cross_entropy(M, V, logits.data(), targets.data(), d_sync.data(), 0.5f);
    const DeviceScalars out(*gpu, 2);
    gpu->softmax_cross_entropy_into(M, V, logits.data(), targets.data(), d_into.data(), 0.5f, out.slot(0));
    const std::vector<double> kept = out.read(*gpu, 2);
    EXPECT_EQ(kept[0], sync.loss);
    EXPECT_EQ(kept[1], double(sync.correct));
    EXPECT_EQ(gpu->to_host(d_into), gpu->to_host(d_sync));
}

// Language-model training on a GPU backend — embedding, the recurrent stack with its state carried across
// chunks (stream mode) or fresh per window (window mode), softmax cross-entropy, truncated BPTT, Adam — against
// the same run on the CPU backend.
class LmTrainingOnHostEmulation : public ::testing::TestWithParam<LmMode> {
protected:
    struct Run {
        emulation::Counters counts;  // of the training run alone
        std::vector<LmEpochRecord> history;
        std::vector<float> params;
    };
    // Device memory left to training beyond what the model and text hold (0: no limit).
    size_t device_headroom = 0;
    float dropout = 0;
    // Trains a small model on `corpus` (words in window mode, characters in stream mode) with options `o`.
    Run train(const std::shared_ptr<Backend<float>>& be, const std::string& corpus, CellType cell, LmTrainOptions o) {
        LmSettings s;
        s.mode = GetParam();
        s.context = 3;
        s.bptt = 5;
        s.streams = 3;
        text::TokenizerOptions to;
        to.kind = s.mode == LmMode::Window ? text::TokenizerKind::Word : text::TokenizerKind::Char;
        LanguageModel lm = make_language_model(be, {cell, 8, 12, dropout > 0 ? 2 : 1, false},
                                               text::Tokenizer::build(corpus, to), s, 11);
        lm.model->set_dropout(dropout);
        OptimizerConfig oc;
        oc.lr = 0.02f;
        auto opt = make_optimizer(lm.model->params(), oc);
        o.batch = 8;
        o.seed = 4;
        o.out_dir = testing::temp_dir();
        LmTrainer trainer(lm, *opt, lm.tokenizer.encode(corpus), o);
        emulation::reset_counters();
        Run r;
        if (device_headroom > 0) emulation::set_device_memory(emulation::device_memory_in_use() + device_headroom);
        try {
            r.history = trainer.fit();
        } catch (...) {
            emulation::set_device_memory(emulation::kDefaultDeviceMemory);
            throw;
        }
        emulation::set_device_memory(emulation::kDefaultDeviceMemory);
        r.counts = emulation::counters();
        r.params = lm.model->params().values_to_host();
        return r;
    }
    void check_matches_cpu();
};

TEST_P(LmTrainingOnHostEmulation, MatchesCpuBackend) { check_matches_cpu(); }

// Two layers and dropout on the embedding, between the layers and before the head: the device draws the CPU's masks.
TEST_P(LmTrainingOnHostEmulation, WithDropoutMatchesCpuBackend) {
    dropout = 0.3f;
    check_matches_cpu();
}

void LmTrainingOnHostEmulation::check_matches_cpu() {
    const std::string corpus =
        "long ago , the mice had a general council to consider what measures they could take to outwit their "
        "common enemy , the cat . some said this , and some said that ; but at last a young mouse got up and "
        "said he had a proposal to make , which he thought would meet the case .";
    LmTrainOptions o;
    o.epochs = 3;
    o.heldout = 0.2;
    const Run gpu = train(gpu::make_fused_backend(0), corpus, CellType::Lstm, o);
    const Run cpu = train(make_backend("cpu"), corpus, CellType::Lstm, o);
    ASSERT_EQ(cpu.history.size(), 3u);
    ASSERT_EQ(gpu.history.size(), cpu.history.size());
    for (size_t e = 0; e < cpu.history.size(); ++e) {
        const LmEpochRecord &g = gpu.history[e], &c = cpu.history[e];
        EXPECT_NEAR(g.train_loss, c.train_loss, 1e-5 * c.train_loss) << e;
        EXPECT_EQ(g.train_accuracy, c.train_accuracy) << e;
        ASSERT_TRUE(c.has_heldout);
        EXPECT_NEAR(g.heldout_loss, c.heldout_loss, 1e-5 * c.heldout_loss) << e;
    }
    EXPECT_LT(rel_error(gpu.params, cpu.params), 1e-5);
}

// Out of device memory in training names the model, the vocabulary and the batch's shape in the mode's own flags.
TEST_P(LmTrainingOnHostEmulation, OutOfDeviceMemoryNamesTheBatchShape) {
    const std::string corpus = "the mice had a general council to consider what measures they could take .";
    LmTrainOptions o;
    o.epochs = 1;
    o.heldout = 0;
    device_headroom = 1024;
    std::string msg;
    try {
        train(gpu::make_fused_backend(0), corpus, CellType::Gru, o);
    } catch (const OutOfDeviceMemory& e) {
        msg = e.what();
    }
    ASSERT_FALSE(msg.empty()) << "expected OutOfDeviceMemory";
    EXPECT_NE(msg.find("training gru C=8 H=12 L=1"), std::string::npos) << msg;
    const bool window = GetParam() == LmMode::Window;
    EXPECT_NE(msg.find(window ? "on batch 8 of 3-token windows: out of GPU memory"
                              : "on 3 streams x 5-step chunks: out of GPU memory"),
              std::string::npos)
        << msg;
    EXPECT_NE(msg.find(window ? "Use a smaller --batch or --context," : "Use a smaller --streams or --bptt,"),
              std::string::npos)
        << msg;
}

// The language-model trainer, counted as the forecaster's is above: two runs that differ only in the steps per
// epoch (4 or 68). The 64 extra steps per epoch may add 2 uploads from pinned memory each (ids and targets), two
// read-backs of the per-step results per epoch, and nothing else; the numbers match the CPU backend's. (Before
// the steps were queued: 8 waits per step, 5 copies to the host, 2 pageable uploads and 1-2 allocations.)
TEST_P(LmTrainingOnHostEmulation, StepsDoNotWaitForTheDevice) {
    std::string corpus;
    for (int i = 0; i < 30; ++i)
        corpus += "long ago , the mice had a general council to consider what measures they could take to outwit "
                  "their common enemy , the cat . ";
    LmTrainOptions o;
    o.epochs = 2;
    o.heldout = 0.02;
    o.clip = 0.5;
    auto train_steps = [&](const std::shared_ptr<Backend<float>>& be, long steps) {
        o.max_chunks = steps;
        return train(be, corpus, CellType::Gru, o);
    };
    const Run brief = train_steps(gpu::make_fused_backend(0), 4);
    const Run longer = train_steps(gpu::make_fused_backend(0), 68);
    const long extra_steps = 2 * 64;  // two epochs
    const emulation::Counters &a = brief.counts, &b = longer.counts;
    EXPECT_EQ(b.uploads_pinned - a.uploads_pinned, 2 * extra_steps) << "two uploads per step: ids and targets";
    EXPECT_EQ(b.uploads_pageable, a.uploads_pageable) << "per-step uploads from pageable memory";
    EXPECT_EQ(b.mallocs, a.mallocs) << "per-step device allocations";
    // A read-back (every 32 steps) copies the results and, as embedding and cross-entropy checked indices on
    // the device since the last wait, the sticky index flag: two copies to the host, three counted waits.
    const long read_backs = extra_steps / 32;
    EXPECT_LE(b.downloads - a.downloads, 2 * read_backs) << "per-step copies to the host";
    EXPECT_LE(b.syncs() - a.syncs(), 3 * read_backs) << "the host waited for the device during training steps";
    EXPECT_GT(b.launches - a.launches, extra_steps * 10) << "the steps were not queued at all?";

    const Run cpu = train_steps(make_backend("cpu"), 68);
    ASSERT_EQ(longer.history.size(), cpu.history.size());
    for (size_t e = 0; e < cpu.history.size(); ++e) {
        const LmEpochRecord &g = longer.history[e], &c = cpu.history[e];
        EXPECT_NEAR(g.train_loss, c.train_loss, 1e-5 * c.train_loss) << e;
        EXPECT_NEAR(g.grad_norm, c.grad_norm, 1e-4 * c.grad_norm) << e;
        EXPECT_EQ(g.train_accuracy, c.train_accuracy) << e;
        EXPECT_NEAR(g.heldout_loss, c.heldout_loss, 1e-5 * c.heldout_loss) << e;
    }
    EXPECT_LT(rel_error(longer.params, cpu.params), 1e-5);
}

INSTANTIATE_TEST_SUITE_P(Modes, LmTrainingOnHostEmulation, ::testing::Values(LmMode::Window, LmMode::Stream),
                         [](const ::testing::TestParamInfo<LmMode>& p) {
                             return std::string(p.param == LmMode::Window ? "window" : "stream");
                         });

}  // namespace

// The shared GPU suites (tests/gpu_dense_suite.cpp, tests/gpu_rnn_suite.cpp) run on the `cuda` backend over the
// emulated runtime; cuDNN has no emulation.
GpuUnderTest gpu_under_test() { return GpuUnderTest{gpu::make_fused_backend(0), nullptr, true}; }

}  // namespace fusedrnn
