// fusedrnn::data — values absurdly far from the bulk of their variable's training data: a 3e38 typed into a CSV, a
// pressure written without its decimal point (10132 hPa). One such value sets the variable's mean and std, and with
// them every standardized value, yet it passes every reader's checks when the variable has no valid range (a custom
// layout's columns have none by default). NormStats::compute warns about them.
//
// The yardstick must not be moved by the values it looks for, so it is robust: the quartiles of the training values
// (of an evenly spread sample of at most kFarValuesSample of them per variable), and a value is far when it lies more
// than kFarValuesReach interquartile ranges beyond them. That is generous: real extremes (a 40 m/s gust where the
// quartiles are 1.5 and 4.6 m/s is 12 IQRs out) stay well inside it, and none of the shared real data sets trips it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "fusedrnn/core/data/norm_stats.h"
#include "fusedrnn/core/data/splits.h"
#include "fusedrnn/core/data/station_series.h"

namespace fusedrnn::data {

inline constexpr double kFarValuesReach = 100;        // interquartile ranges beyond the quartiles
inline constexpr int64_t kFarValuesSample = 1 << 20;  // training values per variable the quartiles come from

// The far values of one variable.
struct FarValues {
    int var = 0;                 // column in the set
    double bulk_low = 0, bulk_high = 0;  // the yardstick: the training values' quartiles (see find_far_values)
    double low = 0, high = 0;    // values outside [low, high] are far
    int64_t count = 0;           // training values outside them
    float farthest = 0;          // the one farthest outside
    // Its station and time, and where it was read when read from a file: "S1 at 2017-01-05 04:00:00 (data/S1.csv:102)"
    std::string where;
};

// The far values among the training values (rows whose time lies in `train`) of the variables with check[v]; one
// entry per variable that has any. A variable whose quartiles are equal (mostly one value, as rain is mostly 0) is
// measured from that value to the quartiles of its other values instead; one with a single value is not checked.
std::vector<FarValues> find_far_values(const StationSet& set, const TimeRange& train, const std::vector<bool>& check);

// The --valid-range argument that masks values of `var`, as typed in a shell ("TMP=LO:HI"): a name holding a comma or
// quote in double quotes (the list flags' rule), and in single quotes when it holds anything a shell would split or
// read ('"temp, C"=LO:HI', 'T (degC)=LO:HI').
std::string valid_range_argument(const std::string& var);

// Throws naming the station, variable, value, time and (read from a file) file:line of the first value that `stats`
// would standardize beyond float's range (NormStats::normalize computes in float): a 3e38 where the training spread
// is 0.0005 would reach the model as an infinity (QA: eval stopped at "row 249 variable 1 is infinite", predict
// forecast from it). The statistics come from a checkpoint or from training data that did not hold that value.
void check_values_standardize(const StationSet& set, const NormStats& stats);

}  // namespace fusedrnn::data
