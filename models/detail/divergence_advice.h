// fusedrnn (internal, not installed) — what both trainers advise when training diverges (NaN/Inf).
#pragma once

#include <string>

#include <fmt/format.h>

namespace fusedrnn::detail {

// "lower --lr or set --clip", or, with clipping already on, the clip to lower beside the rate (a run diverging with
// --clip 1 was told to "set --clip").
// A resumed run keeps the learning rate of the run it continues (the forecaster's schedule goes on; the language
// model's refuses another --lr), so the advice is for a new run. `unfinished_saved`: the run stops with an unfinished
// last.safetensors in --out, which refuses a new run there without --overwrite, and whose --resume meets the same
// divergence (QA: the refusal's "add --resume" led straight back to the NaN).
inline std::string divergence_advice(double clip, bool resumed = false, bool unfinished_saved = false) {
    std::string advice =
        clip > 0 ? fmt::format("lower --lr, or --clip (now {:g})", clip) : std::string("lower --lr or set --clip");
    if (resumed) advice += " in a new run (--resume keeps the learning rate of the run it continues)";
    if (resumed || unfinished_saved)
        advice += resumed ? ", started with --overwrite" : " and start over with --overwrite (--resume would go on at "
                                                           "this learning rate)";
    return advice;
}

}  // namespace fusedrnn::detail
