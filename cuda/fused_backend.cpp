// The `cuda` backend: the recurrent stack on fused kernels. Two strategies for the recurrence (chosen per backend:
// RecurrenceStrategy, core/gpu_settings.h): v1 "alternating", described here, and "persistent", where the per-step
// loops below are replaced by one kernel per layer-direction and pass (kernels/cuda/rnn_recurrence.h); everything
// else — the input projection, the weight gradients, the reserve layout — is shared.
//
// Per layer l and direction d (directions run one after the other on the backend's stream):
//   forward   Gx = X_l·W_ihᵀ for all T·N rows (one SGEMM; biases are added inside the fused kernel)
//             per step: Gh = h_prev·W_hhᵀ (SGEMM) + ONE fused pointwise kernel (cell_math.h forward)
//             that writes h_t straight into this direction's half of the layer output [T, N, D·H].
//             Reset-before GRU: SGEMM on the r,z rows → gates kernel (r, z, rh) → SGEMM of W_hn on rh →
//             output kernel (n, h').
//   backward  per step, in reverse: ONE fused pointwise kernel (cell_math.h backward) producing the
//             gate gradients dGx_t (and dGh_t for the reset-after GRU, whose n gate differs) and the
//             direct part of dh_prev, then dh_prev += dGh_t·W_hh (SGEMM, beta = 1).
//             After the loop, over all T at once: dW_ih += dGxᵀ·X, dW_hh += dGhᵀ·H_prev (two SGEMMs: the
//             shifted h sequence read in place, plus the h0 term), bias gradients as column sums
//             (gemv), dX (+)= dGx·W_ih.
//
// Reserve (floats; each block starts on a 64-float boundary), for each layer l, direction d in the
// order l·D + d:
//   save [T, N, S·H]  the cell's saved activations (S = Cell::kSaved: LSTM i,f,g,o; GRU r,z,n,gh_n;
//                     reset-before GRU r,z,n,rh; none for the Elman cells)
//   cseq [T, N, H]    LSTM only: c_t
// then the outputs of layers 0..L-2, [T, N, D·H] each (the next layer's input and these layers' h
// sequences). The top layer's h sequence is y itself, which backward receives as an argument.
#include <algorithm>
#include <memory>
#include <string>

#include "fusedrnn/core/error.h"
#include "fusedrnn/core/gpu_settings.h"
#include "fusedrnn/core/param_layout.h"
#include "fusedrnn/cuda/backends.h"
#include "fusedrnn/cuda/check.h"
#include "fusedrnn/cuda/gpu_backend.h"
#include "fusedrnn/kernels/cell_math.h"
#include "fusedrnn/kernels/cuda/rnn_kernels.h"
#include "fusedrnn/kernels/cuda/rnn_recurrence.h"

namespace fusedrnn::gpu {
namespace {

constexpr size_t kAlignElems = 64;  // 256 bytes
size_t round_up(size_t n) { return (n + kAlignElems - 1) / kAlignElems * kAlignElems; }

struct Layout {
    int T, N, C, H, G, S, D, L;
    bool lstm;

    size_t step() const { return size_t(N) * H; }
    size_t save_elems() const { return size_t(T) * N * S * H; }
    size_t cseq_elems() const { return lstm ? size_t(T) * N * H : 0; }
    size_t per_dir() const { return round_up(save_elems()) + round_up(cseq_elems()); }
    size_t out_elems() const { return size_t(T) * N * D * H; }
    size_t total() const { return size_t(L) * D * per_dir() + size_t(L - 1) * round_up(out_elems()); }

