// fusedrnn — factories of the GPU backends (registered by cuda/register.cpp).
#pragma once

#include <memory>

#include "core/backend.h"

namespace fusedrnn::gpu {

// "cuda": the fused kernels (cuda/fused_backend.cpp).
std::shared_ptr<Backend<float>> make_fused_backend(int device = 0);
// "cudnn": cuDNN 9's RNN API, the reference (cuda/cudnn_backend.cpp).
std::shared_ptr<Backend<float>> make_cudnn_backend(int device = 0);

}  // namespace fusedrnn::gpu
