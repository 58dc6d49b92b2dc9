// fusedrnn::data — what a reader did with its input, so that nothing is dropped silently.
// Every reader fills a ReadReport; the tools print summary() and the counts go into metrics.json.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "fusedrnn/core/error.h"

namespace fusedrnn::data {

// Thrown by a station reader when the station's files hold no data line (only a header, or nothing; or every line
// skipped as malformed). Among several stations, read_station_set passes over such a station under BadLines::Skip,
// counted (ReadReport::empty_stations), as a failed download of one station should not stop the others.
class NoDataLines : public Error {
public:
    using Error::Error;
};

class LineReader;

// What to do with a malformed line (wrong field count, non-numeric field, bad date, truncated line).
enum class BadLines {
    Error,  // throw fusedrnn::Error naming file:line (default: bad input is a bug to fix, not noise)
    Skip,   // skip the line, count it, keep the first few messages in ReadReport::examples
};

// How a timestamp that is not on the series' grid (a multiple of the step) is treated.
enum class TimeRounding {
    Exact,    // it is an error (the file is not what the format says)
    Nearest,  // move it to the nearest grid time (NOAA LCD reports at hh:51-hh:56) and count it
};

// Values outside their variable's valid range (core/data/valid_ranges.h), masked as missing, for one variable.
struct OutOfRange {
    std::string var;
    std::string range;  // the range applied: "-93.2..61.8"
    int64_t count = 0;  // values masked (every line read, like missing_values: a duplicate time's too)
    std::string first;  // the first one, in file-name order: "data/S1.csv:3: 95" (the value in the series' units)
};

struct ReadReport {
    int64_t files = 0;
    // Data lines seen (header and blank lines excluded). A record whose quoted field holds line breaks counts once; a
    // malformed one over several lines (a stray quote) counts each, in skipped_lines too.
    int64_t lines = 0;
    int64_t blank_lines = 0;      // lines of only spaces/tabs, passed over (said, in case they mark a damaged file)
    int64_t records = 0;          // lines that became a row of a series
    int64_t skipped_lines = 0;    // malformed lines skipped under BadLines::Skip
    int64_t duplicate_times = 0;  // lines whose (rounded) time was already taken; the first one is kept
    int64_t rounded_times = 0;    // times moved onto the grid under TimeRounding::Nearest
    int64_t missing_values = 0;   // cells that were a sentinel, "NA" or empty, now masked
    int64_t gap_rows = 0;         // grid rows with no line at all (hours with no report)
    int64_t filled_kept = 0;      // values the file's mask marks as filled in, read as data
    int64_t filled_dropped = 0;   // such values masked as missing (CsvFormat::drop_filled)
    int64_t suspect_values = 0;
    int64_t calm_directions = 0;  // no wind direction with speed 0, read as the calm direction 0 (NCEI's LCD v2)   // values the file flags suspect (NOAA LCD's "23s"), masked as missing
    // Lines that are not observations (NOAA LCD's daily and monthly summaries), passed over, and what they were.
    int64_t passed_over_lines = 0;
    // Records over several lines (a quoted field holding line breaks, as a notes column saved by a spreadsheet): the
    // lines they took beyond their first, so that `lines` stays the file's count (lines = records + skipped +
    // duplicates + passed over + joined_lines), and the first such record ("data/S1.csv:297-300"). Said in the summary:
    // two stray quotes in a notes column read as one such field take the data lines between them.
    int64_t joined_lines = 0;
    int64_t multiline_records = 0;
    std::string multiline_first;
    std::string passed_over_what;
    // Values read as data that look like missing-value codes (-9999, 99999, ...: no sentinel or valid range masked
    // them), and the first: "data/S1.csv:3: column 2 (\"TMP\"): -9999".
    int64_t code_like_values = 0;
    std::string code_like_first;
    // Files whose last data line has no line end (cut off, or still being written: its values were read as they
    // stand), and the first, "data/S1.csv:721".
    int64_t unterminated_files = 0;
    std::string unterminated_first;
    // Files of a station with other files (ISD-Lite's one per year) that hold no data line: a failed download loses
    // that year silently otherwise. A station whose files all hold none is a NoDataLines error instead.
    int64_t empty_files = 0;
    std::string empty_first;
    // Stations passed over under BadLines::Skip because their files hold no data line (NoDataLines), and the first
    // one's files.
    int64_t empty_stations = 0;
    std::string empty_station_first;
    // Stations whose rows lie years apart from a few of their own (a stray line dated 1900, or 2099 with no value,
    // stretches the grid over a century of gap rows): counted, with the first one's gap and the line across it.
    int64_t stray_stations = 0;
    std::string stray_first;
    std::vector<std::string> examples;  // the first few skip/duplicate messages, "file:line: why"
    std::string station_list;     // a list read for station names/coordinates: "isd-history.csv (29,000 stations)"
    // One entry per variable that had a valid range, in the variables' order (count 0 when none was out of it).
    std::vector<OutOfRange> out_of_range;

    static constexpr size_t kMaxExamples = 10;
    void note(const std::string& message) {
        if (examples.size() < kMaxExamples) examples.push_back(message);
    }
    int64_t out_of_range_values() const;
    // Counts the file `reader` has just finished when its last line, a data line, had no line end.
    void note_end_of_file(const LineReader& reader, bool last_line_was_data);
    // Counts `path` as a file with no data line.
    void note_empty_file(const std::string& path);
    // Counts a station passed over for having no data line; `report` is what reading its files counted, merged, but
    // its files count as the station's (empty_stations), not as files a station was read without (empty_files).
    void note_empty_station(const std::string& station_files, ReadReport report);
    void merge(const ReadReport& other);
    // For a station none of whose lines became a row: " (all N were skipped as malformed; the first: file:line: why)"
    // for the lines skipped since the counts were `skipped_before` and `examples_before`, "" when none was.
    std::string all_skipped_note(int64_t skipped_before, size_t examples_before) const;
    // One line: "29 files, 163,708 lines -> 163,700 rows; 8 skipped; 0 duplicate times; ...".
    std::string summary() const;
};

}  // namespace fusedrnn::data
