// fusedrnn — the persistent recurrence kernels' block bodies (rnn_recurrence.h), written once for two drivers:
// the GPU's (kernels/cuda/rnn_recurrence.cu: a block's threads share each phase, __syncthreads between phases)
// and the host emulation's (tests/cuda_emulation: one "thread" after another, in either order). A driver is a
// `Block` with
//     float* shared();                       the block's shared memory (floats)
//     template <class F> void phase(int n, F f);
//                                            f(i) for i < n, shared among the block's threads; returns when every
//                                            thread is done and what they wrote is visible to the whole block
// Everything a phase reads was written before an earlier phase ended, and no two work items of a phase write
// the same element: so a phase's items may run in any order, or concurrently.
#pragma once

#include <cstddef>
#include <type_traits>

#include "fusedrnn/cuda/check.h"
#include "fusedrnn/kernels/cuda/rnn_recurrence.h"
#include "fusedrnn/kernels/cuda/rnn_step.cuh"

namespace fusedrnn::gpu::recurrence {

// The step's arguments restricted to the block's rows [row0, row0 + rows): row r of the result is row row0 + r.
template <class Cell>
FR_HD RnnStepForward rows_of(RnnStepForward f, int row0, int rows) {
    const size_t r0 = static_cast<size_t>(row0), H = static_cast<size_t>(f.H);
    f.N = rows;
    f.gx += r0 * f.ld_gx;
    if (f.h_prev) f.h_prev += r0 * f.ld_h_prev;
    if (f.c_prev) f.c_prev += r0 * H;
    f.h += r0 * f.ld_h;
    if (f.c) f.c += r0 * H;
    if (f.save) f.save += r0 * Cell::kSaved * H;
    if (f.hn) f.hn += r0 * H;
    if (f.cn) f.cn += r0 * H;
    return f;
}

template <class Cell>
FR_HD RnnStepBackward rows_of(RnnStepBackward b, int row0, int rows) {
    const size_t r0 = static_cast<size_t>(row0), H = static_cast<size_t>(b.H);
    b.N = rows;
    b.dh += r0 * H;
    if (b.dc) b.dc += r0 * H;
    if (b.dy) b.dy += r0 * b.ld_dy;
    if (b.h_prev) b.h_prev += r0 * b.ld_h_prev;
    if (b.c_prev) b.c_prev += r0 * H;
    b.h += r0 * b.ld_h;
    if (b.c) b.c += r0 * H;
    if (b.save) b.save += r0 * Cell::kSaved * H;
    b.dgx += r0 * b.ld_dg;
    if (b.dgh) b.dgh += r0 * b.ld_dg;
    return b;
}

// Four consecutive floats of a shared-memory row (16-byte aligned): one vector load on the GPU.
struct Quad {
    float x, y, z, w;
};
FR_HD Quad load_quad(const float* p) {
#ifdef __CUDA_ARCH__
    const float4 v = *reinterpret_cast<const float4*>(p);
    return {v.x, v.y, v.z, v.w};
#else
    return {p[0], p[1], p[2], p[3]};
#endif
}

// out[r·ld_out + col] = Σ_k in[r·ld_in + k] · w[k·ld_w + col], k0 ≤ k < k1, for the R rows of `in` (shared memory,
// rows padded to ld_in, a multiple of 4, rows past the block's zero-filled; k0 a multiple of 4): one output column.
// The loads of w are coalesced across the threads' columns; the rows are read four k at a time, as broadcasts.
// `add`: out += instead of =. Only the first `rows` rows are stored. The sum runs over k in order.
template <int R>
FR_HD void row_block_times_column(const float* in, int ld_in, int k0, int k1, const float* w, size_t ld_w, int col,
                                  float* out, size_t ld_out, int rows, bool add) {
    float acc[R];
    for (int r = 0; r < R; ++r) acc[r] = 0.f;
    const float* wc = w + col;
    int k = k0;
    for (; k + 4 <= k1; k += 4) {
        const float w0 = wc[static_cast<size_t>(k) * ld_w], w1 = wc[static_cast<size_t>(k + 1) * ld_w];
        const float w2 = wc[static_cast<size_t>(k + 2) * ld_w], w3 = wc[static_cast<size_t>(k + 3) * ld_w];
        for (int r = 0; r < R; ++r) {
            const Quad v = load_quad(in + r * ld_in + k);
            acc[r] += v.x * w0;
            acc[r] += v.y * w1;
            acc[r] += v.z * w2;
            acc[r] += v.w * w3;
        }
    }
    for (; k < k1; ++k) {
        const float wk = wc[static_cast<size_t>(k) * ld_w];
        for (int r = 0; r < R; ++r) acc[r] += in[r * ld_in + k] * wk;
    }
    for (int r = 0; r < R && r < rows; ++r) {
        float& o = out[static_cast<size_t>(r) * ld_out + col];
        o = add ? o + acc[r] : acc[r];
    }
}

// out (+)= the block's rows times a matrix: out[r·ld_out + c] (+)= Σ_{k<K} in[r·ld_in + k] · w[k·ld_w + c] for
// c < cols, r < rows. With at least as many columns as half the block's threads, a thread per column (one phase).
// With fewer (the backward's H columns at hidden 64 or 128, say) the threads would idle, so the k range is cut into
// k_parts(cols) slices, a thread per (slice, column) writes its partial sums to `partial` ([parts, R, cols] in
// shared memory), and a second phase adds the slices in order.
template <int R, class Block>
FR_HD void rows_times_matrix(Block& blk, const float* in, int ld_in, int K, const float* w, size_t ld_w, int cols,
                             float* out, size_t ld_out, int rows, bool add, float* partial) {
    const int parts = k_parts(cols);
    if (parts == 1) {
        blk.phase(cols, [&](int c) { row_block_times_column<R>(in, ld_in, 0, K, w, ld_w, c, out, ld_out, rows, add); });
        return;
    }
    const int slice = padded_row((K + parts - 1) / parts);  // a multiple of 4, so every slice starts aligned
    blk.phase(parts * cols, [&](int i) {
        const int q = i / cols, c = i - q * cols;
        const int k0 = q * slice < K ? q * slice : K;
        const int k1 = k0 + slice < K ? k0 + slice : K;
        row_block_times_column<R>(in, ld_in, k0, k1, w, ld_w, c, partial + q * R * cols, cols, R, false);
    });
    blk.phase(rows * cols, [&](int i) {
        const int r = i / cols, c = i - r * cols;
        float sum = 0.f;
        for (int q = 0; q < parts; ++q) sum += partial[(q * R + r) * cols + c];
        float& o = out[static_cast<size_t>(r) * ld_out + c];
        o = add ? o + sum : sum;
    });
}

// Item i of copying rows [0, rows) × columns [0, cols) of src (leading dimension ld) into dst [R, ld_dst]: zeros
// past them (rows rows..R−1, and the padding columns cols..ld_dst−1).
FR_HD void stage_row_element(int i, int ld_dst, int cols, const float* src, size_t ld, int rows, float* dst) {
    const int r = i / ld_dst, k = i - r * ld_dst;
    dst[i] = r < rows && k < cols ? src[static_cast<size_t>(r) * ld + k] : 0.f;
}

// The batch rows of block `block`: [row0, row0 + rows), rows = R but for the last block.
struct BlockRows {
    int row0, rows;
};
FR_HD BlockRows rows_of_block(int N, int R, int block) {
    const int row0 = block * R;
    return {row0, N - row0 < R ? N - row0 : R};
}

// One block's forward: its R rows through all T steps.
template <class Cell, int R, class Block>
FR_HD void run_block(const RnnRecurrenceForward& p, int block, Block& blk) {
    const int H = p.first.H, GH = Cell::kGates * H;
    const BlockRows mine = rows_of_block(p.first.N, R, block);
    const int row0 = mine.row0, rows = mine.rows;
    const int ld_hs = padded_row(H);
    float* hs = blk.shared();          // [R, ld_hs] h_prev rows
    float* gh = hs + R * ld_hs;        // [R, G·H]   h_prev·W_hhᵀ rows
    float* partial = gh + R * GH;      // rows_times_matrix's partial sums, when it splits k
    for (int s = 0; s < p.T; ++s) {
        RnnStepForward f = rows_of<Cell>(step_forward_at(p, s), row0, rows);
        if (f.h_prev) {
            blk.phase(R * ld_hs, [&](int i) { stage_row_element(i, ld_hs, H, f.h_prev, f.ld_h_prev, rows, hs); });
            rows_times_matrix<R>(blk, hs, ld_hs, H, p.w_hh_t, GH, GH, gh, GH, rows, false, partial);
            f.gh = gh;
            f.ld_gh = GH;
        } else {
            f.gh = nullptr;  // h_prev = 0: the recurrent product is 0
        }
        blk.phase(rows * H, [&](int i) { step::forward<Cell>(f, i / H, i % H); });
    }
}

// One block's backward: its R rows through all T steps in reverse.
template <class Cell, int R, class Block>
FR_HD void run_block(const RnnRecurrenceBackward& p, int block, Block& blk) {
    const int H = p.first.H, GH = Cell::kGates * H;
    const BlockRows mine = rows_of_block(p.first.N, R, block);
    const int row0 = mine.row0, rows = mine.rows;
    const int ld_dg = padded_row(GH);
    float* dg = blk.shared();        // [R, ld_dg] the step's recurrent-side gate gradients
    float* partial = dg + R * ld_dg;  // rows_times_matrix's partial sums, when it splits k
    for (int s = p.T - 1; s >= 0; --s) {
        const RnnStepBackward b = rows_of<Cell>(step_backward_at(p, s), row0, rows);
        // dG_t, and dh := the direct part of the gradient to h_prev.
        blk.phase(rows * H, [&](int i) { step::backward<Cell>(b, i / H, i % H); });
        const float* dg_t = b.dgh ? b.dgh : b.dgx;
        blk.phase(R * ld_dg, [&](int i) { stage_row_element(i, ld_dg, GH, dg_t, b.ld_dg, rows, dg); });
        // dh += dG_t·W_hh
        rows_times_matrix<R>(blk, dg, ld_dg, GH, p.w_hh, H, H, b.dh, H, rows, true, partial);
    }
}

// Shared memory (floats) a block of the pass needs.
inline size_t shared_floats(const RnnRecurrenceForward&, int R, int G, int H) { return forward_shared_floats(R, G, H); }
inline size_t shared_floats(const RnnRecurrenceBackward&, int R, int G, int H) { return backward_shared_floats(R, G, H); }

// The host side shared by the two drivers' launchers (the GPU's, the emulation's), for either pass (Params:
// RnnRecurrenceForward or RnnRecurrenceBackward): nothing for an empty recurrence, the checks, then
// launch(Cell{}, std::integral_constant<int, R>{}, blocks, shared bytes) with the cell and R as types.
template <class Params, class Launch>
void dispatch_launch(CellType cell_type, const Params& p, int R, Launch&& launch) {
    if (p.T <= 0 || p.first.N <= 0) return;
    cell::dispatch(cell_type, [&](auto tag) {
        using Cell = decltype(tag);
        if constexpr (Cell::kResetBefore) {
            FR_GPU_FAIL("persistent recurrence: the reset-before GRU runs on the alternating strategy");
        } else {
            const auto with_rows = [&](auto rows) {
                constexpr int kR = decltype(rows)::value;
                const size_t bytes = sizeof(float) * shared_floats(p, kR, Cell::kGates, p.first.H);
                if (bytes > kSharedLimit) FR_GPU_FAIL("persistent recurrence: shared memory over the limit");
                launch(tag, rows, (p.first.N + kR - 1) / kR, bytes);
            };
            switch (R) {
            case 1: with_rows(std::integral_constant<int, 1>{}); break;
            case 2: with_rows(std::integral_constant<int, 2>{}); break;
            case 4: with_rows(std::integral_constant<int, 4>{}); break;
            case 8: with_rows(std::integral_constant<int, 8>{}); break;
            case 16: with_rows(std::integral_constant<int, 16>{}); break;
            default: FR_GPU_FAIL("persistent recurrence: rows per block must be 1, 2, 4, 8 or 16");
            }
        }
    });
}

}  // namespace fusedrnn::gpu::recurrence
