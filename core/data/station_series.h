// fusedrnn::data — station time series.
// A StationSeries is one station on a regular time grid (row r is at time start + r·step, UTC
// seconds), values [rows, vars] in physical units. Missing values are NaN: a NaN marks "no
// observation" and nothing else (readers reject NaN/Inf written in files, see docs/data.md), and
// windows that touch one are never formed, so a NaN never reaches a model.
// A StationSet holds many stations on the same grid step with the same variables, concatenated
// into one [rows, vars] array: the layout that windows, normalization and the backends'
// gather_windows work on (rows of station s are [row_begin, row_begin + rows)).
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

namespace fusedrnn::data {

// WEATHER-5K's five variables, in its column order: TMP (°C), DEW (°C), WND_ANGLE (degrees from
// north), WND_RATE (m/s), SLP (hPa).
const std::vector<std::string>& weather5k_vars();
// The name every station reader gives wind direction (degrees from north): reports also score it round the compass.
inline constexpr const char* kWindDirection = "WND_ANGLE";

inline constexpr float kMissing = std::numeric_limits<float>::quiet_NaN();
inline bool is_missing(float v) { return std::isnan(v); }

// Optional station metadata; NaN where unknown.
struct StationMeta {
    double latitude = std::nan("");   // degrees north
    double longitude = std::nan("");  // degrees east
    double elevation = std::nan("");  // metres
};

// Where one of a station's values was read: for its variables' lowest and highest values, so that a message about
// an absurd one (data/far_values.h) can name the file and line to correct, which the grid of values no longer knows.
struct ValueOrigin {
    std::string var;
    float value = 0;
    std::string where;  // "data/S1.csv:102"
};

struct StationSeries {
    std::string id;                  // e.g. "010010-99999" or the file's stem
    std::string name;                // human-readable; equals id when unknown
    std::vector<std::string> vars;   // variable names, e.g. weather5k_vars()
    std::vector<std::string> targets;  // suggested forecast targets (subset of vars); empty = all vars
    int64_t start = 0;               // UTC seconds of row 0, a multiple of step
    int64_t step = 3600;             // seconds between rows
    std::vector<float> values;       // [rows, vars], NaN = missing
    StationMeta meta;
    // Per variable read from files (GridBuilder::build), its lowest and highest value with their file:line; empty
    // for generated stations. Keyed by name: variables made later (wind components) have none.
    std::vector<ValueOrigin> extremes;

    int num_vars() const { return int(vars.size()); }
    int64_t rows() const { return vars.empty() ? 0 : int64_t(values.size() / vars.size()); }
    int64_t time(int64_t row) const { return start + row * step; }
    float at(int64_t row, int var) const { return values[size_t(row) * vars.size() + size_t(var)]; }
    // Index of a variable; throws fusedrnn::Error listing the available ones.
    int var_index(const std::string& var) const;
    // Number of present (non-missing) values per variable.
    std::vector<int64_t> present_counts() const;
    // Puts the variables in `order` (their values' columns with them) when `order` holds the same names, each once;
    // returns false, changing nothing, when it does not. Files with the same columns in another order are one data
    // set: variables are matched by name.
    bool reorder_vars(const std::vector<std::string>& order);
};

struct StationInfo {
    std::string id, name;
    int64_t row_begin = 0;  // first row in StationSet::values
    int64_t rows = 0;
    int64_t start = 0;      // UTC seconds of its first row
    StationMeta meta;
    std::vector<ValueOrigin> extremes;  // StationSeries::extremes

    int64_t row_end() const { return row_begin + rows; }
    int64_t end_time(int64_t step) const { return start + rows * step; }  // one step past the last row
};

struct StationSet {
    std::vector<std::string> vars;
    std::vector<std::string> targets;  // suggested targets carried over from the readers (may be empty)
    int64_t step = 3600;
    std::vector<StationInfo> stations;
    std::vector<float> values;  // [rows(), vars], all stations back to back

    int num_vars() const { return int(vars.size()); }
    int num_stations() const { return int(stations.size()); }
    int64_t rows() const { return stations.empty() ? 0 : stations.back().row_end(); }
    int var_index(const std::string& name) const;  // throws listing the available names
    // Station holding global row `row` (binary search); throws when out of range.
    int station_of_row(int64_t row) const;
    // Earliest start and latest end (one step past the last row) over all stations.
    int64_t begin_time() const;
    int64_t end_time() const;

    // Appends one station (same vars and step as the set, or the first station sets them); throws
    // naming the station on a mismatch. Moves the values.
    void append(StationSeries&& s);
    // Concatenates stations in the given order.
    static StationSet from_series(std::vector<StationSeries>&& series);
    // Copy of one station back out (for inspection and tests).
    StationSeries station(int s) const;
};

}  // namespace fusedrnn::data
