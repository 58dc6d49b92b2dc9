#include "fusedrnn/core/data/read_report.h"

#include <algorithm>

#include <fmt/format.h>

#include "fusedrnn/core/data/line_reader.h"
#include "fusedrnn/core/data/text.h"

namespace fusedrnn::data {

void ReadReport::merge(const ReadReport& o) {
    files += o.files;
    lines += o.lines;
    blank_lines += o.blank_lines;
    records += o.records;
    skipped_lines += o.skipped_lines;
    duplicate_times += o.duplicate_times;
    rounded_times += o.rounded_times;
    missing_values += o.missing_values;
    gap_rows += o.gap_rows;
    filled_kept += o.filled_kept;
    filled_dropped += o.filled_dropped;
    suspect_values += o.suspect_values;
    calm_directions += o.calm_directions;
    passed_over_lines += o.passed_over_lines;
    joined_lines += o.joined_lines;
    multiline_records += o.multiline_records;
    if (multiline_first.empty()) multiline_first = o.multiline_first;
    if (passed_over_what.empty()) passed_over_what = o.passed_over_what;
    code_like_values += o.code_like_values;
    if (code_like_first.empty()) code_like_first = o.code_like_first;
    unterminated_files += o.unterminated_files;
    if (unterminated_first.empty()) unterminated_first = o.unterminated_first;
    empty_files += o.empty_files;
    if (empty_first.empty()) empty_first = o.empty_first;
    empty_stations += o.empty_stations;
    stray_stations += o.stray_stations;
    if (stray_first.empty()) stray_first = o.stray_first;
    if (empty_station_first.empty()) empty_station_first = o.empty_station_first;
    for (const auto& e : o.examples) note(e);
    for (const auto& r : o.out_of_range) {
        auto it = std::find_if(out_of_range.begin(), out_of_range.end(),
                               [&](const OutOfRange& mine) { return mine.var == r.var; });
        if (it == out_of_range.end()) {
            out_of_range.push_back(r);
            continue;
        }
        it->count += r.count;
        if (it->first.empty()) it->first = r.first;
    }
    if (station_list.empty()) station_list = o.station_list;
}

int64_t ReadReport::out_of_range_values() const {
    int64_t n = 0;
    for (const auto& r : out_of_range) n += r.count;
    return n;
}

void ReadReport::note_end_of_file(const LineReader& reader, bool last_line_was_data) {
    if (!last_line_was_data || !reader.last_line_unterminated()) return;
    if (unterminated_files++ == 0) unterminated_first = reader.where();
}

void ReadReport::note_empty_file(const std::string& path) {
    if (empty_files++ == 0) empty_first = path;
}

void ReadReport::note_empty_station(const std::string& station_files, ReadReport report) {
    report.empty_files = 0;
    report.empty_first.clear();
    merge(report);
    if (empty_stations++ == 0) empty_station_first = station_files;
}

std::string ReadReport::all_skipped_note(int64_t skipped_before, size_t examples_before) const {
    if (skipped_lines <= skipped_before) return {};
    // Why the lines were skipped, as the first one was (QA: every line off the grid said only "all were skipped").
    if (examples.size() <= examples_before) return " (all were skipped as malformed)";
    return fmt::format(" (all {} were skipped as malformed; the first: {})", skipped_lines - skipped_before,
                       examples[examples_before]);
}

std::string ReadReport::summary() const {
    const auto c = [](int64_t k, const char* one, const char* many) { return counted(size_t(k), one, many); };
    std::string s = fmt::format("{}, {} -> {}; {} skipped; {} dropped; {} rounded to the grid; {}; {}",
                                c(files, "file", "files"), c(lines, "line", "lines"), c(records, "row", "rows"),
                                c(skipped_lines, "line", "lines"), c(duplicate_times, "duplicate time", "duplicate times"),
                                c(rounded_times, "time", "times"), c(missing_values, "missing value", "missing values"),
                                c(gap_rows, "gap row", "gap rows"));
    if (blank_lines > 0) s += fmt::format("; {} passed over", counted(size_t(blank_lines), "blank line", "blank lines"));
    // Only files with a mask column have these; most formats never do.
    if (filled_kept > 0) s += fmt::format("; {} filled-in values (the file's mask) read as data", filled_kept);
    if (filled_dropped > 0) s += fmt::format("; {} filled-in values (the file's mask) masked as missing", filled_dropped);
    if (suspect_values > 0)
        s += fmt::format("; {} the files flag suspect masked as missing",
                         counted(size_t(suspect_values), "value", "values"));
    if (calm_directions > 0)
        s += fmt::format("; {} without a wind direction and with speed 0 read as calm (direction 0)",
                         counted(size_t(calm_directions), "hour", "hours"));
    if (multiline_records > 0)
        s += fmt::format("; {} over several lines (a quoted field holding line breaks, {} joined; first {}: if not a "
                         "notes column, look for stray quotes there)",
                         counted(size_t(multiline_records), "record", "records"),
                         counted(size_t(joined_lines), "line", "lines"), multiline_first);
    if (passed_over_lines > 0)
        s += fmt::format("; {} passed over ({})", counted(size_t(passed_over_lines), "line", "lines"),
                         passed_over_what.empty() ? "not observations" : passed_over_what);
    if (const int64_t n = out_of_range_values(); n > 0) {
        std::string each;
        for (const auto& r : out_of_range) {
            if (r.count == 0) continue;
            each += fmt::format("{}{}: {} outside {}, first {}", each.empty() ? "" : "; ", r.var, r.count, r.range,
                                r.first);
        }
        s += fmt::format("; {} outside their valid range masked as missing ({})", counted(size_t(n), "value", "values"),
                         each);
    }
    if (code_like_values > 0)
        s += fmt::format("; warning: {} read as data {} like missing-value codes (first {}): if they mean missing, "
                         "name them with --csv-sentinel (a custom layout) or mask them with --valid-range",
                         counted(size_t(code_like_values), "value", "values"), code_like_values == 1 ? "looks" : "look",
                         code_like_first);
    if (unterminated_files > 0)
        s += fmt::format("; warning: {} {} without a line end after {} last line (first {}): a file cut off, or still "
                         "being written, may end in half a value there: read as it stands where it parses (skipped, "
                         "as said, where not); check {}",
                         counted(size_t(unterminated_files), "file", "files"), unterminated_files == 1 ? "ends" : "end",
                         unterminated_files == 1 ? "its" : "their", unterminated_first,
                         unterminated_files == 1 ? "that line" : "those lines");
    if (empty_files > 0)
        s += fmt::format("; warning: {} with no data line{} (first {}): {} station read without {} (a failed "
                         "download?)", counted(size_t(empty_files), "file", "files"), empty_files == 1 ? "" : "s",
                         empty_first, empty_files == 1 ? "its" : "their", empty_files == 1 ? "it" : "them");
    if (empty_stations > 0)
        s += fmt::format("; warning: {} passed over: {} files hold no data line (first {})",
                         counted(size_t(empty_stations), "station", "stations"), empty_stations == 1 ? "its" : "their",
                         empty_station_first);
    if (stray_stations > 0)
        s += fmt::format("; warning: {} with rows years apart from the rest of {} own (first {}): a bad date? the "
                         "grid spans the gap as missing rows",
                         counted(size_t(stray_stations), "station", "stations"), stray_stations == 1 ? "its" : "their",
                         stray_first);
    if (!station_list.empty()) s += fmt::format("; station list: {}", station_list);
    return s;
}

}  // namespace fusedrnn::data
