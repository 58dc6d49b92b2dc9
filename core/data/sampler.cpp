#include "fusedrnn/core/data/sampler.h"

#include <algorithm>

#include "fusedrnn/core/data/rng.h"
#include "fusedrnn/core/error.h"

namespace fusedrnn::data {

Permutation::Permutation(uint64_t n, uint64_t key) : n_(n) {
    int bits = 0;
    while (bits < 64 && (uint64_t(1) << bits) < n) ++bits;
    bits = std::max(2, bits + (bits & 1));  // even, so both halves have the same width
    half_bits_ = bits / 2;
    mask_ = (uint64_t(1) << half_bits_) - 1;
    uint64_t s = key;
    for (auto& k : keys_) k = splitmix64(s);
}

uint64_t Permutation::encrypt(uint64_t x) const {
    uint64_t left = x >> half_bits_, right = x & mask_;
    for (int r = 0; r < kRounds; ++r) {
        const uint64_t f = mix64(keys_[r], right) & mask_;
        const uint64_t next = left ^ f;
        left = right;
        right = next;
    }
    return (left << half_bits_) | right;
}

uint64_t Permutation::operator()(uint64_t i) const {
    FR_CHECK(i < n_, "permutation index {} outside [0, {})", i, n_);
    // The network permutes [0, 4^half_bits); walking the cycle until we land back inside [0, n)
    // restricts it to a permutation of [0, n). The domain is < 4n, so few steps are needed.
    uint64_t x = encrypt(i);
    while (x >= n_) x = encrypt(x);
    return x;
}

BatchSampler::BatchSampler(const WindowStarts& starts, int batch_size, Order order, uint64_t seed)
    : BatchSampler(starts, batch_size, order, seed, order == Order::Shuffled) {}

BatchSampler::BatchSampler(const WindowStarts& starts, int batch_size, Order order, uint64_t seed,
                           bool drop_last)
    : starts_(&starts), batch_(batch_size), order_(order), seed_(seed), drop_last_(drop_last) {
    FR_CHECK(batch_size >= 1, "batch size must be >= 1, got {}", batch_size);
}

int64_t BatchSampler::batches_per_epoch() const {
    const int64_t n = num_windows();
    return drop_last_ ? n / batch_ : (n + batch_ - 1) / batch_;
}

int64_t BatchSampler::index(int64_t epoch, int64_t i) const {
    FR_CHECK(i >= 0 && i < num_windows(), "window index {} outside [0, {})", i, num_windows());
    if (order_ == Order::Sequential) return i;
    FR_CHECK(epoch >= 0, "epoch must be >= 0, got {}", epoch);
    // Building the permutation costs six SplitMix64 steps: cheaper than caching it would be worth.
    return int64_t(Permutation(uint64_t(num_windows()), mix64(seed_, uint64_t(epoch)))(uint64_t(i)));
}

int BatchSampler::batch(int64_t epoch, int64_t b, int64_t* out) const {
    FR_CHECK(b >= 0 && b < batches_per_epoch(), "batch {} outside [0, {}) ({} windows, batch size {})", b,
             batches_per_epoch(), num_windows(), batch_);
    const int64_t first = b * batch_;
    const int n = int(std::min<int64_t>(batch_, num_windows() - first));
    const WindowStarts& s = *starts_;
    if (order_ == Order::Sequential) {
        s.copy_to(size_t(first), size_t(n), out);
        return n;
    }
    FR_CHECK(epoch >= 0, "epoch must be >= 0, got {}", epoch);
    const Permutation perm(uint64_t(num_windows()), mix64(seed_, uint64_t(epoch)));
    for (int j = 0; j < n; ++j) out[j] = s[size_t(perm(uint64_t(first + j)))];
    return n;
}

int BatchSampler::batch(int64_t epoch, int64_t b, std::vector<int64_t>& out) const {
    out.resize(size_t(batch_));
    const int n = batch(epoch, b, out.data());
    out.resize(size_t(n));
    return n;
}

}  // namespace fusedrnn::data
