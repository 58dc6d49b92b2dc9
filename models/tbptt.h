// fusedrnn — truncated backpropagation through time.
// A long sequence is processed in chunks of k steps. The hidden state is carried from one chunk to the
// next (so the forward pass sees the whole history), but gradients stop at the chunk boundary: each
// chunk's backward starts from a detached initial state. One optimizer step per chunk.
#pragma once

#include "fusedrnn/models/device_scalars.h"
#include "fusedrnn/models/model.h"
#include "fusedrnn/models/optimizer.h"

namespace fusedrnn {

struct ChunkResult {
    double loss = 0;       // mean loss over the chunk
    long correct = 0;      // cross-entropy: argmax hits
    double grad_norm = 0;  // before clipping
};

// Many-to-many regression chunk: x [k, N, C], target [k·N, O] (row t·N + n). `state` carries across
// calls. optimizer may be nullptr (gradients are left accumulated in the model, not applied).
ChunkResult tbptt_chunk_mse(SequenceModel& model, Optimizer* optimizer, const Tensor<float>& x,
                            const Tensor<float>& target, SequenceModel::State& state, double clip_norm);

// Language-model chunk: ids [k, N] → next-token targets [k·N] (int32, device). Cross-entropy. Reads its
// results back at once (and allocates for them): for one step or a test; a loop uses queue_chunk_tokens.
ChunkResult tbptt_chunk_tokens(SequenceModel& model, Optimizer* optimizer, const Tensor<int32_t>& ids,
                               const Tensor<int32_t>& targets, SequenceModel::State& state, double clip_norm);

// The same chunk queued without waiting for the device: the carried state goes from `initial` into
// `final` (see SequenceModel::forward_tokens; a loop alternates two States), the logits' gradient into
// `dlogits` (kept when its shape fits), and the results are left in backend memory at results[StepSlot]
// (kStepSlots doubles; see models/device_scalars.h). A loop of these allocates nothing per step.
void queue_chunk_tokens(SequenceModel& model, Optimizer* optimizer, const Tensor<int32_t>& ids,
                        const Tensor<int32_t>& targets, const SequenceModel::State& initial,
                        SequenceModel::State& final, Tensor<float>& dlogits, double clip_norm, double* results);

// A step's results as queue_* left them (kStepSlots doubles, read back).
ChunkResult chunk_result(const double* results);

}  // namespace fusedrnn
