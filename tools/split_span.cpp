#include "fusedrnn/tools/split_span.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "fusedrnn/core/data/text.h"
#include "fusedrnn/core/data/time.h"

namespace fusedrnn::tools {
namespace {

// Within a station too (one line of a typo'd year, a yearly file of another decade), a few present rows far from all
// the others stretch the span: found on a grid of days, a stretch at either end of the span holding under 1% of the
// present rows with a gap of over a quarter of the span after (before) it. Names it, or "".
std::string stray_rows_at_an_end(const data::StationSet& set) {
    const int64_t begin = set.begin_time(), day = 86400;
    const int64_t days = (set.end_time() - begin + day - 1) / day;
    if (days < 8) return {};
    const int F = set.num_vars();
    std::vector<int64_t> present(size_t(days), 0);
    int64_t total = 0;
    // The outermost present rows' times and stations, to find their lines by.
    int64_t first = std::numeric_limits<int64_t>::max(), last = std::numeric_limits<int64_t>::min();
    const data::StationInfo *first_at = nullptr, *last_at = nullptr;
    for (const data::StationInfo& st : set.stations)
        for (int64_t r = 0; r < st.rows; ++r) {
            const float* v = set.values.data() + (st.row_begin + r) * F;
            if (std::all_of(v, v + F, [](float x) { return data::is_missing(x); })) continue;
            const int64_t t = st.start + r * set.step;
            ++present[size_t((t - begin) / day)];
            ++total;
            if (t < first) first = t, first_at = &st;
            if (t > last) last = t, last_at = &st;
        }
    if (total == 0) return {};
    // The first (last) stretch of days with data, then the gap to the next day with data.
    const auto look = [&](bool from_start) -> std::string {
        int64_t i = 0, rows = 0;
        const auto at = [&](int64_t k) { return present[size_t(from_start ? k : days - 1 - k)]; };
        while (i < days && at(i) == 0) ++i;
        while (i < days && at(i) > 0) rows += at(i++);
        int64_t gap = 0;
        while (i + gap < days && at(i + gap) == 0) ++gap;
        if (i + gap >= days || gap * 4 < days || rows * 100 >= total) return {};
        const int64_t rest_day = from_start ? i + gap : days - 1 - (i + gap);
        const std::string where = from_start ? fmt::format("station {}, {}", first_at->id, data::format_time(first))
                                             : fmt::format("station {}, {}", last_at->id, data::format_time(last));
        const std::string which = from_start ? "first" : "last";
        const std::string these =
            rows == 1 ? fmt::format("{} present row (of {}: {}) lies", which, total, where)
                      : fmt::format("{} {} present rows (of {}; the {}: {}) lie", which, rows, total, which, where);
        return fmt::format(" The fractions cut the span of all stations together, {}; its {} {} days {} the rest of "
                           "the data, which {} {}: remove those lines, or give the split as dates (--split dates:...)",
                           data::TimeRange{set.begin_time(), set.end_time()}.str(), these, gap,
                           from_start ? "before" : "after", from_start ? "starts on" : "ends on",
                           data::format_time(begin + rest_day * day).substr(0, 10));
    };
    const std::string early = look(true);
    return early.empty() ? look(false) : early;
}

}  // namespace

// Fractions cut the time span of all stations together: a station whose data lie beyond every other's (one stray
// line years later, a file of another decade) stretches it, and the splits at that end hold little but the gap. Names
// such a station at either end of the span, or "".
std::string span_stretcher(const data::WindowedDataset& ds) {
    const data::StationSet& set = ds.data;
    if (ds.split.kind != data::SplitSpec::Kind::Fractions) return {};
    if (set.num_stations() < 2) return stray_rows_at_an_end(set);
    const auto end_of = [&](const data::StationInfo& st) { return st.end_time(set.step); };
    const auto latest = std::max_element(set.stations.begin(), set.stations.end(),
                                         [&](const auto& a, const auto& b) { return end_of(a) < end_of(b); });
    const auto earliest = std::min_element(set.stations.begin(), set.stations.end(),
                                           [](const auto& a, const auto& b) { return a.start < b.start; });
    int64_t others_end = std::numeric_limits<int64_t>::min(), others_start = std::numeric_limits<int64_t>::max();
    for (auto it = set.stations.begin(); it != set.stations.end(); ++it) {
        if (it != latest) others_end = std::max(others_end, end_of(*it));
        if (it != earliest) others_start = std::min(others_start, it->start);
    }
    // `relation`: "after every other station's data, which end at", or "before ..., which start at".
    const auto named = [&](const data::StationInfo& st, const char* relation, int64_t others) {
        return fmt::format("station {} ({}, from {}) lies {} {}", st.id, data::counted(size_t(st.rows), "row", "rows"),
                           data::format_time(st.start), relation, data::format_time(others));
    };
    // A stray station at each end is named, both (of two apart, either is; the later one is named).
    std::vector<std::string> strays;
    if (end_of(*earliest) <= others_start && set.num_stations() > 2)
        strays.push_back(named(*earliest, "before every other station's data, which start at", others_start));
    if (latest->start >= others_end)
        strays.push_back(named(*latest, "after every other station's data, which end at", others_end - set.step));
    if (strays.empty()) return stray_rows_at_an_end(set);
    return fmt::format(" The fractions cut the span of all stations together, {}; {}: remove {}, or give the split "
                       "as dates (--split dates:...)", data::TimeRange{set.begin_time(), set.end_time()}.str(),
                       fmt::join(strays, "; "), strays.size() == 1 ? "its file" : "their files");
}


}  // namespace fusedrnn::tools
