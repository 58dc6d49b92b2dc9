// Shared helpers for the test suites.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>
#include <unistd.h>

#include <gtest/gtest.h>

#include "fusedrnn/core/data/dataset.h"
#include "fusedrnn/core/error.h"

namespace fusedrnn::testing {

// An environment variable (FUSEDRNN_TF32, FUSEDRNN_CUDA_RECURRENCE, FUSEDRNN_PEER_TIMEOUT_S, ...) set for a
// scope; what was there before (or its absence) comes back at the end.
class ScopedEnv {
public:
    ScopedEnv(const char* name, const char* value) : name_(name) {
        if (const char* old = std::getenv(name)) old_ = old;
        ::setenv(name, value, 1);
    }
    ~ScopedEnv() {
        if (old_) ::setenv(name_.c_str(), old_->c_str(), 1);
        else ::unsetenv(name_.c_str());
    }
    ScopedEnv(const ScopedEnv&) = delete;
    ScopedEnv& operator=(const ScopedEnv&) = delete;

private:
    std::string name_;
    std::optional<std::string> old_;
};

// ‖a − b‖ / ‖b‖ (with ‖b‖ floored at 1e-30 so an all-zero reference still compares).
template <class A, class B>
double rel_error(const std::vector<A>& a, const std::vector<B>& b) {
    EXPECT_EQ(a.size(), b.size());
    double num = 0, den = 0;
    for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
        const double d = double(a[i]) - double(b[i]);
        num += d * d;
        den += double(b[i]) * double(b[i]);
    }
    return std::sqrt(num) / std::max(std::sqrt(den), 1e-30);
}

// Fresh random values in [lo, hi): seeded from the test name and a run counter (std::random_device)
// unless FUSEDRNN_TEST_SEED is set, in which case the run is reproducible. The seed is printed.
uint64_t test_seed();
template <class T>
std::vector<T> random_vector(size_t n, std::mt19937_64& rng, double lo = -1.0, double hi = 1.0) {
    std::uniform_real_distribution<double> dist(lo, hi);
    std::vector<T> v(n);
    for (auto& x : v) x = static_cast<T>(dist(rng));
    return v;
}

// Units that two ReLU runs of the same inputs put on opposite sides of the kink: an output positive in one and 0 in
// the other. Their pre-activation lies within rounding of 0, where the derivative is 1 in one run and 0 in the other,
// so the two runs' gradients differ by that unit's own size however exact both are. Comparisons of ReLU gradients
// draw such inputs again (at 500k units, about one draw in 50 has one).
template <class A, class B>
int relu_kink_flips(const std::vector<A>& a, const std::vector<B>& b) {
    int n = 0;
    for (size_t i = 0; i < a.size() && i < b.size(); ++i) n += (a[i] > A(0)) != (b[i] > B(0));
    return n;
}

// The message of the fusedrnn::Error that f throws (fails the test when it throws nothing).
template <class F>
std::string error_of(F&& f) {
    try {
        f();
    } catch (const ::fusedrnn::Error& e) {
        return e.what();
    }
    ADD_FAILURE() << "expected fusedrnn::Error";
    return {};
}

// The shared data folder ($FUSEDRNN_DATA, default ../shared/data beside the checkout), or "" when
// absent. Tests that need it call FUSEDRNN_REQUIRE_DATA(sub) and skip with a message otherwise.
std::string data_dir();
std::string source_dir();
// The names without extension of the files in `dir` ending in `extension`, sorted ({} when dir is absent).
std::vector<std::string> file_stems(const std::string& dir, const std::string& extension);
// The backends of this process other than "cpu" ({} without a GPU or without CUDA in the build).
std::vector<std::string> gpu_backend_names();
// A fresh empty temporary directory, removed at process exit.
std::string temp_dir();
// The whole file as bytes ("" when it cannot be read; tests compare or parse it next).
std::string read_file_bytes(const std::string& path);
// The message of the fusedrnn::Error that f throws, or "(no error)"; any other exception propagates and fails the test.
std::string error_of(const std::function<void()>& f);

// For resume tests, a trainer's stop_requested: false for the first n-1 polls, then true (a Ctrl-C) — or,
// with `crash`, a std::runtime_error (a kill, which saves nothing). n < 0: never stops.
inline std::function<bool()> stop_at_poll(int n, bool crash = false) {
    auto polls = std::make_shared<int>(0);
    return [polls, n, crash] {
        if (n < 0 || ++*polls < n) return false;
        if (crash) throw std::runtime_error("killed");
        return true;
    };
}

// Two runs' epoch records (types with to_json()) equal in everything but the timings.
template <class Record>
void expect_same_history(const std::vector<Record>& a, const std::vector<Record>& b) {
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) {
        auto ja = a[i].to_json(), jb = b[i].to_json();
        for (const char* timing : {"seconds", "windows_per_s", "tokens_per_s", "val_seconds"}) {
            ja.erase(timing);
            jb.erase(timing);
        }
        EXPECT_EQ(ja, jb) << "epoch " << i + 1;
    }
}

// Synthetic stations windowed for the forecasting tests: three years from 2021; 2021 trains, 2022 validates,
// 2023 tests; every variable a target.
data::WindowedDataset station_windows(int stations, int input_len, int horizon, int64_t stride, uint64_t seed = 3);

}  // namespace fusedrnn::testing

#define FUSEDRNN_REQUIRE_DATA(subdir)                                                                \
    do {                                                                                           \
        if (::fusedrnn::testing::data_dir().empty())                                               \
            GTEST_SKIP() << "shared data folder not found: set FUSEDRNN_DATA (default ../shared/data)"; \
        if (!std::ifstream(::fusedrnn::testing::data_dir() + "/" subdir "/README.md").good() &&   \
            !std::filesystem::exists(::fusedrnn::testing::data_dir() + "/" subdir))                 \
            GTEST_SKIP() << "shared data subfolder '" subdir "' not found under " << ::fusedrnn::testing::data_dir(); \
    } while (0)
