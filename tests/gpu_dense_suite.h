// The dense-op suite shared by two test executables (see gpu_dense_suite.cpp).
#pragma once

#include <memory>

#include "core/backend.h"

namespace fusedrnn {

// The GPU backend the suite tests, defined once by each executable that links the suite: test_gpu_backends gives
// the `cuda` backend when a GPU is present and nullptr otherwise (the suite then skips); test_cuda_host_emulation
// gives the same backend on the emulated CUDA runtime.
std::shared_ptr<Backend<float>> dense_suite_gpu_backend();

}  // namespace fusedrnn
