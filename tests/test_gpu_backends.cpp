// GPU backends: `cuda` (fused kernels) vs `cudnn` (cuDNN 9) vs `cpu` (reference) on fresh random
// inputs and weights, over a grid of odd and large shapes; the dense ops vs `cpu`; memory errors;
// sentinel guard bytes around outputs. Skips (with a message) where no GPU is present.
//
// Suites: GpuRnnSmall.* and GpuDense.* are small enough for compute-sanitizer (scripts/gpu_check.sh
// runs memcheck/racecheck on them); GpuRnnLarge.* covers batch 1024 and hidden 512; GpuMemory.* has the
// expected-failure allocation test (excluded under the sanitizer, which reports the failed cudaMalloc).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "core/backend.h"
#include "core/param_layout.h"
#include "tests/test_support.h"

namespace fusedrnn {
namespace {

using testing::rel_error;

constexpr double kTol = 1e-5;  // ‖a − b‖ / ‖b‖ in fp32 (DESIGN.md)

#define FR_REQUIRE_GPU()                                                                                   \
    do {                                                                                                   \
        if (!::fusedrnn::gpu_available())                                                                  \
            GTEST_SKIP() << "no CUDA GPU in this process (no device/driver, or a build without "              \
                            "-DFUSEDRNN_CUDA=ON): the GPU tests run on the GPU machine via scripts/gpu_check.sh"; \
    } while (0)

// ---- device buffers with sentinel guard zones ---------------------------------------------------

// Floats of guard zone on each side. A multiple of 64 floats (256 bytes), so the array keeps the 256-byte
// alignment of allocate() that every production buffer (and every buffer PyTorch gives cuDNN) has: cuDNN
// documents no alignment rule for its RNN reserve space and tensors, and a kernel that assumes one fails
// with "misaligned address", a sticky error that would poison the CUDA context for every later test.
// Overruns of up to kPad floats are caught whatever the pad's parity (the trailing zone starts right
// after the n floats).
constexpr size_t kPad = 64;
constexpr uint32_t kSentinelBits = 0x7fa5a5a5u;  // a NaN payload no kernel produces

float sentinel() {
    float f;
    std::memcpy(&f, &kSentinelBits, sizeof f);
    return f;
}

// A device array of n floats with kPad sentinel floats before and after it.
struct Guarded {
    std::shared_ptr<Storage> storage;
    size_t n = 0;
    float* data() const { return storage ? static_cast<float*>(storage->data()) + kPad : nullptr; }
};

Guarded make_guarded(Backend<float>& be, size_t n, const std::vector<float>* init = nullptr) {
    Guarded g;
    g.n = n;
    g.storage = be.allocate((n + 2 * kPad) * sizeof(float));
    std::vector<float> host(n + 2 * kPad, sentinel());
    if (init) {
        EXPECT_EQ(init->size(), n);
        std::copy(init->begin(), init->end(), host.begin() + kPad);
    } else {
        std::fill(host.begin() + kPad, host.begin() + kPad + n, 0.f);
    }
    be.copy_from_host(g.storage->data(), host.data(), host.size() * sizeof(float));
    return g;
}

// Reads the array back, checking the guard zones are untouched.
std::vector<float> read_guarded(Backend<float>& be, const Guarded& g, const char* what) {
    std::vector<float> host(g.n + 2 * kPad);
    be.copy_to_host(host.data(), g.storage->data(), host.size() * sizeof(float));
    size_t bad = 0;
    for (size_t i = 0; i < host.size(); ++i) {
        if (i >= kPad && i < kPad + g.n) continue;
        uint32_t bits;
        std::memcpy(&bits, &host[i], sizeof bits);
        if (bits != kSentinelBits) ++bad;
    }
    EXPECT_EQ(bad, 0u) << be.name() << ": " << bad << " guard floats around " << what << " were overwritten";
    return std::vector<float>(host.begin() + kPad, host.begin() + kPad + g.n);
}

// A plain device array (or nullptr for an empty host vector).
struct DevArray {
    std::shared_ptr<Storage> storage;
    float* data() const { return storage ? static_cast<float*>(storage->data()) : nullptr; }
};

DevArray upload(Backend<float>& be, const std::vector<float>& v) {
    DevArray d;
    if (v.empty()) return d;
    d.storage = be.allocate(v.size() * sizeof(float));
    be.copy_from_host(d.storage->data(), v.data(), v.size() * sizeof(float));
    return d;
}

template <class T>
std::shared_ptr<Storage> upload_raw(Backend<float>& be, const std::vector<T>& v) {
    auto s = be.allocate(std::max<size_t>(v.size(), 1) * sizeof(T));
    if (!v.empty()) be.copy_from_host(s->data(), v.data(), v.size() * sizeof(T));
    return s;
}

// ---- recurrent stack runs -----------------------------------------------------------------------

struct RnnCase {
    CellType cell;
    int C, H, L;
    bool bidir;
    int T, N;
    std::string str() const {
        return fmt::format("{} C={} H={} L={} {} T={} N={}", cell_name(cell), C, H, L, bidir ? "bi" : "uni", T, N);
    }
    RnnSpec spec() const {
        RnnSpec s;
        s.cell = cell;
        s.input_size = C;
        s.hidden_size = H;
        s.num_layers = L;
        s.bidirectional = bidir;
        return s;
    }
};

// Host inputs of one run; empty vectors stand for nullptr arguments.
struct RnnInputs {
    std::vector<float> x, h0, c0, w, dy, dhn, dcn, dw_init;
};

struct RnnOutputs {
    std::vector<float> y, hn, cn, dx, dh0, dc0, dw;
};

RnnInputs random_inputs(const RnnCase& c, std::mt19937_64& rng, bool all_optional = true) {
    const RnnSpec spec = c.spec();
    const size_t state = size_t(c.L) * spec.directions() * c.N * c.H;
    const double k = 1.0 / std::sqrt(double(c.H));
    RnnInputs in;
    in.x = testing::random_vector<float>(size_t(c.T) * c.N * c.C, rng);
    in.w = testing::random_vector<float>(rnn_param_count(spec), rng, -k, k);
    if (all_optional) {
        in.h0 = testing::random_vector<float>(state, rng);
        if (has_cell_state(c.cell)) in.c0 = testing::random_vector<float>(state, rng);
        in.dy = testing::random_vector<float>(size_t(c.T) * c.N * spec.output_size(), rng);
        in.dhn = testing::random_vector<float>(state, rng);
        if (has_cell_state(c.cell)) in.dcn = testing::random_vector<float>(state, rng);
    }
    return in;
}

struct RunOptions {
    bool want_dx = true, want_dh0 = true, want_dc0 = true, want_hn = true, want_cn = true;
    bool backward = true;
};

RnnOutputs run_rnn(Backend<float>& be, const RnnCase& c, const RnnInputs& in, const RunOptions& opt = {}) {
    const RnnSpec spec = c.spec();
    const size_t state = size_t(c.L) * spec.directions() * c.N * c.H;
    const size_t P = rnn_param_count(spec);
    const bool lstm = has_cell_state(c.cell);
    DevArray x = upload(be, in.x), h0 = upload(be, in.h0), c0 = upload(be, in.c0), w = upload(be, in.w),
             dy = upload(be, in.dy), dhn = upload(be, in.dhn), dcn = upload(be, in.dcn);

    Guarded y = make_guarded(be, size_t(c.T) * c.N * spec.output_size());
    Guarded hn = make_guarded(be, state), cn = make_guarded(be, state);
    const size_t reserve_n = be.rnn_reserve_size(spec, c.T, c.N);
    Guarded reserve = make_guarded(be, reserve_n);

    RnnForwardArgs<float> f;
    f.T = c.T;
    f.N = c.N;
    f.x = x.data();
    f.h0 = h0.data();
    f.c0 = c0.data();
    f.weights = w.data();
    f.y = y.data();
    f.hn = opt.want_hn ? hn.data() : nullptr;
    f.cn = opt.want_cn && lstm ? cn.data() : nullptr;
    f.reserve = opt.backward ? reserve.data() : nullptr;
    be.rnn_forward(spec, f);

    RnnOutputs out;
    out.y = read_guarded(be, y, "y");
    out.hn = read_guarded(be, hn, "h_n");
    out.cn = read_guarded(be, cn, "c_n");
    if (!opt.backward) return out;

    Guarded dx = make_guarded(be, in.x.size()), dh0 = make_guarded(be, state), dc0 = make_guarded(be, state);
    Guarded dw = make_guarded(be, P, in.dw_init.empty() ? nullptr : &in.dw_init);
    RnnBackwardArgs<float> b;
    b.T = c.T;
    b.N = c.N;
    b.x = x.data();
    b.h0 = h0.data();
    b.c0 = c0.data();
    b.weights = w.data();
    b.y = y.data();
    b.dy = dy.data();
    b.dhn = dhn.data();
    b.dcn = dcn.data();
    b.reserve = reserve.data();
    b.dx = opt.want_dx ? dx.data() : nullptr;
    b.dh0 = opt.want_dh0 ? dh0.data() : nullptr;
    b.dc0 = opt.want_dc0 && lstm ? dc0.data() : nullptr;
    b.dweights = dw.data();
    be.rnn_backward(spec, b);

    out.dx = read_guarded(be, dx, "dx");
    out.dh0 = read_guarded(be, dh0, "dh0");
    out.dc0 = read_guarded(be, dc0, "dc0");
    out.dw = read_guarded(be, dw, "dweights");
    read_guarded(be, reserve, "reserve");
    // The y buffer must be untouched by backward as well.
    const std::vector<float> y_after = read_guarded(be, y, "y (after backward)");
    EXPECT_EQ(0, std::memcmp(y_after.data(), out.y.data(), y_after.size() * sizeof(float)))
        << be.name() << ": backward modified y";
    return out;
}

void expect_close(const RnnOutputs& a, const RnnOutputs& b, const std::string& what, bool backward = true) {
    auto check = [&](const std::vector<float>& u, const std::vector<float>& v, const char* name) {
        ASSERT_EQ(u.size(), v.size()) << what << " " << name;
        for (float f : u) {
            if (!std::isfinite(f)) {
                ADD_FAILURE() << what << ": " << name << " has a non-finite value";
                return;
            }
        }
        const double e = rel_error(u, v);
        EXPECT_LT(e, kTol) << what << ": " << name << " relative error " << e;
    };
    check(a.y, b.y, "y");
    check(a.hn, b.hn, "h_n");
    check(a.cn, b.cn, "c_n");
    if (!backward) return;
    check(a.dx, b.dx, "dx");
    check(a.dh0, b.dh0, "dh0");
    check(a.dc0, b.dc0, "dc0");
    check(a.dw, b.dw, "dweights");
}

struct Backends {
    std::shared_ptr<Backend<float>> cpu, cuda, cudnn;
};

Backends all_backends() {
    return Backends{make_backend("cpu"), make_backend("cuda"), make_backend("cudnn")};
}

// Cells cuDNN has (every cell but the reset-before GRU).
const CellType kCudnnCells[] = {CellType::RnnTanh, CellType::RnnRelu, CellType::Lstm, CellType::Gru};

void cross_check(const std::vector<RnnCase>& cases, bool with_cudnn) {
    Backends be = all_backends();
    std::mt19937_64 rng(testing::test_seed());
    for (const RnnCase& c : cases) {
        SCOPED_TRACE(c.str());
        const RnnInputs in = random_inputs(c, rng);
        const RnnOutputs ref = run_rnn(*be.cpu, c, in);
        const RnnOutputs fused = run_rnn(*be.cuda, c, in);
        expect_close(fused, ref, "cuda vs cpu");
        if (with_cudnn) {
            const RnnOutputs dnn = run_rnn(*be.cudnn, c, in);
            expect_close(dnn, ref, "cudnn vs cpu");
            expect_close(fused, dnn, "cuda vs cudnn");
        }
    }
}

std::vector<RnnCase> small_cases(CellType cell) {
    return {
        {cell, 1, 1, 1, false, 1, 1},   // everything minimal
        {cell, 4, 3, 2, true, 2, 7},    // odd sizes, stacked, bidirectional
        {cell, 5, 37, 3, true, 48, 7},  // three layers, long sequence
        {cell, 3, 37, 1, false, 48, 1}, // batch 1
        {cell, 2, 3, 3, false, 1, 7},   // T = 1 stacked
    };
}

std::vector<RnnCase> large_cases(CellType cell) {
    return {
        {cell, 5, 130, 1, false, 2, 1024},  // batch 1024, odd hidden
        {cell, 5, 512, 1, true, 48, 7},     // hidden 512, bidirectional, long
        {cell, 5, 64, 2, false, 48, 1024},  // the station shape (smaller hidden, to keep the CPU quick)
        {cell, 5, 512, 1, false, 2, 1024},  // batch 1024 at hidden 512
        {cell, 7, 130, 2, true, 48, 7},     // stacked bidirectional above hidden 128
    };
}

// ---- recurrent stack tests ----------------------------------------------------------------------

TEST(GpuRnnSmall, CudaCudnnCpuAgree) {
    FR_REQUIRE_GPU();
    for (CellType cell : kCudnnCells) cross_check(small_cases(cell), true);
}

TEST(GpuRnnSmall, GruResetBeforeCudaMatchesCpu) {
    FR_REQUIRE_GPU();
    cross_check(small_cases(CellType::GruResetBefore), false);
}

TEST(GpuRnnLarge, CudaCudnnCpuAgree) {
    FR_REQUIRE_GPU();
    for (CellType cell : kCudnnCells) cross_check(large_cases(cell), true);
}

TEST(GpuRnnLarge, GruResetBeforeCudaMatchesCpu) {
    FR_REQUIRE_GPU();
    cross_check(large_cases(CellType::GruResetBefore), false);
}

// nullptr h0/c0/dy/dhn/dcn read as zeros; nullptr dx/dh0/dc0/hn/cn are simply not written.
TEST(GpuRnnSmall, OptionalArgumentsMayBeNull) {
    FR_REQUIRE_GPU();
    Backends be = all_backends();
    std::mt19937_64 rng(testing::test_seed());
    RunOptions opt;
    opt.want_dx = opt.want_dh0 = opt.want_dc0 = opt.want_hn = opt.want_cn = false;
    for (CellType cell : {CellType::RnnTanh, CellType::Lstm, CellType::Gru, CellType::GruResetBefore}) {
        const RnnCase c{cell, 4, 9, 2, true, 5, 3};
        SCOPED_TRACE(c.str());
        RnnInputs in = random_inputs(c, rng, /*all_optional=*/false);
        in.dy = testing::random_vector<float>(size_t(c.T) * c.N * c.spec().output_size(), rng);
        const RnnOutputs ref = run_rnn(*be.cpu, c, in, opt);
        const RnnOutputs fused = run_rnn(*be.cuda, c, in, opt);
        expect_close(fused, ref, "cuda vs cpu (null optionals)");
        if (cell != CellType::GruResetBefore) expect_close(run_rnn(*be.cudnn, c, in, opt), ref, "cudnn vs cpu (null optionals)");
        // Outputs that were not requested stay zero (make_guarded zero-fills them).
        for (float v : fused.dx) ASSERT_EQ(v, 0.f);
        for (float v : fused.hn) ASSERT_EQ(v, 0.f);
    }
}

TEST(GpuRnnSmall, InferenceMatchesTraining) {
    FR_REQUIRE_GPU();
    Backends be = all_backends();
    std::mt19937_64 rng(testing::test_seed());
    RunOptions infer;
    infer.backward = false;
    for (CellType cell : {CellType::RnnRelu, CellType::Lstm, CellType::Gru, CellType::GruResetBefore}) {
        const RnnCase c{cell, 5, 21, 3, true, 11, 6};
        SCOPED_TRACE(c.str());
        const RnnInputs in = random_inputs(c, rng);
        for (auto* b : {be.cuda.get(), be.cudnn.get()}) {
            if (b == be.cudnn.get() && cell == CellType::GruResetBefore) continue;
            SCOPED_TRACE(b->name());
            const RnnOutputs train = run_rnn(*b, c, in);
            const RnnOutputs inf = run_rnn(*b, c, in, infer);
            expect_close(inf, train, "inference vs training forward", false);
        }
    }
}

// dweights is accumulated, never overwritten: starting from g gives 2g.
// cuDNN keeps one plan per (spec, T, N) and at most 16 of them: cycling through 20 batch sizes evicts the
// least recently used, and the shape whose plan was evicted first computes the same when its plan is rebuilt.
TEST(GpuRnnSmall, CudnnPlansEvictedAndRebuiltAgree) {
    FR_REQUIRE_GPU();
    Backends be = all_backends();
    std::mt19937_64 rng(testing::test_seed());
    const RnnCase first{CellType::Lstm, 3, 9, 2, true, 5, 1};
    const RnnInputs first_in = random_inputs(first, rng);
    const RnnOutputs first_ref = run_rnn(*be.cpu, first, first_in);
    expect_close(run_rnn(*be.cudnn, first, first_in), first_ref, "cudnn vs cpu, first plan");
    for (int N = 2; N <= 20; ++N) {
        const RnnCase c{CellType::Lstm, 3, 9, 2, true, 5, N};
        SCOPED_TRACE(c.str());
        const RnnInputs in = random_inputs(c, rng);
        expect_close(run_rnn(*be.cudnn, c, in), run_rnn(*be.cpu, c, in), "cudnn vs cpu");
    }
    expect_close(run_rnn(*be.cudnn, first, first_in), first_ref, "cudnn vs cpu, first plan rebuilt");
}

TEST(GpuRnnSmall, WeightGradientsAccumulate) {
    FR_REQUIRE_GPU();
    Backends be = all_backends();
    std::mt19937_64 rng(testing::test_seed());
    for (CellType cell : {CellType::Lstm, CellType::Gru, CellType::GruResetBefore}) {
        const RnnCase c{cell, 3, 10, 2, true, 4, 5};
        SCOPED_TRACE(c.str());
        RnnInputs in = random_inputs(c, rng);
        for (auto* b : {be.cuda.get(), be.cudnn.get()}) {
            if (b == be.cudnn.get() && cell == CellType::GruResetBefore) continue;
            SCOPED_TRACE(b->name());
            in.dw_init.clear();
            const RnnOutputs once = run_rnn(*b, c, in);
            in.dw_init = once.dw;
            const RnnOutputs twice = run_rnn(*b, c, in);
            std::vector<float> doubled(once.dw.size());
            for (size_t i = 0; i < doubled.size(); ++i) doubled[i] = 2.f * once.dw[i];
            EXPECT_LT(rel_error(twice.dw, doubled), kTol);
        }
    }
}

TEST(GpuRnnSmall, CudnnRejectsResetBeforeGru) {
    FR_REQUIRE_GPU();
    auto be = make_backend("cudnn");
    RnnSpec s;
    s.cell = CellType::GruResetBefore;
    s.input_size = 2;
    s.hidden_size = 3;
    try {
        be->rnn_reserve_size(s, 4, 2);
        FAIL() << "expected fusedrnn::Error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("reset-before"), std::string::npos) << e.what();
    }
}

// ---- dense ops vs cpu ---------------------------------------------------------------------------

struct DensePair {
    std::shared_ptr<Backend<float>> cpu = make_backend("cpu");
    std::shared_ptr<Backend<float>> gpu = make_backend("cuda");
};

TEST(GpuDense, ElementwiseAndReductions) {
    FR_REQUIRE_GPU();
    DensePair be;
    std::mt19937_64 rng(testing::test_seed());
    for (size_t n : {size_t(1), size_t(1000), size_t(1) << 20}) {
        SCOPED_TRACE(n);
        const auto x = testing::random_vector<float>(n, rng);
        const auto y = testing::random_vector<float>(n, rng);
        DevArray dx = upload(*be.gpu, x);
        Guarded dy = make_guarded(*be.gpu, n, &y);
        be.gpu->axpy(n, 0.75f, dx.data(), dy.data());
        be.gpu->scale(n, dy.data(), -1.5f);
        std::vector<float> ref = y;
        be.cpu->axpy(n, 0.75f, x.data(), ref.data());
        be.cpu->scale(n, ref.data(), -1.5f);
        EXPECT_LT(rel_error(read_guarded(*be.gpu, dy, "axpy/scale"), ref), 1e-7);

        const double ss = be.gpu->sum_squares(n, dx.data());
        EXPECT_NEAR(ss, be.cpu->sum_squares(n, x.data()), 1e-12 * std::max(1.0, ss));
        EXPECT_TRUE(be.gpu->all_finite(n, dx.data()));

        be.gpu->fill(n, dy.data(), 2.5f);
        for (float v : read_guarded(*be.gpu, dy, "fill")) ASSERT_EQ(v, 2.5f);
    }
    for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                      -std::numeric_limits<float>::infinity()}) {
        std::vector<float> v(4097, 1.f);
        v[4000] = bad;
        DevArray d = upload(*be.gpu, v);
        EXPECT_FALSE(be.gpu->all_finite(v.size(), d.data()));
    }
}

