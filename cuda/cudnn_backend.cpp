// The `cudnn` backend: the recurrent stack on cuDNN 9's RNN API, the reference the fused kernels are
// validated against and the speed anchor of the benchmarks. Dense ops come from GpuBackend.
//
// Settings (PyTorch-compatible, plain fp32): CUDNN_RNN_DOUBLE_BIAS, CUDNN_LINEAR_INPUT,
// projSize = hiddenSize, CUDNN_FMA_MATH (no TF32; with FUSEDRNN_TF32=1 CUDNN_DEFAULT_MATH, which allows it),
// CUDNN_RNN_ALGO_STANDARD (FUSEDRNN_CUDNN_ALGO may
// choose persist_static | persist_static_small_h | persist_dynamic for benchmarking), data layout
// CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_PACKED with every sequence of length T, no dropout.
//
// Parameters: our flat buffer is in PyTorch's order (core/param_layout.h). cuDNN's weight space has its
// own layout, which we never assume: for every pseudo-layer (layer·D + direction) and linear-layer ID
// (LSTM 0–3 input side i,f,g,o, 4–7 recurrent; GRU 0–2 / 3–5 r,z,n; RNN 0 / 1) cudnnGetRNNWeightParams
// tells where that gate's matrix and bias live, and we build an index map flat → weight space once
// per shape. Forward scatters the weights through it (one kernel); backward zeroes cuDNN's gradient
// space, runs BackwardData then BackwardWeights (CUDNN_WGRAD_MODE_ADD), and gathers the gradients back,
// ADDING them into dweights (our contract accumulates).
//
// Reserve: the caller's reserve buffer holds cuDNN's reserve space (rnn_reserve_size = its byte size
// rounded up to floats). cuDNN also writes into it during BackwardData (scratch for BackwardWeights),
// so a reserve serves one backward. The workspace is internal.
#define CUDNN_WARN_DEPRECATED 1  // this file must use only API that is current in cuDNN 9
#include <cudnn.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "fusedrnn/core/error.h"
#include "fusedrnn/core/gpu_settings.h"
#include "fusedrnn/core/param_layout.h"
#include "fusedrnn/cuda/backends.h"
#include "fusedrnn/cuda/check.h"
#include "fusedrnn/cuda/gpu_backend.h"
#include "fusedrnn/kernels/cuda/dense_kernels.h"

namespace fusedrnn::gpu {
namespace {

cudnnRNNMode_t cudnn_mode(CellType cell) {
    switch (cell) {
        case CellType::RnnTanh: return CUDNN_RNN_TANH;
        case CellType::RnnRelu: return CUDNN_RNN_RELU;
        case CellType::Lstm: return CUDNN_LSTM;
        case CellType::Gru: return CUDNN_GRU;
        case CellType::GruResetBefore: break;
    }
    FR_FAIL("the cudnn backend cannot run cell '{}': cuDNN has no reset-before GRU (its GRU is reset-after, as "
            "PyTorch's); use the 'cuda' or 'cpu' backend for gru_reset_before",
            cell_name(cell));
}

// The algorithm FUSEDRNN_CUDNN_ALGO names (core/gpu_settings.h), as cuDNN's enum.
cudnnRNNAlgo_t to_cudnn(CudnnRnnAlgo algo) {
    switch (algo) {
        case CudnnRnnAlgo::PersistStatic: return CUDNN_RNN_ALGO_PERSIST_STATIC;
        case CudnnRnnAlgo::PersistStaticSmallH: return CUDNN_RNN_ALGO_PERSIST_STATIC_SMALL_H;
        case CudnnRnnAlgo::PersistDynamic: return CUDNN_RNN_ALGO_PERSIST_DYNAMIC;
        case CudnnRnnAlgo::Standard: break;
    }
    return CUDNN_RNN_ALGO_STANDARD;
}

// cuDNN 9 numbers its versions major·10000 + minor·100 + patch.
std::string version_str(size_t v) { return fmt::format("{}.{}.{}", v / 10000, v / 100 % 100, v % 100); }

// The API this file is written against (cudnnRNNForward and the _v8 descriptors of cuDNN 9) must be the library's:
// with a pip wheel's cuDNN beside the system's, the loader may pair another major version with this build, whose
// failures would otherwise surface as a puzzling status from the first RNN call.
void check_library_matches_header() {
    const size_t library = cudnnGetVersion();
    FR_CHECK(library / 10000 == size_t(CUDNN_MAJOR), "the cuDNN library loaded is {} but fusedrnn was built against "
             "cuDNN {}: put the matching libcudnn first on LD_LIBRARY_PATH, or rebuild against the installed one",
             version_str(library), version_str(CUDNN_VERSION));
}

// Everything cuDNN needs for one (spec, T, N): descriptors, sizes, weight spaces and the index map.
struct Plan {
    cudnnRNNDescriptor_t rnn = nullptr;
    cudnnDropoutDescriptor_t dropout = nullptr;
    cudnnRNNDataDescriptor_t x = nullptr, y = nullptr;
    cudnnTensorDescriptor_t h = nullptr;
    DeviceBuffer seq_lengths;  // int32 [N], all T (device copy, as cuDNN 9 asks)
    size_t weight_bytes = 0, work_training = 0, work_inference = 0, reserve_bytes = 0;
    DeviceBuffer wspace, dwspace;
    DeviceBuffer map;  // int32 [P]: flat parameter i lives at weight-space element map[i]
    size_t params = 0;
    bool lstm = false;
    uint64_t last_use = 0;  // the backend's use counter when this plan was last asked for

