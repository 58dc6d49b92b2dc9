// Row-major GEMM through CBLAS (OpenBLAS), typed for float and double.
#pragma once

#include <cblas.h>

namespace fusedrnn::cpu {

// C[M, N] = alpha · op(A) · op(B) + beta · C, all row-major with the given leading dimensions.
inline void gemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A, int lda,
                 const float* B, int ldb, float beta, float* C, int ldc) {
    if (M == 0 || N == 0) return;
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, M, N, K,
                alpha, A, lda, B, ldb, beta, C, ldc);
}
inline void gemm(bool trans_a, bool trans_b, int M, int N, int K, double alpha, const double* A, int lda,
                 const double* B, int ldb, double beta, double* C, int ldc) {
    if (M == 0 || N == 0) return;
    cblas_dgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, M, N, K,
                alpha, A, lda, B, ldb, beta, C, ldc);
}

// OpenBLAS single-threaded for the lifetime of the guard (when `active`). The recurrent kernels run their
// own OpenMP team over batch slices and call BLAS from every member; a pthreads OpenBLAS would otherwise
// start its own threads on top of ours (oversubscription on a machine with few cores). OpenMP builds of
// OpenBLAS already run single-threaded inside a parallel region, and setting their thread count would
// change OpenMP's, so the guard only acts on the pthreads build. The count is process-wide: restored when
// the guard ends.
class BlasSingleThread {
public:
#if defined(OPENBLAS_VERSION)
    explicit BlasSingleThread(bool active)
        : prev_(active && openblas_get_parallel() == 1 ? openblas_get_num_threads() : 1) {
        if (prev_ != 1) openblas_set_num_threads(1);
    }
    ~BlasSingleThread() {
        if (prev_ != 1) openblas_set_num_threads(prev_);
    }
#else
    explicit BlasSingleThread(bool) {}
#endif
    BlasSingleThread(const BlasSingleThread&) = delete;
    BlasSingleThread& operator=(const BlasSingleThread&) = delete;

private:
    [[maybe_unused]] int prev_ = 1;
};

}  // namespace fusedrnn::cpu
