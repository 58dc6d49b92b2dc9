// fusedrnn::data — small, fast, fully specified random number generators for the data pipeline.
// The standard library's distributions are implementation-defined (libstdc++ and libc++ give
// different numbers for the same seed), so synthetic data and batch order use these instead: the
// same seed gives the same stations and the same batches on every platform.
#pragma once

#include <cmath>
#include <cstdint>

namespace fusedrnn::data {

// SplitMix64 (Steele, Lea & Flood 2014): a strong 64-bit mixer; also used to derive stream seeds.
inline uint64_t splitmix64(uint64_t& state) {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
// A stateless hash of (a, b): independent streams for (seed, station) or (seed, epoch).
inline uint64_t mix64(uint64_t a, uint64_t b) {
    uint64_t s = a ^ (b * 0xD1B54A32D192ED03ull + 0x8CB92BA72F3D8DD7ull);
    splitmix64(s);
    return splitmix64(s);
}

// xoshiro256** (Blackman & Vigna 2018), seeded through SplitMix64.
class Rng {
public:
    explicit Rng(uint64_t seed) {
        for (auto& w : s_) w = splitmix64(seed);
    }
    uint64_t next() {
        const uint64_t result = rotl(s_[1] * 5, 7) * 9;
        const uint64_t t = s_[1] << 17;
        s_[2] ^= s_[0];
        s_[3] ^= s_[1];
        s_[1] ^= s_[2];
        s_[0] ^= s_[3];
        s_[2] ^= t;
        s_[3] = rotl(s_[3], 45);
        return result;
    }
    // Uniform in [0, 1) with 53 random bits.
    double uniform() { return double(next() >> 11) * 0x1.0p-53; }
    double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
    // Uniform integer in [0, n) (Lemire's multiply-shift; the bias for n << 2^64 is negligible).
    uint64_t below(uint64_t n) {
        __extension__ typedef unsigned __int128 u128;  // GCC/Clang; -Wpedantic-clean
        return uint64_t(u128(next()) * n >> 64);
    }
    // Standard normal (Marsaglia's polar method: no trigonometry; the second value of each pair is
    // kept for the next call).
    double normal() {
        if (has_spare_) {
            has_spare_ = false;
            return spare_;
        }
        double u, v, s;
        do {
            u = 2.0 * uniform() - 1.0;
            v = 2.0 * uniform() - 1.0;
            s = u * u + v * v;
        } while (s >= 1.0 || s == 0.0);
        const double m = std::sqrt(-2.0 * std::log(s) / s);
        spare_ = v * m;
        has_spare_ = true;
        return u * m;
    }
    // Exponential with the given mean.
    double exponential(double mean) {
        double u = uniform();
        while (u <= 0.0) u = uniform();
        return -mean * std::log(u);
    }

private:
    static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
    uint64_t s_[4];
    double spare_ = 0;
    bool has_spare_ = false;
};

}  // namespace fusedrnn::data
