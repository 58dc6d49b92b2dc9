#include "fusedrnn/core/dropout_args.h"

#include <cmath>

#include "fusedrnn/core/error.h"

namespace fusedrnn {

void check_dropout_args(const DropoutArgs& a) {
    FR_CHECK(std::isfinite(a.p) && a.p >= 0.0f && a.p < 1.0f, "dropout: the drop probability must lie in [0, 1), got {}",
             a.p);
    FR_CHECK(a.outer >= 0 && a.rows >= 0 && a.width >= 0, "dropout: negative size [{}, {}, {}]", a.outer, a.rows,
             a.width);
    FR_CHECK(a.row_offset >= 0 && a.row_offset + a.rows <= a.rows_total,
             "dropout: rows [{}, {}) lie outside the batch of {} rows", a.row_offset, a.row_offset + a.rows,
             a.rows_total);
}

}  // namespace fusedrnn
