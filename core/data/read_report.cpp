#include "core/data/read_report.h"

#include <fmt/format.h>

namespace fusedrnn::data {

void ReadReport::merge(const ReadReport& o) {
    files += o.files;
    lines += o.lines;
    records += o.records;
    skipped_lines += o.skipped_lines;
    duplicate_times += o.duplicate_times;
    rounded_times += o.rounded_times;
    missing_values += o.missing_values;
    gap_rows += o.gap_rows;
    filled_kept += o.filled_kept;
    filled_dropped += o.filled_dropped;
    for (const auto& e : o.examples) note(e);
    if (station_list.empty()) station_list = o.station_list;
}

std::string ReadReport::summary() const {
    std::string s = fmt::format("{} files, {} lines -> {} rows; {} lines skipped; {} duplicate times dropped; "
                                "{} times rounded to the grid; {} missing values; {} gap rows",
                                files, lines, records, skipped_lines, duplicate_times, rounded_times,
                                missing_values, gap_rows);
    // Only files with a mask column have these; most formats never do.
    if (filled_kept > 0) s += fmt::format("; {} filled-in values (the file's mask) read as data", filled_kept);
    if (filled_dropped > 0) s += fmt::format("; {} filled-in values (the file's mask) masked as missing", filled_dropped);
    if (!station_list.empty()) s += fmt::format("; station list: {}", station_list);
    return s;
}

}  // namespace fusedrnn::data
