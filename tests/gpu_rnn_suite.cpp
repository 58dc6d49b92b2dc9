// The recurrent stack of the GPU backends against `cpu` — and `cuda` against `cudnn` where cuDNN is present — on
// fresh random inputs and weights, over a grid of odd and large shapes, every output between sentinel guard
// zones. One suite, two executables (tests/CMakeLists.txt): test_gpu_backends runs it on a real GPU (skipping
// without one; GpuRnnSmall.* also under compute-sanitizer, scripts/gpu_check.sh), test_cuda_host_emulation on the
// `cuda` backend over the emulated CUDA runtime, without cuDNN and without GpuRnnLarge.* (the emulation's
// reference SGEMM would take minutes at batch 1024 × hidden 512) — so the suite itself runs in every build.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <iostream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "fusedrnn/core/backend.h"
#include "fusedrnn/core/error.h"
#include "fusedrnn/core/param_layout.h"
#include "fusedrnn/models/layers.h"
#include "fusedrnn/tests/gpu_suites.h"
#include "fusedrnn/tests/gpu_test_buffers.h"
#include "fusedrnn/tests/test_support.h"

namespace fusedrnn {
namespace {

using namespace gpu_test;
using testing::rel_error;

constexpr double kTol = 1e-5;  // ‖a − b‖ / ‖b‖ in fp32 (DESIGN.md)
// With FUSEDRNN_TF32 = 1 (TF32's 10-bit mantissas in the matrix products, DESIGN.md's opt-in mode): each product's
// inputs are rounded by up to 2^-11 relative; after a recurrence and its backward pass the results are off by up to
// 9e-4 norm-wise on the emulated runtime (whose SGEMM rounds its inputs as tensor cores do; six runs, both
// recurrence strategies). 1e-2 leaves room for truncation instead of rounding and for cuDNN's own TF32 paths; a bug
// is still off by O(1).
constexpr double kTf32Tol = 1e-2;

// The error kTol bounds: ‖a − b‖ / max(‖b‖, 0.1·√n). For results of the inputs' size (random values of order 1) it
// is DESIGN.md's ‖a − b‖ / ‖b‖. A result far smaller than the terms it sums is measured against 0.1 per element
// instead: at the 1×1×1 shapes dx is one value, a sum of four gate terms that can nearly cancel, and two correct
// float32 sums of them in different orders then differ by more than 1e-5 of what is left (seen: 2.2e-5 in about
// one run in 30 on the emulated runtime). A bug gives errors of the results' own size, still far above the floor.
double cross_check_error(const std::vector<float>& a, const std::vector<float>& b) {
    double num = 0, den = 0;
    for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
        const double d = double(a[i]) - double(b[i]);
        num += d * d;
        den += double(b[i]) * double(b[i]);
    }
    return std::sqrt(num) / std::max(std::sqrt(den), 0.1 * std::sqrt(double(b.size())));
}

#define FR_SKIP_LARGE_ON_EMULATION(be)                                                                    \
    do {                                                                                                  \
        FR_SKIP_WITHOUT_GPU((be).cuda);                                                                   \
        if ((be).emulated)                                                                                \
            GTEST_SKIP() << "GpuRnnLarge runs on a GPU only: the host emulation's reference SGEMM would take " \
                            "minutes at batch 1024 x hidden 512";                                          \
    } while (0)

// ---- recurrent stack runs -----------------------------------------------------------------------

struct RnnCase {
    CellType cell;
    int C, H, L;
    bool bidir;
    int T, N;
    std::string str() const {
        return fmt::format("{} C={} H={} L={} {} T={} N={}", cell_name(cell), C, H, L, bidir ? "bi" : "uni", T, N);
    }
    RnnSpec spec() const {
        RnnSpec s;
        s.cell = cell;
        s.input_size = C;
        s.hidden_size = H;
        s.num_layers = L;
        s.bidirectional = bidir;
        return s;
    }
};

// Host inputs of one run; empty vectors stand for nullptr arguments.
struct RnnInputs {
    std::vector<float> x, h0, c0, w, dy, dhn, dcn, dw_init;
};

struct RnnOutputs {
    std::vector<float> y, hn, cn, dx, dh0, dc0, dw;
};

RnnInputs random_inputs(const RnnCase& c, std::mt19937_64& rng, bool all_optional = true) {
    const RnnSpec spec = c.spec();
    const size_t state = size_t(c.L) * spec.directions() * c.N * c.H;
    const double k = 1.0 / std::sqrt(double(c.H));
    RnnInputs in;
    in.x = testing::random_vector<float>(size_t(c.T) * c.N * c.C, rng);
    in.w = testing::random_vector<float>(rnn_param_count(spec), rng, -k, k);
    if (all_optional) {
        in.h0 = testing::random_vector<float>(state, rng);
        if (has_cell_state(c.cell)) in.c0 = testing::random_vector<float>(state, rng);
        in.dy = testing::random_vector<float>(size_t(c.T) * c.N * spec.output_size(), rng);
        in.dhn = testing::random_vector<float>(state, rng);
        if (has_cell_state(c.cell)) in.dcn = testing::random_vector<float>(state, rng);
    }
    return in;
}

struct RunOptions {
    bool want_dx = true, want_dh0 = true, want_dc0 = true, want_hn = true, want_cn = true;
    bool backward = true;
};

RnnOutputs run_rnn(Backend<float>& be, const RnnCase& c, const RnnInputs& in, const RunOptions& opt = {}) {
    const RnnSpec spec = c.spec();
    const size_t state = size_t(c.L) * spec.directions() * c.N * c.H;
    const size_t P = rnn_param_count(spec);
    const bool lstm = has_cell_state(c.cell);
    DevArray x = upload(be, in.x), h0 = upload(be, in.h0), c0 = upload(be, in.c0), w = upload(be, in.w),
             dy = upload(be, in.dy), dhn = upload(be, in.dhn), dcn = upload(be, in.dcn);

    Guarded y = make_guarded(be, size_t(c.T) * c.N * spec.output_size());
    Guarded hn = make_guarded(be, state), cn = make_guarded(be, state);
    const size_t reserve_n = be.rnn_reserve_size(spec, c.T, c.N);
    Guarded reserve = make_guarded(be, reserve_n);

    RnnForwardArgs<float> f;
    f.T = c.T;
    f.N = c.N;
    f.x = x.data();
    f.h0 = h0.data();
    f.c0 = c0.data();
    f.weights = w.data();
    f.y = y.data();
    f.hn = opt.want_hn ? hn.data() : nullptr;
    f.cn = opt.want_cn && lstm ? cn.data() : nullptr;
    f.reserve = opt.backward ? reserve.data() : nullptr;
    be.rnn_forward(spec, f);

    RnnOutputs out;
    out.y = read_guarded(be, y, "y");
    out.hn = read_guarded(be, hn, "h_n");
    out.cn = read_guarded(be, cn, "c_n");
    if (!opt.backward) return out;

    Guarded dx = make_guarded(be, in.x.size()), dh0 = make_guarded(be, state), dc0 = make_guarded(be, state);
    Guarded dw = make_guarded(be, P, in.dw_init.empty() ? nullptr : &in.dw_init);
    RnnBackwardArgs<float> b;
    b.T = c.T;
    b.N = c.N;
    b.x = x.data();
    b.h0 = h0.data();
    b.c0 = c0.data();
    b.weights = w.data();
    b.y = y.data();
    b.dy = dy.data();
    b.dhn = dhn.data();
    b.dcn = dcn.data();
    b.reserve = reserve.data();
    b.dx = opt.want_dx ? dx.data() : nullptr;
    b.dh0 = opt.want_dh0 ? dh0.data() : nullptr;
    b.dc0 = opt.want_dc0 && lstm ? dc0.data() : nullptr;
    b.dweights = dw.data();
    be.rnn_backward(spec, b);

    out.dx = read_guarded(be, dx, "dx");
    out.dh0 = read_guarded(be, dh0, "dh0");
    out.dc0 = read_guarded(be, dc0, "dc0");
    out.dw = read_guarded(be, dw, "dweights");
    read_guarded(be, reserve, "reserve");
    // The y buffer must be untouched by backward as well.
    const std::vector<float> y_after = read_guarded(be, y, "y (after backward)");
    EXPECT_EQ(0, std::memcmp(y_after.data(), out.y.data(), y_after.size() * sizeof(float)))
        << be.name() << ": backward modified y";
    return out;
}

void expect_close(const RnnOutputs& a, const RnnOutputs& b, const std::string& what, bool backward = true,
                  double tol = kTol) {
    auto check = [&](const std::vector<float>& u, const std::vector<float>& v, const char* name) {
        ASSERT_EQ(u.size(), v.size()) << what << " " << name;
        for (float f : u) {
            if (!std::isfinite(f)) {
                ADD_FAILURE() << what << ": " << name << " has a non-finite value";
                return;
            }
        }
        const double e = cross_check_error(u, v);
        EXPECT_LT(e, tol) << what << ": " << name << " relative error " << e << " (plain ‖a − b‖ / ‖b‖ "
                           << rel_error(u, v) << ")";
    };
    check(a.y, b.y, "y");
    check(a.hn, b.hn, "h_n");
    check(a.cn, b.cn, "c_n");
    if (!backward) return;
    check(a.dx, b.dx, "dx");
    check(a.dh0, b.dh0, "dh0");
    check(a.dc0, b.dc0, "dc0");
    check(a.dw, b.dw, "dweights");
}

// cudnn is nullptr on the host emulation: cuDNN's parts of a test are left out there.
struct Backends {
    std::shared_ptr<Backend<float>> cpu, cuda, cudnn;
    bool emulated = false;
};

Backends all_backends() {
    GpuUnderTest g = gpu_under_test();
    return Backends{make_backend("cpu"), g.cuda, g.cudnn, g.emulated};
}

// The GPU backends to run a case on: cuda, and cudnn where present and it has the cell.
std::vector<Backend<float>*> gpu_backends_for(const Backends& be, CellType cell) {
    std::vector<Backend<float>*> out{be.cuda.get()};
    if (be.cudnn && cell != CellType::GruResetBefore) out.push_back(be.cudnn.get());
    return out;
}

// Cells cuDNN has (every cell but the reset-before GRU).
const CellType kCudnnCells[] = {CellType::RnnTanh, CellType::RnnRelu, CellType::Lstm, CellType::Gru};

// testing::relu_kink_flips between every two of `backends` on a ReLU case, every layer: forward runs of the stack
// cut to its first l layers (whose parameters and initial states lead the full stack's), l = 1 … L.
int relu_kink_flips_between(const std::vector<Backend<float>*>& backends, const RnnCase& c, const RnnInputs& in) {
    RunOptions forward_only;
    forward_only.backward = false;
    int n = 0;
    for (int l = 1; l <= c.L; ++l) {
        RnnCase cut = c;
        cut.L = l;
        RnnInputs ci;
        ci.x = in.x;
        ci.w.assign(in.w.begin(), in.w.begin() + long(rnn_param_count(cut.spec())));
        if (!in.h0.empty()) ci.h0.assign(in.h0.begin(), in.h0.begin() + long(l) * cut.spec().directions() * c.N * c.H);
        std::vector<std::vector<float>> ys;
        for (Backend<float>* b : backends) ys.push_back(run_rnn(*b, cut, ci, forward_only).y);
        for (size_t i = 1; i < ys.size(); ++i)
            for (size_t j = 0; j < i; ++j) n += testing::relu_kink_flips(ys[i], ys[j]);
    }
    return n;
}

void cross_check(const Backends& be, const std::vector<RnnCase>& cases, bool with_cudnn) {
    std::mt19937_64 rng(testing::test_seed());
    for (const RnnCase& c : cases) {
        SCOPED_TRACE(c.str());
        RnnInputs in = random_inputs(c, rng);
        if (c.cell == CellType::RnnRelu) {  // a draw that lands on the kink is drawn again (relu_kink_flips)
            std::vector<Backend<float>*> compared{be.cpu.get(), be.cuda.get()};
            if (with_cudnn && be.cudnn) compared.push_back(be.cudnn.get());
            for (int draw = 1;; ++draw) {
                const int flips = relu_kink_flips_between(compared, c, in);
                if (flips == 0) break;
                std::cout << "[ relu     ] draw " << draw << ": " << flips
                          << " unit(s) within rounding of the kink, where the backends differ by design: drawn again\n";
                ASSERT_LT(draw, 5) << "every draw landed on the ReLU kink";
                in = random_inputs(c, rng);
            }
        }
        const RnnOutputs ref = run_rnn(*be.cpu, c, in);
        const RnnOutputs fused = run_rnn(*be.cuda, c, in);
        expect_close(fused, ref, "cuda vs cpu");
        if (with_cudnn && be.cudnn) {
            const RnnOutputs dnn = run_rnn(*be.cudnn, c, in);
            expect_close(dnn, ref, "cudnn vs cpu");
            expect_close(fused, dnn, "cuda vs cudnn");
        }
    }
}

std::vector<RnnCase> small_cases(CellType cell) {
    return {
        {cell, 1, 1, 1, false, 1, 1},   // everything minimal
        {cell, 4, 3, 2, true, 2, 7},    // odd sizes, stacked, bidirectional
        {cell, 5, 37, 3, true, 48, 7},  // three layers, long sequence
        {cell, 3, 37, 1, false, 48, 1}, // batch 1
        {cell, 2, 3, 3, false, 1, 7},   // T = 1 stacked
        {cell, 3, 5, 2, true, 1, 4},    // T = 1 bidirectional: the reverse direction starts and ends at t = 0
    };
}

std::vector<RnnCase> large_cases(CellType cell) {
    return {
        {cell, 5, 130, 1, false, 2, 1024},  // batch 1024, odd hidden
        {cell, 5, 512, 1, true, 48, 7},     // hidden 512, bidirectional, long
        {cell, 5, 64, 2, false, 48, 1024},  // the station shape (smaller hidden, to keep the CPU quick)
        {cell, 5, 512, 1, false, 2, 1024},  // batch 1024 at hidden 512
        {cell, 7, 130, 2, true, 48, 7},     // stacked bidirectional above hidden 128
    };
}

// ---- recurrent stack tests ----------------------------------------------------------------------

TEST(GpuRnnSmall, CudaCudnnCpuAgree) {
    Backends be = all_backends();
    FR_SKIP_WITHOUT_GPU(be.cuda);
    for (CellType cell : kCudnnCells) cross_check(be, small_cases(cell), true);
}

TEST(GpuRnnSmall, GruResetBeforeCudaMatchesCpu) {
    Backends be = all_backends();
    FR_SKIP_WITHOUT_GPU(be.cuda);
    cross_check(be, small_cases(CellType::GruResetBefore), false);
}

// The opt-in TF32 mode (FUSEDRNN_TF32=1): both GPU backends say so and stay within TF32's tolerance of the fp32 CPU
// backend, every cell, on the small shapes and on one whose products are long (K = 512).
TEST(GpuRnnSmall, Tf32StaysWithinItsTolerance) {
    const testing::ScopedEnv tf32("FUSEDRNN_TF32", "1");
    Backends be = all_backends();
    FR_SKIP_WITHOUT_GPU(be.cuda);
    EXPECT_NE(be.cuda->details().find(", tf32"), std::string::npos) << be.cuda->details();
    if (be.cudnn) {
        EXPECT_NE(be.cudnn->details().find(", tf32"), std::string::npos) << be.cudnn->details();
    }
    std::mt19937_64 rng(testing::test_seed());
    for (CellType cell : {CellType::RnnTanh, CellType::Lstm, CellType::Gru, CellType::GruResetBefore}) {
        std::vector<RnnCase> cases = small_cases(cell);
        cases.push_back({cell, 5, 128, 2, true, 16, 33});
        for (const RnnCase& c : cases) {
            SCOPED_TRACE(c.str());
            const RnnInputs in = random_inputs(c, rng);
            const RnnOutputs ref = run_rnn(*be.cpu, c, in);
            for (Backend<float>* b : gpu_backends_for(be, cell))
                expect_close(run_rnn(*b, c, in), ref, b->name() + " (tf32) vs cpu", true, kTf32Tol);
        }
    }
}

TEST(GpuRnnLarge, CudaCudnnCpuAgree) {
    Backends be = all_backends();
    FR_SKIP_LARGE_ON_EMULATION(be);
    for (CellType cell : kCudnnCells) cross_check(be, large_cases(cell), true);
}

TEST(GpuRnnLarge, GruResetBeforeCudaMatchesCpu) {
    Backends be = all_backends();
    FR_SKIP_LARGE_ON_EMULATION(be);
    cross_check(be, large_cases(CellType::GruResetBefore), false);
}

// nullptr h0/c0/dy/dhn/dcn read as zeros; nullptr dx/dh0/dc0/hn/cn are simply not written.
TEST(GpuRnnSmall, OptionalArgumentsMayBeNull) {
    Backends be = all_backends();
    FR_SKIP_WITHOUT_GPU(be.cuda);
    std::mt19937_64 rng(testing::test_seed());
    RunOptions opt;
    opt.want_dx = opt.want_dh0 = opt.want_dc0 = opt.want_hn = opt.want_cn = false;
    for (CellType cell : {CellType::RnnTanh, CellType::Lstm, CellType::Gru, CellType::GruResetBefore}) {
        const RnnCase c{cell, 4, 9, 2, true, 5, 3};
        SCOPED_TRACE(c.str());
        RnnInputs in = random_inputs(c, rng, /*all_optional=*/false);
        in.dy = testing::random_vector<float>(size_t(c.T) * c.N * c.spec().output_size(), rng);
        const RnnOutputs ref = run_rnn(*be.cpu, c, in, opt);
        const RnnOutputs fused = run_rnn(*be.cuda, c, in, opt);
        expect_close(fused, ref, "cuda vs cpu (null optionals)");
        if (be.cudnn && cell != CellType::GruResetBefore)
            expect_close(run_rnn(*be.cudnn, c, in, opt), ref, "cudnn vs cpu (null optionals)");
        // Outputs that were not requested stay zero (make_guarded zero-fills them).
        for (float v : fused.dx) ASSERT_EQ(v, 0.f);
        for (float v : fused.hn) ASSERT_EQ(v, 0.f);
    }
}

TEST(GpuRnnSmall, InferenceMatchesTraining) {
    Backends be = all_backends();
    FR_SKIP_WITHOUT_GPU(be.cuda);
    std::mt19937_64 rng(testing::test_seed());
    RunOptions infer;
    infer.backward = false;
    for (CellType cell : {CellType::RnnRelu, CellType::Lstm, CellType::Gru, CellType::GruResetBefore}) {
        const RnnCase c{cell, 5, 21, 3, true, 11, 6};
        SCOPED_TRACE(c.str());
        const RnnInputs in = random_inputs(c, rng);
        for (Backend<float>* b : gpu_backends_for(be, cell)) {
            SCOPED_TRACE(b->name());
            const RnnOutputs train = run_rnn(*b, c, in);
            const RnnOutputs inf = run_rnn(*b, c, in, infer);
            expect_close(inf, train, "inference vs training forward", false);
        }
    }
}

// dweights is accumulated, never overwritten: starting from g gives 2g.
// cuDNN keeps one plan per (spec, T, N) and at most 16 of them: cycling through 20 batch sizes evicts the
// least recently used, and the shape whose plan was evicted first computes the same when its plan is rebuilt.
TEST(GpuRnnSmall, CudnnPlansEvictedAndRebuiltAgree) {
    Backends be = all_backends();
    FR_SKIP_WITHOUT_GPU(be.cuda);
    FR_SKIP_WITHOUT_CUDNN(be.cudnn);
    std::mt19937_64 rng(testing::test_seed());
    const RnnCase first{CellType::Lstm, 3, 9, 2, true, 5, 1};
    const RnnInputs first_in = random_inputs(first, rng);
    const RnnOutputs first_ref = run_rnn(*be.cpu, first, first_in);
    expect_close(run_rnn(*be.cudnn, first, first_in), first_ref, "cudnn vs cpu, first plan");
    for (int N = 2; N <= 20; ++N) {
        const RnnCase c{CellType::Lstm, 3, 9, 2, true, 5, N};
        SCOPED_TRACE(c.str());
        const RnnInputs in = random_inputs(c, rng);
        expect_close(run_rnn(*be.cudnn, c, in), run_rnn(*be.cpu, c, in), "cudnn vs cpu");
    }
    expect_close(run_rnn(*be.cudnn, first, first_in), first_ref, "cudnn vs cpu, first plan rebuilt");
}

TEST(GpuRnnSmall, WeightGradientsAccumulate) {
    Backends be = all_backends();
    FR_SKIP_WITHOUT_GPU(be.cuda);
    std::mt19937_64 rng(testing::test_seed());
    for (CellType cell : {CellType::Lstm, CellType::Gru, CellType::GruResetBefore}) {
        const RnnCase c{cell, 3, 10, 2, true, 4, 5};
        SCOPED_TRACE(c.str());
        RnnInputs in = random_inputs(c, rng);
        for (Backend<float>* b : gpu_backends_for(be, cell)) {
            SCOPED_TRACE(b->name());
            in.dw_init.clear();
            const RnnOutputs once = run_rnn(*b, c, in);
            in.dw_init = once.dw;
            const RnnOutputs twice = run_rnn(*b, c, in);
            std::vector<float> doubled(once.dw.size());
            for (size_t i = 0; i < doubled.size(); ++i) doubled[i] = 2.f * once.dw[i];
            EXPECT_LT(rel_error(twice.dw, doubled), kTol);
        }
    }
}

// Dropout between layers (models/layers.h): the stack runs one layer at a time on the backend, the device drawing the
// CPU's masks between them. Everything the layer-by-layer path touches — each layer's slice of the parameters and of
// the states, the masked input of the next layer, the gradients chained back through the masks — against `cpu`.
TEST(GpuRnnSmall, DropoutBetweenLayersMatchesCpu) {
    Backends be = all_backends();
    FR_SKIP_WITHOUT_GPU(be.cuda);
    std::mt19937_64 rng(testing::test_seed());
    for (CellType cell : {CellType::Lstm, CellType::Gru, CellType::GruResetBefore}) {
        const RnnSpec spec{cell, 5, 37, 3, true};
        SCOPED_TRACE(cell_name(cell));
        const int T = 7, N = 33;
        const Shape state{long(spec.num_layers) * spec.directions(), N, spec.hidden_size};
        const bool lstm = has_cell_state(cell);
        std::vector<std::vector<float>> host;
        for (const Shape& sh : {Shape{T, N, spec.input_size}, state, state, Shape{T, N, spec.output_size()}, state, state})
            host.push_back(testing::random_vector<float>(shape_numel(sh), rng));
        const uint64_t seed = rng();
        struct Result {
            std::vector<std::vector<float>> out;  // y, hn, cn, dx, dh0, dc0, dweights
        };
        auto run = [&](const std::shared_ptr<Backend<float>>& b) {
            ParamStore params(b, rnn_param_layout(spec));
            params.init_uniform(seed, std::vector<float>(params.layout().entries().size(), 0.3f));
            auto up = [&](size_t k, const Shape& sh) { return b->from_host(host[k], sh); };
            const Tensor<float> x = up(0, {T, N, spec.input_size}), h0 = up(1, state);
            const Tensor<float> c0 = lstm ? up(2, state) : Tensor<float>();
            const Tensor<float> dy = up(3, {T, N, spec.output_size()}), dhn = up(4, state);
            const Tensor<float> dcn = lstm ? up(5, state) : Tensor<float>();
            RecurrentStack stack(spec, 0);
            stack.set_dropout(0.4f, 1);
            stack.set_dropout_draw(DropoutDraw{seed, 5, 0, 0});
            params.zero_grad();
            Tensor<float> hn, cn, dh0, dc0;
            const auto o = stack.forward_into(params, x, h0, c0, true, hn, cn);
            const Tensor<float> dx = stack.backward(params, dy, dhn, dcn, true, &dh0, &dc0);
            Result r;
            for (const Tensor<float>& t : {o.y, o.hn, o.cn, dx, dh0, dc0, params.grads_tensor()})
                r.out.push_back(t.empty() ? std::vector<float>() : b->to_host(t));
            return r;
        };
        const Result ref = run(be.cpu);
        std::vector<std::pair<const char*, std::shared_ptr<Backend<float>>>> gpus{{"cuda", be.cuda}};
        if (be.cudnn && cell != CellType::GruResetBefore) gpus.push_back({"cudnn", be.cudnn});
        for (const auto& [name, b] : gpus) {
            const Result got = run(b);
            const char* what[] = {"y", "hn", "cn", "dx", "dh0", "dc0", "dweights"};
            for (size_t k = 0; k < ref.out.size(); ++k) {
                EXPECT_EQ(got.out[k].size(), ref.out[k].size()) << name << " " << what[k];
                if (ref.out[k].empty()) continue;  // cn, dc0: LSTM only
                EXPECT_LT(cross_check_error(got.out[k], ref.out[k]), kTol) << name << " " << what[k];
            }
        }
    }
}

TEST(GpuRnnSmall, CudnnRejectsResetBeforeGru) {
    GpuUnderTest g = gpu_under_test();
    FR_SKIP_WITHOUT_GPU(g.cuda);
    FR_SKIP_WITHOUT_CUDNN(g.cudnn);
    auto& be = g.cudnn;
    RnnSpec s;
    s.cell = CellType::GruResetBefore;
    s.input_size = 2;
    s.hidden_size = 3;
    try {
        be->rnn_reserve_size(s, 4, 2);
        FAIL() << "expected fusedrnn::Error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("reset-before"), std::string::npos) << e.what();
    }
}

}  // namespace
}  // namespace fusedrnn
