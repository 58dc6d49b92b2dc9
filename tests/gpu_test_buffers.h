// Device buffers for the GPU test suites (tests/test_gpu_backends.cpp, tests/gpu_dense_suite.cpp): uploads, and
// output arrays between sentinel guard zones that are checked when read back. Work on any Backend<float>, so the
// same suites run on a GPU and on the host emulation of the CUDA runtime (tests/cuda_emulation).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include <gtest/gtest.h>

#include "fusedrnn/core/backend.h"

namespace fusedrnn::gpu_test {

// Floats of guard zone on each side. A multiple of 64 floats (256 bytes), so the array keeps the 256-byte
// alignment of allocate() that every production buffer (and every buffer PyTorch gives cuDNN) has: cuDNN
// documents no alignment rule for its RNN reserve space and tensors, and a kernel that assumes one fails
// with "misaligned address", a sticky error that would poison the CUDA context for every later test.
// Overruns of up to kPad floats are caught whatever the pad's parity (the trailing zone starts right
// after the n floats).
inline constexpr size_t kPad = 64;
inline constexpr uint32_t kSentinelBits = 0x7fa5a5a5u;  // a NaN payload no kernel produces

inline float sentinel() {
    float f;
    std::memcpy(&f, &kSentinelBits, sizeof f);
    return f;
}

// A device array of n floats with kPad sentinel floats before and after it.
struct Guarded {
    std::shared_ptr<Storage> storage;
    size_t n = 0;
    float* data() const { return storage ? static_cast<float*>(storage->data()) + kPad : nullptr; }
};

inline Guarded make_guarded(Backend<float>& be, size_t n, const std::vector<float>* init = nullptr) {
    Guarded g;
    g.n = n;
    g.storage = be.allocate((n + 2 * kPad) * sizeof(float));
    std::vector<float> host(n + 2 * kPad, sentinel());
    if (init) {
        EXPECT_EQ(init->size(), n);
        std::copy(init->begin(), init->end(), host.begin() + kPad);
    } else {
        std::fill(host.begin() + kPad, host.begin() + kPad + n, 0.f);
    }
    be.copy_from_host(g.storage->data(), host.data(), host.size() * sizeof(float));
    return g;
}

// Reads the array back, checking the guard zones are untouched.
inline std::vector<float> read_guarded(Backend<float>& be, const Guarded& g, const char* what) {
    std::vector<float> host(g.n + 2 * kPad);
    be.copy_to_host(host.data(), g.storage->data(), host.size() * sizeof(float));
    size_t bad = 0;
    for (size_t i = 0; i < host.size(); ++i) {
        if (i >= kPad && i < kPad + g.n) continue;
        uint32_t bits;
        std::memcpy(&bits, &host[i], sizeof bits);
        if (bits != kSentinelBits) ++bad;
    }
    EXPECT_EQ(bad, 0u) << be.name() << ": " << bad << " guard floats around " << what << " were overwritten";
    return std::vector<float>(host.begin() + kPad, host.begin() + kPad + g.n);
}

// A plain device array (or nullptr for an empty host vector).
struct DevArray {
    std::shared_ptr<Storage> storage;
    float* data() const { return storage ? static_cast<float*>(storage->data()) : nullptr; }
};

inline DevArray upload(Backend<float>& be, const std::vector<float>& v) {
    DevArray d;
    if (v.empty()) return d;
    d.storage = be.allocate(v.size() * sizeof(float));
    be.copy_from_host(d.storage->data(), v.data(), v.size() * sizeof(float));
    return d;
}

template <class T>
inline std::shared_ptr<Storage> upload_raw(Backend<float>& be, const std::vector<T>& v) {
    auto s = be.allocate(std::max<size_t>(v.size(), 1) * sizeof(T));
    if (!v.empty()) be.copy_from_host(s->data(), v.data(), v.size() * sizeof(T));
    return s;
}

}  // namespace fusedrnn::gpu_test
