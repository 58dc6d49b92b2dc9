#include "models/tbptt.h"

namespace fusedrnn {

namespace {

void finish(Model& model, Optimizer* optimizer, double clip_norm, ChunkResult& r) {
    r.grad_norm = clip_grad_norm(model.params(), clip_norm);
    if (optimizer) optimizer->step(model.params());
}

}  // namespace

ChunkResult tbptt_chunk_mse(SequenceModel& model, Optimizer* optimizer, const Tensor<float>& x,
                            const Tensor<float>& target, SequenceModel::State& state, double clip_norm) {
    Backend<float>& be = model.backend();
    model.zero_grad();
    Tensor<float> out = model.forward(x, state, true);
    check_shape(target.shape(), out.shape(), "tbptt target");
    Tensor<float> grad = be.empty(out.shape());
    ChunkResult r;
    r.loss = be.mse(out.numel(), out.data(), target.data(), grad.data(), 1.0f).loss;
    model.backward(grad);
    finish(model, optimizer, clip_norm, r);
    return r;
}

ChunkResult tbptt_chunk_tokens(SequenceModel& model, Optimizer* optimizer, const Tensor<int32_t>& ids,
                               const Tensor<int32_t>& targets, SequenceModel::State& state, double clip_norm) {
    Backend<float>& be = model.backend();
    model.zero_grad();
    Tensor<float> logits = model.forward_tokens(ids, state, true);
    FR_CHECK(targets.numel() == size_t(logits.dim(0)), "tbptt: {} targets for {} positions", targets.numel(),
             logits.dim(0));
    Tensor<float> grad = be.empty(logits.shape());
    const LossResult lr =
        be.softmax_cross_entropy(int(logits.dim(0)), int(logits.dim(1)), logits.data(), targets.data(), grad.data(), 1.0f);
    ChunkResult r;
    r.loss = lr.loss;
    r.correct = lr.correct;
    model.backward(grad);
    finish(model, optimizer, clip_norm, r);
    return r;
}

}  // namespace fusedrnn
