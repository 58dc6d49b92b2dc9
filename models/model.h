// fusedrnn — the models: a recurrent stack with a head, over one flat parameter buffer.
//
//   Forecaster     many-to-one: x [T, N, C] → head(y[T-1]) [N, O]  (direct multi-output regression), or
//                  encoder-decoder (seq2seq): the encoder's final state starts a decoder that predicts one lead
//                  time per step from the previous one (models/seq2seq_decoder.h)
//   SequenceModel  many-to-many: x [T, N, C] (or token ids [T, N] through an Embedding) →
//                  head(y[t]) [T, N, O] for every step; the language model and seq tagging shapes
//
// Parameter names follow PyTorch: "embedding.weight", "rnn.weight_ih_l0", …, "head.weight", "head.bias",
// so `model.load_state_dict(safetensors.torch.load_file(path))` works for an equivalent torch module.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fusedrnn/models/dropout.h"
#include "fusedrnn/models/layers.h"
#include "fusedrnn/models/parameters.h"
#include "fusedrnn/models/seq2seq_decoder.h"

namespace fusedrnn {

class Model {
public:
    virtual ~Model() = default;
    ParamStore& params() { return *params_; }
    const ParamStore& params() const { return *params_; }
    Backend<float>& backend() const { return params_->backend(); }
    void zero_grad() { params_->zero_grad(); }

    virtual std::string kind() const = 0;        // "forecaster" | "sequence"
    virtual nlohmann::json config() const = 0;   // enough to rebuild the model (stored in checkpoints)

    // Dropout in training (models/dropout.h says where each model applies it): 0 <= p < 1, 0 = none. Kept in
    // config() when p > 0.
    virtual void set_dropout(float p) = 0;
    float dropout() const { return dropout_; }
    // Variational ("locked") dropout: every mask the model draws is the same at every time step of a sequence
    // (Gal & Ghahramani 2016; AWD-LSTM's LockedDropout) rather than fresh per step. Kept in config() as
    // "dropout_locked" when set (with p > 0).
    void set_dropout_locked(bool locked) {
        dropout_locked_ = locked;
        set_dropout(dropout_);
    }
    bool dropout_locked() const { return dropout_locked_; }
    // The masks the next training forward draws (a trainer sets this before every step; see DropoutDraw).
    void set_dropout_draw(const DropoutDraw& draw) { draw_ = draw; }
    const DropoutDraw& dropout_draw() const { return draw_; }

protected:
    // The draw of a training forward; the next one draws the following step's masks.
    DropoutDraw next_dropout_draw() {
        const DropoutDraw d = draw_;
        ++draw_.step;
        return d;
    }

    std::unique_ptr<ParamStore> params_;
    float dropout_ = 0;
    bool dropout_locked_ = false;
    DropoutDraw draw_;
};

RnnSpec spec_from_json(const nlohmann::json& j);
// The parameters a model config (Model::config(), a checkpoint's metadata) declares, built without allocating them:
// what a checkpoint's tensors are checked against before the model is (check_declared_parameters).
ParamLayout declared_layout(const nlohmann::json& config);
nlohmann::json spec_to_json(const RnnSpec& spec);

// An encoder-decoder forecaster's shape: the decoder predicts the K variables one lead time per step.
struct Seq2SeqShape {
    int horizon = 0;
    std::vector<int32_t> target_inputs;  // K: the input column holding each predicted variable
};

class Forecaster : public Model {
public:
    // Direct: outputs O = horizon × target variables from the encoder's summary of the window: the last step's
    // output, which for a bidirectional stack is each direction's final state (the forward direction's output at the
    // last step beside the reverse direction's at the first, as torch's h_n[-2:], not output[-1], whose reverse half
    // has seen one step). Parameters drawn from `seed` (PyTorch's default init).
    Forecaster(std::shared_ptr<Backend<float>> backend, const RnnSpec& spec, int outputs, uint64_t seed);
    // Encoder-decoder: the encoder `spec` (unidirectional) and a decoder of the same cell, hidden size and layers
    // over the K predicted variables; O = horizon × K.
    Forecaster(std::shared_ptr<Backend<float>> backend, const RnnSpec& spec, const Seq2SeqShape& seq2seq,
               uint64_t seed);
    static std::unique_ptr<Forecaster> from_config(std::shared_ptr<Backend<float>> backend, const nlohmann::json& c);

