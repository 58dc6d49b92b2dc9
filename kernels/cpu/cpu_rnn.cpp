// CPU recurrent stack: forward and backward through time for every cell, stacked and bidirectional.
//
// Per layer-direction, the batch is cut into contiguous chunks that follow from the shape alone (see
// "chunks, threads and blocks" below: the results do not depend on the thread count); batch rows never
// interact, so one OpenMP thread runs the whole time loop of a chunk without synchronisation, calling
// OpenBLAS single-threaded. Per step and block of rows (sized to stay in L2):
//   forward : Gx = X_t·W_ihᵀ and Gh = h_prev·W_hhᵀ (GEMMs, no bias), then the cell's pointwise forward
//             (cell_math.h on SIMD packs, rnn_pointwise.h), which adds b_ih and b_hh on load and writes
//             h to the reserve and the layer output (inference: only to the output, read back as h_prev).
//   backward: the pointwise backward (dGh, and dGx where it differs), dh_prev = direct + dGh·W_hh (GEMM);
//             per step over the whole chunk, dW_hh += dGhᵀ·h_prev and dW_ihᵀ += X_tᵀ·dGx into the
//             chunk's own sums (hot in cache; no [T, N, G·H] buffers), added up in chunk order at the end.
// Products: the AVX-512 kernels of gemm_avx512.h with the weights packed once per sequence (float on
// CPUs that have AVX-512), else OpenBLAS.
// The reset-before GRU splits each step around a second product (W_hn on r·h), forward and backward.
//
// Reserve layout (elements of T), per layer l, direction d, in that order:
//   hseq [T, N, H] this direction's outputs h_t;  cseq [T, N, H] (LSTM only);  save [T, N, S·H]
// followed by the outputs of layers 0..L-2, each [T, N, D·H] (the next layer's input).
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <type_traits>
#include <vector>

#include "fusedrnn/kernels/cell_math.h"
#include "fusedrnn/kernels/cpu/blas.h"
#include "fusedrnn/kernels/cpu/cpu_backend.h"
#include "fusedrnn/kernels/cpu/gemm_avx512.h"
#include "fusedrnn/kernels/cpu/rnn_pointwise.h"
#include "fusedrnn/kernels/cpu/simd.h"

