// Batch sampler and the reference window gather: permutations are bijections, batches are
// deterministic for (seed, epoch) and cover every window once per epoch, sequential batches keep
// order, and the gather follows the documented layout.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "fusedrnn/core/data/gather.h"
#include "fusedrnn/core/data/sampler.h"
#include "fusedrnn/core/error.h"
#include "fusedrnn/tests/test_support.h"

using fusedrnn::Error;
using namespace fusedrnn::data;
namespace ft = fusedrnn::testing;

TEST(DataSampler, PermutationIsABijection) {
    for (uint64_t n : {0ull, 1ull, 2ull, 3ull, 5ull, 64ull, 1000ull, 4097ull, 65536ull, 100003ull}) {
        const Permutation p(n, 12345 + n);
        std::vector<char> seen(size_t(n), 0);
        for (uint64_t i = 0; i < n; ++i) {
            const uint64_t j = p(i);
            ASSERT_LT(j, n);
            ASSERT_FALSE(seen[size_t(j)]) << "n " << n << " repeats " << j;
            seen[size_t(j)] = 1;
        }
    }
    EXPECT_THROW(Permutation(10, 1)(10), Error);
}

TEST(DataSampler, PermutationLooksShuffled) {
    const uint64_t n = 100000;
    const Permutation a(n, 1), b(n, 2);
    int64_t fixed = 0, same = 0, ascending = 0;
    for (uint64_t i = 0; i < n; ++i) {
        fixed += a(i) == i;
        same += a(i) == b(i);
        if (i > 0) ascending += a(i) > a(i - 1);
    }
    EXPECT_LT(fixed, 20);  // ~1 expected for a random permutation
    EXPECT_LT(same, 20);
    EXPECT_NEAR(double(ascending) / double(n), 0.5, 0.01);
    // Neighbouring indices land far apart (batches mix stations and times).
    double mean_gap = 0;
    for (uint64_t i = 1; i < 1000; ++i) mean_gap += std::fabs(double(a(i)) - double(a(i - 1)));
    EXPECT_GT(mean_gap / 999, n / 5.0);
}

TEST(DataSampler, ShuffledBatchesAreDeterministicAndCoverEachEpoch) {
    std::mt19937_64 rng(ft::test_seed());
    WindowStarts starts;  // increasing, with irregular gaps (many short runs)
    int64_t row = 0;
    for (int i = 0; i < 10007; ++i) starts.push_back(row += 1 + int64_t(rng() % 3));
    const BatchSampler a(starts, 64, BatchSampler::Order::Shuffled, 42, /*drop_last=*/false);
    const BatchSampler b(starts, 64, BatchSampler::Order::Shuffled, 42, false);
    EXPECT_EQ(a.batches_per_epoch(), (10007 + 63) / 64);
    std::vector<int64_t> x, y;
    for (int64_t epoch : {0, 1, 7}) {
        std::vector<int64_t> idx;
        for (int64_t bi = 0; bi < a.batches_per_epoch(); ++bi) {
            const int n = a.batch(epoch, bi, x);
            b.batch(epoch, bi, y);
            ASSERT_EQ(x, y);  // same seed, epoch and batch: same windows
            EXPECT_EQ(n, bi + 1 < a.batches_per_epoch() ? 64 : 10007 % 64);
            for (int j = 0; j < n; ++j) idx.push_back(a.index(epoch, bi * 64 + j));
        }
        std::sort(idx.begin(), idx.end());
        std::vector<int64_t> all(starts.size());
        std::iota(all.begin(), all.end(), 0);
        EXPECT_EQ(idx, all) << "every window exactly once in epoch " << epoch;
    }
    // Resuming: a fresh sampler asked directly for batch 100 of epoch 3 gives what a run would get.
    const BatchSampler resumed(starts, 64, BatchSampler::Order::Shuffled, 42, false);
    resumed.batch(3, 100, y);
    a.batch(3, 100, x);
    EXPECT_EQ(x, y);
    // Other epochs and seeds give other orders.
    a.batch(0, 0, x);
    a.batch(1, 0, y);
    EXPECT_NE(x, y);
    const BatchSampler c(starts, 64, BatchSampler::Order::Shuffled, 43, false);
    c.batch(0, 0, y);
    EXPECT_NE(x, y);
}