// The ops a training step uses so that the host never waits: results left in device memory (sum_squares_into;
// mse_into is in Losses), clipping by a norm that stays there, and uploads through the pinned staging ring (more
// uploads than it has slots, of growing sizes, from one host buffer overwritten as soon as each call returns).
TEST(GpuDense, ResultsLeftOnTheDevice) {
    FR_REQUIRE_GPU();
    DensePair be;
    std::mt19937_64 rng(testing::test_seed());
    auto slots = be.gpu->allocate(3 * sizeof(double));  // slot 0 is for the clip below
    double* dev = static_cast<double*>(slots->data());
    auto read = [&](int i) {
        double v = 0;
        be.gpu->copy_to_host(&v, dev + i, sizeof v);
        return v;
    };
    const size_t n = 100003;
    const auto p = testing::random_vector<float>(n, rng);
    DevArray gp = upload(*be.gpu, p);
    be.gpu->sum_squares_into(n, gp.data(), dev + 1);
    be.gpu->sum_squares_into(0, gp.data(), dev + 2);
    const double ss = be.cpu->sum_squares(n, p.data());
    EXPECT_NEAR(read(1), ss, 1e-12 * ss);
    EXPECT_EQ(read(2), 0.0);

    for (double max_norm : {0.5 * std::sqrt(ss), 2 * std::sqrt(ss)}) {
        SCOPED_TRACE(max_norm);
        Guarded g = make_guarded(*be.gpu, n, &p);
        be.gpu->sum_squares_into(n, g.data(), dev);
        be.gpu->clip_by_norm(n, g.data(), dev, max_norm);
        std::vector<float> want = p;
        be.cpu->clip_by_norm(n, want.data(), &ss, max_norm);
        EXPECT_LT(rel_error(read_guarded(*be.gpu, g, "clip_by_norm"), want), 1e-7);
    }

    // Uploads queued behind long device work, so the ring's slots are still in use when it comes round to
    // them: three times round the ring, growing sizes, from one host buffer overwritten as soon as each
    // call returns.
    const int uploads = 3 * 8 + 1;
    std::vector<DevArray> dst;
    std::vector<std::vector<float>> sent;
    for (int i = 0; i < uploads; ++i) {
        sent.push_back(testing::random_vector<float>(size_t(100 + 500 * i), rng));
        dst.push_back(DevArray{be.gpu->allocate(sent.back().size() * sizeof(float))});
    }
    const size_t busy_n = size_t(1) << 24;  // 64 MB, scaled 20 times: about a millisecond of queued work
    auto busy = be.gpu->allocate(busy_n * sizeof(float));
    be.gpu->fill(busy_n, static_cast<float*>(busy->data()), 1.f);
    for (int k = 0; k < 20; ++k) be.gpu->scale(busy_n, static_cast<float*>(busy->data()), 1.f);
    std::vector<float> host;
    for (int i = 0; i < uploads; ++i) {
        host = sent[i];
        be.gpu->copy_from_host_async(dst[i].data(), host.data(), host.size() * sizeof(float));
        std::fill(host.begin(), host.end(), std::nanf(""));  // reused at once, as the interface allows
    }
    for (int i = 0; i < uploads; ++i) {
        std::vector<float> back(sent[i].size());
        be.gpu->copy_to_host(back.data(), dst[i].data(), back.size() * sizeof(float));
        EXPECT_EQ(back, sent[i]) << "upload " << i;
    }
}

