// CPU backend benchmark: a training step (rnn_forward with a reserve + rnn_backward with dy) and
// inference (rnn_forward without a reserve) for every cell at the shapes (T 48, batch 1024,
// input 5, hidden 64 and 128, one layer, unidirectional), next to OpenBLAS SGEMM at the matching
// shapes, which gives the GFLOP/s this machine can reach for the products the recurrence is made of.
//
//   build-bench/bench/bench_cpu_rnn --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
//
// FLOPs counted (GEMMs only; the pointwise cell math is not counted), G gates, C input, H hidden:
//   forward  (inference)  F = 2·T·N·G·H·(C + H)      input projection + recurrent product
//   backward              2F                          dh_prev product + dW_hh, dW_ih (dx is not requested)
//   training step         3F
// (Without dx the backward GEMMs are 2·T·N·G·H·(2H + C), slightly under 2F; we count 2F, as is usual.)
// Inputs and weights are fresh random values each run (weights U(-1/√H, 1/√H), x and dy U(-1, 1)).
#include <benchmark/benchmark.h>
#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "fusedrnn/core/backend.h"
#include "fusedrnn/core/param_layout.h"
#include "fusedrnn/core/rnn_spec.h"
#include "fusedrnn/kernels/cpu/gemm_avx512.h"
#include "fusedrnn/kernels/cpu/simd.h"

namespace {

using namespace fusedrnn;

constexpr int kT = 48, kN = 1024, kC = 5;

std::vector<float> random_vector(size_t n, std::mt19937_64& rng, float lo, float hi) {
    std::uniform_real_distribution<float> u(lo, hi);
    std::vector<float> v(n);
    for (auto& x : v) x = u(rng);
    return v;
}

std::mt19937_64& rng() {
    static std::mt19937_64 r{std::random_device{}()};
    return r;
}

double forward_flops(const RnnSpec& s) {
    return 2.0 * kT * kN * s.gates() * double(s.hidden_size) * (s.input_size + s.hidden_size);
}

struct Problem {
    RnnSpec spec;
    std::shared_ptr<Backend<float>> be = make_backend("cpu");
    Tensor<float> x, w, y, dy, dw, reserve;

