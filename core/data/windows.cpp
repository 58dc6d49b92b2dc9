#include "fusedrnn/core/data/windows.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include <fmt/format.h>

#include "fusedrnn/core/data/station_series.h"
#include "fusedrnn/core/data/time.h"
#include "fusedrnn/core/detail/json_fields.h"
#include "fusedrnn/core/error.h"

namespace fusedrnn::data {

void WindowSpec::validate() const {
    FR_CHECK(input_len >= 1, "window: input length must be >= 1, got {}", input_len);
    FR_CHECK(in_step >= 1, "window: input step must be >= 1, got {}", in_step);
    FR_CHECK(horizon >= 1, "window: horizon must be >= 1, got {}", horizon);
    FR_CHECK(out_offset >= 1, "window: output offset must be >= 1 (targets after the last input row), got {}",
             out_offset);
    FR_CHECK(out_step >= 1, "window: output step must be >= 1, got {}", out_step);
    FR_CHECK(span() < (int64_t(1) << 31), "window: span of {} rows is too long", span());
}

std::string WindowSpec::str() const {
    return fmt::format("input {} (step {}), horizon {} (offset {}, step {}), span {} rows", input_len, in_step,
                       horizon, out_offset, out_step, span());
}

nlohmann::json WindowSpec::to_json() const {
    return {{"input_len", input_len}, {"in_step", in_step},   {"horizon", horizon},
            {"out_offset", out_offset}, {"out_step", out_step}};
}

WindowSpec WindowSpec::from_json(const nlohmann::json& j, std::string_view where) {
    // Every field counts rows and is at least 1 (validate() then checks the span they make).
    const auto field = [&](const char* key) {
        return int(detail::json_whole(j, key, fmt::format("{}.{}", where, key), 1, std::numeric_limits<int>::max()));
    };
    WindowSpec w;
    w.input_len = field("input_len");
    w.in_step = field("in_step");
    w.horizon = field("horizon");
    w.out_offset = field("out_offset");
    w.out_step = field("out_step");
    w.validate();
    return w;
}

WindowValidity::WindowValidity(const float* values, int64_t rows, int F, const std::vector<int32_t>& targets,
                               const WindowSpec& spec, const std::string& station)
    : rows_(rows), spec_(spec) {
    bad_in_.resize(size_t(rows));
    bad_out_.resize(size_t(rows));
    const int64_t ki = spec.in_step, ko = spec.out_step;
    for (int64_t r = 0; r < rows; ++r) {
        const float* row = values + r * F;
        int32_t in_bad = 0, out_bad = 0;
        for (int f = 0; f < F; ++f) {
            if (std::isinf(row[f]))
                FR_FAIL("station {}: row {} variable {} is infinite; only NaN may mark a missing value", station, r,
                        f);
            in_bad |= std::isnan(row[f]) ? 1 : 0;
        }
        for (int32_t t : targets) out_bad |= std::isnan(row[t]) ? 1 : 0;
        bad_in_[size_t(r)] = in_bad + (r >= ki ? bad_in_[size_t(r - ki)] : 0);
        bad_out_[size_t(r)] = out_bad + (r >= ko ? bad_out_[size_t(r - ko)] : 0);
    }
}

bool WindowValidity::valid(int64_t s) const {
    if (s < 0 || s + spec_.span() > rows_) return false;
    // Unusable rows among s, s+k, ..., s+(n-1)k = P[s+(n-1)k] - P[s-k].
    auto bad = [](const std::vector<int32_t>& P, int64_t first, int64_t n, int64_t k) {
        const int64_t last = first + (n - 1) * k;
        return P[size_t(last)] - (first >= k ? P[size_t(first - k)] : 0);
    };
    return bad(bad_in_, s, spec_.input_len, spec_.in_step) == 0 &&
           bad(bad_out_, s + spec_.first_target(), spec_.horizon, spec_.out_step) == 0;
}

int64_t WindowValidity::collect(const RowRange& allowed, int64_t stride, int64_t first_row_index, int64_t row_offset,
                                WindowStarts* out) const {
    const int64_t span = spec_.span();
    const int64_t lo = allowed.first;
    const int64_t hi = allowed.last - span;  // last start whose span fits, inclusive
    if (hi < lo) return 0;
    // First s >= lo with (first_row_index + s) ≡ 0 (mod stride).
    int64_t s = lo + floor_mod(-(first_row_index + lo), stride);
    int64_t n = 0;
    for (; s <= hi; s += stride) {
        if (!valid(s)) continue;
        ++n;
        if (out) out->push_back(row_offset + s);
    }
    return n;
}

}  // namespace fusedrnn::data
