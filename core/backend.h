// fusedrnn — the Backend seam.
// A backend implements a whole recurrent stack over a whole sequence (the unit cuDNN offers, which is
// what lets a backend fuse across gates, time steps and layers), plus the few dense ops the models
// need. Pointers are device pointers of the backend's device; all layouts are row-major, time-major.
//
// Shape legend: T steps, N batch, C input size, H hidden, D directions, L layers, G gates,
// P = rnn_param_count(spec) parameters of the stack (layout: core/param_layout.h).
//
// Template parameter S: the scalar type (float; double on the CPU backend).
// Backends: "cpu" (reference; float and double), "cuda" (fused kernels), "cudnn" (cuDNN reference),
// "auto" (cuda when a GPU is present, else cpu). Nothing above core/ branches on which one it is.
#pragma once

#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "fusedrnn/core/download_slots.h"
#include "fusedrnn/core/dropout_args.h"
#include "fusedrnn/core/rnn_spec.h"
#include "fusedrnn/core/tensor.h"

namespace fusedrnn {

namespace data {
struct WindowSpec;  // core/data/windows.h: a forecasting window's input rows, horizon and steps
}

template <class S>
struct RnnForwardArgs {
    int T = 0, N = 0;             // steps, batch (both > 0)
    const S* x = nullptr;         // in  [T, N, C]
    const S* h0 = nullptr;        // in  [L·D, N, H] or nullptr (= zeros)
    const S* c0 = nullptr;        // in  [L·D, N, H] or nullptr (= zeros); LSTM only
    const S* weights = nullptr;   // in  [P] the stack's parameters
    S* y = nullptr;               // out [T, N, D·H] last layer's output (fwd in [..., :H], reverse in [..., H:])
    S* hn = nullptr;              // out [L·D, N, H] or nullptr; index = layer·D + direction
    S* cn = nullptr;              // out [L·D, N, H] or nullptr; LSTM only
    S* reserve = nullptr;         // out [rnn_reserve_size] activations saved for backward; nullptr = inference
};

template <class S>
struct RnnBackwardArgs {
    int T = 0, N = 0;
    const S* x = nullptr;         // in  [T, N, C] as given to forward
    const S* h0 = nullptr;        // in  as given to forward (nullptr = zeros)
    const S* c0 = nullptr;        // in  as given to forward
    const S* weights = nullptr;   // in  [P]
    const S* y = nullptr;         // in  [T, N, D·H] forward's output
    const S* dy = nullptr;        // in  [T, N, D·H] dLoss/dy, or nullptr (= zeros)
    const S* dhn = nullptr;       // in  [L·D, N, H] dLoss/dh_n, or nullptr (= zeros)
    const S* dcn = nullptr;       // in  [L·D, N, H] dLoss/dc_n, or nullptr (= zeros)
    const S* reserve = nullptr;   // in  forward's reserve (forward must have run with a reserve). A backend
                                  //     may use it as scratch (cuDNN's backward writes to it), so one
                                  //     backward per training forward
    S* dx = nullptr;              // out [T, N, C] overwritten, or nullptr (not needed)
    S* dh0 = nullptr;             // out [L·D, N, H] overwritten, or nullptr
    S* dc0 = nullptr;             // out [L·D, N, H] overwritten, or nullptr
    S* dweights = nullptr;        // in/out [P] gradients ACCUMULATED (+=), never overwritten
};

struct LossResult {
    double loss = 0;      // mean over elements (MSE) or rows (cross-entropy)
    long correct = 0;     // cross-entropy: rows whose argmax equals the target
};

template <class S>
class Backend {
public:
    virtual ~Backend() = default;
    virtual std::string name() const = 0;
    virtual Device device() const = 0;
    // What else decides how this backend computes, for logs and reports (the `cuda` backend's recurrence
    // strategy, "recurrence persistent"); empty when nothing does.
    virtual std::string details() const { return {}; }