    Problem(CellType cell, int H) {
        spec = RnnSpec{cell, kC, H, 1, false};
        const size_t P = rnn_param_count(spec);
        const float k = 1.0f / std::sqrt(float(H));
        x = be->from_host(random_vector(size_t(kT) * kN * kC, rng(), -1, 1), {kT, kN, kC});
        w = be->from_host(random_vector(P, rng(), -k, k), {long(P)});
        dy = be->from_host(random_vector(size_t(kT) * kN * H, rng(), -1, 1), {kT, kN, H});
        y = be->empty({kT, kN, H});
        dw = be->zeros({long(P)});
        reserve = be->empty({long(be->rnn_reserve_size(spec, kT, kN))});
    }
    void forward(bool training) {
        RnnForwardArgs<float> a;
        a.T = kT; a.N = kN; a.x = x.data(); a.weights = w.data(); a.y = y.data();
        a.reserve = training ? reserve.data() : nullptr;
        be->rnn_forward(spec, a);
    }
    void backward() {
        RnnBackwardArgs<float> a;
        a.T = kT; a.N = kN; a.x = x.data(); a.weights = w.data(); a.y = y.data(); a.dy = dy.data();
        a.reserve = reserve.data(); a.dweights = dw.data();  // dx, dh0 not requested (x is data)
        be->rnn_backward(spec, a);
    }
};

void set_counters(benchmark::State& state, double flops) {
    // Shown as "GFLOP=x/s": GEMM FLOPs per second of real time.
    state.counters["GFLOP"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

void bm_train(benchmark::State& state, CellType cell, int H) {
    Problem p(cell, H);
    for (auto _ : state) {
        p.forward(true);
        p.backward();
        benchmark::DoNotOptimize(p.dw.data());
        benchmark::ClobberMemory();
    }
    set_counters(state, 3 * forward_flops(p.spec));
}

void bm_infer(benchmark::State& state, CellType cell, int H) {
    Problem p(cell, H);
    for (auto _ : state) {
        p.forward(false);
        benchmark::DoNotOptimize(p.y.data());
        benchmark::ClobberMemory();
    }
    set_counters(state, forward_flops(p.spec));
}

// C[M, N] = op(A)·op(B), fresh random operands, with `threads` OpenBLAS threads.
void bm_sgemm(benchmark::State& state, bool ta, bool tb, int M, int N, int K, int threads) {
    const int saved = openblas_get_num_threads();
    openblas_set_num_threads(threads);
    auto A = random_vector(size_t(M) * K, rng(), -1, 1), B = random_vector(size_t(K) * N, rng(), -1, 1);
    std::vector<float> C(size_t(M) * N);
    const int lda = ta ? M : K, ldb = tb ? K : N;
    for (auto _ : state) {
        cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N, K, 1.0f,
                    A.data(), lda, B.data(), ldb, 0.0f, C.data(), N);
        benchmark::DoNotOptimize(C.data());
        benchmark::ClobberMemory();
    }
    set_counters(state, 2.0 * M * N * K);
    openblas_set_num_threads(saved);
}

// The CPU backend's own AVX-512 kernel (kernels/cpu/gemm_avx512.h) at the same shapes, one thread:
// step/dstep with the weight operand packed once (as the recurrence does), wgrad with Aᵀ read in place.
void bm_fused_gemm(benchmark::State& state, bool ta, bool tb, int M, int N, int K) {
    if (cpu::simd::cpu_isa() != cpu::simd::Isa::Avx512) {
        state.SkipWithError("no AVX-512 on this CPU: the backend uses OpenBLAS here");
        return;
    }
    auto A = random_vector(size_t(M) * K, rng(), -1, 1), B = random_vector(size_t(K) * N, rng(), -1, 1);
    std::vector<float> C(size_t(M) * N);
    cpu::avx512::PackedB packed;
    if (!ta) {  // B = Wᵀ (W [N, K]) or W [K, N], packed once
        if (tb) cpu::avx512::pack_transposed(packed, B.data(), K, K, N);
        else cpu::avx512::pack(packed, B.data(), N, K, N);
    }
    for (auto _ : state) {
        if (ta) cpu::avx512::gemm_direct(M, N, K, A.data(), 1, M, B.data(), N, C.data(), N, false);
        else cpu::avx512::gemm_packed(M, N, K, A.data(), K, 1, packed, 0, C.data(), N, false);
        benchmark::DoNotOptimize(C.data());
        benchmark::ClobberMemory();
    }
    set_counters(state, 2.0 * M * N * K);
}

// ---- validation before timing -------------------------------------------------------------------
// The unit tests run tiny shapes (one thread, partial SIMD packs only). Here every cell runs at a shape
// that splits the batch over the threads and has full and partial packs (H = 37), 2 layers,
// bidirectional, with initial states and every gradient requested:
//   float (SIMD pointwise, all threads) vs double (libm, one thread): the float path's accuracy;
//   double with all threads vs double with one thread: the batch split itself (the same bit for bit).
template <class S>
std::vector<std::vector<double>> run_full(const RnnSpec& spec, int T, int N, int threads, std::mt19937_64 seed_rng) {
    std::shared_ptr<Backend<S>> be;
    if constexpr (std::is_same_v<S, float>) be = make_backend("cpu");
    else be = make_backend_f64("cpu");
    const int LD = spec.num_layers * spec.directions();
    const size_t P = rnn_param_count(spec), st = size_t(LD) * N * spec.hidden_size;
    const bool lstm = has_cell_state(spec.cell);
    auto draw = [&](size_t n, double lo, double hi) {  // float values in both precisions: identical inputs
        std::uniform_real_distribution<float> u{float(lo), float(hi)};
        std::vector<S> v(n);
        for (auto& x : v) x = S(u(seed_rng));
        return v;
    };
    const double k = 1.0 / std::sqrt(double(spec.hidden_size));
    auto w = draw(P, -k, k), x = draw(size_t(T) * N * spec.input_size, -1, 1), h0 = draw(st, -1, 1),
         c0 = draw(st, -1, 1), dy = draw(size_t(T) * N * spec.output_size(), -1, 1), dhn = draw(st, -1, 1),
         dcn = draw(st, -1, 1);
    std::vector<S> y(dy.size()), hn(st), cn(st), dx(x.size()), dh0(st), dc0(st), dw(P, S(0));
    std::vector<S> reserve(be->rnn_reserve_size(spec, T, N));
    const int saved = omp_get_max_threads();
    omp_set_num_threads(threads);
    RnnForwardArgs<S> f;
    f.T = T; f.N = N; f.x = x.data(); f.h0 = h0.data(); f.c0 = lstm ? c0.data() : nullptr; f.weights = w.data();
    f.y = y.data(); f.hn = hn.data(); f.cn = lstm ? cn.data() : nullptr; f.reserve = reserve.data();
    be->rnn_forward(spec, f);
    RnnBackwardArgs<S> b;
    b.T = T; b.N = N; b.x = x.data(); b.h0 = f.h0; b.c0 = f.c0; b.weights = w.data(); b.y = y.data(); b.dy = dy.data();
    b.dhn = dhn.data(); b.dcn = lstm ? dcn.data() : nullptr; b.reserve = reserve.data(); b.dx = dx.data();
    b.dh0 = dh0.data(); b.dc0 = lstm ? dc0.data() : nullptr; b.dweights = dw.data();
    be->rnn_backward(spec, b);
    std::vector<S> y_inf(y.size());  // inference must give the training forward's output
    f.y = y_inf.data(); f.reserve = nullptr; f.hn = nullptr; f.cn = nullptr;
    be->rnn_forward(spec, f);
    omp_set_num_threads(saved);
    std::vector<std::vector<double>> out;  // forward results first (kForwardOutputs of them), then gradients
    for (const auto* v : {&y, &hn, &cn, &y_inf, &dx, &dh0, &dc0, &dw}) out.emplace_back(v->begin(), v->end());
    return out;
}
constexpr size_t kForwardOutputs = 4;

// Largest ‖a − b‖/‖b‖ over the results [begin, end).
double max_rel_error(const std::vector<std::vector<double>>& a, const std::vector<std::vector<double>>& b,
                     size_t begin, size_t end) {
    double worst = 0;
    for (size_t i = begin; i < end; ++i) {
        double num = 0, den = 0;
        for (size_t j = 0; j < a[i].size(); ++j) {
            num += (a[i][j] - b[i][j]) * (a[i][j] - b[i][j]);
            den += b[i][j] * b[i][j];
        }
        worst = std::max(worst, std::sqrt(num / std::max(den, 1e-300)));
    }
    return worst;
}

bool validate(const CellType* cells, int count) {
    bool ok = true;
    const int threads = omp_get_max_threads();
    for (int i = 0; i < count; ++i) {
        const RnnSpec spec{cells[i], kC, 37, 2, true};
        const int T = 5, N = 600;
        const std::mt19937_64 seed(rng()());
        const auto ref = run_full<double>(spec, T, N, 1, seed);
        const auto f32 = run_full<float>(spec, T, N, threads, seed);
        const auto split = run_full<double>(spec, T, N, threads, seed);
        const size_t all = ref.size();
        const double e_fwd = max_rel_error(f32, ref, 0, kForwardOutputs);
        const double e_grad = max_rel_error(f32, ref, kForwardOutputs, all);
        const double e_split = max_rel_error(split, ref, 0, all);
        // Relu: once in a while a pre-activation lies within float rounding of 0 and takes the other side
        // of the kink in float than in double, which moves its gradients by up to ~1e-2 (relative); a wrong
        // kernel is off by O(1).
        const double grad_tol = cells[i] == CellType::RnnRelu ? 5e-2 : 1e-5;
        const bool good = e_fwd < 1e-5 && e_grad < grad_tol && e_split == 0;
        std::fprintf(stderr,
                     "validate %-16s float(%d threads) vs double(1 thread): forward %.1e, gradients %.1e;  "
                     "double(%d) vs double(1): %.1e  %s\n",
                     cell_name(cells[i]), threads, e_fwd, e_grad, threads, e_split, good ? "ok" : "FAILED");
        ok = ok && good;
    }
    return ok;
}

}  // namespace

int main(int argc, char** argv) {
    const CellType cells[] = {CellType::RnnTanh, CellType::RnnRelu, CellType::Lstm, CellType::Gru,
                              CellType::GruResetBefore};
    for (int H : {64, 128})
        for (CellType c : cells) {
            const std::string tag = std::string(cell_name(c)) + "/H" + std::to_string(H);
            benchmark::RegisterBenchmark(("train/" + tag).c_str(), bm_train, c, H)
                ->Unit(benchmark::kMillisecond)->UseRealTime();
            benchmark::RegisterBenchmark(("infer/" + tag).c_str(), bm_infer, c, H)
                ->Unit(benchmark::kMillisecond)->UseRealTime();
        }
    // SGEMM at the shapes of the recurrence (N = 1024 rows, G·H = 512 for the LSTM at H 128):
    //   step   [N, H]·[GH, H]ᵀ      per-step recurrent product (forward)
    //   dstep  [N, GH]·[GH, H]      per-step dh_prev product (backward)
    //   wgrad  [T·N, GH]ᵀ·[T·N, H]  recurrent weight gradient over all steps in one product
    // each with 2 threads (the machine) and with 1 thread on half the rows ("_half": what each thread of
    // the batch-split recurrence runs; wgrad_half is the per-step [N/2, GH]ᵀ·[N/2, H] it accumulates).
    // "_half" rates are per thread, so twice them is the 2-core ceiling for that shape.
    struct Shape3 { const char* name; bool ta, tb; int M, N, K; };
    for (int H : {64, 128})
        for (int G : {1, 3, 4}) {
            const int GH = G * H;
            const std::string sfx = "/G" + std::to_string(G) + "/H" + std::to_string(H);
            const Shape3 shapes[] = {{"step", false, true, kN, GH, H},
                                     {"dstep", false, false, kN, H, GH},
                                     {"wgrad", true, false, GH, H, kT * kN}};
            for (const auto& s : shapes) {
                benchmark::RegisterBenchmark((std::string("sgemm_") + s.name + sfx + "/threads:2").c_str(), bm_sgemm,
                                             s.ta, s.tb, s.M, s.N, s.K, 2)
                    ->Unit(benchmark::kMicrosecond)->UseRealTime();
                const bool wgrad = s.name[0] == 'w';
                benchmark::RegisterBenchmark((std::string("sgemm_") + s.name + "_half" + sfx + "/threads:1").c_str(),
                                             bm_sgemm, s.ta, s.tb, wgrad ? s.M : s.M / 2, s.N, wgrad ? kN / 2 : s.K, 1)
                    ->Unit(benchmark::kMicrosecond)->UseRealTime();
                benchmark::RegisterBenchmark((std::string("fusedgemm_") + s.name + "_half" + sfx + "/threads:1").c_str(),
                                             bm_fused_gemm, s.ta, s.tb, wgrad ? s.M : s.M / 2, s.N, wgrad ? kN / 2 : s.K)
                    ->Unit(benchmark::kMicrosecond)->UseRealTime();
            }
        }
    benchmark::AddCustomContext("openblas", std::string(openblas_get_config()) + " core " + openblas_get_corename() +
                                                " threads " + std::to_string(openblas_get_num_threads()));
    benchmark::AddCustomContext("omp_max_threads", std::to_string(omp_get_max_threads()));
    benchmark::AddCustomContext("fusedrnn_cpu_isa", cpu::simd::isa_name(cpu::simd::cpu_isa()));
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    if (!validate(cells, 5)) {
        std::fprintf(stderr, "validation failed: not benchmarking a wrong result\n");
        return 1;
    }
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
