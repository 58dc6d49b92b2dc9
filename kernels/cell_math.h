// fusedrnn — the single source of truth for the cell equations.
// Pointwise forward and backward of every cell, for ONE hidden unit of ONE sample, as inline
// functions that compile both as plain C++ (CPU backend, tested on every CI run) and as CUDA
// __host__ __device__ code (fused kernels). Every backend that is not cuDNN calls these.
//
// Conventions (per unit j, per sample; G gates, stride H between gates):
//   gx[k·H]  pre-activation of gate k from the input side:     (W_ih x + b_ih)[k·H + j]
//   gh[k·H]  pre-activation of gate k from the recurrent side: (W_hh h + b_hh)[k·H + j]
//   save[k·H] activations kept for backward (kSaved slots)
//   dgx[k·H], dgh[k·H]  gradients w.r.t. gx and gh (they differ only for the GRU's n gate)
// Gate order as PyTorch/cuDNN: LSTM i, f, g, o; GRU r, z, n.
// Keep every function a template on the scalar T that calls fr_exp / fr_tanh unqualified: the CPU
// backend instantiates them with SIMD pack types (kernels/cpu/simd.h) found by argument-dependent lookup.
#pragma once

#include <cmath>

#include "fusedrnn/core/rnn_spec.h"

#if defined(__CUDACC__)
#define FR_HD __host__ __device__ __forceinline__
#else
#define FR_HD inline
#endif

namespace fusedrnn::cell {

FR_HD float fr_exp(float x) { return expf(x); }
FR_HD double fr_exp(double x) { return exp(x); }
FR_HD float fr_tanh(float x) { return tanhf(x); }
FR_HD double fr_tanh(double x) { return tanh(x); }

template <class T> FR_HD T sigmoid(T x) { return T(1) / (T(1) + fr_exp(-x)); }
// Derivatives expressed through the activation's output y, so backward needs only saved outputs.
template <class T> FR_HD T dsigmoid_from_y(T y) { return y * (T(1) - y); }
template <class T> FR_HD T dtanh_from_y(T y) { return T(1) - y * y; }

// ---- Elman RNN: h' = act(gx + gh) --------------------------------------------------------------
template <bool Relu>
struct Elman {
    static constexpr int kGates = 1;
    static constexpr int kSaved = 0;            // h' itself is kept in the output sequence
    static constexpr bool kCellState = false;
    static constexpr bool kResetBefore = false;

    template <class T>
    FR_HD static void forward(int, const T* gx, const T* gh, T, T, T& h, T&, T*) {
        const T pre = gx[0] + gh[0];
        h = Relu ? (pre > T(0) ? pre : T(0)) : fr_tanh(pre);
    }
    // dh: total gradient reaching h'; h: forward's h'. Writes dgx = dgh; the recurrent path to h_prev
    // goes through the GEMM dgh·W_hh, so the direct term is zero.
    template <class T>
    FR_HD static void backward(int, T dh, T, T, T, T h, const T*, T* dgx, T* dgh, T& dh_prev_direct, T&) {
        const T dpre = Relu ? (h > T(0) ? dh : T(0)) : dh * dtanh_from_y(h);
        dgx[0] = dpre;
        dgh[0] = dpre;
        dh_prev_direct = T(0);
    }
};

// ---- LSTM: i, f, g, o; c' = f c + i g; h' = o tanh(c') ----------------------------------------------
struct Lstm {
    static constexpr int kGates = 4;
    static constexpr int kSaved = 4;            // i, f, g, o activations; c' is kept in its own sequence
    static constexpr bool kCellState = true;
    static constexpr bool kResetBefore = false;

    template <class T>
    FR_HD static void forward(int H, const T* gx, const T* gh, T, T c_prev, T& h, T& c, T* save) {
        const T i = sigmoid(gx[0] + gh[0]);
        const T f = sigmoid(gx[H] + gh[H]);
        const T g = fr_tanh(gx[2 * H] + gh[2 * H]);
        const T o = sigmoid(gx[3 * H] + gh[3 * H]);
        c = f * c_prev + i * g;
        h = o * fr_tanh(c);
        if (save) { save[0] = i; save[H] = f; save[2 * H] = g; save[3 * H] = o; }
    }
    // dc_in: gradient reaching c' from the next step (or dc_n). Outputs dc_prev.
    template <class T>
    FR_HD static void backward(int H, T dh, T dc_in, T, T c_prev, T c, const T* save, T* dgx, T* dgh,
                               T& dh_prev_direct, T& dc_prev) {
        const T i = save[0], f = save[H], g = save[2 * H], o = save[3 * H];
        const T tc = fr_tanh(c);
        const T dc = dc_in + dh * o * dtanh_from_y(tc);
        const T di = dc * g * dsigmoid_from_y(i);
        const T df = dc * c_prev * dsigmoid_from_y(f);
        const T dg = dc * i * dtanh_from_y(g);
        const T d_o = dh * tc * dsigmoid_from_y(o);
        dgx[0] = dgh[0] = di;
        dgx[H] = dgh[H] = df;
        dgx[2 * H] = dgh[2 * H] = dg;
        dgx[3 * H] = dgh[3 * H] = d_o;
        dc_prev = dc * f;
        dh_prev_direct = T(0);
    }
};

// ---- GRU, reset-after (PyTorch/cuDNN): n = tanh(gx_n + r·gh_n); h' = (1-z) n + z h --------------------
struct GruResetAfter {
    static constexpr int kGates = 3;
    static constexpr int kSaved = 4;            // r, z, n, gh_n
    static constexpr bool kCellState = false;
    static constexpr bool kResetBefore = false;

