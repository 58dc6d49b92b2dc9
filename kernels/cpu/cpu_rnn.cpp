// CPU recurrent stack: forward and backward through time for every cell, stacked and bidirectional.
//
// Per layer-direction the structure is the one the fused GPU kernels use (and cuDNN):
//   forward : Gx = X·W_ihᵀ + b_ih for all T·N rows (one GEMM, hoisted out of the time loop);
//             per step Gh = h_prev·W_hhᵀ + b_hh (GEMM) and the cell's pointwise forward (cell_math.h).
//   backward: per step (reverse order) the pointwise backward, then dh_prev = dGh·W_hh (GEMM);
//             after the loop the weight gradients as large GEMMs over all T·N rows.
//
// Reserve layout (elements of T), per layer l, direction d, in that order:
//   hseq [T, N, H] this direction's outputs h_t;  cseq [T, N, H] (LSTM only);  save [T, N, S·H]
// followed by the outputs of layers 0..L-2, each [T, N, D·H] (the next layer's input).
#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/cell_math.h"
#include "kernels/cpu/blas.h"
#include "kernels/cpu/cpu_backend.h"

namespace fusedrnn::cpu {
namespace {

struct Dims {
    int T, N, H, G, D, L, S;
    bool lstm;
    size_t per_dir() const {  // reserve elements for one layer-direction
        const size_t step = size_t(N) * H;
        return size_t(T) * step * (1 + (lstm ? 1 : 0) + S);
    }
};

template <class Cell>
Dims make_dims(const RnnSpec& spec, int T, int N) {
    return Dims{T, N, spec.hidden_size, Cell::kGates, spec.directions(), spec.num_layers, Cell::kSaved,
                Cell::kCellState};
}

// Views into the reserve for one layer-direction.
template <class T>
struct DirReserve {
    T* hseq;
    T* cseq;  // nullptr unless LSTM
    T* save;
};

template <class T>
DirReserve<T> dir_reserve(const Dims& d, T* reserve, int layer, int dir) {
    T* base = reserve + (size_t(layer) * d.D + dir) * d.per_dir();
    const size_t seq = size_t(d.T) * d.N * d.H;
    DirReserve<T> r;
    r.hseq = base;
    r.cseq = d.lstm ? base + seq : nullptr;
    r.save = base + seq * (d.lstm ? 2 : 1);
    return r;
}

template <class T>
T* layer_output(const Dims& d, T* reserve, int layer) {  // layer < L-1
    return reserve + size_t(d.L) * d.D * d.per_dir() + size_t(layer) * d.T * d.N * d.D * d.H;
}

size_t reserve_elems(const Dims& d) {
    return size_t(d.L) * d.D * d.per_dir() + size_t(d.L - 1) * d.T * d.N * d.D * d.H;
}

// rows[r, :] = bias for r < rows (prepares a GEMM with beta = 1 to add the bias for free).
template <class T>
void broadcast_rows(T* out, const T* bias, size_t rows, int cols, int ld) {
#pragma omp parallel for schedule(static)
    for (long r = 0; r < long(rows); ++r) std::memcpy(out + size_t(r) * ld, bias, sizeof(T) * cols);
}

// Column sums: acc[c] += Σ_r m[r, c].
template <class T>
void add_column_sums(T* acc, const T* m, size_t rows, int cols) {
    std::vector<T> sum(cols, T(0));
    for (size_t r = 0; r < rows; ++r) {
        const T* row = m + r * cols;
        for (int c = 0; c < cols; ++c) sum[c] += row[c];
    }
    for (int c = 0; c < cols; ++c) acc[c] += sum[c];
}

// Time index processed at step s of direction dir.
inline int time_at(int s, int T, int dir) { return dir == 0 ? s : T - 1 - s; }

template <class Cell, class T>
void forward_direction(const Dims& d, int layer, int dir, const T* in, int in_size, const T* w, const T* h0,
                       const T* c0, T* out, int out_ld, T* hn, T* cn, DirReserve<T> res, bool training,
                       const RnnSpec& spec) {
    const int T_ = d.T, N = d.N, H = d.H, GH = d.G * H;
    const RnnWeightOffsets o = rnn_weight_offsets(spec, layer, dir);
    const T* W_ih = w + o.w_ih;
    const T* W_hh = w + o.w_hh;
    const T* b_ih = w + o.b_ih;
    const T* b_hh = w + o.b_hh;
    const size_t step = size_t(N) * H;

    // Input projection for all steps at once.
    std::vector<T> gx(size_t(T_) * N * GH);
    broadcast_rows(gx.data(), b_ih, size_t(T_) * N, GH, GH);
    gemm(false, true, T_ * N, GH, in_size, T(1), in, in_size, W_ih, in_size, T(1), gx.data(), GH);

    std::vector<T> gh(size_t(N) * GH);
    // Inference keeps only the running state; training writes every step into the reserve.
    std::vector<T> h_a(step, T(0)), h_b(step, T(0)), c_a(step, T(0)), c_b(step, T(0));
    std::vector<T> save_tmp(Cell::kSaved ? size_t(N) * Cell::kSaved * H : 0);
    if (h0) std::copy(h0, h0 + step, h_a.begin());
    if (c0 && Cell::kCellState) std::copy(c0, c0 + step, c_a.begin());
    const T* h_prev = h_a.data();
    const T* c_prev = c_a.data();

    for (int s = 0; s < T_; ++s) {
        const int t = time_at(s, T_, dir);
        T* h_new = training ? res.hseq + size_t(t) * step : (s % 2 == 0 ? h_b.data() : h_a.data());
        T* c_new = !Cell::kCellState ? nullptr
                   : training        ? res.cseq + size_t(t) * step
                                     : (s % 2 == 0 ? c_b.data() : c_a.data());
        T* save = Cell::kSaved == 0 ? nullptr
                  : training        ? res.save + size_t(t) * N * Cell::kSaved * H
                                    : save_tmp.data();
        const T* gx_t = gx.data() + size_t(t) * N * GH;
        const int SH = Cell::kSaved * H;

        if constexpr (Cell::kResetBefore) {
            // Phase 1: r, z from the r/z rows of W_hh; rh = r·h_prev goes to save slot 3.
            broadcast_rows(gh.data(), b_hh, N, 2 * H, GH);
            gemm(false, true, N, 2 * H, H, T(1), h_prev, H, W_hh, H, T(1), gh.data(), GH);
#pragma omp parallel for schedule(static)
            for (int n = 0; n < N; ++n)
                for (int j = 0; j < H; ++j)
                    Cell::forward_gates(H, gx_t + size_t(n) * GH + j, gh.data() + size_t(n) * GH + j,
                                        h_prev[size_t(n) * H + j], save + size_t(n) * SH + j);
            // Phase 2: the n rows of W_hh applied to rh.
            broadcast_rows(gh.data() + 2 * H, b_hh + 2 * H, N, H, GH);
            gemm(false, true, N, H, H, T(1), save + 3 * H, SH, W_hh + size_t(2) * H * H, H, T(1), gh.data() + 2 * H,
                 GH);
#pragma omp parallel for schedule(static)
            for (int n = 0; n < N; ++n)
                for (int j = 0; j < H; ++j) {
                    T* sv = save + size_t(n) * SH + j;
                    Cell::forward_output(H, gx_t + size_t(n) * GH + j, gh[size_t(n) * GH + 2 * H + j], sv[H],
                                         h_prev[size_t(n) * H + j], h_new[size_t(n) * H + j], sv);
                }
        } else {
            broadcast_rows(gh.data(), b_hh, N, GH, GH);
            gemm(false, true, N, GH, H, T(1), h_prev, H, W_hh, H, T(1), gh.data(), GH);
#pragma omp parallel for schedule(static)
            for (int n = 0; n < N; ++n)
                for (int j = 0; j < H; ++j) {
                    const size_t u = size_t(n) * H + j;
                    T c_dummy = T(0);
                    Cell::forward(H, gx_t + size_t(n) * GH + j, gh.data() + size_t(n) * GH + j, h_prev[u],
                                  Cell::kCellState ? c_prev[u] : T(0), h_new[u], Cell::kCellState ? c_new[u] : c_dummy,
                                  save ? save + size_t(n) * SH + j : nullptr);
                }
        }
        // Write this step's h into the layer output (forward half or reverse half of the features).
        for (int n = 0; n < N; ++n)
            std::memcpy(out + (size_t(t) * N + n) * out_ld + size_t(dir) * H, h_new + size_t(n) * H, sizeof(T) * H);
        h_prev = h_new;
        if (Cell::kCellState) c_prev = c_new;
    }
    if (hn) std::memcpy(hn, h_prev, sizeof(T) * step);
    if (cn && Cell::kCellState) std::memcpy(cn, c_prev, sizeof(T) * step);
}

template <class Cell, class T>
void backward_direction(const Dims& d, int layer, int dir, const T* in, int in_size, const T* w, const T* h0,
                        const T* c0, const T* dy_layer, const T* dhn, const T* dcn, DirReserve<T> res, T* din,
                        bool din_accumulate, T* dh0, T* dc0, T* dw, const RnnSpec& spec) {
    const int T_ = d.T, N = d.N, H = d.H, GH = d.G * H, DH = d.D * H;
    const int SH = Cell::kSaved * H;
    const RnnWeightOffsets o = rnn_weight_offsets(spec, layer, dir);
    const T* W_ih = w + o.w_ih;
    const T* W_hh = w + o.w_hh;
    const size_t step = size_t(N) * H;
    const std::vector<T> zeros(step, T(0));
    const T* h_init = h0 ? h0 : zeros.data();
    const T* c_init = c0 ? c0 : zeros.data();

    std::vector<T> dgx(size_t(T_) * N * GH), dgh(size_t(T_) * N * GH);
    std::vector<T> dh_carry(step, T(0)), dc_carry(step, T(0)), direct(step), d_rh(Cell::kResetBefore ? step : 0);
    if (dhn) std::copy(dhn, dhn + step, dh_carry.begin());
    if (dcn && Cell::kCellState) std::copy(dcn, dcn + step, dc_carry.begin());

    for (int s = T_ - 1; s >= 0; --s) {
        const int t = time_at(s, T_, dir);
        const T* h_prev = s == 0 ? h_init : res.hseq + size_t(time_at(s - 1, T_, dir)) * step;
        const T* c_prev = !Cell::kCellState ? nullptr : s == 0 ? c_init : res.cseq + size_t(time_at(s - 1, T_, dir)) * step;
        const T* h_t = res.hseq + size_t(t) * step;
        const T* c_t = Cell::kCellState ? res.cseq + size_t(t) * step : nullptr;
        const T* save = res.save + size_t(t) * N * SH;
        T* dgx_t = dgx.data() + size_t(t) * N * GH;
        T* dgh_t = dgh.data() + size_t(t) * N * GH;
        const T* dy_t = dy_layer ? dy_layer + size_t(t) * N * DH + size_t(dir) * H : nullptr;

        if constexpr (Cell::kResetBefore) {
#pragma omp parallel for schedule(static)
            for (int n = 0; n < N; ++n)
                for (int j = 0; j < H; ++j) {
                    const size_t u = size_t(n) * H + j;
                    const T dh = dh_carry[u] + (dy_t ? dy_t[size_t(n) * DH + j] : T(0));
                    Cell::backward_output(H, dh, h_prev[u], save + size_t(n) * SH + j, dgx_t + size_t(n) * GH + j,
                                          dgh_t + size_t(n) * GH + j, direct[u]);
                }
            // d_rh = dGh_n · W_hn
            gemm(false, false, N, H, H, T(1), dgh_t + 2 * H, GH, W_hh + size_t(2) * H * H, H, T(0), d_rh.data(), H);
#pragma omp parallel for schedule(static)
            for (int n = 0; n < N; ++n)
                for (int j = 0; j < H; ++j) {
                    const size_t u = size_t(n) * H + j;
                    Cell::backward_gates(H, d_rh[u], h_prev[u], save + size_t(n) * SH + j, dgx_t + size_t(n) * GH + j,
                                         dgh_t + size_t(n) * GH + j, direct[u]);
                }
            // dh_prev = direct + dGh[r,z] · W_hh[r,z]
            std::copy(direct.begin(), direct.end(), dh_carry.begin());
            gemm(false, false, N, H, 2 * H, T(1), dgh_t, GH, W_hh, H, T(1), dh_carry.data(), H);
        } else {
#pragma omp parallel for schedule(static)
            for (int n = 0; n < N; ++n)
                for (int j = 0; j < H; ++j) {
                    const size_t u = size_t(n) * H + j;
                    const T dh = dh_carry[u] + (dy_t ? dy_t[size_t(n) * DH + j] : T(0));
                    T dc_prev = T(0);
                    Cell::backward(H, dh, Cell::kCellState ? dc_carry[u] : T(0), h_prev[u],
                                   Cell::kCellState ? c_prev[u] : T(0), Cell::kCellState ? c_t[u] : h_t[u],
                                   Cell::kSaved ? save + size_t(n) * SH + j : nullptr, dgx_t + size_t(n) * GH + j,
                                   dgh_t + size_t(n) * GH + j, direct[u], dc_prev);
                    if (Cell::kCellState) dc_carry[u] = dc_prev;
                }
            std::copy(direct.begin(), direct.end(), dh_carry.begin());
            gemm(false, false, N, H, GH, T(1), dgh_t, GH, W_hh, H, T(1), dh_carry.data(), H);
        }
    }
    if (dh0) std::memcpy(dh0, dh_carry.data(), sizeof(T) * step);
    if (dc0 && Cell::kCellState) std::memcpy(dc0, dc_carry.data(), sizeof(T) * step);

    // Weight gradients over all steps at once.
    const size_t rows = size_t(T_) * N;
    gemm(true, false, GH, in_size, int(rows), T(1), dgx.data(), GH, in, in_size, T(1), dw + o.w_ih, in_size);
    add_column_sums(dw + o.b_ih, dgx.data(), rows, GH);
    add_column_sums(dw + o.b_hh, dgh.data(), rows, GH);
    // h_prev for every step, in time order: the recurrent weight gradient is Σ_t dGh_tᵀ·h_prev(t).
    std::vector<T> hprev(rows * H);
    for (int s = 0; s < T_; ++s) {
        const int t = time_at(s, T_, dir);
        const T* src = s == 0 ? h_init : res.hseq + size_t(time_at(s - 1, T_, dir)) * step;
        std::memcpy(hprev.data() + size_t(t) * step, src, sizeof(T) * step);
    }
    if constexpr (Cell::kResetBefore) {
        gemm(true, false, 2 * H, H, int(rows), T(1), dgh.data(), GH, hprev.data(), H, T(1), dw + o.w_hh, H);
        // n rows act on rh = r·h_prev, kept in save slot 3.
        gemm(true, false, H, H, int(rows), T(1), dgh.data() + 2 * H, GH, res.save + 3 * H, SH, T(1),
             dw + o.w_hh + size_t(2) * H * H, H);
    } else {
        gemm(true, false, GH, H, int(rows), T(1), dgh.data(), GH, hprev.data(), H, T(1), dw + o.w_hh, H);
    }
    if (din) gemm(false, false, int(rows), in_size, GH, T(1), dgx.data(), GH, W_ih, in_size,
                  din_accumulate ? T(1) : T(0), din, in_size);
}

void check_common(const RnnSpec& spec, int T, int N) {
    spec.validate();
    FR_CHECK(T > 0, "rnn: sequence length T must be positive, got {}", T);
    FR_CHECK(N > 0, "rnn: batch size N must be positive, got {}", N);
}

}  // namespace

template <class T>
size_t CpuBackend<T>::rnn_reserve_size(const RnnSpec& spec, int steps, int batch) {
    check_common(spec, steps, batch);
    return cell::dispatch(spec.cell,
                          [&](auto tag) { return reserve_elems(make_dims<decltype(tag)>(spec, steps, batch)); });
}

template <class T>
void CpuBackend<T>::rnn_forward(const RnnSpec& spec, const RnnForwardArgs<T>& a) {
    check_common(spec, a.T, a.N);
    FR_CHECK(a.x && a.weights && a.y, "rnn_forward: x, weights and y are required");
    cell::dispatch(spec.cell, [&](auto tag) {
        using Cell = decltype(tag);
        const Dims d = make_dims<Cell>(spec, a.T, a.N);
        const bool training = a.reserve != nullptr;
        const size_t state = size_t(a.N) * d.H;
        std::vector<T> scratch_out;  // a non-top layer's output when not training
        std::vector<T> scratch_prev;
        const T* in = a.x;
        int in_size = spec.input_size;
        for (int l = 0; l < d.L; ++l) {
            T* out;
            if (l == d.L - 1) out = a.y;
            else if (training) out = layer_output(d, a.reserve, l);
            else { scratch_out.assign(size_t(d.T) * d.N * d.D * d.H, T(0)); out = scratch_out.data(); }
            for (int dir = 0; dir < d.D; ++dir) {
                const size_t idx = size_t(l) * d.D + dir;
                DirReserve<T> res = training ? dir_reserve(d, a.reserve, l, dir) : DirReserve<T>{nullptr, nullptr, nullptr};
                forward_direction<Cell>(d, l, dir, in, in_size, a.weights, a.h0 ? a.h0 + idx * state : nullptr,
                                        a.c0 ? a.c0 + idx * state : nullptr, out, d.D * d.H,
                                        a.hn ? a.hn + idx * state : nullptr, a.cn ? a.cn + idx * state : nullptr,
                                        res, training, spec);
            }
            if (!training && l < d.L - 1) { scratch_prev.swap(scratch_out); in = scratch_prev.data(); }
            else in = out;
            in_size = d.D * d.H;
        }
        if (a.cn && !Cell::kCellState) std::fill(a.cn, a.cn + size_t(d.L) * d.D * state, T(0));
    });
}

template <class T>
void CpuBackend<T>::rnn_backward(const RnnSpec& spec, const RnnBackwardArgs<T>& a) {
    check_common(spec, a.T, a.N);
    FR_CHECK(a.x && a.weights && a.reserve && a.dweights,
             "rnn_backward: x, weights, reserve (from a training forward) and dweights are required");
    cell::dispatch(spec.cell, [&](auto tag) {
        using Cell = decltype(tag);
        const Dims d = make_dims<Cell>(spec, a.T, a.N);
        const size_t state = size_t(a.N) * d.H;
        T* reserve = const_cast<T*>(a.reserve);  // read-only use; the layout helpers are shared with forward
        std::vector<T> dy_cur, dy_below;
        const T* dy_layer = a.dy;
        for (int l = d.L - 1; l >= 0; --l) {
            const T* in = l == 0 ? a.x : layer_output(d, reserve, l - 1);
            const int in_size = spec.layer_input_size(l);
            T* din = nullptr;
            if (l > 0) { dy_below.assign(size_t(d.T) * d.N * in_size, T(0)); din = dy_below.data(); }
            else din = a.dx;
            for (int dir = 0; dir < d.D; ++dir) {
                const size_t idx = size_t(l) * d.D + dir;
                backward_direction<Cell>(d, l, dir, in, in_size, a.weights, a.h0 ? a.h0 + idx * state : nullptr,
                                         a.c0 ? a.c0 + idx * state : nullptr, dy_layer,
                                         a.dhn ? a.dhn + idx * state : nullptr, a.dcn ? a.dcn + idx * state : nullptr,
                                         dir_reserve(d, reserve, l, dir), din, dir > 0 || l > 0,
                                         a.dh0 ? a.dh0 + idx * state : nullptr, a.dc0 ? a.dc0 + idx * state : nullptr,
                                         a.dweights, spec);
            }
            dy_cur.swap(dy_below);
            dy_layer = dy_cur.data();
        }
        if (a.dc0 && !Cell::kCellState) std::fill(a.dc0, a.dc0 + size_t(d.L) * d.D * state, T(0));
    });
}

// The class itself is instantiated in cpu_dense.cpp; these are the members defined here.
#define FR_INSTANTIATE_RNN(T)                                                          \
    template size_t CpuBackend<T>::rnn_reserve_size(const RnnSpec&, int, int);         \
    template void CpuBackend<T>::rnn_forward(const RnnSpec&, const RnnForwardArgs<T>&); \
    template void CpuBackend<T>::rnn_backward(const RnnSpec&, const RnnBackwardArgs<T>&);
FR_INSTANTIATE_RNN(float)
FR_INSTANTIATE_RNN(double)
#undef FR_INSTANTIATE_RNN

}  // namespace fusedrnn::cpu
