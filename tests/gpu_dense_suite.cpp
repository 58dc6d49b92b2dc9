// The dense ops of a GPU backend (elementwise, reductions, results left in device memory, linear layers,
// embedding, losses, optimizers, window gathering) against `cpu` on fresh random inputs, outputs between guard
// zones. One suite, two executables (tests/CMakeLists.txt): test_gpu_backends runs it on the `cuda` backend of a
// real GPU (skipping without one), test_cuda_host_emulation on the same backend's host code over the emulated
// CUDA runtime, where the launchers run the kernels' per-element bodies (kernels/cuda/dense_elements.cuh) — so
// the suite itself, and the kernels' index arithmetic, are checked in every build before a GPU sees them.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "fusedrnn/core/backend.h"
#include "fusedrnn/core/data/windows.h"
#include "fusedrnn/core/error.h"
#include "fusedrnn/tests/gpu_suites.h"
#include "fusedrnn/tests/gpu_test_buffers.h"
#include "fusedrnn/tests/test_support.h"

namespace fusedrnn {
namespace {

using namespace gpu_test;
using testing::rel_error;

constexpr double kTol = 1e-5;  // ‖a − b‖ / ‖b‖ in fp32 (DESIGN.md)

// The GPU backend under test next to the reference.
struct DensePair {
    std::shared_ptr<Backend<float>> cpu = make_backend("cpu");
    std::shared_ptr<Backend<float>> gpu = gpu_under_test().cuda;
};

TEST(GpuDense, ElementwiseAndReductions) {
    DensePair be;
    FR_SKIP_WITHOUT_GPU(be.gpu);
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

// Column blocks of row-major matrices (a seq2seq decoder's lead times): every row of the block moves, nothing
// between the rows is touched, pitches of odd sizes, one-float columns.
TEST(GpuDense, CopyDevice2d) {
    DensePair be;
    FR_SKIP_WITHOUT_GPU(be.gpu);
    std::mt19937_64 rng(testing::test_seed());
    struct Case { size_t rows, src_cols, dst_cols, width, src_col, dst_col; };
    for (const Case c : {Case{1, 1, 1, 1, 0, 0}, Case{7, 15, 5, 5, 10, 0}, Case{1024, 5, 360, 1, 3, 117},
                         Case{33, 12, 12, 12, 0, 0}}) {
        SCOPED_TRACE(fmt::format("rows {} src {} dst {} width {}", c.rows, c.src_cols, c.dst_cols, c.width));
        const auto src = testing::random_vector<float>(c.rows * c.src_cols, rng);
        const auto dst0 = testing::random_vector<float>(c.rows * c.dst_cols, rng);
        DevArray dsrc = upload(*be.gpu, src);
        Guarded ddst = make_guarded(*be.gpu, dst0.size(), &dst0);
        be.gpu->copy_device_2d(ddst.data() + c.dst_col, c.dst_cols * sizeof(float), dsrc.data() + c.src_col,
                               c.src_cols * sizeof(float), c.width * sizeof(float), c.rows);
        std::vector<float> ref = dst0;
        be.cpu->copy_device_2d(ref.data() + c.dst_col, c.dst_cols * sizeof(float), src.data() + c.src_col,
                               c.src_cols * sizeof(float), c.width * sizeof(float), c.rows);
        for (size_t r = 0; r < c.rows; ++r)  // the reference itself: the block moved, the rest kept
            for (size_t k = 0; k < c.dst_cols; ++k) {
                const bool in_block = k >= c.dst_col && k < c.dst_col + c.width;
                const float want = in_block ? src[r * c.src_cols + c.src_col + k - c.dst_col] : dst0[r * c.dst_cols + k];
                ASSERT_EQ(ref[r * c.dst_cols + k], want) << "row " << r << " column " << k;
            }
        EXPECT_EQ(read_guarded(*be.gpu, ddst, "copy_device_2d"), ref);
    }
    EXPECT_THROW(be.gpu->copy_device_2d(nullptr, 4, nullptr, 8, 8, 1), Error);  // pitch below the width
}

// Queued read-backs (an evaluation's forecasts and targets): each holds its source as it was when queued, though
// work queued after it overwrites the source before the host waits; sizes that make the pinned slots grow; and
// a ticket whose slot has taken a newer download, or that was never issued, is an error. On both backends.
TEST(GpuDense, QueuedDownloads) {
    DensePair pair;
    FR_SKIP_WITHOUT_GPU(pair.gpu);
    std::mt19937_64 rng(testing::test_seed());
    for (Backend<float>* be : {pair.cpu.get(), pair.gpu.get()}) {
        SCOPED_TRACE(be->name());
        std::vector<std::vector<float>> values;
        std::vector<DevArray> sources;
        std::vector<DownloadTicket> tickets;
        for (size_t n : {size_t(1), size_t(1000), size_t(40000), size_t(5), size_t(300000)}) {
            values.push_back(testing::random_vector<float>(n, rng));
            sources.push_back(upload(*be, values.back()));
            tickets.push_back(be->queue_download(sources.back().data(), n * sizeof(float)));
            be->fill(n, sources.back().data(), -7.f);  // queued after the download: must not reach it
        }
        for (size_t i = tickets.size(); i-- > 0;) {  // any order
            const auto* got = static_cast<const float*>(be->wait_download(tickets[i]));
            EXPECT_TRUE(std::equal(values[i].begin(), values[i].end(), got)) << "download " << i;
        }
        const DownloadTicket first = be->queue_download(sources[0].data(), sizeof(float));
        for (int i = 0; i < DownloadSlots::kSlots; ++i) be->queue_download(sources[1].data(), sizeof(float));
        const std::string msg = testing::error_of([&] { be->wait_download(first); });
        EXPECT_NE(msg.find("overwritten"), std::string::npos) << msg;
        EXPECT_THROW(be->wait_download(DownloadTicket{}), Error);
        EXPECT_EQ(*static_cast<const float*>(be->wait_download(be->queue_download(sources[1].data(), 4))), -7.f);
    }
}

// The ops a training step uses so that the host never waits: results left in device memory (sum_squares_into;
// mse_into is in Losses), clipping by a norm that stays there, and uploads through the pinned staging ring (more
// uploads than it has slots, of growing sizes, from one host buffer overwritten as soon as each call returns).
TEST(GpuDense, ResultsLeftOnTheDevice) {
    DensePair be;
    FR_SKIP_WITHOUT_GPU(be.gpu);
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
        sent.push_back(testing::random_vector<float>(100 + 500 * size_t(i), rng));
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
    DensePair be;
    FR_SKIP_WITHOUT_GPU(be.gpu);
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
    DensePair be;
    FR_SKIP_WITHOUT_GPU(be.gpu);
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
    DensePair be;
    FR_SKIP_WITHOUT_GPU(be.gpu);
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
        // The bad row's gradient is zero (a step queued before the throw moves nothing by it); the others are intact.
        Guarded gd3 = make_guarded(*be.gpu, logits.size());
        EXPECT_THROW(be.gpu->softmax_cross_entropy(s.M, s.V, gl.data(), static_cast<const int32_t*>(bad->data()),
                                                   gd3.data(), 2.f),
                     Error);
        std::vector<float> d_bad = read_guarded(*be.gpu, gd3, "dlogits (bad target)");
        EXPECT_EQ(std::count(d_bad.begin(), d_bad.begin() + s.V, 0.0f), s.V);
        if (s.M > 1) {
            EXPECT_LT(rel_error(std::vector<float>(d_bad.begin() + s.V, d_bad.end()),
                                std::vector<float>(d_ref.begin() + s.V, d_ref.end())), kTol);
        }
    }
}

TEST(GpuDense, Optimizers) {
    DensePair be;
    FR_SKIP_WITHOUT_GPU(be.gpu);
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
    for (bool decoupled : {false, true}) {  // adam's L2 decay, adamw's decoupled one
        const float wd = decoupled ? 5e-2f : 1e-2f;
        check(
            decoupled ? "adamw" : "adam",
            [&](float* p, float* m, float* v, int k) {
                be.cpu->adam_step(n, p, g.data(), m, v, 1e-3f, 0.9f, 0.999f, 1e-8f, k, wd, decoupled);
            },
            [&](float* p, const float* gd, float* m, float* v, int k) {
                be.gpu->adam_step(n, p, gd, m, v, 1e-3f, 0.9f, 0.999f, 1e-8f, k, wd, decoupled);
            },
            true);
    }
    check(
        "rmsprop",  // its state is a mean of squares: v0's non-negative values (m0's negative ones give √ of < 0)
        [&](float* p, float*, float* v, int) { be.cpu->rmsprop_step(n, p, g.data(), v, 1e-2f, 0.99f, 1e-8f, 0.f); },
        [&](float* p, const float* gd, float*, float* v, int) { be.gpu->rmsprop_step(n, p, gd, v, 1e-2f, 0.99f, 1e-8f, 0.f); },
        true);
}

// The mask is a function of the arguments alone (core/dropout_args.h): the GPU draws the CPU's mask to the bit, and
// the kept values are the same product x·(1/(1 − p)) in float. Out of place and in place; a slice of the rows.
TEST(GpuDense, DropoutDrawsTheCpuMask) {
    DensePair be;
    FR_SKIP_WITHOUT_GPU(be.gpu);
    std::mt19937_64 rng(testing::test_seed());
    struct Case { long outer, rows, width, row_offset, rows_total; float p; bool locked; };
    for (const Case c : {Case{1, 1, 1, 0, 1, 0.5f, false}, Case{48, 256, 64, 256, 1024, 0.2f, false},
                         Case{7, 33, 129, 0, 33, 0.9f, false}, Case{3, 5, 11, 2, 9, 0.0f, false},
                         Case{48, 37, 65, 3, 70, 0.3f, true}}) {
        SCOPED_TRACE(fmt::format("[{}, {}, {}] rows from {} of {}, p {}{}", c.outer, c.rows, c.width, c.row_offset,
                                 c.rows_total, c.p, c.locked ? ", locked" : ""));
        const uint64_t seed = rng(), step = rng() % 100000;
        const DropoutArgs a{seed,  step,     uint32_t(rng() % 8), c.p, c.outer, c.rows, c.width, c.row_offset,
                            c.rows_total, c.locked};
        const size_t n = a.numel();
        const auto x = testing::random_vector<float>(n, rng);
        std::vector<float> ref(n);
        be.cpu->dropout(a, x.data(), ref.data());
        DevArray dx = upload(*be.gpu, x);
        Guarded dy = make_guarded(*be.gpu, n);
        be.gpu->dropout(a, dx.data(), dy.data());
        EXPECT_EQ(read_guarded(*be.gpu, dy, "dropout"), ref);
        Guarded inplace = make_guarded(*be.gpu, n, &x);
        be.gpu->dropout(a, inplace.data(), inplace.data());
        EXPECT_EQ(read_guarded(*be.gpu, inplace, "dropout in place"), ref);
    }
    DropoutArgs bad;
    bad.p = 1.0f;
    EXPECT_THROW(be.gpu->dropout(bad, nullptr, nullptr), Error);
}

TEST(GpuDense, GatherWindows) {
    DensePair be;
    FR_SKIP_WITHOUT_GPU(be.gpu);
    std::mt19937_64 rng(testing::test_seed());
    const int F = 6, rows = 5000, B = 257, Tin = 48, in_step = 1, horizon = 24, out_offset = 1, out_step = 2, K = 2;
    const auto series = testing::random_vector<float>(size_t(rows) * F, rng);
    const std::vector<int32_t> cols{4, 1};
    std::vector<int64_t> starts(B);
    const int64_t max_start = rows - 1 - ((Tin - 1) * in_step + out_offset + (horizon - 1) * out_step);
    std::uniform_int_distribution<int64_t> pick(0, max_start);
    for (auto& s : starts) s = pick(rng);
    std::vector<float> x_ref(size_t(Tin) * B * F), y_ref(size_t(B) * horizon * K);
    const data::WindowSpec window{Tin, in_step, horizon, out_offset, out_step};
    be.cpu->gather_windows(series.data(), F, starts.data(), B, window, cols.data(), K, x_ref.data(), y_ref.data());
    DevArray gs = upload(*be.gpu, series);
    auto gst = upload_raw(*be.gpu, starts);
    auto gc = upload_raw(*be.gpu, cols);
    Guarded gx = make_guarded(*be.gpu, x_ref.size()), gy = make_guarded(*be.gpu, y_ref.size());
    be.gpu->gather_windows(gs.data(), F, static_cast<const int64_t*>(gst->data()), B, window,
                           static_cast<const int32_t*>(gc->data()), K, gx.data(), gy.data());
    EXPECT_EQ(read_guarded(*be.gpu, gx, "windows x"), x_ref);
    EXPECT_EQ(read_guarded(*be.gpu, gy, "windows y"), y_ref);
}

}  // namespace
}  // namespace fusedrnn
