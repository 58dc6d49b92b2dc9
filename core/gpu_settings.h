// The GPU backends' settings from the environment (FUSEDRNN_CUDA_RECURRENCE, FUSEDRNN_TF32, FUSEDRNN_CUDNN_ALGO),
// parsed here, without CUDA, so that one parser serves every build and `fusedrnn info` can check them (and say what is
// wrong with them) on a machine without a GPU, such as the login node a GPU job is prepared on. Each parser throws
// fusedrnn::Error naming the variable and the values it accepts.
#pragma once

#include <string>

namespace fusedrnn {

// How the `cuda` backend runs the recurrence (kernels/cuda/rnn_recurrence.h): "alternating" (the default: per step an
// SGEMM and a pointwise kernel), "persistent" (one kernel for all T steps, rows per block chosen for the GPU) or
// "persistent:R" (R rows per block: 1, 2, 4, 8 or 16). The reset-before GRU, and hidden sizes whose rows do not fit
// a block's shared memory, always run alternating.
struct RecurrenceStrategy {
    bool persistent = false;
    int rows = 0;  // 0: chosen per shape
    std::string str() const;  // as it is written: "alternating", "persistent", "persistent:8"
};

// `requested` when not empty, else FUSEDRNN_CUDA_RECURRENCE, else alternating.
RecurrenceStrategy parse_recurrence_strategy(const std::string& requested = "");

// FUSEDRNN_TF32 = 1 lets cuBLAS's GEMMs (and cuDNN's RNN) use TF32 tensor cores on GPUs that have them: faster
// products with 10-bit mantissas, so results within DESIGN.md's TF32 tolerance rather than fp32's. Unset, empty or 0:
// plain fp32 (the default, and what the benchmarks compare).
bool tf32_from_env();

// FUSEDRNN_CUDNN_ALGO: the `cudnn` backend's RNN algorithm (for benchmarking; standard by default).
enum class CudnnRnnAlgo { Standard, PersistStatic, PersistStaticSmallH, PersistDynamic };
CudnnRnnAlgo cudnn_algo_from_env();
const char* cudnn_algo_name(CudnnRnnAlgo algo);  // as FUSEDRNN_CUDNN_ALGO spells it

}  // namespace fusedrnn
