// Run-time choice of the instruction set for the CPU backend's float pointwise kernels.
#include "kernels/cpu/simd.h"

#include <cstdlib>
#include <cstring>

namespace fusedrnn::cpu::simd {
namespace {

Isa detect() {
    Isa best = Isa::Generic;
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) best = Isa::Avx2;
    if (best == Isa::Avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl"))
        best = Isa::Avx512;
#endif
    if (const char* cap = std::getenv("FUSEDRNN_CPU_ISA")) {
        Isa want = best;
        if (std::strcmp(cap, "generic") == 0) want = Isa::Generic;
        else if (std::strcmp(cap, "avx2") == 0) want = Isa::Avx2;
        else if (std::strcmp(cap, "avx512") == 0) want = Isa::Avx512;
        if (int(want) < int(best)) best = want;
    }
    return best;
}

}  // namespace

Isa cpu_isa() {
    static const Isa isa = detect();
    return isa;
}

const char* isa_name(Isa isa) {
    switch (isa) {
        case Isa::Generic: return "generic";
        case Isa::Avx2: return "avx2";
        case Isa::Avx512: return "avx512";
    }
    return "generic";
}

}  // namespace fusedrnn::cpu::simd