    Plan() = default;
    Plan(const Plan&) = delete;
    Plan& operator=(const Plan&) = delete;
    ~Plan() {
        if (h) (void)cudnnDestroyTensorDescriptor(h);
        if (y) (void)cudnnDestroyRNNDataDescriptor(y);
        if (x) (void)cudnnDestroyRNNDataDescriptor(x);
        if (rnn) (void)cudnnDestroyRNNDescriptor(rnn);
        if (dropout) (void)cudnnDestroyDropoutDescriptor(dropout);
    }
};

struct TensorDesc {
    cudnnTensorDescriptor_t d = nullptr;
    TensorDesc() { FR_CUDNN_CHECK(cudnnCreateTensorDescriptor(&d)); }
    ~TensorDesc() { (void)cudnnDestroyTensorDescriptor(d); }
    TensorDesc(const TensorDesc&) = delete;
    TensorDesc& operator=(const TensorDesc&) = delete;
    // Number of elements, after checking the tensor is packed (innermost stride 1, no gaps).
    size_t packed_count(const char* what, int pseudo, int lin) const {
        cudnnDataType_t dt;
        int nb = 0, dims[8] = {}, strides[8] = {};
        FR_CUDNN_CHECK(cudnnGetTensorNdDescriptor(d, 8, &dt, &nb, dims, strides));
        size_t count = 1, expect_stride = 1;
        for (int i = nb - 1; i >= 0; --i) {
            FR_CHECK(dims[i] == 1 || size_t(strides[i]) == expect_stride,
                     "cuDNN {} of pseudo-layer {} linear layer {} is not packed (dim {} stride {}, expected {})", what,
                     pseudo, lin, dims[i], strides[i], expect_stride);
            expect_stride *= size_t(dims[i]);
            count *= size_t(dims[i]);
        }
        return count;
    }
};

using PlanKey = std::tuple<int, int, int, int, bool, int, int>;  // cell, C, H, L, bidirectional, T, N

class CudnnBackend final : public GpuBackend {
public:
    explicit CudnnBackend(int device)
        : GpuBackend(device), algo_setting_(cudnn_algo_from_env()), algo_(to_cudnn(algo_setting_)) {
        check_library_matches_header();
        auto g = ctx_.guard();
        FR_CUDNN_CHECK(cudnnCreate(&handle_));
        const cudnnStatus_t st = cudnnSetStream(handle_, ctx_.stream());
        if (st != CUDNN_STATUS_SUCCESS) {
            (void)cudnnDestroy(handle_);
            throw_cudnn_error(int(st), "cudnnSetStream(handle_, ctx_.stream())", __FILE__, __LINE__);
        }
    }
    ~CudnnBackend() override {
        int previous = -1;
        if (cudaGetDevice(&previous) == cudaSuccess && previous != ctx_.device()) (void)cudaSetDevice(ctx_.device());
        (void)cudaStreamSynchronize(ctx_.stream());
        plans_.clear();
        if (handle_) (void)cudnnDestroy(handle_);
        if (previous >= 0 && previous != ctx_.device()) (void)cudaSetDevice(previous);
    }

    std::string name() const override { return "cudnn"; }
    // Which cuDNN ran is part of every figure measured against it (train's header, metrics.json, the benchmarks).
    std::string details() const override {
        return fmt::format("cuDNN {} (built against {}), algo {}{}", version_str(cudnnGetVersion()),
                           version_str(CUDNN_VERSION), cudnn_algo_name(algo_setting_), ctx_.allow_tf32() ? ", tf32" : "");
    }

