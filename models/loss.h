// fusedrnn — losses on tensors: the shape-checked form of Backend::mse, for training loops of one's own.
#pragma once

#include "fusedrnn/core/backend.h"
#include "fusedrnn/core/tensor.h"

namespace fusedrnn {

// Mean squared error between `pred` and `target`, which must have one shape and live on `backend`'s device; writes
// d(loss)/d(pred) into `grad` (made of pred's shape when it is empty or of another shape) and returns the mean.
// Backend::mse takes raw pointers and a count, so a target of the wrong shape would be read past its end: this
// form names both shapes instead.
double mse_loss(Backend<float>& backend, const Tensor<float>& pred, const Tensor<float>& target, Tensor<float>& grad);

}  // namespace fusedrnn
