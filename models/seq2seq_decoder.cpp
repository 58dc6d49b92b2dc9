#include "fusedrnn/models/seq2seq_decoder.h"

#include <utility>

namespace fusedrnn {

namespace {

// Per-step slices of the decoder's buffers start on 256-byte boundaries: a GPU backend (cuDNN in particular)
// may want its operands aligned, and a step's [N, K] block is rarely a multiple of that on its own.
size_t aligned(size_t elems) { return (elems + 63) / 64 * 64; }

}  // namespace

Seq2SeqDecoder::Seq2SeqDecoder(const RnnSpec& spec, int horizon, std::vector<int32_t> target_inputs,
                               size_t rnn_offset, size_t head_weight, size_t head_bias)
    : spec_(spec),
      horizon_(horizon),
      target_inputs_(std::move(target_inputs)),
      head_w_(head_weight),
      head_b_(head_bias) {
    spec_.validate();
    FR_CHECK(horizon_ > 0, "seq2seq decoder: the horizon must be positive, got {}", horizon_);
    FR_CHECK(!spec_.bidirectional, "seq2seq decoder: the decoder runs forward in time (not bidirectional)");
    FR_CHECK(!target_inputs_.empty() && spec_.input_size == int(target_inputs_.size()),
             "seq2seq decoder: its input size {} must equal the number of predicted variables {}", spec_.input_size,
             target_inputs_.size());
    steps_.reserve(size_t(horizon_));
    for (int t = 0; t < horizon_; ++t) steps_.emplace_back(spec_, rnn_offset);  // each keeps its own step's activations
    tops_.resize(size_t(horizon_));
}

void Seq2SeqDecoder::set_dropout(float p, uint32_t first_site, bool locked) {
    const uint32_t sites_per_step = locked ? 0 : uint32_t(spec_.num_layers - 1);
    for (size_t t = 0; t < steps_.size(); ++t)
        steps_[t].set_dropout(p, first_site + uint32_t(t) * sites_per_step, locked);
}

void Seq2SeqDecoder::copy_lead_out(Backend<float>& be, const float* wide, int t, float* narrow) {
    const size_t K = target_inputs_.size();
    be.copy_device_2d(narrow, K * sizeof(float), wide + size_t(t) * K, size_t(horizon_) * K * sizeof(float),
                      K * sizeof(float), size_t(N_));
}

void Seq2SeqDecoder::copy_lead_in(Backend<float>& be, const float* narrow, int t, float* wide) {
    const size_t K = target_inputs_.size();
    be.copy_device_2d(wide + size_t(t) * K, size_t(horizon_) * K * sizeof(float), narrow, K * sizeof(float),
                      K * sizeof(float), size_t(N_));
}

// Lead time 0 starts from the last observation of each predicted variable: column target_inputs[k] of x_last.
void Seq2SeqDecoder::first_input(Backend<float>& be, const Tensor<float>& x_last) {
    const size_t F = size_t(x_last.dim(1)), K = target_inputs_.size();
    for (size_t k = 0; k < K; ++k)
        be.copy_device_2d(inputs_.data() + k, K * sizeof(float), x_last.data() + target_inputs_[k], F * sizeof(float),
                          sizeof(float), size_t(N_));
}

Tensor<float> Seq2SeqDecoder::input_at(int t) const {
    return inputs_.view(size_t(t) * in_step_, {1, N_, long(target_inputs_.size())});
}

Tensor<float> Seq2SeqDecoder::state_at(const Tensor<float>& states, int t) const {
    if (states.empty()) return Tensor<float>();
    return states.view(size_t(t) * state_step_, {spec_.num_layers, N_, spec_.hidden_size});
}

Tensor<float> Seq2SeqDecoder::forward(ParamStore& params, const Tensor<float>& x_last, const Tensor<float>& h0,
                                      const Tensor<float>& c0, bool training, const TeacherForcing* teacher) {
    Backend<float>& be = params.backend();
    FR_CHECK(x_last.rank() == 2, "seq2seq decoder: the last input step must be [N, F], got {}",
             shape_str(x_last.shape()));
    N_ = int(x_last.dim(0));
    const long F = x_last.dim(1), K = long(target_inputs_.size()), H = spec_.hidden_size, L = spec_.num_layers;
    for (int32_t col : target_inputs_)
        FR_CHECK(col >= 0 && col < F, "seq2seq decoder: predicted variable in input column {}, but the input has {}",
                 col, F);
    const Shape state{L, N_, H};
    check_shape(h0.shape(), state, "seq2seq decoder: the encoder's final hidden state");
    if (lstm()) check_shape(c0.shape(), state, "seq2seq decoder: the encoder's final cell state");
    truth_.assign(size_t(horizon_), 0);
    if (teacher && training) {
        FR_CHECK(teacher->y && teacher->use_truth.size() == size_t(horizon_),
                 "seq2seq decoder: teacher forcing needs the targets and one flag per lead time ({})", horizon_);
        check_shape(teacher->y->shape(), {N_, long(horizon_) * K}, "seq2seq decoder: teacher-forcing targets");
        for (int t = 1; t < horizon_; ++t) truth_[size_t(t)] = teacher->use_truth[size_t(t)];
    }

    in_step_ = aligned(size_t(N_ * K));
    state_step_ = aligned(state_elems());
    ensure_shape(be, inputs_, {long(horizon_ * in_step_)});
    ensure_shape(be, step_pred_, {long(horizon_ * in_step_)});
    ensure_shape(be, h_, {long((horizon_ + 1) * state_step_)});
    if (lstm()) ensure_shape(be, c_, {long((horizon_ + 1) * state_step_)});
    ensure_shape(be, pred_, {N_, long(horizon_) * K});
    trained_ = training;
    be.copy_device(h_.data(), h0.data(), state_elems() * sizeof(float));
    if (lstm()) be.copy_device(c_.data(), c0.data(), state_elems() * sizeof(float));
    first_input(be, x_last);

    const float* W = params.values() + head_w_;
    const float* b = params.values() + head_b_;
    for (int t = 0; t < horizon_; ++t) {
        RecurrentStack& step = steps_[size_t(t)];
        if (training) step.set_dropout_draw(draw_);
        // The state after step t is written in place as the state before step t + 1.
        Tensor<float> hn = state_at(h_, t + 1), cn = state_at(c_, t + 1);
        tops_[size_t(t)] = step.forward_into(params, input_at(t), state_at(h_, t), state_at(c_, t), training, hn, cn).y;

        float* p = step_pred_.data() + size_t(t) * in_step_;
        be.linear_forward(N_, int(H), int(K), tops_[size_t(t)].data(), W, b, p);
        copy_lead_in(be, p, t, pred_.data());
        if (t + 1 == horizon_) break;
        float* next = inputs_.data() + size_t(t + 1) * in_step_;
        if (truth_[size_t(t + 1)]) copy_lead_out(be, teacher->y->data(), t, next);  // observed at lead time t
        else be.copy_device(next, p, size_t(N_ * K) * sizeof(float));
    }
    return pred_;
}

void Seq2SeqDecoder::backward(ParamStore& params, const Tensor<float>& dpred, Tensor<float>& dh0,
                              Tensor<float>& dc0) {
    FR_CHECK(trained_, "seq2seq decoder: backward needs a training forward before it (one backward per forward)");
    Backend<float>& be = params.backend();
    const long K = long(target_inputs_.size()), H = spec_.hidden_size, L = spec_.num_layers;
    check_shape(dpred.shape(), pred_.shape(), "seq2seq decoder: gradient of the prediction");
    ensure_shape(be, dstep_, {N_, K});
    ensure_shape(be, dout_, {1, N_, H});
    const Shape state{L, N_, H};
    for (auto* d : {&dh_[0], &dh_[1]}) ensure_shape(be, *d, state);
    if (lstm())
        for (auto* d : {&dc_[0], &dc_[1]}) ensure_shape(be, *d, state);

    // Backwards through the lead times. The state gradient ping-pongs between two buffers (dhn of step t is
    // dh0 of step t + 1; a backend need not accept them aliased); dfeed carries the gradient of step t + 1's
    // input back to step t's prediction when that input was the prediction (step t + 1's stack holds it until
    // its next backward).
    int cur = 0;
    Tensor<float> dfeed;
    for (int t = horizon_ - 1; t >= 0; --t) {
        copy_lead_out(be, dpred.data(), t, dstep_.data());
        const bool fed_forward = t + 1 < horizon_ && !truth_[size_t(t + 1)];
        if (fed_forward) be.axpy(dstep_.numel(), 1.0f, dfeed.data(), dstep_.data());
        be.linear_backward(N_, int(H), int(K), tops_[size_t(t)].data(), params.values() + head_w_, dstep_.data(),
                           dout_.data(), params.grads() + head_w_, params.grads() + head_b_);
        const bool last = t + 1 == horizon_;  // nothing flows out of the last state
        const bool need_dx = t > 0 && !truth_[size_t(t)];  // into step t - 1's prediction
        dfeed = steps_[size_t(t)].backward(params, dout_, last ? Tensor<float>() : dh_[cur],
                                           last || !lstm() ? Tensor<float>() : dc_[cur], need_dx, &dh_[1 - cur],
                                           lstm() ? &dc_[1 - cur] : nullptr);
        cur = 1 - cur;
    }
    trained_ = false;  // one backward per forward (a backend may use the reserve as scratch)
    dh0 = dh_[cur];
    if (lstm()) dc0 = dc_[cur];
}

}  // namespace fusedrnn
