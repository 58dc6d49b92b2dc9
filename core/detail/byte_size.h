// fusedrnn (internal, not installed) — a byte count as a person reads it, for out-of-memory messages.
#pragma once

#include <cstddef>
#include <string>

namespace fusedrnn::detail {

// "512 B", "1.50 KiB" ... "1.00 TiB": binary units, two decimals.
std::string human_bytes(size_t bytes);

}  // namespace fusedrnn::detail
