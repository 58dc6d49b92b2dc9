// `--format csv`: a station CSV of any layout described on the command line (time column(s) and
// format, feature columns, grid step, missing markers), and its JSON form, stored in checkpoints so
// `eval` and `predict` read new files of the same layout the same way.
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "fusedrnn/core/data/csv_reader.h"

namespace fusedrnn::tools {

struct CsvOptions {
    std::vector<std::string> time = {"DATE"};        // one column, or year,month,day,hour[,minute[,second]]
    std::string time_format = "%Y-%m-%d %H:%M:%S";
    std::vector<std::string> columns;                // feature columns; NAME or NAME=VARIABLE; empty = all
    double step_minutes = 60;
    bool round_times = false;                        // snap times to the nearest grid step (else off-grid = bad line)
    std::vector<std::string> missing;                // besides empty cells and NA, which always mean missing
    std::vector<double> sentinels;
    std::string delimiter = ",";
    bool decimal_comma = false;                      // numbers written "12,5" (with a delimiter other than ',')
    double utc_offset_hours = 0;
    std::string mask_column;                         // per-line 0/1 observation flags, one per feature (optional)

    // The reader's layout; throws Error naming the flag when a value makes no sense.
    data::CsvFormat format() const;
    nlohmann::json to_json() const;
    static CsvOptions from_json(const nlohmann::json& j);
};

// Adds the --csv-* flags; `given` becomes true when the command line uses any of them.
void add_csv_options(CLI::App* cmd, CsvOptions& o, bool& given);

// `base` (a checkpoint's layout) with each --csv-* flag the command line of `cmd` used taken from `given`, and
// only those: one flag changes one thing. `flags_used` (if given) receives their names.
CsvOptions csv_with_flags_given(const CLI::App* cmd, CsvOptions base, const CsvOptions& given,
                                std::vector<std::string>* flags_used = nullptr);

}  // namespace fusedrnn::tools
