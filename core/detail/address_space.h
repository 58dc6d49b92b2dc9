// fusedrnn (internal, not installed) — the process's address space under a limit (ulimit -v, RLIMIT_AS), which
// counts every mapping: the libraries', OpenBLAS's work buffers, the threads' stacks and malloc arenas.
#pragma once

#include <cstddef>

namespace fusedrnn::detail {

// The limit in bytes, or 0 when there is none (or it cannot be read).
size_t address_space_limit();

// What the process has mapped now (the first field of /proc/self/statm, in pages), in bytes; 0 when unknown.
size_t mapped_address_space();

}  // namespace fusedrnn::detail