    float* save(float* r, int l, int d) const { return r + (size_t(l) * D + d) * per_dir(); }
    float* cseq(float* r, int l, int d) const { return save(r, l, d) + round_up(save_elems()); }
    float* layer_out(float* r, int l) const {
        return r + size_t(L) * D * per_dir() + size_t(l) * round_up(out_elems());
    }
};

template <class Cell>
Layout make_layout(const RnnSpec& spec, int T, int N) {
    return Layout{T, N, spec.input_size, spec.hidden_size, Cell::kGates, Cell::kSaved, spec.directions(),
                  spec.num_layers, Cell::kCellState};
}

void check_common(const RnnSpec& spec, int T, int N) {
    spec.validate();
    FR_CHECK(T > 0, "rnn: sequence length T must be positive, got {}", T);
    FR_CHECK(N > 0, "rnn: batch size N must be positive, got {}", N);
    // A step's gate matrix [N, 4·H] at most (LSTM) is indexed with 32-bit ints by cuBLAS and the step kernels.
    FR_CHECK(size_t(N) * spec.hidden_size * 4 < size_t(1) << 31,
             "rnn: batch {} x hidden {} is too large for the cuda backend's 32-bit indexing (batch x hidden x 4 "
             "must stay below 2^31): use a smaller batch or the cudnn backend",
             N, spec.hidden_size);
}

class FusedBackend final : public GpuBackend {
public:
    FusedBackend(int device, const std::string& recurrence)
        : GpuBackend(device), strategy_(parse_recurrence_strategy(recurrence)) {}
    std::string name() const override { return "cuda"; }
    std::string details() const override {
        const std::string d = "recurrence " + strategy_.str();
        return ctx_.allow_tf32() ? d + ", tf32" : d;
    }

    size_t rnn_reserve_size(const RnnSpec& spec, int T, int N) override {
        check_common(spec, T, N);
        const size_t n = cell::dispatch(spec.cell, [&](auto tag) { return make_layout<decltype(tag)>(spec, T, N).total(); });
        return std::max<size_t>(n, 1);  // never 0, so a training forward always has a non-null reserve
    }

    void rnn_forward(const RnnSpec& spec, const RnnForwardArgs<float>& a) override {
        check_common(spec, a.T, a.N);
        FR_CHECK(a.x && a.weights && a.y, "rnn_forward: x, weights and y are required");
        auto g = ctx_.guard();
        cell::dispatch(spec.cell, [&](auto tag) { forward<decltype(tag)>(spec, a); });
    }

    void rnn_backward(const RnnSpec& spec, const RnnBackwardArgs<float>& a) override {
        check_common(spec, a.T, a.N);
        FR_CHECK(a.x && a.weights && a.y && a.reserve && a.dweights,
                 "rnn_backward: x, weights, y (forward's output), reserve (from a training forward) and dweights "
                 "are required");
        auto g = ctx_.guard();
        cell::dispatch(spec.cell, [&](auto tag) { backward<decltype(tag)>(spec, a); });
    }

private:
    // Rows per block of the persistent kernels for this shape, or 0 for the alternating strategy.
    int persistent_rows(CellType cell, int N, int H) const {
        return strategy_.persistent ? recurrence::rows_per_block(cell, N, H, ctx_.sm_count(), strategy_.rows) : 0;
    }

    RecurrenceStrategy strategy_;