TEST(GpuDense, LinearForwardBackward) {
    FR_REQUIRE_GPU();
    DensePair be;
    std::mt19937_64 rng(testing::test_seed());
    struct Shape { int M, in, out; };
    for (Shape s : {Shape{1, 1, 1}, Shape{7, 5, 3}, Shape{1024, 128, 24}, Shape{33, 257, 129}}) {
        SCOPED_TRACE(fmt::format("M={} in={} out={}", s.M, s.in, s.out));
        const auto x = testing::random_vector<float>(size_t(s.M) * s.in, rng);
        const auto W = testing::random_vector<float>(size_t(s.out) * s.in, rng);
        const auto b = testing::random_vector<float>(size_t(s.out), rng);
        const auto dyv = testing::random_vector<float>(size_t(s.M) * s.out, rng);
        const auto dW0 = testing::random_vector<float>(W.size(), rng);
        const auto db0 = testing::random_vector<float>(b.size(), rng);
        for (bool with_bias : {true, false}) {
            std::vector<float> y_ref(size_t(s.M) * s.out), dx_ref(x.size()), dW_ref = dW0, db_ref = db0;
            be.cpu->linear_forward(s.M, s.in, s.out, x.data(), W.data(), with_bias ? b.data() : nullptr, y_ref.data());
            be.cpu->linear_backward(s.M, s.in, s.out, x.data(), W.data(), dyv.data(), dx_ref.data(), dW_ref.data(),
                                    with_bias ? db_ref.data() : nullptr);

            DevArray gx = upload(*be.gpu, x), gW = upload(*be.gpu, W), gb = upload(*be.gpu, b), gdy = upload(*be.gpu, dyv);
            Guarded gy = make_guarded(*be.gpu, y_ref.size()), gdx = make_guarded(*be.gpu, x.size());
            Guarded gdW = make_guarded(*be.gpu, W.size(), &dW0), gdb = make_guarded(*be.gpu, b.size(), &db0);
            be.gpu->linear_forward(s.M, s.in, s.out, gx.data(), gW.data(), with_bias ? gb.data() : nullptr, gy.data());
            be.gpu->linear_backward(s.M, s.in, s.out, gx.data(), gW.data(), gdy.data(), gdx.data(), gdW.data(),
                                    with_bias ? gdb.data() : nullptr);
            EXPECT_LT(rel_error(read_guarded(*be.gpu, gy, "linear y"), y_ref), kTol);
            EXPECT_LT(rel_error(read_guarded(*be.gpu, gdx, "linear dx"), dx_ref), kTol);
            EXPECT_LT(rel_error(read_guarded(*be.gpu, gdW, "linear dW"), dW_ref), kTol);
            EXPECT_LT(rel_error(read_guarded(*be.gpu, gdb, "linear db"), db_ref), kTol);
        }
    }
}

