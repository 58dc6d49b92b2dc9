#include "fusedrnn/models/model.h"

#include <algorithm>
#include <limits>
#include <map>
#include <vector>

#include "fusedrnn/core/detail/json_error.h"

namespace fusedrnn {

nlohmann::json spec_to_json(const RnnSpec& spec) {
    return {{"cell", cell_name(spec.cell)},
            {"input_size", spec.input_size},
            {"hidden_size", spec.hidden_size},
            {"num_layers", spec.num_layers},
            {"bidirectional", spec.bidirectional}};
}

namespace {

// obj[key] as an int, or an Error: nlohmann's get<int>() would truncate 8.7 to 8 and turn 1e12 into anything.
// `v` as an int, named `what` in the error when it is not a whole number in int range (1.7, 1e12, "3").
int json_int(const nlohmann::json& v, const std::string& what) {
    const bool fits = v.is_number_unsigned() ? v.get<uint64_t>() <= uint64_t(std::numeric_limits<int>::max())
                                             : v.is_number_integer() &&
                                                   v.get<int64_t>() >= std::numeric_limits<int>::min() &&
                                                   v.get<int64_t>() <= std::numeric_limits<int>::max();
    FR_CHECK(fits, "{} in the model config is {}, not a whole number of int range", what, v.dump());
    return int(v.get<int64_t>());
}

// Runs a model's forward; when it fails part-way the layers hold parts of two passes, so no backward may follow it
// (one would add some gradients, then fail, leaving them half-changed): the stack forgets its forward.
template <class F>
auto forgetting_a_failed_forward(RecurrentStack& rnn, F&& forward) {
    try {
        return forward();
    } catch (...) {
        rnn.discard_forward();
        throw;
    }
}

int config_int(const nlohmann::json& obj, const char* key) { return json_int(obj.at(key), fmt::format("'{}'", key)); }

// A bidirectional direct forecaster's "bidirectional_head" in its config: what its head reads.
// Absent (as 0.2 wrote it): the last step's output. A legacy model's config leaves it out again, so that its
// checkpoints load back into it (their configs are compared).
constexpr const char* kBidirectionalHead = "final_states";  // each direction's final state

// Between a bidirectional stack's outputs [T, N, 2H] and its head's input [N, 2H]: the forward direction's columns
// [0, H) at step `forward_step` and the reverse direction's [H, 2H) at `reverse_step`. Gathered into `head` for the
// forward pass; scattered from it into the steps (the rest left as they are) for the backward.
enum class ColumnsTo { Head, Steps };
void move_direction_columns(Backend<float>& be, ColumnsTo to, float* head, float* steps, long N, long H,
                            int forward_step, int reverse_step) {
    const size_t pitch = size_t(2 * H) * sizeof(float), width = size_t(H) * sizeof(float);
    const struct { float* at_step; float* in_head; } parts[] = {
        {steps + size_t(forward_step) * N * 2 * H, head},
        {steps + size_t(reverse_step) * N * 2 * H + H, head + H},
    };
    for (const auto& p : parts) {
        if (to == ColumnsTo::Head) be.copy_device_2d(p.in_head, pitch, p.at_step, pitch, width, size_t(N));
        else be.copy_device_2d(p.at_step, pitch, p.in_head, pitch, width, size_t(N));
    }
}

}  // namespace

RnnSpec spec_from_json(const nlohmann::json& j) {
    try {
        RnnSpec s;
        s.cell = parse_cell(j.at("cell").get<std::string>());
        s.input_size = config_int(j, "input_size");
        s.hidden_size = config_int(j, "hidden_size");
        s.num_layers = config_int(j, "num_layers");
        s.bidirectional = j.at("bidirectional").get<bool>();
        s.validate();
        return s;
    } catch (const nlohmann::json::exception& e) {
        FR_FAIL("invalid model spec in checkpoint metadata: {}", detail::json_access_problem(e));  // in words (QA)
    }
}

namespace {

// Bounds for init_uniform, one per layout entry: embedding U(-1, 1) (unit scale, like N(0, 1)),
// the recurrent stack U(-1/√H, 1/√H) (PyTorch's RNN init), the head U(-1/√in, 1/√in) (nn.Linear).
std::vector<float> init_bounds(const ParamLayout& layout, float rnn_bound, float head_bound) {
    std::vector<float> b;
    for (const auto& e : layout.entries()) {
        if (e.name.rfind("rnn.", 0) == 0 || e.name.rfind("decoder.", 0) == 0) b.push_back(rnn_bound);
        else if (e.name.rfind("head.", 0) == 0) b.push_back(head_bound);
        else b.push_back(1.0f);
    }
    return b;
}

// Checkpoints written before dropout existed, and models without it, have no "dropout".
float dropout_from_config(const nlohmann::json& c) {
    try {
        return c.value("dropout", 0.0f);
    } catch (const nlohmann::json::exception& e) {
        FR_FAIL("invalid dropout in checkpoint metadata: {}", e.what());
    }
}

void add_dropout_to_config(nlohmann::json& c, float p, bool locked) {
    if (p > 0) c["dropout"] = p;
    if (p > 0 && locked) c["dropout_locked"] = true;
}

// The rate and its kind, from a config written by add_dropout_to_config (older ones have neither).
void set_dropout_from_config(Model& m, const nlohmann::json& c) {
    try {
        m.set_dropout_locked(c.value("dropout_locked", false));
    } catch (const nlohmann::json::exception& e) {
        FR_FAIL("invalid dropout_locked in checkpoint metadata: {}", e.what());
    }
    m.set_dropout(dropout_from_config(c));
}

// Each model's parameters, PyTorch's names and order; the constructors and declared_layout share them, so what a
// checkpoint is checked against before a model is built is exactly what the model would allocate.
ParamLayout direct_forecaster_layout(const RnnSpec& spec, int outputs) {
    FR_CHECK(outputs > 0, "Forecaster: outputs must be positive, got {}", outputs);
    ParamLayout layout;
    layout.append(rnn_param_layout(spec), "rnn.");
    layout.add("head.weight", {outputs, spec.output_size()});
    layout.add("head.bias", {outputs});
    return layout;
}

// An encoder-decoder's decoder: the encoder's cell, hidden size and layers over the K predicted variables.
RnnSpec decoder_spec(const RnnSpec& encoder, int K) {
    return {encoder.cell, K, encoder.hidden_size, encoder.num_layers, false};
}

ParamLayout seq2seq_forecaster_layout(const RnnSpec& spec, int K) {
    ParamLayout layout;
    layout.append(rnn_param_layout(spec), "rnn.");
    layout.append(rnn_param_layout(decoder_spec(spec, K)), "decoder.");
    layout.add("head.weight", {K, spec.hidden_size});
    layout.add("head.bias", {K});
    return layout;
}

ParamLayout sequence_model_layout(const RnnSpec& spec, int vocab, int outputs) {
    FR_CHECK(vocab >= 0, "SequenceModel: vocab must be >= 0, got {}", vocab);
    FR_CHECK(outputs > 0, "SequenceModel: outputs must be positive, got {}", outputs);
    ParamLayout layout;
    if (vocab > 0) layout.add("embedding.weight", {vocab, spec.input_size});
    layout.append(rnn_param_layout(spec), "rnn.");
    layout.add("head.weight", {outputs, spec.output_size()});
    layout.add("head.bias", {outputs});
    return layout;
}

}  // namespace

ParamLayout declared_layout(const nlohmann::json& c) {
    FR_CHECK(c.is_object() && c.contains("kind") && c.at("kind").is_string(), "checkpoint metadata has no model kind");
    const std::string kind = c.at("kind").get<std::string>();
    try {
        const RnnSpec spec = spec_from_json(c.at("spec"));
        if (kind == "sequence") return sequence_model_layout(spec, config_int(c, "vocab"), config_int(c, "outputs"));
        FR_CHECK(kind == "forecaster", "checkpoint holds a '{}' model, not a forecaster or a sequence model", kind);
        const std::string decoder = c.value("decoder", "direct");  // checkpoints before seq2seq have no "decoder"
        if (decoder == "direct") return direct_forecaster_layout(spec, config_int(c, "outputs"));
        FR_CHECK(decoder == "seq2seq", "checkpoint names an unknown forecaster decoder '{}' (known: direct, seq2seq)",
                 decoder);
        const size_t K = c.at("target_inputs").size();
        FR_CHECK(K > 0 && K <= size_t(std::numeric_limits<int>::max()), "the checkpoint's seq2seq forecaster "
                 "predicts {} variables", K);
        return seq2seq_forecaster_layout(spec, int(K));
    } catch (const nlohmann::json::exception& e) {
        FR_FAIL("invalid {} in checkpoint metadata: {}", kind == "sequence" ? "sequence model" : kind, e.what());
    }
}

// ---- Forecaster ----------------------------------------------------------------------------------------

Forecaster::Forecaster(std::shared_ptr<Backend<float>> backend, const RnnSpec& spec, int outputs, uint64_t seed)
    : outputs_(outputs) {
    spec.validate();
    const ParamLayout layout = direct_forecaster_layout(spec, outputs);
    params_ = std::make_unique<ParamStore>(std::move(backend), layout);
    rnn_ = RecurrentStack(spec, layout.at("rnn.weight_ih_l0").offset);
    head_ = Linear(spec.output_size(), outputs, layout.at("head.weight").offset, layout.at("head.bias").offset);
    params_->init_uniform(seed, init_bounds(layout, rnn_.init_bound(), head_.init_bound()));
}

Forecaster::Forecaster(std::shared_ptr<Backend<float>> backend, const RnnSpec& spec, const Seq2SeqShape& shape,
                       uint64_t seed)
    : seq2seq_(true) {
    spec.validate();
    const int K = int(shape.target_inputs.size());
    FR_CHECK(!spec.bidirectional,
             "an encoder-decoder forecaster needs a unidirectional encoder (its final state starts the decoder): "
             "drop --bidirectional, or use --decoder direct");
    FR_CHECK(shape.horizon > 0 && K > 0, "Forecaster: a seq2seq decoder needs a horizon and predicted variables, got "
             "horizon {} and {} variables", shape.horizon, K);
    for (size_t k = 0; k < shape.target_inputs.size(); ++k) {
        const int32_t col = shape.target_inputs[k];
        FR_CHECK(col >= 0 && col < spec.input_size,
                 "Forecaster: a predicted variable is input column {}, but the encoder has {} inputs", col,
                 spec.input_size);
        // As the command line refuses a target listed twice (QA: the API built one, each lead predicting it twice).
        for (size_t j = 0; j < k; ++j)
            FR_CHECK(shape.target_inputs[j] != col, "Forecaster: input column {} is predicted twice (target_inputs "
                     "{} and {}): list each predicted variable once", col, j, k);
    }
    FR_CHECK(int64_t(shape.horizon) * K <= std::numeric_limits<int>::max(),
             "Forecaster: horizon {} x {} variables is too many outputs", shape.horizon, K);
    outputs_ = shape.horizon * K;
    const ParamLayout layout = seq2seq_forecaster_layout(spec, K);
    const size_t w = layout.at("head.weight").offset, b = layout.at("head.bias").offset;
    params_ = std::make_unique<ParamStore>(std::move(backend), layout);
    rnn_ = RecurrentStack(spec, layout.at("rnn.weight_ih_l0").offset);
    decoder_ = Seq2SeqDecoder(decoder_spec(spec, K), shape.horizon, shape.target_inputs,
                              layout.at("decoder.weight_ih_l0").offset, w, b);
    const Linear head(spec.hidden_size, K, w, b);  // for its init bound only
    params_->init_uniform(seed, init_bounds(layout, rnn_.init_bound(), head.init_bound()));
}

std::unique_ptr<Forecaster> Forecaster::from_config(std::shared_ptr<Backend<float>> backend, const nlohmann::json& c) {
    try {
        FR_CHECK(c.value("kind", "") == "forecaster", "checkpoint holds a '{}' model, not a forecaster",
                 c.value("kind", "unknown"));
        const std::string decoder = c.value("decoder", "direct");  // checkpoints before seq2seq have no "decoder"
        if (decoder == "direct") {
            auto f = std::make_unique<Forecaster>(std::move(backend), spec_from_json(c.at("spec")),
                                                  config_int(c, "outputs"), 0);
            if (f->spec().bidirectional) {
                const bool legacy = !c.contains("bidirectional_head");
                const std::string head = legacy ? std::string() : c.at("bidirectional_head").get<std::string>();
                FR_CHECK(legacy || head == kBidirectionalHead, "checkpoint names an unknown bidirectional_head '{}' "
                         "(known: {}, or none for the last step's output of 0.2)", head, kBidirectionalHead);
                f->reverse_head_reads_last_step_ = legacy;
            }
            set_dropout_from_config(*f, c);
            return f;
        }
        FR_CHECK(decoder == "seq2seq", "checkpoint names an unknown forecaster decoder '{}' (known: direct, seq2seq)",
                 decoder);
        Seq2SeqShape shape;
        shape.horizon = config_int(c, "horizon");
        const nlohmann::json& inputs = c.at("target_inputs");
        FR_CHECK(inputs.is_array(), "'target_inputs' in the model config is {}, not a list", inputs.dump());
        for (size_t k = 0; k < inputs.size(); ++k)
            shape.target_inputs.push_back(json_int(inputs[k], fmt::format("'target_inputs'[{}]", k)));
        auto f = std::make_unique<Forecaster>(std::move(backend), spec_from_json(c.at("spec")), shape, 0);
        FR_CHECK(f->outputs() == config_int(c, "outputs"),
                 "invalid seq2seq forecaster in checkpoint metadata: {} outputs, but horizon {} x {} variables",
                 config_int(c, "outputs"), shape.horizon, shape.target_inputs.size());
        set_dropout_from_config(*f, c);
        return f;
    } catch (const nlohmann::json::exception& e) {
        // In words (QA: nlohmann's "[json.exception.out_of_range.403] key 'outputs' not found"): the config is a
        // checkpoint's metadata, or a program's own.
        FR_FAIL("invalid forecaster in checkpoint metadata (or in the config given to Forecaster::from_config): {}",
                detail::json_access_problem(e));
    }
}

Seq2SeqShape Forecaster::seq2seq_shape() const {
    if (!seq2seq_) return {};
    return {decoder_.horizon(), decoder_.target_inputs()};
}

nlohmann::json Forecaster::config() const {
    nlohmann::json c{{"kind", kind()}, {"spec", spec_to_json(spec())}, {"outputs", outputs()}};
    if (!seq2seq_ && spec().bidirectional && !reverse_head_reads_last_step_) c["bidirectional_head"] = kBidirectionalHead;
    if (seq2seq_) {
        c["decoder"] = "seq2seq";
        c["horizon"] = decoder_.horizon();
        c["target_inputs"] = decoder_.target_inputs();
    }
    add_dropout_to_config(c, dropout_, dropout_locked_);
    return c;
}

void Forecaster::set_dropout(float p) {
    rnn_.set_dropout(p, 1, dropout_locked_);  // sites 1 .. L − 1
    if (seq2seq_) decoder_.set_dropout(p, uint32_t(spec().num_layers), dropout_locked_);  // the decoder's sites follow
    dropout_ = p;
}

Tensor<float> Forecaster::forward(const Tensor<float>& x, bool training, const TeacherForcing* teacher) {
    return forgetting_a_failed_forward(rnn_, [&] {
        FR_CHECK(x.rank() == 3, "Forecaster::forward: the input must be [T, N, C], got {}", shape_str(x.shape()));
        T_ = int(x.dim(0));
        if (training) {
            const DropoutDraw draw = next_dropout_draw();
            rnn_.set_dropout_draw(draw);
            if (seq2seq_) decoder_.set_dropout_draw(draw);
        }
        const long N = x.dim(1), F = spec().output_size();
        if (seq2seq_) {
            // The final state is written into hn_/cn_, reused from step to step (nothing allocated per step).
            rnn_.forward_into(*params_, x, Tensor<float>(), Tensor<float>(), training, hn_, cn_);
            const Tensor<float> x_last = x.view(size_t(T_ - 1) * N * x.dim(2), {N, x.dim(2)});
            return decoder_.forward(*params_, x_last, hn_, cn_, training, teacher);
        }
        // Only y is read: no final state, so a training step allocates (and frees) no device memory.
        auto out = rnn_.forward(*params_, x, Tensor<float>(), Tensor<float>(), training, false);
        last_ = out.y.view(size_t(T_ - 1) * N * F, {N, F});  // the last step's output, [N, D·H]
        if (!spec().bidirectional) return head_.forward(*params_, last_);
        ensure_shape(backend(), head_input_, {N, F});
        move_direction_columns(backend(), ColumnsTo::Head, head_input_.data(), out.y.data(), N, spec().hidden_size,
                               T_ - 1, reverse_head_step());
        return head_.forward(*params_, head_input_);
    });
}

void Forecaster::backward(const Tensor<float>& dpred) {
    // Before any gradient is added: a backward that fails must leave them as they were.
    rnn_.check_ready_for_backward();
    if (seq2seq_) {
        decoder_.backward(*params_, dpred, dhn_, dcn_);
        // The encoder's outputs feed nothing but its final state: dy is zero.
        rnn_.backward(*params_, Tensor<float>(), dhn_, has_cell_state(spec().cell) ? dcn_ : Tensor<float>(), false);
        return;
    }
    Tensor<float> dlast = head_.backward(*params_, dpred, true);
    const long N = dlast.dim(0), F = dlast.dim(1);
    // Only the steps the head read receive a gradient from it; the others get zeros.
    ensure_shape(backend(), dy_, {T_, N, F});
    backend().fill(dy_.numel(), dy_.data(), 0.0f);
    if (spec().bidirectional)
        move_direction_columns(backend(), ColumnsTo::Steps, dlast.data(), dy_.data(), N, spec().hidden_size, T_ - 1,
                               reverse_head_step());
    else
        backend().copy_device(dy_.data() + size_t(T_ - 1) * N * F, dlast.data(), size_t(N * F) * sizeof(float));
    rnn_.backward(*params_, dy_, Tensor<float>(), Tensor<float>(), false);
}

// ---- SequenceModel -----------------------------------------------------------------------------------

SequenceModel::SequenceModel(std::shared_ptr<Backend<float>> backend, const RnnSpec& spec, int vocab, int outputs,
                             uint64_t seed)
    : vocab_(vocab) {
    spec.validate();
    const ParamLayout layout = sequence_model_layout(spec, vocab, outputs);
    params_ = std::make_unique<ParamStore>(std::move(backend), layout);
    if (vocab > 0) embedding_ = Embedding(vocab, spec.input_size, layout.at("embedding.weight").offset);
    rnn_ = RecurrentStack(spec, layout.at("rnn.weight_ih_l0").offset);
    head_ = Linear(spec.output_size(), outputs, layout.at("head.weight").offset, layout.at("head.bias").offset);
    params_->init_uniform(seed, init_bounds(layout, rnn_.init_bound(), head_.init_bound()));
}

std::unique_ptr<SequenceModel> SequenceModel::from_config(std::shared_ptr<Backend<float>> backend,
                                                          const nlohmann::json& c) {
    try {
        FR_CHECK(c.value("kind", "") == "sequence", "checkpoint holds a '{}' model, not a sequence model",
                 c.value("kind", "unknown"));
        auto m = std::make_unique<SequenceModel>(std::move(backend), spec_from_json(c.at("spec")),
                                                 config_int(c, "vocab"), config_int(c, "outputs"), 0);
        set_dropout_from_config(*m, c);
        return m;
    } catch (const nlohmann::json::exception& e) {
        FR_FAIL("invalid sequence model in checkpoint metadata: {}", e.what());
    }
}

nlohmann::json SequenceModel::config() const {
    nlohmann::json c{{"kind", kind()}, {"spec", spec_to_json(spec())}, {"vocab", vocab_}, {"outputs", outputs()}};
    add_dropout_to_config(c, dropout_, dropout_locked_);
    return c;
}

// Sites: 0 the embedding's output, 1 .. L − 1 between layers, L the last layer's output.
void SequenceModel::set_dropout(float p) {
    rnn_.set_dropout(p, 1, dropout_locked_);
    dropout_ = p;
    embedding_drop_ = Dropout(0, dropout_locked_);
    output_drop_ = Dropout(uint32_t(spec().num_layers), dropout_locked_);
}

Tensor<float> SequenceModel::forward(const Tensor<float>& x, State& state, bool training) {
    State final;  // fresh memory: the caller may hold on to the state it passed in
    Tensor<float> y = forward(x, state, final, training);
    state = final;
    return y;
}

Tensor<float> SequenceModel::forward(const Tensor<float>& x, const State& initial, State& final, bool training) {
    FR_CHECK(vocab_ == 0, "SequenceModel::forward: this model embeds a vocabulary of {} tokens: give it token ids "
             "(forward_tokens), not features", vocab_);
    return forward_features(x, initial, final, training, training ? next_dropout_draw() : draw_);
}

Tensor<float> SequenceModel::forward_features(const Tensor<float>& x, const State& initial, State& final,
                                              bool training, const DropoutDraw& draw) {
    return forgetting_a_failed_forward(rnn_, [&] {
        dropped_ = training && dropout_ > 0;
        rnn_.set_dropout_draw(draw);
        auto out = rnn_.forward_into(*params_, x, initial.h, initial.c, training, final.h, final.c);
        T_ = int(x.dim(0));
        N_ = int(x.dim(1));
        const Tensor<float> y = dropped_ ? output_drop_.forward(backend(), dropout_, draw, out.y) : out.y;
        return head_.forward(*params_, y.reshape({long(T_) * N_, spec().output_size()}));
    });
}

Tensor<float> SequenceModel::forward_tokens(const Tensor<int32_t>& ids, State& state, bool training) {
    State final;
    Tensor<float> logits = forward_tokens(ids, state, final, training);
    state = final;
    return logits;
}

Tensor<float> SequenceModel::forward_tokens(const Tensor<int32_t>& ids, const State& initial, State& final,
                                            bool training) {
    return forgetting_a_failed_forward(rnn_, [&] {
        FR_CHECK(vocab_ > 0, "forward_tokens: this model takes features, not token ids");
        FR_CHECK(ids.rank() == 2, "token ids must be [T, N], got {}", shape_str(ids.shape()));
        const DropoutDraw draw = training ? next_dropout_draw() : draw_;
        Tensor<float> x = embedding_.forward(*params_, ids).reshape({ids.dim(0), ids.dim(1), spec().input_size});
        if (training && dropout_ > 0) x = embedding_drop_.forward(backend(), dropout_, draw, x);
        return forward_features(x, initial, final, training, draw);
    });
}

void SequenceModel::backward(const Tensor<float>& doutputs) {
    rnn_.check_ready_for_backward();  // before any gradient is added
    Tensor<float> dy = head_.backward(*params_, doutputs, true).reshape({T_, N_, spec().output_size()});
    if (dropped_) output_drop_.backward(backend(), dy);
    Tensor<float> dx = rnn_.backward(*params_, dy, Tensor<float>(), Tensor<float>(), vocab_ > 0);
    if (vocab_ == 0) return;
    if (dropped_) embedding_drop_.backward(backend(), dx);
    embedding_.backward(*params_, dx.reshape({long(T_) * N_, spec().input_size}));
}

}  // namespace fusedrnn
