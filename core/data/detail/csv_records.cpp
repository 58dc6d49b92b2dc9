#include "fusedrnn/core/data/detail/csv_records.h"

#include "fusedrnn/core/data/detail/not_text.h"

#include <algorithm>

#include <fmt/format.h>

#include "fusedrnn/core/data/text.h"
#include "fusedrnn/core/error.h"

namespace fusedrnn::data::csv_detail {

namespace {

// A column the reader uses must be named once: with two, which one is read would be a guess.
void check_unique(const std::vector<std::string>& header, size_t i, const std::string& path) {
    for (size_t j = i + 1; j < header.size(); ++j)
        FR_CHECK(header[j] != header[i], "{}: column \"{}\" appears twice in the header (columns {} and {})", path,
                 printable(header[i]), i + 1, j + 1);
}

// Why `header` may not be what the format expects, for a "not found" message: one column holding a delimiter
// (the file is split by another one), or a first line that looks like data.
std::string header_hint(const std::vector<std::string>& header) {
    if (header.size() == 1) {
        for (const char d : {',', ';', '\t'}) {
            if (header[0].find(d) != std::string::npos)
                return fmt::format(" (the header has one column: is the delimiter right? it contains {}: give "
                                   "--csv-delimiter {} with --format csv)",
                                   d == '\t' ? std::string("tabs") : fmt::format("'{}'", d),
                                   d == '\t' ? std::string("tab") : fmt::format("'{}'", d));
        }
    }
    if (!header.empty() && !header[0].empty() && header[0][0] >= '0' && header[0][0] <= '9')
        return " (the first line starts with digits: it does not look like a header; is the format right?)";
    return "";
}

constexpr int kMaxRecordLines = 100;

}  // namespace

size_t find_column(const std::vector<std::string>& header, const std::string& name, const std::string& path,
                   const char* role, bool unique) {
    const auto it = std::find(header.begin(), header.end(), name);
    FR_CHECK(it != header.end(), "{}: {} column \"{}\" not found; available columns: {}{}", path, role, printable(name),
             join_names(header), header_hint(header));
    const size_t i = size_t(it - header.begin());
    if (unique) check_unique(header, i, path);
    return i;
}

size_t optional_column(const std::vector<std::string>& header, const std::string& name, const std::string& path) {
    if (name.empty()) return header.size();
    const size_t i = size_t(std::find(header.begin(), header.end(), name) - header.begin());
    if (i < header.size()) check_unique(header, i, path);
    return i;
}

bool field_count_ok(const std::vector<std::string>& fields, const std::vector<std::string>& header,
                    std::string& why) {
    if (fields.size() == header.size()) return true;
    const bool extra_empty =
        fields.size() > header.size() &&
        std::all_of(fields.begin() + long(header.size()), fields.end(),
                    [](const std::string& f) { return trim(f).empty(); });
    why = extra_empty ? fmt::format("{} fields, the header has {}: the line ends in {} (a delimiter at the end of "
                                    "each data line? remove it, or name that column in the header)",
                                    fields.size(), header.size(),
                                    counted(fields.size() - header.size(), "empty field", "empty fields"))
                      : fmt::format("{} fields, the header has {} (truncated or malformed line?)", fields.size(),
                                    header.size());
    return false;
}

std::vector<std::string> header_fields(LineReader& reader, const std::string& path, char delimiter) {
    std::string_view line;
    // Of one station among several (a failed download), the reader may pass over it: NoDataLines.
    if (!reader.next(line))
        throw NoDataLines(detail::located(__FILE__, __LINE__, fmt::format("{}: empty file (expected a header line)", path)));
    const std::string not_text = not_text_why(line);
    FR_CHECK(not_text.empty(), "{}: the file {}", path, not_text);
    // A carriage return left in the header (LineReader takes one off a line's end) is told apart by where it stands
    // (QA: CR CR LF line ends and a stray CR were all "classic Mac line ends", whose advice would break the file).
    if (const size_t cr = line.find('\r'); cr != std::string_view::npos) {
        const std::string line_ends = line_end_why(line, reader.last_line_unterminated());
        FR_CHECK(line_ends.empty(), "{}: {}", path, line_ends);
        FR_FAIL("{}: the header holds a carriage return inside it, before \"{}\": remove it", reader.where(),
                printable(line.substr(cr + 1), 40));
    }
    if (trim(line).empty()) {
        // Nothing but line breaks (a failed download, a BOM alone) holds no data, like a 0-byte file: the readers may
        // pass it over. A header below blank lines is an error.
        std::string_view rest;
        bool only_blank = true;
        while (only_blank && reader.next(rest)) only_blank = trim(rest).empty();
        if (only_blank)
            throw NoDataLines(detail::located(__FILE__, __LINE__, fmt::format("{}: only blank lines (expected a header "
                                                                              "line)", path)));
        FR_FAIL("{}: the first line is empty (expected a header line)", path);
    }
    std::vector<std::string> fields;
    std::string why;
    FR_CHECK(split_csv(line, delimiter, fields, why), "{}: header: {}", reader.where(), why);
    for (auto& f : fields) f = std::string(trim(f));
    return fields;
}

std::string column_label(const std::vector<std::string>& header, size_t c) {
    return fmt::format("column {} (\"{}\")", c + 1, printable(header[c], 40));
}

bool split_record(LineReader& reader, std::string_view line, char delimiter, std::vector<std::string>& fields,
                  std::string& why, std::string& joined, std::string& where) {
    where = reader.where();
    if (split_csv(line, delimiter, fields, why)) return true;
    if (why != kUnterminatedQuote) return false;
    const int64_t first = reader.line_number();
    joined.assign(line);
    std::string_view next;
    bool at_end = false;
    for (int lines = 1; lines < kMaxRecordLines; ++lines) {
        if (!reader.next(next)) {
            at_end = true;
            break;
        }
        joined += '\n';
        joined.append(next);
        where = fmt::format("{}:{}-{}", reader.path(), first, reader.line_number());
        if (split_csv(joined, delimiter, fields, why)) return true;
        if (why != kUnterminatedQuote) return false;
    }
    const int64_t spanned = reader.line_number() - first + 1;
    why = at_end ? fmt::format("{} (a quoted field may hold line breaks, but this one is still open at the end of the "
                               "file, {} on: a stray quote?)", kUnterminatedQuote,
                               counted(size_t(spanned), "line", "lines"))
                 : fmt::format("{} (a quoted field may hold line breaks, but this one is still open after {}: a "
                               "stray quote?)", kUnterminatedQuote, counted(size_t(spanned), "line", "lines"));
    return false;
}

std::vector<size_t> unit_check_columns(const std::vector<std::string>& header, const CsvFormat& format,
                                       const std::string& path) {
    std::vector<size_t> idx;
    for (const auto& c : format.unit_checks) idx.push_back(optional_column(header, c.column, path));
    return idx;
}

FileColumns resolve_columns(const std::vector<std::string>& header, const CsvFormat& format, const std::string& path) {
    FileColumns c;
    for (const auto& t : format.time_columns) c.time.push_back(find_column(header, t, path, "time"));
    c.name = format.name_column.empty() || !format.name_required
                 ? optional_column(header, format.name_column, path)
                 : find_column(header, format.name_column, path, "name");
    // The first column of that name (NCEI's LCD export repeats REPORT_TYPE for its remarks, with the same value).
    c.skip = format.skip_column.empty()
                 ? header.size()
                 : find_column(header, format.skip_column, path, "report type", /*unique*/ false);
    c.station = optional_column(header, format.station_column, path);
    c.unit_checks = unit_check_columns(header, format, path);
    c.latitude = optional_column(header, format.latitude_column, path);
    c.longitude = optional_column(header, format.longitude_column, path);
    // The features: those the format names, or every column but the time, name, coordinates and mask.
    std::vector<CsvColumn> feature_cols = format.features;
    if (feature_cols.empty()) {
        for (size_t i = 0; i < header.size(); ++i) {
            if (i == c.name || i == c.latitude || i == c.longitude ||
                std::find(c.time.begin(), c.time.end(), i) != c.time.end())
                continue;
            if (!format.mask_column.empty() && header[i] == format.mask_column) continue;  // flags, not a variable
            // A variable with no name could be neither told apart nor named in any message.
            FR_CHECK(!trim(header[i]).empty(), "{}: column {} of the header has no name{}; name it, or pick the "
                     "columns (--csv-columns)", path, i + 1,
                     i + 1 == header.size() ? " (a comma at the end of the header line?)" : "");
            feature_cols.emplace_back(header[i]);
        }
        FR_CHECK(!feature_cols.empty(), "{}: no feature columns besides the time; columns: {}", path,
                 join_names(header));
    }
    auto add_var = [&](const CsvColumn& col, const char* role) {
        const std::string& v = col.var_name();
        if (std::find(c.vars.begin(), c.vars.end(), v) != c.vars.end()) return false;
        c.selected.push_back({find_column(header, col.name, path, role), col});
        c.vars.push_back(v);
        return true;
    };
    for (const auto& col : feature_cols)
        // With every column a feature (Jena), a header naming a column twice lands here: name the file.
        FR_CHECK(add_var(col, "feature"), "{}: {} format: variable \"{}\" is selected twice", path, format.name,
                 printable(col.var_name()));
    c.feature_vars = c.vars;
    c.mask = header.size();
    if (!format.mask_column.empty()) {
        const bool present = std::find(header.begin(), header.end(), format.mask_column) != header.end();
        if (present || format.mask_required) c.mask = find_column(header, format.mask_column, path, "mask");
    }
    for (const auto& col : format.targets) add_var(col, "target");  // a target that is also a feature is read once
    return c;
}

}  // namespace fusedrnn::data::csv_detail