TEST(GpuDense, Embedding) {
    FR_REQUIRE_GPU();
    DensePair be;
    std::mt19937_64 rng(testing::test_seed());
    const int V = 50, dim = 13, n = 300;  // n > V: duplicate ids must accumulate
    const auto table = testing::random_vector<float>(size_t(V) * dim, rng);
    const auto dout = testing::random_vector<float>(size_t(n) * dim, rng);
    std::vector<int32_t> ids(n);
    std::uniform_int_distribution<int> pick(0, V - 1);
    for (auto& i : ids) i = pick(rng);

    std::vector<float> out_ref(size_t(n) * dim), dtable_ref(table.size(), 0.f);
    be.cpu->embedding_forward(n, V, dim, ids.data(), table.data(), out_ref.data());
    be.cpu->embedding_backward(n, V, dim, ids.data(), dout.data(), dtable_ref.data());

    auto gids = upload_raw(*be.gpu, ids);
    DevArray gtable = upload(*be.gpu, table), gdout = upload(*be.gpu, dout);
    Guarded gout = make_guarded(*be.gpu, out_ref.size()), gdtable = make_guarded(*be.gpu, table.size());
    const auto* pid = static_cast<const int32_t*>(gids->data());
    be.gpu->embedding_forward(n, V, dim, pid, gtable.data(), gout.data());
    be.gpu->embedding_backward(n, V, dim, pid, gdout.data(), gdtable.data());
    EXPECT_EQ(rel_error(read_guarded(*be.gpu, gout, "embedding out"), out_ref), 0.0);
    EXPECT_LT(rel_error(read_guarded(*be.gpu, gdtable, "embedding dtable"), dtable_ref), kTol);

    // An id out of range is found on the device and reported at the next wait, naming it.
    ids[17] = V;
    auto bad = upload_raw(*be.gpu, ids);
    const auto* pbad = static_cast<const int32_t*>(bad->data());
    be.gpu->embedding_forward(n, V, dim, pbad, gtable.data(), gout.data());
    std::string msg = testing::error_of([&] { be.gpu->synchronize(); });
    EXPECT_NE(msg.find("token id 50 at position 17 is outside [0, 50)"), std::string::npos) << msg;
    be.gpu->embedding_backward(n, V, dim, pbad, gdout.data(), gdtable.data());
    msg = testing::error_of([&] { be.gpu->synchronize(); });
    EXPECT_NE(msg.find("token id 50 at position 17"), std::string::npos) << msg;
    // The flag is lowered after the report: the backend goes on working.
    be.gpu->embedding_forward(n, V, dim, pid, gtable.data(), gout.data());
    EXPECT_EQ(rel_error(read_guarded(*be.gpu, gout, "embedding out after an error"), out_ref), 0.0);
}

