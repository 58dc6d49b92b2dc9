// fusedrnn — long-stream batches for truncated backpropagation through time.
// Shape legend: L stream length, N parallel streams (the batch), T steps per chunk (the BPTT length).
//
// As in char-rnn and PyTorch's word_language_model (batchify + get_batch): the token stream is cut
// into N equal contiguous streams (the remainder, fewer than N tokens, is dropped) laid out
// time-major, data[t, n] = tokens[n*L + t]. Chunk c covers steps [c*T, c*T + T') with
// T' = min(T, L - 1 - c*T); its targets are the inputs shifted by one step. Column n of chunk c+1
// continues exactly where column n of chunk c stopped (its first input is chunk c's last target), so
// a trainer carries the hidden state of stream n from one chunk to the next (detached) and the model
// sees each stream as one long text.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace fusedrnn::text {

struct StreamChunk {
    int steps = 0;                 // T' (the last chunk may be shorter than T unless drop_last)
    int streams = 0;               // N
    std::vector<int32_t> inputs;   // [T', N] time-major
    std::vector<int32_t> targets;  // [T', N] time-major: targets[t, n] = inputs[t + 1, n] within the stream
};

class StreamBatches {
public:
    // Throws unless streams >= 1, bptt >= 1 and every stream gets at least 2 tokens (one step).
    // drop_last: omit a final chunk shorter than bptt (for fixed-shape kernels or graphs).
    StreamBatches(const std::vector<int32_t>& tokens, int streams, int bptt, bool drop_last = false);

    int streams() const { return streams_; }
    int bptt() const { return bptt_; }
    size_t stream_length() const { return length_; }  // L
    size_t num_chunks() const { return chunks_; }
    size_t dropped_tokens() const { return dropped_; }  // tail that did not fill all N streams
    // Predicted positions per epoch (sum of T' * N over the chunks).
    size_t num_targets() const;

    const std::vector<int32_t>& data() const { return data_; }  // [L, N] time-major

    int chunk_steps(size_t c) const;  // T' of chunk c
    StreamChunk chunk(size_t c) const;
    // Same, into caller buffers of at least chunk_steps(c) * N int32 each (no aliasing).
    void chunk_into(size_t c, int32_t* inputs, int32_t* targets) const;

private:
    int streams_ = 0;
    int bptt_ = 0;
    size_t length_ = 0;
    size_t chunks_ = 0;
    size_t dropped_ = 0;
    std::vector<int32_t> data_;
};

}  // namespace fusedrnn::text
