// Pointwise parts of one recurrent step over a block of batch rows, for the CPU backend.
//
// Each kernel walks rows × hidden units and calls the cell's functions from kernels/cell_math.h on a
// pack of W consecutive hidden units of one row (W = 16 with AVX-512, 8 with AVX2, 4 otherwise; 1 in
// double). The last pack of a row is partial when W does not divide H. Bias adds are fused here: the
// GEMMs produce x·W_ihᵀ and h·W_hhᵀ without biases and the kernels add b_ih and b_hh on load.
//
// Layouts (row r of the block, unit j, gate k at column k·H + j; all row strides in elements, as given
// next to each pointer): gate pre-activations and their gradients [rows, G·H]; saved activations
// [rows, S·H]; states and their gradients [rows, H]. A stride of 0 makes one row stand for all rows (a
// zero row for absent initial states or dy).
#pragma once

#include <algorithm>
#include <type_traits>

#include "fusedrnn/kernels/cell_math.h"
#include "fusedrnn/kernels/cpu/simd.h"

namespace fusedrnn::cpu {

// Whether the cell's dLoss/dgx equals dLoss/dgh for every gate (true for all but the reset-after GRU,
// whose n gate has dgh_n = dgx_n·r). When true the backward keeps one gate-gradient buffer for both.
// Gradient checks catch a wrong entry here (the input-weight gradients would be wrong).
template <class Cell>
constexpr bool kGateGradsShared = !std::is_same_v<Cell, cell::GruResetAfter>;

template <class S>
struct StepFwd {
    int rows = 0, H = 0;
    const S* gx = nullptr;      // x·W_ihᵀ (no bias), [rows, G·H] stride ld_gx
    int ld_gx = 0;
    const S* gh = nullptr;      // h_prev·W_hhᵀ (no bias), [rows, G·H] stride ld_gh (0: one row for all, e.g.
    int ld_gh = 0;              // zeros); reset-before: r, z part in phase 1, n part (W_hn·rh) in phase 2
    const S* b_ih = nullptr;    // [G·H]
    const S* b_hh = nullptr;    // [G·H]
    const S* h_prev = nullptr;  // [rows, H] stride ld_hp (0: one row for all)
    int ld_hp = 0;
    const S* c_prev = nullptr;  // [rows, H] stride ld_cp (LSTM); may equal c_out (in-place update)
    int ld_cp = 0;
    S* h_out = nullptr;         // [rows, H] stride ld_ho
    int ld_ho = 0;
    S* h_out2 = nullptr;        // a second copy of h (the layer output beside the reserve) or nullptr
    int ld_ho2 = 0;
    S* c_out = nullptr;         // [rows, H] stride H (LSTM)
    S* save = nullptr;          // [rows, S·H] stride ld_s, or nullptr (inference; not for reset-before)
    int ld_s = 0;
};

template <class S>
struct StepBwd {
    int rows = 0, H = 0;
    const S* dy = nullptr;      // [rows, H] stride ld_dy (0: one row for all, e.g. zeros when dy is absent)
    int ld_dy = 0;
    S* dh = nullptr;            // in: dLoss/dh_t from the step after (stride H); out: the direct part of dh_prev
    S* dc = nullptr;            // in: dLoss/dc_t (stride H); out: dLoss/dc_prev (LSTM)
    const S* h_prev = nullptr;  // [rows, H] stride ld_hp (0: one row for all)
    int ld_hp = 0;
    const S* c_prev = nullptr;  // [rows, H] stride ld_cp (LSTM)
    int ld_cp = 0;
    const S* out_t = nullptr;   // c_t (LSTM) or h_t (Elman), stride H
    const S* save = nullptr;    // [rows, S·H] stride ld_s
    int ld_s = 0;
    S* dgx = nullptr;           // [rows, G·H] stride ld_g; unused when kGateGradsShared (dgh holds both)
    S* dgh = nullptr;
    int ld_g = 0;
    const S* d_rh = nullptr;    // reset-before phase 2: dLoss/d(r·h_prev) = dgh_n·W_hn, stride H
};

namespace detail {

template <class P> struct Lanes;  // load/store of packs; scalars are packs of one
template <> struct Lanes<float> {
    static constexpr int kWidth = 1;
    static float load(const float* p, int = 1) { return *p; }
    static void store(float* p, float x, int = 1) { *p = x; }
};
template <> struct Lanes<double> {
    static constexpr int kWidth = 1;
    static double load(const double* p, int = 1) { return *p; }
    static void store(double* p, double x, int = 1) { *p = x; }
};
template <class Raw, class RawI, int W> struct Lanes<simd::VecF<Raw, RawI, W>> {
    using P = simd::VecF<Raw, RawI, W>;
    static constexpr int kWidth = W;
    static P load(const float* p, int n) { return n == W ? P::load(p) : P::load(p, n); }
    static void store(float* p, P x, int n) {
        if (n == W) x.store(p);
        else x.store(p, n);
    }
};

// Calls body(j, n) for j = 0, W, 2W, ... < H with n = min(W, H - j) lanes of pack type P. Scalar float
// loops carry an `omp simd` so the compiler vectorizes scalar cells (relu) in the ISA the caller was
// compiled for; double loops (gradient checks, libm calls) are left scalar, as asking would be in vain.
template <class P, class Body>
inline void for_units(int H, Body&& body) {
    constexpr int W = Lanes<P>::kWidth;
    if constexpr (std::is_same_v<P, float>) {
#pragma omp simd
        for (int j = 0; j < H; ++j) body(j, 1);
    } else {
        for (int j = 0; j < H; j += W) body(j, std::min(W, H - j));
    }
}

// One row's pointers into a step's buffers (null where the step has no such buffer), so each kernel
// below is only its per-unit math.
template <class T>
inline T* row_at(T* p, int r, int ld) { return p ? p + size_t(r) * size_t(ld) : nullptr; }

template <class S>
struct FwdRow {
    const S *gx, *gh, *h_prev, *c_prev;
    S *h_out, *h_out2, *c_out, *save;
};
template <class S>
inline FwdRow<S> row_of(const StepFwd<S>& a, int r) {
    return {row_at(a.gx, r, a.ld_gx),    row_at(a.gh, r, a.ld_gh),       row_at(a.h_prev, r, a.ld_hp),
            row_at(a.c_prev, r, a.ld_cp), row_at(a.h_out, r, a.ld_ho),    row_at(a.h_out2, r, a.ld_ho2),
            row_at(a.c_out, r, a.H),      row_at(a.save, r, a.ld_s)};
}

template <class S>
struct BwdRow {
    const S *dy, *h_prev, *c_prev, *out_t, *save, *d_rh;
    S *dh, *dc, *dgx, *dgh;
};
template <class S>
inline BwdRow<S> row_of(const StepBwd<S>& a, int r) {
    return {row_at(a.dy, r, a.ld_dy),  row_at(a.h_prev, r, a.ld_hp), row_at(a.c_prev, r, a.ld_cp),
            row_at(a.out_t, r, a.H),   row_at(a.save, r, a.ld_s),    row_at(a.d_rh, r, a.H),
            row_at(a.dh, r, a.H),      row_at(a.dc, r, a.H),         row_at(a.dgx, r, a.ld_g),
            row_at(a.dgh, r, a.ld_g)};
}

// Calls body(row, j, n) for every row of the step and every pack (of type P) of units in it.
template <class P, class Args, class Body>
inline void for_rows_units(const Args& a, Body&& body) {
    for (int r = 0; r < a.rows; ++r) {
        const auto row = row_of(a, r);
        for_units<P>(a.H, [&](int j, int n) { body(row, j, n); });
    }
}

}  // namespace detail

// Relu cells select lane-wise through `?:`, which a class type cannot do: they run on scalars (vectorized
// by the compiler). Every other cell runs on P.
template <class Cell, class P, class S>
using PackFor = std::conditional_t<std::is_same_v<S, float> && !std::is_same_v<Cell, cell::Elman<true>>, P, S>;

// ---- kernels: each is a struct with `template <class P> static void run(const Args&)` ------------------

template <class Cell, class S>
struct FwdKernel {  // every cell but reset-before: gates, state update, saved activations
    template <class P0>
    static void run(const StepFwd<S>& a) {
        using P = PackFor<Cell, P0, S>;
        using L = detail::Lanes<P>;
        constexpr int G = Cell::kGates, SV = Cell::kSaved;
        const int H = a.H;
        detail::for_rows_units<P>(a, [&](const detail::FwdRow<S>& p, int j, int n) {
            P x[G], h[G], s[SV > 0 ? SV : 1];
            for (int k = 0; k < G; ++k) {
                x[k] = L::load(p.gx + k * H + j, n) + L::load(a.b_ih + k * H + j, n);
                h[k] = L::load(p.gh + k * H + j, n) + L::load(a.b_hh + k * H + j, n);
            }
            const P h_prev = L::load(p.h_prev + j, n);
            const P c_prev = Cell::kCellState ? L::load(p.c_prev + j, n) : P(0);
            P h_new, c_new = P(0);
            Cell::forward(1, x, h, h_prev, c_prev, h_new, c_new, SV > 0 && p.save ? s : nullptr);
            L::store(p.h_out + j, h_new, n);
            if (p.h_out2) L::store(p.h_out2 + j, h_new, n);
            if constexpr (Cell::kCellState) L::store(p.c_out + j, c_new, n);
            if constexpr (SV > 0)
                if (p.save)
                    for (int k = 0; k < SV; ++k) L::store(p.save + k * H + j, s[k], n);
        });
    }
};

// Reset-before GRU, phase 1: r, z and rh = r·h_prev (saved: r, z, rh; rh feeds the n-gate GEMM).
template <class S>
struct FwdGatesRB {
    template <class P0>
    static void run(const StepFwd<S>& a) {
        using Cell = cell::GruResetBefore;
        using P = PackFor<Cell, P0, S>;
        using L = detail::Lanes<P>;
        const int H = a.H;
        detail::for_rows_units<P>(a, [&](const detail::FwdRow<S>& p, int j, int n) {
            P x[2], h[2], s[4];
            for (int k = 0; k < 2; ++k) {
                x[k] = L::load(p.gx + k * H + j, n) + L::load(a.b_ih + k * H + j, n);
                h[k] = L::load(p.gh + k * H + j, n) + L::load(a.b_hh + k * H + j, n);
            }
            Cell::forward_gates(1, x, h, L::load(p.h_prev + j, n), s);
            L::store(p.save + j, s[0], n);
            L::store(p.save + H + j, s[1], n);
            L::store(p.save + 3 * H + j, s[3], n);
        });
    }
};

// Reset-before GRU, phase 2: n from gx_n and gh_n = W_hn·rh (+ b_hn), then h'. Saves n.
template <class S>
struct FwdOutputRB {
    template <class P0>
    static void run(const StepFwd<S>& a) {
        using Cell = cell::GruResetBefore;
        using P = PackFor<Cell, P0, S>;
        using L = detail::Lanes<P>;
        const int H = a.H;
        detail::for_rows_units<P>(a, [&](const detail::FwdRow<S>& p, int j, int n) {
            P x[3], s[4];
            x[2] = L::load(p.gx + 2 * H + j, n) + L::load(a.b_ih + 2 * H + j, n);
            const P ghn = L::load(p.gh + 2 * H + j, n) + L::load(a.b_hh + 2 * H + j, n);
            const P z = L::load(p.save + H + j, n);
            P h_new;
            Cell::forward_output(1, x, ghn, z, L::load(p.h_prev + j, n), h_new, s);
            L::store(p.h_out + j, h_new, n);
            if (p.h_out2) L::store(p.h_out2 + j, h_new, n);
            L::store(p.save + 2 * H + j, s[2], n);
        });
    }
};

template <class Cell, class S>
struct BwdKernel {  // every cell but reset-before
    template <class P0>
    static void run(const StepBwd<S>& a) {
        using P = PackFor<Cell, P0, S>;
        using L = detail::Lanes<P>;
        constexpr int G = Cell::kGates, SV = Cell::kSaved;
        const int H = a.H;
        detail::for_rows_units<P>(a, [&](const detail::BwdRow<S>& p, int j, int n) {
            P s[SV > 0 ? SV : 1], gx[G], gh[G];
            if constexpr (SV > 0)
                for (int k = 0; k < SV; ++k) s[k] = L::load(p.save + k * H + j, n);
            const P d = L::load(p.dh + j, n) + L::load(p.dy + j, n);
            const P dc_in = Cell::kCellState ? L::load(p.dc + j, n) : P(0);
            const P h_prev = L::load(p.h_prev + j, n);
            const P c_prev = Cell::kCellState ? L::load(p.c_prev + j, n) : P(0);
            const P out = L::load(p.out_t + j, n);
            P direct, dc_prev = P(0);
            Cell::backward(1, d, dc_in, h_prev, c_prev, out, s, gx, gh, direct, dc_prev);
            L::store(p.dh + j, direct, n);
            if constexpr (Cell::kCellState) L::store(p.dc + j, dc_prev, n);
            for (int k = 0; k < G; ++k) L::store(p.dgh + k * H + j, gh[k], n);
            if constexpr (!kGateGradsShared<Cell>)
                for (int k = 0; k < G; ++k) L::store(p.dgx + k * H + j, gx[k], n);
        });
    }
};

// Reset-before GRU backward, phase 1: z and n gradients and the direct path dh·z.
template <class S>
struct BwdOutputRB {
    template <class P0>
    static void run(const StepBwd<S>& a) {
        using Cell = cell::GruResetBefore;
        using P = PackFor<Cell, P0, S>;
        using L = detail::Lanes<P>;
        const int H = a.H;
        detail::for_rows_units<P>(a, [&](const detail::BwdRow<S>& p, int j, int n) {
            P s[4], gx[3], gh[3];
            s[1] = L::load(p.save + H + j, n);
            s[2] = L::load(p.save + 2 * H + j, n);
            const P d = L::load(p.dh + j, n) + L::load(p.dy + j, n);
            P direct;
            Cell::backward_output(1, d, L::load(p.h_prev + j, n), s, gx, gh, direct);
            L::store(p.dh + j, direct, n);
            L::store(p.dgh + H + j, gh[1], n);
            L::store(p.dgh + 2 * H + j, gh[2], n);
        });
    }
};

// Reset-before GRU backward, phase 2: r gradient from d_rh, and r·d_rh added to the direct path.
template <class S>
struct BwdGatesRB {
    template <class P0>
    static void run(const StepBwd<S>& a) {
        using Cell = cell::GruResetBefore;
        using P = PackFor<Cell, P0, S>;
        using L = detail::Lanes<P>;
        detail::for_rows_units<P>(a, [&](const detail::BwdRow<S>& p, int j, int n) {
            P s[4], gx[3], gh[3];
            s[0] = L::load(p.save + j, n);
            P direct = L::load(p.dh + j, n);
            Cell::backward_gates(1, L::load(p.d_rh + j, n), L::load(p.h_prev + j, n), s, gx, gh, direct);
            L::store(p.dh + j, direct, n);
            L::store(p.dgh + j, gh[0], n);
        });
    }
};

// ---- dispatch --------------------------------------------------------------------------------------

namespace detail {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
template <class K, class A>
__attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,avx2,fma"), flatten)) void run_avx512(const A& a) {
    K::template run<simd::F32x16>(a);
}
template <class K, class A>
__attribute__((target("avx2,fma"), flatten)) void run_avx2(const A& a) {
    K::template run<simd::F32x8>(a);
}
#define FR_CPU_HAVE_ISA_CLONES 1
#endif
template <class K, class A>
__attribute__((flatten)) void run_generic(const A& a) {
    K::template run<simd::F32x4>(a);
}
}  // namespace detail

// Runs kernel K on the args (StepFwd or StepBwd): float on the given instruction set, double on scalars (libm).
template <class K, template <class> class Args, class S>
inline void run_pointwise(simd::Isa isa, const Args<S>& a) {
    if constexpr (std::is_same_v<S, double>) {
        (void)isa;
        K::template run<double>(a);
    } else {
        static_assert(std::is_same_v<S, float>, "the pointwise kernels run in float or double");
#ifdef FR_CPU_HAVE_ISA_CLONES
        if (isa == simd::Isa::Avx512) return detail::run_avx512<K>(a);
        if (isa == simd::Isa::Avx2) return detail::run_avx2<K>(a);
#endif
        detail::run_generic<K>(a);
    }
}

}  // namespace fusedrnn::cpu
