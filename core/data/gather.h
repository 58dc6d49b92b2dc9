// fusedrnn::data — reference CPU window gathering, the specification the backends' gather_windows
// (core/backend.h) must match; tests compare them. Same arguments and layout:
//   x[t, b, f]    = series[(starts[b] + t·in_step)·F + f]                                   t < Tin
//   y[b, h·K + k] = series[(starts[b] + (Tin-1)·in_step + out_offset + h·out_step)·F + target_cols[k]]
// x: [Tin, B, F] time-major; y: [B, horizon·K]. Rows are bounds-checked against `rows`.
#pragma once

#include <cstdint>

#include "fusedrnn/core/data/windows.h"
#include "fusedrnn/core/error.h"

namespace fusedrnn::data {

template <class T>
void gather_windows_reference(const T* series, int64_t rows, int F, const int64_t* starts, int B, int Tin,
                              int in_step, int horizon, int out_offset, int out_step, const int32_t* target_cols,
                              int K, T* x, T* y) {
    for (int b = 0; b < B; ++b) {
        const int64_t s = starts[b];
        const int64_t last = s + int64_t(Tin - 1) * in_step + out_offset + int64_t(horizon - 1) * out_step;
        FUSEDRNN_CHECK(s >= 0 && last < rows, "gather: window at row {} reads up to row {}, outside [0, {})", s,
                       last, rows);
        for (int t = 0; t < Tin; ++t) {
            const T* src = series + (s + int64_t(t) * in_step) * F;
            T* dst = x + (int64_t(t) * B + b) * F;
            for (int f = 0; f < F; ++f) dst[f] = src[f];
        }
        for (int h = 0; h < horizon; ++h) {
            const T* src = series + (s + int64_t(Tin - 1) * in_step + out_offset + int64_t(h) * out_step) * F;
            for (int k = 0; k < K; ++k) y[int64_t(b) * horizon * K + h * K + k] = src[target_cols[k]];
        }
    }
}

// Convenience form taking the window spec.
template <class T>
void gather_windows_reference(const T* series, int64_t rows, int F, const int64_t* starts, int B,
                              const WindowSpec& w, const int32_t* target_cols, int K, T* x, T* y) {
    gather_windows_reference(series, rows, F, starts, B, w.input_len, w.in_step, w.horizon, w.out_offset,
                             w.out_step, target_cols, K, x, y);
}

}  // namespace fusedrnn::data
