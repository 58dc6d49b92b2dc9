#include "fusedrnn/core/data/csv_reader.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <memory>
#include <numeric>
#include <string_view>

#include <fmt/format.h>

#include "fusedrnn/core/data/grid_builder.h"
#include "fusedrnn/core/data/line_reader.h"
#include "fusedrnn/core/data/text.h"
#include "fusedrnn/core/data/time.h"
#include "fusedrnn/core/error.h"

namespace fusedrnn::data {

namespace {

struct Selected {
    size_t index;   // column index in the file
    CsvColumn col;  // how to read it
};

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

// The first column of that name, which must be there; `unique`: no other column may have that name (with two,
// which one is read would be a guess).
size_t find_column(const std::vector<std::string>& header, const std::string& name, const std::string& path,
                   const char* role, bool unique = true) {
    const auto it = std::find(header.begin(), header.end(), name);
    FR_CHECK(it != header.end(), "{}: {} column \"{}\" not found; available columns: {}{}", path, role, printable(name),
             join_names(header), header_hint(header));
    const size_t i = size_t(it - header.begin());
    if (unique) check_unique(header, i, path);
    return i;
}

std::string file_stem(const std::string& path) {
    std::filesystem::path p(path);
    if (p.extension() == ".gz") p = p.stem();
    return p.stem().string();
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

// The header line, read: what keeps a file from being a UTF-8 CSV at all is said as that, not as the odd column
// names it would give (UTF-16's NUL bytes, one line of CR-separated rows, a file that is only a byte-order mark).
std::vector<std::string> header_fields(LineReader& reader, const std::string& path, char delimiter) {
    std::string_view line;
    FR_CHECK(reader.next(line), "{}: empty file (expected a header line)", path);
    FR_CHECK(line.find('\0') == std::string_view::npos && !(line.size() >= 2 && line[0] == '\xFF' && line[1] == '\xFE'),
             "{}: the file is UTF-16 text (Excel's \"Unicode Text\"), not UTF-8: save it as CSV UTF-8, or convert "
             "it (iconv -f utf-16 -t utf-8)", path);
    FR_CHECK(line.find('\r') == std::string_view::npos, "{}: the lines end in a carriage return alone (classic Mac "
             "line ends), so the whole file reads as one line: convert them (tr '\\r' '\\n')", path);
    FR_CHECK(!trim(line).empty(), "{}: the first line is empty (expected a header line)", path);
    std::vector<std::string> fields;
    std::string why;
    FR_CHECK(split_csv(line, delimiter, fields, why), "{}: header: {}", reader.where(), why);
    for (auto& f : fields) f = std::string(trim(f));
    return fields;
}

// "column 3 ("TEMP")" for messages; the name comes from the file, so it is made printable.
std::string column_label(const std::vector<std::string>& header, size_t c) {
    return fmt::format("column {} (\"{}\")", c + 1, printable(header[c], 40));
}

// A time written with a 'T' between date and time (ISO 8601, as NCEI's LCD export writes it) where the format has a
// space: the format that reads it.
std::string iso_time_hint(const std::string& cell, const CsvFormat& format) {
    std::string with_t = format.time_format;
    int64_t t = 0;
    std::string ignored;
    const size_t t_at = with_t.find("%dT");
    if (t_at != std::string::npos) {  // the other way round: a space where the format has the 'T'
        with_t[t_at + 2] = ' ';
        return parse_time(cell, with_t, t, ignored)
                   ? fmt::format(" (a space between date and time, where the {} layout has a 'T': a file saved again "
                                 "by a spreadsheet? read it with --format csv --csv-time-format \"{}\" and its "
                                 "columns)", format.name, with_t)
                   : "";
    }
    const size_t space = with_t.find(' ');
    if (space == std::string::npos) return "";
    with_t[space] = 'T';
    if (!parse_time(cell, with_t, t, ignored)) return "";
    if (format.name == "noaa-lcd")
        return " (NCEI's own LCD export writes its times so: read it with --format ncei-lcd)";
    return fmt::format(" (a 'T' between date and time: {})",
                       format.name == "csv" ? fmt::format("give --csv-time-format \"{}\"", with_t)
                                            : fmt::format("not the {} layout's time format", format.name));
}

// The line's time in UTC seconds, from one date-time column or from year, month, day, hour[, minute[,
// second]] integer columns.
bool line_time(const std::vector<std::string>& fields, const std::vector<std::string>& header,
               const std::vector<size_t>& time_idx, const CsvFormat& format, int64_t& time, std::string& why) {
    if (time_idx.size() == 1) {
        const size_t c = time_idx[0];
        if (parse_time(fields[c], format.time_format, time, why)) {
            time -= format.utc_offset;
            return true;
        }
        why = column_label(header, c) + ": " + why + iso_time_hint(fields[c], format);
        return false;
    }
    long long parts[6] = {1970, 1, 1, 0, 0, 0};
    for (size_t k = 0; k < time_idx.size(); ++k) {
        const size_t c = time_idx[k];
        // Range-checked before the narrowing to CivilTime's int fields: month 4294967297 must not
        // wrap around to January.
        if (!parse_int(fields[c], parts[k]) || parts[k] < -99999 || parts[k] > 99999) {
            why = fmt::format("{}: \"{}\" is not an integer in range", column_label(header, c),
                              printable(fields[c]));
            return false;
        }
    }
    CivilTime ct;
    ct.year = parts[0];
    ct.month = int(parts[1]);
    ct.day = int(parts[2]);
    ct.hour = int(parts[3]);
    ct.minute = int(parts[4]);
    ct.second = int(parts[5]);
    if (!valid_civil(ct)) {
        why = fmt::format("columns {}: {}-{}-{} {}:{}:{} is not a valid date and time", join_names(format.time_columns),
                          parts[0], parts[1], parts[2], parts[3], parts[4], parts[5]);
        return false;
    }
    time = to_seconds(ct) - format.utc_offset;
    return true;
}

// Numbers that files write for "missing" (-9999, 99999, ...): read as data when no --csv-sentinel names them, they
// wreck the normalization statistics without a word. Counted, so that the report can say so.
bool looks_like_missing_code(double v) {
    for (const double code : {-999.0, -999.9, -9999.0, -9999.9, -99999.0, 9999.0, 9999.9, 99999.0})
        if (v == code) return true;
    return false;
}

// One selected cell: a missing token or sentinel (NaN, counted in `missing`), else a finite number
// (or compass point) that stays finite after scaling to a float; `code_like` says whether that number looks like a
// missing-value code.
// What to do about a time off the format's grid: data of a finer step (10-minute rows on an hourly grid: the step
// that fits this time is named), or times a little off it (reports at :51, rounded to the hour).
std::string off_grid_hint(int64_t time, int64_t step) {
    const int64_t fits = std::gcd(floor_mod(time, step), step);  // the longest step this time and the grid share
    const std::string finer = fits % 60 == 0 ? fmt::format("{} minutes", fits / 60) : fmt::format("{} seconds", fits);
    return fmt::format(" (rows every {}? give --csv-step-minutes {:g} with --format csv; times a little off the grid "
                       "are rounded to it with --csv-round-times)", finer, double(fits) / 60);
}

// Words files write for "no value": refused as numbers, with the flag that reads them as missing.
bool looks_like_missing_word(std::string_view t) {
    std::string lower(t);
    for (char& c : lower) c = char(std::tolower(static_cast<unsigned char>(c)));
    for (const char* w : {"n/a", "na", "nan", "null", "none", "-", "--", "?", "missing", "m", "#n/a", "nil", "x"})
        if (lower == w) return true;
    return false;
}

// "23s", "35V", "12*": a number with a quality flag after it (NOAA's LCD export marks suspect values so).
bool looks_like_flagged_number(std::string_view t) {
    size_t end = t.size();
    while (end > 0 && (std::isalpha(static_cast<unsigned char>(t[end - 1])) || t[end - 1] == '*')) --end;
    double v = 0;
    return end > 0 && t.size() - end <= 2 && parse_number(t.substr(0, end), v);
}

// "12,5": a decimal comma (the file's delimiter is then not a comma, or the cell is quoted).
bool looks_like_decimal_comma(std::string_view t) {
    const size_t comma = t.find(',');
    if (comma == std::string_view::npos || t.find(',', comma + 1) != std::string_view::npos) return false;
    std::string dotted(t);
    dotted[comma] = '.';
    double v = 0;
    return parse_number(dotted, v);
}

// A cell written as missing (one of the format's missing tokens).
bool is_missing_cell(const std::string& cell, const CsvFormat& format) {
    const std::string_view t = trim(cell);
    return std::find(format.missing_tokens.begin(), format.missing_tokens.end(), t) != format.missing_tokens.end();
}

// A number with the format's suspect flag after it ("23s"), in `v`.
bool suspect_number(std::string_view t, const CsvFormat& format, double& v) {
    const std::string& flag = format.suspect_suffix;
    if (flag.empty() || t.size() <= flag.size() || t.substr(t.size() - flag.size()) != flag) return false;
    const std::string_view number = t.substr(0, t.size() - flag.size());
    const char last = number.back();  // the flag is written against the number: "47 s" is no flagged value
    return ((last >= '0' && last <= '9') || last == '.') && parse_number(number, v) && std::isfinite(v);
}

// Cells of a line masked as missing: written as missing, or flagged suspect by the file.
struct MaskedCells {
    int64_t missing = 0;
    int64_t suspect = 0;
};

bool cell_value(const std::string& cell, const Selected& s, const std::vector<std::string>& header,
                const CsvFormat& format, float& out, MaskedCells& masked, bool& code_like, std::string& why) {
    code_like = false;
    const std::string_view t = trim(cell);
    double v = 0;
    const bool missing = is_missing_cell(cell, format);  // once: this runs for every cell read
    if (missing || suspect_number(t, format, v)) {
        out = kMissing;
        ++(missing ? masked.missing : masked.suspect);
        return true;
    }
    if (s.col.kind == ValueKind::Compass) {
        if (parse_compass(t, v)) {
            out = float(v * s.col.scale + s.col.offset);
            return true;
        }
        why = fmt::format("{}: \"{}\" is not a 16-point compass direction (N, NNE, ...)",
                          column_label(header, s.index), printable(cell));
        return false;
    }
    // A decimal comma is read as the point it stands for; a point in such a cell ("1.234,5": a thousands separator)
    // is then no number.
    std::string pointed;
    std::string_view number = t;
    if (format.decimal_mark != '.') {
        pointed.assign(t);
        if (pointed.find('.') != std::string::npos) pointed.clear();  // refused below, as written
        else std::replace(pointed.begin(), pointed.end(), format.decimal_mark, '.');
        number = pointed;
    }
    if (!parse_number(number, v)) {
        const std::string hint =
            looks_like_missing_word(t)
                ? fmt::format(" (if it marks a missing value, name it with --csv-missing \"{}\" in a custom "
                              "layout, --format csv)", printable(cell))
            : format.decimal_mark != '.'
                ? std::string(" (with --csv-decimal-comma, numbers are written like 1234,5: no thousands separator)")
            : looks_like_decimal_comma(t)
                ? std::string(" (a decimal comma? read such a file with --format csv --csv-decimal-comma and its "
                              "delimiter, e.g. --csv-delimiter ';')")
            : looks_like_flagged_number(t) && !format.suspect_suffix.empty()
                ? fmt::format(" (a number with a quality flag after it: the {} format reads \"{}\" after a number as "
                              "suspect and masks it; this flag it does not know: write such values as missing, or "
                              "skip their lines, every value on them, with --skip-bad-lines)", format.name, format.suspect_suffix)
            : looks_like_flagged_number(t)
                ? std::string(" (a number with a quality flag after it, as NCEI's own LCD export writes suspect "
                              "values? read that export with --format ncei-lcd; other files: remove the flags, or "
                              "write flagged values as missing, first)")
            : format.name != "csv"
                ? fmt::format(" (the {} format reads this column as a measurement: is the file in the layout "
                              "docs/data.md gives for it?)", format.name)
                : std::string(" (a column that is not a measurement? a custom layout, --format csv, reads only the "
                              "--csv-columns named)");
        why = fmt::format("{}: \"{}\" is not a number{}", column_label(header, s.index), printable(cell), hint);
        return false;
    }
    if (!std::isfinite(v)) {
        why = fmt::format("{}: non-finite value \"{}\" is not accepted as data (write missing values as an empty "
                          "cell or NA, or name this one with --csv-missing \"{}\")", column_label(header, s.index),
                          printable(cell), printable(cell));
        return false;
    }
    if (std::find(format.sentinels.begin(), format.sentinels.end(), v) != format.sentinels.end()) {
        out = kMissing;
        ++masked.missing;
        return true;
    }
    code_like = looks_like_missing_code(v);
    // A finite double can still overflow a float (1e300, or 3.5e38 once scaled): an Inf in the data.
    out = float(v * s.col.scale + s.col.offset);
    if (std::isfinite(out)) return true;
    why = fmt::format("{}: value \"{}\" is out of range for a 32-bit float", column_label(header, s.index),
                      printable(cell));
    return false;
}

bool line_values(const std::vector<std::string>& fields, const std::vector<std::string>& header,
                 const std::vector<Selected>& sel, const CsvFormat& format, float* values, MaskedCells& masked,
                 std::vector<char>& code_like, std::string& why) {
    code_like.assign(sel.size(), 0);
    for (size_t k = 0; k < sel.size(); ++k) {
        bool c = false;
        if (!cell_value(fields[sel[k].index], sel[k], header, format, values[k], masked, c, why)) return false;
        code_like[k] = c;
    }
    return true;
}

// An optional column's index, or header.size() when it is not named or not in the header.
size_t optional_column(const std::vector<std::string>& header, const std::string& name, const std::string& path) {
    if (name.empty()) return header.size();
    const size_t i = size_t(std::find(header.begin(), header.end(), name) - header.begin());
    if (i < header.size()) check_unique(header, i, path);
    return i;
}

// The format's unit checks on a line (CsvFormat::unit_checks; `check_idx` holds each one's column, header.size()
// where the header lacks it). A file in other units is wrong throughout, so this throws even under BadLines::Skip:
// passing over its lines would read the others in the wrong units.
// Returns the message of the first check that fails, "" when none does.
std::string unit_problem(const std::vector<std::string>& fields, const std::vector<std::string>& header,
                         const std::vector<size_t>& check_idx, const CsvFormat& format) {
    for (size_t k = 0; k < check_idx.size(); ++k) {
        if (check_idx[k] >= header.size()) continue;
        const std::string_view t = trim(fields[check_idx[k]]);
        double v = 0;
        if ((parse_number(t, v) || suspect_number(t, format, v)) &&
            (v < format.unit_checks[k].min || v > format.unit_checks[k].max))
            return fmt::format("{}: {} {}", column_label(header, check_idx[k]), printable(t),
                               format.unit_checks[k].why);
    }
    return "";
}

std::vector<size_t> unit_check_columns(const std::vector<std::string>& header, const CsvFormat& format,
                                       const std::string& path) {
    std::vector<size_t> idx;
    for (const auto& c : format.unit_checks) idx.push_back(optional_column(header, c.column, path));
    return idx;
}

// Whether a line is one the format passes over (CsvFormat::skip_column, skip_values).
bool passed_over(const std::vector<std::string>& fields, size_t skip_idx, const CsvFormat& format) {
    if (skip_idx >= fields.size()) return false;
    const std::string_view t = trim(fields[skip_idx]);
    return std::find(format.skip_values.begin(), format.skip_values.end(), t) != format.skip_values.end();
}

// An observation mask cell: "[1 1 0 1 1]", "1,1,0,1,1", "11011" -> one flag per feature (true = observed).
bool mask_flags(const std::string& cell, size_t mask_idx, const std::vector<std::string>& header,
                const std::vector<std::string>& features, std::vector<bool>& observed, std::string& why) {
    std::string_view t = trim(cell);
    if (t.size() >= 2 && t.front() == '[' && t.back() == ']') t = t.substr(1, t.size() - 2);
    observed.clear();
    for (char ch : t) {
        if (ch == '0' || ch == '1') observed.push_back(ch == '1');
        else if (ch != ' ' && ch != ',' && ch != '\t') {
            why = fmt::format("{}: \"{}\" is not an observation mask (0/1 flags such as [1 1 0 1 1])",
                              column_label(header, mask_idx), printable(cell));
            return false;
        }
    }
    if (observed.size() == features.size()) return true;
    why = fmt::format("{}: mask \"{}\" has {} flags, expected {} (one per variable: {})", column_label(header, mask_idx),
                      printable(cell), observed.size(), features.size(), join_names(features));
    return false;
}

// Applies the mask to the first features.size() values (the features come first in `values`) and says how
// many were filled in (the grid counts them if the line is kept).
FilledValues apply_mask(const std::vector<bool>& observed, bool drop, float* values) {
    FilledValues filled;
    for (size_t k = 0; k < observed.size(); ++k) {
        if (observed[k] || std::isnan(values[k])) continue;  // an already missing value is not "filled"
        if (drop) {
            values[k] = kMissing;
            ++filled.dropped;
        } else {
            ++filled.kept;
        }
    }
    return filled;
}

// A coordinate from a cell: set once, from the first cell that is a finite number within [-limit, limit].
void take_coordinate(const std::vector<std::string>& fields, size_t idx, double limit, double& coordinate) {
    if (idx >= fields.size() || !std::isnan(coordinate)) return;
    double v = 0;
    if (parse_number(fields[idx], v) && std::isfinite(v) && std::fabs(v) <= limit) coordinate = v;
}

// A quoted field may hold line breaks (a notes column saved by a spreadsheet): a record whose quote is still open at
// the end of its line goes on on the next ones. `line` (a view into the reader's buffer) is split into `fields`; when
// a quote is left open, it and the lines after it, joined with "\n" in `joined`, are split again, up to
// kMaxRecordLines lines: a stray quote must not swallow the rest of a big file. `where` names the record's lines
// ("file:7-9"). Returns split_csv's result for the whole record.
constexpr int kMaxRecordLines = 100;

bool split_record(LineReader& reader, std::string_view line, char delimiter, std::vector<std::string>& fields,
                  std::string& why, std::string& joined, std::string& where) {
    where = reader.where();
    if (split_csv(line, delimiter, fields, why)) return true;
    if (why != kUnterminatedQuote) return false;
    const int64_t first = reader.line_number();
    joined.assign(line);
    std::string_view next;
    for (int lines = 1; lines < kMaxRecordLines && reader.next(next); ++lines) {
        joined += '\n';
        joined.append(next);
        where = fmt::format("{}:{}-{}", reader.path(), first, reader.line_number());
        if (split_csv(joined, delimiter, fields, why)) return true;
        if (why != kUnterminatedQuote) return false;
    }
    why = fmt::format("{} (a quoted field may hold line breaks, but this one is still open after {} line{}: a stray "
                      "quote?)", kUnterminatedQuote, reader.line_number() - first + 1,
                      reader.line_number() == first ? "" : "s");
    return false;
}

}  // namespace

std::optional<bool> csv_units_match(const std::string& path, const CsvFormat& format, int max_records) {
    LineReader reader(path);
    const std::vector<std::string> header = header_fields(reader, path, format.delimiter);
    const std::vector<size_t> idx = unit_check_columns(header, format, path);
    std::string_view line;
    std::vector<std::string> fields;
    std::string why, joined, where;
    for (int n = 0; n < max_records && reader.next(line); ++n) {
        if (!split_record(reader, line, format.delimiter, fields, why, joined, where) || fields.size() != header.size())
            continue;  // the read proper names it
        if (!unit_problem(fields, header, idx, format).empty()) return false;
        for (size_t k = 0; k < idx.size(); ++k) {
            double v = 0;
            if (idx[k] < header.size() && (parse_number(trim(fields[idx[k]]), v) ||
                                           suspect_number(trim(fields[idx[k]]), format, v)))
                return true;  // a number within the checks: the units match
        }
    }
    return std::nullopt;
}

std::vector<std::string> read_csv_header(const std::string& path, char delimiter) {
    LineReader reader(path);
    return header_fields(reader, path, delimiter);
}

StationSeries read_csv_station(const std::string& path, const CsvFormat& format, ReadReport& report) {
    return read_csv_station_files({path}, file_stem(path), format, report);
}

StationSeries read_csv_station_files(const std::vector<std::string>& paths, const std::string& id,
                                     const CsvFormat& format, ReadReport& report) {
    FR_CHECK(!paths.empty(), "read_csv_station_files: no files for station \"{}\"", printable(id));
    FR_CHECK(!format.time_columns.empty() && format.time_columns.size() <= 6,
             "{} format: time_columns must name 1 to 6 columns (a date-time, or year, month, day, hour[, minute[, "
             "second]])", format.name);
    FR_CHECK(format.time_columns.size() == 1 || format.time_columns.size() >= 3,
             "{} format: with several time columns give at least year, month, day", format.name);
    // What the station's files share: one grid (its variables set by the first file), the station its lines name,
    // its name and coordinates.
    std::unique_ptr<GridBuilder> grid;
    std::vector<std::string> station_vars, targets;
    std::string station_value, station_first;  // the station the first line names, and that line
    std::string station_name;
    StationMeta meta;
    for (const std::string& path : paths) {
        LineReader reader(path);
        std::string_view line;
        std::vector<std::string> fields;
        std::string why;
        const std::vector<std::string> header = header_fields(reader, path, format.delimiter);

        // Resolve columns by name: time, name, features (all but time/name when none given), targets.
        std::vector<size_t> time_idx;
        for (const auto& t : format.time_columns) time_idx.push_back(find_column(header, t, path, "time"));
        const size_t name_idx = format.name_column.empty() || !format.name_required
                                    ? optional_column(header, format.name_column, path)
                                    : find_column(header, format.name_column, path, "name");
        // The first column of that name (NCEI's LCD export repeats REPORT_TYPE for its remarks, with the same value).
        const size_t skip_idx = format.skip_column.empty()
                                    ? header.size()
                                    : find_column(header, format.skip_column, path, "report type", /*unique*/ false);
        const size_t station_idx = optional_column(header, format.station_column, path);
        const std::vector<size_t> unit_check_idx = unit_check_columns(header, format, path);
        const size_t lat_idx = optional_column(header, format.latitude_column, path);
        const size_t lon_idx = optional_column(header, format.longitude_column, path);
        std::vector<CsvColumn> feature_cols = format.features;
        if (feature_cols.empty()) {
            for (size_t i = 0; i < header.size(); ++i) {
                if (i == name_idx || i == lat_idx || i == lon_idx ||
                    std::find(time_idx.begin(), time_idx.end(), i) != time_idx.end())
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
        std::vector<Selected> sel;
        std::vector<std::string> vars;
        auto add_var = [&](const CsvColumn& c, const char* role) {
            const std::string& v = c.var_name();
            if (std::find(vars.begin(), vars.end(), v) != vars.end()) return false;
            sel.push_back({find_column(header, c.name, path, role), c});
            vars.push_back(v);
            return true;
        };
        for (const auto& c : feature_cols)
            // With every column a feature (Jena), a header naming a column twice lands here: name the file.
            FR_CHECK(add_var(c, "feature"), "{}: {} format: variable \"{}\" is selected twice", path, format.name,
                     printable(c.var_name()));
        std::vector<std::string> feature_vars = vars;  // the mask's flags are for these, in this order
        size_t mask_idx = header.size();
        if (!format.mask_column.empty()) {
            const bool present = std::find(header.begin(), header.end(), format.mask_column) != header.end();
            if (present || format.mask_required) mask_idx = find_column(header, format.mask_column, path, "mask");
        }
        for (const auto& c : format.targets) add_var(c, "target");  // a target that is also a feature is read once
        if (!grid) {
            grid = std::make_unique<GridBuilder>(vars, format.step, format.rounding, format.valid_ranges);
            station_vars = vars;
            for (const auto& c : format.targets) targets.push_back(c.var_name());
        }
        FR_CHECK(vars == station_vars, "{}: its variables ({}) are not those of {} ({}), another file of station "
                 "\"{}\": the files of one station must have the same columns", path, join_names(vars), paths.front(),
                 join_names(station_vars), printable(id));
        grid->begin_file(path);
        ++report.files;
        const size_t rows_before = grid->size();
        std::vector<float> values(vars.size());
        std::vector<char> code_like;  // per selected cell of the line: a number that looks like a missing-value code
        std::vector<bool> observed;
        const bool masked = mask_idx < header.size();
        const auto var_index = [&](const std::string& v) {
            return size_t(std::find(vars.begin(), vars.end(), v) - vars.begin());  // vars.size() when absent
        };
        const size_t calm_dir = format.calm_direction.empty() ? vars.size() : var_index(format.calm_direction);
        const size_t calm_speed = format.calm_speed.empty() ? vars.size() : var_index(format.calm_speed);
        const bool calm_rule = calm_dir < vars.size() && calm_speed < vars.size();
        const std::string time_label = time_idx.size() == 1 ? column_label(header, time_idx[0])
                                                            : "columns " + join_names(format.time_columns);
        // A UTC offset that is not a whole number of steps (India's +5:30 on an hourly file) moves on-the-hour local
        // times off the UTC grid: say so, with the flag that snaps them.
        const std::string offset_hint =
            floor_mod(format.utc_offset, format.step) == 0
                ? std::string()
                : fmt::format(" (the UTC offset of {:g} h is not a whole number of {}-second steps, so the file's "
                              "times fall between grid rows: snap them with --csv-round-times)",
                              double(format.utc_offset) / 3600, format.step);
        auto on_grid = [&](int64_t t) {
            if (grid->accepts(t, why)) return true;
            why = time_label + ": " + why + (offset_hint.empty() ? off_grid_hint(t, format.step) : offset_hint);
            return false;
        };

        bool last_was_data = false;
        std::string joined, where;  // a record over several lines (a quoted line break), and its lines for messages
        while (reader.next(line)) {
            last_was_data = !trim(line).empty();
            if (!last_was_data) {  // harmless, but counted
                ++report.blank_lines;
                continue;
            }
            ++report.lines;
            // Parse the whole line first; a failure either throws or skips the line (counted).
            int64_t time = 0;
            MaskedCells masked_cells;
            const bool split = split_record(reader, line, format.delimiter, fields, why, joined, where) &&
                               field_count_ok(fields, header, why);
            if (split && passed_over(fields, skip_idx, format)) {
                ++report.passed_over_lines;
                if (report.passed_over_what.empty()) report.passed_over_what = format.skip_what;
                continue;
            }
            if (split) {
                const std::string units = unit_problem(fields, header, unit_check_idx, format);
                FR_CHECK(units.empty(), "{}: {}", where, units);
            }
            if (split && station_idx < header.size()) {
                // Thrown even under BadLines::Skip: every line of the other stations would be a bad line.
                const std::string_view st = trim(fields[station_idx]);
                if (station_first.empty()) {
                    station_value.assign(st);
                    station_first = where;
                }
                FR_CHECK(st == station_value, "{}: {}: \"{}\" is another station than \"{}\" (from {}): {}", where,
                         column_label(header, station_idx), printable(st), printable(station_value), station_first,
                         paths.size() == 1 ? "the file holds several stations; give each station a file of its own"
                                           : "the files of one station name another station");
            }
            const bool ok = split && line_time(fields, header, time_idx, format, time, why) && on_grid(time) &&
                            line_values(fields, header, sel, format, values.data(), masked_cells, code_like, why) &&
                            (!masked || mask_flags(fields[mask_idx], mask_idx, header, feature_vars, observed, why));
            if (!ok) {
                FR_CHECK(format.on_bad_line == BadLines::Skip, "{}: {}", where, why);
                ++report.skipped_lines;
                report.note(where + ": " + why);
                continue;
            }
            // The name goes into messages and reports: made printable like any text from a file.
            if (station_name.empty() && name_idx < header.size()) station_name = printable(trim(fields[name_idx]));
            take_coordinate(fields, lat_idx, 90, meta.latitude);
            take_coordinate(fields, lon_idx, 360, meta.longitude);
            // A calm written as no direction with speed 0 (LCD v2): the direction ISD-Lite gives a calm.
            if (calm_rule && std::isnan(values[calm_dir]) && values[calm_speed] == 0.0f &&
                is_missing_cell(fields[sel[calm_dir].index], format)) {
                values[calm_dir] = 0.0f;
                --masked_cells.missing;
                ++report.calm_directions;
            }
            report.missing_values += masked_cells.missing;
            report.suspect_values += masked_cells.suspect;
            grid->mask_out_of_range(values.data(), reader.line_number());
            for (size_t k = 0; k < sel.size(); ++k)  // those a valid range masked are counted there
                if (code_like[k] && !std::isnan(values[k])) {
                    if (report.code_like_values++ == 0)
                        report.code_like_first = fmt::format("{}: {}: {}", where, column_label(header, sel[k].index),
                                                             printable(trim(fields[sel[k].index])));
                }
            const FilledValues filled = masked ? apply_mask(observed, format.drop_filled, values.data())
                                                      : FilledValues{};
            grid->add(time, values.data(), reader.line_number(), report, filled);
        }
        report.note_end_of_file(reader, last_was_data);
        // One year's file of a station with several that holds nothing (a failed download) is counted, as ISD-Lite's.
        if (paths.size() > 1 && grid->size() == rows_before) report.note_empty_file(path);
    }
    FR_CHECK(grid->size() > 0, "{}: no data lines{}", paths.size() == 1 ? paths.front() : join_names(paths, 4),
             report.skipped_lines > 0 ? " (all were skipped as malformed)" : "");
    StationSeries s = grid->build(id, station_name.empty() ? id : station_name, report);
    s.targets = targets;
    s.meta = meta;
    return s;
}

}  // namespace fusedrnn::data
