// Gradient checks in double for the dense ops the models use: linear, MSE, softmax cross-entropy,
// embedding. Central differences against the backend's backward.
#include <cmath>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "fusedrnn/core/backend.h"
#include "fusedrnn/core/data/windows.h"
#include "fusedrnn/tests/test_support.h"

namespace fusedrnn {
namespace {

using testing::rel_error;

std::vector<double> numeric_grad(std::vector<double>& v, const std::function<double()>& f) {
    const double eps = 1e-4;
    std::vector<double> g(v.size());
    for (size_t i = 0; i < v.size(); ++i) {
        const double keep = v[i];
        v[i] = keep + eps; const double a = f();
        v[i] = keep - eps; const double b = f();
        v[i] = keep;
        g[i] = (a - b) / (2 * eps);
    }
    return g;
}

TEST(DenseGradcheck, Linear) {
    auto be = make_backend_f64("cpu");
    std::mt19937_64 rng(testing::test_seed());
    const int M = 5, in = 4, out = 3;
    auto x = testing::random_vector<double>(M * in, rng), W = testing::random_vector<double>(out * in, rng),
         b = testing::random_vector<double>(out, rng), dy = testing::random_vector<double>(M * out, rng);
    auto loss = [&] {
        std::vector<double> y(M * out);
        be->linear_forward(M, in, out, x.data(), W.data(), b.data(), y.data());
        double l = 0;
        for (int i = 0; i < M * out; ++i) l += y[i] * dy[i];
        return l;
    };
    std::vector<double> dx(M * in), dW(out * in, 0.0), db(out, 0.0);
    be->linear_backward(M, in, out, x.data(), W.data(), dy.data(), dx.data(), dW.data(), db.data());
    EXPECT_LT(rel_error(dx, numeric_grad(x, loss)), 1e-8);
    EXPECT_LT(rel_error(dW, numeric_grad(W, loss)), 1e-8);
    EXPECT_LT(rel_error(db, numeric_grad(b, loss)), 1e-8);
}

TEST(DenseGradcheck, MseLoss) {
    auto be = make_backend_f64("cpu");
    std::mt19937_64 rng(testing::test_seed());
    auto p = testing::random_vector<double>(12, rng), t = testing::random_vector<double>(12, rng);
    std::vector<double> g(12);
    const double l = be->mse(12, p.data(), t.data(), g.data(), 1.0).loss;
    double expect = 0;
    for (int i = 0; i < 12; ++i) expect += (p[i] - t[i]) * (p[i] - t[i]) / 12;
    EXPECT_NEAR(l, expect, 1e-12);
    auto f = [&] { return be->mse(12, p.data(), t.data(), nullptr, 1.0).loss; };
    EXPECT_LT(rel_error(g, numeric_grad(p, f)), 1e-8);
}

TEST(DenseGradcheck, SoftmaxCrossEntropy) {
    auto be = make_backend_f64("cpu");
    std::mt19937_64 rng(testing::test_seed());
    const int M = 4, V = 6;
    auto logits = testing::random_vector<double>(M * V, rng, -3, 3);
    std::vector<int32_t> targets{0, 5, 2, 2};
    std::vector<double> g(M * V);
    auto r = be->softmax_cross_entropy(M, V, logits.data(), targets.data(), g.data(), 1.0);
    double expect = 0;
    long correct = 0;
    for (int m = 0; m < M; ++m) {
        double s = 0;
        int arg = 0;
        for (int k = 0; k < V; ++k) {
            s += std::exp(logits[m * V + k]);
            if (logits[m * V + k] > logits[m * V + arg]) arg = k;
        }
        expect += (std::log(s) - logits[m * V + targets[m]]) / M;
        correct += arg == targets[m];
    }
    EXPECT_NEAR(r.loss, expect, 1e-12);
    EXPECT_EQ(r.correct, correct);
    auto f = [&] { return be->softmax_cross_entropy(M, V, logits.data(), targets.data(), nullptr, 1.0).loss; };
    EXPECT_LT(rel_error(g, numeric_grad(logits, f)), 1e-8);
    std::vector<int32_t> bad{0, 6, 0, 0};
    EXPECT_THROW(be->softmax_cross_entropy(M, V, logits.data(), bad.data(), nullptr, 1.0), Error);
}

TEST(DenseGradcheck, EmbeddingScatterAddsDuplicates) {
    auto be = make_backend_f64("cpu");
    std::mt19937_64 rng(testing::test_seed());
    const int V = 5, dim = 3, n = 4;
    auto table = testing::random_vector<double>(V * dim, rng), dout = testing::random_vector<double>(n * dim, rng);
    std::vector<int32_t> ids{1, 3, 1, 0};
    auto loss = [&] {
        std::vector<double> out(n * dim);
        be->embedding_forward(n, V, dim, ids.data(), table.data(), out.data());
        double l = 0;
        for (int i = 0; i < n * dim; ++i) l += out[i] * dout[i];
        return l;
    };
    std::vector<double> dtable(V * dim, 0.0);
    be->embedding_backward(n, V, dim, ids.data(), dout.data(), dtable.data());
    EXPECT_LT(rel_error(dtable, numeric_grad(table, loss)), 1e-8);
    std::vector<int32_t> bad{1, 5, 0, 0};
    std::vector<double> out(n * dim);
    EXPECT_THROW(be->embedding_forward(n, V, dim, bad.data(), table.data(), out.data()), Error);
}

TEST(GatherWindows, ReadsTheDocumentedRows) {
    auto be = make_backend("cpu");
    const int F = 3, rows = 20;
    std::vector<float> series(rows * F);
    for (int r = 0; r < rows; ++r)
        for (int f = 0; f < F; ++f) series[r * F + f] = float(100 * r + f);
    std::vector<int64_t> starts{2, 5};
    std::vector<int32_t> cols{2, 0};
    const int Tin = 3, in_step = 2, horizon = 2, out_offset = 1, out_step = 3, K = 2, B = 2;
    std::vector<float> x(Tin * B * F), y(B * horizon * K);
    be->gather_windows(series.data(), F, starts.data(), B, data::WindowSpec{Tin, in_step, horizon, out_offset, out_step},
                       cols.data(), K, x.data(), y.data());
    for (int b = 0; b < B; ++b) {
        for (int t = 0; t < Tin; ++t)
            for (int f = 0; f < F; ++f) EXPECT_EQ(x[(t * B + b) * F + f], float(100 * (starts[b] + t * in_step) + f));
        const int64_t first = starts[b] + (Tin - 1) * in_step + out_offset;
        for (int h = 0; h < horizon; ++h)
            for (int k = 0; k < K; ++k) EXPECT_EQ(y[(b * horizon + h) * K + k], float(100 * (first + h * out_step) + cols[k]));
    }
}

}  // namespace
}  // namespace fusedrnn
