// fusedrnn (internal, not installed) — a fast 64-bit checksum for finding damaged or changed data (checkpoint
// tensors and metadata, a data set's values). Not cryptographic: it finds damage and edits, not forgery. Its values
// are stored in checkpoints: changing the function makes every stored one read as damaged.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include <fmt/format.h>

namespace fusedrnn {

// Eight bytes per step through a multiply by an odd constant: each step is a bijection of the state, so any one
// changed word always changes the result. Several GB/s, so even a WEATHER-5K-sized data set takes seconds.
class Checksum {
public:
    void add(const void* data, size_t n) {
        const auto* p = static_cast<const unsigned char*>(data);
        size_t i = 0;
        for (; i + 8 <= n; i += 8) {
            uint64_t w;
            std::memcpy(&w, p + i, 8);
            h_ = (h_ ^ w) * 0x9e3779b97f4a7c15ull;
        }
        for (; i < n; ++i) h_ = (h_ ^ p[i]) * 0x100000001b3ull;
        h_ = (h_ ^ uint64_t(n)) * 0x9e3779b97f4a7c15ull;  // lengths: "ab"+"c" is not "a"+"bc"
    }
    void add(const std::string& s) { add(s.data(), s.size()); }
    std::string hex() const {
        uint64_t h = h_;
        h ^= h >> 33;  // spread the last word's bits over the whole value
        h *= 0xff51afd7ed558ccdull;
        h ^= h >> 33;
        return fmt::format("{:016x}", h);
    }

private:
    uint64_t h_ = 0xcbf29ce484222325ull;
};

}  // namespace fusedrnn
