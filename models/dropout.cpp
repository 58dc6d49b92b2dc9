#include "models/dropout.h"

#include <cmath>

#include "models/layers.h"

namespace fusedrnn {

void check_dropout_rate(double p, const char* what) {
    FR_CHECK(std::isfinite(p) && p >= 0.0 && p < 1.0,
             "{} must lie in [0, 1) (the probability of dropping a unit), got {}", what, p);
}

Tensor<float> Dropout::forward(Backend<float>& be, float p, const DropoutDraw& draw, const Tensor<float>& x) {
    FR_CHECK(x.rank() == 3, "dropout input must be [steps, batch, features], got {}", shape_str(x.shape()));
    DropoutArgs a;
    a.seed = draw.seed;
    a.step = draw.step;
    a.site = site_;
    a.p = p;
    a.outer = x.dim(0);
    a.rows = x.dim(1);
    a.width = x.dim(2);
    a.row_offset = draw.row_offset;
    a.rows_total = draw.rows_total > 0 ? draw.rows_total : a.rows;
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
