// fusedrnn — dropout in the models: one Dropout per place it is applied, drawing its masks from a DropoutDraw.
//
// Where the models apply it (p = the model's dropout rate; nothing happens at p = 0 or outside training):
//   RecurrentStack  between stacked layers, on every layer's output but the last (torch.nn.LSTM's `dropout`);
//   SequenceModel   also on the embedding's output and on the last layer's output before the head (the
//                   language models of PyTorch's word_language_model example and of Zaremba et al. 2014).
// Masks are drawn by the backend from (seed, step, site, element) alone (core/dropout_args.h): no mask is stored,
// the backward redraws it, and a resumed run or a data-parallel rank draws what an uninterrupted single run draws.
#pragma once

#include <cstdint>

#include "fusedrnn/core/backend.h"

namespace fusedrnn {

// Which masks a model's next training forward draws. A trainer sets it before every step (the step it is at, the
// rows of the batch the model holds); left alone, `step` advances by one after every training forward.
struct DropoutDraw {
    uint64_t seed = 0;
    uint64_t step = 0;
    long row_offset = 0;  // the model's first row within the step's whole batch (data parallelism)
    long rows_total = 0;  // rows of the step's whole batch; 0 = the forward's own batch
};

// Throws Error unless 0 <= p < 1 (`what` names the setting in the message).
void check_dropout_rate(double p, const char* what);

class Dropout {
public:
    Dropout() = default;
    // locked: one mask for all of x's outer index (the time steps), as variational dropout.
    explicit Dropout(uint32_t site, bool locked = false) : site_(site), locked_(locked) {}

    // x [outer, rows, width] (rows = batch rows) → x with the mask applied, in a buffer kept between calls.
    Tensor<float> forward(Backend<float>& be, float p, const DropoutDraw& draw, const Tensor<float>& x);
    // g (the gradient of the last forward's output, same shape) ← the same mask applied, in place.
    void backward(Backend<float>& be, const Tensor<float>& g) const;

private:
    uint32_t site_ = 0;
    bool locked_ = false;
    DropoutArgs last_;
    Tensor<float> out_;
};

}  // namespace fusedrnn
