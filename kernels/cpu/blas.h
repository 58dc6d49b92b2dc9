// Row-major GEMM through CBLAS (OpenBLAS), typed for float and double.
#pragma once

#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <mutex>

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

// OpenBLAS single-threaded for the lifetime of the guard (when `active`). The CPU kernels run their own
// OpenMP team over batch chunks and call BLAS from every member; a pthreads OpenBLAS would otherwise start
// its own threads on top of ours (oversubscription on a machine with few cores), and its threads also change
// the last bits of a product (results must not depend on the thread count). OpenMP builds of OpenBLAS
// already run single-threaded inside a parallel region, and setting their thread count would change
// OpenMP's, so the guard only acts on the pthreads build (the one tested here; Debian's default). The count
// is process-wide, and guards may overlap (data-parallel ranks on threads): the first to start sets it to 1,
// the last to end restores it.
class BlasSingleThread {
public:
#if defined(OPENBLAS_VERSION)
    explicit BlasSingleThread(bool active) : active_(active && openblas_get_parallel() == 1) {
        if (!active_) return;
        State& s = state();
        const std::lock_guard<std::mutex> lock(s.mutex);
        if (s.holders++ == 0) {
            s.saved = openblas_get_num_threads();
            if (s.saved != 1) openblas_set_num_threads(1);
        }
    }
    ~BlasSingleThread() {
        if (!active_) return;
        State& s = state();
        const std::lock_guard<std::mutex> lock(s.mutex);
        if (--s.holders == 0 && s.saved != 1) openblas_set_num_threads(s.saved);
    }
#else
    explicit BlasSingleThread(bool) {}
#endif
    BlasSingleThread(const BlasSingleThread&) = delete;
    BlasSingleThread& operator=(const BlasSingleThread&) = delete;

private:
    struct State {
        std::mutex mutex;
        int holders = 0;  // guards alive
        int saved = 1;    // OpenBLAS's thread count before the first of them
    };
    static State& state() {
        static State s;
        return s;
    }
    [[maybe_unused]] bool active_ = false;
};

// gemm() for the dense layers, with the rows of C cut into parts and the parts spread over the OpenMP team,
// OpenBLAS single-threaded inside. Called between recurrent passes, a multi-threaded pthreads OpenBLAS would
// wake its own threads, which then spin in sched_yield for a while and steal the cores from the next pass's
// OpenMP team: measured on 2 cores, a forecaster training step (LSTM 128, batch 1024) went from ~100 to
// ~72 ms once every BLAS call ran this way. The parts follow from the shape alone, never from the thread
// count: OpenBLAS can give a row other last bits in a product with another number of rows (or on its own
// threads), and so each part is the same product on any number of threads and the results do not depend
// on it. One part per ~2^18 multiply-adds, at least kMinRows rows each (each part packs B again), at most
// kMaxParts. Row r of op(A) starts at A + r·lda, or A + r when op(A) is Aᵀ.
template <class T>
void gemm_rows_parallel(bool trans_a, bool trans_b, int M, int N, int K, T alpha, const T* A, int lda, const T* B,
                        int ldb, T beta, T* C, int ldc) {
    if (M == 0 || N == 0) return;
    constexpr int kMinRows = 32, kMaxParts = 16;
    const double work = double(M) * N * K;
    const int parts = std::max(1, std::min({M / kMinRows, int(std::min(work / double(1 << 18), 1e6)), kMaxParts}));
    const int team = std::max(1, std::min(parts, omp_get_max_threads()));
    BlasSingleThread guard(true);
    auto part = [&](int p) {
        const int r0 = int(long(M) * p / parts), r1 = int(long(M) * (p + 1) / parts);
        const T* a = trans_a ? A + r0 : A + size_t(r0) * lda;
        gemm(trans_a, trans_b, r1 - r0, N, K, alpha, a, lda, B, ldb, beta, C + size_t(r0) * ldc, ldc);
    };
    if (team == 1) {
        for (int p = 0; p < parts; ++p) part(p);
        return;
    }
#pragma omp parallel num_threads(team)
    for (int p = omp_get_thread_num(); p < parts; p += omp_get_num_threads()) part(p);
}

}  // namespace fusedrnn::cpu
