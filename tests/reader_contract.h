// The station readers' contract (docs/data.md), as a check both fuzzers apply to every read: the seeded mutation
// fuzz in CI (tests/test_data_fuzz.cpp) and the coverage-guided one (tests/fuzz/fuzz_station_reader.cpp). A reader
// either throws fusedrnn::Error naming the file (and file:line when the reason is one line), or returns data whose
// present values are all finite and whose report accounts for every line; its messages and report examples are
// printable (no control bytes, valid UTF-8, bounded length). Under BadLines::Skip a line-level problem is skipped
// and counted, never thrown, and a file a strict read accepts reads the same.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "fusedrnn/core/data/read_report.h"
#include "fusedrnn/core/data/station_series.h"

namespace fusedrnn::testing {

// Printable form of a token or message (at most `max` bytes of it), for failure messages and mutation logs.
std::string show(const std::string& s, size_t max = 40);

// Strict UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF), decoded independently of the library's.
bool valid_utf8(const std::string& s);

// "" when `msg` is fit to show a person (names the file `name`, printable, bounded, names a line within
// 1..max_line when the reason is a line); otherwise what is wrong with it. `file_text`: the file's bytes, so that
// its own words quoted in the message are not taken for the reader's.
std::string message_problem(const std::string& msg, const std::string& name, long long max_line,
                            const std::string& file_text = "");

// What a read returned, flattened: the report and the values of every station.
struct ReadOutcome {
    data::ReadReport report;
    std::vector<float> values;
    int64_t rows = 0;
};
using ReadFn = std::function<void(const std::string& path, data::BadLines mode, ReadOutcome& out)>;

void add_series(const data::StationSeries& s, ReadOutcome& out);

// One reader, checked on file after file; counts what the reads did, so a fuzz can show it reaches both outcomes.
struct ReaderUnderTest {
    std::string family;  // for messages
    ReadFn read;
    bool has_skip = true;          // the reader takes BadLines::Skip
    bool skip_skips_lines = true;  // under Skip, a line-level error is a bug (false: metadata read strictly)
    // Called with each broken promise ("family tag: what"), after `failures` counts it.
    std::function<void(const std::string& failure)> on_failure;
    int failures = 0;
    int strict_read = 0, strict_errors = 0, skip_read = 0, skip_errors = 0;
    int64_t lines_skipped = 0;

    ReaderUnderTest(std::string f, ReadFn r) : family(std::move(f)), read(std::move(r)) {}

    // Strict and skipping reads of the file at `path` (of at most `max_line` lines); a strict success must read
    // the same under Skip. `tag` says which input it was, for messages.
    void check(const std::string& tag, const std::string& path, long long max_line);

private:
    std::string file_text_;  // the file being checked
    void fail(const std::string& tag, const std::string& what);
    bool run(const std::string& tag, const std::string& path, data::BadLines mode, long long max_line,
             ReadOutcome& out);
    void check_outcome(const std::string& tag, const std::string& name, data::BadLines mode, long long max_line,
                       const ReadOutcome& out);
};

// The readers: ISD-Lite, a CSV preset ("weather5k", "jena", "noaa-lcd", ...), and the folder reader with format
// "auto" on the folder that holds the file.
ReaderUnderTest isd_reader();
ReaderUnderTest csv_reader(const std::string& preset);
ReaderUnderTest folder_reader();

}  // namespace fusedrnn::testing
