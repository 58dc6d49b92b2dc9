// The CPU backend's fast float path (batch split across threads, SIMD pointwise kernels, packed GEMM)
// against its double path at awkward, medium shapes: odd hidden sizes leave partial SIMD packs and a
// batch of 600 is split across threads. Outputs, states and all gradients, ‖a−b‖/‖b‖ < 1e-5.
#include <sys/resource.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "fusedrnn/core/backend.h"
#include "fusedrnn/core/detail/address_space.h"
#include "fusedrnn/kernels/cpu/simd.h"
#include "fusedrnn/tests/test_support.h"

namespace fusedrnn {
namespace {

using testing::rel_error;

template <class S>
std::vector<std::vector<double>> run(Backend<S>& be, const RnnSpec& spec, int T, int N, const std::vector<double>& w,
                                     const std::vector<double>& x, const std::vector<double>& h0,
                                     const std::vector<double>& dy) {
    auto cast = [](const std::vector<double>& v) { return std::vector<S>(v.begin(), v.end()); };
    auto back = [](const std::vector<S>& v) { return std::vector<double>(v.begin(), v.end()); };
    const auto ws = cast(w), xs = cast(x), h0s = cast(h0), dys = cast(dy);
    std::vector<S> y(dy.size()), hn(h0.size()), cn(h0.size()), reserve(be.rnn_reserve_size(spec, T, N));
    const bool lstm = has_cell_state(spec.cell);
    RnnForwardArgs<S> f;
    f.T = T; f.N = N; f.x = xs.data(); f.h0 = h0s.data(); f.c0 = lstm ? h0s.data() : nullptr; f.weights = ws.data();
    f.y = y.data(); f.hn = hn.data(); f.cn = lstm ? cn.data() : nullptr; f.reserve = reserve.data();
    be.rnn_forward(spec, f);
    std::vector<S> dx(x.size()), dh0(h0.size()), dw(w.size(), S(0));
    RnnBackwardArgs<S> b;
    b.T = T; b.N = N; b.x = xs.data(); b.h0 = h0s.data(); b.c0 = f.c0; b.weights = ws.data(); b.y = y.data();
    b.dy = dys.data(); b.dhn = h0s.data(); b.reserve = reserve.data(); b.dx = dx.data(); b.dh0 = dh0.data();
    b.dweights = dw.data();
    be.rnn_backward(spec, b);
    return {back(y), back(hn), back(cn), back(dx), back(dh0), back(dw)};
}

// testing::relu_kink_flips between the float and double runs of a ReLU stack, every layer: the top layer's from y,
// the lower ones' from the stack cut to its first layers (whose parameters and initial states lead the full stack's).
int relu_kink_flips(Backend<float>& f32, Backend<double>& f64, const RnnSpec& spec, int T, int N,
                    const std::vector<double>& w, const std::vector<double>& x, const std::vector<double>& h0,
                    const std::vector<double>& y32, const std::vector<double>& y64) {
    int n = testing::relu_kink_flips(y32, y64);
    for (int layers = 1; layers < spec.num_layers; ++layers) {
        RnnSpec cut = spec;
        cut.num_layers = layers;
        const std::vector<double> wc(w.begin(), w.begin() + long(rnn_param_count(cut)));
        const std::vector<double> h0c(h0.begin(), h0.begin() + long(layers) * spec.directions() * N * spec.hidden_size);
        const std::vector<double> dy(size_t(T) * N * cut.output_size(), 0.0);
        n += testing::relu_kink_flips(run(f32, cut, T, N, wc, x, h0c, dy)[0], run(f64, cut, T, N, wc, x, h0c, dy)[0]);
    }
    return n;
}

// FUSEDRNN_CPU_ISA lowers the instruction set (to test the fallbacks), never raises it past the CPU's, and is
// matched exactly: anything else is an error naming the variable, not a silent no-op.
TEST(CpuPaths, IsaCapLowersNeverRaisesAndRefusesUnknownValues) {
    using cpu::simd::capped_isa;
    using cpu::simd::Isa;
    EXPECT_EQ(capped_isa(Isa::Avx512, nullptr), Isa::Avx512);
    EXPECT_EQ(capped_isa(Isa::Avx512, ""), Isa::Avx512);
    EXPECT_EQ(capped_isa(Isa::Avx512, "avx2"), Isa::Avx2);
    EXPECT_EQ(capped_isa(Isa::Avx512, "generic"), Isa::Generic);
    EXPECT_EQ(capped_isa(Isa::Avx2, "avx512"), Isa::Avx2);
    EXPECT_EQ(capped_isa(Isa::Generic, "avx2"), Isa::Generic);
    for (const char* bad : {"AVX2", "sse4", "avx2 ", "0"}) {
        const std::string e = testing::error_of([&] { (void)capped_isa(Isa::Avx2, bad); });
        EXPECT_NE(e.find(std::string("FUSEDRNN_CPU_ISA='") + bad + "': expected generic, avx2 or avx512"),
                  std::string::npos)
            << e;
        EXPECT_NE(e.find("the best this CPU has, avx2"), std::string::npos) << e;
    }
}

TEST(CpuPaths, FloatFastPathMatchesDoubleAtMediumShapes) {
    std::mt19937_64 rng(testing::test_seed());
    auto f32 = make_backend("cpu");
    auto f64 = make_backend_f64("cpu");
    const char* names[] = {"y", "h_n", "c_n", "dx", "dh0", "dW"};
    for (CellType cell : {CellType::RnnTanh, CellType::RnnRelu, CellType::Lstm, CellType::Gru,
                          CellType::GruResetBefore}) {
        const RnnSpec spec{cell, 5, 37, 2, true};
        const int T = 6, N = 600;
        const size_t state = size_t(4) * N * 37;
        std::vector<std::vector<double>> a, b;
        // A ReLU draw that lands on the kink (relu_kink_flips) is drawn again; 5 in a row would be ~1e-8.
        for (int draw = 1;; ++draw) {
            auto w = testing::random_vector<double>(rnn_param_count(spec), rng, -0.16, 0.16);
            auto x = testing::random_vector<double>(size_t(T) * N * 5, rng);
            auto h0 = testing::random_vector<double>(state, rng);
            auto dy = testing::random_vector<double>(size_t(T) * N * 74, rng);
            a = run(*f32, spec, T, N, w, x, h0, dy);
            b = run(*f64, spec, T, N, w, x, h0, dy);
            if (cell != CellType::RnnRelu) break;
            const int flips = relu_kink_flips(*f32, *f64, spec, T, N, w, x, h0, a[0], b[0]);
            if (flips == 0) break;
            std::cout << "[ relu     ] draw " << draw << ": " << flips
                      << " unit(s) within rounding of the kink, where float and double differ by design: drawn again\n";
            ASSERT_LT(draw, 5) << "every draw landed on the ReLU kink";
        }
        for (size_t k = 0; k < a.size(); ++k) {
            if (k == 2 && cell != CellType::Lstm) continue;
            EXPECT_LT(rel_error(a[k], b[k]), 1e-5) << cell_name(cell) << " " << names[k];
        }
    }
}

// Dense layers big enough that their GEMMs are split across threads (rows of y, dx and dW), against a
// plain double loop: odd sizes so the split is uneven, and dW/db accumulate onto what was there.
TEST(CpuPaths, LinearSplitAcrossThreadsMatchesReference) {
    std::mt19937_64 rng(testing::test_seed());
    auto be = make_backend_f64("cpu");
    const int M = 1031, in = 257, out = 203;
    const auto x = testing::random_vector<double>(size_t(M) * in, rng), W = testing::random_vector<double>(size_t(out) * in, rng);
    const auto b = testing::random_vector<double>(out, rng), dy = testing::random_vector<double>(size_t(M) * out, rng);
    std::vector<double> y(size_t(M) * out), dx(size_t(M) * in), dW(size_t(out) * in, 0.5), db(out, 0.25);
    be->linear_forward(M, in, out, x.data(), W.data(), b.data(), y.data());
    be->linear_backward(M, in, out, x.data(), W.data(), dy.data(), dx.data(), dW.data(), db.data());
    std::vector<double> y_ref(y.size()), dx_ref(dx.size(), 0), dW_ref(dW.size(), 0.5), db_ref(db.size(), 0.25);
    for (int r = 0; r < M; ++r)
        for (int o = 0; o < out; ++o) {
            double acc = b[size_t(o)];
            for (int i = 0; i < in; ++i) acc += x[size_t(r) * in + i] * W[size_t(o) * in + i];
            y_ref[size_t(r) * out + o] = acc;
            const double g = dy[size_t(r) * out + o];
            for (int i = 0; i < in; ++i) {
                dx_ref[size_t(r) * in + i] += g * W[size_t(o) * in + i];
                dW_ref[size_t(o) * in + i] += g * x[size_t(r) * in + i];
            }
            db_ref[size_t(o)] += g;
        }
    EXPECT_LT(rel_error(y, y_ref), 1e-13);
    EXPECT_LT(rel_error(dx, dx_ref), 1e-13);
    EXPECT_LT(rel_error(dW, dW_ref), 1e-13);
    EXPECT_LT(rel_error(db, db_ref), 1e-13);
}

}  // namespace

#if defined(__SANITIZE_ADDRESS__)
#define FR_CPU_PATHS_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FR_CPU_PATHS_ASAN 1
#endif
#endif

// In a child process (the death test's): a CPU backend made under an address-space limit, the limit then lowered to
// what is mapped plus 64 MiB (no room for another 128 MiB OpenBLAS buffer), and products split across the team,
// large enough for its threads to overlap. Exit 0 if they end; a product that needed a new buffer would retry its
// mmap for ever (OpenBLAS), and the alarm ends the child instead.
[[noreturn]] void products_under_a_tight_limit() {
    ::alarm(60);
    struct rlimit limit;
    if (::getrlimit(RLIMIT_AS, &limit) != 0) std::_Exit(3);
    const struct rlimit wide = {detail::mapped_address_space() + (size_t(8) << 30), limit.rlim_max};
    if (::setrlimit(RLIMIT_AS, &wide) != 0) std::_Exit(3);
    auto be = make_backend("cpu");
    const int M = 2048, in = 1024, out = 1024;
    const std::vector<float> x(size_t(M) * in, 0.5f), W(size_t(out) * in, 0.01f), b(size_t(out), 0.0f);
    std::vector<float> y(size_t(M) * out);
    const struct rlimit tight = {detail::mapped_address_space() + (size_t(64) << 20), limit.rlim_max};
    if (::setrlimit(RLIMIT_AS, &tight) != 0) std::_Exit(3);
    for (int i = 0; i < 20; ++i) be->linear_forward(M, in, out, x.data(), W.data(), b.data(), y.data());
    std::_Exit(std::abs(y[0] - 0.5f * 0.01f * float(in)) < 1e-3f ? 0 : 5);
}

// Under a `ulimit -v`, OpenBLAS retries a failed work-buffer mmap for ever. The CPU backend maps a buffer per thread of
// the team when it is made under a limit (kernels/cpu/blas_reserve.h), so that later products need none: a warm-up of
// products alone mapped fewer on a machine with fewer cores than threads, and a training run hung (QA).
TEST(CpuPaths, UnderAnAddressSpaceLimitProductsMapNoNewBuffers) {
#ifdef FR_CPU_PATHS_ASAN
    GTEST_SKIP() << "AddressSanitizer build: its shadow memory needs terabytes of address space";
#endif
    GTEST_FLAG_SET(death_test_style, "threadsafe");  // a fresh process: no OpenMP team of this one's forked
    EXPECT_EXIT(products_under_a_tight_limit(), ::testing::ExitedWithCode(0), "");
}

}  // namespace fusedrnn
