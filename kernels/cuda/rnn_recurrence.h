// fusedrnn — one layer-direction's whole recurrence, T steps: what step s of it reads and writes, and the
// "persistent" kernels that run all T steps in ONE launch.
//
// The `cuda` backend has two strategies for the recurrence (cuda/fused_backend.cpp; chosen by
// FUSEDRNN_CUDA_RECURRENCE, docs/gpu.md):
//   alternating  per step, a cuBLAS SGEMM for the recurrent product and one fused pointwise kernel
//                (rnn_kernels.h): 2·T launches per layer-direction and pass, each a small GEMM.
//   persistent   one kernel for all T steps. Batch rows are independent in the recurrence, so each block
//                owns R rows (rows_per_block) and runs every step for them on its own, with no grid-wide
//                synchronisation: h_prev rows in shared memory times W_hhᵀ (read from L2, shared by all
//                blocks) gives the step's recurrent pre-activations in shared memory, then the same per-thread
//                cell body as the alternating kernels (rnn_step.cuh) finishes the step. Backward mirrors it:
//                the cell's backward body, then dh_prev += dG·W_hh from shared memory. The weight gradients
//                stay large GEMMs over all T·N rows after the loop, as in the alternating strategy.
// Both take a step's arguments from step_forward_at / step_backward_at below, so they index time, directions
// and buffers identically.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>

#include "fusedrnn/core/rnn_spec.h"
#include "fusedrnn/kernels/cell_math.h"
#include "fusedrnn/kernels/cuda/rnn_kernels.h"