    template <class T>
    FR_HD static void forward(int H, const T* gx, const T* gh, T h_prev, T, T& h, T&, T* save) {
        const T r = sigmoid(gx[0] + gh[0]);
        const T z = sigmoid(gx[H] + gh[H]);
        const T ghn = gh[2 * H];
        const T n = fr_tanh(gx[2 * H] + r * ghn);
        h = (T(1) - z) * n + z * h_prev;
        if (save) { save[0] = r; save[H] = z; save[2 * H] = n; save[3 * H] = ghn; }
    }
    template <class T>
    FR_HD static void backward(int H, T dh, T, T h_prev, T, T, const T* save, T* dgx, T* dgh,
                               T& dh_prev_direct, T&) {
        const T r = save[0], z = save[H], n = save[2 * H], ghn = save[3 * H];
        const T dn = dh * (T(1) - z) * dtanh_from_y(n);
        const T dz = dh * (h_prev - n) * dsigmoid_from_y(z);
        const T dr = dn * ghn * dsigmoid_from_y(r);
        dgx[0] = dgh[0] = dr;
        dgx[H] = dgh[H] = dz;
        dgx[2 * H] = dn;
        dgh[2 * H] = dn * r;
        dh_prev_direct = dh * z;
    }
};

// ---- GRU, reset-before (Cho et al. 2014): n = tanh(gx_n + W_hn (r·h) + b_hn) --------------------------
// The recurrent product of the n gate needs r first, so a step runs in two phases around a second
// GEMM: phase 1 computes r, z and rh = r·h (the GEMM's input); phase 2 computes n and h'.
// Backward mirrors it: phase 1 gives the n/z gradients (then the caller computes d_rh = dgh_n·W_hn),
// phase 2 turns d_rh into the r gradient and the direct path to h.
struct GruResetBefore {
    static constexpr int kGates = 3;
    static constexpr int kSaved = 4;            // r, z, n, rh
    static constexpr bool kCellState = false;
    static constexpr bool kResetBefore = true;

    // gh holds the r and z rows of W_hh h + b_hh. Returns rh; saves r, z, rh.
    template <class T>
    FR_HD static T forward_gates(int H, const T* gx, const T* gh, T h_prev, T* save) {
        const T r = sigmoid(gx[0] + gh[0]);
        const T z = sigmoid(gx[H] + gh[H]);
        const T rh = r * h_prev;
        if (save) { save[0] = r; save[H] = z; save[3 * H] = rh; }
        return rh;
    }
    // gh_n = (W_hn rh + b_hn)[j]; z from phase 1 (read back from save, or passed when not saving).
    template <class T>
    FR_HD static void forward_output(int H, const T* gx, T gh_n, T z, T h_prev, T& h, T* save) {
        const T n = fr_tanh(gx[2 * H] + gh_n);
        h = (T(1) - z) * n + z * h_prev;
        if (save) save[2 * H] = n;
    }
    // Phase 1: from dh, the gradients of the z and n pre-activations (x and h sides alike) and the
    // direct path dh·z. dgx/dgh r slots are written in phase 2.
    template <class T>
    FR_HD static void backward_output(int H, T dh, T h_prev, const T* save, T* dgx, T* dgh, T& dh_prev_direct) {
        const T z = save[H], n = save[2 * H];
        const T dn = dh * (T(1) - z) * dtanh_from_y(n);
        const T dz = dh * (h_prev - n) * dsigmoid_from_y(z);
        dgx[H] = dgh[H] = dz;
        dgx[2 * H] = dgh[2 * H] = dn;
        dh_prev_direct = dh * z;
    }
    // Phase 2: d_rh = (dgh_n · W_hn)[j]. Adds r·d_rh to the direct path and writes the r gradients.
    template <class T>
    FR_HD static void backward_gates(int H, T d_rh, T h_prev, const T* save, T* dgx, T* dgh, T& dh_prev_direct) {
        const T r = save[0];
        const T dr = d_rh * h_prev * dsigmoid_from_y(r);
        dgx[0] = dgh[0] = dr;
        dh_prev_direct += d_rh * r;
    }
};

// Calls fn(Cell{}) with a value of the cell struct matching `cell` (use it as a tag:
// `[&](auto tag) { using Cell = decltype(tag); ... }`) — the one place that maps the runtime cell
// type to the compile-time one, shared by all backends.
template <class Fn>
decltype(auto) dispatch(CellType cell, Fn&& fn) {
    switch (cell) {
        case CellType::RnnTanh: return fn(Elman<false>{});
        case CellType::RnnRelu: return fn(Elman<true>{});
        case CellType::Lstm: return fn(Lstm{});
        case CellType::Gru: return fn(GruResetAfter{});
        case CellType::GruResetBefore: return fn(GruResetBefore{});
    }
    return fn(Lstm{});  // unreachable: parse_cell rejects unknown cells
}

}  // namespace fusedrnn::cell