namespace fusedrnn::cpu {
namespace {

struct Dims {
    int T, N, H, G, D, L, S;
    bool lstm;
    size_t per_dir() const {  // reserve elements for one layer-direction
        const size_t step = size_t(N) * H;
        return size_t(T) * step * (1 + (lstm ? 1 : 0) + S);
    }
};

template <class Cell>
Dims make_dims(const RnnSpec& spec, int T, int N) {
    return Dims{T, N, spec.hidden_size, Cell::kGates, spec.directions(), spec.num_layers, Cell::kSaved,
                Cell::kCellState};
}

// Views into the reserve for one layer-direction.
template <class T>
struct DirReserve {
    T* hseq;
    T* cseq;  // nullptr unless LSTM
    T* save;
};

template <class T>
DirReserve<T> dir_reserve(const Dims& d, T* reserve, int layer, int dir) {
    T* base = reserve + (size_t(layer) * d.D + dir) * d.per_dir();
    const size_t seq = size_t(d.T) * d.N * d.H;
    DirReserve<T> r;
    r.hseq = base;
    r.cseq = d.lstm ? base + seq : nullptr;
    r.save = base + seq * (d.lstm ? 2 : 1);
    return r;
}

template <class T>
T* layer_output(const Dims& d, T* reserve, int layer) {  // layer < L-1
    return reserve + size_t(d.L) * d.D * d.per_dir() + size_t(layer) * d.T * d.N * d.D * d.H;
}

size_t reserve_elems(const Dims& d) {
    return size_t(d.L) * d.D * d.per_dir() + size_t(d.L - 1) * d.T * d.N * d.D * d.H;
}

// ---- chunks, threads and blocks -----------------------------------------------------------------
// The batch rows are independent through the whole recurrence, so the batch is cut into contiguous
// chunks, and each chunk runs every time step on one OpenMP thread with no synchronisation; OpenBLAS runs
// single-threaded inside (BlasSingleThread). Within a chunk, each step goes through blocks of rows sized
// so a block's gate pre-activations stay in the L2 cache between the GEMM that makes them and the
// pointwise kernel that reads them.
//
// The chunks follow from the shape alone, never from the thread count; a thread with several takes them
// one after another. So every product has the same shape and every sum the same order on any number of
// threads, and the results are the same bit for bit (a run resumed on another core count goes on
// exactly): the backward sums each chunk's weight gradients apart and adds the chunks up in order, and
// the products' row counts do not move either (OpenBLAS can give a row other last bits in a product with
// another number of rows).

// Chunks of a batch of N rows: one per ~2^18 multiply-adds of a step's products (a chunk's share of a
// step should far outweigh waking a thread for it), at least kMinChunkRows rows each (fewer make the
// weight-gradient products too thin), at most kMaxChunks (the cores a batch is spread over) and at most
// what keeps the backward's per-chunk weight-gradient sums (acc_elems each) within kMaxChunkSums elements.
constexpr int kMinChunkRows = 16, kMaxChunks = 16;
constexpr double kMaxChunkSums = double(1 << 24);
int chunk_count(int N, int GH, int in_size, int H) {
    const double work = double(N) * GH * (in_size + H);
    const double acc_elems = double(GH) * (in_size + H + 2);
    const int by_work = int(std::min(work / double(1 << 18), 1e6));
    const int by_memory = int(std::min(kMaxChunkSums / acc_elems, 1e6));
    return std::max(1, std::min({N / kMinChunkRows, by_work, by_memory, kMaxChunks}));
}
// Chunks of `rows` rows (the last one what is left): a multiple of the AVX-512 kernels' 12-row register tile,
// so that few rows go through its slower partial tiles.
struct Chunks {
    int count, rows;
};
Chunks make_chunks(int N, int GH, int in_size, int H) {
    const int count = chunk_count(N, GH, in_size, H), even = (N + count - 1) / count;
    const int rows = std::min(N, (even + 11) / 12 * 12);
    return Chunks{(N + rows - 1) / rows, rows};
}
inline int chunk_begin(int N, const Chunks& ch, int c) { return std::min(N, c * ch.rows); }
// Threads for C chunks: one per chunk, at most OpenMP's limit.
inline int team_for(int C) { return std::max(1, std::min(C, omp_get_max_threads())); }

int block_rows(int GH) {
    constexpr int kBlockElems = 64 * 1024;  // 256 KiB of float per [rows, G·H] buffer (measured: 16K-1M within 10%)
    return std::max(8, (kBlockElems / GH) / 8 * 8);
}

// ---- products -------------------------------------------------------------------------------------
// A weight matrix used as the right operand B of C[M, N] (+)= A·B at every step of a sequence: packed
// once for the AVX-512 kernels (float on CPUs that have them, N ≥ 16), else handed to OpenBLAS as is.
template <class T>
class WeightOperand {
public:
    // B = Wᵀ for W [N, K] (transposed) or B = W for W [K, N]; row stride ldw.
    WeightOperand(simd::Isa isa, const T* W, int ldw, int K, int N, bool transposed)
        : W_(W), ldw_(ldw), N_(N), transposed_(transposed) {
        if constexpr (std::is_same_v<T, float>) {
            packed_ = isa == simd::Isa::Avx512 && N >= 16;
            if (packed_) {
                if (transposed) avx512::pack_transposed(pack_, W, ldw, K, N);
                else avx512::pack(pack_, W, ldw, K, N);
            }
        }
    }
    // C[M, N] = (accumulate ? C : 0) + A[M, K]·B[k0 : k0 + K, :], A row-major with stride lda.
    void mul(int M, int K, int k0, const T* A, int lda, T* C, int ldc, bool accumulate) const {
        if constexpr (std::is_same_v<T, float>) {
            if (packed_) return avx512::gemm_packed(M, N_, K, A, lda, 1, pack_, k0, C, ldc, accumulate);
        }
        const T beta = accumulate ? T(1) : T(0);
        if (transposed_) gemm(false, true, M, N_, K, T(1), A, lda, W_ + k0, ldw_, beta, C, ldc);
        else gemm(false, false, M, N_, K, T(1), A, lda, W_ + size_t(k0) * ldw_, ldw_, beta, C, ldc);
    }

private:
    const T* W_;
    int ldw_, N_;
    bool transposed_;
    bool packed_ = false;
    avx512::PackedB pack_;
};

// C[M, N] += A[K, M]ᵀ·B[K, N] (weight gradients over K batch rows), both row-major.
template <class T>
void add_at_b(simd::Isa isa, int M, int N, int K, const T* A, int lda, const T* B, int ldb, T* C, int ldc) {
    if constexpr (std::is_same_v<T, float>) {
        if (isa == simd::Isa::Avx512 && N >= 16) return avx512::gemm_direct(M, N, K, A, 1, lda, B, ldb, C, ldc, true);
    }
    gemm(true, false, M, N, K, T(1), A, lda, B, ldb, T(1), C, ldc);
}

// acc[c] += Σ_r m[r, c], m with stride ld.
template <class T>
void add_column_sums(T* acc, const T* m, int rows, int cols, int ld) {
    for (int r = 0; r < rows; ++r) {
        const T* row = m + size_t(r) * ld;
        for (int c = 0; c < cols; ++c) acc[c] += row[c];
    }
}

// Time index processed at step s of direction dir.
inline int time_at(int s, int T, int dir) { return dir == 0 ? s : T - 1 - s; }

template <class Cell, class T>
void forward_direction(const Dims& d, int layer, int dir, const T* in, int in_size, const T* w, const T* h0,
                       const T* c0, T* out, int out_ld, T* hn, T* cn, DirReserve<T> res, bool training,
                       const RnnSpec& spec) {
    const int T_ = d.T, N = d.N, H = d.H, GH = d.G * H, SH = Cell::kSaved * H;
    const RnnWeightOffsets o = rnn_weight_offsets(spec, layer, dir);
    const T* W_ih = w + o.w_ih;
    const T* W_hh = w + o.w_hh;
    const T* b_ih = w + o.b_ih;
    const T* b_hh = w + o.b_hh;
    const size_t step = size_t(N) * H;
    const simd::Isa isa = simd::cpu_isa();
    const Chunks ch = make_chunks(N, GH, in_size, H);
    const int C = ch.count, team = team_for(C), R = block_rows(GH);
    const bool rb = Cell::kResetBefore;

    // Per thread: gx, gh blocks; the reset-before's saved r, z, rh when not training; the running c of
    // its chunk when not training (updated in place). One zero row stands for absent initial states.
    const size_t per_thread = 2 * size_t(R) * GH + (rb && !training ? size_t(R) * SH : 0) +
                              (Cell::kCellState && !training ? size_t(ch.rows) * H : 0);
    std::vector<T> scratch(per_thread * team);
    const std::vector<T> zeros(std::max(GH, H), T(0));
    BlasSingleThread blas_guard(true);  // also with one thread: OpenBLAS's own threads change the last bits
    // Right operands of the step products: W_ihᵀ; W_hhᵀ (reset-before: its r, z rows, and W_hnᵀ apart).
    const WeightOperand<T> w_ih(isa, W_ih, in_size, in_size, GH, true);
    const WeightOperand<T> w_hh(isa, W_hh, H, H, rb ? 2 * H : GH, true);
    const WeightOperand<T> w_hn(isa, W_hh + (rb ? size_t(2) * H * H : 0), H, H, rb ? H : 0, true);

    // Chunk c on thread `thread`.
    auto run_chunk = [&](int c, int thread) {
        const int n0 = chunk_begin(N, ch, c), n1 = chunk_begin(N, ch, c + 1);
        T* gxb = scratch.data() + per_thread * thread;
        T* ghb = gxb + size_t(R) * GH;
        T* save_tmp = ghb + size_t(R) * GH;
        T* c_state = save_tmp + (rb && !training ? size_t(R) * SH : 0);
        if (Cell::kCellState && !training) {
            for (int n = n0; n < n1; ++n)
                for (int j = 0; j < H; ++j) c_state[size_t(n - n0) * H + j] = c0 ? c0[size_t(n) * H + j] : T(0);
        }
        // Row r0's h at step s (s < 0: the initial state) and its stride.
        auto h_at = [&](int s, int r0, int& ld) -> const T* {
            if (s < 0) {
                ld = h0 ? H : 0;
                return h0 ? h0 + size_t(r0) * H : zeros.data();
            }
            const int t = time_at(s, T_, dir);
            if (training) { ld = H; return res.hseq + size_t(t) * step + size_t(r0) * H; }
            ld = out_ld;
            return out + (size_t(t) * N + r0) * out_ld + size_t(dir) * H;
        };
        for (int s = 0; s < T_; ++s) {
            const int t = time_at(s, T_, dir);
            const bool has_prev = s > 0 || h0;  // else h_prev = 0 and the recurrent products vanish
            for (int r0 = n0; r0 < n1; r0 += R) {
                const int rows = std::min(R, n1 - r0);
                StepFwd<T> a;
                a.rows = rows; a.H = H;
                a.gx = gxb; a.ld_gx = GH;
                a.gh = has_prev ? ghb : zeros.data(); a.ld_gh = has_prev ? GH : 0;
                a.b_ih = b_ih; a.b_hh = b_hh;
                a.h_prev = h_at(s - 1, r0, a.ld_hp);
                T* y_rows = out + (size_t(t) * N + r0) * out_ld + size_t(dir) * H;
                if (training) {
                    a.h_out = res.hseq + size_t(t) * step + size_t(r0) * H; a.ld_ho = H;
                    a.h_out2 = y_rows; a.ld_ho2 = out_ld;
                } else {
                    a.h_out = y_rows; a.ld_ho = out_ld;
                }
                if constexpr (Cell::kCellState) {
                    if (training) {
                        a.c_out = res.cseq + size_t(t) * step + size_t(r0) * H;
                        if (s > 0) { a.c_prev = res.cseq + size_t(time_at(s - 1, T_, dir)) * step + size_t(r0) * H; a.ld_cp = H; }
                        else if (c0) { a.c_prev = c0 + size_t(r0) * H; a.ld_cp = H; }
                        else { a.c_prev = zeros.data(); a.ld_cp = 0; }
                    } else {
                        a.c_out = c_state + size_t(r0 - n0) * H;
                        a.c_prev = a.c_out; a.ld_cp = H;
                    }
                }
                if (training) { a.save = res.save + (size_t(t) * N + r0) * SH; a.ld_s = SH; }
                else if (rb) { a.save = save_tmp; a.ld_s = SH; }

                w_ih.mul(rows, in_size, 0, in + (size_t(t) * N + r0) * in_size, in_size, gxb, GH, false);
                if constexpr (Cell::kResetBefore) {
                    if (has_prev) w_hh.mul(rows, H, 0, a.h_prev, a.ld_hp, ghb, GH, false);
                    run_pointwise<FwdGatesRB<T>>(isa, a);
                    // The n rows of W_hh act on rh = r·h_prev (save slot 3), which is 0 when h_prev is.
                    if (has_prev) w_hn.mul(rows, H, 0, a.save + 3 * H, SH, ghb + 2 * H, GH, false);
                    run_pointwise<FwdOutputRB<T>>(isa, a);
                } else {
                    if (has_prev) w_hh.mul(rows, H, 0, a.h_prev, a.ld_hp, ghb, GH, false);
                    run_pointwise<FwdKernel<Cell, T>>(isa, a);
                }
            }
        }
        // Final states of this chunk.
        int ld = 0;
        const T* h_last = h_at(T_ - 1, n0, ld);
        if (hn)
            for (int n = n0; n < n1; ++n)
                std::memcpy(hn + size_t(n) * H, h_last + size_t(n - n0) * ld, sizeof(T) * H);
        if (Cell::kCellState && cn) {
            const T* c_last = training ? res.cseq + size_t(time_at(T_ - 1, T_, dir)) * step + size_t(n0) * H : c_state;
            std::memcpy(cn + size_t(n0) * H, c_last, sizeof(T) * H * (n1 - n0));
        }
    };
    // A team smaller than asked for (nested or dynamic OpenMP) leaves its threads more chunks each.
#pragma omp parallel num_threads(team)
    for (int c = omp_get_thread_num(); c < C; c += omp_get_num_threads()) run_chunk(c, omp_get_thread_num());
}

template <class Cell, class T>
void backward_direction(const Dims& d, int layer, int dir, const T* in, int in_size, const T* w, const T* h0,
                        const T* c0, const T* dy_layer, const T* dhn, const T* dcn, DirReserve<T> res, T* din,
                        bool din_accumulate, T* dh0, T* dc0, T* dw, const RnnSpec& spec) {
    const int T_ = d.T, N = d.N, H = d.H, GH = d.G * H, DH = d.D * H;
    const int SH = Cell::kSaved * H;
    const RnnWeightOffsets o = rnn_weight_offsets(spec, layer, dir);
    const T* W_ih = w + o.w_ih;
    const T* W_hh = w + o.w_hh;
    const size_t step = size_t(N) * H;
    const simd::Isa isa = simd::cpu_isa();
    const Chunks ch = make_chunks(N, GH, in_size, H);
    const int C = ch.count, team = team_for(C), R = block_rows(GH), chunk = ch.rows;
    constexpr bool shared = kGateGradsShared<Cell>;
    const bool rb = Cell::kResetBefore;

    // Per chunk: weight-gradient sums dW_ihᵀ [in, G·H] (transposed: its product then has G·H columns,
    // which suits the GEMM kernels when the input is narrow), dW_hh, db_ih, db_hh, added up after the loop
    // in chunk order. Per thread: its chunk's gate gradients of one step (dgh, and dgx where it differs);
    // the carried dh and dc; the reset-before's d_rh block.
    const size_t acc_size = size_t(GH) * (in_size + H + 2);
    std::vector<T> sums(acc_size * C, T(0));
    const size_t per_thread = size_t(chunk) * GH * (shared ? 1 : 2) + size_t(chunk) * H * 2 + (rb ? size_t(R) * H : 0);
    std::vector<T> scratch(per_thread * team);
    const std::vector<T> zeros(H, T(0));
    BlasSingleThread blas_guard(true);  // also with one thread: OpenBLAS's own threads change the last bits
    // Right operands: W_hh [G·H, H] for dh_prev = dGh·W_hh (the reset-before uses row ranges of it: r, z
    // rows for dh_prev, n rows for d_rh) and W_ih [G·H, in] for dx = dGx·W_ih.
    const WeightOperand<T> w_hh(isa, W_hh, H, GH, H, false);
    const WeightOperand<T> w_ih(isa, W_ih, in_size, GH, in_size, false);

    // Chunk c on thread `thread`.
    auto run_chunk = [&](int c, int thread) {
        const int n0 = chunk_begin(N, ch, c), n1 = chunk_begin(N, ch, c + 1), m = n1 - n0;
        T* dWihT = sums.data() + acc_size * c;
        T* dWhh = dWihT + size_t(GH) * in_size;
        T* dbih = dWhh + size_t(GH) * H;
        T* dbhh = dbih + GH;
        T* dgh = scratch.data() + per_thread * thread;
        T* dgx = shared ? dgh : dgh + size_t(chunk) * GH;
        T* dh = dgh + size_t(chunk) * GH * (shared ? 1 : 2);
        T* dc = dh + size_t(chunk) * H;
        T* d_rh = dc + size_t(chunk) * H;
        if (dhn) std::memcpy(dh, dhn + size_t(n0) * H, sizeof(T) * H * m);
        else std::fill(dh, dh + size_t(H) * m, T(0));
        if (Cell::kCellState && dcn) std::memcpy(dc, dcn + size_t(n0) * H, sizeof(T) * H * m);
        else std::fill(dc, dc + size_t(H) * m, T(0));

        for (int s = T_ - 1; s >= 0; --s) {
            const int t = time_at(s, T_, dir);
            const int tp = s > 0 ? time_at(s - 1, T_, dir) : -1;
            const bool has_prev = s > 0 || h0;
            // This chunk's h_prev and c_prev (stride 0: the zero row).
            const T* hp = tp >= 0 ? res.hseq + size_t(tp) * step + size_t(n0) * H
                          : h0    ? h0 + size_t(n0) * H
                                  : zeros.data();
            const int ld_hp = has_prev ? H : 0;
            const T* cp = nullptr;
            int ld_cp = 0;
            if constexpr (Cell::kCellState) {
                cp = tp >= 0 ? res.cseq + size_t(tp) * step + size_t(n0) * H : c0 ? c0 + size_t(n0) * H : zeros.data();
                ld_cp = tp >= 0 || c0 ? H : 0;
            }
            const T* save = res.save + (size_t(t) * N + n0) * SH;
            for (int r0 = 0; r0 < m; r0 += R) {
                const int rows = std::min(R, m - r0);
                StepBwd<T> a;
                a.rows = rows; a.H = H;
                if (dy_layer) { a.dy = dy_layer + (size_t(t) * N + n0 + r0) * DH + size_t(dir) * H; a.ld_dy = DH; }
                else { a.dy = zeros.data(); a.ld_dy = 0; }
                a.dh = dh + size_t(r0) * H;
                a.dc = dc + size_t(r0) * H;
                a.h_prev = hp + size_t(r0) * ld_hp; a.ld_hp = ld_hp;
                if constexpr (Cell::kCellState) { a.c_prev = cp + size_t(r0) * ld_cp; a.ld_cp = ld_cp; }
                a.out_t = (Cell::kCellState ? res.cseq : res.hseq) + size_t(t) * step + size_t(n0 + r0) * H;
                a.save = save + size_t(r0) * SH; a.ld_s = SH;
                a.dgh = dgh + size_t(r0) * GH; a.ld_g = GH;
                a.dgx = shared ? nullptr : dgx + size_t(r0) * GH;
                if constexpr (Cell::kResetBefore) {
                    run_pointwise<BwdOutputRB<T>>(isa, a);
                    w_hh.mul(rows, H, 2 * H, a.dgh + 2 * H, GH, d_rh, H, false);  // d_rh = dGh_n·W_hn
                    a.d_rh = d_rh;
                    run_pointwise<BwdGatesRB<T>>(isa, a);
                    // dh_prev = direct + dGh[r,z]·W_hh[r,z]
                    w_hh.mul(rows, 2 * H, 0, a.dgh, GH, a.dh, H, true);
                } else {
                    run_pointwise<BwdKernel<Cell, T>>(isa, a);
                    w_hh.mul(rows, GH, 0, a.dgh, GH, a.dh, H, true);
                }
            }
            // Weight gradients of this step over the chunk: dW_hh += dGhᵀ·h_prev, dW_ih += dGxᵀ·x_t.
            if (has_prev) {
                if constexpr (Cell::kResetBefore) {
                    add_at_b(isa, 2 * H, H, m, dgh, GH, hp, H, dWhh, H);
                    // The n rows act on rh = r·h_prev, kept in save slot 3.
                    add_at_b(isa, H, H, m, dgh + 2 * H, GH, save + 3 * H, SH, dWhh + size_t(2) * H * H, H);
                } else {
                    add_at_b(isa, GH, H, m, dgh, GH, hp, H, dWhh, H);
                }
            }
            const T* x_t = in + (size_t(t) * N + n0) * in_size;
            add_at_b(isa, in_size, GH, m, x_t, in_size, dgx, GH, dWihT, GH);
            add_column_sums(dbhh, dgh, m, GH, GH);
            if (!shared) add_column_sums(dbih, dgx, m, GH, GH);
            if (din) w_ih.mul(m, GH, 0, dgx, GH, din + (size_t(t) * N + n0) * in_size, in_size, din_accumulate);
        }
        if (dh0) std::memcpy(dh0 + size_t(n0) * H, dh, sizeof(T) * H * m);
        if (dc0 && Cell::kCellState) std::memcpy(dc0 + size_t(n0) * H, dc, sizeof(T) * H * m);
    };
#pragma omp parallel num_threads(team)
    for (int c = omp_get_thread_num(); c < C; c += omp_get_num_threads()) run_chunk(c, omp_get_thread_num());
    // The chunks' sums, added up in chunk order.
    for (int c = 0; c < C; ++c) {
        const T* acc = sums.data() + acc_size * c;
        const T* dWihT = acc;
        const T* dWhh = dWihT + size_t(GH) * in_size;
        const T* dbih = shared ? dWhh + size_t(GH) * H + GH : dWhh + size_t(GH) * H;
        const T* dbhh = dWhh + size_t(GH) * H + GH;
        for (int g = 0; g < GH; ++g)
            for (int i = 0; i < in_size; ++i) dw[o.w_ih + size_t(g) * in_size + i] += dWihT[size_t(i) * GH + g];
        for (size_t i = 0; i < size_t(GH) * H; ++i) dw[o.w_hh + i] += dWhh[i];
        for (int i = 0; i < GH; ++i) dw[o.b_ih + i] += dbih[i];
        for (int i = 0; i < GH; ++i) dw[o.b_hh + i] += dbhh[i];
    }
}

void check_common(const RnnSpec& spec, int T, int N) {
    spec.validate();
    FR_CHECK(T > 0, "rnn: sequence length T must be positive, got {}", T);
    FR_CHECK(N > 0, "rnn: batch size N must be positive, got {}", N);
}

}  // namespace

template <class T>
size_t CpuBackend<T>::rnn_reserve_size(const RnnSpec& spec, int steps, int batch) {
    check_common(spec, steps, batch);
    return cell::dispatch(spec.cell,
                          [&](auto tag) { return reserve_elems(make_dims<decltype(tag)>(spec, steps, batch)); });
}

template <class T>
void CpuBackend<T>::rnn_forward(const RnnSpec& spec, const RnnForwardArgs<T>& a) {
    check_common(spec, a.T, a.N);
    FR_CHECK(a.x && a.weights && a.y, "rnn_forward: x, weights and y are required");
    cell::dispatch(spec.cell, [&](auto tag) {
        using Cell = decltype(tag);
        const Dims d = make_dims<Cell>(spec, a.T, a.N);
        const bool training = a.reserve != nullptr;
        const size_t state = size_t(a.N) * d.H;
        std::vector<T> scratch_out;  // a non-top layer's output when not training
        std::vector<T> scratch_prev;
        const T* in = a.x;
        int in_size = spec.input_size;
        for (int l = 0; l < d.L; ++l) {
            T* out;
            if (l == d.L - 1) out = a.y;
            else if (training) out = layer_output(d, a.reserve, l);
            else { scratch_out.assign(size_t(d.T) * d.N * d.D * d.H, T(0)); out = scratch_out.data(); }
            for (int dir = 0; dir < d.D; ++dir) {
                const size_t idx = size_t(l) * d.D + dir;
                DirReserve<T> res = training ? dir_reserve(d, a.reserve, l, dir) : DirReserve<T>{nullptr, nullptr, nullptr};
                forward_direction<Cell>(d, l, dir, in, in_size, a.weights, a.h0 ? a.h0 + idx * state : nullptr,
                                        a.c0 ? a.c0 + idx * state : nullptr, out, d.D * d.H,
                                        a.hn ? a.hn + idx * state : nullptr, a.cn ? a.cn + idx * state : nullptr,
                                        res, training, spec);
            }
            if (!training && l < d.L - 1) { scratch_prev.swap(scratch_out); in = scratch_prev.data(); }
            else in = out;
            in_size = d.D * d.H;
        }
        if (a.cn && !Cell::kCellState) std::fill(a.cn, a.cn + size_t(d.L) * d.D * state, T(0));
    });
}

template <class T>
void CpuBackend<T>::rnn_backward(const RnnSpec& spec, const RnnBackwardArgs<T>& a) {
    check_common(spec, a.T, a.N);
    FR_CHECK(a.x && a.weights && a.reserve && a.dweights,
             "rnn_backward: x, weights, reserve (from a training forward) and dweights are required");
    cell::dispatch(spec.cell, [&](auto tag) {
        using Cell = decltype(tag);
        const Dims d = make_dims<Cell>(spec, a.T, a.N);
        const size_t state = size_t(a.N) * d.H;
        T* reserve = const_cast<T*>(a.reserve);  // read-only use; the layout helpers are shared with forward
        std::vector<T> dy_cur, dy_below;
        const T* dy_layer = a.dy;
        for (int l = d.L - 1; l >= 0; --l) {
            const T* in = l == 0 ? a.x : layer_output(d, reserve, l - 1);
            const int in_size = spec.layer_input_size(l);
            T* din = nullptr;
            if (l > 0) { dy_below.assign(size_t(d.T) * d.N * in_size, T(0)); din = dy_below.data(); }
            else din = a.dx;
            for (int dir = 0; dir < d.D; ++dir) {
                const size_t idx = size_t(l) * d.D + dir;
                backward_direction<Cell>(d, l, dir, in, in_size, a.weights, a.h0 ? a.h0 + idx * state : nullptr,
                                         a.c0 ? a.c0 + idx * state : nullptr, dy_layer,
                                         a.dhn ? a.dhn + idx * state : nullptr, a.dcn ? a.dcn + idx * state : nullptr,
                                         dir_reserve(d, reserve, l, dir), din, dir > 0 || l > 0,
                                         a.dh0 ? a.dh0 + idx * state : nullptr, a.dc0 ? a.dc0 + idx * state : nullptr,
                                         a.dweights, spec);
            }
            dy_cur.swap(dy_below);
            dy_layer = dy_cur.data();
        }
        if (a.dc0 && !Cell::kCellState) std::fill(a.dc0, a.dc0 + size_t(d.L) * d.D * state, T(0));
    });
}

// The class itself is instantiated in cpu_dense.cpp; these are the members defined here.
#define FR_INSTANTIATE_RNN(T)                                                          \
    template size_t CpuBackend<T>::rnn_reserve_size(const RnnSpec&, int, int);         \
    template void CpuBackend<T>::rnn_forward(const RnnSpec&, const RnnForwardArgs<T>&); \
    template void CpuBackend<T>::rnn_backward(const RnnSpec&, const RnnBackwardArgs<T>&);
FR_INSTANTIATE_RNN(float)
FR_INSTANTIATE_RNN(double)
#undef FR_INSTANTIATE_RNN

}  // namespace fusedrnn::cpu
