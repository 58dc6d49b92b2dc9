// fusedrnn (internal, not installed) — what both trainers advise when training diverges (NaN/Inf).
#pragma once

#include <string>

#include <fmt/format.h>

namespace fusedrnn::detail {

// "lower --lr or set --clip", or, with clipping already on, the clip to lower beside the rate (a run diverging with
// --clip 1 was told to "set --clip").
inline std::string divergence_advice(double clip) {
    return clip > 0 ? fmt::format("lower --lr, or --clip (now {:g})", clip) : std::string("lower --lr or set --clip");
}

}  // namespace fusedrnn::detail
