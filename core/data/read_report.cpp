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
    for (const auto& e : o.examples) note(e);
}

std::string ReadReport::summary() const {
    std::string s = fmt::format("{} files, {} lines -> {} rows; {} lines skipped; {} duplicate times dropped; "
                                "{} times rounded to the grid; {} missing values; {} gap rows",
                                files, lines, records, skipped_lines, duplicate_times, rounded_times,
                                missing_values, gap_rows);
    return s;
}

}  // namespace fusedrnn::data
