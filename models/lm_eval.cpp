#include "fusedrnn/models/lm_eval.h"

#include <algorithm>
#include <cmath>
#include <memory>

#include "fusedrnn/core/text/streams.h"

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

void check_token_ids(const std::vector<int32_t>& ids, int vocab, const char* what) {
    for (size_t i = 0; i < ids.size(); ++i)
        FR_CHECK(ids[i] >= 0 && ids[i] < vocab, "{}: token id {} at position {} is outside the model's vocabulary "
                 "[0, {})", what, ids[i], i, vocab);
}

void WindowBuffers::load(Backend<float>& be, const text::Windows& windows, const size_t* indices, size_t batch) {
    const long K = windows.context, B = long(batch);
    host_ids.resize(size_t(K * B));
    host_targets.resize(batch);
    text::gather_windows(windows, indices, batch, host_ids.data(), host_targets.data());
    ensure_i32(be, ids, {K, B});
    ensure_i32(be, targets, {B});
    be.copy_from_host_async(ids.data(), host_ids.data(), host_ids.size() * sizeof(int32_t));
    be.copy_from_host_async(targets.data(), host_targets.data(), host_targets.size() * sizeof(int32_t));
}

void StreamBuffers::load(Backend<float>& be, const text::StreamBatches& batches, size_t chunk) {
    const long T = batches.chunk_steps(chunk), N = batches.streams();
    host_ids.resize(size_t(T * N));
    host_targets.resize(size_t(T * N));
    batches.chunk_into(chunk, host_ids.data(), host_targets.data());
    ensure_i32(be, ids, {T, N});
    ensure_i32(be, targets, {T * N});
    be.copy_from_host_async(ids.data(), host_ids.data(), host_ids.size() * sizeof(int32_t));
    be.copy_from_host_async(targets.data(), host_targets.data(), host_targets.size() * sizeof(int32_t));
}

void queue_window_step(SequenceModel& model, Optimizer* optimizer, WindowBuffers& buf, double clip_norm,
                       double* results) {
    Backend<float>& be = model.backend();
    const long K = buf.ids.dim(0), B = buf.ids.dim(1);
    model.zero_grad();
    const SequenceModel::State zero;  // every window starts from a zero state
    Tensor<float> logits = model.forward_tokens(buf.ids, zero, buf.unused_final, true);
    ensure_shape(be, buf.dlogits, logits.shape());
    // Only the last step is scored, so every other step's logit gradient is zero.
    be.fill(buf.dlogits.numel(), buf.dlogits.data(), 0.0f);
    Tensor<float> dlast = last_step_rows(buf.dlogits, K, B);
    be.softmax_cross_entropy_into(int(B), int(logits.dim(1)), last_step_rows(logits, K, B).data(),
                                  buf.targets.data(), dlast.data(), 1.0f, results + kLossSlot);
    model.backward(buf.dlogits);
    queue_update(model.params(), optimizer, clip_norm, results + kGradNorm2Slot, results + kParamNorm2Slot);
}

ChunkResult lm_window_step(SequenceModel& model, Optimizer* optimizer, WindowBuffers& buf, double clip_norm) {
    Backend<float>& be = model.backend();
    const DeviceScalars results(be, kStepSlots);
    queue_window_step(model, optimizer, buf, clip_norm, results.slot(0));
    return chunk_result(results.read(be, kStepSlots).data());
}

namespace {

// Sums the per-batch (mean loss, hits) pairs an evaluation leaves in backend memory, read back every
// kReadBackSteps batches and folded in batch order (the same sums as reading each batch at once).
class EvalSums {
public:
    explicit EvalSums(Backend<float>& be) : be_(be) { results_.reset(be, 2, kReadBackSteps); }
    double* next(size_t predictions) {
        if (results_.full()) fold();
        batch_.push_back(predictions);
        return results_.next();
    }
    LmEval finish() {
        fold();
        LmEval e;
        e.predictions = predictions_;
        if (predictions_ > 0) {
            e.loss = loss_sum_ / double(predictions_);
            e.accuracy = double(correct_) / double(predictions_);
        }
        return e;
    }

private:
    void fold() {
        const std::vector<double> r = results_.take(be_);
        for (size_t i = 0; i < batch_.size(); ++i) {
            loss_sum_ += r[2 * i] * double(batch_[i]);
            correct_ += std::lround(r[2 * i + 1]);
            predictions_ += batch_[i];
        }
        batch_.clear();
    }
    Backend<float>& be_;
    StepResults results_;
    std::vector<size_t> batch_;
    double loss_sum_ = 0;
    long correct_ = 0;
    size_t predictions_ = 0;
};

}  // namespace

LmEval evaluate_windows(SequenceModel& model, const text::Windows& windows, int batch,
                        const std::function<bool()>& stop, size_t limit) {
    FR_CHECK(batch >= 1, "evaluation batch must be at least 1, got {}", batch);
    check_token_ids(windows.inputs, model.vocab(), "evaluation windows");
    check_token_ids(windows.targets, model.vocab(), "evaluation targets");
    Backend<float>& be = model.backend();
    WindowBuffers buf;
    const size_t n = limit > 0 ? std::min(limit, windows.count) : windows.count;
    std::vector<size_t> idx(n);
    for (size_t i = 0; i < n; ++i) idx[i] = size_t(double(i) * double(windows.count) / double(n));
    EvalSums sums(be);
    const SequenceModel::State zero;
    for (size_t start = 0; start < n; start += size_t(batch)) {
        if (stop && stop()) throw Interrupted("stopped during the evaluation");
        const size_t B = std::min(size_t(batch), n - start);
        buf.load(be, windows, idx.data() + start, B);
        Tensor<float> logits = model.forward_tokens(buf.ids, zero, buf.unused_final, false);
        be.softmax_cross_entropy_into(int(B), int(logits.dim(1)), last_step_rows(logits, windows.context, long(B)).data(),
                                      buf.targets.data(), nullptr, 1.0f, sums.next(B));
    }
    return sums.finish();
}

LmEval evaluate_stream(SequenceModel& model, const std::vector<int32_t>& tokens, int streams, int bptt,
                       const std::function<bool()>& stop) {
    check_token_ids(tokens, model.vocab(), "evaluation text");
    Backend<float>& be = model.backend();
    const text::StreamBatches batches(tokens, streams, bptt);
    StreamBuffers buf;
    SequenceModel::State states[2];  // the carried state alternates between the two: nothing allocated per chunk
    EvalSums sums(be);
    for (size_t c = 0; c < batches.num_chunks(); ++c) {
        if (stop && stop()) throw Interrupted("stopped during the evaluation");
        buf.load(be, batches, c);
        Tensor<float> logits = model.forward_tokens(buf.ids, states[c % 2], states[(c + 1) % 2], false);
        const int M = int(buf.targets.numel());
        be.softmax_cross_entropy_into(M, int(logits.dim(1)), logits.data(), buf.targets.data(), nullptr, 1.0f,
                                      sums.next(size_t(M)));
    }
    return sums.finish();
}

LmEval evaluate_language_model(LanguageModel& lm, const std::vector<int32_t>& tokens, int batch, int streams) {
    if (lm.settings.mode == LmMode::Window)
        return evaluate_windows(*lm.model, text::make_windows(tokens, lm.settings.context, "the text"), batch);
    return evaluate_stream(*lm.model, tokens, streams, lm.settings.bptt);
}

}  // namespace fusedrnn
