// fusedrnn::data, inside the CSV station reader (csv_reader.cpp): what a line's cells hold — its time, its values
// (numbers, compass points, missing tokens and sentinels, flagged values), its observation mask, the format's unit
// checks and the lines it passes over. A cell that is none of these is a bad line whose reason (`why`) names the
// column and says what would read it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fusedrnn/core/data/csv_reader.h"
#include "fusedrnn/core/data/detail/csv_records.h"
#include "fusedrnn/core/data/grid_builder.h"

namespace fusedrnn::data::csv_detail {

// Cells of a line masked as missing: written as missing, or flagged suspect by the file.
struct MaskedCells {
    int64_t missing = 0;
    int64_t suspect = 0;
};

// The line's time in UTC seconds, from one date-time column or from year, month, day, hour[, minute[,
// second]] integer columns.
bool line_time(const std::vector<std::string>& fields, const std::vector<std::string>& header,
               const std::vector<size_t>& time_idx, const CsvFormat& format, int64_t& time, std::string& why);

// What to do about a time off the format's grid: data of a finer step (10-minute rows on an hourly grid: the step
// that fits this time is named), or times a little off it (reports at :51, rounded to the hour). `previous`: the
// time of the file's row before, none for its first row. A first row off the grid, or one a grid step or more after
// the row before (QA: 00:00, then 01:53), is most likely of a series offset from the grid (LCD's hourly reports at
// :53), and rounding is offered first, the finer step that fits only when it is at most 12 rows a grid step (1
// minute for :53 is seldom the data's); one closer to the row before than a step is of finer data.
std::string off_grid_hint(int64_t time, int64_t step, std::optional<int64_t> previous);

// A cell written as missing (one of the format's missing tokens).
bool is_missing_cell(const std::string& cell, const CsvFormat& format);

// A number with the format's suspect flag after it ("23s"), in `v`.
bool suspect_number(std::string_view t, const CsvFormat& format, double& v);

// The selected cells of a line into `values` (NaN where masked, counted in `masked`): false with `why` at the first
// cell that is no value. A cell is a missing token or sentinel, a number flagged suspect, or a finite number (or
// compass point) that stays finite once scaled to a float; `code_like[k]` says whether the k-th looks like a
// missing-value code (-9999, ...), for the report.
bool line_values(const std::vector<std::string>& fields, const std::vector<std::string>& header,
                 const std::vector<Selected>& sel, const CsvFormat& format, float* values, MaskedCells& masked,
                 std::vector<char>& code_like, std::string& why);

// The format's unit checks on a line (CsvFormat::unit_checks; `check_idx` holds each one's column, header.size()
// where the header lacks it). A file in other units is wrong throughout, so this throws even under BadLines::Skip:
// passing over its lines would read the others in the wrong units.
// Returns the message of the first check that fails, "" when none does.
std::string unit_problem(const std::vector<std::string>& fields, const std::vector<std::string>& header,
                         const std::vector<size_t>& check_idx, const CsvFormat& format);

// Whether a line is one the format passes over (CsvFormat::skip_column, skip_values).
bool passed_over(const std::vector<std::string>& fields, size_t skip_idx, const CsvFormat& format);

// An observation mask cell: "[1 1 0 1 1]", "1,1,0,1,1", "11011" -> one flag per feature (true = observed).
bool mask_flags(const std::string& cell, size_t mask_idx, const std::vector<std::string>& header,
                const std::vector<std::string>& features, std::vector<bool>& observed, std::string& why);

// Applies the mask to the first features.size() values (the features come first in `values`) and says how
// many were filled in (the grid counts them if the line is kept).
FilledValues apply_mask(const std::vector<bool>& observed, bool drop, float* values);

// A coordinate from a cell: set once, from the first cell that is a finite number within [-limit, limit].
void take_coordinate(const std::vector<std::string>& fields, size_t idx, double limit, double& coordinate);

}  // namespace fusedrnn::data::csv_detail
