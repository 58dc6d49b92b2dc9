// AVX-512 single-precision GEMM for the recurrent products (see gemm_avx512.h).
//
// Blocking: K in chunks of kKC; per chunk, row tiles of kMR rows of A (read in place when row-major,
// else packed k-major into a small buffer), then every 32-column panel of B is streamed past them (from
// L2) by a kMR×32 micro-kernel that keeps its 2·kMR accumulators in zmm registers. Partial panels use masked loads/stores, partial row
// tiles a smaller instantiation of the micro-kernel.
#include "fusedrnn/kernels/cpu/gemm_avx512.h"

#include <algorithm>
#include <cstring>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define FR_AVX512_OK 1
#define FR_AVX512 __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,avx2,fma")))
#define FR_AVX512_INLINE __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,avx2,fma"), always_inline)) inline
#endif

namespace fusedrnn::cpu::avx512 {

namespace {
constexpr int kNR = 32;   // columns per panel: two zmm
constexpr int kMR = 12;   // rows per register tile: 24 accumulators + 2 B vectors + 1 broadcast
constexpr int kKC = 256;  // K chunk: packed A tile 12 KiB, B panel chunk 32 KiB

void pack_impl(PackedB& out, const float* W, long ldw, int K, int N, bool transposed) {
    const int panels = (N + kNR - 1) / kNR;
    out.K = K;
    out.N = N;
    out.data.assign(size_t(panels) * K * kNR, 0.0f);
    for (int n = 0; n < N; ++n) {
        float* dst = out.data.data() + size_t(n / kNR) * K * kNR + n % kNR;
        for (int k = 0; k < K; ++k) dst[size_t(k) * kNR] = transposed ? W[n * ldw + k] : W[k * ldw + n];
    }
}
}  // namespace

void pack_transposed(PackedB& out, const float* W, long ldw, int K, int N) { pack_impl(out, W, ldw, K, N, true); }
void pack(PackedB& out, const float* W, long ldw, int K, int N) { pack_impl(out, W, ldw, K, N, false); }

#ifdef FR_AVX512_OK
namespace {

// C[MR, 32 masked] (+)= A[MR, K] · b[K][32] (b row stride b_sk), A[i, k] = a[i·a_si + k·a_sk] (a packed
// tile: a_si = 1, a_sk = MR; a row-major: a_si = lda, a_sk = 1). Masked: masked loads of b.
template <int MR, bool Masked>
FR_AVX512_INLINE void micro(int K, const float* a, long a_si, long a_sk, const float* b, long b_sk, float* C,
                            long ldc, bool acc, __mmask16 m0, __mmask16 m1) {
    __m512 c0[MR], c1[MR];
    for (int i = 0; i < MR; ++i) {
        c0[i] = _mm512_setzero_ps();
        c1[i] = _mm512_setzero_ps();
    }
    for (int k = 0; k < K; ++k) {
        const float* bk = b + k * b_sk;
        const __m512 b0 = Masked ? _mm512_maskz_loadu_ps(m0, bk) : _mm512_loadu_ps(bk);
        const __m512 b1 = Masked ? _mm512_maskz_loadu_ps(m1, bk + 16) : _mm512_loadu_ps(bk + 16);
        const float* ak = a + k * a_sk;
        for (int i = 0; i < MR; ++i) {
            const __m512 av = _mm512_set1_ps(ak[i * a_si]);
            c0[i] = _mm512_fmadd_ps(av, b0, c0[i]);
            c1[i] = _mm512_fmadd_ps(av, b1, c1[i]);
        }
    }
    for (int i = 0; i < MR; ++i) {
        float* c = C + i * ldc;
        if (acc) {
            c0[i] = _mm512_add_ps(_mm512_maskz_loadu_ps(m0, c), c0[i]);
            c1[i] = _mm512_add_ps(_mm512_maskz_loadu_ps(m1, c + 16), c1[i]);
        }
        _mm512_mask_storeu_ps(c, m0, c0[i]);
        _mm512_mask_storeu_ps(c + 16, m1, c1[i]);
    }
}

// micro<mr> for a run-time mr in [1, MR].
template <int MR, bool Masked>
FR_AVX512_INLINE void micro_rows(int mr, int K, const float* a, long a_si, long a_sk, const float* b, long b_sk,
                                 float* C, long ldc, bool acc, __mmask16 m0, __mmask16 m1) {
    if constexpr (MR > 0) {
        if (mr == MR) micro<MR, Masked>(K, a, a_si, a_sk, b, b_sk, C, ldc, acc, m0, m1);
        else micro_rows<MR - 1, Masked>(mr, K, a, a_si, a_sk, b, b_sk, C, ldc, acc, m0, m1);
    }
}

template <bool Masked>
FR_AVX512 __attribute__((noinline)) void tile(int mr, int K, const float* a, long a_si, long a_sk, const float* b,
                                              long b_sk, float* C, long ldc, bool acc, __mmask16 m0, __mmask16 m1) {
    micro_rows<kMR, Masked>(mr, K, a, a_si, a_sk, b, b_sk, C, ldc, acc, m0, m1);
}

// B panel p starts at B + p·b_sp, its row k at + k·b_sk. `padded`: panels are full width (zeros beyond N).
FR_AVX512 void gemm_impl(int M, int N, int K, const float* A, long a_si, long a_sk, const float* B, long b_sp,
                         long b_sk, bool padded, float* C, long ldc, bool accumulate) {
    if (M <= 0 || N <= 0) return;
    if (K <= 0) {
        if (!accumulate)
            for (int i = 0; i < M; ++i) std::memset(C + i * ldc, 0, sizeof(float) * N);
        return;
    }
    alignas(64) float apack[kKC * kMR];
    const int panels = (N + kNR - 1) / kNR;
    for (int kc = 0; kc < K; kc += kKC) {
        const int kl = std::min(kKC, K - kc);
        const bool acc = accumulate || kc > 0;
        for (int i0 = 0; i0 < M; i0 += kMR) {
            const int mr = std::min(kMR, M - i0);
            // Row-major A (a_sk = 1) is read in place, its rows' elements broadcast; any other layout
            // (Aᵀ views: a_si = 1) is packed k-major first, apack[k·mr + i] = A[i0 + i, kc + k].
            const float* a0 = A + i0 * a_si + kc * a_sk;
            const bool in_place = a_sk == 1;
            if (!in_place)
                for (int k = 0; k < kl; ++k)
                    for (int i = 0; i < mr; ++i) apack[k * mr + i] = a0[k * a_sk + i * a_si];
            const float* at = in_place ? a0 : apack;
            const long at_si = in_place ? a_si : 1, at_sk = in_place ? 1 : mr;
            for (int p = 0; p < panels; ++p) {
                const int cols = std::min(kNR, N - p * kNR);
                const __mmask16 m0 = cols >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << cols) - 1);
                const __mmask16 m1 = cols >= 32 ? __mmask16(0xFFFF)
                                     : cols > 16 ? __mmask16((1u << (cols - 16)) - 1)
                                                 : __mmask16(0);
                const float* b = B + p * b_sp + kc * b_sk;
                float* c = C + i0 * ldc + p * kNR;
                if (padded || cols == kNR) tile<false>(mr, kl, at, at_si, at_sk, b, b_sk, c, ldc, acc, m0, m1);
                else tile<true>(mr, kl, at, at_si, at_sk, b, b_sk, c, ldc, acc, m0, m1);
            }
        }
    }
}

}  // namespace

