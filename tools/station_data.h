// Where the forecasting commands get their stations: real files (--data) or the built-in synthetic
// generator, and the translation of a windowed dataset to the device.
#pragma once

#include <functional>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "fusedrnn/core/backend.h"
#include "fusedrnn/core/data/dataset.h"
#include "fusedrnn/core/data/read_report.h"
#include "fusedrnn/core/data/station_series.h"
#include "fusedrnn/core/data/valid_ranges.h"
#include "fusedrnn/models/forecast_trainer.h"
#include "fusedrnn/tools/csv_options.h"

namespace fusedrnn::tools {

struct DataOptions {
    std::string path;               // empty = synthetic stations
    std::string format = "auto";
    CsvOptions csv;                 // the layout when format == "csv"
    bool csv_given = false;         // a --csv-* flag was used (implies --format csv)
    bool skip_bad_lines = false;
    bool drop_filled = false;       // values the files' mask column marks as filled in are read as missing
    std::vector<std::string> valid_ranges;  // --valid-range NAME=LO:HI as given (stored so in checkpoints)
    int max_stations = 0;
    std::vector<std::string> only_stations;  // read only these station files (predict --station); not stored
    // eval, predict: the format the checkpoint's model was trained on, whose own valid ranges fill in where the
    // format read now has none (data_for_checkpoint sets it); not stored
    std::string trained_format;
    int syn_stations = 16;
    int syn_years = 3;
    int syn_start_year = 2021;
    uint64_t syn_seed = 0;
    double syn_gaps = 0.01;

    bool synthetic() const { return path.empty(); }
    // The format the files are read in: "csv" whenever a --csv-* flag was used.
    std::string effective_format() const { return csv_given ? "csv" : format; }
    nlohmann::json to_json() const;
    static DataOptions from_json(const nlohmann::json& j);
    std::string describe() const;
};

// The data flags. `defaults`: what the command reads without them: the built-in synthetic stations (train, data), or
// the data the checkpoint records (eval, predict; data_for_checkpoint), which the help then says, with no defaults
// of its own shown.
enum class DataDefaults { BuiltIn, Checkpoint };
void add_data_options(CLI::App* cmd, DataOptions& o, DataDefaults defaults = DataDefaults::BuiltIn);

// The --valid-range values as ranges; throws Error naming the flag for a malformed one or a variable given twice.
data::ValidRanges parse_valid_ranges(const std::vector<std::string>& specs);

// The data a command holding a checkpoint reads (eval, predict): the checkpoint's own unless the command
// line names data; station files named without --format or --csv-* flags are read in the checkpoint's
// format and CSV layout (when it was trained on files).
DataOptions data_for_checkpoint(const CLI::App* cmd, const DataOptions& given, const DataOptions& from_checkpoint);

// What the outputs that write the values and times read say of them: the clock (clock_of_times) and the units where
// the reader converted them (converted_units), both of the format the files were read in.
struct ReadLabels {
    std::string clock;
    std::string units;
    std::string format;  // the format read ("auto" resolved), for converted_unit
};

// load_stations(data_for_checkpoint(...)), and when files named by --data fail to read in the format taken over
// from the checkpoint, the error says so and how to read them otherwise: the format they look like, where it reads
// them and `fits_model` (which throws when a set does not fit the checkpoint's model) takes what it reads.
data::StationSet load_stations_for_checkpoint(const CLI::App* cmd, const DataOptions& given,
                                              const DataOptions& from_checkpoint, ReadLabels* labels = nullptr,
                                              const std::function<void(data::StationSet&)>& fits_model = {});

// The clock of the times read with `o` in `format_read` (the format the files were read in), for the outputs that
// write times: "UTC", "local standard time (...)", or "the files' own clock (...)" where fusedrnn cannot know it.
std::string clock_of_times(const DataOptions& o, const std::string& format_read);

// The units values read in `format` stand in where the reader converted them (NOAA LCD's °F to °C, ...), for the
// outputs that would say "original units" (QA: LCD forecasts in °C said only that); "" where values are as in the
// files.
std::string converted_units(const std::string& format);
// The unit one variable read in `format` stands in where the reader converted it ("°C, converted from °F" for an LCD
// file's TMP), for a plot's axis; "" where it is as in the files.
std::string converted_unit(const std::string& format, const std::string& variable);
// What converted_unit says of the `targets` a report scores, grouped: "TMP and DEW in °C, converted from °F; the others
// as in the files"; "" where none was converted (QA's recheck: an RH-only report was told of TMP and DEW).
std::string converted_units_of(const std::string& format, const std::vector<std::string>& targets);

// --split as train and eval take it: "auto" (synthetic data: the last two years validate and test, by year; station
// files: the first 70% of the time span trains, the next 15% validates, the rest tests), or SplitSpec::parse's forms
// (an error naming --split).
data::SplitSpec split_from_flag(const std::string& split, const DataOptions& data);

// Reads (or generates) the stations, printing what was read and what was skipped to stderr.
// `format_read` (if given) receives the format the files were read in ("auto" resolved), so a checkpoint
// can record it; `report` (if given) what the readers counted (empty for synthetic stations).
// What the readers did (ReadReport) as JSON, for metrics.json's "read_report" (synthetic data: null).
nlohmann::json read_report_json(const data::ReadReport& r);

data::StationSet load_stations(const DataOptions& o, std::string* format_read = nullptr,
                               data::ReadReport* report = nullptr);

}  // namespace fusedrnn::tools
