// fusedrnn::data — physical plausibility of station values. Each variable may have a valid range; a value outside
// it (an ISD air temperature of +95.0 °C, a pressure of 1500 hPa, a wind direction of 400°) is not a measurement
// the model should learn from, so the readers mask it as missing, like a sentinel, and count it in the ReadReport
// per variable with the first place it was seen (file:line and the value).
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "fusedrnn/core/data/read_report.h"

namespace fusedrnn::data {

struct ValidRange {
    std::string var;  // the variable's name in the series (as the model sees it: TMP, not the file's TEMP)
    double lo = -std::numeric_limits<double>::infinity();  // inclusive; -inf = no lower bound
    double hi = std::numeric_limits<double>::infinity();   // inclusive; +inf = no upper bound
};
using ValidRanges = std::vector<ValidRange>;

// The limits NOAA documents for these elements in the ISD format document (Federal Climate Complex Data
// Documentation for ISD, mandatory data section: MIN/MAX of TMP, DEW, SLP and WND), in the units the readers
// produce: TMP -93.2..61.8 °C, DEW -98.2..36.8 °C, SLP 860..1090 hPa, WND_ANGLE 0..360 degrees (1..360, plus 0,
// which ISD-Lite writes for calm), WND_RATE 0..90 m/s. The known formats carrying these variables (isd-lite,
// weather5k, noaa-lcd, ncei-lcd(-metric), beijing-multisite, pm25-five-cities) apply them to the variables they have.
const ValidRanges& noaa_isd_ranges();

// `base` with each range of `overrides` replacing the one for the same variable, or appended.
ValidRanges with_overrides(ValidRanges base, const ValidRanges& overrides);

// "NAME=LO:HI": inclusive bounds, either of which may be left empty for "no bound" ("WND_RATE=0:"). The name may
// hold '=' or ':' (the last '=' separates it). False, with the reason in `why`, for a missing part, a bound that is
// not a finite number (NaN, inf), or lo >= hi.
bool parse_valid_range(const std::string& spec, ValidRange& out, std::string& why);
// "-93.2..61.8", "0..", "..5": the range for messages.
std::string range_text(const ValidRange& r);

// The ranges of a series' variables, checked on each observation as it is read.
class RangeCheck {
public:
    RangeCheck() = default;
    // Ranges naming a variable that is not in `vars` are not used (a format's table covers variables some of its
    // files may lack, as NOAA LCD has no SLP).
    RangeCheck(const std::vector<std::string>& vars, const ValidRanges& ranges);

    // Replaces the values of `values` (one per variable, NaN = missing) that lie outside their variable's range
    // by NaN, counting them; `file` and `line` name the first such value of each variable.
    void mask(float* values, const std::string& file, int64_t line);
    // Adds the counts (and the ranges used, with count 0 where no value was out of range) to the report, in the
    // order of the variables, and starts counting again.
    void flush(ReadReport& report);

private:
    // Compared as floats, as the values are stored: a bound keeps the value written like it in a file, whichever way
    // its float rounds (the float nearest 0.3 lies above the double 0.3, so "0.3" would fail a bound of 0.3 as double).
    std::vector<float> lo_, hi_;
    std::vector<size_t> checked_;  // the variables that have a range
    std::vector<ValidRange> ranges_;  // per variable (only those in checked_ are used)
    std::vector<int64_t> count_;
    std::vector<std::string> first_;
};

}  // namespace fusedrnn::data
