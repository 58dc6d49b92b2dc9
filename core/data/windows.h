// fusedrnn::data — forecasting windows over a station series and which of them are valid.
// A window starting at row s reads
//   input rows   s + t·in_step                                   t = 0 .. input_len-1 (all variables)
//   target rows  s + (input_len-1)·in_step + out_offset + h·out_step   h = 0 .. horizon-1 (target variables)
// exactly as Backend::gather_windows does. It is valid when every row it reads is present (no NaN in
// the values read) and its whole span [s, s + span) lies inside one station and one split's time
// range. Rows skipped over by a step > 1 are not read and may be missing. Valid starts can be thinned
// to a stride aligned to absolute time (multiples of stride·step since the epoch), so every station
// uses the same clock hours whatever its first row.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "fusedrnn/core/data/splits.h"
#include "fusedrnn/core/data/window_starts.h"

namespace fusedrnn::data {

struct WindowSpec {
    int input_len = 48;   // Tin: input rows
    int in_step = 1;      // rows between input rows (Jena: 6 = hourly samples of 10-minute data)
    int horizon = 24;     // target rows
    int out_offset = 1;   // rows from the last input row to the first target row (>= 1: the future)
    int out_step = 1;     // rows between target rows

    // Row offset of the first target row from the window start.
    int64_t first_target() const { return int64_t(input_len - 1) * in_step + out_offset; }
    // Rows from the first input row to the last target row, inclusive.
    int64_t span() const { return first_target() + int64_t(horizon - 1) * out_step + 1; }
    void validate() const;     // throws naming the bad field
    std::string str() const;   // "input 48 (step 1), horizon 24 (offset 1, step 1), span 72 rows"

    nlohmann::json to_json() const;
    // `where` names the object in messages ("dataset.window.input_len is 12.7, not a whole number in [1, ...]").
    static WindowSpec from_json(const nlohmann::json& j, std::string_view where = "window");
};

// Validity of windows for one station: O(rows) to build, O(1) per query. Uses per-residue prefix
// counts of unusable rows so that steps > 1 cost the same as step 1.
class WindowValidity {
public:
    // values: the station's [rows, F] block (NaN = missing); targets: column indices of the targets.
    // Throws naming `station` and the row when a value is infinite (only NaN may mark missing).
    WindowValidity(const float* values, int64_t rows, int F, const std::vector<int32_t>& targets,
                   const WindowSpec& spec, const std::string& station);

    // Whether the window starting at local row s is inside the station and reads no missing value.
    bool valid(int64_t s) const;
    // Valid starts s whose span lies in rows [allowed.first, allowed.last) and with
    // (first_row_index + s) a multiple of stride, where first_row_index = station start / step.
    // Appends row_offset + s to `out` (or only counts them when out == nullptr). Returns the count.
    int64_t collect(const RowRange& allowed, int64_t stride, int64_t first_row_index, int64_t row_offset,
                    WindowStarts* out) const;

private:
    int64_t rows_;
    WindowSpec spec_;
    std::vector<int32_t> bad_in_;   // prefix counts over rows r, r - in_step, ... of rows with a missing variable
    std::vector<int32_t> bad_out_;  // same with out_step, for rows with a missing target
};

}  // namespace fusedrnn::data
