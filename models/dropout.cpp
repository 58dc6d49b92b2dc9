#include "fusedrnn/models/dropout.h"

#include <cmath>

#include "fusedrnn/core/data/text.h"
#include "fusedrnn/models/layers.h"

namespace fusedrnn {

void check_dropout_rate(double p, const char* what) {
    FR_CHECK(std::isfinite(p) && p >= 0.0 && p < 1.0,
             "{} must lie in [0, 1) (the probability of dropping a unit), got {}", what, data::shortest_text(p));
}

Tensor<float> Dropout::forward(Backend<float>& be, float p, const DropoutDraw& draw, const Tensor<float>& x) {
    FR_CHECK(x.rank() == 3, "dropout input must be [steps, batch, features], got {}", shape_str(x.shape()));
    const long rows = x.dim(1);
    const DropoutArgs a{draw.seed,       draw.step, site_, p, x.dim(0), rows, x.dim(2), draw.row_offset,
                        draw.rows_total > 0 ? draw.rows_total : rows, locked_};
    ensure_shape(be, out_, x.shape());
    be.dropout(a, x.data(), out_.data());
    last_ = a;
    return out_;
}

void Dropout::backward(Backend<float>& be, const Tensor<float>& g) const {
    FR_CHECK(!out_.empty(), "Dropout::backward called before forward");
    check_shape(g.shape(), out_.shape(), "gradient of a dropout output");
    be.dropout(last_, g.data(), g.data());
}

}  // namespace fusedrnn
