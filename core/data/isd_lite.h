// fusedrnn::data — NOAA ISD-Lite reader (the source family of WEATHER-5K).
// Format (NOAA isd-lite-format): one 61-character fixed-width line per hour that had a report,
// year month day hour (UTC) then eight 6-character integer fields: air temperature (°C×10), dew point
// (°C×10), sea-level pressure (hPa×10), wind direction (degrees, calm = 0), wind speed (m/s×10),
// sky cover, 1-h and 6-h precipitation; -9999 = missing. Files are named USAF-WBAN-YEAR, optionally
// gzip-compressed (.gz). Hours with no line become missing rows of the hourly grid.
// Output variables: weather5k_vars() = TMP, DEW, WND_ANGLE, WND_RATE, SLP in physical units. Values outside NOAA's
// documented limits (noaa_isd_ranges()) are masked as missing and counted in the report.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "fusedrnn/core/data/read_report.h"
#include "fusedrnn/core/data/station_series.h"
#include "fusedrnn/core/data/valid_ranges.h"

namespace fusedrnn::data {

struct IsdLiteOptions {
    BadLines on_bad_line = BadLines::Error;
    // Values outside these are masked as missing and counted (NOAA's documented limits unless replaced).
    ValidRanges valid_ranges = noaa_isd_ranges();
};

// Reads one station-year file. The station id is taken from the file name ("010010-99999") when it
// follows NOAA's naming, else the file's stem. Throws naming file:line:columns for a short
// (truncated) line, a non-numeric field or an impossible date, unless on_bad_line == Skip.
StationSeries read_isd_lite(const std::string& path, ReadReport& report, const IsdLiteOptions& opts = {});

// Reads several files of one station (e.g. its yearly files) into one series.
StationSeries read_isd_lite_files(const std::vector<std::string>& paths, const std::string& station_id,
                                  ReadReport& report, const IsdLiteOptions& opts = {});

// Whether `filename` (no directory) looks like an ISD-Lite file, USAF-WBAN-YEAR[.gz] (6 digits,
// 5 digits, 4 digits); if so, sets `station_id` to "USAF-WBAN".
bool isd_lite_filename(const std::string& filename, std::string* station_id = nullptr);

// NOAA's station history (isd-history.csv): "USAF-WBAN" -> name (with country) and location. A location field that
// is empty, no number or out of range is unknown (NaN); a station listed twice takes its first row; a row that does
// not split into the header's fields is passed over, counted in `unread` with the first one's line (when given).
struct IsdStation {
    std::string name;
    StationMeta meta;
};
struct IsdHistoryUnread {
    int64_t rows = 0;
    std::string first;  // "path:line: why"
};
std::map<std::string, IsdStation> read_isd_history(const std::string& path, IsdHistoryUnread* unread = nullptr);

}  // namespace fusedrnn::data
