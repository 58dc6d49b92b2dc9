// The CPU backend's results do not depend on the number of threads: every output and gradient of the
// recurrent stack, the dense layers, the losses and the squared norm, bit for bit, on 1 to 4 threads. The
// batch splits over the threads differently each time (uneven slices, a team smaller or larger than the
// cores), and what makes it hold is that no sum's order follows the split (kernels/cpu/cpu_rnn.cpp: the
// weight gradients are summed per fixed batch chunk and the chunks in order; cpu_dense.cpp: fixed blocks).
// CTest runs this suite again with FUSEDRNN_CPU_ISA=avx2 and =generic, where float takes OpenBLAS's products.
#include <omp.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "fusedrnn/core/backend.h"
#include "fusedrnn/kernels/cpu/simd.h"
#include "fusedrnn/tests/test_support.h"

namespace fusedrnn {
namespace {

// Runs f() with OpenMP limited to `threads`, then restores the limit.
template <class F>
auto with_threads(int threads, F&& f) {
    const int saved = omp_get_max_threads();
    omp_set_num_threads(threads);
    auto out = f();
    omp_set_num_threads(saved);
    return out;
}

using Results = std::vector<std::pair<std::string, std::vector<unsigned char>>>;

template <class S>
void keep(Results& out, const char* name, const std::vector<S>& v) {
    std::vector<unsigned char> bytes(v.size() * sizeof(S));
    if (!v.empty()) std::memcpy(bytes.data(), v.data(), bytes.size());
    out.emplace_back(name, std::move(bytes));
}

// The first result that differs between two runs, or "" when all agree bit for bit.
std::string first_difference(const Results& a, const Results& b) {
    for (size_t i = 0; i < a.size(); ++i)
        if (a[i].second != b[i].second) return a[i].first;
    return {};
}

// One training forward, backward (every gradient asked for, onto nonzero dweights: they accumulate) and
// inference forward of the stack.
template <class S>
Results run_stack(Backend<S>& be, const RnnSpec& spec, int T, int N, uint64_t seed) {
    std::mt19937_64 rng(seed);
    const int LD = spec.num_layers * spec.directions();
    const size_t P = rnn_param_count(spec), st = size_t(LD) * N * spec.hidden_size;
    const bool lstm = has_cell_state(spec.cell);
    const auto w = testing::random_vector<S>(P, rng, -0.3, 0.3);
    const auto x = testing::random_vector<S>(size_t(T) * N * spec.input_size, rng);
    const auto h0 = testing::random_vector<S>(st, rng), c0 = testing::random_vector<S>(st, rng);
    const auto dy = testing::random_vector<S>(size_t(T) * N * spec.output_size(), rng);
    const auto dhn = testing::random_vector<S>(st, rng), dcn = testing::random_vector<S>(st, rng);
    std::vector<S> y(dy.size()), hn(st), cn(st), dx(x.size()), dh0(st), dc0(st), y_inf(dy.size());
    std::vector<S> dw = testing::random_vector<S>(P, rng), reserve(be.rnn_reserve_size(spec, T, N));
    RnnForwardArgs<S> f;
    f.T = T; f.N = N; f.x = x.data(); f.h0 = h0.data(); f.c0 = lstm ? c0.data() : nullptr; f.weights = w.data();
    f.y = y.data(); f.hn = hn.data(); f.cn = lstm ? cn.data() : nullptr; f.reserve = reserve.data();
    be.rnn_forward(spec, f);
    RnnBackwardArgs<S> b;
    b.T = T; b.N = N; b.x = x.data(); b.h0 = f.h0; b.c0 = f.c0; b.weights = w.data(); b.y = y.data(); b.dy = dy.data();
    b.dhn = dhn.data(); b.dcn = lstm ? dcn.data() : nullptr; b.reserve = reserve.data(); b.dx = dx.data();
    b.dh0 = dh0.data(); b.dc0 = lstm ? dc0.data() : nullptr; b.dweights = dw.data();
    be.rnn_backward(spec, b);
    f.y = y_inf.data(); f.reserve = nullptr; f.hn = nullptr; f.cn = nullptr;
    be.rnn_forward(spec, f);
    Results out;
    keep(out, "y", y); keep(out, "hn", hn); keep(out, "cn", cn); keep(out, "dx", dx); keep(out, "dh0", dh0);
    keep(out, "dc0", dc0); keep(out, "dweights", dw); keep(out, "inference y", y_inf);
    return out;
}

template <class S>
void expect_stack_invariant(Backend<S>& be, const char* precision) {
    // Hidden 37: partial SIMD packs, G·H not a multiple of the kernels' panels. Batch 600 splits unevenly on
    // 3 and 4 threads; 40 is small enough that a step's work gives few threads anything to do.
    for (const CellType cell : {CellType::RnnTanh, CellType::RnnRelu, CellType::Lstm, CellType::Gru,
                                CellType::GruResetBefore})
        for (const int N : {600, 40}) {
            const RnnSpec spec{cell, 6, 37, 2, true};
            const uint64_t seed = testing::test_seed() + uint64_t(N);
            const Results one = with_threads(1, [&] { return run_stack(be, spec, 4, N, seed); });
            for (const int threads : {2, 3, 4}) {
                const Results many = with_threads(threads, [&] { return run_stack(be, spec, 4, N, seed); });
                EXPECT_EQ(first_difference(one, many), "")
                    << precision << ' ' << cell_name(cell) << ", batch " << N << ": this result differs between 1 and "
                    << threads << " threads (isa " << cpu::simd::isa_name(cpu::simd::cpu_isa()) << ")";
            }
        }
}

TEST(CpuThreadInvariance, RecurrentStack) {
    expect_stack_invariant(*make_backend("cpu"), "float");
    expect_stack_invariant(*make_backend_f64("cpu"), "double");
}

// The dense layer, MSE, softmax cross-entropy and the squared norm at sizes past their parallel thresholds.
template <class S>
Results run_dense(Backend<S>& be, uint64_t seed) {
    std::mt19937_64 rng(seed);
    const int M = 1031, in = 257, out = 203, V = 97;
    const auto x = testing::random_vector<S>(size_t(M) * in, rng), W = testing::random_vector<S>(size_t(out) * in, rng);
    const auto b = testing::random_vector<S>(out, rng), dy = testing::random_vector<S>(size_t(M) * out, rng);
    std::vector<S> y(size_t(M) * out), dx(size_t(M) * in), dW = testing::random_vector<S>(size_t(out) * in, rng);
    std::vector<S> db = testing::random_vector<S>(out, rng);
    be.linear_forward(M, in, out, x.data(), W.data(), b.data(), y.data());
    be.linear_backward(M, in, out, x.data(), W.data(), dy.data(), dx.data(), dW.data(), db.data());
    const size_t n = size_t(M) * out;  // past the elementwise ops' threshold (65,536)
    std::vector<S> grad(n);
    const LossResult mse = be.mse(n, y.data(), dy.data(), grad.data(), S(0.5));
    const auto logits = testing::random_vector<S>(size_t(M) * V, rng, -4, 4);
    std::vector<int32_t> targets(static_cast<size_t>(M));
    for (int r = 0; r < M; ++r) targets[size_t(r)] = int32_t((r * 7919) % V);
    std::vector<S> dlogits(logits.size());
    const LossResult ce = be.softmax_cross_entropy(M, V, logits.data(), targets.data(), dlogits.data(), S(1));
    const double norm2 = be.sum_squares(n, y.data());
    Results r;
    keep(r, "linear y", y); keep(r, "linear dx", dx); keep(r, "linear dW", dW); keep(r, "linear db", db);
    keep(r, "mse gradient", grad); keep(r, "cross-entropy gradient", dlogits);
    keep(r, "mse loss", std::vector<double>{mse.loss});
    keep(r, "cross-entropy loss", std::vector<double>{ce.loss, double(ce.correct)});
    keep(r, "sum of squares", std::vector<double>{norm2});
    return r;
}

template <class S>
void expect_dense_invariant(Backend<S>& be, const char* precision) {
    const uint64_t seed = testing::test_seed();
    const Results one = with_threads(1, [&] { return run_dense(be, seed); });
    for (const int threads : {2, 3, 4}) {
        const Results many = with_threads(threads, [&] { return run_dense(be, seed); });
        EXPECT_EQ(first_difference(one, many), "")
            << precision << ": this result differs between 1 and " << threads << " threads";
    }
}

TEST(CpuThreadInvariance, DenseLossesAndNorm) {
    expect_dense_invariant(*make_backend("cpu"), "float");
    expect_dense_invariant(*make_backend_f64("cpu"), "double");
}

}  // namespace
}  // namespace fusedrnn