TEST(GpuDense, Losses) {
    FR_REQUIRE_GPU();
    DensePair be;
    std::mt19937_64 rng(testing::test_seed());
    {
        const size_t n = 100003;
        const auto p = testing::random_vector<float>(n, rng), t = testing::random_vector<float>(n, rng);
        std::vector<float> g_ref(n);
        const LossResult ref = be.cpu->mse(n, p.data(), t.data(), g_ref.data(), 0.5f);
        DevArray gp = upload(*be.gpu, p), gt = upload(*be.gpu, t);
        Guarded gg = make_guarded(*be.gpu, n);
        const LossResult got = be.gpu->mse(n, gp.data(), gt.data(), gg.data(), 0.5f);
        EXPECT_NEAR(got.loss, ref.loss, 1e-10 * ref.loss);
        EXPECT_LT(rel_error(read_guarded(*be.gpu, gg, "mse grad"), g_ref), 1e-7);
        EXPECT_NEAR(be.gpu->mse(n, gp.data(), gt.data(), nullptr, 1.f).loss, ref.loss, 1e-10 * ref.loss);
        // The same loss left in device memory (the training loop's form), with the same gradient.
        auto slot = be.gpu->allocate(sizeof(double));
        Guarded gg2 = make_guarded(*be.gpu, n);
        be.gpu->mse_into(n, gp.data(), gt.data(), gg2.data(), 0.5f, static_cast<double*>(slot->data()));
        double kept = 0;
        be.gpu->copy_to_host(&kept, slot->data(), sizeof kept);
        EXPECT_EQ(kept, got.loss);
        EXPECT_LT(rel_error(read_guarded(*be.gpu, gg2, "mse_into grad"), g_ref), 1e-7);
    }
    struct Shape { int M, V; };
    for (Shape s : {Shape{1, 1}, Shape{7, 3}, Shape{64, 1000}, Shape{1024, 37}, Shape{5, 20000}}) {
        SCOPED_TRACE(fmt::format("M={} V={}", s.M, s.V));
        auto logits = testing::random_vector<float>(size_t(s.M) * s.V, rng, -4, 4);
        std::vector<int32_t> targets(s.M);
        std::uniform_int_distribution<int> pick(0, s.V - 1);
        for (auto& t : targets) t = pick(rng);
        // Make a few rows' argmax hit the target so `correct` is exercised.
        for (int r = 0; r < s.M; r += 3) logits[size_t(r) * s.V + targets[r]] = 10.f;
        std::vector<float> d_ref(logits.size());
        const LossResult ref = be.cpu->softmax_cross_entropy(s.M, s.V, logits.data(), targets.data(), d_ref.data(), 2.f);
        DevArray gl = upload(*be.gpu, logits);
        auto gt = upload_raw(*be.gpu, targets);
        Guarded gd = make_guarded(*be.gpu, logits.size());
        const LossResult got = be.gpu->softmax_cross_entropy(s.M, s.V, gl.data(), static_cast<const int32_t*>(gt->data()),
                                                             gd.data(), 2.f);
        EXPECT_NEAR(got.loss, ref.loss, 1e-6 * std::max(1.0, std::abs(ref.loss)));
        EXPECT_EQ(got.correct, ref.correct);
        EXPECT_LT(rel_error(read_guarded(*be.gpu, gd, "dlogits"), d_ref), kTol);
        // Left in device memory (the training loop's form): the same mean, hits and gradient.
        auto slots = be.gpu->allocate(2 * sizeof(double));
        Guarded gd2 = make_guarded(*be.gpu, logits.size());
        be.gpu->softmax_cross_entropy_into(s.M, s.V, gl.data(), static_cast<const int32_t*>(gt->data()), gd2.data(),
                                           2.f, static_cast<double*>(slots->data()));
        double kept[2] = {0, 0};
        be.gpu->copy_to_host(kept, slots->data(), sizeof kept);
        EXPECT_EQ(kept[0], got.loss);
        EXPECT_EQ(kept[1], double(got.correct));
        EXPECT_LT(rel_error(read_guarded(*be.gpu, gd2, "dlogits (into)"), d_ref), kTol);
        targets[0] = -1;
        auto bad = upload_raw(*be.gpu, targets);
        EXPECT_THROW(be.gpu->softmax_cross_entropy(s.M, s.V, gl.data(), static_cast<const int32_t*>(bad->data()),
                                                   nullptr, 1.f),
                     Error);
    }
}

