#include "fusedrnn/core/gpu_settings.h"

#include <cstdlib>

#include "fusedrnn/core/error.h"

namespace fusedrnn {

std::string RecurrenceStrategy::str() const {
    if (!persistent) return "alternating";
    return rows > 0 ? "persistent:" + std::to_string(rows) : "persistent";
}

RecurrenceStrategy parse_recurrence_strategy(const std::string& requested) {
    const char* env = std::getenv("FUSEDRNN_CUDA_RECURRENCE");
    const bool from_env = requested.empty() && env != nullptr;
    const std::string v = requested.empty() ? (env ? env : "") : requested;
    if (v.empty() || v == "alternating") return {};
    if (v == "persistent") return {true, 0};
    for (int R : {1, 2, 4, 8, 16})
        if (v == "persistent:" + std::to_string(R)) return {true, R};
    FR_FAIL("{}{}: expected alternating, persistent, or persistent:R with R = 1, 2, 4, 8 or 16 rows per block",
            from_env ? "FUSEDRNN_CUDA_RECURRENCE=" : "cuda backend recurrence ", v);
}

bool tf32_from_env() {
    const char* v = std::getenv("FUSEDRNN_TF32");
    if (v == nullptr || std::string(v).empty() || std::string(v) == "0") return false;
    FR_CHECK(std::string(v) == "1", "FUSEDRNN_TF32='{}': expected 1 (TF32 tensor cores for the matrix products) or 0 "
             "(plain fp32, the default)", v);
    return true;
}

namespace {
constexpr CudnnRnnAlgo kCudnnAlgos[] = {CudnnRnnAlgo::Standard, CudnnRnnAlgo::PersistStatic,
                                        CudnnRnnAlgo::PersistStaticSmallH, CudnnRnnAlgo::PersistDynamic};
}  // namespace

const char* cudnn_algo_name(CudnnRnnAlgo algo) {
    switch (algo) {
        case CudnnRnnAlgo::PersistStatic: return "persist_static";
        case CudnnRnnAlgo::PersistStaticSmallH: return "persist_static_small_h";
        case CudnnRnnAlgo::PersistDynamic: return "persist_dynamic";
        case CudnnRnnAlgo::Standard: break;
    }
    return "standard";
}

CudnnRnnAlgo cudnn_algo_from_env() {
    const char* env = std::getenv("FUSEDRNN_CUDNN_ALGO");
    const std::string v = env ? env : "";
    if (v.empty()) return CudnnRnnAlgo::Standard;
    for (CudnnRnnAlgo a : kCudnnAlgos)
        if (v == cudnn_algo_name(a)) return a;
    FR_FAIL("FUSEDRNN_CUDNN_ALGO='{}': expected standard, persist_static, persist_static_small_h or persist_dynamic",
            v);
}

}  // namespace fusedrnn
