// Portable SIMD packs for the CPU backend's pointwise cell math.
//
// The cell equations live in kernels/cell_math.h as templates on the scalar type T. Instantiated with a
// pack type (a class holding W floats), the very same functions compute W hidden units at once: the
// arithmetic operators act lane-wise, and fr_exp / fr_tanh for packs are found by argument-dependent
// lookup (hidden friends below), so cell_math.h stays the single source of truth. The cell functions
// address gate k as gx[k·H]; the caller passes H = 1 and small arrays of packs, one per gate.
//
// Packs are GCC/Clang vector extensions wrapped in a packed struct (alignment 1, which keeps the
// by-value parameters of cell_math's functions free of psABI notes). The code is plain C++; the kernels
// that use it are compiled for AVX-512 / AVX2 through function target attributes and chosen at run time
// (see rnn_pointwise.h), so the library needs no -march flag and runs on any x86-64.
//
// Accuracy: exp and tanh are the Cephes single-precision algorithms (range reduction + polynomial),
// within 2 ulp of glibc's expf / tanhf over the whole range; NaN propagates; exp saturates at e^88
// (finite) and e^-87 instead of overflowing to inf / underflowing to 0, which changes sigmoid and tanh
// by less than 1e-37. Double precision (the gradient checks) does not use packs: it stays on libm.
#pragma once

#include <cstdint>
#include <cstring>

namespace fusedrnn::cpu::simd {

typedef float f32x4 __attribute__((vector_size(16)));
typedef float f32x8 __attribute__((vector_size(32)));
typedef float f32x16 __attribute__((vector_size(64)));
typedef int32_t i32x4 __attribute__((vector_size(16)));
typedef int32_t i32x8 __attribute__((vector_size(32)));
typedef int32_t i32x16 __attribute__((vector_size(64)));

// W floats. Raw: the vector type; RawI: the int32 vector of the same width.
template <class Raw, class RawI, int W>
struct __attribute__((packed)) VecF {
    static constexpr int kWidth = W;
    Raw v;

    VecF() = default;
    VecF(float s) : v(Raw{} + s) {}  // NOLINT: implicit on purpose, cell_math writes T(1), T(0)
    static VecF of(const Raw& r) { VecF x; x.v = r; return x; }

    static VecF load(const float* p) { VecF x; std::memcpy(&x, p, sizeof(Raw)); return x; }
    void store(float* p) const { std::memcpy(p, this, sizeof(Raw)); }
    // First n (< W) lanes; the others read as 0 and are not written.
    static VecF load(const float* p, int n) {
        float tmp[W] = {};
        for (int i = 0; i < n; ++i) tmp[i] = p[i];
        return load(tmp);
    }
    void store(float* p, int n) const {
        float tmp[W];
        store(tmp);
        for (int i = 0; i < n; ++i) p[i] = tmp[i];
    }

    friend VecF operator+(VecF a, VecF b) { return of(a.v + b.v); }
    friend VecF operator-(VecF a, VecF b) { return of(a.v - b.v); }
    friend VecF operator*(VecF a, VecF b) { return of(a.v * b.v); }
    friend VecF operator/(VecF a, VecF b) { return of(a.v / b.v); }
    friend VecF operator-(VecF a) { return of(-a.v); }
    VecF& operator+=(VecF b) { v = v + b.v; return *this; }
    VecF& operator-=(VecF b) { v = v - b.v; return *this; }
    VecF& operator*=(VecF b) { v = v * b.v; return *this; }

    // Only so that Elman<Relu>'s `Relu ? (pre > 0 ? pre : 0) : tanh(pre)` compiles for tanh, where the
    // relu branch is dead code. A lane-wise select cannot go through `?:` on a class type, so relu
    // cells never run on packs (they use plain floats, which the compiler vectorizes by itself).
    struct Mask {
        explicit operator bool() const { __builtin_trap(); }
    };
    friend Mask operator>(VecF, VecF) { return Mask{}; }

    friend VecF fr_exp(VecF x) { return exp_pack(x); }
    friend VecF fr_tanh(VecF x) { return tanh_pack(x); }

private:
    // Helpers take and return packs, never raw vectors: raw vectors by value in a function compiled
    // without the ISA would change the ABI (-Wpsabi).

    // Cephes expf: n = round(x / ln2), r = x - n·ln2 (two-part ln2), e^r by a degree-6 polynomial, times 2^n.
    static VecF exp_pack(VecF xp) {
        Raw x = xp.v;
        x = x > 88.0f ? Raw{} + 88.0f : x;     // NaN compares false and passes through
        x = x < -87.0f ? Raw{} - 87.0f : x;
        const float magic = 12582912.0f;        // 1.5·2^23: adding it rounds to an integer
        const Raw n = (x * 1.44269504088896341f + magic) - magic;
        Raw r = x - n * 0.693359375f;
        r = r - n * -2.12194440e-4f;
        Raw p = Raw{} + 1.9875691500e-4f;
        p = p * r + 1.3981999507e-3f;
        p = p * r + 8.3334519073e-3f;
        p = p * r + 4.1665795894e-2f;
        p = p * r + 1.6666665459e-1f;
        p = p * r + 5.0000001201e-1f;
        p = p * (r * r) + r + 1.0f;
        const RawI e = (__builtin_convertvector(n, RawI) + 127) << 23;  // 2^n, n in [-126, 127]
        Raw scale;
        std::memcpy(&scale, &e, sizeof(Raw));
        return of(p * scale);
    }
    // Cephes tanhf: an odd polynomial below |x| = 0.625, 1 - 2/(e^{2|x|} + 1) above, sign restored.
    static VecF tanh_pack(VecF xp) {
        const Raw x = xp.v;
        RawI bits;
        std::memcpy(&bits, &x, sizeof(Raw));
        const RawI sign = bits & int32_t(0x80000000u);
        const RawI abs_bits = bits & 0x7fffffff;
        Raw ax;
        std::memcpy(&ax, &abs_bits, sizeof(Raw));
        const Raw z = x * x;
        Raw p = Raw{} - 5.70498872745e-3f;
        p = p * z + 2.06390887954e-2f;
        p = p * z - 5.37397155531e-2f;
        p = p * z + 1.33314422036e-1f;
        p = p * z - 3.33332819422e-1f;
        const Raw small = p * z * x + x;
        const Raw big_abs = 1.0f - 2.0f / (exp_pack(of(ax + ax)).v + 1.0f);
        RawI big_bits;
        std::memcpy(&big_bits, &big_abs, sizeof(Raw));
        big_bits |= sign;
        Raw big;
        std::memcpy(&big, &big_bits, sizeof(Raw));
        return of(ax < 0.625f ? small : big);
    }
};

using F32x4 = VecF<f32x4, i32x4, 4>;
using F32x8 = VecF<f32x8, i32x8, 8>;
using F32x16 = VecF<f32x16, i32x16, 16>;

// Instruction sets the float pointwise kernels are built for; the best one the CPU supports is used.
enum class Isa { Generic, Avx2, Avx512 };
// Detected once. The environment variable FUSEDRNN_CPU_ISA=generic|avx2|avx512 caps it (to test the
// fallbacks on a machine that has everything; a value above what the CPU supports is ignored); any other value is
// an error naming the variable, thrown by every call (the CPU backend's factory makes the first).
Isa cpu_isa();
// `best` capped by a FUSEDRNN_CPU_ISA value (null or empty: no cap), as cpu_isa() applies it.
Isa capped_isa(Isa best, const char* cap);
const char* isa_name(Isa isa);

}  // namespace fusedrnn::cpu::simd
