#include "fusedrnn/core/data/grid_builder.h"

#include <algorithm>
#include <memory>
#include <numeric>

#include <fmt/format.h>

#include "fusedrnn/core/data/time.h"
#include "fusedrnn/core/error.h"

namespace fusedrnn::data {

namespace {
// A span longer than this is almost surely a bad date (year 1016 for 2016), not a station. Bounded in
// time, so that one bad year in an hourly file cannot make a 1,000-year grid of gaps, and in rows, so
// that a custom format with a step of seconds cannot ask for billions of them.
constexpr int64_t kMaxSpan = int64_t(200) * 366 * kSecondsPerDay;
constexpr int64_t kMaxRows = int64_t(200) * 366 * 24 * 6;  // 200 years of 10-minute rows
}  // namespace

GridBuilder::GridBuilder(std::vector<std::string> vars, int64_t step, TimeRounding rounding, const ValidRanges& ranges)
    : vars_(std::move(vars)), step_(step), rounding_(rounding), ranges_(vars_, ranges) {
    FR_CHECK(step_ > 0, "time step must be positive, got {} s", step_);
    FR_CHECK(!vars_.empty(), "a station series needs at least one variable");
}

void GridBuilder::begin_file(const std::string& path) { files_.push_back(path); }

bool GridBuilder::accepts(int64_t time, std::string& why) const {
    if (rounding_ == TimeRounding::Nearest || floor_mod(time, step_) == 0) return true;
    why = fmt::format("time {} is not on the {}-second grid of this format", format_time(time), step_);
    return false;
}

void GridBuilder::mask_out_of_range(float* values, int64_t line) {
    FR_CHECK(!files_.empty(), "GridBuilder::mask_out_of_range before begin_file");
    ranges_.mask(values, files_.back(), line);
}

void GridBuilder::add(int64_t time, const float* values, int64_t line, ReadReport& report, FilledValues filled) {
    FR_CHECK(!files_.empty(), "GridBuilder::add before begin_file");
    int64_t moved = 0;  // seconds between the observation's time and the grid time it is filed under
    if (floor_mod(time, step_) != 0) {
        FR_CHECK(rounding_ == TimeRounding::Nearest, "{}:{}: time {} is not on the {}-second grid of this format",
                 files_.back(), line, format_time(time), step_);
        const int64_t rounded = floor_div(time + step_ / 2, step_) * step_;
        moved = rounded > time ? rounded - time : time - rounded;
        time = rounded;
        ++report.rounded_times;
    }
    if (rounding_ == TimeRounding::Nearest) moved_.push_back(moved);
    times_.push_back(time);
    values_.insert(values_.end(), values, values + vars_.size());
    file_of_.push_back(int32_t(files_.size() - 1));
    line_of_.push_back(line);
    if (filled.kept || filled.dropped) {
        filled_.resize(times_.size());
        filled_.back() = filled;
    }
}

void GridBuilder::file_ties_below(int64_t first, int64_t rows, ReadReport& report) {
    // A report exactly half a step between two grid times was rounded up. Where the time above has a nearer report
    // and the one below has none at all, it is filed below instead (QA: an 11:30 report lost 12:00 to 11:53 while
    // 11:00 stayed a gap). One with a report below as near or nearer stays a duplicate above.
    const int64_t half = step_ / 2;
    if (step_ % 2 != 0) return;  // no time lies exactly halfway
    std::vector<int64_t> nearest(size_t(rows), -1);  // per row: the least `moved` of its observations, -1 if none
    for (size_t i = 0; i < times_.size(); ++i) {
        int64_t& n = nearest[size_t((times_[i] - first) / step_)];
        if (n < 0 || moved_[i] < n) n = moved_[i];
    }
    for (size_t i = 0; i < times_.size(); ++i) {
        const int64_t r = (times_[i] - first) / step_;
        if (moved_[i] != half || r == 0 || nearest[size_t(r)] >= half || nearest[size_t(r - 1)] >= 0) continue;
        times_[i] -= step_;
        nearest[size_t(r - 1)] = half;  // a second such report (a repeated line) is a duplicate there
        report.note(fmt::format("{}:{}: time {} is halfway between two grid times and the later one has a nearer "
                                "observation: filed under {}", files_[file_of_[i]], line_of_[i],
                                format_time(times_[i] + half), format_time(times_[i])));
    }
}

void GridBuilder::note_extremes(StationSeries& s, const std::vector<int64_t>& taken) const {
    const size_t F = vars_.size();
    for (size_t v = 0; v < F; ++v) {
        int64_t lo = -1, hi = -1;  // rows
        for (size_t r = 0; r < taken.size(); ++r) {
            const float x = s.values[r * F + v];
            if (taken[r] < 0 || is_missing(x)) continue;
            if (lo < 0 || x < s.values[size_t(lo) * F + v]) lo = int64_t(r);
            if (hi < 0 || x > s.values[size_t(hi) * F + v]) hi = int64_t(r);
        }
        if (lo < 0) continue;
        for (const int64_t r : {lo, hi}) {
            const size_t i = size_t(taken[size_t(r)]);
            s.extremes.push_back({vars_[v], s.values[size_t(r) * F + v],
                                  fmt::format("{}:{}", files_[file_of_[i]], line_of_[i])});
        }
    }
}

void GridBuilder::note_stray_rows(const std::string& id, const std::vector<int64_t>& taken, int64_t filled,
                                  ReadReport& report) const {
    // Each run of rows without an observation that is a year at least with one side a handful of rows (a stray line),
    // or twenty years whatever the sides. The first is named, the others counted (QA: a station with a line of 1900
    // and one of 2099 named only the longer gap).
    const int64_t few = std::max<int64_t>(24, filled / 100);
    int64_t run = 0, seen = 0, strays = 0;
    std::string first;
    for (size_t r = 0; r < taken.size(); ++r) {
        if (taken[r] < 0) {
            ++run;
            continue;
        }
        const int64_t gap_seconds = (run + 1) * step_;
        const int64_t fewer = std::min(seen, filled - seen);  // observations on the gap's sparser side
        if (run > 0 && ((gap_seconds >= 366 * kSecondsPerDay && fewer <= few) ||
                        gap_seconds >= 20 * 366 * kSecondsPerDay) && ++strays == 1) {
            const size_t after = size_t(taken[r]);
            const size_t prior = size_t(taken[r - size_t(run) - 1]);  // the observations on each side of the gap
            const double years = double(gap_seconds) / (365.25 * kSecondsPerDay);
            first = fmt::format("station {}: {} without rows between {} ({}:{}) and {} ({}:{}), {} row{} on the {} "
                                "side", id, years < 1.5 ? std::string("a year") : fmt::format("{:.0f} years", years),
                                format_time(times_[prior]), files_[file_of_[prior]], line_of_[prior],
                                format_time(times_[after]), files_[file_of_[after]], line_of_[after], fewer,
                                fewer == 1 ? "" : "s", fewer == seen ? "earlier" : "later");
        }
        run = 0;
        ++seen;
    }
    if (strays == 0) return;
    ++report.stray_stations;
    if (report.stray_first.empty())
        report.stray_first = first + (strays > 1 ? fmt::format(" (and {} more such gap{})", strays - 1,
                                                               strays == 2 ? "" : "s")
                                                 : std::string());
}

StationSeries GridBuilder::build(const std::string& id, const std::string& name, ReadReport& report) {
    FR_CHECK(!times_.empty(), "station {}: no observations in {}", id,
             files_.empty() ? std::string("(no file)") : files_.front());
    const auto [lo, hi] = std::minmax_element(times_.begin(), times_.end());
    const int64_t first = *lo, last = *hi;
    const size_t i_lo = size_t(lo - times_.begin()), i_hi = size_t(hi - times_.begin());
    FR_CHECK(last - first <= kMaxSpan,
             "station {}: observations span {} ({}:{}) to {} ({}:{}), over 200 years: check the dates", id,
             format_time(first), files_[file_of_[i_lo]], line_of_[i_lo], format_time(last), files_[file_of_[i_hi]],
             line_of_[i_hi]);
    const int64_t rows = (last - first) / step_ + 1;
    FR_CHECK(rows <= kMaxRows, "station {}: observations span {} to {} ({} rows of {} s, more than 200 years of "
             "10-minute rows): check the dates and the step ({}:{} to {}:{})", id, format_time(first),
             format_time(last), rows, step_, files_[file_of_[i_lo]], line_of_[i_lo], files_[file_of_[i_hi]],
             line_of_[i_hi]);

    StationSeries s;
    s.id = id;
    s.name = name.empty() ? id : name;
    s.vars = vars_;
    s.start = first;
    s.step = step_;
    const size_t F = vars_.size();
    s.values.assign(size_t(rows) * F, kMissing);
    if (!moved_.empty()) file_ties_below(first, rows, report);
    // Observations arrive in file order; the first one for a time wins, unless times are rounded: then the one
    // nearest the grid time does (NOAA LCD files several reports an hour; 00:44 and 00:56 both round to 01:00, and
    // the 00:56 one is the hour's). A taken-flag per row keeps this O(observations) without sorting.
    std::vector<int64_t> taken(size_t(rows), -1);
    int64_t filled = 0;
    const auto count_filled = [&](size_t i, int sign) {
        if (i >= filled_.size()) return;
        report.filled_kept += sign * filled_[i].kept;
        report.filled_dropped += sign * filled_[i].dropped;
    };
    for (size_t i = 0; i < times_.size(); ++i) {
        const int64_t r = (times_[i] - first) / step_;
        if (taken[size_t(r)] >= 0) {
            ++report.duplicate_times;
            const size_t j = size_t(taken[size_t(r)]);
            if (moved_.empty() || moved_[i] >= moved_[j]) {
                report.note(fmt::format("{}:{}: duplicate time {} (first at {}:{}); kept the {}", files_[file_of_[i]],
                                        line_of_[i], format_time(times_[i]), files_[file_of_[j]], line_of_[j],
                                        moved_.empty() || moved_[i] == moved_[j] ? "first" : "one nearer to it"));
                continue;
            }
            report.note(fmt::format("{}:{}: duplicate time {} (also at {}:{}); kept this one, nearer to it",
                                    files_[file_of_[i]], line_of_[i], format_time(times_[i]), files_[file_of_[j]],
                                    line_of_[j]));
            count_filled(j, -1);
            --filled;
        }
        taken[size_t(r)] = int64_t(i);
        count_filled(i, +1);
        std::copy(values_.begin() + int64_t(i * F), values_.begin() + int64_t((i + 1) * F),
                  s.values.begin() + r * int64_t(F));
        ++filled;
    }
    report.records += filled;
    note_stray_rows(id, taken, filled, report);
    note_extremes(s, taken);
    ranges_.flush(report);
    report.gap_rows += rows - filled;
    times_.clear();
    moved_.clear();
    values_.clear();
    file_of_.clear();
    line_of_.clear();
    filled_.clear();
    return s;
}

}  // namespace fusedrnn::data
