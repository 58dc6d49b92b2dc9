// Run-time choice of the instruction set for the CPU backend's float pointwise kernels.
#include "fusedrnn/kernels/cpu/simd.h"

#include <cstdlib>
#include <cstring>

#include "fusedrnn/core/error.h"

namespace fusedrnn::cpu::simd {

Isa capped_isa(Isa best, const char* cap) {
    if (cap == nullptr || *cap == '\0') return best;
    Isa want = best;
    if (std::strcmp(cap, "generic") == 0) want = Isa::Generic;
    else if (std::strcmp(cap, "avx2") == 0) want = Isa::Avx2;
    else if (std::strcmp(cap, "avx512") == 0) want = Isa::Avx512;
    else
        FR_FAIL("FUSEDRNN_CPU_ISA='{}': expected generic, avx2 or avx512 (a cap on the instruction set of the CPU "
                "backend's float kernels; unset: the best this CPU has, {})", cap, isa_name(best));
    return int(want) < int(best) ? want : best;
}

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
    return capped_isa(best, std::getenv("FUSEDRNN_CPU_ISA"));
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
