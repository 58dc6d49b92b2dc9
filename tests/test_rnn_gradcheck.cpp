// Gradient checks of the CPU recurrent stack in double: central differences (4-point stencil) of the
// scalar loss L = Σ y·dy + Σ h_n·dhn (+ Σ c_n·dcn) against rnn_backward, for every cell × {1, 2}
// layers × {uni, bi}, including the gradients of h0 and c0. Relative error < 1e-6.
#include <cmath>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "fusedrnn/core/backend.h"
#include "fusedrnn/core/param_layout.h"
#include "fusedrnn/tests/test_support.h"

namespace fusedrnn {
namespace {

using testing::rel_error;

struct Case {
    CellType cell;
    int layers;
    bool bidirectional;
};

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
    return fmt::format("{}_L{}_{}", cell_name(info.param.cell), info.param.layers,
                       info.param.bidirectional ? "bi" : "uni");
}

class RnnGradcheck : public ::testing::TestWithParam<Case> {};

TEST_P(RnnGradcheck, MatchesCentralDifferences) {
    const Case c = GetParam();
    RnnSpec spec{c.cell, 3, 4, c.layers, c.bidirectional};
    const int T = 4, N = 2;
    const int LD = spec.num_layers * spec.directions();
    const size_t P = rnn_param_count(spec);
    const size_t state = size_t(LD) * N * spec.hidden_size;
    const bool lstm = has_cell_state(spec.cell);
    auto be = make_backend_f64("cpu");

    std::mt19937_64 rng(testing::test_seed());
    auto w = testing::random_vector<double>(P, rng, -0.6, 0.6);
    auto x = testing::random_vector<double>(size_t(T) * N * spec.input_size, rng);
    auto h0 = testing::random_vector<double>(state, rng);
    auto c0 = testing::random_vector<double>(state, rng);
    auto dy = testing::random_vector<double>(size_t(T) * N * spec.output_size(), rng);
    auto dhn = testing::random_vector<double>(state, rng);
    auto dcn = testing::random_vector<double>(state, rng);
    if (spec.cell == CellType::RnnRelu) {
        // Keep pre-activations away from the kink at 0, where central differences are not defined:
        // positive biases and inputs make most units active; units still near 0 are filtered below.
        for (auto& v : x) v = std::abs(v);
    }

    auto loss = [&](const std::vector<double>& wv, const std::vector<double>& xv, const std::vector<double>& h0v,
                    const std::vector<double>& c0v) {
        std::vector<double> y(dy.size()), hn(state), cn(state);
        RnnForwardArgs<double> a;
        a.T = T; a.N = N; a.x = xv.data(); a.h0 = h0v.data(); a.c0 = lstm ? c0v.data() : nullptr;
        a.weights = wv.data(); a.y = y.data(); a.hn = hn.data(); a.cn = lstm ? cn.data() : nullptr;
        be->rnn_forward(spec, a);
        double l = 0;
        for (size_t i = 0; i < y.size(); ++i) l += y[i] * dy[i];
        for (size_t i = 0; i < state; ++i) l += hn[i] * dhn[i] + (lstm ? cn[i] * dcn[i] : 0.0);
        return l;
    };

    // Analytic gradients.
    std::vector<double> reserve(be->rnn_reserve_size(spec, T, N));
    std::vector<double> y(dy.size()), hn(state), cn(state);
    RnnForwardArgs<double> fa;
    fa.T = T; fa.N = N; fa.x = x.data(); fa.h0 = h0.data(); fa.c0 = lstm ? c0.data() : nullptr;
    fa.weights = w.data(); fa.y = y.data(); fa.hn = hn.data(); fa.cn = lstm ? cn.data() : nullptr;
    fa.reserve = reserve.data();
    be->rnn_forward(spec, fa);
    std::vector<double> dx(x.size()), dh0(state), dc0(state), dw(P, 0.0);
    RnnBackwardArgs<double> ba;
    ba.T = T; ba.N = N; ba.x = x.data(); ba.h0 = h0.data(); ba.c0 = fa.c0; ba.weights = w.data();
    ba.y = y.data(); ba.dy = dy.data(); ba.dhn = dhn.data(); ba.dcn = lstm ? dcn.data() : nullptr;
    ba.reserve = reserve.data(); ba.dx = dx.data(); ba.dh0 = dh0.data(); ba.dc0 = lstm ? dc0.data() : nullptr;
    ba.dweights = dw.data();
    be->rnn_backward(spec, ba);

    // Numeric gradients with the 4-point stencil (error O(eps^4)). For the ReLU cell a small step: the
    // recurrence makes the loss curved in each weight, and with 1e-3 the two one-sided slopes of the kink test
    // below differed by curvature alone often enough to fail 3% of runs (filtered entries, or a kink missed);
    // in double a 1e-5 step still leaves rounding far below the 1e-6 tolerance.
    const double eps = spec.cell == CellType::RnnRelu ? 1e-5 : 1e-3;
    auto numeric = [&](std::vector<double>& v, auto&& eval) {
        std::vector<double> g(v.size());
        for (size_t i = 0; i < v.size(); ++i) {
            const double keep = v[i];
            double f[4];
            const double offs[4] = {-2 * eps, -eps, eps, 2 * eps};
            for (int k = 0; k < 4; ++k) { v[i] = keep + offs[k]; f[k] = eval(); }
            v[i] = keep;
            g[i] = (f[0] - 8 * f[1] + 8 * f[2] - f[3]) / (12 * eps);
            // A ReLU kink crossed inside the stencil makes the difference meaningless: the two
            // one-sided slopes disagree. Such entries are compared to themselves (filtered).
            if (spec.cell == CellType::RnnRelu) {
                const double left = (f[1] - f[0]) / eps, right = (f[3] - f[2]) / eps;
                if (std::abs(left - right) > 1e-4 * (1 + std::abs(left))) g[i] = std::nan("");
            }
        }
        return g;
    };
    auto compare = [&](const std::vector<double>& num, const std::vector<double>& ana, const char* what) {
        std::vector<double> a2, n2;
        for (size_t i = 0; i < num.size(); ++i)
            if (!std::isnan(num[i])) { n2.push_back(num[i]); a2.push_back(ana[i]); }
        ASSERT_GT(n2.size(), num.size() / 2) << what << ": too many entries filtered at ReLU kinks";
        // Relative 1e-6, with an absolute floor far above the stencil's rounding (~1e-10) for a gradient that
        // is exactly zero (every ReLU unit it passes through off), where the relative error would be noise/0.
        double diff = 0;
        for (size_t i = 0; i < a2.size(); ++i) diff += (a2[i] - n2[i]) * (a2[i] - n2[i]);
        if (std::sqrt(diff) > 1e-8 * std::sqrt(double(a2.size()))) {
            EXPECT_LT(rel_error(a2, n2), 1e-6) << what;
        }
    };

    compare(numeric(w, [&] { return loss(w, x, h0, c0); }), dw, "dweights");
    compare(numeric(x, [&] { return loss(w, x, h0, c0); }), dx, "dx");
    compare(numeric(h0, [&] { return loss(w, x, h0, c0); }), dh0, "dh0");
    if (lstm) compare(numeric(c0, [&] { return loss(w, x, h0, c0); }), dc0, "dc0");
}

std::vector<Case> all_cases() {
    std::vector<Case> cases;
    for (CellType cell : {CellType::RnnTanh, CellType::RnnRelu, CellType::Lstm, CellType::Gru,
                          CellType::GruResetBefore})
        for (int layers : {1, 2})
            for (bool bi : {false, true}) cases.push_back({cell, layers, bi});
    return cases;
}

INSTANTIATE_TEST_SUITE_P(AllCells, RnnGradcheck, ::testing::ValuesIn(all_cases()), case_name);

TEST(RnnGradcheck, NullGradientsAndStatesMeanZeros) {
    // dy = nullptr and dhn = nullptr are zeros: every gradient must vanish; h0 = nullptr means zeros.
    RnnSpec spec{CellType::Lstm, 2, 3, 2, true};
    auto be = make_backend_f64("cpu");
    std::mt19937_64 rng(testing::test_seed());
    const int T = 3, N = 2;
    auto w = testing::random_vector<double>(rnn_param_count(spec), rng);
    auto x = testing::random_vector<double>(size_t(T) * N * 2, rng);
    std::vector<double> y(size_t(T) * N * 6), reserve(be->rnn_reserve_size(spec, T, N));
    RnnForwardArgs<double> fa;
    fa.T = T; fa.N = N; fa.x = x.data(); fa.weights = w.data(); fa.y = y.data(); fa.reserve = reserve.data();
    be->rnn_forward(spec, fa);
    std::vector<double> dw(w.size(), 0.0), dx(x.size(), 1.0);
    RnnBackwardArgs<double> ba;
    ba.T = T; ba.N = N; ba.x = x.data(); ba.weights = w.data(); ba.y = y.data(); ba.reserve = reserve.data();
    ba.dx = dx.data(); ba.dweights = dw.data();
    be->rnn_backward(spec, ba);
    for (double v : dw) EXPECT_EQ(v, 0.0);
    for (double v : dx) EXPECT_EQ(v, 0.0);
}

}  // namespace
}  // namespace fusedrnn
