// OpenBLAS's work buffers under an address-space limit (ulimit -v): mapped when the CPU backend is made, or refused
// with the limit named, instead of OpenBLAS spinning at the first product.
#pragma once

namespace fusedrnn::cpu {

// OpenBLAS (0.3.x, pthreads) maps a work buffer for each thread calling it, on first use, and when that mmap fails
// it retries for ever, at full CPU and without a word (QA: `ulimit -v 1200000; fusedrnn train` hung at its first
// step; a Ctrl-C's "after this step" never came). Under a finite RLIMIT_AS, the first time a CPU backend is made
// there, this checks that the buffers for the OpenMP team fit, then maps them now, a buffer per thread held at once
// through OpenBLAS's pool, before data and weights take the room (later allocations then fail in allocate_host, with
// the flags to change). Throws AddressSpaceTooSmall naming the limit when they do not fit. Without a limit it does
// nothing: an mmap does not fail there. Data-parallel CPU ranks run a team each: under a limit their products may
// still need buffers beyond these.
void reserve_blas_work_buffers();

}  // namespace fusedrnn::cpu
