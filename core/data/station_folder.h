// fusedrnn::data — reading all station files of a folder (or one file) in a known format.
// Formats: "isd-lite" (files USAF-WBAN-YEAR[.gz]; the yearly files of one station are merged, and
// names/locations come from an isd-history.csv[.txt] in the same folder when present), the CSV
// presets of csv_presets.h ("weather5k", "jena", "beijing-multisite", "pm25-five-cities",
// "noaa-lcd", "ncei-lcd", "ncei-lcd-metric"), "csv" (a custom CsvFormat), or "auto": ISD-Lite when such
// file names are present, else the CSV preset recognised from the first CSV file's header (for NCEI's LCD files, with the unit system
// their pressures show). LCD v2's yearly files, LCD_<station>_<year>.csv, merge into one series per station.
// Files are read in parallel (OpenMP) but results, reports and errors are in file-name order, so a
// run is reproducible whatever the thread count.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "fusedrnn/core/data/csv_reader.h"
#include "fusedrnn/core/data/read_report.h"
#include "fusedrnn/core/data/station_series.h"

namespace fusedrnn::data {

struct StationReadOptions {
    std::string format = "auto";  // "auto", "isd-lite", a CSV preset name, or "csv" (uses `csv`)
    CsvFormat csv;                // the layout for format == "csv"
    BadLines on_bad_line = BadLines::Error;  // applied to every file
    bool drop_filled = false;     // values a file's observation mask marks as filled in become missing
    // Valid ranges given by the user (the command line's --valid-range), for variables as the series name them:
    // each replaces the format's own range for its variable (NOAA's limits for the known formats) or adds one.
    // Values outside are masked as missing and counted. A range for a variable the data does not have is an error.
    ValidRanges valid_ranges;
    // The ranges of the format a model was trained with (format_valid_ranges), for eval and predict reading files in
    // another format: each applies to its variable where neither this format nor valid_ranges gives one, so values
    // the training read masked as implausible are masked again. Unlike valid_ranges, a variable the data lacks is
    // passed over.
    ValidRanges trained_ranges;
    int max_stations = 0;         // read only the first N stations (file-name order); 0 = all
    // Read only these station ids (empty = all): known from the file names, so the other files are not read at all
    // (predict --station). An id no file has is an error, before anything is read.
    std::vector<std::string> only_stations;
    // Called on the calling thread after each chunk of stations is read (stations done, total): thousands
    // of files take minutes.
    std::function<void(size_t, size_t)> on_progress;
};

struct StationFiles {
    std::string format;                      // the format used (resolved from "auto")
    std::vector<std::vector<std::string>> stations;  // per station, its files (ISD-Lite: one per year)
    std::vector<std::string> station_ids;
    std::vector<std::string> ignored;        // files in the folder that are not station files (or not used)
    std::vector<std::string> subfolders;     // folders in the folder: not searched
    std::string station_list;                // ISD-Lite: the isd-history.csv[.txt] used for names and coordinates
    std::string detected_from;               // the CSV file the format was detected from ("" when given)
};

// Lists the station files under `path` (a folder, or a single file) for `opts.format`. Throws
// fusedrnn::Error when the path does not exist or cannot be read, or holds no station file of the
// format (naming the folder, the format and what it does hold), when two files give the same station
// (CSV "S1.csv" and "S1.csv.gz"; ISD-Lite two files of one station-year), or when a symbolic link named
// like a station file points to nothing (other such links are listed in `ignored`).
StationFiles list_station_files(const std::string& path, const StationReadOptions& opts = {});

struct StationData {
    StationSet set;              // all stations, concatenated
    ReadReport report;           // summed over files
    std::string format;
    std::vector<std::string> ignored;  // files not read (not station files of the format)
    std::vector<std::string> subfolders;  // folders in the folder: not searched
    std::string station_list;          // ISD-Lite: the station list read for names and coordinates ("" = none)
};

// The valid ranges a known format applies by itself: NOAA's limits (noaa_isd_ranges) for isd-lite and the presets
// that carry those variables, none for "csv" (a custom layout), "auto" or "". Throws for an unknown name.
ValidRanges format_valid_ranges(const std::string& format);

// Reads every station under `path` into one StationSet (file-name order).
StationData read_station_set(const std::string& path, const StationReadOptions& opts = {});

}  // namespace fusedrnn::data
