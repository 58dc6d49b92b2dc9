#include "fusedrnn/core/text/sampling.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "fusedrnn/core/error.h"

namespace fusedrnn::text {

void validate(const SamplingOptions& o) {
    FR_CHECK(std::isfinite(o.temperature) && o.temperature > 0.0,
             "sampling: temperature must be a finite number > 0, got {} (use greedy decoding for argmax)",
             o.temperature);
    FR_CHECK(!o.top_k || *o.top_k >= 1, "sampling: top-k must be >= 1, got {}", o.top_k.value_or(0));
    FR_CHECK(!o.top_p || (*o.top_p > 0.0 && *o.top_p <= 1.0),
             "sampling: top-p must be in (0, 1], got {} (1 keeps every token; for the most likely one: greedy)",
             o.top_p.value_or(0.0));
}

namespace {

void check_logits(const float* logits, size_t vocab) {
    FR_CHECK(vocab > 0, "sampling: empty logits (vocabulary size 0)");
    bool any = false;  // -inf forbids a token; every one forbidden leaves no distribution to draw from (QA: id 0)
    for (size_t i = 0; i < vocab; ++i) {
        FR_CHECK(!std::isnan(logits[i]) && logits[i] != INFINITY,
                 "sampling: logit {} is {} (the model produced non-finite values)", i, logits[i]);
        any = any || logits[i] != -INFINITY;
    }
    FR_CHECK(any, "sampling: all {} logits are -inf: every token is ruled out, so there is none to choose", vocab);
}

// Ids that may be drawn, ascending: all, or the k largest logits (ties → lower ids).
std::vector<int32_t> candidates(const float* logits, size_t vocab, std::optional<int> top_k_opt) {
    const int top_k = top_k_opt.value_or(0);
    std::vector<int32_t> ids(vocab);
    std::iota(ids.begin(), ids.end(), 0);
    if (top_k > 0 && size_t(top_k) < vocab) {
        auto higher = [logits](int32_t a, int32_t b) {
            return logits[a] != logits[b] ? logits[a] > logits[b] : a < b;
        };
        std::nth_element(ids.begin(), ids.begin() + top_k, ids.end(), higher);
        ids.resize(size_t(top_k));
        std::sort(ids.begin(), ids.end());  // a fixed order for the cumulative sum
    }
    return ids;
}

// Unnormalised probabilities exp((l - max) / T) over `ids`, in double. As T → 0 every term but the
// maximum underflows to 0, so sampling becomes argmax without a special case.
std::vector<double> weights(const float* logits, const std::vector<int32_t>& ids, double temperature) {
    double mx = -INFINITY;
    for (int32_t i : ids) mx = std::max(mx, double(logits[i]));
    std::vector<double> w(ids.size());
    if (mx == -INFINITY) {  // every candidate masked: treat them as equally likely
        std::fill(w.begin(), w.end(), 1.0);
        return w;
    }
    for (size_t j = 0; j < ids.size(); ++j) w[j] = std::exp((double(logits[ids[j]]) - mx) / temperature);
    return w;
}

// Nucleus: zeroes the weights outside the smallest set of largest ones (ties → lower ids, i.e. lower j, since
// `ids` ascend) that holds at least p of the total. A token is kept when those above it hold less than p, so the
// largest always is.
void keep_nucleus(std::vector<double>& w, double p) {
    std::vector<size_t> order(w.size());
    std::iota(order.begin(), order.end(), size_t(0));
    std::stable_sort(order.begin(), order.end(), [&w](size_t a, size_t b) { return w[a] > w[b]; });
    const double total = std::accumulate(w.begin(), w.end(), 0.0);
    double above = 0.0;
    for (const size_t j : order) {
        if (above >= p * total) w[j] = 0.0;
        else above += w[j];
    }
}

// The candidates and their unnormalised probabilities after top-k, temperature and top-p.
struct Weighted {
    std::vector<int32_t> ids;
    std::vector<double> w;
    double total = 0.0;
};

Weighted weighted_candidates(const float* logits, size_t vocab, const SamplingOptions& o) {
    Weighted c;
    c.ids = candidates(logits, vocab, o.top_k);
    c.w = weights(logits, c.ids, o.temperature);
    if (o.top_p && *o.top_p < 1.0) keep_nucleus(c.w, *o.top_p);
    c.total = std::accumulate(c.w.begin(), c.w.end(), 0.0);
    return c;
}

// A double in [0, 1) from the top 53 bits of one 64-bit draw: same on every platform.
double uniform01(std::mt19937_64& rng) { return double(rng() >> 11) * 0x1.0p-53; }

}  // namespace

int32_t argmax(const float* logits, size_t vocab) {
    check_logits(logits, vocab);
    size_t best = 0;
    for (size_t i = 1; i < vocab; ++i)
        if (logits[i] > logits[best]) best = i;
    return int32_t(best);
}

std::vector<double> sampling_distribution(const float* logits, size_t vocab, const SamplingOptions& options) {
    validate(options);
    check_logits(logits, vocab);
    std::vector<double> p(vocab, 0.0);
    if (options.greedy) {
        p[size_t(argmax(logits, vocab))] = 1.0;
        return p;
    }
    const Weighted c = weighted_candidates(logits, vocab, options);
    for (size_t j = 0; j < c.ids.size(); ++j) p[size_t(c.ids[j])] = c.w[j] / c.total;
    return p;
}

Sampler::Sampler(const SamplingOptions& options, uint64_t seed) : options_(options), rng_(seed) {
    validate(options_);
}

int32_t Sampler::next(const float* logits, size_t vocab) {
    check_logits(logits, vocab);
    if (options_.greedy) return argmax(logits, vocab);
    const Weighted c = weighted_candidates(logits, vocab, options_);
    const std::vector<int32_t>& ids = c.ids;
    const std::vector<double>& w = c.w;
    const double r = uniform01(rng_) * c.total;
    double acc = 0.0;
    for (size_t j = 0; j < ids.size(); ++j) {
        acc += w[j];
        if (r < acc && w[j] > 0.0) return ids[j];
    }
    // Rounding can leave r just above the final sum: take the last candidate with weight.
    for (size_t j = ids.size(); j-- > 0;)
        if (w[j] > 0.0) return ids[j];
    return ids.back();
}

}  // namespace fusedrnn::text
