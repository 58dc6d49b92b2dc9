// Dropout: the backend op (the mask's statistics, what it depends on, its backward), the recurrent stack's
// layer-by-layer path with a mask between layers (against the whole-stack path, against the layers composed by
// hand, and against finite differences), and the models (where they apply it, only in training, kept in
// checkpoints; the encoder-decoder forecaster's decoder at every lead time). Data parallelism and resume with dropout: tests/test_data_parallel.cpp; the GPU kernel's mask
// against the CPU's: tests/gpu_dense_suite.cpp.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "fusedrnn/core/backend.h"
#include "fusedrnn/core/param_layout.h"
#include "fusedrnn/models/checkpoint.h"
#include "fusedrnn/models/layers.h"
#include "fusedrnn/models/model.h"
#include "fusedrnn/tests/test_support.h"

namespace fusedrnn {
namespace {

using testing::rel_error;

// The whole batch: rows [0, rows) of rows.
DropoutArgs args(long outer, long rows, long width, float p, uint64_t seed = 11) {
    return DropoutArgs{seed, 3, 1, p, outer, rows, width, 0, rows};
}

template <class T>
std::vector<T> apply(Backend<T>& be, const DropoutArgs& a, const std::vector<T>& x) {
    std::vector<T> y(x.size());
    be.dropout(a, x.data(), y.data());
    return y;
}

TEST(DropoutOp, KeepsAboutOneMinusPOfTheElementsAndScalesThem) {
    auto be = make_backend("cpu");
    std::mt19937_64 rng(testing::test_seed());
    const long outer = 16, rows = 256, width = 256;
    const auto x = testing::random_vector<float>(size_t(outer * rows * width), rng, 0.5, 1.5);  // never 0
    for (float p : {0.1f, 0.5f, 0.9f}) {
        SCOPED_TRACE(p);
        const auto y = apply(*be, args(outer, rows, width, p, rng()), x);
        const float scale = float(1.0 / (1.0 - double(p)));
        size_t dropped = 0;
        for (size_t i = 0; i < x.size(); ++i) {
            if (y[i] == 0.f) ++dropped;
            else ASSERT_EQ(y[i], x[i] * scale) << i;
        }
        // Binomial: within 5 standard deviations of n·p.
        const double n = double(x.size()), sd = std::sqrt(n * p * (1 - p));
        EXPECT_NEAR(double(dropped), n * p, 5 * sd);
    }
    EXPECT_EQ(apply(*be, args(outer, rows, width, 0.f), x), x);  // p = 0: nothing dropped, nothing scaled
}

TEST(DropoutOp, TheMaskDependsOnlyOnSeedStepSiteAndTheElementsPlaceInTheWholeBatch) {
    auto be = make_backend("cpu");
    auto be64 = make_backend_f64("cpu");
    std::mt19937_64 rng(testing::test_seed());
    const long outer = 5, rows = 12, width = 7;
    const auto x = testing::random_vector<float>(size_t(outer * rows * width), rng, 0.5, 1.5);
    const DropoutArgs a = args(outer, rows, width, 0.5f);
    const auto y = apply(*be, a, x);
    EXPECT_EQ(apply(*be, a, x), y);  // the same arguments, the same mask
    auto zeros = [](const auto& v) {
        std::vector<bool> z;
        for (auto e : v) z.push_back(e == 0);
        return z;
    };
    for (int change = 0; change < 3; ++change) {
        DropoutArgs b = a;
        if (change == 0) b.seed += 1;
        if (change == 1) b.step += 1;
        if (change == 2) b.site += 1;
        EXPECT_NE(zeros(apply(*be, b, x)), zeros(y)) << "change " << change;
    }
    // Double draws the float mask.
    const std::vector<double> xd(x.begin(), x.end());
    EXPECT_EQ(zeros(apply(*be64, a, xd)), zeros(y));
    // Rows [4, 12) of the batch, alone with row_offset 4, are rows 4.. of the whole batch's result.
    DropoutArgs part = a;
    part.rows = 8;
    part.row_offset = 4;
    std::vector<float> xs, expected;
    for (long t = 0; t < outer; ++t)
        for (long r = 4; r < rows; ++r)
            for (long w = 0; w < width; ++w) {
                xs.push_back(x[size_t((t * rows + r) * width + w)]);
                expected.push_back(y[size_t((t * rows + r) * width + w)]);
            }
    EXPECT_EQ(apply(*be, part, xs), expected);
}

// Locked (variational) dropout: one mask for every outer index (time step), still a function of the row's place in
// the whole batch, and unlike the per-step masks.
TEST(DropoutOp, ALockedMaskIsTheSameAtEveryTimeStep) {
    auto be = make_backend("cpu");
    const long outer = 6, rows = 40, width = 33;
    const std::vector<float> ones(size_t(outer * rows * width), 1.0f);
    DropoutArgs a = args(outer, rows, width, 0.4f);
    a.locked = true;
    const auto y = apply(*be, a, ones);
    size_t dropped = 0;
    for (long t = 1; t < outer; ++t)
        for (long i = 0; i < rows * width; ++i) ASSERT_EQ(y[size_t(t * rows * width + i)], y[size_t(i)]) << t << " " << i;
    for (long i = 0; i < rows * width; ++i) dropped += y[size_t(i)] == 0.f;
    const double n = double(rows * width);
    EXPECT_NEAR(double(dropped), 0.4 * n, 5 * std::sqrt(n * 0.4 * 0.6));
    a.locked = false;
    const auto fresh = apply(*be, a, ones);
    EXPECT_NE(std::vector<float>(fresh.begin() + rows * width, fresh.begin() + 2 * rows * width),
              std::vector<float>(fresh.begin(), fresh.begin() + rows * width));  // per step: another mask at t = 1
    // Rows [10, 40) alone, at row_offset 10, draw rows 10.. of the whole batch's locked mask.
    a.locked = true;
    a.rows = 30;
    a.row_offset = 10;
    const auto part = apply(*be, a, std::vector<float>(size_t(outer * 30 * width), 1.0f));
    for (long t = 0; t < outer; ++t)
        for (long r = 0; r < 30; ++r)
            for (long w = 0; w < width; ++w)
                ASSERT_EQ(part[size_t((t * 30 + r) * width + w)], y[size_t((10 + r) * width + w)]);
}

// The op is diagonal: its own adjoint. <D x, g> = <x, D g>, so applying it to the gradient is the backward.
TEST(DropoutOp, TheBackwardIsTheSameOpOnTheGradient) {
    auto be = make_backend_f64("cpu");
    std::mt19937_64 rng(testing::test_seed());
    const DropoutArgs a = args(9, 31, 17, 0.3f);
    const auto x = testing::random_vector<double>(a.numel(), rng), g = testing::random_vector<double>(a.numel(), rng);
    const auto dx = apply(*be, a, x), dg = apply(*be, a, g);
    double lhs = 0, rhs = 0, magnitude = 0;
    for (size_t i = 0; i < x.size(); ++i) {
        lhs += dx[i] * g[i];
        rhs += x[i] * dg[i];
        magnitude += std::abs(dx[i] * g[i]);
    }
    // Relative to the terms' size, not the sum's: random signs can cancel the sum to near zero (seed 2445869785:
    // a sum of 0.013 from 4,743 terms), leaving rounding that a tolerance on |rhs| takes for an error.
    EXPECT_NEAR(lhs, rhs, 1e-12 * magnitude);
    std::vector<double> inplace = g;
    be->dropout(a, inplace.data(), inplace.data());
    EXPECT_EQ(inplace, dg);
}

TEST(DropoutOp, BadArgumentsAreRefusedByName) {
    auto be = make_backend("cpu");
    std::vector<float> v(8);
    for (float p : {-0.1f, 1.0f, std::nanf("")}) {
        const std::string e = testing::error_of([&] { be->dropout(args(1, 2, 4, p), v.data(), v.data()); });
        EXPECT_NE(e.find("drop probability must lie in [0, 1)"), std::string::npos) << e;
    }
    DropoutArgs outside = args(1, 2, 4, 0.5f);
    outside.row_offset = 1;  // rows [1, 3) of a batch of 2
    const std::string e = testing::error_of([&] { be->dropout(outside, v.data(), v.data()); });
    EXPECT_NE(e.find("rows [1, 3) lie outside the batch of 2 rows"), std::string::npos) << e;
    const std::string m = testing::error_of([] {
        Forecaster f(make_backend("cpu"), RnnSpec{CellType::Lstm, 3, 4, 2, false}, 2, 1);
        f.set_dropout(1.5f);
    });
    EXPECT_NE(m.find("dropout must lie in [0, 1)"), std::string::npos) << m;
}

// ---- the recurrent stack ----------------------------------------------------------------------------------------

struct StackRun {
    std::vector<float> y, hn, cn, dx, dh0, dc0, dweights;
};

// A stack over its own parameters: forward (training) with h0/c0, backward from dy, dhn, dcn.
struct StackFixture {
    std::shared_ptr<Backend<float>> be = make_backend("cpu");
    RnnSpec spec;
    int T = 6, N = 5;
    std::unique_ptr<ParamStore> params;
    Tensor<float> x, h0, c0, dy, dhn, dcn;