void gemm_packed(int M, int N, int K, const float* A, long a_si, long a_sk, const PackedB& B, int k0, float* C,
                 long ldc, bool accumulate) {
    gemm_impl(M, N, K, A, a_si, a_sk, B.data.data() + size_t(k0) * kNR, long(B.K) * kNR, kNR, true, C, ldc,
              accumulate);
}

void gemm_direct(int M, int N, int K, const float* A, long a_si, long a_sk, const float* B, long ldb, float* C,
                 long ldc, bool accumulate) {
    gemm_impl(M, N, K, A, a_si, a_sk, B, kNR, ldb, false, C, ldc, accumulate);
}

#else  // not x86-64: never selected (simd::cpu_isa() is Generic); plain loops keep the build whole.

namespace {
void gemm_ref(int M, int N, int K, const float* A, long a_si, long a_sk, const float* B, long b_sp, long b_sk,
              float* C, long ldc, bool accumulate) {
    for (int i = 0; i < M; ++i)
        for (int n = 0; n < N; ++n) {
            float s = 0;
            for (int k = 0; k < K; ++k) s += A[i * a_si + k * a_sk] * B[(n / kNR) * b_sp + k * b_sk + n % kNR];
            C[i * ldc + n] = (accumulate ? C[i * ldc + n] : 0.0f) + s;
        }
}
}  // namespace

void gemm_packed(int M, int N, int K, const float* A, long a_si, long a_sk, const PackedB& B, int k0, float* C,
                 long ldc, bool accumulate) {
    gemm_ref(M, N, K, A, a_si, a_sk, B.data.data() + size_t(k0) * kNR, long(B.K) * kNR, kNR, C, ldc, accumulate);
}
void gemm_direct(int M, int N, int K, const float* A, long a_si, long a_sk, const float* B, long ldb, float* C,
                 long ldc, bool accumulate) {
    gemm_ref(M, N, K, A, a_si, a_sk, B, kNR, ldb, C, ldc, accumulate);
}

#endif

}  // namespace fusedrnn::cpu::avx512
