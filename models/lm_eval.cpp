#include "models/lm_eval.h"

#include <algorithm>

#include "core/text/streams.h"

namespace fusedrnn {

namespace {

void ensure_i32(Backend<float>& be, Tensor<int32_t>& t, const Shape& shape) {
    if (t.empty() || t.shape() != shape) t = be.empty_i32(shape);
}

// The last step's rows of logits [K·B, V]: rows (K−1)·B .. K·B−1, i.e. one [B, V] block.
Tensor<float> last_step_rows(const Tensor<float>& logits, long K, long B) {
    const long V = logits.dim(1);
    return logits.view(size_t((K - 1) * B * V), {B, V});
}

}  // namespace

void WindowBuffers::load(Backend<float>& be, const text::Windows& windows, const size_t* indices, size_t batch) {
    const long K = windows.context, B = long(batch);
    host_ids.resize(size_t(K * B));
    host_targets.resize(batch);
    text::gather_windows(windows, indices, batch, host_ids.data(), host_targets.data());
    ensure_i32(be, ids, {K, B});
    ensure_i32(be, targets, {B});
    be.copy_from_host(ids.data(), host_ids.data(), host_ids.size() * sizeof(int32_t));
    be.copy_from_host(targets.data(), host_targets.data(), host_targets.size() * sizeof(int32_t));
}

ChunkResult lm_window_step(SequenceModel& model, Optimizer* optimizer, WindowBuffers& buf, double clip_norm) {
    Backend<float>& be = model.backend();
    const long K = buf.ids.dim(0), B = buf.ids.dim(1);
    model.zero_grad();
    SequenceModel::State state;  // every window starts from a zero state
    Tensor<float> logits = model.forward_tokens(buf.ids, state, true);
    ensure_shape(be, buf.dlogits, logits.shape());
    // Only the last step is scored, so every other step's logit gradient is zero.
    be.fill(buf.dlogits.numel(), buf.dlogits.data(), 0.0f);
    Tensor<float> dlast = last_step_rows(buf.dlogits, K, B);
    const LossResult lr = be.softmax_cross_entropy(int(B), int(logits.dim(1)), last_step_rows(logits, K, B).data(),
                                                   buf.targets.data(), dlast.data(), 1.0f);
    model.backward(buf.dlogits);
    ChunkResult r;
    r.loss = lr.loss;
    r.correct = lr.correct;
    r.grad_norm = clip_grad_norm(model.params(), clip_norm);
    if (optimizer) optimizer->step(model.params());
    return r;
}

LmEval evaluate_windows(SequenceModel& model, const text::Windows& windows, int batch) {
    FR_CHECK(batch >= 1, "evaluation batch must be at least 1, got {}", batch);
    Backend<float>& be = model.backend();
    WindowBuffers buf;
    std::vector<size_t> idx(windows.count);
    for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
    double loss_sum = 0;
    long correct = 0;
    for (size_t start = 0; start < windows.count; start += size_t(batch)) {
        const size_t B = std::min(size_t(batch), windows.count - start);
        buf.load(be, windows, idx.data() + start, B);
        SequenceModel::State state;
        Tensor<float> logits = model.forward_tokens(buf.ids, state, false);
        const LossResult lr = be.softmax_cross_entropy(int(B), int(logits.dim(1)),
                                                       last_step_rows(logits, windows.context, long(B)).data(),
                                                       buf.targets.data(), nullptr, 1.0f);
        loss_sum += lr.loss * double(B);
        correct += lr.correct;
    }
    LmEval e;
    e.predictions = windows.count;
    if (e.predictions > 0) {
        e.loss = loss_sum / double(e.predictions);
        e.accuracy = double(correct) / double(e.predictions);
    }
    return e;
}

LmEval evaluate_stream(SequenceModel& model, const std::vector<int32_t>& tokens, int streams, int bptt) {
    Backend<float>& be = model.backend();
    const text::StreamBatches batches(tokens, streams, bptt);
    const long N = streams;
    Tensor<int32_t> ids, targets;
    std::vector<int32_t> host_ids, host_targets;
    SequenceModel::State state;
    double loss_sum = 0;
    long correct = 0;
    size_t predictions = 0;
    for (size_t c = 0; c < batches.num_chunks(); ++c) {
        const long T = batches.chunk_steps(c);
        host_ids.resize(size_t(T * N));
        host_targets.resize(size_t(T * N));
        batches.chunk_into(c, host_ids.data(), host_targets.data());
        ensure_i32(be, ids, {T, N});
        ensure_i32(be, targets, {T * N});
        be.copy_from_host(ids.data(), host_ids.data(), host_ids.size() * sizeof(int32_t));
        be.copy_from_host(targets.data(), host_targets.data(), host_targets.size() * sizeof(int32_t));
        Tensor<float> logits = model.forward_tokens(ids, state, false);
        const LossResult lr = be.softmax_cross_entropy(int(T * N), int(logits.dim(1)), logits.data(), targets.data(),
                                                       nullptr, 1.0f);
        loss_sum += lr.loss * double(T * N);
        correct += lr.correct;
        predictions += size_t(T * N);
    }
    LmEval e;
    e.predictions = predictions;
    if (predictions > 0) {
        e.loss = loss_sum / double(predictions);
        e.accuracy = double(correct) / double(predictions);
    }
    return e;
}

LmEval evaluate_language_model(LanguageModel& lm, const std::vector<int32_t>& tokens, int batch, int streams) {
    if (lm.settings.mode == LmMode::Window)
        return evaluate_windows(*lm.model, text::make_windows(tokens, lm.settings.context, "the text"), batch);
    return evaluate_stream(*lm.model, tokens, streams, lm.settings.bptt);
}

}  // namespace fusedrnn
