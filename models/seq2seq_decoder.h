// fusedrnn — the decoder of an encoder-decoder (sequence-to-sequence) Forecaster.
//
// The encoder's final state starts a decoder stack that runs one step per lead time. Its input at lead time 0
// is the last observed value of the K predicted variables; after that, its own previous prediction (free
// running), or in training with teacher forcing the observed value at the previous lead time. A linear head
// maps each step's top-layer output to the K variables. Gradients flow back through the fed-back predictions
// (backpropagation through the whole decoding) and out of the decoder's initial state into the encoder.
// Each lead time is one call of a RecurrentStack of its own (T = 1), which keeps that step's activations for the
// backward; with dropout a training step of two or more layers runs layer by layer, masking between the layers
// with a fresh mask per lead time (as a PyTorch loop calling nn.LSTM(dropout=p) once per lead time draws).
//
// The PyTorch equivalent (parameters "decoder.weight_ih_l0", …, "head.weight" [K, H], "head.bias" [K]):
//   decoder = nn.LSTM(K, H, L); head = nn.Linear(H, K)
//   inp = x[-1, :, target_inputs]
//   for t in range(horizon):
//       out, state = decoder(inp[None], state); pred[t] = head(out[0]); inp = pred[t]  (or the truth)
//
// Shape legend: N batch, F input variables, K predicted variables, H hidden, L layers.
#pragma once

#include <cstdint>
#include <vector>

#include "fusedrnn/core/backend.h"
#include "fusedrnn/models/dropout.h"
#include "fusedrnn/models/layers.h"
#include "fusedrnn/models/parameters.h"

namespace fusedrnn {

// Which lead times of a training batch take the observed value of the previous lead time as input
// (teacher forcing) instead of the model's own prediction.
struct TeacherForcing {
    const Tensor<float>* y = nullptr;  // [N, horizon·K] the batch's targets (column h·K + k)
    std::vector<uint8_t> use_truth;    // [horizon]; use_truth[t] for t >= 1 (lead time 0 always starts from the
                                       // last observation)
};

class Seq2SeqDecoder {
public:
    Seq2SeqDecoder() = default;
    // spec: the decoder stack (input K = target_inputs.size(), unidirectional). target_inputs[k]: the input
    // column (of F) that holds predicted variable k. Parameters at the given offsets of the model's ParamStore.
    Seq2SeqDecoder(const RnnSpec& spec, int horizon, std::vector<int32_t> target_inputs, size_t rnn_offset,
                   size_t head_weight, size_t head_bias);

    const RnnSpec& spec() const { return spec_; }
    int horizon() const { return horizon_; }
    int variables() const { return int(target_inputs_.size()); }
    const std::vector<int32_t>& target_inputs() const { return target_inputs_; }

    // x_last [N, F]: the encoder's last input step; h0 / c0 [L, N, H]: the encoder's final state (c0 empty
    // unless LSTM). → prediction [N, horizon·K] (column h·K + k), valid until the next forward. `training`
    // keeps what backward needs; teacher (training only) may be null.
    Tensor<float> forward(ParamStore& params, const Tensor<float>& x_last, const Tensor<float>& h0,
                          const Tensor<float>& c0, bool training, const TeacherForcing* teacher);
    // dpred [N, horizon·K]: accumulates the decoder's and the head's weight gradients; returns in dh0 / dc0
    // (made or reused) the gradient of the loss with respect to the initial state.
    void backward(ParamStore& params, const Tensor<float>& dpred, Tensor<float>& dh0, Tensor<float>& dc0);

    // Dropout between the decoder's stacked layers at every lead time (nothing with one layer): lead time t masks
    // layer l's output at site first_site + t·(L − 1) + l, so no two places share a mask; locked, every lead time
    // masks layer l at site first_site + l, the same mask along the decoded sequence (variational dropout).
    void set_dropout(float p, uint32_t first_site, bool locked = false);
    // The masks the next training forward draws (the Forecaster passes its draw to the encoder and the decoder).
    void set_dropout_draw(const DropoutDraw& draw) { draw_ = draw; }

private:
    bool lstm() const { return has_cell_state(spec_.cell); }
    size_t state_elems() const { return size_t(spec_.num_layers) * size_t(N_) * size_t(spec_.hidden_size); }
    void first_input(Backend<float>& be, const Tensor<float>& x_last);
    // Columns [t·K, (t+1)·K) of a [N, horizon·K] matrix ⇄ a contiguous [N, K] block.
    void copy_lead_out(Backend<float>& be, const float* wide, int t, float* narrow);
    void copy_lead_in(Backend<float>& be, const float* narrow, int t, float* wide);
    // Step t's slices of the buffers below: its input [1, N, K], and the [L, N, H] states before step t.
    Tensor<float> input_at(int t) const;
    Tensor<float> state_at(const Tensor<float>& states, int t) const;

    RnnSpec spec_;
    int horizon_ = 0;
    std::vector<int32_t> target_inputs_;
    size_t head_w_ = 0, head_b_ = 0;
    std::vector<RecurrentStack> steps_;  // steps_[t]: lead time t's call of the stack, over the decoder's parameters
    DropoutDraw draw_;

    // From the last forward: N, whether it was a training one, which steps took the truth, and per step its input,
    // states and top-layer output.
    int N_ = 0;
    bool trained_ = false;
    std::vector<uint8_t> truth_;
    // Elements from one step's slice to the next (each rounded up to 256 bytes) in the buffers below.
    size_t in_step_ = 0, state_step_ = 0;
    Tensor<float> inputs_;     // [horizon, N, K]
    Tensor<float> h_, c_;      // [horizon + 1, L, N, H]: the state before step t at index t
    std::vector<Tensor<float>> tops_;  // [horizon] of [1, N, H]: each step's top-layer output (its stack's)
    Tensor<float> step_pred_;  // [horizon, N, K] the head's output per step
    Tensor<float> pred_;       // [N, horizon·K]
    // backward scratch
    Tensor<float> dstep_, dout_, dh_[2], dc_[2];
};

}  // namespace fusedrnn
