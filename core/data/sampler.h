// fusedrnn::data — batches of window starts.
// Shuffled batches for training: batch b of epoch e holds starts[perm_e(b·B + j)], j < B, where perm_e
// is a pseudo-random permutation of [0, n) keyed by (seed, e). The permutation is computed per index
// (a Feistel network with cycle walking), so there is no O(n) shuffle per epoch and no n-sized
// buffer even for the ~400 M training windows of WEATHER-5K, any batch of any epoch can be produced
// directly (a resumed run continues with exactly the batches it would have had), and the order is
// the same on every platform and backend. Sequential batches (evaluation) take the starts in order.
#pragma once

#include <cstdint>
#include <vector>

#include "fusedrnn/core/data/window_starts.h"

namespace fusedrnn::data {

// A bijection of [0, n) chosen by `key`: a balanced Feistel network on the smallest even number of
// bits covering n, with cycle walking (re-applied while the result is >= n; at most ~4 rounds on
// average). n may be 0 or 1.
class Permutation {
public:
    Permutation(uint64_t n, uint64_t key);
    uint64_t operator()(uint64_t i) const;
    uint64_t size() const { return n_; }

private:
    uint64_t encrypt(uint64_t x) const;
    static constexpr int kRounds = 6;
    uint64_t n_;
    int half_bits_;
    uint64_t mask_;
    uint64_t keys_[kRounds];
};

// Stateless after construction: every method is const and safe to call from several threads.
class BatchSampler {
public:
    enum class Order { Shuffled, Sequential };

    // `starts` is referenced, not copied: it must outlive the sampler. drop_last: whether a final
    // partial batch is left out (default: yes for Shuffled, so every step has the same batch shape
    // and the left-out windows change every epoch; no for Sequential, so evaluation sees every window).
    BatchSampler(const WindowStarts& starts, int batch_size, Order order, uint64_t seed = 0);
    BatchSampler(const WindowStarts& starts, int batch_size, Order order, uint64_t seed, bool drop_last);
    BatchSampler(WindowStarts&&, int, Order, uint64_t = 0) = delete;  // would dangle
    BatchSampler(WindowStarts&&, int, Order, uint64_t, bool) = delete;

    int64_t num_windows() const { return int64_t(starts_->size()); }
    int batch_size() const { return batch_; }
    int64_t batches_per_epoch() const;
    // Writes batch `b` (0-based) of epoch `epoch` into out[0 .. n) and returns n (= batch_size, or
    // fewer for the final batch when drop_last is false). The epoch is ignored for Sequential.
    // Throws when b is outside [0, batches_per_epoch()).
    int batch(int64_t epoch, int64_t b, int64_t* out) const;
    int batch(int64_t epoch, int64_t b, std::vector<int64_t>& out) const;  // resizes out to n
    // Position in `starts` of the i-th window of an epoch.
    int64_t index(int64_t epoch, int64_t i) const;

private:
    const WindowStarts* starts_;
    int batch_;
    Order order_;
    uint64_t seed_;
    bool drop_last_;
};

}  // namespace fusedrnn::data