    const RnnSpec& spec() const { return rnn_.spec(); }
    int outputs() const { return outputs_; }
    bool seq2seq() const { return seq2seq_; }
    // An encoder-decoder's horizon and the input columns it feeds back (horizon 0, no columns, for a direct model).
    Seq2SeqShape seq2seq_shape() const;
    std::string decoder_name() const { return seq2seq_ ? "seq2seq" : "direct"; }
    std::string kind() const override { return "forecaster"; }
    nlohmann::json config() const override;
    // Between stacked layers (torch.nn.LSTM's `dropout`): the encoder's, and an encoder-decoder's decoder's at every
    // lead time; one layer has nowhere to apply it.
    void set_dropout(float p) override;

    // x [T, N, C] → prediction [N, O]. Valid until the next forward. teacher: for an encoder-decoder in
    // training, which lead times are fed the observed value instead of the prediction (ignored otherwise).
    Tensor<float> forward(const Tensor<float>& x, bool training, const TeacherForcing* teacher = nullptr);
    // dpred [N, O]: accumulates parameter gradients.
    void backward(const Tensor<float>& dpred);

private:
    // The step whose reverse-direction output a bidirectional direct head reads: 0, its final state. Checkpoints
    // from before 0.3 have no "bidirectional_head" and were trained on the last step's (T - 1); they keep it, and
    // their config leaves the key out as theirs did.
    bool reverse_head_reads_last_step_ = false;
    int reverse_head_step() const { return reverse_head_reads_last_step_ ? T_ - 1 : 0; }
    bool seq2seq_ = false;
    int outputs_ = 0;
    RecurrentStack rnn_;
    Linear head_;            // direct
    Seq2SeqDecoder decoder_; // seq2seq
    Tensor<float> last_, head_input_, dy_;  // head_input_: a bidirectional stack's two final states side by side
    Tensor<float> hn_, cn_, dhn_, dcn_;  // seq2seq: the encoder's final state and its gradient
    int T_ = 0;
};

class SequenceModel : public Model {
public:
    // vocab > 0: the input is token ids through an Embedding of size spec.input_size (language model);
    // vocab = 0: the input is features [T, N, C].
    SequenceModel(std::shared_ptr<Backend<float>> backend, const RnnSpec& spec, int vocab, int outputs,
                  uint64_t seed);
    static std::unique_ptr<SequenceModel> from_config(std::shared_ptr<Backend<float>> backend,
                                                      const nlohmann::json& c);

    const RnnSpec& spec() const { return rnn_.spec(); }
    int vocab() const { return vocab_; }
    int outputs() const { return head_.out(); }
    std::string kind() const override { return "sequence"; }
    nlohmann::json config() const override;
    // On the embedding's output, between stacked layers and on the last layer's output before the head.
    void set_dropout(float p) override;

    struct State {
        Tensor<float> h, c;  // [L·D, N, H] each; empty = zeros
    };
    // Features x [T, N, C] → outputs [T·N, O] (row t·N + n). `state` in: initial state (may be empty);
    // out: final state, detached — feeding it to the next call is truncated BPTT.
    Tensor<float> forward(const Tensor<float>& x, State& state, bool training);
    // Token ids [T, N] (int32 on the backend's device) → logits [T·N, V].
    Tensor<float> forward_tokens(const Tensor<int32_t>& ids, State& state, bool training);
    // The same with the initial and final states apart: the final state is written into `final`, whose
    // tensors keep their memory when their shape fits (else they are made), so a loop that alternates two
    // States (or keeps one for a final state it ignores) allocates nothing per step. initial and final
    // must not share memory.
    Tensor<float> forward(const Tensor<float>& x, const State& initial, State& final, bool training);
    Tensor<float> forward_tokens(const Tensor<int32_t>& ids, const State& initial, State& final, bool training);
    // doutputs [T·N, O]: accumulates parameter gradients (nothing flows into the initial state).
    void backward(const Tensor<float>& doutputs);

private:
    // forward's body, with the draw the caller took (forward_tokens takes one for the embedding and this).
    Tensor<float> forward_features(const Tensor<float>& x, const State& initial, State& final, bool training,
                                   const DropoutDraw& draw);

    int vocab_ = 0;
    Embedding embedding_;
    RecurrentStack rnn_;
    Linear head_;
    Dropout embedding_drop_, output_drop_;
    bool dropped_ = false;  // the last forward applied dropout (training with p > 0)
    int T_ = 0, N_ = 0;
};

}  // namespace fusedrnn
