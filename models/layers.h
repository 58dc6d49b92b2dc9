// fusedrnn — layers over a shared ParamStore.
// A layer owns no parameters: it knows its offset in the model's flat buffer and keeps what its
// backward needs from the last forward. Outputs returned by forward stay valid until the layer's
// next forward (buffers are reused across steps so a training loop allocates nothing per step).
//
// Shape legend: T steps, N batch, C input features, H hidden, D directions, L layers, M rows.
#pragma once

#include <cstdint>
#include <vector>

#include "fusedrnn/core/backend.h"
#include "fusedrnn/models/dropout.h"
#include "fusedrnn/models/parameters.h"

namespace fusedrnn {

// Reuses `t` when it already has `shape`, else allocates it.
void ensure_shape(Backend<float>& backend, Tensor<float>& t, const Shape& shape);

// A layer's kept activations are tensors that share their memory when copied, and the layer reuses them in place: a
// copy would read and overwrite the original's (a backward of one after a forward of the other). Layers move, never
// copy (note40: RecurrentStack was copyable where ParamStore and Forecaster are not).
class MoveOnlyLayer {
protected:
    MoveOnlyLayer() = default;
    ~MoveOnlyLayer() = default;
    MoveOnlyLayer(const MoveOnlyLayer&) = delete;
    MoveOnlyLayer& operator=(const MoveOnlyLayer&) = delete;
    MoveOnlyLayer(MoveOnlyLayer&&) = default;
    MoveOnlyLayer& operator=(MoveOnlyLayer&&) = default;
};

class RecurrentStack : MoveOnlyLayer {
public:
    RecurrentStack() = default;
    RecurrentStack(const RnnSpec& spec, size_t offset);

    const RnnSpec& spec() const { return spec_; }
    size_t offset() const { return offset_; }
    // U(-1/√H, 1/√H) for every weight and bias (PyTorch's default).
    float init_bound() const;

    struct Output {
        Tensor<float> y;   // [T, N, D·H]
        Tensor<float> hn;  // [L·D, N, H]
        Tensor<float> cn;  // [L·D, N, H] (LSTM; empty otherwise)
    };
    // x [T, N, C]; h0/c0 [L·D, N, H] or empty (zeros). `training` keeps activations for backward.
    // hn/cn are freshly allocated, so they can be fed back as the next call's h0/c0 (truncated BPTT).
    // final_state = false leaves out.hn / out.cn empty (a model that only reads y; nothing allocated).
    Output forward(ParamStore& params, const Tensor<float>& x, const Tensor<float>& h0, const Tensor<float>& c0,
                   bool training, bool final_state = true);
    // The same, with the final state written into hn (and cn for the LSTM), which keep their memory when they
    // already have the state's shape (else they are made): a loop that alternates two states allocates
    // nothing per call. They must not share memory with h0/c0 (checked). out.hn/out.cn are hn/cn.
    Output forward_into(ParamStore& params, const Tensor<float>& x, const Tensor<float>& h0, const Tensor<float>& c0,
                        bool training, Tensor<float>& hn, Tensor<float>& cn);
    // Throws unless a training forward came since the last backward: models call it before adding any gradient, so
    // a backward that fails leaves the gradients as they were.
    void check_ready_for_backward() const;
    // Forgets the last forward, so that a backward is refused until the next training forward (a model whose
    // forward failed after this stack's succeeded).
    void discard_forward();
    // dy [T, N, D·H] (may be empty = zeros), dhn/dcn may be empty. Accumulates weight gradients into
    // params.grads(). Returns dx [T, N, C] when need_dx; writes dh0/dc0 when given non-empty tensors.
    Tensor<float> backward(ParamStore& params, const Tensor<float>& dy, const Tensor<float>& dhn,
                           const Tensor<float>& dcn, bool need_dx, Tensor<float>* dh0 = nullptr,
                           Tensor<float>* dc0 = nullptr);

    // Dropout between stacked layers (torch.nn.LSTM's `dropout`; models/dropout.h). With p > 0 a training forward
    // of two or more layers runs one layer at a time (the backend's whole-stack call cannot put a mask between
    // layers), masking every layer's output but the last at sites first_site, first_site + 1, ...
    // locked: one mask for every time step of the sequence (variational dropout) instead of a fresh one per step.
    void set_dropout(float p, uint32_t first_site, bool locked = false);
    float dropout() const { return dropout_; }
    // The masks the next training forward draws.
    void set_dropout_draw(const DropoutDraw& draw) { draw_ = draw; }

private:
    // hn == nullptr: no final state; else it is written into *hn / *cn (cn: LSTM only).
    Output run(ParamStore& params, const Tensor<float>& x, const Tensor<float>& h0, const Tensor<float>& c0,
               bool training, Tensor<float>* hn, Tensor<float>* cn);
    // The dropout path of run and backward: layers_[l] is layer l alone, over its slice of the parameters and of
    // the states ([D, N, H] at l·D·N·H; a slice off the 256-byte boundary goes through a buffer in stages_).
    void run_layers(ParamStore& params, const Tensor<float>& x, const Tensor<float>& h0, const Tensor<float>& c0,
                    Output& out, bool final_state);
    Tensor<float> backward_layers(ParamStore& params, const Tensor<float>& dy, const Tensor<float>& dhn,
                                  const Tensor<float>& dcn, bool need_dx, Tensor<float>* dh0, Tensor<float>* dc0);

    RnnSpec spec_;
    size_t offset_ = 0;
    Tensor<float> x_, h0_, c0_, y_, reserve_, dx_;
    bool has_reserve_ = false;

    float dropout_ = 0;
    bool locked_ = false;
    uint32_t first_site_ = 0;
    DropoutDraw draw_;
    bool layered_ = false;                // the last training forward ran run_layers
    std::vector<RecurrentStack> layers_;  // made on the first layered forward
    std::vector<Dropout> drops_;          // drops_[l]: on layer l's output, l < L − 1
    // Aligned stand-ins for state slices that do not start on the boundary: h0/c0 per layer (layer l's backward
    // reads what its forward was given), the rest shared by the layers (each is used within one layer's call).
    struct StateStages {
        std::vector<Tensor<float>> h0, c0;
        Tensor<float> hn, cn, dhn, dcn, dh0, dc0;
    } stages_;
};

class Linear : MoveOnlyLayer {
public:
    Linear() = default;
    Linear(int in, int out, size_t weight_offset, size_t bias_offset);
    int in() const { return in_; }
    int out() const { return out_; }
    float init_bound() const;  // 1/√in, as torch.nn.Linear

    // x [M, in] → y [M, out]
    Tensor<float> forward(ParamStore& params, const Tensor<float>& x);
    // dy [M, out] → dx [M, in] (when need_dx); accumulates dW, db.
    Tensor<float> backward(ParamStore& params, const Tensor<float>& dy, bool need_dx);

private:
    int in_ = 0, out_ = 0;
    size_t w_ = 0, b_ = 0;
    Tensor<float> x_, y_, dx_;
};

class Embedding : MoveOnlyLayer {
public:
    Embedding() = default;
    Embedding(int vocab, int dim, size_t offset);
    int vocab() const { return vocab_; }
    int dim() const { return dim_; }
    // ids [n] (int32, on the backend's device) → [n, dim]
    Tensor<float> forward(ParamStore& params, const Tensor<int32_t>& ids);
    void backward(ParamStore& params, const Tensor<float>& dout);

private:
    int vocab_ = 0, dim_ = 0;
    size_t offset_ = 0;
    Tensor<int32_t> ids_;
    Tensor<float> out_;
};

}  // namespace fusedrnn
