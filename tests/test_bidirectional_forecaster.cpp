// The direct forecaster on a bidirectional stack: its head reads each direction's summary of the whole window (the
// forward direction's final state beside the reverse one's, torch's h_n[-2:]), not the last step's output, whose
// reverse half has seen only that step (QA: the PyTorch out[-1] pitfall). Checkpoints from before, which have no
// "bidirectional_head" and were trained on the last step's output, keep reading it.
#include <cmath>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fusedrnn/models/checkpoint.h"
#include "fusedrnn/models/layers.h"
#include "fusedrnn/models/model.h"
#include "fusedrnn/tests/test_support.h"

namespace fusedrnn {
namespace {

using testing::rel_error;

struct Case {
    CellType cell;
    int layers;
    int T;
};

const Case kCases[] = {{CellType::Lstm, 2, 5}, {CellType::Gru, 1, 4}, {CellType::RnnTanh, 2, 1}};

std::string case_name(const Case& c) {
    return std::string(cell_name(c.cell)) + " layers " + std::to_string(c.layers) + " T " + std::to_string(c.T);
}

constexpr int C = 3, H = 5, N = 4, O = 6;

// What the head should see, computed apart from Forecaster: the stack run on its own over the forecaster's parameters,
// then [N, 2H] from the forward direction's output at `forward_step` and the reverse one's at `reverse_step`, through
// the head's weights on the host.
std::vector<float> reference_prediction(Forecaster& f, const Tensor<float>& x, int reverse_step) {
    Backend<float>& be = f.backend();
    RecurrentStack stack(f.spec(), f.params().layout().at("rnn.weight_ih_l0").offset);
    const auto out = stack.forward(f.params(), x, Tensor<float>(), Tensor<float>(), false, false);
    const std::vector<float> y = be.to_host(out.y);
    const std::vector<float> W = be.to_host(f.params().value("head.weight"));
    const std::vector<float> b = be.to_host(f.params().value("head.bias"));
    const int T = int(x.dim(0)), F = 2 * H;
    std::vector<float> pred(size_t(N) * O);
    for (int n = 0; n < N; ++n) {
        for (int o = 0; o < O; ++o) {
            double s = b[size_t(o)];
            for (int j = 0; j < F; ++j) {
                const int step = j < H ? T - 1 : reverse_step;
                s += double(W[size_t(o) * F + j]) * y[(size_t(step) * N + n) * F + j];
            }
            pred[size_t(n) * O + o] = float(s);
        }
    }
    return pred;
}

TEST(BidirectionalForecaster, TheHeadReadsEachDirectionsFinalState) {
    auto be = make_backend("cpu");
    for (const Case& c : kCases) {
        SCOPED_TRACE(case_name(c));
        std::mt19937_64 rng(testing::test_seed());
        Forecaster f(be, {c.cell, C, H, c.layers, true}, O, 7);
        const auto x = be->from_host(testing::random_vector<float>(size_t(c.T) * N * C, rng), {c.T, N, C});
        const std::vector<float> pred = be->to_host(f.forward(x, false));
        EXPECT_LT(rel_error(pred, reference_prediction(f, x, 0)), 1e-6);
        EXPECT_EQ(f.config().at("bidirectional_head"), "final_states");
        if (c.T > 1) {  // the reverse direction's final state depends on the first step, which output[-1]'s does not
            std::vector<float> host_x = be->to_host(x);
            for (int i = 0; i < N * C; ++i) host_x[size_t(i)] += 1.0f;
            EXPECT_NE(be->to_host(f.forward(be->from_host(host_x, x.shape()), false)), pred);
        }
    }
}

// The head's gradient reaches the two steps it read: the model's backward against a central difference of an MSE
// along the gradient (float model, double sums; the step as in DropoutStack.GradientsMatchFiniteDifferences).
TEST(BidirectionalForecaster, GradientsMatchFiniteDifferences) {
    auto be = make_backend("cpu");
    for (const Case& c : kCases) {
        SCOPED_TRACE(case_name(c));
        std::mt19937_64 rng(testing::test_seed() + 1);
        Forecaster f(be, {c.cell, C, H, c.layers, true}, O, 11);
        const auto x = be->from_host(testing::random_vector<float>(size_t(c.T) * N * C, rng), {c.T, N, C});
        const auto target = be->from_host(testing::random_vector<float>(size_t(N) * O, rng), {N, O});
        auto loss = [&](bool backward) {
            Tensor<float> pred = f.forward(x, true);
            Tensor<float> grad = be->empty(pred.shape());
            const double l = be->mse(pred.numel(), pred.data(), target.data(), grad.data(), 1.0f).loss;
            if (backward) {
                f.zero_grad();
                f.backward(grad);
            }
            return l;
        };
        loss(true);
        const std::vector<float> g = be->to_host(f.params().grads_tensor());
        const std::vector<float> theta = f.params().values_to_host();
        double n2 = 0;
        for (float v : g) n2 += double(v) * v;
        const float eps = float(1e-2 / std::sqrt(n2));
        auto at = [&](float s) {
            std::vector<float> t = theta;
            for (size_t i = 0; i < t.size(); ++i) t[i] += s * g[i];
            f.params().values_from_host(t);
            return loss(false);
        };
        const double fd = (at(eps) - at(-eps)) / (2 * double(eps));
        EXPECT_NEAR(fd, n2, 1e-3 * n2);
        // The last layer's reverse recurrent weights get a gradient once there is a second step: the old last-step
        // head read that direction's first step only, from a zero state, so they got none at all.
        const std::string name = "rnn.weight_hh_l" + std::to_string(c.layers - 1) + "_reverse";
        double reverse2 = 0;
        for (float v : be->to_host(f.params().grad(name))) reverse2 += double(v) * v;
        if (c.T > 1) {
            EXPECT_GT(reverse2, 0.0);
        }
    }
}

// A checkpoint written before the head read the final states has no "bidirectional_head": it loads as trained, on
// the last step's output, and is saved again as it was.
TEST(BidirectionalForecaster, OlderCheckpointsKeepReadingTheLastStep) {
    auto be = make_backend("cpu");
    std::mt19937_64 rng(testing::test_seed() + 2);
    Forecaster f(be, {CellType::Gru, C, H, 2, true}, O, 3);
    const std::string dir = testing::temp_dir();
    save_checkpoint(dir + "/new.safetensors", f, {});
    nlohmann::json old_config = f.config();
    old_config.erase("bidirectional_head");
    auto old = Forecaster::from_config(be, old_config);
    old->params().values_from_host(f.params().values_to_host());
    const auto x = be->from_host(testing::random_vector<float>(size_t(5) * N * C, rng), {5, N, C});
    EXPECT_LT(rel_error(be->to_host(old->forward(x, false)), reference_prediction(*old, x, 4)), 1e-6);
    EXPECT_FALSE(old->config().contains("bidirectional_head"));  // written as 0.2 wrote it: its files load back
    save_checkpoint(dir + "/old.safetensors", *old, {});
    EXPECT_NO_THROW(load_parameters(read_checkpoint(dir + "/old.safetensors"), *old));
    auto reloaded = Forecaster::from_config(be, read_checkpoint(dir + "/new.safetensors").config);
    EXPECT_EQ(reloaded->config().at("bidirectional_head"), "final_states");
    nlohmann::json bad = f.config();
    bad["bidirectional_head"] = "middle";
    EXPECT_NE(testing::error_of([&] { Forecaster::from_config(be, bad); }).find("unknown bidirectional_head 'middle'"),
              std::string::npos);
    // A unidirectional forecaster's config is as it was.
    EXPECT_FALSE(Forecaster(be, {CellType::Gru, C, H, 1, false}, O, 3).config().contains("bidirectional_head"));
}

}  // namespace
}  // namespace fusedrnn