    // ---- memory --------------------------------------------------------------------------------
    virtual std::shared_ptr<Storage> allocate(size_t bytes) = 0;  // throws Error on out-of-memory
    Tensor<S> empty(const Shape& shape) { return Tensor<S>(allocate(shape_numel(shape) * sizeof(S)), shape); }
    Tensor<S> zeros(const Shape& shape) { auto t = empty(shape); fill(t.numel(), t.data(), S(0)); return t; }
    Tensor<int32_t> empty_i32(const Shape& shape) {
        return Tensor<int32_t>(allocate(shape_numel(shape) * sizeof(int32_t)), shape);
    }
    Tensor<int64_t> empty_i64(const Shape& shape) {
        return Tensor<int64_t>(allocate(shape_numel(shape) * sizeof(int64_t)), shape);
    }
    // Byte copies. Host <-> device copies are done when they return; a device -> device copy is ordered
    // with the backend's other work like any op (a GPU backend returns before it has run).
    virtual void copy_from_host(void* dst, const void* src, size_t bytes) = 0;
    virtual void copy_to_host(void* dst, const void* src, size_t bytes) = 0;
    virtual void copy_device(void* dst, const void* src, size_t bytes) = 0;
    // A device -> device copy of `rows` rows of `width` bytes, rows `src_pitch` bytes apart in src and
    // `dst_pitch` apart in dst (cudaMemcpy2D's contract: pitches >= width; regions must not overlap). Ordered
    // like copy_device. For column blocks of row-major matrices, e.g. one lead time's [N, K] out of [N, horizon·K].
    virtual void copy_device_2d(void* dst, size_t dst_pitch, const void* src, size_t src_pitch, size_t width,
                                size_t rows) = 0;
    // A host -> device copy that may return before it is done (a GPU backend stages src in pinned memory and
    // never waits for the device unless its staging ring is full): src may be reused as soon as it returns.
    // For the small per-step uploads of a training loop (a batch's window starts).
    virtual void copy_from_host_async(void* dst, const void* src, size_t bytes) { copy_from_host(dst, src, bytes); }
    // A device -> host copy that may return before it is done: queues a copy of `bytes` from src into a host
    // buffer of the backend's own (pinned on a GPU, so the copy runs in order with the work queued before it,
    // at full bus speed) and returns a ticket at once. wait_download(ticket) waits for that copy only — not for
    // work queued after it — and returns the bytes, which stay valid until DownloadSlots::kSlots more downloads
    // have been queued (an expired ticket is an error). What lets an evaluation loop queue batch i+1's forward
    // pass before it folds batch i's forecasts on the host. A GPU backend reports index faults (embedding ids,
    // cross-entropy targets) at its next full wait, not here: work queued after the copy may still be running.
    virtual DownloadTicket queue_download(const void* src, size_t bytes) = 0;
    virtual const void* wait_download(const DownloadTicket& ticket) = 0;
    virtual void synchronize() {}
    // Makes this backend's device the calling thread's current one (a GPU backend: cudaSetDevice). Every op
    // works from any thread regardless (a GPU backend switches to its device and back per op); a thread that
    // drives one backend (a data-parallel worker, models/data_parallel.h) calls this once to spare the switches.
    virtual void make_current() {}

    Tensor<S> from_host(const std::vector<S>& v, const Shape& shape);
    // Takes the vector: a host backend adopts its buffer (no copy, so a dataset the size of host memory
    // is not held twice); a device backend copies it and frees the host memory before returning.
    Tensor<S> from_host(std::vector<S>&& v, const Shape& shape);
    std::vector<S> to_host(const Tensor<S>& t);

    // ---- elementwise / reductions ----------------------------------------------------------------
    virtual void fill(size_t n, S* x, S value) = 0;
    virtual void scale(size_t n, S* x, S alpha) = 0;              // x *= alpha
    virtual void axpy(size_t n, S alpha, const S* x, S* y) = 0;   // y += alpha·x
    virtual double sum_squares(size_t n, const S* x) = 0;         // Σ x², accumulated in double
    virtual bool all_finite(size_t n, const S* x) = 0;

    // ---- recurrent stack -------------------------------------------------------------------------
    // Elements of S needed for the reserve (activations saved by a training forward).
    virtual size_t rnn_reserve_size(const RnnSpec& spec, int steps, int batch) = 0;
    virtual void rnn_forward(const RnnSpec& spec, const RnnForwardArgs<S>& args) = 0;
    // Gradients of all inputs, initial states and weights. Requires forward with a reserve.
    virtual void rnn_backward(const RnnSpec& spec, const RnnBackwardArgs<S>& args) = 0;

    // ---- dense layers ----------------------------------------------------------------------------
    // y[M, out] = x[M, in] · W[out, in]ᵀ + b[out] (b may be nullptr).
    virtual void linear_forward(int M, int in, int out, const S* x, const S* W, const S* b, S* y) = 0;
    // dx[M, in] = dy·W (overwritten; dx may be nullptr); dW[out, in] += dyᵀ·x; db[out] += Σ_rows dy (db may be nullptr).
    virtual void linear_backward(int M, int in, int out, const S* x, const S* W, const S* dy, S* dx, S* dW,
                                 S* db) = 0;
    // rows: out[i, :] = table[ids[i], :]; ids must lie in [0, V) (checked, throws Error).
    virtual void embedding_forward(int n, int V, int dim, const int32_t* ids, const S* table, S* out) = 0;
    // dtable[ids[i], :] += dout[i, :] (duplicate ids accumulate).
    virtual void embedding_backward(int n, int V, int dim, const int32_t* ids, const S* dout, S* dtable) = 0;

