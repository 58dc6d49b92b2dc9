// fusedrnn — fixed-context training windows for language models ("3 words → next word").
// Shape legend: W windows, K context length, B batch.
//
// Every position p >= K of a token stream gives one window: inputs tokens[p-K .. p-1], target
// tokens[p]. The held-out part is the last fraction of the stream, split BEFORE windowing, so no
// held-out window sees a training token and no training window predicts a held-out one (as with
// char-rnn's and nanoGPT's separate train/val streams).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace fusedrnn::text {

// h = round(n * fraction): how many of n tokens the held-out part takes (the last ones). fraction in [0, 1); throws
// for anything else. The one definition of the split point: split_heldout cuts there, and a language model's
// vocabulary is counted on the tokens before it (models/lm_corpus.h).
size_t heldout_size(size_t tokens, double heldout_fraction);

struct HeldoutSplit {
    std::vector<int32_t> train;    // tokens[0, n - h)
    std::vector<int32_t> heldout;  // tokens[n - h, n), h = heldout_size(n, fraction)
};
// fraction in [0, 1). 0 gives an empty held-out part.
HeldoutSplit split_heldout(const std::vector<int32_t>& tokens, double heldout_fraction);

struct Windows {
    int context = 0;               // K
    size_t count = 0;              // W = tokens - K
    std::vector<int32_t> inputs;   // [W, K] row-major: window w's context, oldest token first
    std::vector<int32_t> targets;  // [W] the token that follows each context
};
// All windows of `tokens`; throws unless tokens.size() > context >= 1. `what` names the stream
// ("training text", "held-out text") in that error.
Windows make_windows(const std::vector<int32_t>& tokens, int context, const char* what = "text");

struct WindowDataset {
    Windows train;
    Windows heldout;  // count == 0 when heldout_fraction == 0
};
// split_heldout + make_windows on both parts. Throws, naming the numbers, when either part is too
// short for one window (lower the context or change the held-out fraction).
WindowDataset make_window_dataset(const std::vector<int32_t>& tokens, int context, double heldout_fraction);

// Gather a batch of windows in the engine's time-major layout: inputs_tm [K, B] (row t holds the t-th
// context token of every window in the batch), targets [B]. `indices` [B] index windows (throws when
// out of range). Outputs must not alias the window arrays.
void gather_windows(const Windows& windows, const size_t* indices, size_t batch, int32_t* inputs_tm,
                    int32_t* targets);

}  // namespace fusedrnn::text