// index(epoch, i) is the position in `starts` of the window that batch() puts at place i of the epoch: batch b's
// j-th start is starts[index(epoch, b·B + j)] (mutation testing: index() keyed by another epoch than batch() passed,
// since no test compared the two).
TEST(DataSampler, IndexNamesTheWindowThatBatchGives) {
    WindowStarts starts;  // increasing, not the positions themselves: a start mistaken for a position shows
    for (int64_t i = 0; i < 1000; ++i) starts.push_back(100 + 3 * i + i % 2);
    std::vector<int64_t> out;
    for (const auto order : {BatchSampler::Order::Shuffled, BatchSampler::Order::Sequential}) {
        const BatchSampler s(starts, 32, order, 7, /*drop_last=*/false);
        for (int64_t epoch : {0, 1, 2, 9}) {
            for (int64_t b : {int64_t(0), int64_t(1), int64_t(17), s.batches_per_epoch() - 1}) {
                const int n = s.batch(epoch, b, out);
                ASSERT_EQ(n, b + 1 < s.batches_per_epoch() ? 32 : 1000 % 32);
                for (int j = 0; j < n; ++j)
                    ASSERT_EQ(out[size_t(j)], starts[size_t(s.index(epoch, b * 32 + j))])
                        << "epoch " << epoch << " batch " << b << " place " << j;
            }
        }
    }
}

TEST(DataSampler, DropLastAndSequential) {
    std::vector<int64_t> rows(103);
    std::iota(rows.begin(), rows.end(), 1000);
    const WindowStarts starts = WindowStarts::from_vector(rows);
    const BatchSampler train(starts, 10, BatchSampler::Order::Shuffled, 5);  // drops the partial batch
    EXPECT_EQ(train.batches_per_epoch(), 10);
    std::vector<int64_t> out;
    EXPECT_EQ(train.batch(0, 9, out), 10);
    EXPECT_THROW(train.batch(0, 10, out), Error);
    const BatchSampler eval(starts, 10, BatchSampler::Order::Sequential);  // keeps it
    EXPECT_EQ(eval.batches_per_epoch(), 11);
    EXPECT_EQ(eval.batch(0, 10, out), 3);
    EXPECT_EQ(out, (std::vector<int64_t>{1100, 1101, 1102}));
    eval.batch(5, 2, out);
    EXPECT_EQ(out.front(), 1020);
    EXPECT_EQ(out.back(), 1029);
    const WindowStarts none;
    const BatchSampler empty(none, 4, BatchSampler::Order::Shuffled, 1);
    EXPECT_EQ(empty.batches_per_epoch(), 0);
    EXPECT_THROW(BatchSampler(starts, 0, BatchSampler::Order::Sequential), Error);
}

TEST(DataGather, ReferenceFollowsTheLayout) {
    // series value encodes (row, column): series[r, f] = 100·r + f.
    const int F = 3, rows = 200;
    std::vector<double> series(size_t(rows * F));
    for (int r = 0; r < rows; ++r)
        for (int f = 0; f < F; ++f) series[size_t(r * F + f)] = 100.0 * r + f;
    const std::vector<int64_t> starts = {0, 17, 120};
    const std::vector<int32_t> targets = {2, 0};
    WindowSpec w{5, 2, 3, 4, 3};  // input rows s, s+2, .., s+8; targets s+12, s+15, s+18
    const int B = 3, K = 2;
    std::vector<double> x(size_t(w.input_len * B * F)), y(size_t(B * w.horizon * K));
    gather_windows_reference(series.data(), rows, F, starts.data(), B, w, targets.data(), K, x.data(), y.data());
    for (int b = 0; b < B; ++b) {
        for (int t = 0; t < w.input_len; ++t)
            for (int f = 0; f < F; ++f)
                EXPECT_EQ(x[size_t((t * B + b) * F + f)], 100.0 * double(starts[size_t(b)] + 2 * t) + f);
        for (int h = 0; h < w.horizon; ++h)
            for (int k = 0; k < K; ++k)
                EXPECT_EQ(y[size_t(b * w.horizon * K + h * K + k)],
                          100.0 * double(starts[size_t(b)] + 8 + 4 + 3 * h) + targets[size_t(k)]);
    }
    const std::vector<int64_t> bad = {190};
    EXPECT_THROW(gather_windows_reference(series.data(), rows, F, bad.data(), 1, w, targets.data(), K, x.data(),
                                          y.data()),
                 Error);
}
