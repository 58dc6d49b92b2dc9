// The GPU suites shared by two test executables: the dense ops (gpu_dense_suite.cpp, GpuDense.*) and the
// recurrent stack (gpu_rnn_suite.cpp, GpuRnnSmall.* / GpuRnnLarge.*).
#pragma once

#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "fusedrnn/core/backend.h"

namespace fusedrnn {

// The GPU backends the suites test, defined once by each executable that links them: test_gpu_backends gives
// `cuda` and `cudnn` when a GPU is present and nullptrs otherwise (the suites then skip); test_cuda_host_emulation
// gives the `cuda` backend on the emulated CUDA runtime, no cuDNN, and emulated = true.
struct GpuUnderTest {
    std::shared_ptr<Backend<float>> cuda;
    std::shared_ptr<Backend<float>> cudnn;
    bool emulated = false;
};
GpuUnderTest gpu_under_test();

}  // namespace fusedrnn

#define FR_SKIP_WITHOUT_GPU(cuda_backend)                                                                   \
    do {                                                                                                    \
        if (!(cuda_backend))                                                                                \
            GTEST_SKIP() << "no CUDA GPU in this process (no device/driver, or a build without "               \
                            "-DFUSEDRNN_CUDA=ON): the GPU tests run on the GPU machine via scripts/gpu_check.sh"; \
    } while (0)

#define FR_SKIP_WITHOUT_CUDNN(cudnn_backend)                                                                \
    do {                                                                                                    \
        if (!(cudnn_backend)) GTEST_SKIP() << "cuDNN's device code runs only on a GPU (host emulation)";     \
    } while (0)
