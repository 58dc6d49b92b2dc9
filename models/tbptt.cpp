#include "fusedrnn/models/tbptt.h"

#include <cmath>
#include <vector>

namespace fusedrnn {

namespace {
// Truncated BPTT carries each chunk's final state into the next chunk's start. A reverse direction's final state is
// at the chunk's first step, so carried it would start the next chunk's end; and trained on what comes next, a
// reverse direction reads its own targets.
void check_carryable(const SequenceModel& model) {
    FR_CHECK(!model.spec().bidirectional, "truncated BPTT carries the state forward from chunk to chunk; the model's "
             "stack is bidirectional ({}), whose reverse direction has no state to carry. Use a unidirectional stack",
             model.spec().describe());
}
}  // namespace

ChunkResult chunk_result(const double* results) {
    ChunkResult r;
    r.loss = results[kLossSlot];
    r.correct = std::lround(results[kCorrectSlot]);
    r.grad_norm = std::sqrt(results[kGradNorm2Slot]);
    return r;
}

ChunkResult tbptt_chunk_mse(SequenceModel& model, Optimizer* optimizer, const Tensor<float>& x,
                            const Tensor<float>& target, SequenceModel::State& state, double clip_norm) {
    check_carryable(model);
    Backend<float>& be = model.backend();
    model.zero_grad();
    Tensor<float> out = model.forward(x, state, true);
    check_shape(target.shape(), out.shape(), "tbptt target");
    Tensor<float> grad = be.empty(out.shape());
    ChunkResult r;
    r.loss = be.mse(out.numel(), out.data(), target.data(), grad.data(), 1.0f).loss;
    model.backward(grad);
    r.grad_norm = clip_grad_norm(model.params(), clip_norm);
    if (optimizer) optimizer->step(model.params());
    return r;
}

void queue_chunk_tokens(SequenceModel& model, Optimizer* optimizer, const Tensor<int32_t>& ids,
                        const Tensor<int32_t>& targets, const SequenceModel::State& initial,
                        SequenceModel::State& final, Tensor<float>& dlogits, double clip_norm, double* results) {
    check_carryable(model);
    Backend<float>& be = model.backend();
    model.zero_grad();
    Tensor<float> logits = model.forward_tokens(ids, initial, final, true);
    FR_CHECK(targets.numel() == size_t(logits.dim(0)), "tbptt: {} targets for {} positions", targets.numel(),
             logits.dim(0));
    ensure_shape(be, dlogits, logits.shape());
    be.softmax_cross_entropy_into(int(logits.dim(0)), int(logits.dim(1)), logits.data(), targets.data(),
                                  dlogits.data(), 1.0f, results + kLossSlot);
    model.backward(dlogits);
    queue_update(model.params(), optimizer, clip_norm, results + kGradNorm2Slot, results + kParamNorm2Slot);
}

ChunkResult tbptt_chunk_tokens(SequenceModel& model, Optimizer* optimizer, const Tensor<int32_t>& ids,
                               const Tensor<int32_t>& targets, SequenceModel::State& state, double clip_norm) {
    Backend<float>& be = model.backend();
    const DeviceScalars results(be, kStepSlots);
    SequenceModel::State final;
    Tensor<float> dlogits;
    queue_chunk_tokens(model, optimizer, ids, targets, state, final, dlogits, clip_norm, results.slot(0));
    state = final;
    return chunk_result(results.read(be, kStepSlots).data());
}

}  // namespace fusedrnn
