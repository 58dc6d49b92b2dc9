// fusedrnn — the per-step scalars of an Adam update, computed once on the host by every backend in the same
// arithmetic, so the CPU loop and the GPU kernel apply the same numbers (kernels/cpu/cpu_dense.cpp,
// cuda/gpu_backend.cpp).
#pragma once

#include <cmath>

namespace fusedrnn {

template <class T>
struct AdamScalars {
    T step_size;     // lr / (1 − β1^t)
    T inv_sqrt_bc2;  // 1 / √(1 − β2^t)
    T decay;         // the weights' factor before the update: 1 − lr·wd when decoupled (AdamW), else 1
    T l2;            // the weight decay added to the gradient: wd when not decoupled (Adam's L2), else 0
};

// step is 1-based. The decay factor is rounded from double, as torch.optim.AdamW's p.mul_(1 - lr * wd) with
// Python floats.
template <class T>
AdamScalars<T> adam_scalars(T lr, T beta1, T beta2, long step, T weight_decay, bool decoupled) {
    const T bc1 = T(1) - T(std::pow(double(beta1), double(step)));
    const T bc2 = T(1) - T(std::pow(double(beta2), double(step)));
    AdamScalars<T> s;
    s.step_size = lr / bc1;
    s.inv_sqrt_bc2 = T(1) / std::sqrt(bc2);
    s.decay = decoupled ? T(1.0 - double(lr) * double(weight_decay)) : T(1);
    s.l2 = decoupled ? T(0) : weight_decay;
    return s;
}

}  // namespace fusedrnn
