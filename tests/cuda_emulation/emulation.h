// Controls of the host emulation of the CUDA runtime (emulated_cuda.cpp).
#pragma once

namespace fusedrnn::emulation {

// The RNN step kernels' threads (n, j) run one after another, in increasing order, or in decreasing
// order when reversed: a kernel whose threads depend on each other within one launch gives different
// results in the two orders.
void set_thread_order_reversed(bool reversed);

}  // namespace fusedrnn::emulation
