// fusedrnn::data, inside the CSV station reader (csv_reader.cpp): a file's header and records, and the columns
// named in it. Messages name the file, line and column.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "fusedrnn/core/data/csv_reader.h"
#include "fusedrnn/core/data/line_reader.h"

namespace fusedrnn::data::csv_detail {

// A column the reader reads, and how.
struct Selected {
    size_t index;   // column index in the file
    CsvColumn col;  // how to read it
};

// The column of each of the format's unit checks, header.size() where the header lacks it.
std::vector<size_t> unit_check_columns(const std::vector<std::string>& header, const CsvFormat& format,
                                       const std::string& path);

// The columns of one file that a format reads, found by name in its header. An optional column the header lacks
// (or the format does not name) is header.size().
struct FileColumns {
    std::vector<size_t> time;        // one date-time column, or year, month, day, hour[, minute[, second]]
    size_t name = 0;                 // the station's name
    size_t skip = 0;                 // the report type that tells lines to pass over (CsvFormat::skip_column)
    size_t station = 0;              // the station each line names (CsvFormat::station_column)
    std::vector<size_t> unit_checks; // one per CsvFormat::unit_checks
    size_t latitude = 0, longitude = 0;
    size_t mask = 0;                 // the observation mask
    std::vector<Selected> selected;  // the variables' columns: the features', then the targets' that are not features
    std::vector<std::string> vars;   // their variables' names, in that order
    std::vector<std::string> feature_vars;  // the features' alone: the mask's flags are for these, in this order
};

// The columns of `header` that `format` reads; an error names the file and the column that is missing, unnamed or
// named twice.
FileColumns resolve_columns(const std::vector<std::string>& header, const CsvFormat& format, const std::string& path);

// The first column of that name, which must be there; `unique`: no other column may have that name (with two,
// which one is read would be a guess).
size_t find_column(const std::vector<std::string>& header, const std::string& name, const std::string& path,
                   const char* role, bool unique = true);

// An optional column's index, or header.size() when it is not named or not in the header.
size_t optional_column(const std::vector<std::string>& header, const std::string& name, const std::string& path);

// Whether a record has the header's number of fields; `why` says what is wrong when not (a delimiter at the end of
// each line, or a truncated line).
bool field_count_ok(const std::vector<std::string>& fields, const std::vector<std::string>& header,
                    std::string& why);

// The header line, read: what keeps a file from being a UTF-8 CSV at all is said as that, not as the odd column
// names it would give (UTF-16's NUL bytes, one line of CR-separated rows, a file that is only a byte-order mark).
std::vector<std::string> header_fields(LineReader& reader, const std::string& path, char delimiter);

// "column 3 ("TEMP")" for messages; the name comes from the file, so it is made printable.
std::string column_label(const std::vector<std::string>& header, size_t c);

// A quoted field may hold line breaks (a notes column saved by a spreadsheet): a record whose quote is still open at
// the end of its line goes on on the next ones. `line` (a view into the reader's buffer) is split into `fields`; when
// a quote is left open, it and the lines after it, joined with "\n" in `joined`, are split again, up to
// kMaxRecordLines lines: a stray quote must not swallow the rest of a big file. `where` names the record's lines
// ("file:7-9"). Returns split_csv's result for the whole record.
bool split_record(LineReader& reader, std::string_view line, char delimiter, std::vector<std::string>& fields,
                  std::string& why, std::string& joined, std::string& where);

}  // namespace fusedrnn::data::csv_detail
