#include "fusedrnn/core/text/streams.h"

#include <algorithm>
#include <cstring>

#include "fusedrnn/core/error.h"

namespace fusedrnn::text {

StreamBatches::StreamBatches(const std::vector<int32_t>& tokens, int streams, int bptt, bool drop_last)
    : streams_(streams), bptt_(bptt) {
    FR_CHECK(streams >= 1, "stream batches: number of streams (batch size) must be >= 1, got {}", streams);
    FR_CHECK(bptt >= 1, "stream batches: BPTT length must be >= 1, got {}", bptt);
    const size_t n = size_t(streams);
    length_ = tokens.size() / n;
    dropped_ = tokens.size() - length_ * n;
    FR_CHECK(length_ >= 2,
             "stream batches: {} {} split into {} {} give {} per stream; each needs at least 2 (lower --streams or "
             "use a longer text)",
             tokens.size(), tokens.size() == 1 ? "token" : "tokens", streams, streams == 1 ? "stream" : "streams",
             length_ == 1 ? "1 token" : fmt::format("{} tokens", length_));
    // Steps available for prediction: the last token of a stream is only ever a target.
    const size_t steps = length_ - 1;
    chunks_ = drop_last ? steps / size_t(bptt) : (steps + size_t(bptt) - 1) / size_t(bptt);
    FR_CHECK(chunks_ >= 1,
             "stream batches: streams of {} tokens are shorter than one BPTT chunk of {} steps + 1 (drop_last "
             "leaves nothing; lower --bptt or --streams)",
             length_, bptt);
    data_.resize(length_ * n);
    for (size_t s = 0; s < n; ++s)
        for (size_t t = 0; t < length_; ++t) data_[t * n + s] = tokens[s * length_ + t];
}

int StreamBatches::chunk_steps(size_t c) const {
    FR_CHECK(c < chunks_, "stream batches: chunk {} is outside [0, {})", c, chunks_);
    const size_t start = c * size_t(bptt_);
    return int(std::min(size_t(bptt_), length_ - 1 - start));
}

size_t StreamBatches::num_targets() const {
    size_t total = 0;
    for (size_t c = 0; c < chunks_; ++c) total += size_t(chunk_steps(c));
    return total * size_t(streams_);
}

void StreamBatches::chunk_into(size_t c, int32_t* inputs, int32_t* targets) const {
    const size_t steps = size_t(chunk_steps(c));
    const size_t n = size_t(streams_);
    // Time-major rows are contiguous, so a chunk is two contiguous slices of data_.
    const int32_t* begin = data_.data() + c * size_t(bptt_) * n;
    std::memcpy(inputs, begin, steps * n * sizeof(int32_t));
    std::memcpy(targets, begin + n, steps * n * sizeof(int32_t));
}

StreamChunk StreamBatches::chunk(size_t c) const {
    StreamChunk ch;
    ch.steps = chunk_steps(c);
    ch.streams = streams_;
    ch.inputs.resize(size_t(ch.steps) * size_t(streams_));
    ch.targets.resize(ch.inputs.size());
    chunk_into(c, ch.inputs.data(), ch.targets.data());
    return ch;
}

}  // namespace fusedrnn::text