namespace fusedrnn::gpu {

// Time index processed at step s of a direction (the reverse direction runs t = T−1 … 0).
FR_HD int time_at(int s, int T, bool reverse) { return reverse ? T - 1 - s : s; }

// A forward recurrence. `first` holds every field of RnnStepForward that does not change with the step (N, H,
// b_ih, b_hh, the leading dimensions), and gx, h, c, save for time index 0; the *_t strides (elements) step
// them through time. h_prev/c_prev/hn/cn in `first` are ignored: step_forward_at sets them.
struct RnnRecurrenceForward {
    int T = 0;
    bool reverse = false;
    RnnStepForward first;
    size_t gx_t = 0, h_t = 0;
    size_t c_t = 0;             // LSTM: between c slots
    bool c_ping_pong = false;   //   inference: c alternates between two slots by step parity, not by time
    size_t save_t = 0;          // 0: one save buffer for every step (inference)
    const float* h0 = nullptr;  // [N, H] or nullptr (zeros)
    const float* c0 = nullptr;  // [N, H] LSTM, or nullptr
    float* hn = nullptr;        // [N, H] or nullptr: the last step's h
    float* cn = nullptr;        // [N, H] LSTM, or nullptr
    const float* w_hh_t = nullptr;  // persistent: W_hhᵀ [H, G·H] row-major
};

FR_HD RnnStepForward step_forward_at(const RnnRecurrenceForward& p, int s) {
    const RnnStepForward& f0 = p.first;
    const size_t t = static_cast<size_t>(time_at(s, p.T, p.reverse));
    const auto c_slot = [&](int step) {
        return p.c_ping_pong ? static_cast<size_t>(step % 2) : static_cast<size_t>(time_at(step, p.T, p.reverse));
    };
    RnnStepForward f = f0;
    f.gx = f0.gx + t * p.gx_t;
    f.h = f0.h + t * p.h_t;
    f.c = f0.c ? f0.c + c_slot(s) * p.c_t : nullptr;
    f.save = f0.save ? f0.save + t * p.save_t : nullptr;
    if (s == 0) {
        f.h_prev = p.h0;
        f.ld_h_prev = f0.H;
        f.c_prev = p.c0;
    } else {
        f.h_prev = f0.h + static_cast<size_t>(time_at(s - 1, p.T, p.reverse)) * p.h_t;
        f.ld_h_prev = f0.ld_h;
        f.c_prev = f0.c ? f0.c + c_slot(s - 1) * p.c_t : nullptr;
    }
    const bool last = s == p.T - 1;
    f.hn = last ? p.hn : nullptr;
    f.cn = last ? p.cn : nullptr;
    return f;
}

// A backward recurrence. `first` holds the running gradients dh, dc ([N, H], carried from step to step), the
// fixed fields, and dy, h, c, save, dgx, dgh for time index 0; h_prev/c_prev in it are ignored.
struct RnnRecurrenceBackward {
    int T = 0;
    bool reverse = false;
    RnnStepBackward first;
    size_t dy_t = 0, h_t = 0, c_t = 0, save_t = 0, dg_t = 0;
    const float* h0 = nullptr;   // [N, H] or nullptr
    const float* c0 = nullptr;   // [N, H] LSTM, or nullptr
    const float* w_hh = nullptr; // persistent: W_hh [G·H, H] row-major
};

FR_HD RnnStepBackward step_backward_at(const RnnRecurrenceBackward& p, int s) {
    const RnnStepBackward& b0 = p.first;
    const size_t t = static_cast<size_t>(time_at(s, p.T, p.reverse));
    RnnStepBackward b = b0;
    b.dy = b0.dy ? b0.dy + t * p.dy_t : nullptr;
    b.h = b0.h + t * p.h_t;
    b.c = b0.c ? b0.c + t * p.c_t : nullptr;
    b.save = b0.save ? b0.save + t * p.save_t : nullptr;
    b.dgx = b0.dgx + t * p.dg_t;
    b.dgh = b0.dgh ? b0.dgh + t * p.dg_t : nullptr;
    if (s == 0) {
        b.h_prev = p.h0;
        b.ld_h_prev = b0.H;
        b.c_prev = p.c0;
    } else {
        const size_t tp = static_cast<size_t>(time_at(s - 1, p.T, p.reverse));
        b.h_prev = b0.h + tp * p.h_t;
        b.ld_h_prev = b0.ld_h;
        b.c_prev = b0.c ? b0.c + tp * p.c_t : nullptr;
    }
    return b;
}

// ---- the persistent kernels ---------------------------------------------------------------------

namespace recurrence {

constexpr int kThreads = 256;                      // threads per block
constexpr int kMaxRowsPerBlock = 16;
constexpr size_t kSharedLimit = size_t(48) << 10;  // bytes of shared memory a block may use without opting in

constexpr int kMaxParts = 8;                      // k slices of a product with few columns (rows_times_matrix)

// Rows staged in shared memory are padded to a multiple of 4 floats, so they can be read 16 bytes at a time.
FR_HD int padded_row(int n) { return (n + 3) / 4 * 4; }

// Slices the k range of a product with `cols` output columns is cut into, so that the block's threads have work:
// 1 when there are at least half as many columns as threads.
FR_HD int k_parts(int cols) {
    const int parts = kThreads / cols;
    return parts < 2 ? 1 : (parts > kMaxParts ? kMaxParts : parts);
}
inline size_t partial_floats(int R, int cols) { return k_parts(cols) > 1 ? size_t(k_parts(cols)) * R * cols : 0; }

// Shared memory (floats) a block of R rows needs: forward h_prev rows [R, padded H], gate rows [R, G·H] and the
// partial sums of h_prev·W_hhᵀ's G·H columns; backward the step's gate gradients [R, padded G·H] and the partial
// sums of dG·W_hh's H columns.
inline size_t forward_shared_floats(int R, int G, int H) {
    return size_t(R) * (size_t(padded_row(H)) + size_t(G) * H) + partial_floats(R, G * H);
}
inline size_t backward_shared_floats(int R, int G, int H) {
    return size_t(R) * padded_row(G * H) + partial_floats(R, H);
}

// Rows per block for batch N on a GPU with `sm_count` multiprocessors: `requested` (1, 2, 4, 8 or 16) if not 0,
// else the smallest power of two that needs no more blocks than multiprocessors (a block per multiprocessor,
// each reading W_hh once a step), at most 16; halved until a block's shared memory fits, forward and backward. 0
// when the persistent kernels do not apply: the reset-before GRU (two recurrent products per step), or too large
// a hidden size for even one row.
inline int rows_per_block(CellType cell, int N, int H, int sm_count, int requested = 0) {
    if (cell == CellType::GruResetBefore || N <= 0 || H <= 0) return 0;
    const int G = gate_count(cell);
    int R = requested;
    if (R == 0) {
        R = 1;
        while (R < kMaxRowsPerBlock && (N + R - 1) / R > sm_count) R *= 2;
    }
    const auto fits = [&](int r) {
        return sizeof(float) * forward_shared_floats(r, G, H) <= kSharedLimit &&
               sizeof(float) * backward_shared_floats(r, G, H) <= kSharedLimit;
    };
    while (R > 0 && !fits(R)) R /= 2;
    return R;
}

}  // namespace recurrence

// Launch the whole recurrence of one layer-direction: rows_per_block from recurrence::rows_per_block (> 0).
// Forward needs p.w_hh_t; backward p.w_hh and p.first.dgh or dgx as the alternating kernels write them, and
// leaves in first.dh / first.dc the gradient to h0 / c0 (the alternating strategy's state after its loop).
void rnn_recurrence_forward(CellType cell, const RnnRecurrenceForward& p, int rows_per_block, cudaStream_t stream);
void rnn_recurrence_backward(CellType cell, const RnnRecurrenceBackward& p, int rows_per_block, cudaStream_t stream);

}  // namespace fusedrnn::gpu
