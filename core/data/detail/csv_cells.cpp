#include "fusedrnn/core/data/detail/csv_cells.h"

#include <algorithm>
#include <charconv>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <numeric>

#include <fmt/format.h>

#include "fusedrnn/core/data/detail/csv_records.h"
#include "fusedrnn/core/data/text.h"
#include "fusedrnn/core/data/time.h"

namespace fusedrnn::data::csv_detail {

namespace {

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

// Numbers that files write for "missing" (-9999, 99999, ...): read as data when no --csv-sentinel names them, they
// wreck the normalization statistics without a word. Counted, so that the report can say so.
bool looks_like_missing_code(double v) {
    for (const double code : {-999.0, -999.9, -9999.0, -9999.9, -99999.0, 9999.0, 9999.9, 99999.0})
        if (v == code) return true;
    return false;
}

// Words files write for "no value": refused as numbers, with the flag that reads them as missing.
bool looks_like_missing_word(std::string_view t) {
    std::string lower(t);
    for (char& c : lower) c = char(std::tolower(static_cast<unsigned char>(c)));
    for (const char* w : {"n/a", "na", "nan", "null", "none", "-", "--", "?", "missing", "m", "#n/a", "nil", "x"})
        if (lower == w) return true;
    return false;
}

// How a cell that marks a missing value can be read so. A custom layout names its own tokens (--csv-missing); a
// preset's are fixed, and a --csv-* flag would turn it into a custom layout (reading other columns, or none), so its
// files must write missing values its way, or lose those lines.
std::string missing_value_hint(const CsvFormat& format, const std::string& cell) {
    std::vector<std::string> tokens;
    for (const auto& t : format.missing_tokens) tokens.push_back(t.empty() ? "an empty cell" : "\"" + printable(t) + "\"");
    const std::string as_missing = fmt::format("{}", fmt::join(tokens, " or "));
    if (format.name == "csv")
        return fmt::format("name it with --csv-missing \"{}\", or write missing values as {}", printable(cell),
                           as_missing);
    return fmt::format("the {} format reads {} as missing: write missing values so, or skip their lines, every "
                       "value on them, with --skip-bad-lines", format.name, as_missing);
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

}  // namespace

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
    // A year column of two digits (13 for 2013) would put the station 2,000 years before the others, one of years
    // since 1900 (113) 1,900 years (QA).
    if (parts[0] < kEarliestYear) {
        why = fmt::format("{}: {} is not a full year ({} the column must hold all four digits)",
                          column_label(header, time_idx[0]), parts[0], short_year_guess(parts[0]));
        return false;
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

namespace {
std::string seconds_in_words(int64_t s) {
    if (s % 60 != 0) return fmt::format("{} second{}", s, s == 1 ? "" : "s");
    return fmt::format("{} minute{}", s / 60, s == 60 ? "" : "s");
}
}  // namespace

std::string off_grid_hint(int64_t time, int64_t step, std::optional<int64_t> previous) {
    const int64_t off = floor_mod(time, step);
    const int64_t fits = std::gcd(off, step);  // the longest step this time and the grid share
    const bool finer_data = previous && std::llabs(time - *previous) < step;
    // Only a step the flag can be given exactly: whole minutes, or a minute's whole part (QA's recheck: 3200 s was
    // "--csv-step-minutes 6.66667", which the flag refuses); for a series offset from the grid, one of a few rows a
    // grid step.
    const bool typable = (fits % 60 == 0 || 60 % fits == 0) && (finer_data || step / fits <= 12);
    const std::string finer = typable ? fmt::format("rows every {}? give --csv-step-minutes {:g} with --format csv",
                                                    seconds_in_words(fits), double(fits) / 60)
                                      : std::string();
    const std::string rounding = "times a little off the grid are rounded to it with --csv-round-times";
    if (finer_data) return fmt::format(" ({}{}{})", finer, typable ? "; " : "", rounding);
    if (previous) return fmt::format(" ({}{}{})", rounding, typable ? "; or " : "", finer);
    const std::string example = step == 3600 && off % 60 == 0 ? fmt::format(", as hourly reports at :{:02}", off / 60)
                                                              : std::string();
    return fmt::format(" (the file's first time is {} past the grid{}? give --csv-round-times to file each row under "
                       "the nearest grid time{}{})",
                       seconds_in_words(off), example, typable ? "; or " : "", finer);
}

bool is_missing_cell(const std::string& cell, const CsvFormat& format) {
    const std::string_view t = trim(cell);
    return std::find(format.missing_tokens.begin(), format.missing_tokens.end(), t) != format.missing_tokens.end();
}

bool suspect_number(std::string_view t, const CsvFormat& format, double& v) {
    const std::string& flag = format.suspect_suffix;
    if (flag.empty() || t.size() <= flag.size() || t.substr(t.size() - flag.size()) != flag) return false;
    const std::string_view number = t.substr(0, t.size() - flag.size());
    const char last = number.back();  // the flag is written against the number: "47 s" is no flagged value
    return ((last >= '0' && last <= '9') || last == '.') && parse_number(number, v) && std::isfinite(v);
}

namespace {

// One selected cell: a missing token or sentinel (NaN, counted in `missing`), else a finite number
// (or compass point) that stays finite after scaling to a float; `code_like` says whether that number looks like a
// missing-value code.
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
        // A number too large or too small for a double reads as no number at all (QA: "1e999" was told of layouts).
        std::string_view digits = trim(number);
        if (!digits.empty() && digits.front() == '+') digits.remove_prefix(1);
        double ignored = 0;
        const auto read = std::from_chars(digits.data(), digits.data() + digits.size(), ignored);
        if (read.ec == std::errc::result_out_of_range) {
            // strtod tells an overflow (HUGE_VAL) from an underflow (0 or a subnormal).
            const bool tiny = std::fabs(std::strtod(std::string(digits).c_str(), nullptr)) < 1;
            why = fmt::format("{}: \"{}\" is a number {} for a double (a damaged value? correct it, or write it as "
                              "missing)", column_label(header, s.index), printable(cell),
                              tiny ? "too close to zero" : "too large");
            return false;
        }
        const std::string hint =
            t.find('\r') != std::string_view::npos
                ? std::string(" (it holds a carriage return: lines ending CR CR LF, or a stray one? remove it)")
            : looks_like_missing_word(t)
                ? fmt::format(" (if it marks a missing value, {})", missing_value_hint(format, cell))
            : format.decimal_mark != '.' && t.find('.') != std::string_view::npos
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
        why = fmt::format("{}: non-finite value \"{}\" is not accepted as data (if it marks a missing value, {})",
                          column_label(header, s.index), printable(cell), missing_value_hint(format, cell));
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

}  // namespace

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

bool passed_over(const std::vector<std::string>& fields, size_t skip_idx, const CsvFormat& format) {
    if (skip_idx >= fields.size()) return false;
    const std::string_view t = trim(fields[skip_idx]);
    return std::find(format.skip_values.begin(), format.skip_values.end(), t) != format.skip_values.end();
}

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

void take_coordinate(const std::vector<std::string>& fields, size_t idx, double limit, double& coordinate) {
    if (idx >= fields.size() || !std::isnan(coordinate)) return;
    double v = 0;
    if (parse_number(fields[idx], v) && std::isfinite(v) && std::fabs(v) <= limit) coordinate = v;
}

}  // namespace fusedrnn::data::csv_detail
