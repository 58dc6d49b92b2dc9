// fusedrnn — what Backend::dropout is asked to do (core/backend.h), in a header of its own so that the kernels'
// per-element code (kernels/dropout_mask.h, compiled by nvcc too) can take it as it is.
//
// Inverted dropout, as torch.nn.Dropout in training: each element is dropped (set to 0) with probability p and
// kept otherwise, scaled by 1/(1 − p). Whether element (a, r, w) of x viewed as [outer, rows, width] is dropped
// depends on nothing but (seed, step, site, a, row_offset + r, w) — without a when `locked`, so every time step of
// a sequence loses the same units (Gal & Ghahramani 2016's variational dropout) — through a counter-based hash — not on the
// backend, the thread count, or the order of the work. So:
//   - every backend draws the same mask (CPU, the fused CUDA kernels and cuDNN's backend agree to the bit);
//   - the backward is the same op with the same arguments applied to the gradient (no mask is stored);
//   - a data-parallel rank that holds rows [row_offset, row_offset + rows) of a batch of rows_total rows draws
//     the rows of the mask that the whole batch draws on one rank;
//   - a resumed run draws the masks the uninterrupted run drew (the step is part of the key).
#pragma once

#include <cstddef>
#include <cstdint>

namespace fusedrnn {

struct DropoutArgs {
    uint64_t seed = 0;     // the run's seed
    uint64_t step = 0;     // the training step (a new mask every step)
    uint32_t site = 0;     // which place in the model (embedding output, between layers k and k+1, …)
    float p = 0;           // probability of dropping an element, in [0, 1)
    long outer = 0;        // x viewed as [outer, rows, width]: outer = time steps (or 1), rows = batch rows
    long rows = 0;
    long width = 0;
    long row_offset = 0;   // index of this x's first row in the step's whole batch
    long rows_total = 0;   // rows of the whole batch (rows when the batch is not split)
    bool locked = false;   // the same mask at every outer index (every time step): variational dropout

    size_t numel() const { return size_t(outer) * size_t(rows) * size_t(width); }
};

// Throws fusedrnn::Error naming the bad field: p outside [0, 1), a negative size, rows outside the whole batch.
void check_dropout_args(const DropoutArgs& a);

}  // namespace fusedrnn
