// Coverage-guided fuzz of the parsers of what users type into flags: --split, --valid-range, the CSV time format
// (--csv-time-format against a time cell) and date arguments (--issued-at, split dates). The first byte picks the
// parser; the rest is the text (for the time format, "format\0cell"). Promises checked:
//   - the throwing parsers throw nothing but fusedrnn::Error; the bool-returning ones throw nothing at all;
//   - --split: a parsed spec prints as a string that parses back to the same spec, and resolving it on an hourly
//     series gives ordered, non-overlapping ranges or an Error;
//   - --valid-range: a parsed range has finite or open bounds, lo < hi, and a non-empty name;
//   - times: a parsed time is a valid calendar time, and a date argument prints as a time that parses back to it.
// Run by scripts/fuzz.sh.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>
#include <typeinfo>

#include "fusedrnn/core/data/splits.h"
#include "fusedrnn/core/data/time.h"
#include "fusedrnn/core/data/valid_ranges.h"
#include "fusedrnn/core/error.h"
#include "fusedrnn/tests/reader_contract.h"

using namespace fusedrnn;
using namespace fusedrnn::data;

namespace {

[[noreturn]] void broken(const std::string& what, const std::string& input) {
    std::fprintf(stderr, "argument contract broken: %s (input %s)\n", what.c_str(), testing::show(input, 200).c_str());
    std::abort();
}

void split_spec(const std::string& text) {
    SplitSpec s;
    try {
        s = SplitSpec::parse(text);
    } catch (const Error&) {
        return;
    }
    const std::string printed = s.str();
    const SplitSpec again = SplitSpec::parse(printed);  // any exception here escapes: a bug
    if (again.str() != printed) broken("--split prints as '" + printed + "', which parses to '" + again.str() + "'", text);
    try {
        // Ten years of hourly rows from 2014.
        const int64_t begin = year_start(2014), end = year_start(2024);
        const SplitRanges r = s.resolve(begin, end, 3600);
        for (int i = 0; i < kNumSplits; ++i)
            for (int j = i + 1; j < kNumSplits; ++j)
                if (r[size_t(i)].overlaps(r[size_t(j)])) broken("--split resolves to overlapping ranges", text);
    } catch (const Error&) {
    }
}

void valid_range(const std::string& text) {
    ValidRange r;
    std::string why;
    if (!parse_valid_range(text, r, why)) {
        if (why.empty()) broken("--valid-range refused without a reason", text);
        return;
    }
    if (r.var.empty()) broken("--valid-range parsed an empty name", text);
    if (std::isnan(r.lo) || std::isnan(r.hi) || r.lo == INFINITY || r.hi == -INFINITY || !(r.lo < r.hi))
        broken("--valid-range parsed bounds " + range_text(r), text);
}

void time_format(const std::string& input) {
    const size_t nul = input.find('\0');
    if (nul == std::string::npos) return;
    const std::string_view format(input.data(), nul), cell(input.data() + nul + 1, input.size() - nul - 1);
    int64_t seconds = 0;
    std::string why;
    if (!parse_time(cell, format, seconds, why)) {
        if (why.empty()) broken("a time cell refused without a reason", input);
        return;
    }
    if (!valid_civil(to_civil(seconds))) broken("a parsed time is not a calendar time", input);
}

void date_argument(const std::string& text) {
    int64_t t = 0;
    try {
        t = parse_date_arg(text, "--issued-at");
    } catch (const Error&) {
        return;
    }
    const std::string printed = format_time(t);
    if (parse_date_arg(printed, "--issued-at") != t) broken("a date prints as '" + printed + "', which parses otherwise", text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
    try {
        switch (data[0] % 4) {
            case 0: split_spec(text); break;
            case 1: valid_range(text); break;
            case 2: time_format(text); break;
            default: date_argument(text); break;
        }
    } catch (const std::exception& e) {
        broken(std::string("exception ") + typeid(e).name() + ": " + e.what(), text);
    }
    return 0;
}
