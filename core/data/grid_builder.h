// fusedrnn::data — turns timestamped observations (in any order, possibly duplicated, with absent
// hours) into a StationSeries on a regular grid: one row per step from the first to the last
// observation, NaN where nothing was observed. Shared by every reader.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "fusedrnn/core/data/read_report.h"
#include "fusedrnn/core/data/station_series.h"
#include "fusedrnn/core/data/valid_ranges.h"

namespace fusedrnn::data {

// How many of an observation's values the file's mask marks as filled in: kept as data, or already replaced
// by NaN (--drop-filled). Counted in the report only if the observation is kept (not a duplicate time).
struct FilledValues {
    uint16_t kept = 0, dropped = 0;
};

class GridBuilder {
public:
    // `ranges`: the valid ranges of the variables (those naming other variables are not used).
    GridBuilder(std::vector<std::string> vars, int64_t step, TimeRounding rounding, const ValidRanges& ranges = {});

    // Names the file the following add() calls come from (for messages).
    void begin_file(const std::string& path);
    // Whether add() takes `time`: it is on the grid, or rounding is Nearest. If not, `why` says so and
    // the reader treats the line like any malformed one (an error naming file:line, or a counted skip
    // under BadLines::Skip) instead of add() throwing past the skip policy.
    bool accepts(int64_t time, std::string& why) const;
    // Masks the values of a parsed line (vars.size() floats, physical units) that lie outside their variable's
    // valid range, counting them (reported by build()). Readers call it before applying a file's own observation
    // mask, so that a value both filled in and implausible is counted once, as out of range.
    void mask_out_of_range(float* values, int64_t line);
    // Adds one observation from line `line` of the current file: `values` holds vars.size() floats
    // (NaN = missing) in physical units. Throws under TimeRounding::Exact when `time` is off the grid.
    void add(int64_t time, const float* values, int64_t line, ReadReport& report, FilledValues filled = FilledValues());
    size_t size() const { return times_.size(); }
    // Whether the current file has added an observation yet (a file whose first time is off the grid is most
    // likely a whole series offset from it, not one of a finer step).
    bool file_has_rows() const { return !file_of_.empty() && size_t(file_of_.back()) + 1 == files_.size(); }
    // The time of the last observation added (size() > 0).
    int64_t last_time() const { return times_.back(); }

    // Builds the series (id, name, vars, start, step, values). Duplicate times keep the first
    // observation added (under TimeRounding::Nearest: the one whose own time is nearest the grid time, the first
    // of equals; one exactly halfway goes to the earlier grid time when that has none and the later a nearer
    // one) and are counted in the report; rows with no observation count as gap_rows.
    // Throws when there is no observation at all, or when the span is implausibly long (over 200
    // years: a bad date such as year 1016 for 2016), naming the first and last observation's file:line.
    // The out-of-range counts go into the report too.
    StationSeries build(const std::string& id, const std::string& name, ReadReport& report);

private:
    // Under TimeRounding::Nearest: moves an observation exactly halfway between grid times, rounded up, to the
    // grid time below when the one above has a nearer observation and the one below has none.
    void file_ties_below(int64_t first, int64_t rows, ReadReport& report);
    // Counts in `report` a station with a stretch without rows (`taken`: each row's observation, -1 none; `filled`
    // rows have one) years long with few rows on one side, or decades long; the first named, any others counted.
    void note_stray_rows(const std::string& id, const std::vector<int64_t>& taken, int64_t filled,
                         ReadReport& report) const;
    // Fills s.extremes from the rows built, `taken` naming each row's observation (-1: none).
    void note_extremes(StationSeries& s, const std::vector<int64_t>& taken) const;

    std::vector<std::string> vars_;
    int64_t step_;
    TimeRounding rounding_;
    RangeCheck ranges_;
    std::vector<int64_t> times_;
    std::vector<int64_t> moved_;    // per observation, under TimeRounding::Nearest: seconds moved to the grid
    std::vector<float> values_;
    std::vector<std::string> files_;
    std::vector<int32_t> file_of_;  // per observation: index into files_
    std::vector<int64_t> line_of_;  // per observation: line number in that file
    std::vector<FilledValues> filled_;    // per observation, only as far as the last one with filled values
};

}  // namespace fusedrnn::data
