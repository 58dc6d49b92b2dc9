// fusedrnn::data — generic CSV station reader: one file = one station, columns chosen by name.
// The time is either one column parsed with a strftime-like format ("%Y-%m-%d %H:%M:%S", Jena's
// "%d.%m.%Y %H:%M:%S") or several integer columns read as year, month, day, hour[, minute[, second]]
// (the UCI Beijing files). Each selected column becomes a variable (optionally renamed, rescaled or
// read as a 16-point compass direction). Presets for the known layouts are in csv_presets.h.
//
// Missing values: a cell equal to one of `missing_tokens` (default "" and "NA"), or a number equal
// to one of `sentinels`, is masked (counted in ReadReport::missing_values). Any other cell must be a
// finite number: "nan", "inf" or text in a numeric column is an error naming file:line:column
// (or a counted skip of the line under BadLines::Skip) — a NaN is never let through as data.
//
// Implausible values: a number outside its variable's `valid_ranges` is masked too (ReadReport::out_of_range, per
// variable with the first file:line), before the observation mask is applied.
//
// Filled-in values: a file may carry a per-line observation mask (WEATHER-5K's MASK column, "[1 1 0 1 1]")
// telling which values were observed (1) and which its producer filled in (0). They are counted
// (ReadReport::filled_kept / filled_dropped) and, with drop_filled, masked like missing values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "fusedrnn/core/data/read_report.h"
#include "fusedrnn/core/data/station_series.h"
#include "fusedrnn/core/data/valid_ranges.h"

namespace fusedrnn::data {

enum class ValueKind {
    Number,   // a decimal number
    Compass,  // "N", "NNE", ..., "NNW" -> degrees from north (UCI Beijing's wd)
};

struct CsvColumn {
    std::string name;   // column name in the file's header
    std::string as;     // variable name in the series (empty = same as name)
    double scale = 1;   // value = raw·scale + offset (e.g. °F -> °C: 5/9, -160/9)
    double offset = 0;
    ValueKind kind = ValueKind::Number;

