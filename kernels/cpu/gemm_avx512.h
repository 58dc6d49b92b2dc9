// AVX-512 single-precision GEMM for the recurrent products of the CPU backend.
//
// Why not only OpenBLAS: the recurrence multiplies by the same weight matrix at every step, and BLAS
// re-packs it on every call; here it is packed once per sequence (PackedB) and streamed from L2 by a
// 12×32 register-tile micro-kernel. It also gives AVX-512 on CPUs that the installed OpenBLAS does not
// know (Debian's 0.3.21 runs its AVX2 kernels on Zen 4/5). Used for float when simd::cpu_isa() is
// Avx512; everything else (double, other CPUs) goes through OpenBLAS (blas.h).
//
//   C[M, N] = (accumulate ? C : 0) + A·B,   A[i, k] = A[i·a_si + k·a_sk] (so Aᵀ views are free),
//   B either packed (PackedB; rows k0..k0+K of it) or row-major B[k, n] = B[k·ldb + n].
#pragma once

#include <cstddef>
#include <vector>

namespace fusedrnn::cpu::avx512 {

// B[K, N] in panels of 32 columns: panel p, row k, column c at data[(p·K + k)·32 + c]; zero padded.
struct PackedB {
    std::vector<float> data;
    int K = 0, N = 0;
};
// B = Wᵀ for a row-major W[N, K] (stride ldw): B[k, n] = W[n·ldw + k].
void pack_transposed(PackedB& out, const float* W, long ldw, int K, int N);
// B = W for a row-major W[K, N] (stride ldw): B[k, n] = W[k·ldw + n].
void pack(PackedB& out, const float* W, long ldw, int K, int N);

void gemm_packed(int M, int N, int K, const float* A, long a_si, long a_sk, const PackedB& B, int k0, float* C,
                 long ldc, bool accumulate);
void gemm_direct(int M, int N, int K, const float* A, long a_si, long a_sk, const float* B, long ldb, float* C,
                 long ldc, bool accumulate);

}  // namespace fusedrnn::cpu::avx512
