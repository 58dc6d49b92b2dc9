#include "fusedrnn/models/layers.h"

#include <cmath>
#include <limits>
#include <vector>

namespace fusedrnn {

void ensure_shape(Backend<float>& backend, Tensor<float>& t, const Shape& shape) {
    if (t.empty() || t.shape() != shape) t = backend.empty(shape);
}

namespace {

// A tensor given to a layer must live where its backend computes (a GPU kernel would take a host pointer for a
// device one). One with no memory at all (a default Tensor, "none") is the shape checks' business; one with a shape
// but no memory would be read through a null pointer.
template <class T>
void on_backend_device(const Tensor<T>& t, const Backend<float>& backend, const char* what) {
    if (t.storage()) check_device(t.device(), backend.device(), what);
    else FR_CHECK(t.shape().empty() || t.numel() == 0,
                  "{} has the shape {} but no memory (a Tensor made without storage)", what, shape_str(t.shape()));
}

}  // namespace

// ---- RecurrentStack --------------------------------------------------------------------------------

RecurrentStack::RecurrentStack(const RnnSpec& spec, size_t offset) : spec_(spec), offset_(offset) { spec_.validate(); }

float RecurrentStack::init_bound() const { return 1.0f / std::sqrt(float(spec_.hidden_size)); }

RecurrentStack::Output RecurrentStack::forward(ParamStore& params, const Tensor<float>& x, const Tensor<float>& h0,
                                               const Tensor<float>& c0, bool training, bool final_state) {
    // The final state is fresh memory every call (a caller may carry it into the next forward as h0/c0,
    // which must not alias hn/cn), so it is only made when asked for.
    Tensor<float> hn, cn;
    return run(params, x, h0, c0, training, final_state ? &hn : nullptr, &cn);
}

RecurrentStack::Output RecurrentStack::forward_into(ParamStore& params, const Tensor<float>& x,
                                                    const Tensor<float>& h0, const Tensor<float>& c0, bool training,
                                                    Tensor<float>& hn, Tensor<float>& cn) {
    return run(params, x, h0, c0, training, &hn, &cn);
}

RecurrentStack::Output RecurrentStack::run(ParamStore& params, const Tensor<float>& x, const Tensor<float>& h0,
                                           const Tensor<float>& c0, bool training, Tensor<float>* hn,
                                           Tensor<float>* cn) {
    Backend<float>& be = params.backend();
    // Whatever the last forward kept is gone now: a forward that fails leaves nothing for a backward to use.
    has_reserve_ = false;
    FR_CHECK(x.rank() == 3, "recurrent input must be [T, N, C], got {}", shape_str(x.shape()));
    on_backend_device(x, be, "the recurrent input x");
    on_backend_device(h0, be, "the initial hidden state h0");
    on_backend_device(c0, be, "the initial cell state c0");
    FR_CHECK(x.dim(2) == spec_.input_size, "recurrent input has {} features per step, but the model expects {} ({})",
             x.dim(2), spec_.input_size, spec_.describe());
    // The backends count steps and rows in int (cuDNN does): beyond that, refused before any is cut (QA: a batch of
    // 2^32 + 2 ran as 2).
    for (int k : {0, 1})
        FR_CHECK(x.dim(k) <= std::numeric_limits<int>::max(), "recurrent input {}: {} {} is more than the {} a "
                 "forward takes; split it", shape_str(x.shape()), k == 0 ? "sequence length" : "batch", x.dim(k),
                 std::numeric_limits<int>::max());
    const int T = int(x.dim(0)), N = int(x.dim(1));
    FR_CHECK(T > 0 && N > 0, "recurrent input {} has an empty dimension", shape_str(x.shape()));
    const Shape state{long(spec_.num_layers) * spec_.directions(), N, spec_.hidden_size};
    if (!h0.empty()) check_shape(h0.shape(), state, "initial hidden state h0");
    const bool lstm = has_cell_state(spec_.cell);
    if (!c0.empty()) {
        FR_CHECK(lstm, "initial cell state c0 given, but {} has no cell state", cell_name(spec_.cell));
        check_shape(c0.shape(), state, "initial cell state c0");
    }

    Output out;
    if (hn) {
        ensure_shape(be, *hn, state);
        if (lstm) ensure_shape(be, *cn, state);
        const auto shares = [](const Tensor<float>& a, const Tensor<float>& b) {
            return !a.empty() && !b.empty() && a.data() == b.data();
        };
        FR_CHECK(!shares(*hn, h0) && !(lstm && shares(*cn, c0)),
                 "the final state must not be written over the initial state (pass another State)");
        out.hn = *hn;
        if (lstm) out.cn = *cn;
    }
    x_ = x;
    h0_ = h0;
    c0_ = c0;
    layered_ = training && dropout_ > 0 && spec_.num_layers > 1;
    if (layered_) {
        run_layers(params, x, h0, c0, out, hn != nullptr);
        has_reserve_ = training;
        return out;
    }

    ensure_shape(be, y_, {T, N, spec_.output_size()});
    out.y = y_;
    RnnForwardArgs<float> a;
    a.T = T;
    a.N = N;
    a.x = x.data();
    a.h0 = h0.empty() ? nullptr : h0.data();
    a.c0 = c0.empty() ? nullptr : c0.data();
    a.weights = params.values() + offset_;
    a.y = y_.data();
    a.hn = hn ? out.hn.data() : nullptr;
    a.cn = hn && lstm ? out.cn.data() : nullptr;
    if (training) {
        ensure_shape(be, reserve_, {long(be.rnn_reserve_size(spec_, T, N))});
        a.reserve = reserve_.data();
    }
    be.rnn_forward(spec_, a);
    has_reserve_ = training;
    return out;
}

void RecurrentStack::set_dropout(float p, uint32_t first_site, bool locked) {
    check_dropout_rate(p, "dropout");
    dropout_ = p;
    locked_ = locked;
    first_site_ = first_site;
    layers_.clear();
    stages_ = StateStages();
    drops_.clear();
}

namespace {
// Layer l's [D, N, H] slice of a state [L·D, N, H] of `spec` (an empty state stays empty).
Tensor<float> layer_state(const RnnSpec& spec, const Tensor<float>& t, int l) {
    if (t.empty()) return Tensor<float>();
    const long D = spec.directions(), N = t.dim(1), H = spec.hidden_size;
    return t.view(size_t(l) * size_t(D * N * H), {D, N, H});
}

// Every tensor a backend allocates starts on a 256-byte boundary (cudaMalloc's alignment), but layer l's slice of a
// stacked state starts l·D·N·H floats in. cuDNN documents no alignment rule for its state arguments, and nothing
// here relies on it having none: a slice off the boundary is handed to the layer as an aligned buffer of the
// stack's own (a copy of an input; an output copied back afterwards). Decided by the offset alone, the same on
// every backend, so the CPU tests run the staged path at the sizes the GPU would.
constexpr size_t kBoundaryFloats = 256 / sizeof(float);

bool on_boundary(const RnnSpec& spec, const Tensor<float>& state, int l) {
    return size_t(l) * size_t(spec.directions()) * size_t(state.dim(1)) * size_t(spec.hidden_size) %
               kBoundaryFloats == 0;
}

// Layer l's slice of the input state `state`, or a copy of it in `stage` when off the boundary.
Tensor<float> layer_input_state(Backend<float>& be, const RnnSpec& spec, const Tensor<float>& state, int l,
                                Tensor<float>& stage) {
    Tensor<float> slice = layer_state(spec, state, l);
    if (slice.empty() || on_boundary(spec, state, l)) return slice;
    ensure_shape(be, stage, slice.shape());
    be.copy_device(stage.data(), slice.data(), slice.numel() * sizeof(float));
    return stage;
}

// Where layer l writes its slice of the output state `state`: the slice itself, or `stage` when off the boundary
// (copied into the slice by finish_layer_output_state).
Tensor<float> layer_output_state(Backend<float>& be, const RnnSpec& spec, const Tensor<float>& state, int l,
                                 Tensor<float>& stage) {
    Tensor<float> slice = layer_state(spec, state, l);
    if (slice.empty() || on_boundary(spec, state, l)) return slice;
    ensure_shape(be, stage, slice.shape());
    return stage;
}

void finish_layer_output_state(Backend<float>& be, const RnnSpec& spec, const Tensor<float>& state, int l,
                               const Tensor<float>& written) {
    const Tensor<float> slice = layer_state(spec, state, l);
    if (!slice.empty() && written.data() != slice.data())
        be.copy_device(slice.data(), written.data(), slice.numel() * sizeof(float));
}
}  // namespace

void RecurrentStack::run_layers(ParamStore& params, const Tensor<float>& x, const Tensor<float>& h0,
                                const Tensor<float>& c0, Output& out, bool final_state) {
    const int L = spec_.num_layers;
    if (layers_.empty()) {
        for (int l = 0; l < L; ++l) {
            RnnSpec one = spec_;
            one.num_layers = 1;
            if (l > 0) one.input_size = spec_.output_size();
            layers_.emplace_back(one, offset_ + rnn_weight_offsets(spec_, l, 0).w_ih);
            if (l + 1 < L) drops_.emplace_back(first_site_ + uint32_t(l), locked_);
        }
        stages_.h0.resize(size_t(L));
        stages_.c0.resize(size_t(L));
    }
    Backend<float>& be = params.backend();
    Tensor<float> in = x;
    for (int l = 0; l < L; ++l) {
        const Tensor<float> h0_l = layer_input_state(be, spec_, h0, l, stages_.h0[size_t(l)]);
        const Tensor<float> c0_l = layer_input_state(be, spec_, c0, l, stages_.c0[size_t(l)]);
        Output o;
        if (final_state) {
            Tensor<float> hn = layer_output_state(be, spec_, out.hn, l, stages_.hn);
            Tensor<float> cn = layer_output_state(be, spec_, out.cn, l, stages_.cn);
            o = layers_[size_t(l)].forward_into(params, in, h0_l, c0_l, true, hn, cn);
            finish_layer_output_state(be, spec_, out.hn, l, hn);
            finish_layer_output_state(be, spec_, out.cn, l, cn);
        } else {
            o = layers_[size_t(l)].forward(params, in, h0_l, c0_l, true, false);
        }
        if (l + 1 < L) in = drops_[size_t(l)].forward(params.backend(), dropout_, draw_, o.y);
        else out.y = o.y;
    }
}

Tensor<float> RecurrentStack::backward_layers(ParamStore& params, const Tensor<float>& dy, const Tensor<float>& dhn,
                                              const Tensor<float>& dcn, bool need_dx, Tensor<float>* dh0,
                                              Tensor<float>* dc0) {
    Backend<float>& be = params.backend();
    Tensor<float> g = dy;
    for (int l = spec_.num_layers - 1; l >= 0; --l) {
        Tensor<float> dh0_l = dh0 ? layer_output_state(be, spec_, *dh0, l, stages_.dh0) : Tensor<float>();
        Tensor<float> dc0_l = dc0 ? layer_output_state(be, spec_, *dc0, l, stages_.dc0) : Tensor<float>();
        const Tensor<float> dhn_l = layer_input_state(be, spec_, dhn, l, stages_.dhn);
        const Tensor<float> dcn_l = layer_input_state(be, spec_, dcn, l, stages_.dcn);
        Tensor<float> dx = layers_[size_t(l)].backward(params, g, dhn_l, dcn_l, l > 0 || need_dx,
                                                       dh0 ? &dh0_l : nullptr, dc0 ? &dc0_l : nullptr);
        if (dh0) finish_layer_output_state(be, spec_, *dh0, l, dh0_l);
        if (dc0) finish_layer_output_state(be, spec_, *dc0, l, dc0_l);
        if (l == 0) return dx;
        drops_[size_t(l - 1)].backward(params.backend(), dx);  // layer l's input was layer l − 1's masked output
        g = dx;
    }
    return Tensor<float>();
}

void RecurrentStack::discard_forward() { has_reserve_ = false; }

void RecurrentStack::check_ready_for_backward() const {
    // One backward per training forward: cuDNN uses the reserve as scratch in its backward.
    FR_CHECK(has_reserve_, "backward needs a training forward before it (one backward per forward; a forward with "
             "training = false keeps nothing for one)");
}

Tensor<float> RecurrentStack::backward(ParamStore& params, const Tensor<float>& dy, const Tensor<float>& dhn,
                                       const Tensor<float>& dcn, bool need_dx, Tensor<float>* dh0,
                                       Tensor<float>* dc0) {
    check_ready_for_backward();
    Backend<float>& be = params.backend();
    const int T = int(x_.dim(0)), N = int(x_.dim(1));
    if (!dy.empty()) check_shape(dy.shape(), {T, N, spec_.output_size()}, "gradient of the recurrent output dy");
    const Shape state{long(spec_.num_layers) * spec_.directions(), N, spec_.hidden_size};
    if (!dhn.empty()) check_shape(dhn.shape(), state, "gradient of the final hidden state");
    if (!dcn.empty()) check_shape(dcn.shape(), state, "gradient of the final cell state");
    on_backend_device(dy, be, "the output gradient dy");
    on_backend_device(dhn, be, "the final hidden state's gradient");
    on_backend_device(dcn, be, "the final cell state's gradient");
    has_reserve_ = false;  // checked: one backward per forward (cuDNN uses the reserve as scratch)
    if (need_dx) ensure_shape(be, dx_, x_.shape());
    if (dh0) ensure_shape(be, *dh0, state);
    const bool lstm = has_cell_state(spec_.cell);
    if (dc0 && lstm) ensure_shape(be, *dc0, state);
    if (layered_) {
        Tensor<float> dx = backward_layers(params, dy, dhn, dcn, need_dx, dh0, dc0 && lstm ? dc0 : nullptr);
        return need_dx ? dx : Tensor<float>();
    }

    RnnBackwardArgs<float> a;
    a.T = T;
    a.N = N;
    a.x = x_.data();
    a.h0 = h0_.empty() ? nullptr : h0_.data();
    a.c0 = c0_.empty() ? nullptr : c0_.data();
    a.weights = params.values() + offset_;
    a.y = y_.data();
    a.dy = dy.empty() ? nullptr : dy.data();
    a.dhn = dhn.empty() ? nullptr : dhn.data();
    a.dcn = dcn.empty() ? nullptr : dcn.data();
    a.reserve = reserve_.data();
    a.dx = need_dx ? dx_.data() : nullptr;
    a.dh0 = dh0 ? dh0->data() : nullptr;
    a.dc0 = (dc0 && lstm) ? dc0->data() : nullptr;
    a.dweights = params.grads() + offset_;
    be.rnn_backward(spec_, a);
    return need_dx ? dx_ : Tensor<float>();
}

// ---- Linear --------------------------------------------------------------------------------------------

Linear::Linear(int in, int out, size_t weight_offset, size_t bias_offset)
    : in_(in), out_(out), w_(weight_offset), b_(bias_offset) {
    FR_CHECK(in > 0 && out > 0, "Linear: sizes must be positive, got in={} out={}", in, out);
}

float Linear::init_bound() const { return 1.0f / std::sqrt(float(in_)); }

Tensor<float> Linear::forward(ParamStore& params, const Tensor<float>& x) {
    FR_CHECK(x.rank() == 2 && x.dim(1) == in_, "Linear: expected input [M, {}], got {}", in_, shape_str(x.shape()));
    on_backend_device(x, params.backend(), "Linear's input");
    const int M = int(x.dim(0));
    ensure_shape(params.backend(), y_, {M, out_});
    params.backend().linear_forward(M, in_, out_, x.data(), params.values() + w_, params.values() + b_, y_.data());
    x_ = x;
    return y_;
}

Tensor<float> Linear::backward(ParamStore& params, const Tensor<float>& dy, bool need_dx) {
    FR_CHECK(!x_.empty(), "Linear::backward called before forward");
    check_shape(dy.shape(), y_.shape(), "Linear output gradient");
    on_backend_device(dy, params.backend(), "the output gradient");
    const int M = int(dy.dim(0));
    if (need_dx) ensure_shape(params.backend(), dx_, {M, in_});
    params.backend().linear_backward(M, in_, out_, x_.data(), params.values() + w_, dy.data(),
                                     need_dx ? dx_.data() : nullptr, params.grads() + w_, params.grads() + b_);
    return need_dx ? dx_ : Tensor<float>();
}

// ---- Embedding -------------------------------------------------------------------------------------------

Embedding::Embedding(int vocab, int dim, size_t offset) : vocab_(vocab), dim_(dim), offset_(offset) {
    FR_CHECK(vocab > 0 && dim > 0, "Embedding: sizes must be positive, got vocab={} dim={}", vocab, dim);
}

Tensor<float> Embedding::forward(ParamStore& params, const Tensor<int32_t>& ids) {
    const int n = int(ids.numel());
    on_backend_device(ids, params.backend(), "the token ids");
    ensure_shape(params.backend(), out_, {n, dim_});
    params.backend().embedding_forward(n, vocab_, dim_, ids.data(), params.values() + offset_, out_.data());
    ids_ = ids;
    return out_;
}

void Embedding::backward(ParamStore& params, const Tensor<float>& dout) {
    check_shape(dout.shape(), out_.shape(), "Embedding output gradient");
    on_backend_device(dout, params.backend(), "the embedding's output gradient");
    params.backend().embedding_backward(int(ids_.numel()), vocab_, dim_, ids_.data(), dout.data(),
                                        params.grads() + offset_);
}

}  // namespace fusedrnn