TEST(GpuDense, Optimizers) {
    FR_REQUIRE_GPU();
    DensePair be;
    std::mt19937_64 rng(testing::test_seed());
    const size_t n = 123457;
    const auto p0 = testing::random_vector<float>(n, rng), g = testing::random_vector<float>(n, rng);
    const auto m0 = testing::random_vector<float>(n, rng);
    const auto v0 = testing::random_vector<float>(n, rng, 0.0, 1.0);
    auto check = [&](const char* what, auto cpu_step, auto gpu_step, bool use_v) {
        SCOPED_TRACE(what);
        std::vector<float> p = p0, m = m0, v = v0;
        for (int k = 1; k <= 3; ++k) cpu_step(p.data(), m.data(), v.data(), k);
        DevArray gg = upload(*be.gpu, g);
        Guarded gp = make_guarded(*be.gpu, n, &p0), gm = make_guarded(*be.gpu, n, &m0), gv = make_guarded(*be.gpu, n, &v0);
        for (int k = 1; k <= 3; ++k) gpu_step(gp.data(), gg.data(), gm.data(), gv.data(), k);
        EXPECT_LT(rel_error(read_guarded(*be.gpu, gp, "params"), p), 1e-6);
        EXPECT_LT(rel_error(read_guarded(*be.gpu, gm, "state 1"), m), 1e-6);
        if (use_v) {
            EXPECT_LT(rel_error(read_guarded(*be.gpu, gv, "state 2"), v), 1e-6);
        }
    };
    for (float momentum : {0.f, 0.9f}) {
        check(
            momentum == 0.f ? "sgd" : "sgd+momentum",
            [&](float* p, float* m, float*, int) { be.cpu->sgd_step(n, p, g.data(), m, 0.1f, momentum, 1e-3f); },
            [&](float* p, const float* gd, float* m, float*, int) { be.gpu->sgd_step(n, p, gd, m, 0.1f, momentum, 1e-3f); },
            false);
    }
    check(
        "adam",
        [&](float* p, float* m, float* v, int k) {
            be.cpu->adam_step(n, p, g.data(), m, v, 1e-3f, 0.9f, 0.999f, 1e-8f, k, 1e-2f);
        },
        [&](float* p, const float* gd, float* m, float* v, int k) {
            be.gpu->adam_step(n, p, gd, m, v, 1e-3f, 0.9f, 0.999f, 1e-8f, k, 1e-2f);
        },
        true);
    check(
        "rmsprop",
        [&](float* p, float* m, float*, int) { be.cpu->rmsprop_step(n, p, g.data(), m, 1e-2f, 0.99f, 1e-8f, 0.f); },
        [&](float* p, const float* gd, float* m, float*, int) { be.gpu->rmsprop_step(n, p, gd, m, 1e-2f, 0.99f, 1e-8f, 0.f); },
        false);
}

