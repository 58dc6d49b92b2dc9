// Optimizers against hand-computed steps, and global-norm clipping.
#include <cmath>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "fusedrnn/core/backend.h"
#include "fusedrnn/models/optimizer.h"
#include "fusedrnn/tests/test_support.h"

namespace fusedrnn {
namespace {

// A two-parameter store whose values and gradients the test sets by hand.
struct Fixture {
    std::shared_ptr<Backend<float>> be = make_backend("cpu");
    ParamStore params;
    Fixture() : params(be, [] { ParamLayout l; l.add("w", {2}); return l; }()) {
        params.values_from_host({1.0f, -2.0f});
    }
    void set_grad(std::vector<float> g) { be->copy_from_host(params.grads(), g.data(), g.size() * sizeof(float)); }
    std::vector<float> values() { return params.values_to_host(); }
    // One step of `opt` with gradient g; the values after it.
    std::vector<float> step(Optimizer& opt, std::vector<float> g) {
        set_grad(std::move(g));
        opt.step(params);
        return values();
    }
};

TEST(Optimizers, SgdWithMomentumMatchesHandComputedSteps) {
    Fixture f;
    OptimizerConfig c;
    c.name = "sgd"; c.lr = 0.1f; c.momentum = 0.9f;
    auto opt = make_optimizer(f.params, c);
    f.set_grad({0.5f, -1.0f});
    opt->step(f.params);  // m = g; p -= 0.1 g
    auto v = f.values();
    EXPECT_FLOAT_EQ(v[0], 1.0f - 0.05f);
    EXPECT_FLOAT_EQ(v[1], -2.0f + 0.1f);
    f.set_grad({0.5f, -1.0f});
    opt->step(f.params);  // m = 0.9 g + g = 1.9 g
    v = f.values();
    EXPECT_FLOAT_EQ(v[0], 0.95f - 0.1f * 1.9f * 0.5f);
    EXPECT_FLOAT_EQ(v[1], -1.9f + 0.1f * 1.9f * 1.0f);
}

TEST(Optimizers, AdamMatchesHandComputedSteps) {
    Fixture f;
    OptimizerConfig c;
    c.name = "adam"; c.lr = 0.01f;
    auto opt = make_optimizer(f.params, c);
    // Step 1: m̂ = g, v̂ = g², update = lr·g/(|g| + eps) = lr·sign(g).
    f.set_grad({0.5f, -3.0f});
    opt->step(f.params);
    auto v = f.values();
    EXPECT_NEAR(v[0], 1.0f - 0.01f, 1e-6);
    EXPECT_NEAR(v[1], -2.0f + 0.01f, 1e-6);
    // Step 2 with gradient g2: m = 0.9·0.1·g1 + 0.1·g2 ... computed in double.
    f.set_grad({0.25f, 1.0f});
    opt->step(f.params);
    v = f.values();
    const double g1[2] = {0.5, -3.0}, g2[2] = {0.25, 1.0}, p1[2] = {0.99, -1.99};
    for (int i = 0; i < 2; ++i) {
        const double m = 0.9 * (0.1 * g1[i]) + 0.1 * g2[i];
        const double s = 0.999 * (0.001 * g1[i] * g1[i]) + 0.001 * g2[i] * g2[i];
        const double mhat = m / (1 - 0.81), shat = s / (1 - 0.999 * 0.999);
        EXPECT_NEAR(v[i], p1[i] - 0.01 * mhat / (std::sqrt(shat) + 1e-8), 1e-5) << i;
    }
    EXPECT_EQ(opt->steps(), 2);
}

// torch.optim.AdamW: p ← p·(1 − lr·wd), then Adam's update from the gradient alone. With a zero gradient the update
// is 0/(0 + eps) = 0, so only the decay acts; then one step with a gradient, computed in double.
TEST(Optimizers, AdamwDecaysTheWeightsApartFromTheGradient) {
    Fixture f;
    OptimizerConfig c;
    c.name = "adamw"; c.lr = 0.01f; c.weight_decay = 0.5f;
    auto opt = make_optimizer(f.params, c);
    auto v = f.step(*opt, {0.0f, 0.0f});
    const float decay = float(1.0 - 0.01 * 0.5);
    EXPECT_EQ(v[0], 1.0f * decay);
    EXPECT_EQ(v[1], -2.0f * decay);
    const auto w = f.step(*opt, {0.5f, -3.0f});  // step 2: m = 0.1 g, s = 0.001 g², bias-corrected with t = 2
    const double g[2] = {0.5, -3.0};
    for (int i = 0; i < 2; ++i) {
        const double p = double(v[i]) * (1 - 0.01 * 0.5);
        const double mhat = 0.1 * g[i] / (1 - 0.81), shat = 0.001 * g[i] * g[i] / (1 - 0.999 * 0.999);
        EXPECT_NEAR(w[i], p - 0.01 * mhat / (std::sqrt(shat) + 1e-8), 1e-6) << i;
    }
    // Adam with the same weight decay adds it to the gradient instead: a zero gradient still moves the weights by
    // lr·sign(p) at the first step, not by lr·wd·p.
    Fixture a;
    c.name = "adam";
    auto adam = make_optimizer(a.params, c);
    v = a.step(*adam, {0.0f, 0.0f});
    EXPECT_NEAR(v[0], 1.0f - 0.01f, 1e-6);
    EXPECT_NEAR(v[1], -2.0f + 0.01f, 1e-6);
    EXPECT_FLOAT_EQ(default_weight_decay("adamw"), 0.01f);
    EXPECT_EQ(default_weight_decay("adam"), 0.0f);
}

TEST(Optimizers, RmspropMatchesHandComputedStep) {
    Fixture f;
    OptimizerConfig c;
    c.name = "rmsprop"; c.lr = 0.01f; c.alpha = 0.99f; c.eps = 1e-8f;
    auto opt = make_optimizer(f.params, c);
    f.set_grad({0.5f, -2.0f});
    opt->step(f.params);
    auto v = f.values();
    // s = 0.01 g²; p -= lr g / sqrt(s) = lr·sign(g)/0.1
    EXPECT_NEAR(v[0], 1.0f - 0.1f, 1e-5);
    EXPECT_NEAR(v[1], -2.0f + 0.1f, 1e-5);
    // eps is added to sqrt(s), as torch.optim.RMSprop, not under the root: with a large eps the two differ by 2x
    // (mutation testing: eps moved inside the sqrt passed every test above).
    Fixture e;
    c.eps = 0.1f;
    auto big_eps = make_optimizer(e.params, c);
    e.set_grad({0.5f, -2.0f});
    big_eps->step(e.params);
    v = e.values();
    EXPECT_NEAR(v[0], 1.0 - 0.01 * 0.5 / (0.05 + 0.1), 1e-6);
    EXPECT_NEAR(v[1], -2.0 + 0.01 * 2.0 / (0.2 + 0.1), 1e-6);
}

TEST(Optimizers, WeightDecayIsAddedToTheGradient) {
    Fixture f;
    OptimizerConfig c;
    c.name = "sgd"; c.lr = 0.5f; c.weight_decay = 0.1f;
    auto opt = make_optimizer(f.params, c);
    const auto v = f.step(*opt, {0.0f, 0.0f});
    EXPECT_FLOAT_EQ(v[0], 1.0f - 0.5f * 0.1f * 1.0f);
    EXPECT_FLOAT_EQ(v[1], -2.0f + 0.5f * 0.1f * 2.0f);
}

TEST(Optimizers, RejectBadSettings) {
    Fixture f;
    OptimizerConfig c;
    c.name = "adagrad";
    EXPECT_THROW(
        {
            try { make_optimizer(f.params, c); } catch (const Error& e) {
                EXPECT_NE(std::string(e.what()).find("unknown optimizer 'adagrad'"), std::string::npos);
                throw;
            }
        },
        Error);
    c.name = "adam"; c.lr = -1;
    EXPECT_THROW(make_optimizer(f.params, c), Error);
    c.name = "sgd"; c.lr = 0.1f; c.momentum = 1.5f;
    EXPECT_THROW(make_optimizer(f.params, c), Error);
    // Infinite settings pass a sign check but make every parameter NaN at the first step: refused by name.
    const float inf = std::numeric_limits<float>::infinity();
    for (const char* name : {"sgd", "adam", "adamw", "rmsprop"}) {
        OptimizerConfig d;
        d.name = name;
        d.weight_decay = inf;
        EXPECT_NE(testing::error_of([&] { make_optimizer(f.params, d); }).find("weight decay must be a finite number"),
                  std::string::npos) << name;
    }
    for (const char* name : {"adam", "rmsprop"}) {
        OptimizerConfig d;
        d.name = name;
        d.eps = inf;
        EXPECT_NE(testing::error_of([&] { make_optimizer(f.params, d); }).find("eps must be a finite positive number"),
                  std::string::npos) << name;
    }
}

TEST(Optimizers, StateRoundTripsThroughHost) {
    Fixture f;
    OptimizerConfig c;
    auto a = make_optimizer(f.params, c);
    f.set_grad({0.5f, -1.0f});
    a->step(f.params);
    auto b = make_optimizer(f.params, c);
    b->state_from_host(a->state_to_host(), a->steps());
    const auto before = f.values();
    f.set_grad({0.1f, 0.2f});
    a->step(f.params);
    const auto after_a = f.values();
    f.params.values_from_host(before);
    b->step(f.params);
    EXPECT_EQ(f.values(), after_a);
}

TEST(Clipping, ScalesToTheGlobalNormOnlyWhenAbove) {
    Fixture f;
    f.set_grad({3.0f, 4.0f});
    EXPECT_NEAR(clip_grad_norm(f.params, 10.0), 5.0, 1e-6);
    std::vector<float> g(2);
    f.be->copy_to_host(g.data(), f.params.grads(), sizeof(float) * 2);
    EXPECT_FLOAT_EQ(g[0], 3.0f);
    EXPECT_NEAR(clip_grad_norm(f.params, 1.0), 5.0, 1e-6);
    f.be->copy_to_host(g.data(), f.params.grads(), sizeof(float) * 2);
    EXPECT_NEAR(g[0], 0.6f, 1e-5);
    EXPECT_NEAR(g[1], 0.8f, 1e-5);
    EXPECT_NEAR(clip_grad_norm(f.params, 0.0), 1.0, 1e-5);  // 0 = measure only
}

// The norm is the global one, over every tensor of the store (torch.nn.utils.clip_grad_norm_), not each tensor's:
// a small tensor beside a large one is scaled down with it (mutation testing: per-tensor clipping in the training
// loop's queue_update passed every test).
TEST(Clipping, TheTrainingLoopClipsByTheGlobalNormOfAllTensors) {
    auto be = make_backend("cpu");
    ParamLayout layout;
    layout.add("big", {2});
    layout.add("small", {2});
    ParamStore p(be, layout);
    const std::vector<float> g = {3.0f, 4.0f, 0.0f, 0.1f};
    be->copy_from_host(p.grads(), g.data(), g.size() * sizeof(float));
    auto slots = be->allocate(2 * sizeof(double));
    double* out = static_cast<double*>(slots->data());
    queue_update(p, nullptr, 1.0, out, out + 1);
    const double norm = std::sqrt(25.0 + 0.01);
    EXPECT_NEAR(std::sqrt(out[0]), norm, 1e-6);
    const std::vector<float> clipped = be->to_host(p.grads_tensor());
    for (size_t i = 0; i < g.size(); ++i) EXPECT_NEAR(clipped[i], g[i] / norm, 1e-6) << i;
}

// The training loop's form (the norm² left in backend memory, the clip reading it there) gives the same bits
// as clip_grad_norm, and the *_into results are those of the returning ops.
TEST(Clipping, NormLeftInBackendMemoryClipsAlike) {
    auto be = make_backend("cpu");
    std::mt19937_64 rng(4);
    const size_t n = 1001;
    const auto g = testing::random_vector<float>(n, rng, -3, 3), t = testing::random_vector<float>(n, rng);
    auto slots = be->allocate(2 * sizeof(double));
    double* out = static_cast<double*>(slots->data());
    for (double max_norm : {0.0, 1.0, 1e6}) {
        SCOPED_TRACE(max_norm);
        ParamLayout layout;
        layout.add("w", {long(n)});
        ParamStore a(be, layout), b(be, layout);
        be->copy_from_host(a.grads(), g.data(), n * sizeof(float));
        be->copy_from_host(b.grads(), g.data(), n * sizeof(float));
        const double norm = clip_grad_norm(a, max_norm);
        be->sum_squares_into(n, b.grads(), out);
        be->clip_by_norm(n, b.grads(), out, max_norm);  // 0: measure only, as clip_grad_norm
        EXPECT_EQ(std::sqrt(*out), norm);
        EXPECT_EQ(be->to_host(a.grads_tensor()), be->to_host(b.grads_tensor()));
    }
    std::vector<float> grad_a(n), grad_b(n);
    const double loss = be->mse(n, g.data(), t.data(), grad_a.data(), 0.5f).loss;
    be->mse_into(n, g.data(), t.data(), grad_b.data(), 0.5f, out + 1);
    EXPECT_EQ(out[1], loss);
    EXPECT_EQ(grad_a, grad_b);
}

}  // namespace
}  // namespace fusedrnn