    // Inverted dropout (torch.nn.Dropout in training): y = x/(1 − p) where the mask keeps the element, else 0,
    // over a.numel() elements; y may be x. The mask is a function of the arguments alone, the same on every backend
    // (core/dropout_args.h), so the backward is this op with the same arguments applied to the gradient. Throws
    // Error for bad arguments (check_dropout_args).
    virtual void dropout(const DropoutArgs& a, const S* x, S* y) = 0;

    // ---- losses (return the loss on the host) ------------------------------------------------------
    // mean((pred - target)²) over n elements; if grad != nullptr, grad = grad_scale·2(pred - target)/n.
    virtual LossResult mse(size_t n, const S* pred, const S* target, S* grad, S grad_scale) = 0;
    // Softmax cross-entropy over rows of logits[M, V] with integer targets[M] (mean over rows);
    // if dlogits != nullptr, dlogits = grad_scale·(softmax - onehot)/M. Targets outside [0, V) throw (as do
    // embedding ids; a GPU backend checks them on the device and throws at its next wait, see cuda/gpu_backend.h).
    // dlogits must not alias logits (the GPU kernel reads a row's target logit after others are written).
    virtual LossResult softmax_cross_entropy(int M, int V, const S* logits, const int32_t* targets, S* dlogits,
                                             S grad_scale) = 0;

    // ---- results left in backend memory ----------------------------------------------------------
    // The same ops with their scalar result written to `out` (backend memory from allocate(), holding
    // doubles) instead of returned: a training loop queues many steps and reads the results back in one copy,
    // so a GPU backend never waits for a step to finish. The defaults compute on the host and copy the result
    // over (what a host backend does anyway).
    // out[0] = mse(...).loss (the mean), with the gradient as mse() writes it.
    virtual void mse_into(size_t n, const S* pred, const S* target, S* grad, S grad_scale, double* out);
    // out[0] = Σ x², accumulated in double.
    virtual void sum_squares_into(size_t n, const S* x, double* out);
    // out[0] = softmax_cross_entropy(...).loss (the mean), out[1] = .correct (as a double), with dlogits as
    // softmax_cross_entropy writes it.
    virtual void softmax_cross_entropy_into(int M, int V, const S* logits, const int32_t* targets, S* dlogits,
                                            S grad_scale, double* out);
    // Gradient clipping by a norm that is in backend memory: norm = √sum_squares[0]; if norm > max_norm,
    // g *= S(max_norm / (norm + 1e-6)) (torch.nn.utils.clip_grad_norm_). A NaN norm scales nothing;
    // max_norm <= 0 means no clipping (as clip_grad_norm's 0), and the call does nothing.
    virtual void clip_by_norm(size_t n, S* g, const double* sum_squares, double max_norm);

    // ---- optimizers over the flat buffer (one pass each) -----------------------------------------
    // p -= lr·(g + wd·p) with heavy-ball momentum m = momentum·m + (g + wd·p) when momentum > 0.
    virtual void sgd_step(size_t n, S* p, const S* g, S* m, S lr, S momentum, S weight_decay) = 0;
    // Adam (Kingma & Ba) with bias correction at `step` (1-based). Weight decay added to g (L2, as torch.optim.Adam),
    // or with decoupled_weight_decay the weights shrunk first, p *= 1 − lr·wd, and g left alone (torch.optim.AdamW;
    // Loshchilov & Hutter).
    virtual void adam_step(size_t n, S* p, const S* g, S* m, S* v, S lr, S beta1, S beta2, S eps, long step,
                           S weight_decay, bool decoupled_weight_decay) = 0;
    // RMSprop as torch.optim.RMSprop (no momentum, not centered): s = α s + (1-α) g²; p -= lr g / (√s + eps).
    virtual void rmsprop_step(size_t n, S* p, const S* g, S* s, S lr, S alpha, S eps, S weight_decay) = 0;

