#include "fusedrnn/core/text/windows.h"

#include <algorithm>
#include <cmath>

#include "fusedrnn/core/data/text.h"
#include "fusedrnn/core/error.h"

namespace fusedrnn::text {

size_t heldout_size(size_t tokens, double heldout_fraction) {
    FR_CHECK(std::isfinite(heldout_fraction) && heldout_fraction >= 0.0 && heldout_fraction < 1.0,
             "held-out fraction must be in [0, 1), got {}", heldout_fraction);
    return size_t(std::llround(double(tokens) * heldout_fraction));
}

HeldoutSplit split_heldout(const std::vector<int32_t>& tokens, double heldout_fraction) {
    const size_t h = heldout_size(tokens.size(), heldout_fraction);
    HeldoutSplit s;
    s.train.assign(tokens.begin(), tokens.end() - std::ptrdiff_t(h));
    s.heldout.assign(tokens.end() - std::ptrdiff_t(h), tokens.end());
    return s;
}

Windows make_windows(const std::vector<int32_t>& tokens, int context, const char* what) {
    FR_CHECK(context >= 1, "context length must be >= 1, got {}", context);
    const size_t k = size_t(context);
    FR_CHECK(tokens.size() > k, "{} has {}: too few for one window of {} + 1 target", what,
             data::counted(tokens.size(), "token", "tokens"), data::counted(k, "context token", "context tokens"));
    Windows w;
    w.context = context;
    w.count = tokens.size() - k;
    // [W, K] materialised: the small-context setting this serves (K of a few words) costs K ints per
    // token; long contexts belong to the stream batcher (core/text/streams.h) instead.
    FR_CHECK(w.count <= size_t(1) << 31 && w.count * k <= size_t(1) << 33,
             "{}: {} windows of {} tokens are too many to materialise; use stream (truncated BPTT) batches",
             what, w.count, context);
    w.inputs.resize(w.count * k);
    w.targets.resize(w.count);
    for (size_t i = 0; i < w.count; ++i) {
        for (size_t t = 0; t < k; ++t) w.inputs[i * k + t] = tokens[i + t];
        w.targets[i] = tokens[i + k];
    }
    return w;
}

WindowDataset make_window_dataset(const std::vector<int32_t>& tokens, int context, double heldout_fraction) {
    HeldoutSplit s = split_heldout(tokens, heldout_fraction);
    FR_CHECK(heldout_fraction == 0.0 || s.heldout.size() > size_t(std::max(context, 0)),
             "the held-out {:g}% of the text is {}, too few for one window of {} + 1 target; raise the held-out "
             "fraction, lower the context, or hold out nothing", heldout_fraction * 100.0,
             data::counted(s.heldout.size(), "token", "tokens"),
             data::counted(size_t(std::max(context, 0)), "context token", "context tokens"));
    WindowDataset d;
    d.train = make_windows(s.train, context, "the training part of the text");
    if (heldout_fraction > 0.0)
        d.heldout = make_windows(s.heldout, context, "the held-out part of the text");
    else
        d.heldout.context = context;  // empty, but with the same shape legend
    return d;
}

void gather_windows(const Windows& windows, const size_t* indices, size_t batch, int32_t* inputs_tm,
                    int32_t* targets) {
    const size_t k = size_t(windows.context);
    for (size_t b = 0; b < batch; ++b) {
        const size_t w = indices[b];
        FR_CHECK(w < windows.count, "gather_windows: window index {} (batch slot {}) is outside [0, {})", w, b,
                 windows.count);
        for (size_t t = 0; t < k; ++t) inputs_tm[t * batch + b] = windows.inputs[w * k + t];
        targets[b] = windows.targets[w];
    }
}

}  // namespace fusedrnn::text
