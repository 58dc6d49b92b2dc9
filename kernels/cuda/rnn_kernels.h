// fusedrnn — fused pointwise kernels of the recurrent step (the `cuda` backend, v1 "alternating"
// strategy: cuBLAS GEMMs for the matrix products, ONE fused kernel per step for everything else).
// Every kernel calls the cell equations in kernels/cell_math.h through cell::dispatch; nothing here
// re-derives the math.
//
// Shape legend: N batch, H hidden, G gates, S saved slots per unit (Cell::kSaved).
// One thread per (sample n, unit j). All matrices are row-major with the given leading dimension
// (row stride, in elements); "[N, G·H]" rows hold the G gate blocks of H units each, gate order as
// PyTorch (LSTM i,f,g,o; GRU r,z,n). Pointers documented "or nullptr" read as zeros when null.
#pragma once

#include <cuda_runtime_api.h>

#include "fusedrnn/core/rnn_spec.h"

namespace fusedrnn::gpu {

// One forward step: h_t (and c_t) from the step's pre-activations.
struct RnnStepForward {
    int N = 0, H = 0;
    const float* gx = nullptr;    // in  [N, G·H] (ld_gx): X_t·W_ihᵀ, bias NOT included
    int ld_gx = 0;
    const float* b_ih = nullptr;  // in  [G·H]
    const float* gh = nullptr;    // in  [N, ·] (ld_gh): h_prev·W_hhᵀ rows, bias NOT included, or nullptr (h_prev = 0)
    int ld_gh = 0;                //     reset-before GRU: phase "gates" gets the r,z rows [N, 2H];
                                  //     phase "output" gets the n rows (W_hn·rh) [N, H]
    const float* b_hh = nullptr;  // in  [G·H]
    const float* h_prev = nullptr;  // in [N, H] (ld_h_prev) or nullptr
    int ld_h_prev = 0;
    const float* c_prev = nullptr;  // in [N, H] LSTM, or nullptr
    float* h = nullptr;           // out [N, H] (ld_h), e.g. this direction's half of the layer output
    int ld_h = 0;
    float* c = nullptr;           // out [N, H] LSTM
    float* save = nullptr;        // out [N, S·H] saved activations (row stride S·H), or nullptr (inference)
                                  //     reset-before GRU: required (rh and z pass between the phases through it)
    float* hn = nullptr;          // out [N, H] or nullptr: a contiguous copy of h (last step → h_n)
    float* cn = nullptr;          // out [N, H] or nullptr: a copy of c (last step → c_n)
};

// RNN tanh/relu, LSTM, GRU reset-after: the whole step in one kernel.
void rnn_step_forward(CellType cell, const RnnStepForward& a, cudaStream_t stream);
// GRU reset-before, phase 1: r, z, rh = r·h_prev into save slots 0, 1, 3 (rh feeds the W_hn GEMM).
void gru_rb_forward_gates(const RnnStepForward& a, cudaStream_t stream);
// GRU reset-before, phase 2: n and h' (gh = W_hn·rh rows, ld_gh; z read from save slot 1).
void gru_rb_forward_output(const RnnStepForward& a, cudaStream_t stream);

// One backward step (time runs in reverse).
struct RnnStepBackward {
    int N = 0, H = 0;
    float* dh = nullptr;           // in/out [N, H]: in = gradient reaching h_t from later steps (and dh_n);
                                   //         out = the direct (non-GEMM) part of the gradient to h_prev
    float* dc = nullptr;           // in/out [N, H] LSTM: in = gradient reaching c_t; out = gradient to c_prev
    const float* dy = nullptr;     // in  [N, ·] (ld_dy) gradient of this step's output, or nullptr
    int ld_dy = 0;
    const float* h_prev = nullptr; // in  [N, H] (ld_h_prev) or nullptr
    int ld_h_prev = 0;
    const float* c_prev = nullptr; // in  [N, H] LSTM, or nullptr
    const float* h = nullptr;      // in  [N, H] (ld_h) forward's h_t (Elman cells)
    int ld_h = 0;
    const float* c = nullptr;      // in  [N, H] forward's c_t (LSTM)
    const float* save = nullptr;   // in  [N, S·H] forward's saved activations
    const float* d_rh = nullptr;   // in  [N, H] reset-before GRU phase 2 only: dG_n·W_hn
    float* dgx = nullptr;          // out [N, G·H] (ld_dg) gradient of the input-side pre-activations
    float* dgh = nullptr;          // out [N, G·H] (ld_dg) recurrent-side ones, or nullptr when identical to dgx
    int ld_dg = 0;                 //     (only the reset-after GRU's n gate differs)
};

// RNN tanh/relu, LSTM, GRU reset-after.
void rnn_step_backward(CellType cell, const RnnStepBackward& a, cudaStream_t stream);
// GRU reset-before, phase 1: z and n gradients (dgx slots 1, 2), dh := dh·z.
void gru_rb_backward_output(const RnnStepBackward& a, cudaStream_t stream);
// GRU reset-before, phase 2: r gradient (dgx slot 0), dh += r·d_rh.
void gru_rb_backward_gates(const RnnStepBackward& a, cudaStream_t stream);

}  // namespace fusedrnn::gpu
