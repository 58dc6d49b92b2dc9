// fusedrnn — choosing the next token from a model's logits on the host (generation).
// Shape legend: V vocabulary size.
//
// greedy:      argmax (ties → lowest id); no randomness.
// temperature: p ∝ exp(logit / temperature); < 1 sharpens, > 1 flattens, → 0 tends to greedy.
// top-k:       only the k highest logits (ties at the boundary → lower ids) keep probability.
// top-p:       nucleus sampling (Holtzman et al. 2019): only the smallest set of most likely tokens whose
//              probability reaches p keeps it (a token is kept when the tokens above it hold less than p).
// They combine in the order of Hugging Face's generate(): softmax at the temperature over the top-k, then the
// nucleus of that distribution, renormalized. The most likely token is always kept.
// Determinism: the same seed, options and logits give the same tokens on every platform — the uniform draw is
// made from std::mt19937_64's raw output (whose sequence the C++ standard fixes), not from
// std::uniform_real_distribution or std::discrete_distribution, whose algorithms differ between standard libraries.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <random>
#include <vector>

namespace fusedrnn::text {

struct SamplingOptions {
    bool greedy = false;
    double temperature = 1.0;  // > 0 and finite
    std::optional<int> top_k;     // unset = all tokens; otherwise >= 1 (clamped to V)
    std::optional<double> top_p;  // unset = no nucleus; otherwise in (0, 1] (1 keeps every token)
};

// Throws fusedrnn::Error naming the bad option (temperature <= 0 or not finite, top_k < 1, top_p outside (0, 1]).
void validate(const SamplingOptions& options);

// Index of the largest logit (ties → lowest index). Throws for V == 0, a NaN or +inf logit, or every logit -inf.
int32_t argmax(const float* logits, size_t vocab);

// The distribution sample() draws from, as probabilities summing to 1 (greedy: one-hot). For tests
// and for showing "top candidates" in a tool.
std::vector<double> sampling_distribution(const float* logits, size_t vocab, const SamplingOptions& options);

class Sampler {
public:
    Sampler(const SamplingOptions& options, uint64_t seed);  // validates options
    // Next token id for logits [V]. Throws for V == 0, NaN / +inf logits, or every logit -inf (a -inf rules a
    // token out).
    int32_t next(const float* logits, size_t vocab);
    int32_t next(const std::vector<float>& logits) { return next(logits.data(), logits.size()); }
    const SamplingOptions& options() const { return options_; }

private:
    SamplingOptions options_;
    std::mt19937_64 rng_;
};

}  // namespace fusedrnn::text
