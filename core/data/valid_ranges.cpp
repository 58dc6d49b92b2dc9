#include "fusedrnn/core/data/valid_ranges.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "fusedrnn/core/data/station_series.h"
#include "fusedrnn/core/data/text.h"

namespace fusedrnn::data {

const ValidRanges& noaa_isd_ranges() {
    // ISD stores tenths (TMP MIN -0932 MAX +0618, DEW -0982 +0368, SLP 08600 10900, WND speed 0000 0900); its wind
    // direction is 001..360 with calm coded apart, which ISD-Lite (and WEATHER-5K after it) writes as 0.
    static const ValidRanges kRanges = {
        {"TMP", -93.2, 61.8}, {"DEW", -98.2, 36.8}, {"WND_ANGLE", 0, 360}, {"WND_RATE", 0, 90}, {"SLP", 860, 1090}};
    return kRanges;
}

ValidRanges with_overrides(ValidRanges base, const ValidRanges& overrides) {
    for (const auto& o : overrides) {
        auto it = std::find_if(base.begin(), base.end(), [&](const ValidRange& r) { return r.var == o.var; });
        if (it == base.end()) base.push_back(o);
        else *it = o;
    }
    return base;
}

bool parse_valid_range(const std::string& spec, ValidRange& out, std::string& why) {
    const size_t eq = spec.rfind('=');
    const size_t colon = eq == std::string::npos ? std::string::npos : spec.find(':', eq + 1);
    if (eq == std::string::npos || eq == 0 || colon == std::string::npos) {
        why = fmt::format("'{}' is not NAME=LO:HI (e.g. TMP=-93.2:61.8; leave LO or HI empty for no bound)",
                          printable(spec));
        return false;
    }
    ValidRange r;
    r.var = std::string(trim(std::string_view(spec).substr(0, eq)));
    if (r.var.empty()) {  // " =0:1": a range for no variable would be silently unused
        why = fmt::format("'{}' names no variable (NAME=LO:HI, e.g. TMP=-93.2:61.8)", printable(spec));
        return false;
    }
    auto bound = [&](std::string_view text, double& v, const char* which) {
        if (trim(text).empty()) return true;  // no bound: v keeps its infinity
        if (parse_number(text, v) && std::isfinite(v)) return true;
        why = fmt::format("'{}': the {} bound '{}' is not a finite number", printable(spec), which, printable(text));
        return false;
    };
    const std::string_view lo = std::string_view(spec).substr(eq + 1, colon - eq - 1);
    const std::string_view hi = std::string_view(spec).substr(colon + 1);
    if (!bound(lo, r.lo, "low") || !bound(hi, r.hi, "high")) return false;
    if (std::isinf(r.lo) && std::isinf(r.hi)) {
        why = fmt::format("'{}' gives no bound", printable(spec));
        return false;
    }
    if (!(r.lo < r.hi)) {
        why = fmt::format("'{}': the low bound {} is not below the high bound {}", printable(spec), r.lo, r.hi);
        return false;
    }
    out = r;
    return true;
}

std::string range_text(const ValidRange& r) {
    return fmt::format("{}..{}", std::isinf(r.lo) ? std::string() : fmt::format("{}", r.lo),
                       std::isinf(r.hi) ? std::string() : fmt::format("{}", r.hi));
}

RangeCheck::RangeCheck(const std::vector<std::string>& vars, const ValidRanges& ranges)
    : lo_(vars.size()), hi_(vars.size()), ranges_(vars.size()), count_(vars.size()), first_(vars.size()) {
    for (size_t v = 0; v < vars.size(); ++v) {
        auto it = std::find_if(ranges.begin(), ranges.end(), [&](const ValidRange& r) { return r.var == vars[v]; });
        if (it == ranges.end()) continue;
        checked_.push_back(v);
        ranges_[v] = *it;
        lo_[v] = float(it->lo);
        hi_[v] = float(it->hi);
    }
}

void RangeCheck::mask(float* values, const std::string& file, int64_t line) {
    for (const size_t v : checked_) {
        const float x = values[v];
        if (std::isnan(x) || (x >= lo_[v] && x <= hi_[v])) continue;
        if (count_[v]++ == 0) first_[v] = fmt::format("{}:{}: {}", file, line, x);
        values[v] = kMissing;
    }
}

void RangeCheck::flush(ReadReport& report) {
    ReadReport mine;
    for (const size_t v : checked_) {
        mine.out_of_range.push_back({ranges_[v].var, range_text(ranges_[v]), count_[v], first_[v]});
        count_[v] = 0;
        first_[v].clear();
    }
    report.merge(mine);
}

}  // namespace fusedrnn::data
