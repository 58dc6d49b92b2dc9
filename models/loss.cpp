#include "fusedrnn/models/loss.h"

#include "fusedrnn/core/error.h"
#include "fusedrnn/models/layers.h"

namespace fusedrnn {

double mse_loss(Backend<float>& backend, const Tensor<float>& pred, const Tensor<float>& target, Tensor<float>& grad) {
    FR_CHECK(!pred.empty() && !target.empty(), "mse_loss: the prediction {} and the target {} must both hold values",
             shape_str(pred.shape()), shape_str(target.shape()));
    FR_CHECK(pred.shape() == target.shape(), "mse_loss: the prediction is {} but the target is {}",
             shape_str(pred.shape()), shape_str(target.shape()));
    check_device(pred.device(), backend.device(), "mse_loss: the prediction");
    check_device(target.device(), backend.device(), "mse_loss: the target");
    ensure_shape(backend, grad, pred.shape());
    return backend.mse(pred.numel(), pred.data(), target.data(), grad.data(), 1.0f).loss;
}

}  // namespace fusedrnn