TEST(GpuDense, GatherWindows) {
    FR_REQUIRE_GPU();
    DensePair be;
    std::mt19937_64 rng(testing::test_seed());
    const int F = 6, rows = 5000, B = 257, Tin = 48, in_step = 1, horizon = 24, out_offset = 1, out_step = 2, K = 2;
    const auto series = testing::random_vector<float>(size_t(rows) * F, rng);
    const std::vector<int32_t> cols{4, 1};
    std::vector<int64_t> starts(B);
    const int64_t max_start = rows - 1 - ((Tin - 1) * in_step + out_offset + (horizon - 1) * out_step);
    std::uniform_int_distribution<int64_t> pick(0, max_start);
    for (auto& s : starts) s = pick(rng);
    std::vector<float> x_ref(size_t(Tin) * B * F), y_ref(size_t(B) * horizon * K);
    be.cpu->gather_windows(series.data(), F, starts.data(), B, Tin, in_step, horizon, out_offset, out_step, cols.data(),
                           K, x_ref.data(), y_ref.data());
    DevArray gs = upload(*be.gpu, series);
    auto gst = upload_raw(*be.gpu, starts);
    auto gc = upload_raw(*be.gpu, cols);
    Guarded gx = make_guarded(*be.gpu, x_ref.size()), gy = make_guarded(*be.gpu, y_ref.size());
    be.gpu->gather_windows(gs.data(), F, static_cast<const int64_t*>(gst->data()), B, Tin, in_step, horizon, out_offset,
                           out_step, static_cast<const int32_t*>(gc->data()), K, gx.data(), gy.data());
    EXPECT_EQ(read_guarded(*be.gpu, gx, "windows x"), x_ref);
    EXPECT_EQ(read_guarded(*be.gpu, gy, "windows y"), y_ref);
}

