#include "models/seq2seq_decoder.h"

#include <utility>

#include "models/layers.h"

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
      rnn_offset_(rnn_offset),
      head_w_(head_weight),
      head_b_(head_bias) {
    spec_.validate();
    FR_CHECK(horizon_ > 0, "seq2seq decoder: the horizon must be positive, got {}", horizon_);
    FR_CHECK(!spec_.bidirectional, "seq2seq decoder: the decoder runs forward in time (not bidirectional)");
    FR_CHECK(!target_inputs_.empty() && spec_.input_size == int(target_inputs_.size()),
             "seq2seq decoder: its input size {} must equal the number of predicted variables {}", spec_.input_size,
             target_inputs_.size());
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

template <class Args>
void Seq2SeqDecoder::point_at_step(Args& a, ParamStore& params, int t) {
    a.T = 1;
    a.N = N_;
    a.x = inputs_.data() + size_t(t) * in_step_;
    a.h0 = h_.data() + size_t(t) * state_step_;
    a.c0 = lstm() ? c_.data() + size_t(t) * state_step_ : nullptr;
    a.weights = params.values() + rnn_offset_;
    a.y = outputs_.data() + size_t(t) * out_step_;
    a.reserve = has_reserve_ ? reserve_.data() + size_t(t) * reserve_step_ : nullptr;
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
    out_step_ = aligned(size_t(N_ * H));
    ensure_shape(be, inputs_, {long(horizon_ * in_step_)});
    ensure_shape(be, step_pred_, {long(horizon_ * in_step_)});
    ensure_shape(be, h_, {long((horizon_ + 1) * state_step_)});
    if (lstm()) ensure_shape(be, c_, {long((horizon_ + 1) * state_step_)});
    ensure_shape(be, outputs_, {long(horizon_ * out_step_)});
    ensure_shape(be, pred_, {N_, long(horizon_) * K});
    has_reserve_ = training;
    if (training) {
        reserve_step_ = aligned(be.rnn_reserve_size(spec_, 1, N_));
        ensure_shape(be, reserve_, {long(horizon_ * reserve_step_)});
    }
    be.copy_device(h_.data(), h0.data(), state_elems() * sizeof(float));
    if (lstm()) be.copy_device(c_.data(), c0.data(), state_elems() * sizeof(float));
    first_input(be, x_last);

    const float* W = params.values() + head_w_;
    const float* b = params.values() + head_b_;
    for (int t = 0; t < horizon_; ++t) {
        RnnForwardArgs<float> a;
        point_at_step(a, params, t);
        a.hn = h_.data() + size_t(t + 1) * state_step_;
        a.cn = lstm() ? c_.data() + size_t(t + 1) * state_step_ : nullptr;
        be.rnn_forward(spec_, a);

        float* p = step_pred_.data() + size_t(t) * in_step_;
        be.linear_forward(N_, int(H), int(K), a.y, W, b, p);
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
    FR_CHECK(has_reserve_, "seq2seq decoder: backward needs a training forward before it (one backward per forward)");
    Backend<float>& be = params.backend();
    const long K = long(target_inputs_.size()), H = spec_.hidden_size, L = spec_.num_layers;
    check_shape(dpred.shape(), pred_.shape(), "seq2seq decoder: gradient of the prediction");
    ensure_shape(be, dstep_, {N_, K});
    ensure_shape(be, dfeed_, {N_, K});
    ensure_shape(be, dout_, {N_, H});
    const Shape state{L, N_, H};
    for (auto* d : {&dh_[0], &dh_[1]}) ensure_shape(be, *d, state);
    if (lstm())
        for (auto* d : {&dc_[0], &dc_[1]}) ensure_shape(be, *d, state);

    // Backwards through the lead times. The state gradient ping-pongs between two buffers (dhn of step t is
    // dh0 of step t + 1; a backend need not accept them aliased); dfeed_ carries the gradient of step t + 1's
    // input back to step t's prediction when that input was the prediction.
    int cur = 0;
    for (int t = horizon_ - 1; t >= 0; --t) {
        copy_lead_out(be, dpred.data(), t, dstep_.data());
        const bool fed_forward = t + 1 < horizon_ && !truth_[size_t(t + 1)];
        if (fed_forward) be.axpy(dstep_.numel(), 1.0f, dfeed_.data(), dstep_.data());
        RnnBackwardArgs<float> a;
        point_at_step(a, params, t);
        be.linear_backward(N_, int(H), int(K), a.y, params.values() + head_w_, dstep_.data(), dout_.data(),
                           params.grads() + head_w_, params.grads() + head_b_);
        a.dy = dout_.data();
        a.dhn = t + 1 < horizon_ ? dh_[cur].data() : nullptr;  // nothing flows out of the last state
        a.dcn = lstm() && t + 1 < horizon_ ? dc_[cur].data() : nullptr;
        a.dx = t > 0 && !truth_[size_t(t)] ? dfeed_.data() : nullptr;  // into step t - 1's prediction
        a.dh0 = dh_[1 - cur].data();
        a.dc0 = lstm() ? dc_[1 - cur].data() : nullptr;
        a.dweights = params.grads() + rnn_offset_;
        be.rnn_backward(spec_, a);
        cur = 1 - cur;
    }
    has_reserve_ = false;  // one backward per forward (a backend may use the reserve as scratch)
    dh0 = dh_[cur];
    if (lstm()) dc0 = dc_[cur];
}

}  // namespace fusedrnn
