// fusedrnn — stations written out as CSV files, one per station, in the layout `--format csv` reads with its
// defaults: a DATE column ("2014-01-01 00:00:00", UTC), one column per variable, a row for every step of the
// station's grid from its first row to its last, and an empty cell wherever a value is missing (absent hours
// included), so the files hold exactly what the model would see and nothing is filled in.
// `fusedrnn data synth` writes the synthetic stations this way, `fusedrnn data export` any station data it reads
// (to look at it in other tools, or to add columns of one's own as model inputs).
#pragma once

#include <string>
#include <vector>

#include "fusedrnn/core/data/station_series.h"

namespace fusedrnn::tools {

struct StationCsvOptions {
    // Values with one decimal, as WEATHER-5K's files (the synthetic stations); else the shortest text that reads
    // back as the same float.
    bool one_decimal = false;
    // Four more columns, the time of each row on two circles, as inputs a model may use (not as targets):
    // HOUR_SIN, HOUR_COS (local solar time: UTC + longitude/15 h where the station's longitude is known, else the
    // series' own clock: UTC, or local standard time for the noaa-lcd and ncei-lcd(-metric) formats)
    // and DOY_SIN, DOY_COS (day of the year, UTC).
    bool time_columns = false;
};

// The names of the time columns, in file order.
const std::vector<std::string>& time_column_names();

// Writes station `station` of `set` to `path` (atomically: a failure leaves no partial file).
void write_station_csv(const data::StationSet& set, int station, const std::string& path, const StationCsvOptions& o);

// The file name station `station` is written to in a folder: its id, with characters that are not safe in file names
// replaced by '_', and ".csv".
std::string station_csv_name(const data::StationSet& set, int station);

}  // namespace fusedrnn::tools