    // ---- data pipeline ------------------------------------------------------------------------------
    // Gathers forecasting windows from a device-resident series [rows, F] (all stations concatenated), with
    // Tin = w.input_len and the window's steps and offset:
    //   x[t, b, f]        = series[(starts[b] + t·in_step)·F + f]                      t < Tin
    //   y[b, h·K + k]     = series[(starts[b] + (Tin-1)·in_step + out_offset + h·out_step)·F + target_cols[k]]
    // x: [Tin, B, F] time-major; y: [B, horizon·K]. The caller guarantees that every row exists: this raw-pointer call
    // cannot check it (ForecastDataset checks each start when it builds and uploads its window lists).
    virtual void gather_windows(const S* series, int F, const int64_t* starts, int B, const data::WindowSpec& w,
                                const int32_t* target_cols, int K, S* x, S* y) = 0;
};

template <class S>
Tensor<S> Backend<S>::from_host(const std::vector<S>& v, const Shape& shape) {
    FUSEDRNN_CHECK(v.size() == shape_numel(shape), "from_host: {} values for shape {}", v.size(),
                   shape_str(shape));
    auto t = empty(shape);
    copy_from_host(t.data(), v.data(), v.size() * sizeof(S));
    return t;
}

template <class S>
Tensor<S> Backend<S>::from_host(std::vector<S>&& v, const Shape& shape) {
    FUSEDRNN_CHECK(v.size() == shape_numel(shape), "from_host: {} values for shape {}", v.size(),
                   shape_str(shape));
    if (!device().is_cpu() || v.empty()) {
        auto t = from_host(static_cast<const std::vector<S>&>(v), shape);
        std::vector<S>().swap(v);
        return t;
    }
    // The Storage's deleter owns the vector. (std::vector's buffer is only alignof(S)-aligned, not the
    // 64 bytes of allocate_host: fine for data read element by element, like a dataset.)
    auto owner = std::make_shared<std::vector<S>>(std::move(v));
    S* data = owner->data();
    const size_t bytes = owner->size() * sizeof(S);
    return Tensor<S>(std::make_shared<Storage>(data, bytes, device(), [owner](void*) mutable { owner.reset(); }),
                     shape);
}

template <class S>
void Backend<S>::mse_into(size_t n, const S* pred, const S* target, S* grad, S grad_scale, double* out) {
    const double loss = mse(n, pred, target, grad, grad_scale).loss;
    copy_from_host(out, &loss, sizeof loss);
}

template <class S>
void Backend<S>::sum_squares_into(size_t n, const S* x, double* out) {
    const double sum = sum_squares(n, x);
    copy_from_host(out, &sum, sizeof sum);
}

template <class S>
void Backend<S>::softmax_cross_entropy_into(int M, int V, const S* logits, const int32_t* targets, S* dlogits,
                                            S grad_scale, double* out) {
    const LossResult r = softmax_cross_entropy(M, V, logits, targets, dlogits, grad_scale);
    const double host[2] = {r.loss, double(r.correct)};
    copy_from_host(out, host, sizeof host);
}

template <class S>
void Backend<S>::clip_by_norm(size_t n, S* g, const double* sum_squares, double max_norm) {
    if (!(max_norm > 0)) return;
    double sum = 0;
    copy_to_host(&sum, sum_squares, sizeof sum);
    const double norm = std::sqrt(sum);
    if (norm > max_norm) scale(n, g, S(max_norm / (norm + 1e-6)));
}

template <class S>
std::vector<S> Backend<S>::to_host(const Tensor<S>& t) {
    std::vector<S> v(t.numel());
    copy_to_host(v.data(), t.data(), v.size() * sizeof(S));
    return v;
}

// ---- registry ----------------------------------------------------------------------------------
// Creates a backend by name: "cpu", "cuda", "cudnn", "auto". Throws Error naming the available ones
// (and why a GPU backend is unavailable: not compiled in, or no device present). `device`: which GPU
// (cuda:<device>; an error when there is no such GPU); the CPU backend ignores it.
std::shared_ptr<Backend<float>> make_backend(const std::string& name, int device = 0);
std::shared_ptr<Backend<double>> make_backend_f64(const std::string& name);
// Names of backends usable in this process (e.g. {"cpu"} on a machine with no GPU).
std::vector<std::string> available_backends();
bool gpu_available();
// Why the GPU backends (cuda, cudnn) are not available: no CUDA support built in, or no GPU present. Empty when they
// are.
std::string gpu_backends_missing_reason();
int gpu_count();  // CUDA devices this process sees (0 without CUDA support or a GPU)
bool built_with_cuda();  // whether this build has the cuda and cudnn backends (used where a GPU is present)

using BackendFactory = std::shared_ptr<Backend<float>> (*)(int device);
// Called by the CUDA module at start-up (see cuda/register.cpp).
void register_backend(const std::string& name, BackendFactory factory);

}  // namespace fusedrnn
