// fusedrnn — dropout's mask, one element at a time, for every backend (the CPU backend and the CUDA kernel call
// these, so both draw the same mask to the bit; see core/dropout_args.h for the contract).
//
// The hash is SplitMix64's finalizer (Steele, Lea & Flood 2014; the mixer behind java.util.SplittableRandom),
// applied twice: once to the element's index within the whole batch, once to that xor the stream's seed. An
// element is kept when the top 24 bits of the result are at or above round(p·2^24): integer arithmetic only, so
// no float rounding can make two devices disagree. 24 bits resolve p to 6e-8, far below any useful rate.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>

#include "fusedrnn/core/dropout_args.h"
#include "fusedrnn/kernels/cell_math.h"  // FR_HD

namespace fusedrnn::dropout {

FR_HD uint64_t mix64(uint64_t z) {
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

// What an op needs per call, computed once on the host from DropoutArgs.
template <class T>
struct Mask {
    uint64_t stream;     // the (seed, step, site) stream
    uint32_t threshold;  // keep when the 24-bit draw is >= this
    T scale;             // 1/(1 − p), in T
    long rows, width, row_offset, rows_total;
    bool locked;         // one mask for every outer index
};

template <class T>
inline Mask<T> prepare(const DropoutArgs& a) {
    Mask<T> m;
    m.stream = mix64(mix64(mix64(a.seed) + a.step) + a.site);
    m.threshold = uint32_t(std::lround(double(a.p) * 16777216.0));
    m.scale = T(1.0 / (1.0 - double(a.p)));
    m.rows = a.rows;
    m.width = a.width;
    m.row_offset = a.row_offset;
    m.rows_total = a.rows_total;
    m.locked = a.locked;
    return m;
}

// Element i of x [outer, rows, width] (row-major): its value after dropout.
template <class T>
FR_HD T apply(size_t i, const Mask<T>& m, T x) {
    const size_t per_outer = size_t(m.rows) * size_t(m.width);
    const size_t a = i / per_outer, rem = i - a * per_outer;
    const size_t r = rem / size_t(m.width), w = rem - r * size_t(m.width);
    const uint64_t outer = m.locked ? 0 : uint64_t(a);
    const uint64_t logical = (outer * uint64_t(m.rows_total) + uint64_t(m.row_offset) + r) * uint64_t(m.width) + w;
    const uint32_t draw = uint32_t(mix64(m.stream ^ mix64(logical)) >> 40);
    return draw >= m.threshold ? x * m.scale : T(0);
}

}  // namespace fusedrnn::dropout
