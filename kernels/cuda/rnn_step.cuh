// fusedrnn — per-thread bodies of the fused step kernels (kernels/cuda/rnn_kernels.cu).
// One call handles one (sample n, unit j): it gathers the unit's G gate pre-activations (adding both
// biases, so the GEMMs need no bias pass), calls the cell's forward/backward from kernels/cell_math.h
// on register arrays (gate stride 1), and scatters the results; loads and stores are coalesced across j.
// They are __host__ __device__ (FR_HD) so the same bodies can be driven by a host loop when checking
// the orchestration without a GPU.
#pragma once

#include <cstddef>

#include "fusedrnn/kernels/cell_math.h"
#include "fusedrnn/kernels/cuda/rnn_kernels.h"

namespace fusedrnn::gpu::step {

// Register slots for a cell's saved activations (at least one, so the array is never empty).
template <class Cell>
constexpr int kSlots = Cell::kSaved > 0 ? Cell::kSaved : 1;

using RB = cell::GruResetBefore;

template <class Cell>
FR_HD void forward(const RnnStepForward& a, int n, int j) {
    constexpr int G = Cell::kGates;
    constexpr int S = Cell::kSaved;
    const int H = a.H;
    float gx[G], gh[G];
    const float* gx_row = a.gx + static_cast<size_t>(n) * a.ld_gx + j;
    const float* gh_row = a.gh ? a.gh + static_cast<size_t>(n) * a.ld_gh + j : nullptr;
    for (int k = 0; k < G; ++k) {
        gx[k] = gx_row[k * H] + a.b_ih[k * H + j];
        gh[k] = (gh_row ? gh_row[k * H] : 0.f) + a.b_hh[k * H + j];
    }
    const float h_prev = a.h_prev ? a.h_prev[static_cast<size_t>(n) * a.ld_h_prev + j] : 0.f;
    float c_prev = 0.f;
    if constexpr (Cell::kCellState) c_prev = a.c_prev ? a.c_prev[static_cast<size_t>(n) * H + j] : 0.f;

    float h = 0.f, c = 0.f;
    float save[kSlots<Cell>] = {};
    Cell::forward(1, gx, gh, h_prev, c_prev, h, c, save);

    const size_t u = static_cast<size_t>(n) * H + j;
    a.h[static_cast<size_t>(n) * a.ld_h + j] = h;
    if (a.hn) a.hn[u] = h;
    if constexpr (Cell::kCellState) {
        a.c[u] = c;
        if (a.cn) a.cn[u] = c;
    }
    if constexpr (S > 0) {
        if (a.save) {
            float* sv = a.save + static_cast<size_t>(n) * S * H + j;
            for (int k = 0; k < S; ++k) sv[k * H] = save[k];
        }
    }
}

FR_HD void rb_forward_gates(const RnnStepForward& a, int n, int j) {
    const int H = a.H;
    const float* gx_row = a.gx + static_cast<size_t>(n) * a.ld_gx + j;
    const float* gh_row = a.gh ? a.gh + static_cast<size_t>(n) * a.ld_gh + j : nullptr;
    float gx[3] = {gx_row[0] + a.b_ih[j], gx_row[H] + a.b_ih[H + j], 0.f};
    float gh[2] = {(gh_row ? gh_row[0] : 0.f) + a.b_hh[j], (gh_row ? gh_row[H] : 0.f) + a.b_hh[H + j]};
    const float h_prev = a.h_prev ? a.h_prev[static_cast<size_t>(n) * a.ld_h_prev + j] : 0.f;
    float save[RB::kSaved] = {};
    RB::forward_gates(1, gx, gh, h_prev, save);
    float* sv = a.save + static_cast<size_t>(n) * RB::kSaved * H + j;
    sv[0] = save[0];
    sv[H] = save[1];
    sv[3 * H] = save[3];
}

FR_HD void rb_forward_output(const RnnStepForward& a, int n, int j) {
    const int H = a.H;
    float gx[3] = {0.f, 0.f, a.gx[static_cast<size_t>(n) * a.ld_gx + 2 * H + j] + a.b_ih[2 * H + j]};
    const float gh_n = (a.gh ? a.gh[static_cast<size_t>(n) * a.ld_gh + j] : 0.f) + a.b_hh[2 * H + j];
    float* sv = a.save + static_cast<size_t>(n) * RB::kSaved * H + j;
    const float z = sv[H];
    const float h_prev = a.h_prev ? a.h_prev[static_cast<size_t>(n) * a.ld_h_prev + j] : 0.f;
    float save[RB::kSaved] = {};
    float h = 0.f;
    RB::forward_output(1, gx, gh_n, z, h_prev, h, save);
    sv[2 * H] = save[2];
    a.h[static_cast<size_t>(n) * a.ld_h + j] = h;
    if (a.hn) a.hn[static_cast<size_t>(n) * H + j] = h;
}

template <class Cell>
FR_HD void backward(const RnnStepBackward& a, int n, int j) {
    constexpr int G = Cell::kGates;
    constexpr int S = Cell::kSaved;
    const int H = a.H;
    const size_t u = static_cast<size_t>(n) * H + j;

    const float dh = a.dh[u] + (a.dy ? a.dy[static_cast<size_t>(n) * a.ld_dy + j] : 0.f);
    const float h_prev = a.h_prev ? a.h_prev[static_cast<size_t>(n) * a.ld_h_prev + j] : 0.f;
    float dc_in = 0.f, c_prev = 0.f, state = 0.f;  // state: c_t for LSTM, h_t for the Elman cells
    if constexpr (Cell::kCellState) {
        dc_in = a.dc[u];
        c_prev = a.c_prev ? a.c_prev[u] : 0.f;
        state = a.c[u];
    } else {
        state = a.h ? a.h[static_cast<size_t>(n) * a.ld_h + j] : 0.f;
    }
    float save[kSlots<Cell>] = {};
    if constexpr (S > 0) {
        const float* sv = a.save + static_cast<size_t>(n) * S * H + j;
        for (int k = 0; k < S; ++k) save[k] = sv[k * H];
    }
    float dgx[G], dgh[G];
    float direct = 0.f, dc_prev = 0.f;
    Cell::backward(1, dh, dc_in, h_prev, c_prev, state, save, dgx, dgh, direct, dc_prev);

    float* gx_row = a.dgx + static_cast<size_t>(n) * a.ld_dg + j;
    for (int k = 0; k < G; ++k) gx_row[k * H] = dgx[k];
    if (a.dgh) {
        float* gh_row = a.dgh + static_cast<size_t>(n) * a.ld_dg + j;
        for (int k = 0; k < G; ++k) gh_row[k * H] = dgh[k];
    }
    a.dh[u] = direct;
    if constexpr (Cell::kCellState) a.dc[u] = dc_prev;
}

FR_HD void load_rb_save(const RnnStepBackward& a, int n, int j, float* save) {
    const float* sv = a.save + static_cast<size_t>(n) * RB::kSaved * a.H + j;
    for (int k = 0; k < RB::kSaved; ++k) save[k] = sv[k * a.H];
}

FR_HD void rb_backward_output(const RnnStepBackward& a, int n, int j) {
    const int H = a.H;
    const size_t u = static_cast<size_t>(n) * H + j;
    const float dh = a.dh[u] + (a.dy ? a.dy[static_cast<size_t>(n) * a.ld_dy + j] : 0.f);
    const float h_prev = a.h_prev ? a.h_prev[static_cast<size_t>(n) * a.ld_h_prev + j] : 0.f;
    float save[RB::kSaved];
    load_rb_save(a, n, j, save);
    float dgx[3] = {}, dgh[3] = {};
    float direct = 0.f;
    RB::backward_output(1, dh, h_prev, save, dgx, dgh, direct);
    float* row = a.dgx + static_cast<size_t>(n) * a.ld_dg + j;
    row[H] = dgx[1];
    row[2 * H] = dgx[2];
    a.dh[u] = direct;
}

FR_HD void rb_backward_gates(const RnnStepBackward& a, int n, int j) {
    const int H = a.H;
    const size_t u = static_cast<size_t>(n) * H + j;
    const float h_prev = a.h_prev ? a.h_prev[static_cast<size_t>(n) * a.ld_h_prev + j] : 0.f;
    float save[RB::kSaved];
    load_rb_save(a, n, j, save);
    float dgx[3] = {}, dgh[3] = {};
    float direct = a.dh[u];
    RB::backward_gates(1, a.d_rh[u], h_prev, save, dgx, dgh, direct);
    a.dgx[static_cast<size_t>(n) * a.ld_dg + j] = dgx[0];
    a.dh[u] = direct;
}

}  // namespace fusedrnn::gpu::step