    size_t rnn_reserve_size(const RnnSpec& spec, int T, int N) override {
        auto g = ctx_.guard();
        const Plan& p = plan(spec, T, N);
        return std::max<size_t>((p.reserve_bytes + sizeof(float) - 1) / sizeof(float), 1);
    }

    void rnn_forward(const RnnSpec& spec, const RnnForwardArgs<float>& a) override;
    void rnn_backward(const RnnSpec& spec, const RnnBackwardArgs<float>& a) override;

private:
    Plan& plan(const RnnSpec& spec, int T, int N);
    // fp32 data: FMA only, or with FUSEDRNN_TF32 = 1 the default math, which lets cuDNN use TF32 tensor cores
    // (PyTorch's choice for torch.backends.cudnn.allow_tf32).
    cudnnMathType_t math_type() const { return ctx_.allow_tf32() ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH; }
    void build_weight_map(const RnnSpec& spec, Plan& p);

    // Each plan holds two weight-sized device buffers, and a plan is made per (T, N): a caller cycling
    // through many batch sizes or lengths (prediction on histories of every length) must not grow memory
    // without bound. The least recently used plan goes, once the new one is built and the stream has drained.
    static constexpr size_t kMaxPlans = 16;
    cudnnHandle_t handle_ = nullptr;
    CudnnRnnAlgo algo_setting_;  // FUSEDRNN_CUDNN_ALGO's, declared before algo_, which is made from it
    cudnnRNNAlgo_t algo_;
    std::map<PlanKey, std::unique_ptr<Plan>> plans_;
    uint64_t uses_ = 0;
};

Plan& CudnnBackend::plan(const RnnSpec& spec, int T, int N) {
    spec.validate();
    const cudnnRNNMode_t mode = cudnn_mode(spec.cell);
    FR_CHECK(T > 0, "rnn: sequence length T must be positive, got {}", T);
    FR_CHECK(N > 0, "rnn: batch size N must be positive, got {}", N);
    // The state descriptor's strides are ints (cudnnSetTensorNdDescriptor), and so are the packed data's extents.
    FR_CHECK(size_t(N) * spec.hidden_size * spec.directions() < size_t(1) << 31,
             "rnn: batch {} x hidden {} x directions is too large for cuDNN's 32-bit tensor strides (must stay below "
             "2^31): use a smaller batch", N, spec.hidden_size);
    const PlanKey key{int(spec.cell), spec.input_size, spec.hidden_size, spec.num_layers, spec.bidirectional, T, N};
    auto it = plans_.find(key);
    if (it != plans_.end()) {
        it->second->last_use = ++uses_;
        return *it->second;
    }
    auto p = std::make_unique<Plan>();
    p->last_use = ++uses_;
    const int H = spec.hidden_size, D = spec.directions(), L = spec.num_layers;
    p->lstm = spec.cell == CellType::Lstm;

    FR_CUDNN_CHECK(cudnnCreateDropoutDescriptor(&p->dropout));
    FR_CUDNN_CHECK(cudnnSetDropoutDescriptor(p->dropout, handle_, 0.f, nullptr, 0, 0));
    FR_CUDNN_CHECK(cudnnCreateRNNDescriptor(&p->rnn));
    FR_CUDNN_CHECK(cudnnSetRNNDescriptor_v8(p->rnn, algo_, mode, CUDNN_RNN_DOUBLE_BIAS,
                                            spec.bidirectional ? CUDNN_BIDIRECTIONAL : CUDNN_UNIDIRECTIONAL,
                                            CUDNN_LINEAR_INPUT, CUDNN_DATA_FLOAT, CUDNN_DATA_FLOAT, math_type(),
                                            spec.input_size, H, H, L, p->dropout, CUDNN_RNN_PADDED_IO_DISABLED));
    if (algo_ == CUDNN_RNN_ALGO_PERSIST_DYNAMIC) FR_CUDNN_CHECK(cudnnBuildRNNDynamic(handle_, p->rnn, N));

    const std::vector<int> lengths(static_cast<size_t>(N), T);
    FR_CUDNN_CHECK(cudnnCreateRNNDataDescriptor(&p->x));
    FR_CUDNN_CHECK(cudnnSetRNNDataDescriptor(p->x, CUDNN_DATA_FLOAT, CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_PACKED, T, N,
                                             spec.input_size, lengths.data(), nullptr));
    FR_CUDNN_CHECK(cudnnCreateRNNDataDescriptor(&p->y));
    FR_CUDNN_CHECK(cudnnSetRNNDataDescriptor(p->y, CUDNN_DATA_FLOAT, CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_PACKED, T, N,
                                             D * H, lengths.data(), nullptr));
    FR_CUDNN_CHECK(cudnnCreateTensorDescriptor(&p->h));
    const int dims[3] = {L * D, N, H};
    const int strides[3] = {N * H, H, 1};
    FR_CUDNN_CHECK(cudnnSetTensorNdDescriptor(p->h, CUDNN_DATA_FLOAT, 3, dims, strides));

    p->seq_lengths = DeviceBuffer(lengths.size() * sizeof(int32_t));
    FR_CUDA_CHECK(cudaMemcpyAsync(p->seq_lengths.data(), lengths.data(), lengths.size() * sizeof(int32_t),
                                  cudaMemcpyHostToDevice, ctx_.stream()));

    FR_CUDNN_CHECK(cudnnGetRNNWeightSpaceSize(handle_, p->rnn, &p->weight_bytes));
    size_t unused_reserve = 0;
    FR_CUDNN_CHECK(cudnnGetRNNTempSpaceSizes(handle_, p->rnn, CUDNN_FWD_MODE_INFERENCE, p->x, &p->work_inference,
                                             &unused_reserve));
    FR_CUDNN_CHECK(cudnnGetRNNTempSpaceSizes(handle_, p->rnn, CUDNN_FWD_MODE_TRAINING, p->x, &p->work_training,
                                             &p->reserve_bytes));

    p->wspace = DeviceBuffer(p->weight_bytes);
    p->dwspace = DeviceBuffer(p->weight_bytes);
    // Padding cuDNN may leave between matrices stays zero; the mapped entries are rewritten every call.
    FR_CUDA_CHECK(cudaMemsetAsync(p->wspace.data(), 0, p->weight_bytes, ctx_.stream()));
    build_weight_map(spec, *p);
    ctx_.synchronize();  // the host vectors copied above go out of scope

    // Evicted only now: a plan that fails to build (an algorithm cuDNN refuses for this shape) costs no good
    // one. The stream was just drained, so no queued cuDNN call still reads the evicted plan's buffers (its
    // device sequence lengths are read asynchronously) when they are freed.
    if (plans_.size() >= kMaxPlans)
        plans_.erase(std::min_element(plans_.begin(), plans_.end(), [](const auto& a, const auto& b) {
            return a.second->last_use < b.second->last_use;
        }));
    Plan& ref = *p;
    plans_.emplace(key, std::move(p));
    return ref;
}

void CudnnBackend::build_weight_map(const RnnSpec& spec, Plan& p) {
    const int H = spec.hidden_size, D = spec.directions(), G = spec.gates();
    const size_t P = rnn_param_count(spec);
    const size_t ws_elems = p.weight_bytes / sizeof(float);
    FR_CHECK(ws_elems < size_t(INT32_MAX), "cuDNN weight space of {} bytes is too large for the index map",
             p.weight_bytes);
    std::vector<int32_t> map(P, -1);
    std::vector<uint8_t> taken(ws_elems, 0);
    TensorDesc mdesc, bdesc;
    const char* ws_base = static_cast<const char*>(p.wspace.data());

    auto assign = [&](size_t src, const void* addr, size_t count, const char* what, int pseudo, int lin) {
        FR_CHECK(addr != nullptr, "cuDNN returned no {} for pseudo-layer {} linear layer {}", what, pseudo, lin);
        const ptrdiff_t bytes = static_cast<const char*>(addr) - ws_base;
        FR_CHECK(bytes >= 0 && bytes % ptrdiff_t(sizeof(float)) == 0 &&
                     size_t(bytes) / sizeof(float) + count <= ws_elems,
                 "cuDNN {} of pseudo-layer {} linear layer {} lies outside the weight space", what, pseudo, lin);
        const size_t dst = size_t(bytes) / sizeof(float);
        for (size_t e = 0; e < count; ++e) {
            FR_CHECK(map[src + e] == -1 && !taken[dst + e],
                     "cuDNN weight map collision at parameter {} / weight-space element {}", src + e, dst + e);
            map[src + e] = int32_t(dst + e);
            taken[dst + e] = 1;
        }
    };

    for (int l = 0; l < spec.num_layers; ++l) {
        const int in = spec.layer_input_size(l);
        for (int d = 0; d < D; ++d) {
            const int pseudo = l * D + d;
            const RnnWeightOffsets o = rnn_weight_offsets(spec, l, d);
            for (int lin = 0; lin < 2 * G; ++lin) {
                const bool input_side = lin < G;
                const int gate = lin % G;
                const size_t cols = size_t(input_side ? in : H);
                void* m = nullptr;
                void* b = nullptr;
                FR_CUDNN_CHECK(cudnnGetRNNWeightParams(handle_, p.rnn, pseudo, p.weight_bytes, p.wspace.data(), lin,
                                                       mdesc.d, &m, bdesc.d, &b));
                const size_t mcount = mdesc.packed_count("matrix", pseudo, lin);
                const size_t bcount = bdesc.packed_count("bias", pseudo, lin);
                FR_CHECK(mcount == size_t(H) * cols && bcount == size_t(H),
                         "cuDNN pseudo-layer {} linear layer {}: matrix of {} and bias of {} elements, expected {} and {}",
                         pseudo, lin, mcount, bcount, size_t(H) * cols, H);
                // Our W_ih / W_hh are [G·H, cols] row-major; gate k's rows are one contiguous [H, cols] block,
                // laid out as cuDNN's matrix (row-major [H, cols]), as PyTorch relies on too.
                assign((input_side ? o.w_ih : o.w_hh) + size_t(gate) * H * cols, m, size_t(H) * cols, "matrix", pseudo,
                       lin);
                assign((input_side ? o.b_ih : o.b_hh) + size_t(gate) * H, b, size_t(H), "bias", pseudo, lin);
            }
        }
    }
    for (size_t i = 0; i < P; ++i)
        FR_CHECK(map[i] >= 0, "parameter {} of {} has no place in cuDNN's weight space", i, spec.describe());

    p.params = P;
    p.map = DeviceBuffer(P * sizeof(int32_t));
    FR_CUDA_CHECK(cudaMemcpyAsync(p.map.data(), map.data(), P * sizeof(int32_t), cudaMemcpyHostToDevice,
                                  ctx_.stream()));
    ctx_.synchronize();
}

// Optional state tensors: cuDNN documents NULL for absent hx/cx/dhy/dcy (zeros) and hy/cy/dhx/dcx (not
// written), but we hand it real buffers anyway (a shared zero block for inputs, scratch sinks for
// outputs) so nothing depends on that corner of the API; the cost is a memset of L·D·N·H floats.

void CudnnBackend::rnn_forward(const RnnSpec& spec, const RnnForwardArgs<float>& a) {
    FR_CHECK(a.x && a.weights && a.y, "rnn_forward: x, weights and y are required");
    auto g = ctx_.guard();
    Plan& p = plan(spec, a.T, a.N);
    cudaStream_t st = ctx_.stream();
    scatter_params(p.params, p.map.as<int32_t>(), a.weights, p.wspace.as<float>(), st);

    const bool training = a.reserve != nullptr;
    const size_t work_bytes = training ? p.work_training : p.work_inference;
    const size_t state = size_t(spec.num_layers) * spec.directions() * a.N * spec.hidden_size;
    ScratchPlan sp;
    const int id_work = sp.add<char>(work_bytes);
    const int id_zero = sp.add<float>(state);
    const int id_sink_h = sp.add<float>(state);
    const int id_sink_c = sp.add<float>(state);
    void* base = ctx_.scratch(sp.bytes());
    void* work = work_bytes ? static_cast<void*>(sp.ptr<char>(id_work, base)) : nullptr;
    float* zeros = sp.ptr<float>(id_zero, base);
    FR_CUDA_CHECK(cudaMemsetAsync(zeros, 0, sizeof(float) * state, st));
    const float* hx = a.h0 ? a.h0 : zeros;
    float* hy = a.hn ? a.hn : sp.ptr<float>(id_sink_h, base);
    const float* cx = !p.lstm ? nullptr : a.c0 ? a.c0 : zeros;
    float* cy = !p.lstm ? nullptr : a.cn ? a.cn : sp.ptr<float>(id_sink_c, base);

    FR_CUDNN_CHECK(cudnnRNNForward(handle_, p.rnn, training ? CUDNN_FWD_MODE_TRAINING : CUDNN_FWD_MODE_INFERENCE,
                                   p.seq_lengths.as<int32_t>(), p.x, a.x, p.y, a.y, p.h, hx, hy, p.h, cx, cy,
                                   p.weight_bytes, p.wspace.data(), work_bytes, work,
                                   training ? p.reserve_bytes : 0, training ? a.reserve : nullptr));
    if (a.cn && !p.lstm) FR_CUDA_CHECK(cudaMemsetAsync(a.cn, 0, sizeof(float) * state, st));
}

void CudnnBackend::rnn_backward(const RnnSpec& spec, const RnnBackwardArgs<float>& a) {
    FR_CHECK(a.x && a.weights && a.y && a.reserve && a.dweights,
             "rnn_backward: x, weights, y (forward's output), reserve (from a training forward) and dweights are "
             "required");
    auto g = ctx_.guard();
    Plan& p = plan(spec, a.T, a.N);
    cudaStream_t st = ctx_.stream();
    scatter_params(p.params, p.map.as<int32_t>(), a.weights, p.wspace.as<float>(), st);

    // Stand-ins for the arguments the caller left out (see the note above rnn_forward): dy = 0, dx to scratch.
    const size_t y_elems = size_t(a.T) * a.N * spec.output_size();
    const size_t x_elems = size_t(a.T) * a.N * spec.input_size;
    const size_t state = size_t(spec.num_layers) * spec.directions() * a.N * spec.hidden_size;
    ScratchPlan sp;
    const int id_work = sp.add<char>(p.work_training);
    const int id_dy = a.dy ? -1 : sp.add<float>(y_elems);
    const int id_dx = a.dx ? -1 : sp.add<float>(x_elems);
    const int id_zero = sp.add<float>(state);
    const int id_sink_h = sp.add<float>(state);
    const int id_sink_c = sp.add<float>(state);
    void* base = ctx_.scratch(sp.bytes());
    void* work = p.work_training ? static_cast<void*>(sp.ptr<char>(id_work, base)) : nullptr;
    const float* dy = a.dy;
    if (!dy) {
        float* z = sp.ptr<float>(id_dy, base);
        FR_CUDA_CHECK(cudaMemsetAsync(z, 0, sizeof(float) * y_elems, st));
        dy = z;
    }
    float* dx = a.dx ? a.dx : sp.ptr<float>(id_dx, base);
    float* zeros = sp.ptr<float>(id_zero, base);
    FR_CUDA_CHECK(cudaMemsetAsync(zeros, 0, sizeof(float) * state, st));
    const float* hx = a.h0 ? a.h0 : zeros;
    const float* dhy = a.dhn ? a.dhn : zeros;
    float* dhx = a.dh0 ? a.dh0 : sp.ptr<float>(id_sink_h, base);
    const float* cx = !p.lstm ? nullptr : a.c0 ? a.c0 : zeros;
    const float* dcy = !p.lstm ? nullptr : a.dcn ? a.dcn : zeros;
    float* dcx = !p.lstm ? nullptr : a.dc0 ? a.dc0 : sp.ptr<float>(id_sink_c, base);
    void* reserve = const_cast<float*>(a.reserve);  // cuDNN uses it as scratch between the two backward calls

    FR_CUDNN_CHECK(cudnnRNNBackwardData_v8(handle_, p.rnn, p.seq_lengths.as<int32_t>(), p.y, a.y, dy, p.x, dx, p.h,
                                           hx, dhy, dhx, p.h, cx, dcy, dcx, p.weight_bytes, p.wspace.data(),
                                           p.work_training, work, p.reserve_bytes, reserve));
    FR_CUDA_CHECK(cudaMemsetAsync(p.dwspace.data(), 0, p.weight_bytes, st));  // WGRAD_MODE_ADD accumulates
    FR_CUDNN_CHECK(cudnnRNNBackwardWeights_v8(handle_, p.rnn, CUDNN_WGRAD_MODE_ADD, p.seq_lengths.as<int32_t>(), p.x,
                                              a.x, p.h, hx, p.y, a.y, p.weight_bytes, p.dwspace.data(),
                                              p.work_training, work, p.reserve_bytes, reserve));
    gather_add_params(p.params, p.map.as<int32_t>(), p.dwspace.as<float>(), a.dweights, st);
    if (a.dc0 && !p.lstm) FR_CUDA_CHECK(cudaMemsetAsync(a.dc0, 0, sizeof(float) * state, st));
}

}  // namespace

std::shared_ptr<Backend<float>> make_cudnn_backend(int device) { return std::make_shared<CudnnBackend>(device); }

}  // namespace fusedrnn::gpu
