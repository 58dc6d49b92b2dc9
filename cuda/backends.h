// fusedrnn — factories of the GPU backends (registered by cuda/register.cpp).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "fusedrnn/core/backend.h"
#include "fusedrnn/core/gradient_sum.h"

namespace fusedrnn::gpu {

// "cuda": the fused kernels (cuda/fused_backend.cpp). `recurrence` picks how the recurrence runs: "alternating"
// (per step a cuBLAS SGEMM and a fused pointwise kernel), "persistent" (one kernel for all T steps, rows per block
// chosen for the GPU) or "persistent:R" (R = 1, 2, 4, 8 or 16 batch rows per block); empty: the environment
// variable FUSEDRNN_CUDA_RECURRENCE, else "alternating" (kernels/cuda/rnn_recurrence.h, docs/gpu.md).
std::shared_ptr<Backend<float>> make_fused_backend(int device = 0, const std::string& recurrence = "");
// "cudnn": cuDNN 9's RNN API, the reference (cuda/cudnn_backend.cpp).
std::shared_ptr<Backend<float>> make_cudnn_backend(int device = 0);

// The data-parallel gradient sum over NCCL, one rank per GPU backend (cuda/nccl_gradient_sum.cpp; only in
// builds with NCCL, FUSEDRNN_WITH_NCCL). With `processes` (more than one), the ranks of every process form one
// communicator; every process must call this at the same point of the run.
std::unique_ptr<GradientSum> make_nccl_gradient_sum(const std::vector<Backend<float>*>& backends,
                                                    ProcessGroup* processes = nullptr);

}  // namespace fusedrnn::gpu