    template <class Cell>
    void forward(const RnnSpec& spec, const RnnForwardArgs<float>& a);
    template <class Cell>
    void backward(const RnnSpec& spec, const RnnBackwardArgs<float>& a);
};

// ---- forward ------------------------------------------------------------------------------------

template <class Cell>
void FusedBackend::forward(const RnnSpec& spec, const RnnForwardArgs<float>& a) {
    const Layout lay = make_layout<Cell>(spec, a.T, a.N);
    const int T = lay.T, N = lay.N, H = lay.H, D = lay.D, L = lay.L, S = lay.S;
    const int GH = lay.G * H, DH = D * H;
    const size_t TN = size_t(T) * N, state = lay.step();
    const bool training = a.reserve != nullptr;
    const int rows_per_block = persistent_rows(spec.cell, N, H);
    cudaStream_t st = ctx_.stream();

    ScratchPlan plan;
    const int id_gx = plan.add<float>(TN * GH);
    const int id_gh = plan.add<float>(size_t(N) * GH);
    const int id_wt = rows_per_block > 0 ? plan.add<float>(size_t(GH) * H) : -1;
    const int id_out0 = !training && L > 1 ? plan.add<float>(lay.out_elems()) : -1;
    const int id_out1 = !training && L > 2 ? plan.add<float>(lay.out_elems()) : -1;
    const int id_c = !training && lay.lstm ? plan.add<float>(2 * state) : -1;
    const int id_save = !training && S > 0 ? plan.add<float>(state * S) : -1;
    void* base = ctx_.scratch(plan.bytes());
    float* Gx = plan.ptr<float>(id_gx, base);
    float* Gh = plan.ptr<float>(id_gh, base);
    float* WT = rows_per_block > 0 ? plan.ptr<float>(id_wt, base) : nullptr;  // W_hhᵀ for the persistent kernel

    const float* in = a.x;
    int in_size = spec.input_size;
    for (int l = 0; l < L; ++l) {
        float* out;
        if (l == L - 1) out = a.y;
        else if (training) out = lay.layer_out(a.reserve, l);
        else out = plan.ptr<float>(l % 2 == 0 ? id_out0 : id_out1, base);

        for (int d = 0; d < D; ++d) {
            const size_t idx = size_t(l) * D + d;
            const RnnWeightOffsets o = rnn_weight_offsets(spec, l, d);
            const float* W_ih = a.weights + o.w_ih;
            const float* W_hh = a.weights + o.w_hh;

            // Input projection for every step at once.
            ctx_.gemm(false, true, TN, GH, in_size, 1.f, in, in_size, W_ih, in_size, 0.f, Gx, GH);

            RnnRecurrenceForward p;
            p.T = T;
            p.reverse = d == 1;
            RnnStepForward& f0 = p.first;
            f0.N = N;
            f0.H = H;
            f0.gx = Gx;
            f0.ld_gx = GH;
            f0.b_ih = a.weights + o.b_ih;
            f0.b_hh = a.weights + o.b_hh;
            f0.ld_gh = GH;
            f0.h = out + size_t(d) * H;
            f0.ld_h = DH;
            p.gx_t = size_t(N) * GH;
            p.h_t = size_t(N) * DH;
            if constexpr (Cell::kCellState) {
                // training: c_t for every t, kept for backward; inference: two slots, by step parity
                f0.c = training ? lay.cseq(a.reserve, l, d) : plan.ptr<float>(id_c, base);
                p.c_t = state;
                p.c_ping_pong = !training;
                p.c0 = a.c0 ? a.c0 + idx * state : nullptr;
                p.cn = a.cn ? a.cn + idx * state : nullptr;
            }
            if constexpr (Cell::kSaved > 0) {
                f0.save = training ? lay.save(a.reserve, l, d) : plan.ptr<float>(id_save, base);
                p.save_t = training ? state * S : 0;  // inference: one buffer, overwritten every step
            }
            p.h0 = a.h0 ? a.h0 + idx * state : nullptr;
            p.hn = a.hn ? a.hn + idx * state : nullptr;

            if (rows_per_block > 0) {
                ctx_.transpose(GH, H, W_hh, H, WT, GH);
                p.w_hh_t = WT;
                rnn_recurrence_forward(spec.cell, p, rows_per_block, st);
                continue;
            }
            for (int s = 0; s < T; ++s) {
                RnnStepForward f = step_forward_at(p, s);
                if constexpr (Cell::kResetBefore) {
                    // Phase 1: r, z from the r,z rows of W_hh. Phase 2: n from W_hn applied to rh = r·h_prev.
                    if (f.h_prev) ctx_.gemm(false, true, N, 2 * H, H, 1.f, f.h_prev, f.ld_h_prev, W_hh, H, 0.f, Gh, GH);
                    f.gh = f.h_prev ? Gh : nullptr;
                    gru_rb_forward_gates(f, st);
                    if (f.h_prev)
                        ctx_.gemm(false, true, N, H, H, 1.f, f.save + 3 * H, S * H, W_hh + size_t(2) * H * H, H, 0.f,
                                  Gh, GH);
                    gru_rb_forward_output(f, st);
                } else {
                    if (f.h_prev)
                        ctx_.gemm(false, true, N, GH, H, 1.f, f.h_prev, f.ld_h_prev, W_hh, H, 0.f, Gh, GH);
                    f.gh = f.h_prev ? Gh : nullptr;  // h_prev = 0: the recurrent product is 0, skip the GEMM
                    rnn_step_forward(spec.cell, f, st);
                }
            }
        }
        in = out;
        in_size = DH;
    }
    if (a.cn && !Cell::kCellState)
        FR_CUDA_CHECK(cudaMemsetAsync(a.cn, 0, sizeof(float) * size_t(L) * D * state, st));
}

// ---- backward -----------------------------------------------------------------------------------

template <class Cell>
void FusedBackend::backward(const RnnSpec& spec, const RnnBackwardArgs<float>& a) {
    constexpr bool kSeparateDgh = !Cell::kResetBefore && Cell::kGates == 3;  // reset-after GRU: dgh_n ≠ dgx_n
    const Layout lay = make_layout<Cell>(spec, a.T, a.N);
    const int T = lay.T, N = lay.N, H = lay.H, D = lay.D, L = lay.L, S = lay.S;
    const int GH = lay.G * H, DH = D * H;
    const size_t TN = size_t(T) * N, state = lay.step();
    float* reserve = const_cast<float*>(a.reserve);  // read only; the layout helpers are shared with forward
    const int rows_per_block = persistent_rows(spec.cell, N, H);
    cudaStream_t st = ctx_.stream();

    ScratchPlan plan;
    const int id_dgx = plan.add<float>(TN * GH);
    const int id_dgh = kSeparateDgh ? plan.add<float>(TN * GH) : -1;
    const int id_dh = plan.add<float>(state);
    const int id_dc = Cell::kCellState ? plan.add<float>(state) : -1;
    const int id_drh = Cell::kResetBefore ? plan.add<float>(state) : -1;
    const int id_dy0 = L > 1 ? plan.add<float>(lay.out_elems()) : -1;
    const int id_dy1 = L > 2 ? plan.add<float>(lay.out_elems()) : -1;
    void* base = ctx_.scratch(plan.bytes());
    float* dGx = plan.ptr<float>(id_dgx, base);
    float* dGh = kSeparateDgh ? plan.ptr<float>(id_dgh, base) : dGx;
    float* DHc = plan.ptr<float>(id_dh, base);
    float* DCc = Cell::kCellState ? plan.ptr<float>(id_dc, base) : nullptr;
    float* DRH = Cell::kResetBefore ? plan.ptr<float>(id_drh, base) : nullptr;

    const float* dy_layer = a.dy;  // gradient reaching this layer's output [T, N, D·H], or nullptr
    for (int l = L - 1; l >= 0; --l) {
        const float* in = l == 0 ? a.x : lay.layer_out(reserve, l - 1);
        const int in_size = spec.layer_input_size(l);
        const float* hseq = l == L - 1 ? a.y : lay.layer_out(reserve, l);  // this layer's output = its h_t
        float* din = l > 0 ? plan.ptr<float>(l % 2 == 1 ? id_dy0 : id_dy1, base) : a.dx;

        for (int d = 0; d < D; ++d) {
            const size_t idx = size_t(l) * D + d;
            const RnnWeightOffsets o = rnn_weight_offsets(spec, l, d);
            const float* W_ih = a.weights + o.w_ih;
            const float* W_hh = a.weights + o.w_hh;
            const float* h0 = a.h0 ? a.h0 + idx * state : nullptr;
            const float* c0 = Cell::kCellState && a.c0 ? a.c0 + idx * state : nullptr;
            const float* save = S > 0 ? lay.save(reserve, l, d) : nullptr;
            const float* cseq = Cell::kCellState ? lay.cseq(reserve, l, d) : nullptr;

            if (a.dhn) FR_CUDA_CHECK(cudaMemcpyAsync(DHc, a.dhn + idx * state, sizeof(float) * state,
                                                     cudaMemcpyDeviceToDevice, st));
            else FR_CUDA_CHECK(cudaMemsetAsync(DHc, 0, sizeof(float) * state, st));
            if constexpr (Cell::kCellState) {
                if (a.dcn) FR_CUDA_CHECK(cudaMemcpyAsync(DCc, a.dcn + idx * state, sizeof(float) * state,
                                                         cudaMemcpyDeviceToDevice, st));
                else FR_CUDA_CHECK(cudaMemsetAsync(DCc, 0, sizeof(float) * state, st));
            }

            RnnRecurrenceBackward p;
            p.T = T;
            p.reverse = d == 1;
            RnnStepBackward& b0 = p.first;
            b0.N = N;
            b0.H = H;
            b0.dh = DHc;
            b0.dc = DCc;
            b0.dy = dy_layer ? dy_layer + size_t(d) * H : nullptr;
            b0.ld_dy = DH;
            b0.h = hseq + size_t(d) * H;
            b0.ld_h = DH;
            b0.c = cseq;
            b0.save = save;
            b0.dgx = dGx;
            b0.dgh = kSeparateDgh ? dGh : nullptr;
            b0.ld_dg = GH;
            p.dy_t = p.h_t = size_t(N) * DH;
            p.c_t = state;
            p.save_t = state * S;
            p.dg_t = size_t(N) * GH;
            p.h0 = h0;
            p.c0 = c0;

            if (rows_per_block > 0) {
                p.w_hh = W_hh;
                rnn_recurrence_backward(spec.cell, p, rows_per_block, st);
            } else {
                for (int s = T - 1; s >= 0; --s) {
                    RnnStepBackward b = step_backward_at(p, s);
                    const float* dgh_t = dGh + size_t(time_at(s, T, p.reverse)) * N * GH;
                    if constexpr (Cell::kResetBefore) {
                        gru_rb_backward_output(b, st);
                        // d_rh = dG_n·W_hn
                        ctx_.gemm(false, false, N, H, H, 1.f, b.dgx + 2 * H, GH, W_hh + size_t(2) * H * H, H, 0.f,
                                  DRH, H);
                        b.d_rh = DRH;
                        gru_rb_backward_gates(b, st);
                        // dh_prev = direct + dG_{r,z}·W_hh[r,z]
                        ctx_.gemm(false, false, N, H, 2 * H, 1.f, b.dgx, GH, W_hh, H, 1.f, DHc, H);
                    } else {
                        rnn_step_backward(spec.cell, b, st);
                        ctx_.gemm(false, false, N, H, GH, 1.f, dgh_t, GH, W_hh, H, 1.f, DHc, H);
                    }
                }
            }
            if (a.dh0) FR_CUDA_CHECK(cudaMemcpyAsync(a.dh0 + idx * state, DHc, sizeof(float) * state,
                                                     cudaMemcpyDeviceToDevice, st));
            if constexpr (Cell::kCellState) {
                if (a.dc0) FR_CUDA_CHECK(cudaMemcpyAsync(a.dc0 + idx * state, DCc, sizeof(float) * state,
                                                         cudaMemcpyDeviceToDevice, st));
            }

            // Weight gradients over all T·N rows at once (accumulated: beta = 1).
            float* dw = a.dweights;
            ctx_.gemm(true, false, GH, in_size, TN, 1.f, dGx, GH, in, in_size, 1.f, dw + o.w_ih, in_size);
            ctx_.add_column_sums(TN, GH, dGx, GH, dw + o.b_ih);
            ctx_.add_column_sums(TN, GH, dGh, GH, dw + o.b_hh);
            // dW_hh += Σ_t dGh_tᵀ·h_prev(t). h_prev(t) is the h sequence shifted by one step in this
            // direction's order, read in place; the first step's h_prev is h0 (a separate small GEMM).
            const int hh_rows = Cell::kResetBefore ? 2 * H : GH;  // reset-before: W_hn acts on rh, below
            if (T > 1) {
                const float* dg_part = d == 0 ? dGh + size_t(N) * GH : dGh;
                const float* h_part = (d == 0 ? hseq : hseq + size_t(N) * DH) + size_t(d) * H;
                ctx_.gemm(true, false, hh_rows, H, size_t(T - 1) * N, 1.f, dg_part, GH, h_part, DH, 1.f,
                          dw + o.w_hh, H);
            }
            if (h0) {
                const int t0 = d == 0 ? 0 : T - 1;
                ctx_.gemm(true, false, hh_rows, H, N, 1.f, dGh + size_t(t0) * N * GH, GH, h0, H, 1.f, dw + o.w_hh, H);
            }
            if constexpr (Cell::kResetBefore) {
                ctx_.gemm(true, false, H, H, TN, 1.f, dGh + 2 * H, GH, save + 3 * H, size_t(S) * H, 1.f,
                          dw + o.w_hh + size_t(2) * H * H, H);
            }
            // Gradient to this layer's input, summed over directions.
            if (din)
                ctx_.gemm(false, false, TN, in_size, GH, 1.f, dGx, GH, W_ih, in_size, d > 0 ? 1.f : 0.f, din,
                          in_size);
        }
        dy_layer = din;
    }
    if (a.dc0 && !Cell::kCellState)
        FR_CUDA_CHECK(cudaMemsetAsync(a.dc0, 0, sizeof(float) * size_t(L) * D * state, st));
}

}  // namespace

std::shared_ptr<Backend<float>> make_fused_backend(int device, const std::string& recurrence) {
    return std::make_shared<FusedBackend>(device, recurrence);
}

}  // namespace fusedrnn::gpu