    CsvColumn() = default;
    CsvColumn(std::string n, std::string a = "", double s = 1, double o = 0, ValueKind k = ValueKind::Number)
        : name(std::move(n)), as(std::move(a)), scale(s), offset(o), kind(k) {}
    const std::string& var_name() const { return as.empty() ? name : as; }
};

struct CsvFormat {
    std::string name = "csv";                          // for messages ("jena", "beijing-multisite", ...)
    std::vector<std::string> time_columns = {"DATE"};  // one column, or year, month, day, hour[, minute[, second]]
    std::string time_format = "%Y-%m-%d %H:%M:%S";     // used when time_columns has one entry
    int64_t utc_offset = 0;  // seconds the file's clock is ahead of UTC (Beijing local time: +8 h)
    int64_t step = 3600;     // grid step in seconds (Jena: 600)
    TimeRounding rounding = TimeRounding::Exact;
    // Input features; empty = every column except the time columns and name_column.
    std::vector<CsvColumn> features;
    // Forecast targets; each is read as a variable too (appended after the features unless it is one
    // of them) and recorded in StationSeries::targets. Empty = no suggestion (all variables).
    std::vector<CsvColumn> targets;
    std::vector<std::string> missing_tokens = {"", "NA"};
    std::vector<double> sentinels;  // raw numbers meaning "missing" (e.g. -9999)
    char delimiter = ',';
    char decimal_mark = '.';        // ',' for numbers written "12,5" (the delimiter is then not ',')
    std::string name_column;        // optional: the station's name is this column's first value
    bool name_required = true;      // false: the name column is read when the header has it (NCEI's newer exports)
    // Optional station coordinates (degrees north / east): the first value of these columns that is a number in range
    // (StationSeries::meta), when the header has them — WEATHER-5K's LATITUDE and LONGITUDE. Not variables.
    std::string latitude_column, longitude_column;
    // Optional observation-mask column: one 0/1 flag per feature, in the order of `features` (all of the file's
    // feature columns when `features` is empty), as "[1 1 0 1 1]", "1,1,0,1,1" or "11011"; 0 = filled in.
    std::string mask_column;
    bool mask_required = false;     // false: used when the header has it, ignored when not (a preset's option)
    bool drop_filled = false;       // mask the values flagged 0 as missing (else they stay data, counted)
    // Values outside their variable's valid range (named as in the series: `as`, not the file's column) are masked
    // as missing and counted; ranges for variables the file does not have are not used. The presets carrying
    // TMP, DEW, WND_* or SLP have NOAA's limits (noaa_isd_ranges()); a custom layout has none unless given.
    ValidRanges valid_ranges;
    // Optional: lines that are not observations, told by a column's value — NOAA LCD's daily and monthly summaries
    // (REPORT_TYPE "SOD", "SOM"): passed over and counted (ReadReport::passed_over_lines), `skip_what` naming them.
    // The column must be in the header; its first occurrence is read (NCEI's export names REPORT_TYPE twice, the
    // second time for its remarks section, with the same value).
    std::string skip_column;
    std::vector<std::string> skip_values;  // compared with the cell trimmed
    std::string skip_what;                 // "daily and monthly summaries (REPORT_TYPE SOD, SOM)"
    // Optional: a quality flag written after a number ("23s": NOAA LCD's suspect value). Such a value is masked as
    // missing and counted (ReadReport::suspect_values); any other text after a number stays an error.
    std::string suspect_suffix;
    // Checks that a file is in the units the format converts from: a number outside [min, max] in `column` (when the
    // header has it; a suspect flag after it is allowed) is an error naming the file, line and column, then saying
    // `why`, even under BadLines::Skip. NCEI's metric LCD files write pressures in hPa where its standard ones have
    // inches of mercury.
    struct UnitCheck {
        std::string column;
        double min = 0, max = 0;
        std::string why;
    };
    // Optional: a calm written as no wind direction with speed 0 (NCEI's LCD v2: an empty HourlyWindDirection where
    // the legacy export has 0). A missing direction (a missing token) with a speed of exactly 0 is read as 0, the
    // calm of ISD-Lite and the legacy export, and counted (ReadReport::calm_directions); with another speed it stays
    // missing. The two name variables as the series has them ("WND_ANGLE", "WND_RATE").
    std::string calm_direction, calm_speed;
    // Optional: a column naming the station on every line (NCEI's STATION). It must not change within a file: an
    // order of several stations in one file would otherwise be read as one station's series.
    std::string station_column;
    std::vector<UnitCheck> unit_checks;
    BadLines on_bad_line = BadLines::Error;
};

// Reads one station file. The station id is the file name without its extension. Throws
// fusedrnn::Error naming the file for: a missing/empty header, unknown column names (listing the
// available ones), and — naming file:line:column — wrong field counts, non-numeric or non-finite
// values, unparsable times, off-grid times under TimeRounding::Exact.
StationSeries read_csv_station(const std::string& path, const CsvFormat& format, ReadReport& report);

// Whether the first `max_records` records of a CSV file pass the format's unit checks (CsvFormat::unit_checks), or
// nothing when none of them holds a number in a checked column: which unit system a file is in, for format detection
// (NCEI's LCD files, standard or metric).
std::optional<bool> csv_units_match(const std::string& path, const CsvFormat& format, int max_records);

// Reads the files of one station (LCD v2's one per year, in time order) into one series with the id given: one grid,
// so a report rounded into the next file's first hour is a duplicate time like any other. Every file must give the
// same variables; one with no data line among several is counted (ReadReport::empty_files); a station column
// (CsvFormat::station_column) must name the same station throughout.
StationSeries read_csv_station_files(const std::vector<std::string>& paths, const std::string& id,
                                     const CsvFormat& format, ReadReport& report);

// The header (column names) of a CSV file, for format detection and messages.
std::vector<std::string> read_csv_header(const std::string& path, char delimiter = ',');

}  // namespace fusedrnn::data
