// fusedrnn — per-element bodies of the dense kernels (kernels/cuda/dense_kernels.cu): what one thread
// computes for one element i of a grid-stride loop, or for one row's final values. They are
// __host__ __device__ (FR_HD) so the host emulation of the CUDA runtime (tests/cuda_emulation) runs the
// same index arithmetic and float expressions as the GPU, element by element in both orders, and
// compares them with the CPU backend in every build. What stays in the kernels is what only a GPU has:
// the grid-stride loop, atomics, and the warp/block reductions.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>

#include "fusedrnn/kernels/cell_math.h"  // FR_HD
#include "fusedrnn/kernels/dropout_mask.h"

namespace fusedrnn::gpu::element {

// ---- optimizers: p, m, v updated in place at i --------------------------------------------------

FR_HD void sgd(size_t i, float* p, const float* g, float* m, float lr, float momentum, float wd) {
    float d = g[i] + wd * p[i];
    if (momentum != 0.f) {
        const float mi = momentum * m[i] + d;
        m[i] = mi;
        d = mi;
    }
    p[i] -= lr * d;
}

// step_size and inv_sqrt_bc2 carry the bias corrections (computed once on the host, see dense_kernels.h).
// decay and wd: kernels/adam_scalars.h (AdamW shrinks the weights by decay, Adam adds wd·p to the gradient).
FR_HD void adam(size_t i, float* p, const float* g, float* m, float* v, float beta1, float beta2, float eps,
                float step_size, float inv_sqrt_bc2, float decay, float wd) {
    const float pi = p[i] * decay;
    const float d = g[i] + wd * pi;
    const float mi = beta1 * m[i] + (1.f - beta1) * d;
    const float vi = beta2 * v[i] + (1.f - beta2) * d * d;
    m[i] = mi;
    v[i] = vi;
    p[i] = pi - step_size * mi / (sqrtf(vi) * inv_sqrt_bc2 + eps);
}

FR_HD void rmsprop(size_t i, float* p, const float* g, float* s, float lr, float alpha, float eps, float wd) {
    const float d = g[i] + wd * p[i];
    const float si = alpha * s[i] + (1.f - alpha) * d * d;
    s[i] = si;
    p[i] -= lr * d / (sqrtf(si) + eps);
}

// ---- reductions' per-element parts --------------------------------------------------------------

// The difference squared by Σ x² (b == nullptr) and by the MSE (b = target); with grad, also writes the MSE
// gradient grad_coef·(a − b).
FR_HD float squares_term(size_t i, const float* a, const float* b, float* grad, float grad_coef) {
    const float d = b ? a[i] - b[i] : a[i];
    if (grad) grad[i] = grad_coef * d;
    return d;
}

// Gradient clipping's factor from the squared norm left on the device; false when nothing is to be scaled
// (norm ≤ max_norm, or a NaN norm, as on the CPU).
FR_HD bool clip_factor(double sum_squares, double max_norm, float& factor) {
    const double norm = sqrt(sum_squares);
    if (!(norm > max_norm)) return false;
    factor = float(max_norm / (norm + 1e-6));
    return true;
}

// ---- layout ops ---------------------------------------------------------------------------------

// y[r, :] = b for row-major y [M, cols]; i < M·cols.
FR_HD void broadcast_row(size_t i, int cols, const float* b, float* y) { y[i] = b[i % size_t(cols)]; }

// Element e of an embedding's [n, dim] rows: which id, which table element, and whether the id is usable.
struct EmbeddingElement {
    size_t row;          // position i of the id
    size_t table_index;  // ids[i]·dim + k, meaningful when valid
    int id;
    bool valid;          // 0 ≤ id < V
    bool first_of_row;   // k == 0: the one element of a row that records a bad id
};

FR_HD EmbeddingElement embedding_element(size_t e, int V, int dim, const int32_t* ids) {
    const size_t i = e / size_t(dim), k = e % size_t(dim);
    const int id = ids[i];
    const bool valid = id >= 0 && id < V;
    return EmbeddingElement{i, valid ? size_t(id) * size_t(dim) + k : 0, id, valid, k == 0};
}

// The window gather of Backend::gather_windows, as one flat index space: i < Tin·B·F are x [Tin, B, F], the
// rest y [B, horizon·K].
struct GatherWindowsArgs {
    const float* series;
    int F;
    const int64_t* starts;
    int B, Tin, in_step, horizon, out_offset, out_step;
    const int32_t* target_cols;
    int K;
    float* x;
    float* y;
    FR_HD size_t x_count() const { return size_t(Tin) * size_t(B) * size_t(F); }
    FR_HD size_t total() const { return x_count() + size_t(B) * size_t(horizon) * size_t(K); }
};

FR_HD void gather_window(size_t i, const GatherWindowsArgs& a) {
    const size_t nx = a.x_count();
    if (i < nx) {
        const size_t per_step = size_t(a.B) * size_t(a.F);
        const size_t t = i / per_step;
        const size_t rem = i - t * per_step;
        const size_t b = rem / size_t(a.F), f = rem - b * size_t(a.F);
        const int64_t row = a.starts[b] + int64_t(t) * a.in_step;
        a.x[i] = a.series[size_t(row) * size_t(a.F) + f];
    } else {
        const size_t j = i - nx;
        const size_t per_window = size_t(a.horizon) * size_t(a.K);
        const size_t b = j / per_window;
        const size_t rem = j - b * per_window;
        const size_t h = rem / size_t(a.K), k = rem - h * size_t(a.K);
        const int64_t row =
            a.starts[b] + int64_t(a.Tin - 1) * a.in_step + a.out_offset + int64_t(h) * a.out_step;
        a.y[j] = a.series[size_t(row) * size_t(a.F) + size_t(a.target_cols[k])];
    }
}

// ---- dropout: element i of x [outer, rows, width] (kernels/dropout_mask.h draws the mask) --------------

FR_HD void dropout(size_t i, const fusedrnn::dropout::Mask<float>& m, const float* x, float* y) {
    y[i] = fusedrnn::dropout::apply(i, m, x[i]);
}

// ---- softmax cross-entropy: one row's values once its max and log-sum-exp are known -------------

// d logits[k] = grad_coef·(softmax_k − [k == target]), with softmax_k = exp(logit_k − lse) in float (lse in
// double, from the row's max and its block sum of exp(logit − max)).
FR_HD float softmax_xent_grad(float logit, double lse, float grad_coef, bool is_target) {
    const float p = grad_coef * expf(float(double(logit) - lse));
    return is_target ? p - grad_coef : p;
}

}  // namespace fusedrnn::gpu::element