// ---- memory and registration --------------------------------------------------------------------

TEST(GpuMemory, BackendsRegistered) {
    FR_REQUIRE_GPU();
    const auto names = available_backends();
    EXPECT_NE(std::find(names.begin(), names.end(), "cuda"), names.end());
    EXPECT_NE(std::find(names.begin(), names.end(), "cudnn"), names.end());
    EXPECT_EQ(make_backend("auto")->name(), "cuda");
    EXPECT_EQ(make_backend("cudnn")->device().type, DeviceType::CUDA);
}

TEST(GpuMemory, AbsurdAllocationThrows) {
    FR_REQUIRE_GPU();
    auto be = make_backend("cuda");
    try {
        be->allocate(size_t(1) << 52);  // 4 PiB
        FAIL() << "expected fusedrnn::Error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("out of GPU memory"), std::string::npos) << e.what();
    }
    // The backend (and the CUDA context) still work afterwards.
    std::vector<float> v(1000, 3.f);
    DevArray d = upload(*be, v);
    EXPECT_DOUBLE_EQ(be->sum_squares(v.size(), d.data()), 9000.0);
    EXPECT_THROW(make_backend("cuda")->empty({long(1) << 30, long(1) << 22}), Error);
}

}  // namespace
}  // namespace fusedrnn
