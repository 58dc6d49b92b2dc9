// fusedrnn — language-model steps and evaluation, for both modes (see models/language_model.h).
// Shape legend: K context, B windows per batch, T chunk steps, N streams, V vocabulary.
//
// Window mode trains "K tokens → next token": the model runs over K steps from a zero state and only
// the LAST step's logits meet the loss; the other K−1 steps' logit gradients are zero (the recurrent
// stack still carries the gradient back through them). Stream mode scores every step of every chunk
// (tbptt_chunk_tokens) with the state carried across chunks.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "fusedrnn/core/text/streams.h"
#include "fusedrnn/core/text/windows.h"
#include "fusedrnn/models/language_model.h"
#include "fusedrnn/models/optimizer.h"
#include "fusedrnn/models/tbptt.h"

namespace fusedrnn {

struct LmEval {
    double loss = 0;         // mean cross-entropy per predicted token (nats)
    double accuracy = 0;     // fraction of predictions whose argmax is the target
    size_t predictions = 0;  // how many targets were scored
    double perplexity() const { return std::exp(loss); }
};

// Throws naming the first id outside [0, vocab) and where it is (`what`: "the training text", ...). The
// training and evaluation loops check their token ids once on the host: a GPU backend checks them again on
// the device only as a backstop, reported at its next wait, after the step has run (cuda/gpu_backend.h).
void check_token_ids(const std::vector<int32_t>& ids, int vocab, const char* what);

// Device buffers a window step reuses from batch to batch (a training loop allocates nothing per step
// once the batch shape has been seen).
struct WindowBuffers {
    Tensor<int32_t> ids;                  // [K, B]
    Tensor<int32_t> targets;              // [B]
    Tensor<float> dlogits;                // [K·B, V]
    SequenceModel::State unused_final;    // where the final state goes (nothing reads it)
    std::vector<int32_t> host_ids, host_targets;
    // Gathers windows[indices[0..batch)] on the host and uploads them (without waiting for the device).
    void load(Backend<float>& be, const text::Windows& windows, const size_t* indices, size_t batch);
};

// The same for stream mode: one chunk of every stream.
struct StreamBuffers {
    Tensor<int32_t> ids;      // [T, N]
    Tensor<int32_t> targets;  // [T·N]
    Tensor<float> dlogits;    // [T·N, V]
    std::vector<int32_t> host_ids, host_targets;
    // Uploads chunk `chunk` of `batches` (without waiting for the device).
    void load(Backend<float>& be, const text::StreamBatches& batches, size_t chunk);
};

// One training step on the batch in `buf` (load() first): forward over K steps, cross-entropy on the
// last step's B rows, backward, clip (clip_norm > 0), optimizer step (optimizer may be nullptr:
// gradients are then left accumulated). Returns the batch's mean loss, hits and gradient norm.
ChunkResult lm_window_step(SequenceModel& model, Optimizer* optimizer, WindowBuffers& buf, double clip_norm);
// The same step queued without waiting for the device: its results are left in backend memory at
// results[StepSlot] (kStepSlots doubles; see models/device_scalars.h).
void queue_window_step(SequenceModel& model, Optimizer* optimizer, WindowBuffers& buf, double clip_norm,
                       double* results);

// Mean loss and accuracy over every window (batches of `batch`, inference mode). `stop` (optional) is polled
// before each batch: true → throws Interrupted.
// With `limit` > 0, at most that many windows, evenly spaced over them all.
LmEval evaluate_windows(SequenceModel& model, const text::Windows& windows, int batch,
                        const std::function<bool()>& stop = {}, size_t limit = 0);

// Mean loss and accuracy over the text cut into `streams` streams, read in chunks of `bptt` steps with
// the state carried across chunks (inference mode). Every stream starts from a zero state, so fewer
// streams give a slightly lower (more context) loss; streams = 1 scores the text as one sequence.
// `stop` as for evaluate_windows, polled before each chunk.
LmEval evaluate_stream(SequenceModel& model, const std::vector<int32_t>& tokens, int streams, int bptt,
                       const std::function<bool()>& stop = {});

// The held-out/perplexity evaluation for lm's mode: windows of lm.settings.context (batch `batch`)
// or a stream evaluation with `streams` streams and lm.settings.bptt steps per chunk.
LmEval evaluate_language_model(LanguageModel& lm, const std::vector<int32_t>& tokens, int batch, int streams);

}  // namespace fusedrnn
