// The GPU backends on a real GPU: the shared suites linked in — the recurrent stack, `cuda` vs `cudnn` vs `cpu`
// (gpu_rnn_suite.cpp: GpuRnnSmall.*, GpuRnnLarge.*), and the dense ops vs `cpu` (gpu_dense_suite.cpp:
// GpuDense.*) — on this process's `cuda` and `cudnn` backends, and here the tests that need the real device:
// registration and out-of-memory (GpuMemory.*). Skips (with a message) where no GPU is present.
//
// GpuRnnSmall.* and GpuDense.* are small enough for compute-sanitizer (scripts/gpu_check.sh runs memcheck and
// racecheck on them); GpuRnnLarge.* covers batch 1024 and hidden 512; GpuMemory.* has the expected-failure
// allocation test (excluded under the sanitizer, which reports the failed cudaMalloc).
#include <algorithm>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/backend.h"
#include "core/error.h"
#include "tests/gpu_suites.h"
#include "tests/gpu_test_buffers.h"

namespace fusedrnn {
namespace {

using namespace gpu_test;

#define FR_REQUIRE_GPU()                                                                                   \
    do {                                                                                                   \
        if (!::fusedrnn::gpu_available())                                                                  \
            GTEST_SKIP() << "no CUDA GPU in this process (no device/driver, or a build without "              \
                            "-DFUSEDRNN_CUDA=ON): the GPU tests run on the GPU machine via scripts/gpu_check.sh"; \
    } while (0)

// ---- memory and registration --------------------------------------------------------------------

TEST(GpuMemory, BackendsRegistered) {
    FR_REQUIRE_GPU();
    const auto names = available_backends();
    EXPECT_NE(std::find(names.begin(), names.end(), "cuda"), names.end());
    EXPECT_NE(std::find(names.begin(), names.end(), "cudnn"), names.end());
    EXPECT_EQ(make_backend("auto")->name(), "cuda");
    EXPECT_EQ(make_backend("cudnn")->device().type, DeviceType::CUDA);
}

TEST(GpuMemory, AbsurdAllocationThrows) {
    FR_REQUIRE_GPU();
    auto be = make_backend("cuda");
    try {
        be->allocate(size_t(1) << 52);  // 4 PiB
        FAIL() << "expected fusedrnn::OutOfDeviceMemory";
    } catch (const OutOfDeviceMemory& e) {
        EXPECT_NE(std::string(e.what()).find("out of GPU memory"), std::string::npos) << e.what();
    }
    // The backend (and the CUDA context) still work afterwards.
    std::vector<float> v(1000, 3.f);
    DevArray d = upload(*be, v);
    EXPECT_DOUBLE_EQ(be->sum_squares(v.size(), d.data()), 9000.0);
    EXPECT_THROW(make_backend("cuda")->empty({long(1) << 30, long(1) << 22}), Error);
}

}  // namespace

// The shared suites run on the real device's backends.
GpuUnderTest gpu_under_test() {
    if (!gpu_available()) return {};
    return GpuUnderTest{make_backend("cuda"), make_backend("cudnn"), false};
}

}  // namespace fusedrnn