    explicit StackFixture(const RnnSpec& s, uint64_t seed) : spec(s) {
        params = std::make_unique<ParamStore>(be, rnn_param_layout(spec));
        params->init_uniform(seed, std::vector<float>(params->layout().entries().size(), 0.5f));
        std::mt19937_64 rng(seed + 1);
        const Shape state{long(spec.num_layers) * spec.directions(), N, spec.hidden_size};
        auto rand = [&](const Shape& sh) {
            return be->from_host(testing::random_vector<float>(shape_numel(sh), rng), sh);
        };
        x = rand({T, N, spec.input_size});
        h0 = rand(state);
        if (has_cell_state(spec.cell)) c0 = rand(state);
        dy = rand({T, N, spec.output_size()});
        dhn = rand(state);
        if (has_cell_state(spec.cell)) dcn = rand(state);
    }

    StackRun run(float p, const DropoutDraw& draw, bool locked = false) {
        RecurrentStack stack(spec, 0);
        stack.set_dropout(p, 1, locked);
        stack.set_dropout_draw(draw);
        params->zero_grad();
        Tensor<float> hn, cn;
        auto out = stack.forward_into(*params, x, h0, c0, true, hn, cn);
        StackRun r;
        r.y = be->to_host(out.y);
        r.hn = be->to_host(out.hn);
        if (!out.cn.empty()) r.cn = be->to_host(out.cn);
        Tensor<float> dh0, dc0;
        r.dx = be->to_host(stack.backward(*params, dy, dhn, dcn, true, &dh0, &dc0));
        r.dh0 = be->to_host(dh0);
        if (!dc0.empty()) r.dc0 = be->to_host(dc0);
        r.dweights = be->to_host(params->grads_tensor());
        return r;
    }
};

// At p = 1e-9 every element is kept and the scale rounds to 1 in float: the layer-by-layer path must then give what
// the backend's whole-stack call gives — states sliced per layer, parameters at each layer's offset, gradients chained
// back through the layers.
TEST(DropoutStack, AVanishingRateRunsLayerByLayerLikeTheWholeStack) {
    for (CellType cell : {CellType::RnnTanh, CellType::Lstm, CellType::Gru, CellType::GruResetBefore}) {
        for (bool bidir : {false, true}) {
            SCOPED_TRACE(std::string(cell_name(cell)) + (bidir ? " bidirectional" : ""));
            StackFixture f(RnnSpec{cell, 4, 6, 3, bidir}, 21);
            const StackRun whole = f.run(0.f, {}), layered = f.run(1e-9f, {});
            EXPECT_LT(rel_error(layered.y, whole.y), 1e-6);
            EXPECT_LT(rel_error(layered.hn, whole.hn), 1e-6);
            EXPECT_EQ(layered.cn.size(), whole.cn.size());
            if (!whole.cn.empty()) {
                EXPECT_LT(rel_error(layered.cn, whole.cn), 1e-6);
            }
            EXPECT_LT(rel_error(layered.dx, whole.dx), 1e-6);
            EXPECT_LT(rel_error(layered.dh0, whole.dh0), 1e-6);
            if (!whole.dc0.empty()) {
                EXPECT_LT(rel_error(layered.dc0, whole.dc0), 1e-6);
            }
            EXPECT_LT(rel_error(layered.dweights, whole.dweights), 1e-6);
        }
    }
}

// The forward is the layers one after another with the backend's mask between them (sites 1, 2 for three layers).
// Per-step masks, and locked ones (the same at every time step).
TEST(DropoutStack, TheForwardIsTheLayersWithTheMaskBetweenThem) {
  for (bool locked : {false, true}) {
    SCOPED_TRACE(locked ? "locked" : "per step");
    StackFixture f(RnnSpec{CellType::Lstm, 4, 6, 3, true}, 5);
    const DropoutDraw draw{77, 12, 0, 0};
    const StackRun layered = f.run(0.5f, draw, locked);

    Backend<float>& be = *f.be;
    const int D = 2, H = 6;
    const size_t slice = size_t(D) * size_t(f.N) * size_t(H);
    Tensor<float> in = f.x;
    for (int l = 0; l < 3; ++l) {
        RnnSpec one = f.spec;
        one.num_layers = 1;
        if (l > 0) one.input_size = f.spec.output_size();
        RnnForwardArgs<float> a;
        a.T = f.T;
        a.N = f.N;
        a.x = in.data();
        a.h0 = f.h0.data() + size_t(l) * slice;
        a.c0 = f.c0.data() + size_t(l) * slice;
        a.weights = f.params->values() + rnn_weight_offsets(f.spec, l, 0).w_ih;
        Tensor<float> y = be.empty({f.T, f.N, one.output_size()});
        a.y = y.data();
        be.rnn_forward(one, a);
        if (l == 2) {
            EXPECT_EQ(be.to_host(y), layered.y);
            break;
        }
        const DropoutArgs m{draw.seed, draw.step, uint32_t(1 + l), 0.5f, f.T, f.N, one.output_size(), 0, f.N, locked};
        Tensor<float> masked = be.empty(y.shape());
        be.dropout(m, y.data(), masked.data());
        in = masked;
    }
  }
}

// The central difference's step along direction d: a move of 0.01 in norm (float rounding of the loss stays far below
// the change, the truncation error far below the tolerance).
float step_along(const std::vector<float>& d) {
    double n2 = 0;
    for (float v : d) n2 += double(v) * v;
    return float(1e-2 / std::sqrt(n2));
}

// Σ wy·y + Σ wh·hn (+ Σ wc·cn) in double, for a directional finite difference of the parameters and of x.
double stack_loss(StackFixture& f, float p, const DropoutDraw& draw) {
    const StackRun r = f.run(p, draw);
    const auto w = [](size_t i) { return std::sin(0.37 * double(i) + 0.1); };
    double s = 0;
    for (size_t i = 0; i < r.y.size(); ++i) s += w(i) * r.y[i];
    for (size_t i = 0; i < r.hn.size(); ++i) s += w(i + 7) * r.hn[i];
    for (size_t i = 0; i < r.cn.size(); ++i) s += w(i + 13) * r.cn[i];
    return s;
}

// The backward with real masks (p = 0.4) against central differences along the gradient (float model, loss summed in
// double; a wrong mask in the backward is an O(1) error, rounding and truncation ~3e-5 here).
TEST(DropoutStack, GradientsMatchFiniteDifferences) {
    for (CellType cell : {CellType::Lstm, CellType::Gru}) {
        SCOPED_TRACE(cell_name(cell));
        StackFixture f(RnnSpec{cell, 3, 5, 3, true}, 9);
        const DropoutDraw draw{5, 1, 0, 0};
        const auto w = [](size_t i) { return float(std::sin(0.37 * double(i) + 0.1)); };
        // The loss's gradients: dy = wy, dhn = wh, dcn = wc (as stack_loss weighs them).
        auto set = [&](Tensor<float>& t, size_t shift) {
            std::vector<float> v(t.numel());
            for (size_t i = 0; i < v.size(); ++i) v[i] = w(i + shift);
            t = f.be->from_host(v, t.shape());
        };
        set(f.dy, 0);
        set(f.dhn, 7);
        if (!f.dcn.empty()) set(f.dcn, 13);
        const StackRun r = f.run(0.4f, draw);

        // Along the gradient itself: the derivative is ‖g‖², never near 0 (a random direction can make it so, and the
        // float rounding of the loss would then exceed a relative tolerance); a wrong g is not ‖g‖² along itself.
        const auto theta = f.params->values_to_host();
        const std::vector<float>& d = r.dweights;
        const float eps = step_along(d);
        auto at = [&](float s) {
            std::vector<float> t = theta;
            for (size_t i = 0; i < t.size(); ++i) t[i] += s * d[i];
            f.params->values_from_host(t);
            return stack_loss(f, 0.4f, draw);
        };
        const double fd = (at(eps) - at(-eps)) / (2 * double(eps));
        f.params->values_from_host(theta);
        double analytic = 0;
        for (size_t i = 0; i < d.size(); ++i) analytic += double(d[i]) * r.dweights[i];
        EXPECT_NEAR(fd, analytic, 1e-3 * std::abs(analytic)) << "weights";

        const auto x0 = f.be->to_host(f.x);
        const std::vector<float>& dxdir = r.dx;
        auto at_x = [&](float s) {
            std::vector<float> v = x0;
            for (size_t i = 0; i < v.size(); ++i) v[i] += s * dxdir[i];
            f.x = f.be->from_host(v, f.x.shape());
            return stack_loss(f, 0.4f, draw);
        };
        const float eps_x = step_along(dxdir);
        const double fdx = (at_x(eps_x) - at_x(-eps_x)) / (2 * double(eps_x));
        double analytic_x = 0;
        for (size_t i = 0; i < dxdir.size(); ++i) analytic_x += double(dxdir[i]) * r.dx[i];
        EXPECT_NEAR(fdx, analytic_x, 1e-3 * std::abs(analytic_x)) << "inputs";
    }
}

// ---- the models -------------------------------------------------------------------------------------------------

std::vector<float> token_logits(SequenceModel& m, const Tensor<int32_t>& ids, bool training) {
    SequenceModel::State st;
    return m.backend().to_host(m.forward_tokens(ids, st, training));
}

Tensor<int32_t> random_ids(Backend<float>& be, long T, long N, int V, std::mt19937_64& rng) {
    std::vector<int32_t> v(size_t(T * N));
    for (auto& id : v) id = int32_t(rng() % uint64_t(V));
    auto t = be.empty_i32({T, N});
    be.copy_from_host(t.data(), v.data(), v.size() * sizeof(int32_t));
    return t;
}

TEST(DropoutModels, ALanguageModelDropsOnlyInTrainingAndANewMaskEveryStep) {
    auto be = make_backend("cpu");
    std::mt19937_64 rng(testing::test_seed());
    const RnnSpec spec{CellType::Lstm, 8, 12, 2, false};
    SequenceModel plain(be, spec, 20, 20, 4), dropped(be, spec, 20, 20, 4);
    dropped.set_dropout(0.5f);
    const auto ids = random_ids(*be, 7, 3, 20, rng);
    EXPECT_EQ(token_logits(dropped, ids, false), token_logits(plain, ids, false));  // inference: no dropout
    dropped.set_dropout_draw({1, 10, 0, 0});
    const auto first = token_logits(dropped, ids, true);
    EXPECT_EQ(dropped.dropout_draw().step, 11u);  // each training forward moves on a step
    const auto second = token_logits(dropped, ids, true);
    dropped.set_dropout_draw({1, 10, 0, 0});
    EXPECT_EQ(token_logits(dropped, ids, true), first);  // the same step, the same masks
    EXPECT_NE(first, second);
    EXPECT_NE(first, token_logits(plain, ids, true));
}

// Embedding, inter-layer and output masks, through the model's backward, against central differences.
TEST(DropoutModels, LanguageModelGradientsMatchFiniteDifferences) {
    auto be = make_backend("cpu");
    std::mt19937_64 rng(testing::test_seed());
    SequenceModel m(be, RnnSpec{CellType::Gru, 6, 8, 2, false}, 15, 15, 2);
    m.set_dropout(0.3f);
    const auto ids = random_ids(*be, 5, 4, 15, rng);
    std::vector<int32_t> targets(20);
    for (auto& t : targets) t = int32_t(rng() % 15);
    auto tgt = be->empty_i32({20});
    be->copy_from_host(tgt.data(), targets.data(), targets.size() * sizeof(int32_t));
    const DropoutDraw draw{3, 8, 0, 0};
    auto loss = [&](bool backward) {
        m.set_dropout_draw(draw);
        SequenceModel::State st;
        Tensor<float> logits = m.forward_tokens(ids, st, true);
        Tensor<float> dlogits = be->empty(logits.shape());
        const double l = be->softmax_cross_entropy(20, 15, logits.data(), tgt.data(), dlogits.data(), 1.f).loss;
        if (backward) {
            m.zero_grad();
            m.backward(dlogits);
        }
        return l;
    };
    loss(true);
    const auto g = be->to_host(m.params().grads_tensor());
    const auto theta = m.params().values_to_host();
    const std::vector<float>& d = g;  // along the gradient (see DropoutStack.GradientsMatchFiniteDifferences)
    const float eps = step_along(d);
    auto at = [&](float s) {
        std::vector<float> t = theta;
        for (size_t i = 0; i < t.size(); ++i) t[i] += s * d[i];
        m.params().values_from_host(t);
        return loss(false);
    };
    const double fd = (at(eps) - at(-eps)) / (2 * double(eps));
    double analytic = 0;
    for (size_t i = 0; i < d.size(); ++i) analytic += double(d[i]) * g[i];
    EXPECT_NEAR(fd, analytic, 1e-3 * std::abs(analytic));
}

// ---- the encoder-decoder forecaster: between the decoder's layers at every lead time --------------------------

struct Seq2SeqFixture {
    std::shared_ptr<Backend<float>> be = make_backend("cpu");
    RnnSpec spec;
    int horizon = 3, N = 4, T = 5;
    std::vector<int32_t> targets{2, 0};  // K = 2 of C = 3 inputs
    Tensor<float> x, y;
    explicit Seq2SeqFixture(CellType cell, int layers) : spec{cell, 3, 6, layers, false} {
        std::mt19937_64 rng(testing::test_seed() + uint64_t(layers));
        x = be->from_host(testing::random_vector<float>(size_t(T * N * 3), rng), {T, N, 3});
        y = be->from_host(testing::random_vector<float>(size_t(N * horizon * 2), rng), {N, horizon * 2});
    }
    std::unique_ptr<Forecaster> model(float p) const {
        auto f = std::make_unique<Forecaster>(be, spec, Seq2SeqShape{horizon, targets}, 17);
        f->set_dropout(p);
        return f;
    }
    // Training forward (lead time 2 fed the observed value, 1 its own prediction), MSE and backward: the loss,
    // the prediction and the gradients.
    struct Run {
        double loss;
        std::vector<float> pred, grads;
    };
    Run run(Forecaster& f, const DropoutDraw& draw) const {
        TeacherForcing teacher{&y, {0, 0, 1}};
        f.set_dropout_draw(draw);
        f.zero_grad();
        Tensor<float> pred = f.forward(x, true, &teacher);
        Tensor<float> grad = be->empty(pred.shape());
        Run r;
        r.loss = be->mse(pred.numel(), pred.data(), y.data(), grad.data(), 1.0f).loss;
        r.pred = be->to_host(pred);
        f.backward(grad);
        r.grads = be->to_host(f.params().grads_tensor());
        return r;
    }
};

// At p = 1e-9 nothing is dropped: encoder and decoder then run layer by layer, which must give what the whole-stack
// calls give, forward and backward (through the teacher-forced and the fed-back lead times).
TEST(DropoutSeq2Seq, AVanishingRateRunsLayerByLayerLikeTheWholeStack) {
    for (CellType cell : {CellType::Lstm, CellType::Gru, CellType::RnnTanh}) {
        SCOPED_TRACE(cell_name(cell));
        const Seq2SeqFixture fx(cell, 3);
        auto whole = fx.model(0.f), layered = fx.model(1e-9f);
        const auto a = fx.run(*whole, {}), b = fx.run(*layered, {});
        EXPECT_LT(rel_error(b.pred, a.pred), 1e-6);
        EXPECT_LT(rel_error(b.grads, a.grads), 1e-6);
    }
}

// The decoder's forward composed by hand: at lead time t, layer 0's output masked at site L + t·(L − 1) (L = 2: the
// encoder has site 1), then layer 1, then the head; fed back into lead time t + 1. A mask shared between lead times
// (or with the encoder) would not reproduce it.
// Locked: the same mask at every lead time (one site per layer boundary), and over the encoder's time steps.
TEST(DropoutSeq2Seq, TheDecoderMasksBetweenLayersWithAFreshMaskAtEveryLeadTime) {
  for (bool locked : {false, true}) {
    SCOPED_TRACE(locked ? "locked" : "per step");
    const Seq2SeqFixture fx(CellType::Lstm, 2);
    const float p = 0.5f;
    const DropoutDraw draw{41, 6, 0, 0};
    auto f = fx.model(p);
    f->set_dropout_locked(locked);
    f->set_dropout_draw(draw);
    const auto pred = fx.be->to_host(f->forward(fx.x, true));  // free running

    Backend<float>& be = *fx.be;
    ParamStore& params = f->params();
    const long N = fx.N, H = fx.spec.hidden_size, K = 2;
    RecurrentStack encoder(fx.spec, params.layout().find("rnn.weight_ih_l0")->offset);
    encoder.set_dropout(p, 1, locked);
    encoder.set_dropout_draw(draw);
    Tensor<float> h, c;
    encoder.forward_into(params, fx.x, Tensor<float>(), Tensor<float>(), true, h, c);
    const RnnSpec dec{CellType::Lstm, int(K), int(H), 2, false};
    const size_t dec_off = params.layout().find("decoder.weight_ih_l0")->offset;
    const float* W = params.values() + params.layout().find("head.weight")->offset;
    const float* b = params.values() + params.layout().find("head.bias")->offset;
    std::vector<float> x_last = be.to_host(fx.x.view(size_t(fx.T - 1) * N * 3, {N, 3})), in(size_t(N * K));
    for (long n = 0; n < N; ++n)
        for (long k = 0; k < K; ++k) in[size_t(n * K + k)] = x_last[size_t(n * 3 + fx.targets[size_t(k)])];
    Tensor<float> input = be.from_host(in, {1, N, K});
    std::vector<float> expected(size_t(N * fx.horizon * K));
    for (int t = 0; t < fx.horizon; ++t) {
        Tensor<float> h_next = be.empty(h.shape()), c_next = be.empty(c.shape()), layer_in = input;
        for (int l = 0; l < 2; ++l) {
            RnnSpec one = dec;
            one.num_layers = 1;
            if (l > 0) one.input_size = int(H);
            RnnForwardArgs<float> a;
            a.T = 1;
            a.N = int(N);
            a.x = layer_in.data();
            a.h0 = h.data() + size_t(l * N * H);
            a.c0 = c.data() + size_t(l * N * H);
            a.hn = h_next.data() + size_t(l * N * H);
            a.cn = c_next.data() + size_t(l * N * H);
            a.weights = params.values() + dec_off + rnn_weight_offsets(dec, l, 0).w_ih;
            Tensor<float> out = be.empty({1, N, H});
            a.y = out.data();
            be.rnn_forward(one, a);
            if (l == 0) {
                Tensor<float> masked = be.empty(out.shape());
                be.dropout(DropoutArgs{draw.seed, draw.step, uint32_t(locked ? 2 : 2 + t), p, 1, N, H, 0, N, locked},
                           out.data(), masked.data());
                layer_in = masked;
            } else {
                layer_in = out;
            }
        }
        Tensor<float> step_pred = be.empty({N, K});
        be.linear_forward(int(N), int(H), int(K), layer_in.data(), W, b, step_pred.data());
        const auto sp = be.to_host(step_pred);
        for (long n = 0; n < N; ++n)
            for (long k = 0; k < K; ++k) expected[size_t((n * fx.horizon + t) * K + k)] = sp[size_t(n * K + k)];
        input = be.from_host(sp, {1, N, K});
        h = h_next;
        c = c_next;
    }
    EXPECT_EQ(pred, expected);
  }
}

// The backward with real masks (p = 0.4) in encoder and decoder, through the model, against central differences
// along the gradient (see DropoutStack.GradientsMatchFiniteDifferences).
TEST(DropoutSeq2Seq, GradientsMatchFiniteDifferences) {
    for (CellType cell : {CellType::Lstm, CellType::Gru}) {
        SCOPED_TRACE(cell_name(cell));
        const Seq2SeqFixture fx(cell, 2);
        auto f = fx.model(0.4f);
        const DropoutDraw draw{9, 2, 0, 0};
        const auto r = fx.run(*f, draw);
        const auto theta = f->params().values_to_host();
        const std::vector<float>& d = r.grads;
        const float eps = step_along(d);
        auto at = [&](float s) {
            std::vector<float> t = theta;
            for (size_t i = 0; i < t.size(); ++i) t[i] += s * d[i];
            f->params().values_from_host(t);
            return fx.run(*f, draw).loss;
        };
        const double fd = (at(eps) - at(-eps)) / (2 * double(eps));
        double analytic = 0;
        for (float g : d) analytic += double(g) * g;
        EXPECT_NEAR(fd, analytic, 1e-3 * std::abs(analytic));
    }
}

TEST(DropoutSeq2Seq, OnlyInTrainingAndNowhereWithOneLayer) {
    const Seq2SeqFixture two(CellType::Gru, 2), one(CellType::Gru, 1);
    auto plain = two.model(0.f), dropped = two.model(0.5f);
    EXPECT_EQ(two.be->to_host(dropped->forward(two.x, false)), two.be->to_host(plain->forward(two.x, false)));
    EXPECT_NE(two.run(*dropped, {1, 1, 0, 0}).pred, two.run(*plain, {1, 1, 0, 0}).pred);
    auto one_plain = one.model(0.f), one_dropped = one.model(0.5f);
    EXPECT_EQ(one.run(*one_dropped, {1, 1, 0, 0}).pred, one.run(*one_plain, {1, 1, 0, 0}).pred);
}

TEST(DropoutModels, CheckpointsKeepTheRate) {
    auto be = make_backend("cpu");
    Forecaster f(be, RnnSpec{CellType::Gru, 5, 8, 2, false}, 6, 1);
    EXPECT_FALSE(f.config().contains("dropout"));  // absent at 0: checkpoints from before dropout compare equal
    f.set_dropout(0.25f);
    EXPECT_EQ(f.config().at("dropout").get<float>(), 0.25f);
    const std::string path = testing::temp_dir() + "/f.safetensors";
    save_checkpoint(path, f, {});
    EXPECT_EQ(Forecaster::from_config(be, read_checkpoint(path).config)->dropout(), 0.25f);

    SequenceModel s(be, RnnSpec{CellType::Lstm, 4, 8, 1, false}, 10, 10, 1);
    s.set_dropout(0.5f);
    EXPECT_EQ(SequenceModel::from_config(be, s.config())->dropout(), 0.5f);

    // Locked dropout is kept too; a model without it has no "dropout_locked" (older checkpoints compare equal).
    EXPECT_FALSE(f.config().contains("dropout_locked"));
    f.set_dropout_locked(true);
    EXPECT_EQ(f.config().at("dropout_locked"), true);
    EXPECT_TRUE(Forecaster::from_config(be, f.config())->dropout_locked());
    s.set_dropout_locked(true);
    EXPECT_TRUE(SequenceModel::from_config(be, s.config())->dropout_locked());
    f.set_dropout_locked(false);

    nlohmann::json bad = f.config();
    bad["dropout"] = "a lot";
    const std::string e = testing::error_of([&] { Forecaster::from_config(be, bad); });
    EXPECT_NE(e.find("invalid dropout in checkpoint metadata"), std::string::npos) << e;
}

}  // namespace
}  // namespace fusedrnn
