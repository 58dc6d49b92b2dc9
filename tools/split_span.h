// fusedrnn — why a fractional split (--split fraction:...) left a split without windows: the fractions cut the time
// span of all stations together, and data far from the rest (a stray station, a typo'd year) stretches it.
#pragma once

#include <string>

#include "fusedrnn/core/data/dataset.h"

namespace fusedrnn::tools {

// For a dataset split by fractions: the station whose data lie beyond every other's at either end of the span (both,
// when one lies at each), or else a few present rows far from all the others within a station, named with the way
// out, as a sentence to append to "no validation windows ..." (it starts with a space). "" for another split or when
// nothing stretches the span.
std::string span_stretcher(const data::WindowedDataset& ds);

}  // namespace fusedrnn::tools
