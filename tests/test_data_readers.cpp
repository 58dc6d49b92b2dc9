// Station readers: ISD-Lite (plain and gzip), the generic CSV reader and its presets, the folder
// reader; hand-made files with gaps, sentinels, malformed and truncated lines, and the real files of
// the shared data folder (skipped when absent).
#include <sys/stat.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <zlib.h>

#include "fusedrnn/core/data/csv_presets.h"
#include "fusedrnn/core/data/csv_reader.h"
#include "fusedrnn/core/data/isd_lite.h"
#include "fusedrnn/core/data/line_reader.h"
#include "fusedrnn/core/data/station_folder.h"
#include "fusedrnn/core/data/text.h"
#include "fusedrnn/core/data/time.h"
#include "fusedrnn/core/error.h"
#include "fusedrnn/tests/test_support.h"

using fusedrnn::Error;
namespace ft = fusedrnn::testing;
using namespace fusedrnn::data;
namespace fs = std::filesystem;

namespace {

std::string write_file(const std::string& dir, const std::string& name, const std::string& text) {
    const std::string path = dir + "/" + name;
    std::ofstream(path, std::ios::binary) << text;
    return path;
}

using ::fusedrnn::testing::error_of;

int64_t hour_of(int y, int m, int d, int h) {
    CivilTime c;
    c.year = y;
    c.month = m;
    c.day = d;
    c.hour = h;
    return to_seconds(c);
}

// Three ISD-Lite lines: 00 h, 01 h, then 04 h (02-03 h absent = a gap); sentinels in line 2.
const char* kIsd =
    "2017 01 01 00   -32   -37 10280     0     0     9     0 -9999\n"
    "2017 01 01 01   -30 -9999 -9999   250    31 -9999 -9999 -9999\n"
    "2017 01 01 04    15    -2 10120   360   102     9     0     3\n";

std::string fixtures() { return ft::source_dir() + "/tests/fixtures/stations"; }

}  // namespace

// ---- text helpers ------------------------------------------------------------------------------

TEST(DataText, ParseTimeFormats) {
    int64_t t = 0;
    std::string why;
    ASSERT_TRUE(parse_time("2014-01-01 00:00:00", "%Y-%m-%d %H:%M:%S", t, why)) << why;
    EXPECT_EQ(t, 1388534400);
    ASSERT_TRUE(parse_time("01.01.2009 00:10:00", "%d.%m.%Y %H:%M:%S", t, why)) << why;
    EXPECT_EQ(format_time(t), "2009-01-01 00:10:00");
    EXPECT_FALSE(parse_time("2014-02-30 00:00:00", "%Y-%m-%d %H:%M:%S", t, why));
    EXPECT_NE(why.find("not a valid date"), std::string::npos) << why;
    EXPECT_FALSE(parse_time("2014-01-01", "%Y-%m-%d %H:%M:%S", t, why));
    EXPECT_FALSE(parse_time("2014-01-01 00:00:00x", "%Y-%m-%d %H:%M:%S", t, why));
    EXPECT_TRUE(parse_time("2016-02-29 23:59:59", "%Y-%m-%d %H:%M:%S", t, why));
    // %Y is four digits (QA: "14-01-01" was the year 14); two-digit years read with %y, POSIX's pivot at 69.
    EXPECT_FALSE(parse_time("14-01-01 00:00:00", "%Y-%m-%d %H:%M:%S", t, why));
    EXPECT_NE(why.find("%Y is a four-digit year, got \"14\" at character 1 (a two-digit year? read it with %y"),
              std::string::npos) << why;
    // Four digits of a year before any weather record are a year written short (QA: "0014" was the year 14).
    for (const auto& [text, expected] : std::vector<std::pair<std::string, std::string>>{
             {"0014-01-01 00:00:00", "the year 0014 is before any weather record (a two-digit year? the year must"},
             {"0114-01-01 00:00:00", "the year 0114 is before any weather record (years since 1900, as C's tm_year, "
                                     "for 2014? the year"},
             {"0999-01-01 00:00:00", "(a year cut short?"},
             {"-2014-01-01 00:00:00", "the year -2014 is before any weather record (a sign before the year?"}}) {
        EXPECT_FALSE(parse_time(text, "%Y-%m-%d %H:%M:%S", t, why)) << text;
        EXPECT_NE(why.find(expected), std::string::npos) << why;
    }
    EXPECT_TRUE(parse_time("1000-01-01 00:00:00", "%Y-%m-%d %H:%M:%S", t, why)) << why;
    ASSERT_TRUE(parse_time("14-01-01 00:00:00", "%y-%m-%d %H:%M:%S", t, why)) << why;
    EXPECT_EQ(format_time(t), "2014-01-01 00:00:00");
    ASSERT_TRUE(parse_time("31.12.69", "%d.%m.%y", t, why)) << why;
    EXPECT_EQ(format_time(t), "1969-12-31 00:00:00");
    EXPECT_TRUE(check_time_format("%d.%m.%y", why)) << why;
    EXPECT_FALSE(check_time_format("%Y %y-%m-%d", why));
    EXPECT_NE(why.find("has both %Y and %y"), std::string::npos) << why;
    EXPECT_EQ(parse_date_arg("2022", "x"), year_start(2022));
    EXPECT_EQ(parse_date_arg("2022-07-15 06:00", "x"), hour_of(2022, 7, 15, 6));
    EXPECT_THROW(parse_date_arg("July 2022", "x"), Error);
}

// Text from files in messages: characters that show as nothing or as a plain space are written as \uXXXX (QA: a
// header's "TMP" ending in a no-break space was named as "TMP " beside "TMP"); other text stays as it is.
TEST(DataText, InvisibleCharactersAreShown) {
    EXPECT_EQ(printable("\xEF\xBB\xBF" "DATE"), "\\uFEFFDATE");
    EXPECT_EQ(printable("a\xC2\xA0" "b\xC2\xAD" "c\xE2\x80\x8B" "d\xE3\x80\x80"), "a\\u00A0b\\u00ADc\\u200Bd\\u3000");
    const std::string kept = "Tr\xC6\xB0\xE1\xBB\x9D" "ng \xC2\xB0" "C";  // Vietnamese, a degree sign
    EXPECT_EQ(printable(kept), kept);
    EXPECT_EQ(shown_csv_list({"TMP\xC2\xA0", "DEW"}), "TMP\\u00A0,DEW");
}

// Leap years by the Gregorian rule: century years only when divisible by 400 (mutation testing: every fourth year
// a leap year survived, no test reading 29 February of a century year).
TEST(DataText, LeapYearsFollowTheCenturyRule) {
    int64_t t = 0;
    std::string why;
    for (const char* no : {"2100-02-29 00:00:00", "1900-02-29 00:00:00", "2023-02-29 00:00:00"}) {
        EXPECT_FALSE(parse_time(no, "%Y-%m-%d %H:%M:%S", t, why)) << no;
        EXPECT_NE(why.find("is not a valid date and time"), std::string::npos) << why;
    }
    for (const char* yes : {"2000-02-29 00:00:00", "2024-02-29 00:00:00", "2100-02-28 23:00:00"}) {
        EXPECT_TRUE(parse_time(yes, "%Y-%m-%d %H:%M:%S", t, why)) << yes << ": " << why;
        EXPECT_EQ(format_time(t), yes);
    }
}

TEST(DataText, CalendarRoundTrip) {
    for (int64_t d = -800000; d <= 800000; d += 997) {
        int64_t y;
        int m, dd;
        civil_from_days(d, y, m, dd);
        EXPECT_EQ(days_from_civil(y, m, dd), d);
    }
    EXPECT_EQ(days_from_civil(1970, 1, 1), 0);
    EXPECT_EQ(days_from_civil(2000, 3, 1), 11017);
    EXPECT_EQ(floor_div(-1, 3600), -1);
    EXPECT_EQ(floor_mod(-1, 3600), 3599);
}

TEST(DataText, SplitCsvAndNumbers) {
    std::vector<std::string> f;
    std::string why;
    ASSERT_TRUE(split_csv(R"("a","b ""c""",,3.5, "x,y")", ',', f, why));
    ASSERT_EQ(f.size(), 5u);
    EXPECT_EQ(f[0], "a");
    EXPECT_EQ(f[1], "b \"c\"");
    EXPECT_EQ(f[2], "");
    EXPECT_EQ(f[3], "3.5");
    EXPECT_EQ(f[4], "x,y");
    EXPECT_FALSE(split_csv(R"(1,"unterminated)", ',', f, why));
    EXPECT_NE(why.find("unterminated"), std::string::npos);
    double v = 0;
    EXPECT_TRUE(parse_number("+70.933", v));
    EXPECT_DOUBLE_EQ(v, 70.933);
    EXPECT_TRUE(parse_number(" -8.02 ", v));
    EXPECT_FALSE(parse_number("12a", v));
    EXPECT_FALSE(parse_number("", v));
    EXPECT_TRUE(parse_compass("NNW", v));
    EXPECT_DOUBLE_EQ(v, 337.5);
    EXPECT_TRUE(parse_compass("e", v));
    EXPECT_DOUBLE_EQ(v, 90);
    EXPECT_FALSE(parse_compass("cv", v));
    EXPECT_TRUE(parse_compass("N", v));  // 360, as ISD-Lite and WEATHER-5K write north (0 is calm there)
    EXPECT_DOUBLE_EQ(v, 360);
}

TEST(DataText, LineReaderHandlesCrlfBomAndNoFinalNewline) {
    const std::string dir = ft::temp_dir();
    const std::string p = write_file(dir, "x.txt", "\xEF\xBB\xBFone\r\ntwo\n\nthree");
    LineReader r(p);
    std::string_view line;
    std::vector<std::string> got;
    while (r.next(line)) got.emplace_back(line);
    EXPECT_EQ(got, (std::vector<std::string>{"one", "two", "", "three"}));
    EXPECT_EQ(r.line_number(), 4);
    EXPECT_NE(error_of([&] { LineReader missing(dir + "/nope.txt"); }).find("nope.txt"), std::string::npos);
}

TEST(DataText, LineReaderLongLines) {
    const std::string dir = ft::temp_dir();
    std::string longline(3 << 20, 'x');
    const std::string p = write_file(dir, "long.txt", "a\n" + longline + "\nb\n");
    LineReader r(p);
    std::string_view line;
    ASSERT_TRUE(r.next(line));
    EXPECT_EQ(line, "a");
    ASSERT_TRUE(r.next(line));
    EXPECT_EQ(line.size(), longline.size());
    ASSERT_TRUE(r.next(line));
    EXPECT_EQ(line, "b");
    EXPECT_FALSE(r.next(line));
}

// Lines handed back come again in order with their own numbers, before the file's next; handed back again while
// replaying (a stray quote among them), the rest still follows; the file's last line keeps its missing line end.
TEST(DataText, LineReaderUnreadReplaysLinesWithTheirNumbers) {
    const std::string dir = ft::temp_dir();
    const std::string p = write_file(dir, "x.txt", "l1\nl2\nl3\nl4\nl5\nl6");
    LineReader r(p);
    std::string_view line;
    std::vector<std::string> got;
    const auto take = [&] {
        EXPECT_TRUE(r.next(line));
        got.push_back(std::string(line) + "@" + std::to_string(r.line_number()) +
                      (r.last_line_unterminated() ? "!" : ""));
    };
    for (int i = 0; i < 4; ++i) take();                // l1..l4
    r.unread({"l2", "l3", "l4"}, 2);                 // l1's record swallowed them
    take();                                            // l2 again
    r.unread({"l2"}, 2);                               // and once more, with l3 and l4 still waiting
    for (int i = 0; i < 5; ++i) take();                // l2 l3 l4, then the file: l5 l6
    EXPECT_FALSE(r.next(line));
    r.unread({"l5", "l6"}, 5);                         // the unterminated last line, handed back
    take();
    take();
    EXPECT_FALSE(r.next(line));
    EXPECT_EQ(got, (std::vector<std::string>{"l1@1", "l2@2", "l3@3", "l4@4", "l2@2", "l2@2", "l3@3", "l4@4", "l5@5",
                                             "l6@6!", "l5@5", "l6@6!"}));
    // Only the lines up to the one last read can be handed back.
    EXPECT_NE(error_of([&] { r.unread({"l4"}, 4); }).find("are not the lines up to the one last read (6)"),
              std::string::npos);
}

// ---- ISD-Lite -------------------------------------------------------------------------------------

TEST(DataIsdLite, HandMadeGapsAndSentinels) {
    const std::string dir = ft::temp_dir();
    const std::string p = write_file(dir, "071690-99999-2017", kIsd);
    ReadReport rep;
    const StationSeries s = read_isd_lite(p, rep);
    EXPECT_EQ(s.id, "071690-99999");
    EXPECT_EQ(s.vars, weather5k_vars());
    EXPECT_EQ(s.step, 3600);
    EXPECT_EQ(s.start, hour_of(2017, 1, 1, 0));
    ASSERT_EQ(s.rows(), 5);  // 00..04 h on the hourly grid
    // Tenths are read as the float nearest the decimal, exactly (not 1 ulp off, as -32 × 0.1f would be).
    EXPECT_EQ(s.at(0, 0), -3.2f);
    EXPECT_EQ(s.at(0, 1), -3.7f);
    EXPECT_FLOAT_EQ(s.at(0, 2), 0.0f);  // calm
    EXPECT_FLOAT_EQ(s.at(0, 3), 0.0f);
    EXPECT_EQ(s.at(0, 4), 1028.0f);
    EXPECT_EQ(s.at(1, 0), -3.0f);
    EXPECT_TRUE(is_missing(s.at(1, 1)));  // -9999 dew point
    EXPECT_FLOAT_EQ(s.at(1, 2), 250.0f);
    EXPECT_EQ(s.at(1, 3), 3.1f);
    EXPECT_TRUE(is_missing(s.at(1, 4)));  // -9999 pressure
    for (int v = 0; v < 5; ++v) {
        EXPECT_TRUE(is_missing(s.at(2, v)));  // 02 h and 03 h: no report
        EXPECT_TRUE(is_missing(s.at(3, v)));
    }
    EXPECT_EQ(s.at(4, 3), 10.2f);
    EXPECT_EQ(rep.files, 1);
    EXPECT_EQ(rep.lines, 3);
    EXPECT_EQ(rep.records, 3);
    EXPECT_EQ(rep.missing_values, 2);
    EXPECT_EQ(rep.gap_rows, 2);
}

// One year's file of a station empty (a failed download) while another is not: the station is read from the others,
// and the report warns, naming the file (QA: it was read as if the year did not exist). Alone, it is an error.
TEST(DataIsdLite, AnEmptyYearFileIsCountedAndNamed) {
    const std::string dir = ft::temp_dir();
    const std::string full = write_file(dir, "071690-99999-2017", kIsd);
    const std::string empty = write_file(dir, "071690-99999-2016", "");
    const std::string blank = write_file(dir, "071690-99999-2015", "\n\n");
    ReadReport rep;
    const StationSeries s = read_isd_lite_files({blank, empty, full}, "071690-99999", rep);
    EXPECT_EQ(s.rows(), 5);
    EXPECT_EQ(rep.files, 3);
    EXPECT_EQ(rep.empty_files, 2);
    EXPECT_EQ(rep.empty_first, blank);
    EXPECT_NE(rep.summary().find("warning: 2 files with no data lines (first " + blank + "): their station read "
                                 "without them (a failed download?)"), std::string::npos) << rep.summary();
    ReadReport ok;
    read_isd_lite_files({full}, "071690-99999", ok);
    EXPECT_EQ(ok.empty_files, 0);
    EXPECT_EQ(ok.summary().find("no data line"), std::string::npos) << ok.summary();
    ReadReport alone;
    EXPECT_NE(error_of([&] { read_isd_lite_files({empty}, "071690-99999", alone); })
                  .find("station 071690-99999: no valid lines in " + empty), std::string::npos);
}

TEST(DataIsdLite, TruncatedLineNamesFileAndLine) {
    const std::string dir = ft::temp_dir();
    std::string text = kIsd;
    text += "2017 01 01 05   -32   -37 10280\n";  // cut short
    const std::string p = write_file(dir, "071690-99999-2017", text);
    ReadReport rep;
    const std::string msg = error_of([&] { read_isd_lite(p, rep); });
    EXPECT_NE(msg.find("071690-99999-2017:4"), std::string::npos) << msg;
    EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;
}

TEST(DataIsdLite, NonNumericFieldNamesColumns) {
    const std::string dir = ft::temp_dir();
    const std::string p = write_file(dir, "071690-99999-2017",
                                     "2017 01 01 00   -32   -37 10280     0     0     9     0 -9999\n"
                                     "2017 01 01 01   -3x   -37 10280     0     0     9     0 -9999\n");
    ReadReport rep;
    const std::string msg = error_of([&] { read_isd_lite(p, rep); });
    EXPECT_NE(msg.find("071690-99999-2017:2"), std::string::npos) << msg;
    EXPECT_NE(msg.find("columns 14-19"), std::string::npos) << msg;
    EXPECT_NE(msg.find("air temperature"), std::string::npos) << msg;
}

TEST(DataIsdLite, BadDateIsAnError) {
    const std::string dir = ft::temp_dir();
    const std::string p =
        write_file(dir, "071690-99999-2017", "2017 02 30 00   -32   -37 10280     0     0     9     0 -9999\n");
    ReadReport rep;
    const std::string msg = error_of([&] { read_isd_lite(p, rep); });
    EXPECT_NE(msg.find(":1"), std::string::npos) << msg;
    EXPECT_NE(msg.find("not a valid date"), std::string::npos) << msg;
}

// Hour 24 is not an hour (it would be read as 00 h of the next day): ISD-Lite and CSV year/month/day/hour columns
// refuse it like any impossible date (mutation testing: accepting hour 24 survived).
TEST(DataIsdLite, HourTwentyFourIsNotAValidHour) {
    const std::string dir = ft::temp_dir();
    const std::string p = write_file(dir, "071690-99999-2017",
                                     "2017 01 01 23   -32   -37 10280     0     0     9     0 -9999\n"
                                     "2017 01 01 24   -30   -37 10280     0     0     9     0 -9999\n");
    ReadReport rep;
    const std::string msg = error_of([&] { read_isd_lite(p, rep); });
    EXPECT_NE(msg.find("071690-99999-2017:2: columns 1-13: 2017-01-01 hour 24 is not a valid date and hour"),
              std::string::npos) << msg;

    const std::string csv = write_file(dir, "site.csv",
                                       "year,month,day,hour,TEMP\n"
                                       "2013,3,1,23,-0.5\n"
                                       "2013,3,1,24,-0.7\n");
    CsvFormat f;
    f.time_columns = {"year", "month", "day", "hour"};
    f.targets = {CsvColumn("TEMP", "TMP")};
    ReadReport csv_rep;
    const std::string csv_msg = error_of([&] { read_csv_station(csv, f, csv_rep); });
    EXPECT_NE(csv_msg.find("site.csv:3"), std::string::npos) << csv_msg;
    EXPECT_NE(csv_msg.find("2013-3-1 24:0:0 is not a valid date and time"), std::string::npos) << csv_msg;
    int64_t t = 0;
    std::string why;
    EXPECT_FALSE(parse_time("2014-01-01 24:00:00", "%Y-%m-%d %H:%M:%S", t, why));
    EXPECT_NE(why.find("is not a valid date and time"), std::string::npos) << why;
}

// -9999 in the wind direction field is NOAA's missing value like in any other field: masked and counted as missing,
// not read as a direction of -9999 degrees that the valid range then masks as out of range (mutation testing: it
// survived every hand-made file, none having a missing direction).
TEST(DataIsdLite, MissingWindDirectionIsMissingNotOutOfRange) {
    const std::string dir = ft::temp_dir();
    const std::string p = write_file(dir, "071690-99999-2017",
                                     "2017 01 01 00   -32   -37 10280 -9999    31     9     0 -9999\n"
                                     "2017 01 01 01   -30   -37 10280   250    31     9     0 -9999\n");
    ReadReport rep;
    const StationSeries s = read_isd_lite(p, rep);
    ASSERT_EQ(s.rows(), 2);
    ASSERT_EQ(s.vars[2], "WND_ANGLE");
    EXPECT_TRUE(is_missing(s.at(0, 2)));
    EXPECT_EQ(s.at(0, 3), 3.1f);  // the line's other values are kept
    EXPECT_EQ(s.at(0, 4), 1028.0f);
    EXPECT_FLOAT_EQ(s.at(1, 2), 250.0f);
    EXPECT_EQ(rep.missing_values, 1);
    EXPECT_EQ(rep.out_of_range_values(), 0);
}

TEST(DataIsdLite, SkipPolicyCountsAndReports) {
    const std::string dir = ft::temp_dir();
    std::string text = kIsd;
    text += "garbage\n";
    text += "2017 01 01 05   -3x   -37 10280     0     0     9     0 -9999\n";
    const std::string p = write_file(dir, "071690-99999-2017", text);
    ReadReport rep;
    IsdLiteOptions opts;
    opts.on_bad_line = BadLines::Skip;
    const StationSeries s = read_isd_lite(p, rep, opts);
    EXPECT_EQ(s.rows(), 5);
    EXPECT_EQ(rep.lines, 5);
    EXPECT_EQ(rep.skipped_lines, 2);
    ASSERT_EQ(rep.examples.size(), 2u);
    EXPECT_NE(rep.examples[0].find(":4:"), std::string::npos) << rep.examples[0];
    EXPECT_NE(rep.summary().find("2 lines skipped"), std::string::npos) << rep.summary();
}

TEST(DataIsdLite, DuplicateHoursKeepFirstAndAreCounted) {
    const std::string dir = ft::temp_dir();
    std::string text = kIsd;
    text += "2017 01 01 00   999   -37 10280     0     0     9     0 -9999\n";
    const std::string p = write_file(dir, "071690-99999-2017", text);
    ReadReport rep;
    const StationSeries s = read_isd_lite(p, rep);
    EXPECT_FLOAT_EQ(s.at(0, 0), -3.2f);
    EXPECT_EQ(rep.duplicate_times, 1);
    ASSERT_FALSE(rep.examples.empty());
    EXPECT_NE(rep.examples[0].find("first at"), std::string::npos);
}

TEST(DataIsdLite, GzipRoundTripAndTruncatedGzip) {
    if (!gzip_supported()) GTEST_SKIP() << "this build has no zlib";
    const std::string dir = ft::temp_dir();
    const std::string p = dir + "/071690-99999-2017.gz";
    {
        gzFile gz = gzopen(p.c_str(), "wb");
        ASSERT_NE(gz, nullptr);
        std::string text;
        for (int i = 0; i < 2000; ++i) text += kIsd;  // repeated lines: duplicates, but a long stream
        gzwrite(gz, text.data(), unsigned(text.size()));
        gzclose(gz);
    }
    ReadReport rep;
    const StationSeries s = read_isd_lite(p, rep);
    EXPECT_EQ(s.id, "071690-99999");
    EXPECT_EQ(s.rows(), 5);
    EXPECT_FLOAT_EQ(s.at(4, 3), 10.2f);
    EXPECT_EQ(rep.lines, 6000);
    EXPECT_EQ(rep.duplicate_times, 5997);

    // A truncated .gz must fail loudly, never end early with silently missing lines.
    const auto size = fs::file_size(p);
    fs::resize_file(p, size / 2);
    ReadReport rep2;
    const std::string msg = error_of([&] { read_isd_lite(p, rep2); });
    EXPECT_NE(msg.find("071690-99999-2017.gz"), std::string::npos) << msg;
}

// What follows a gzip member: another member is read on (`cat a.gz b.gz`), zero padding is passed over, and anything
// else is an error saying where (QA: plain lines a logger appended to a .gz file were dropped without a word, as
// zlib's gzread takes them for the end).
TEST(DataIsdLite, GzipMembersPaddingAndAppendedText) {
    if (!gzip_supported()) GTEST_SKIP() << "this build has no zlib";
    const std::string dir = ft::temp_dir();
    const auto gzip = [](const std::string& text) {
        z_stream z{};
        EXPECT_EQ(deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
        std::vector<unsigned char> out(deflateBound(&z, uLong(text.size())) + 64);
        z.next_in = reinterpret_cast<unsigned char*>(const_cast<char*>(text.data()));
        z.avail_in = unsigned(text.size());
        z.next_out = out.data();
        z.avail_out = unsigned(out.size());
        EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
        std::string bytes(reinterpret_cast<char*>(out.data()), z.total_out);
        deflateEnd(&z);
        return bytes;
    };
    const auto lines_of = [](const std::string& p) {
        LineReader r(p);
        std::string_view line;
        while (r.next(line)) {
        }
        return r.line_number();
    };
    const std::string first = "a\nb\n", second = "c\nd\ne\n";
    EXPECT_EQ(lines_of(write_file(dir, "two.gz", gzip(first) + gzip(second))), 5);
    EXPECT_EQ(lines_of(write_file(dir, "padded.gz", gzip(first) + std::string(700, '\0'))), 2);
    const std::string one = gzip(first);
    const std::string msg = error_of([&] { lines_of(write_file(dir, "appended.gz", one + second)); });
    EXPECT_NE(msg.find(fmt::format("appended.gz: its gzip data ends at byte {}, and the 6 bytes after it are not gzip "
                                   "(lines appended to a compressed file?): they would go unread", one.size())),
              std::string::npos) << msg;
    EXPECT_NE(msg.find(fmt::format("(tail -c +{})", one.size() + 1)), std::string::npos) << msg;
    // Padding, then text: the text is what `tail` is to take (QA's recheck: it took the padding too).
    const std::string padded =
        error_of([&] { lines_of(write_file(dir, "padtext.gz", one + std::string(100, '\0') + second)); });
    EXPECT_NE(padded.find(fmt::format("(tail -c +{})", one.size() + 101)), std::string::npos) << padded;
    // A second member cut short is a truncated stream, as a first one is.
    const std::string cut = gzip(second);
    const std::string short_msg =
        error_of([&] { lines_of(write_file(dir, "cut.gz", one + cut.substr(0, cut.size() - 5))); });
    EXPECT_NE(short_msg.find("cut.gz: gzip error after line "), std::string::npos) << short_msg;
    EXPECT_NE(short_msg.find("unexpected end of file"), std::string::npos) << short_msg;
}

// Damage far into a .gz file: the message counts the lines decompressed intact (it said "after line 0" when the
// first 1 MiB read failed), and a checksum failure says it is found at the end of the file.
TEST(DataIsdLite, GzipDamageNamesTheLinesReadIntact) {
    if (!gzip_supported()) GTEST_SKIP() << "this build has no zlib";
    const std::string dir = ft::temp_dir();
    const int n_lines = 15000, damaged_from = 12001;  // ~900 KB of text; damage where line 12001 starts
    std::string head, tail;
    uint64_t x = 12345;
    for (int i = 0; i < n_lines; ++i) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;  // varied lines: a long compressed stream
        (i + 1 < damaged_from ? head : tail) +=
            fmt::format("2017 01 01 00 {:5d} {:5d} {:5d}   {:3d}  {:4d}     9     0 -9999\n", int(x >> 54) - 500,
                        int((x >> 40) & 1023) - 500, 9000 + int((x >> 20) & 2047), 10 * int((x >> 10) % 36 + 1),
                        int(x % 200));
    }
    // Compressed in two parts with a full flush between: the second part's first block starts on a byte boundary.
    std::string gz;
    size_t second_part = 0;
    {
        z_stream z{};
        ASSERT_EQ(deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
        std::vector<unsigned char> out(2 << 20);
        z.next_out = out.data();
        z.avail_out = unsigned(out.size());
        z.next_in = reinterpret_cast<unsigned char*>(head.data());
        z.avail_in = unsigned(head.size());
        ASSERT_EQ(deflate(&z, Z_FULL_FLUSH), Z_OK);
        second_part = z.total_out;
        z.next_in = reinterpret_cast<unsigned char*>(tail.data());
        z.avail_in = unsigned(tail.size());
        ASSERT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
        gz.assign(reinterpret_cast<char*>(out.data()), z.total_out);
        deflateEnd(&z);
    }
    auto read_all = [](const std::string& p, int64_t& lines) {
        return error_of([&] {
            LineReader r(p);
            std::string_view line;
            while (r.next(line)) lines = r.line_number();
        });
    };
    auto number_after = [](const std::string& msg, const std::string& before) -> long long {
        const size_t at = msg.find(before);
        return at == std::string::npos ? -1 : std::atoll(msg.c_str() + at + before.size());
    };
    {  // intact, it reads through
        const std::string p = write_file(dir, "intact.gz", gz);
        LineReader r(p);
        std::string_view line;
        while (r.next(line)) {
        }
        EXPECT_EQ(r.line_number(), n_lines);
    }
    {  // an invalid block type (BTYPE 11) where line 12001 starts
        std::string broken = gz;
        broken[second_part] = char(0x06);
        const std::string p = write_file(dir, "damaged.gz", broken);
        int64_t lines = 0;
        const std::string msg = read_all(p, lines);
        EXPECT_NE(msg.find("damaged.gz: gzip error after line "), std::string::npos) << msg;
        EXPECT_NE(msg.find("invalid block type"), std::string::npos) << msg;
        const long long n = number_after(msg, "after line ");
        EXPECT_GE(n, lines) << msg;                 // not fewer than the lines handed out
        EXPECT_LE(n, damaged_from - 1) << msg;      // none past the damage
        EXPECT_GT(n, damaged_from - 1200) << msg;   // within zlib's 64 KiB piece of it, not 0
    }
    {  // a wrong CRC, or length, in the trailer: every line decompresses, the check fails at the end
        for (const int from_end : {8, 4}) {
            std::string broken = gz;
            broken[broken.size() - size_t(from_end)] ^= char(0x01);
            const std::string p = write_file(dir, "trailer.gz", broken);
            int64_t lines = 0;
            const std::string msg = read_all(p, lines);
            EXPECT_NE(msg.find(from_end == 8 ? "trailer.gz: gzip error at the end of the file: CRC mismatch"
                                             : "trailer.gz: gzip error at the end of the file: length mismatch"),
                      std::string::npos) << msg;
            // No line or count is named: the damage may be anywhere, and zlib drops its last decompressed piece.
            EXPECT_NE(msg.find("corrupt somewhere in the file; recompress it from a good copy"), std::string::npos)
                << msg;
        }
    }
}

// A line of another year than the file name's (USAF-WBAN-YEAR) is a bad line: it would add years of empty rows.
TEST(DataIsdLite, LineOfAnotherYearThanTheFileNameIsABadLine) {
    const std::string dir = ft::temp_dir();
    const std::string p = write_file(dir, "071690-99999-2016",
                                     "2016 12 31 23   -32   -37 10280     0     0     9     0 -9999\n"
                                     "2019 01 01 00   -30 -9999 -9999   250    31 -9999 -9999 -9999\n");
    ReadReport rep;
    const std::string msg = error_of([&] { read_isd_lite(p, rep); });
    EXPECT_NE(msg.find("071690-99999-2016:2"), std::string::npos) << msg;
    EXPECT_NE(msg.find("2019"), std::string::npos) << msg;
    EXPECT_NE(msg.find("says 2016"), std::string::npos) << msg;
    IsdLiteOptions skip;
    skip.on_bad_line = BadLines::Skip;
    ReadReport rep2;
    const StationSeries s = read_isd_lite(p, rep2, skip);
    EXPECT_EQ(s.rows(), 1);
    EXPECT_EQ(rep2.skipped_lines, 1);
    // A file not named USAF-WBAN-YEAR has no year to hold its lines to.
    const std::string q = write_file(dir, "station.txt",
                                     "2016 12 31 23   -32   -37 10280     0     0     9     0 -9999\n"
                                     "2017 01 01 00   -30 -9999 -9999   250    31 -9999 -9999 -9999\n");
    ReadReport rep3;
    EXPECT_EQ(read_isd_lite(q, rep3).rows(), 2);
}

TEST(DataIsdLite, FilenamePattern) {
    std::string id;
    EXPECT_TRUE(isd_lite_filename("010010-99999-2016", &id));
    EXPECT_EQ(id, "010010-99999");
    EXPECT_TRUE(isd_lite_filename("317350-99999-2016.gz", &id));
    EXPECT_EQ(id, "317350-99999");
    EXPECT_FALSE(isd_lite_filename("isd-history.csv.txt"));
    EXPECT_FALSE(isd_lite_filename("010010-99999-2016.csv"));
}

// ---- generic CSV ----------------------------------------------------------------------------------

TEST(DataCsv, JenaFixture) {
    ReadReport rep;
    const StationSeries s = read_csv_station(fixtures() + "/jena_sample.csv", jena_format(), rep);
    EXPECT_EQ(s.id, "jena_sample");
    ASSERT_EQ(s.num_vars(), 14);
    EXPECT_EQ(s.vars[0], "p (mbar)");
    EXPECT_EQ(s.vars[1], "T (degC)");
    EXPECT_EQ(s.targets, std::vector<std::string>{"T (degC)"});
    EXPECT_EQ(s.step, 600);
    EXPECT_EQ(format_time(s.start), "2009-01-01 00:10:00");
    ASSERT_EQ(s.rows(), 24);  // 00:10 .. 04:00, with 02:00 absent
    EXPECT_FLOAT_EQ(s.at(0, 0), 996.53f);
    EXPECT_FLOAT_EQ(s.at(0, 1), -8.07f);
    const int wv = s.var_index("wv (m/s)");
    EXPECT_TRUE(is_missing(s.at(8, wv)));  // 01:30, -9999 sentinel
    EXPECT_FALSE(is_missing(s.at(8, 1)));
    for (int v = 0; v < 14; ++v) EXPECT_TRUE(is_missing(s.at(11, v)));  // 02:00 absent
    EXPECT_EQ(rep.lines, 23);
    EXPECT_EQ(rep.missing_values, 1);
    EXPECT_EQ(rep.gap_rows, 1);
}

TEST(DataCsv, Weather5kColumnsInAnyOrderWithExtraColumns) {
    const std::string dir = ft::temp_dir();
    const std::string p = write_file(dir, "st1.csv",
                                     "SLP,DATE,MASK,WND_RATE,TMP,WND_ANGLE,DEW\n"
                                     "1012.5,2014-01-01 00:00:00,[1 1 1 1 1],3.1,5.5,200,1.5\n"
                                     "1012.1,2014-01-01 01:00:00,[1 1 1 1 1],2.9,5.2,210,\n"
                                     "1011.9,2014-01-01 03:00:00,[1 1 1 1 1],NA,4.8,220,1.1\n");
    ReadReport rep;
    const StationSeries s = read_csv_station(p, weather5k_format(), rep);
    EXPECT_EQ(s.vars, weather5k_vars());
    ASSERT_EQ(s.rows(), 4);
    EXPECT_FLOAT_EQ(s.at(0, 0), 5.5f);
    EXPECT_FLOAT_EQ(s.at(0, 1), 1.5f);
    EXPECT_FLOAT_EQ(s.at(0, 2), 200.f);
    EXPECT_FLOAT_EQ(s.at(0, 3), 3.1f);
    EXPECT_FLOAT_EQ(s.at(0, 4), 1012.5f);
    EXPECT_TRUE(is_missing(s.at(1, 1)));  // empty cell
    EXPECT_TRUE(is_missing(s.at(2, 0)));  // 02:00 absent
    EXPECT_TRUE(is_missing(s.at(3, 3)));  // NA
    EXPECT_EQ(rep.missing_values, 2);
}

// WEATHER-5K's files repeat the station's coordinates on every line (LONGITUDE, LATITUDE): read into the station's
// metadata from the first line where they are numbers in range, not as variables. Files without them leave it
// unknown; a generic CSV layout reads such columns as variables like any other.
TEST(DataCsv, Weather5kCoordinatesBecomeStationMetadata) {
    const std::string dir = ft::temp_dir();
    const std::string p = write_file(dir, "st1.csv",
                                     "DATE,LONGITUDE,LATITUDE,TMP,DEW,WND_ANGLE,WND_RATE,SLP,MASK,TIME_DIFF\n"
                                     "2014-01-01 00:00:00,,999,5.5,1.5,200,3.1,1012.5,[1 1 1 1 1],0\n"
                                     "2014-01-01 01:00:00,-111.97,41.12,5.2,1.4,210,2.9,1012.1,[1 1 1 1 1],0\n"
                                     "2014-01-01 02:00:00,-100.0,40.0,5.0,1.3,210,2.9,1012.0,[1 1 1 1 1],0\n");
    ReadReport rep;
    const StationSeries s = read_csv_station(p, weather5k_format(), rep);
    EXPECT_EQ(s.vars, weather5k_vars());
    EXPECT_DOUBLE_EQ(s.meta.longitude, -111.97);  // the first number (line 2: line 1's is empty)
    EXPECT_DOUBLE_EQ(s.meta.latitude, 41.12);     // the first in range (999 is not a latitude)
    EXPECT_TRUE(std::isnan(s.meta.elevation));

    const std::string q = write_file(dir, "st2.csv", "DATE,TMP,DEW,WND_ANGLE,WND_RATE,SLP\n"
                                                     "2014-01-01 00:00:00,5.5,1.5,200,3.1,1012.5\n");
    const StationSeries t = read_csv_station(q, weather5k_format(), rep);
    EXPECT_TRUE(std::isnan(t.meta.longitude));
    EXPECT_TRUE(std::isnan(t.meta.latitude));

    CsvFormat generic;  // every column but the time
    const StationSeries g = read_csv_station(q, generic, rep);
    EXPECT_EQ(g.num_vars(), 5);
    const StationSeries h = read_csv_station(write_file(dir, "st3.csv", "DATE,LONGITUDE,TMP\n2014-01-01 00:00:00,7.5,1\n"),
                                             generic, rep);
    EXPECT_EQ(h.vars, (std::vector<std::string>{"LONGITUDE", "TMP"}));
    EXPECT_TRUE(std::isnan(h.meta.longitude));
}

// WEATHER-5K's MASK column: one flag per variable in the order TMP, DEW, WND_ANGLE, WND_RATE, SLP whatever
// the column order; 0 = filled in by the producer. Counted and kept by default, masked with drop_filled; an
// already missing value is not counted as filled.
TEST(DataCsv, Weather5kMaskCountsOrDropsFilledValues) {
    const std::string dir = ft::temp_dir();
    const std::string p = write_file(dir, "st1.csv",
                                     "SLP,DATE,MASK,WND_RATE,TMP,WND_ANGLE,DEW\n"
                                     "1012.5,2014-01-01 00:00:00,[0 1 1 1 1],3.1,5.5,200,1.5\n"
                                     "1012.1,2014-01-01 01:00:00,[1 0 1 1 0],2.9,5.2,210,\n"
                                     "1011.9,2014-01-01 02:00:00,\"1,1,1,0,1\",2.8,4.8,220,1.1\n"
                                     "1011.7,2014-01-01 03:00:00,11111,2.7,4.6,230,1.0\n");
    ReadReport kept;
    const StationSeries a = read_csv_station(p, weather5k_format(), kept);
    EXPECT_FLOAT_EQ(a.at(0, 0), 5.5f);  // filled, but read as data
    EXPECT_EQ(kept.filled_kept, 3);     // TMP at 00:00, SLP at 01:00, WND_RATE at 02:00 (DEW at 01:00 is empty)
    EXPECT_EQ(kept.filled_dropped, 0);
    EXPECT_NE(kept.summary().find("3 filled-in values (the file's mask) read as data"), std::string::npos);

    CsvFormat f = weather5k_format();
    f.drop_filled = true;
    ReadReport dropped;
    const StationSeries b = read_csv_station(p, f, dropped);
    EXPECT_TRUE(is_missing(b.at(0, 0)));   // TMP
    EXPECT_FLOAT_EQ(b.at(0, 1), 1.5f);
    EXPECT_TRUE(is_missing(b.at(1, 4)));   // SLP
    EXPECT_FLOAT_EQ(b.at(1, 0), 5.2f);
    EXPECT_TRUE(is_missing(b.at(2, 3)));   // WND_RATE
    EXPECT_FLOAT_EQ(b.at(2, 2), 220.f);
    EXPECT_FLOAT_EQ(b.at(3, 0), 4.6f);
    EXPECT_EQ(dropped.filled_dropped, 3);
    EXPECT_EQ(dropped.filled_kept, 0);
    EXPECT_EQ(dropped.missing_values, 1);  // the empty cell only
    EXPECT_NE(dropped.summary().find("3 filled-in values (the file's mask) masked as missing"), std::string::npos);

    // A line whose time repeats an earlier one is dropped, and its filled-in values with it: not counted.
    const std::string dup = write_file(dir, "st3.csv",
                                       "DATE,TMP,DEW,WND_ANGLE,WND_RATE,SLP,MASK\n"
                                       "2014-01-01 00:00:00,1,2,3,4,1005,[1 1 1 1 0]\n"
                                       "2014-01-01 00:00:00,1,2,3,4,1005,[0 0 1 1 1]\n"
                                       "2014-01-01 01:00:00,1,2,3,4,1005,[1 1 1 1 1]\n");
    for (bool drop : {false, true}) {
        CsvFormat g = weather5k_format();
        g.drop_filled = drop;
        ReadReport rep;
        const StationSeries c = read_csv_station(dup, g, rep);
        EXPECT_EQ(rep.duplicate_times, 1);
        EXPECT_EQ(drop ? rep.filled_dropped : rep.filled_kept, 1) << "SLP at 00:00 only";
        EXPECT_EQ(drop ? rep.filled_kept : rep.filled_dropped, 0);
        EXPECT_FLOAT_EQ(c.at(0, 0), 1.f);  // the first line's TMP, observed
    }

    // Malformed masks name the file, line and column.
    const std::string short_mask = write_file(dir, "st2.csv",
                                              "DATE,TMP,DEW,WND_ANGLE,WND_RATE,SLP,MASK\n"
                                              "2014-01-01 00:00:00,1,2,3,4,5,[1 1 1]\n");
    std::string msg = error_of([&] { read_csv_station(short_mask, f, dropped); });
    EXPECT_NE(msg.find("st2.csv:2"), std::string::npos) << msg;
    EXPECT_NE(msg.find("column 7 (\"MASK\")"), std::string::npos) << msg;
    EXPECT_NE(msg.find("has 3 flags, expected 5 (one per variable: TMP, DEW, WND_ANGLE, WND_RATE, SLP)"),
              std::string::npos) << msg;
    const std::string bad_mask = write_file(dir, "st3.csv",
                                            "DATE,TMP,DEW,WND_ANGLE,WND_RATE,SLP,MASK\n"
                                            "2014-01-01 00:00:00,1,2,3,4,5,[1 1 2 1 1]\n");
    msg = error_of([&] { read_csv_station(bad_mask, f, dropped); });
    EXPECT_NE(msg.find("st3.csv:2"), std::string::npos) << msg;
    EXPECT_NE(msg.find("is not an observation mask"), std::string::npos) << msg;

    // A generic layout that names a mask column requires it.
    CsvFormat g;
    g.features = {CsvColumn("TMP"), CsvColumn("DEW")};
    g.mask_column = "FLAGS";
    g.mask_required = true;
    msg = error_of([&] { read_csv_station(bad_mask, g, dropped); });
    EXPECT_NE(msg.find("mask column \"FLAGS\" not found"), std::string::npos) << msg;
    // With every other column a feature (no list given), the mask column is not one of them.
    const std::string all_cols = write_file(dir, "st4.csv",
                                            "DATE,TMP,DEW,FLAGS\n"
                                            "2014-01-01 00:00:00,1,2,10\n"
                                            "2014-01-01 01:00:00,3,4,11\n");
    g.features = {};
    g.drop_filled = true;
    ReadReport all_rep;
    const StationSeries c = read_csv_station(all_cols, g, all_rep);
    EXPECT_EQ(c.vars, (std::vector<std::string>{"TMP", "DEW"}));
    EXPECT_TRUE(is_missing(c.at(0, 1)));
    EXPECT_FLOAT_EQ(c.at(1, 1), 4.f);
    EXPECT_EQ(all_rep.filled_dropped, 1);
}

TEST(DataCsv, UnknownColumnListsAvailable) {
    const std::string dir = ft::temp_dir();
    const std::string p = write_file(dir, "st.csv", "DATE,TMP,DEW\n2014-01-01 00:00:00,1,2\n");
    ReadReport rep;
    const std::string msg = error_of([&] { read_csv_station(p, weather5k_format(), rep); });
    EXPECT_NE(msg.find("st.csv"), std::string::npos) << msg;
    EXPECT_NE(msg.find("\"WND_ANGLE\" not found"), std::string::npos) << msg;
    EXPECT_NE(msg.find("available columns: DATE, TMP, DEW"), std::string::npos) << msg;
}

// Station ids and variable names go into checkpoints and reports, which are JSON and hold only UTF-8: a Latin-1 header
// ("T\xb0C", as Excel writes it) or file name is refused as it is read, naming the file, not after an epoch of training.
TEST(DataCsv, NamesThatAreNotUtf8AreRefusedAsTheyAreRead) {
    StationReadOptions ro;
    ro.format = "csv";
    const std::string rows = "2014-01-01 00:00:00,1,2\n2014-01-01 01:00:00,1,2\n";
    const std::string dir = ft::temp_dir();
    write_file(dir, "s.csv", "DATE,T\xb0" "C,RH\n" + rows);
    const std::string msg = error_of([&] { read_station_set(dir, ro); });
    EXPECT_NE(msg.find("s.csv: the variable name \"T\\xb0C\" (a header column) is not valid UTF-8 text"),
              std::string::npos) << msg;
    const std::string dir2 = ft::temp_dir();
    write_file(dir2, "S\xe9.csv", "DATE,TMP,RH\n" + rows);
    const std::string msg2 = error_of([&] { read_station_set(dir2, ro); });
    EXPECT_NE(msg2.find("S\\xe9.csv: the station id \"S\\xe9\" (the file's name) is not valid UTF-8 text"),
              std::string::npos) << msg2;
    // UTF-8 names are read as they are.
    const std::string dir3 = ft::temp_dir();
    write_file(dir3, "Z\xc3\xbcrich.csv", "DATE,T\xc2\xb0" "C,RH\n" + rows);
    const StationData d = read_station_set(dir3, ro);
    EXPECT_EQ(d.set.stations.at(0).id, "Z\xc3\xbcrich");
    EXPECT_EQ(d.set.vars.at(0), "T\xc2\xb0" "C");
}

// Files with the same columns in another order are one data set: matched by name, in the first file's order (they
// were refused, and `predict` then advised another format). Other columns stay an error, with the flag that helps.
TEST(DataCsv, FilesWithTheSameColumnsInAnotherOrderAreOneDataSet) {
    StationReadOptions ro;
    ro.format = "csv";
    const std::string dir = ft::temp_dir();
    write_file(dir, "a.csv", "DATE,TMP,RH,SLP\n2014-01-01 00:00:00,1,50,1000\n2014-01-01 01:00:00,2,51,1001\n");
    write_file(dir, "b.csv", "SLP,DATE,RH,TMP\n1010,2014-01-01 00:00:00,60,-1\n1011,2014-01-01 01:00:00,61,-2\n");
    const StationData d = read_station_set(dir, ro);
    ASSERT_EQ(d.set.vars, (std::vector<std::string>{"TMP", "RH", "SLP"}));
    ASSERT_EQ(d.set.stations.size(), 2u);
    const int64_t b = d.set.stations[1].row_begin;
    EXPECT_EQ(d.set.values[size_t(b) * 3 + 0], -1.f);
    EXPECT_EQ(d.set.values[size_t(b) * 3 + 1], 60.f);
    EXPECT_EQ(d.set.values[size_t(b) * 3 + 2], 1010.f);
    EXPECT_EQ(d.set.values[size_t(b + 1) * 3 + 2], 1011.f);
    write_file(dir, "c.csv", "DATE,TMP,DEW,SLP\n2014-01-01 00:00:00,1,0,1000\n");
    const std::string msg = error_of([&] { read_station_set(dir, ro); });
    EXPECT_NE(msg.find("c.csv: variables [TMP, DEW, SLP] differ from those of the stations before it [TMP, RH, SLP]"),
              std::string::npos) << msg;
    EXPECT_NE(msg.find("name the columns to read from every file with --csv-columns"), std::string::npos) << msg;
    StationSeries s;
    s.vars = {"A", "B"};
    s.values = {1, 2, 3, 4};
    EXPECT_FALSE(s.reorder_vars({"A", "A"}));
    EXPECT_FALSE(s.reorder_vars({"A"}));
    EXPECT_TRUE(s.reorder_vars({"B", "A"}));
    EXPECT_EQ(s.values, (std::vector<float>{2, 1, 4, 3}));
}

// -9999 read as a temperature wrecks the normalization without a word: numbers that look like missing-value codes
// and that no sentinel or valid range masked are counted, and the report says so with the first and the flags.
TEST(DataCsv, NumbersThatLookLikeMissingCodesAreSaid) {
    const std::string dir = ft::temp_dir();
    const std::string p = write_file(dir, "s.csv", "DATE,TMP,RH\n2014-01-01 00:00:00,1,50\n2014-01-01 01:00:00,-9999,50\n"
                                                   "2014-01-01 02:00:00,2,99999\n2014-01-01 03:00:00,-9999,51\n");
    CsvFormat f;
    ReadReport rep;
    read_csv_station(p, f, rep);
    EXPECT_EQ(rep.code_like_values, 3);
    EXPECT_NE(rep.summary().find("warning: 3 values read as data look like missing-value codes (first " + p +
                                 ":3: column 2 (\"TMP\"): -9999): if they mean missing, name them with --csv-sentinel"),
              std::string::npos) << rep.summary();
    f.sentinels = {-9999, 99999};
    ReadReport named;
    read_csv_station(p, f, named);
    EXPECT_EQ(named.code_like_values, 0);
    EXPECT_EQ(named.missing_values, 3);
    EXPECT_EQ(named.summary().find("look like missing-value codes"), std::string::npos) << named.summary();
    f.sentinels.clear();
    f.valid_ranges = {ValidRange{"TMP", -60, 60}};  // masks the TMP ones (counted there); RH's stays
    ReadReport ranged;
    read_csv_station(p, f, ranged);
    EXPECT_EQ(ranged.code_like_values, 1);
}

// A last data line without a line end (a logger's file still being written, or one cut off: "1014.4" cut to "10")
// is read as it stands, but said: counted per file, the first named by file and line. A file that merely ends in
// a blank line without one, or with its line end, says nothing.
TEST(DataCsv, ALastLineWithoutALineEndIsSaid) {
    const std::string dir = ft::temp_dir();
    const std::string whole = "DATE,TMP,SLP\n2014-01-01 00:00:00,1,1014.4\n2014-01-01 01:00:00,2,1014.4\n";
    const std::string cut = write_file(dir, "cut.csv", whole.substr(0, whole.size() - 5));
    CsvFormat f;
    ReadReport rep;
    const StationSeries s = read_csv_station(cut, f, rep);
    EXPECT_EQ(s.at(1, 1), 10.f);  // read as it stands
    EXPECT_EQ(rep.unterminated_files, 1);
    EXPECT_NE(rep.summary().find("warning: 1 file ends without a line end after its last line (first " + cut +
                                 ":3): a file cut off, or still being written, may end in half a value there"),
              std::string::npos) << rep.summary();
    ReadReport both = rep;
    both.merge(rep);
    EXPECT_NE(both.summary().find("2 files end without a line end after their last line (first " + cut + ":3)"),
              std::string::npos) << both.summary();
    for (const std::string& fine : {whole, whole + "\n  "}) {
        ReadReport ok;
        read_csv_station(write_file(dir, "ok.csv", fine), f, ok);
        EXPECT_EQ(ok.unterminated_files, 0);
        EXPECT_EQ(ok.summary().find("line end"), std::string::npos) << ok.summary();
    }
    // ISD-lite's fixed-width lines too.
    std::string isd = kIsd;
    while (!isd.empty() && isd.back() == '\n') isd.pop_back();
    ReadReport isd_rep;
    read_isd_lite(write_file(dir, "071690-99999-2017", isd), isd_rep);
    EXPECT_EQ(isd_rep.unterminated_files, 1);
}

// The first errors a user with their own CSV meets name the way out: a word meaning "missing", a decimal comma, a
// text column, a NaN, rows of a finer step than the grid (the step that fits is named).
TEST(DataCsv, CommonFirstErrorsNameTheWayOut) {
    const auto has = [](const std::string& text, const std::string& part) {
        const bool found = text.find(part) != std::string::npos;
        if (!found) ADD_FAILURE() << text;
        return found;
    };
    const std::string dir = ft::temp_dir();
    CsvFormat f;
    ReadReport rep;
    const auto message = [&](const std::string& name, const std::string& text, char delimiter = ',') {
        f.delimiter = delimiter;
        return error_of([&] { read_csv_station(write_file(dir, name, text), f, rep); });
    };
    EXPECT_TRUE(has(message("a.csv", "DATE,TMP\n2014-01-01 00:00:00,N/A\n"),
                    "\"N/A\" is not a number (if it marks a missing value, name it with --csv-missing \"N/A\""));
    EXPECT_TRUE(has(message("b.csv", "DATE;TMP\n2014-01-01 00:00:00;12,5\n", ';'),
                    "\"12,5\" is not a number (a decimal comma?"));
    EXPECT_TRUE(has(message("c.csv", "DATE,ID\n2014-01-01 00:00:00,KSEA\n"),
                    "\"KSEA\" is not a number (a column that is not a measurement?"));
    // Fuzz QA: a number beyond a double's range, a carriage return in a cell and a byte-order mark inside the file
    // are named as what they are; a decimal comma's hint is for a point in the cell only.
    EXPECT_TRUE(has(message("c2.csv", "DATE,TMP\n2014-01-01 00:00:00,1e999\n"),
                    "column 2 (\"TMP\"): \"1e999\" is a number too large for a double (a damaged value?"));
    EXPECT_TRUE(has(message("c2b.csv", "DATE,TMP\n2014-01-01 00:00:00,1e-400\n"),
                    "\"1e-400\" is a number too close to zero for a double"));
    EXPECT_TRUE(has(message("c3.csv", "DATE,TMP\n2014-01-01 00:00:00,1\r5\n"),
                    "\"1\\x0d5\" is not a number (it holds a carriage return: lines ending CR CR LF, or a stray one?"));
    EXPECT_TRUE(has(message("c4.csv", "DATE,TMP\n\xEF\xBB\xBF" "2014-01-01 00:00:00,1\n"),
                    "\"\\uFEFF2014-01-01 00:00:00\" does not match the time format"));
    f.decimal_mark = ',';
    const std::string letters = message("c5.csv", "DATE;TMP\n2014-01-01 00:00:00;12abc\n", ';');
    const std::string point = message("c6.csv", "DATE;TMP\n2014-01-01 00:00:00;1.234,5\n", ';');
    f.decimal_mark = '.';
    EXPECT_TRUE(has(letters, "\"12abc\" is not a number"));
    EXPECT_EQ(letters.find("thousands separator"), std::string::npos) << letters;
    EXPECT_TRUE(has(point, "numbers are written like 1234,5: no thousands separator"));
    // A preset's columns are measurements: a flagged number (NOAA's own LCD export, QA) or other text there is a file
    // in another layout, not a column to leave out.
    const std::string lcd_header =
        "DATE,HourlyDewPointTemperature,HourlyDryBulbTemperature,HourlyRelativeHumidity\n";
    const std::string flagged = error_of([&] {
        read_csv_station(write_file(dir, "lcd.csv", lcd_header + "2014-01-01 00:53:00,23s,30,80\n"), noaa_lcd_format(),
                         rep);
    });
    EXPECT_TRUE(has(flagged, "\"23s\" is not a number (a number with a quality flag after it, as NCEI's own LCD "
                             "export writes suspect values? read that export with --format ncei-lcd"));
    const std::string other = error_of([&] {
        read_csv_station(write_file(dir, "lcd2.csv", lcd_header + "2014-01-01 00:53:00,KSEA,30,80\n"),
                         noaa_lcd_format(), rep);
    });
    EXPECT_TRUE(has(other, "\"KSEA\" is not a number (the noaa-lcd format reads this column as a measurement: is "
                           "the file in the layout docs/data.md gives for it?)"));
    EXPECT_TRUE(has(message("d.csv", "DATE,TMP\n2014-01-01 00:00:00,NaN\n"),
                    "(if it marks a missing value, name it with --csv-missing \"NaN\", or write missing values as an "
                    "empty cell or \"NA\")"));
    EXPECT_TRUE(has(message("e.csv", "DATE,TMP\n2014-01-01 00:00:00,1\n2014-01-01 00:10:00,2\n"),
                    "(rows every 10 minutes? give --csv-step-minutes 10 with --format csv; times a little off the "
                    "grid are rounded to it with --csv-round-times)"));
    EXPECT_TRUE(has(message("f.csv", "DATE,TMP\n2014-01-01 00:00:00,1\n2014-01-01 00:00:30,2\n"),
                    "(rows every 30 seconds? give --csv-step-minutes 0.5"));
    // A file whose first time is off the grid is most likely a whole series offset from it (LCD's hourly reports at
    // :53): rounding comes first, and the finer step that fits second, only when a grid step holds a few of it (a
    // 1-minute grid for reports at :53 would be 59 gap rows in 60). So for a row a grid step or more after the one
    // before (QA: 00:00, then 01:53 was offered the 1-minute step first).
    EXPECT_TRUE(has(message("f2.csv", "DATE,TMP\n2014-01-01 00:53:00,1\n2014-01-01 01:53:00,2\n"),
                    "(the file's first time is 53 minutes past the grid, as hourly reports at :53? give "
                    "--csv-round-times to file each row under the nearest grid time)"));
    EXPECT_TRUE(has(message("f3.csv", "DATE,TMP\n2014-01-01 00:30:00,1\n"),
                    "(the file's first time is 30 minutes past the grid, as hourly reports at :30? give "
                    "--csv-round-times to file each row under the nearest grid time; or rows every 30 minutes? give "
                    "--csv-step-minutes 30 with --format csv)"));
    EXPECT_TRUE(has(message("f4.csv", "DATE,TMP\n2014-01-01 00:00:00,1\n2014-01-01 01:53:00,2\n"),
                    "f4.csv:3: column 1 (\"DATE\"): time 2014-01-01 01:53:00 is not on the 3600-second grid of this "
                    "format (times a little off the grid are rounded to it with --csv-round-times)"));
    // Every line skipped (here off the grid) under BadLines::Skip: the first one's reason is given (QA: only "all
    // were skipped").
    CsvFormat skipping = f;
    skipping.on_bad_line = BadLines::Skip;
    ReadReport skipped;
    EXPECT_TRUE(has(error_of([&] {
                        read_csv_station(write_file(dir, "f6.csv", "DATE,TMP\n2014-01-01 00:53:00,1\n"
                                                                   "2014-01-01 01:53:00,2\n"),
                                         skipping, skipped);
                    }),
                    "f6.csv: no data lines (all 2 were skipped as malformed; the first: " + dir +
                        "/f6.csv:2: column 1 (\"DATE\"): time 2014-01-01 00:53:00 is not on the 3600-second grid"));
    EXPECT_TRUE(has(message("f5.csv", "DATE,TMP\n2014-01-01 00:00:00,1\n2014-01-01 01:20:00,2\n"),
                    "(times a little off the grid are rounded to it with --csv-round-times; or rows every 20 minutes? "
                    "give --csv-step-minutes 20 with --format csv)"));
    // Files that are not UTF-8 CSV lines at all, said as that (not as odd column names).
    EXPECT_TRUE(has(message("g.csv", "DATE,TMP\r2014-01-01 00:00:00,1\r"), "the lines end in a carriage return alone"));
    EXPECT_TRUE(has(message("g2.csv", "DATE,TMP\r\r\n2014-01-01 00:00:00,1\r\r\n"),
                    "g2.csv: the lines end in more than one carriage return (CR CR LF"));
    EXPECT_TRUE(has(message("g3.csv", "DATE,T\rMP\n2014-01-01 00:00:00,1\n"),
                    "g3.csv:1: the header holds a carriage return inside it, before \"MP\": remove it"));
    EXPECT_TRUE(has(message("h.csv", std::string("\xFF\xFE" "D\0A\0T\0E\0\n\0", 12)), "the file is UTF-16 text"));
    // UTF-32, with its mark (whose little-endian form begins with UTF-16's) or without, is named as that.
    EXPECT_TRUE(has(message("h2.csv", std::string("\xFF\xFE\0\0" "D\0\0\0A\0\0\0\n\0\0\0", 16)),
                    "the file is UTF-32 text, not UTF-8: convert it (iconv -f utf-32 -t utf-8)"));
    EXPECT_TRUE(has(message("h3.csv", std::string("D\0\0\0A\0\0\0T\0\0\0\n\0\0\0", 16)),
                    "(iconv -f utf-32le -t utf-8)"));
    EXPECT_TRUE(has(message("h4.csv", std::string("\0\0\0D\0\0\0A\0\0\0T\0\0\0\n", 16)),
                    "(iconv -f utf-32be -t utf-8)"));
    EXPECT_TRUE(has(message("i.csv", "\xEF\xBB\xBF"), "i.csv: only blank lines (expected a header line)"));
    EXPECT_TRUE(has(message("i2.csv", "\n\nDATE,TMP\n"), "i2.csv: the first line is empty (expected a header line)"));
    EXPECT_TRUE(has(message("j.csv", "DATE,TMP\n2014-01-01 00:00:00,1,\n"),
                    "3 fields, the header has 2: the line ends in 1 empty field (a delimiter at the end of each data "
                    "line?"));
    EXPECT_TRUE(has(message("k.csv", "DATE,TMP\n2014-01-01 00:00:00,1,5\n"),
                    "3 fields, the header has 2 (truncated or malformed line?)"));
}

// A preset's missing tokens are fixed: --csv-missing would turn it into a custom layout (QA: following that hint for a
// Jena file's NaN or an LCD file's M failed, or read other columns). The hint names the tokens the preset reads.
TEST(DataCsv, MissingValueHintsOfPresetsCanBeFollowed) {
    const std::string dir = ft::temp_dir();
    ReadReport rep;
    const std::string nan_cell = error_of([&] {
        read_csv_station(write_file(dir, "jena.csv", "Date Time,p (mbar),T (degC)\n01.01.2009 00:10:00,996.5,NaN\n"),
                         jena_format(), rep);
    });
    EXPECT_EQ(nan_cell.find("--csv-missing"), std::string::npos) << nan_cell;
    EXPECT_NE(nan_cell.find("non-finite value \"NaN\" is not accepted as data (if it marks a missing value, the jena "
                            "format reads an empty cell or \"NA\" as missing: write missing values so, or skip their "
                            "lines, every value on them, with --skip-bad-lines)"),
              std::string::npos) << nan_cell;
    const std::string m_cell = error_of([&] {
        read_csv_station(write_file(dir, "lcd.csv",
                                    "DATE,HourlyDewPointTemperature,HourlyDryBulbTemperature,HourlyRelativeHumidity\n"
                                    "2014-01-01 00:53:00,M,30,80\n"),
                         noaa_lcd_format(), rep);
    });
    EXPECT_EQ(m_cell.find("--csv-missing"), std::string::npos) << m_cell;
    EXPECT_NE(m_cell.find("\"M\" is not a number (if it marks a missing value, the noaa-lcd format reads"),
              std::string::npos) << m_cell;
}

// Binary files are said as that, not as UTF-16 text (QA: an .xlsx renamed to .csv, an ELF program); UTF-16 without
// a byte-order mark still is UTF-16.
TEST(DataCsv, BinaryFilesAreNotCalledUtf16) {
    const std::string dir = ft::temp_dir();
    ReadReport rep;
    const auto message = [&](const std::string& name, const std::string& bytes) {
        return error_of([&] { read_csv_station(write_file(dir, name, bytes), CsvFormat(), rep); });
    };
    // The byte strings hold NULs, so each gives its length: the literal's bytes without its terminating NUL.
    const std::string zip = message("zip.csv", std::string("PK\x03\x04\x14\0\0\0\x08\0abc\n", 14));
    EXPECT_NE(zip.find("zip.csv: the file is not a text file (it starts with a ZIP signature: a .zip archive, or an "
                       "Excel .xlsx workbook? unzip it, or save the workbook as CSV)"), std::string::npos) << zip;
    // UTF-16 without a mark: the byte order is named, as iconv's "utf-16" takes it for little-endian (QA's recheck).
    const std::string be = message("be.csv", std::string("\0D\0A\0T\0E\0,\0T\0\n", 14));
    EXPECT_NE(be.find("(iconv -f utf-16be -t utf-8)"), std::string::npos) << be;
    const std::string elf = message("elf.csv", std::string("\x7F" "ELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x03\0>\0\n", 21));
    EXPECT_NE(elf.find("elf.csv: the file is not a text file (its first line holds NUL bytes"), std::string::npos)
        << elf;
    EXPECT_EQ(elf.find("UTF-16"), std::string::npos) << elf;
    // Archives of other kinds than gzip (which is read) are named, in CSV and ISD-Lite files alike (fuzz QA: a bzip2'd
    // ISD-Lite file was "text after column 61").
    const std::string bz2 = std::string("BZh91AY&SY\x8e\x01\x02\n", 14);
    EXPECT_NE(message("bz.csv", bz2).find("bz.csv: the file is not a text file (it starts with the signature of a "
                                          "bzip2, xz, zstd or 7z archive: decompress it"), std::string::npos);
    const std::string isd = error_of([&] { read_isd_lite(write_file(dir, "071690-99999-2016", bz2), rep); });
    EXPECT_NE(isd.find("071690-99999-2016: the file is not a text file (it starts with the signature of a bzip2"),
              std::string::npos) << isd;
    // ISD-Lite lines ending in CR alone, or CR CR LF, are named as such, as in a CSV file.
    const std::string line = "2016 01 01 00   -32   -37 10280     0     0     9     0 -9999";
    const std::string mac =
        error_of([&] { read_isd_lite(write_file(dir, "071690-99999-2016", line + "\r" + line + "\r"), rep); });
    EXPECT_NE(mac.find("the lines end in a carriage return alone (classic Mac line ends)"), std::string::npos) << mac;
    const std::string crcrlf =
        error_of([&] { read_isd_lite(write_file(dir, "071690-99999-2016", line + "\r\r\n" + line + "\r\r\n"), rep); });
    EXPECT_NE(crcrlf.find("the lines end in more than one carriage return (CR CR LF"), std::string::npos) << crcrlf;
    const std::string xls = message("xls.csv", std::string("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1\n", 9));
    EXPECT_NE(xls.find("an Excel .xls workbook?"), std::string::npos) << xls;
    const std::string utf16 = message("u16.csv", std::string("D\0A\0T\0E\0,\0T\0\r\0\n\0", 16));
    EXPECT_NE(utf16.find("the file is UTF-16 text"), std::string::npos) << utf16;
}

// A stray quote under --skip-bad-lines opens a field that swallows up to 100 lines into one bad record: only its
// first line is bad, and the lines it swallowed are read again on their own, with their own line numbers (QA: one
// quote lost 100 lines). So are those of a record a second stray quote closed into a value holding line breaks. A
// record whose line breaks sit in a column it does not read (notes) but whose values fail loses all its lines.
TEST(DataCsv, AStrayQuoteLosesOnlyItsOwnLine) {
    const std::string dir = ft::temp_dir();
    std::string text = "DATE,SLP\n";
    for (int i = 0; i < 600; ++i) {
        const std::string date =
            i == 100 ? "2014-13-45 00:00:00" : format_time(hour_of(2014, 1, 1, 0) + int64_t(i) * 3600);
        text += date + (i == 59 || i == 299 ? ",\"1013.5\n" : i == 301 ? ",1013.5\"\n" : ",1013.5\n");
    }
    CsvFormat f;
    f.on_bad_line = BadLines::Skip;
    ReadReport rep;
    const StationSeries s = read_csv_station(write_file(dir, "a.csv", text), f, rep);
    EXPECT_EQ(rep.lines, 600);
    // Line 61 (the quote never closes), line 102 (a bad date among the lines it swallowed), line 301 (closed by line
    // 303's quote into a value over three lines) and line 303 (a quote in an unquoted field, read on its own).
    EXPECT_EQ(rep.skipped_lines, 4);
    EXPECT_EQ(rep.records, 596);
    EXPECT_NE(rep.summary().find("600 lines -> 596 rows; 4 lines skipped"), std::string::npos) << rep.summary();
    ASSERT_EQ(rep.examples.size(), 4u);
    EXPECT_NE(rep.examples[0].find("a.csv:61: unterminated quote"), std::string::npos) << rep.examples[0];
    EXPECT_NE(rep.examples[0].find("still open after 100 lines: a stray quote?); the 99 lines after it are read on "
                                   "their own"), std::string::npos) << rep.examples[0];
    EXPECT_NE(rep.examples[1].find("a.csv:102:"), std::string::npos) << rep.examples[1];
    EXPECT_NE(rep.examples[2].find("a.csv:301: "), std::string::npos) << rep.examples[2];
    EXPECT_NE(rep.examples[2].find("the 2 lines after it are read on their own"), std::string::npos) << rep.examples[2];
    EXPECT_NE(rep.examples[3].find("a.csv:303:"), std::string::npos) << rep.examples[3];
    EXPECT_EQ(s.rows(), 600);
    EXPECT_EQ(s.values.size(), 600u);
    EXPECT_FLOAT_EQ(s.values[61], 1013.5f);  // a swallowed line, read on its own

    // A notes column the format does not read may hold line breaks: a record with one whose value is bad loses its
    // lines (they are the record's, not lines of their own).
    std::string noted = "DATE,SLP,NOTE\n";
    for (int i = 0; i < 30; ++i)
        noted += format_time(hour_of(2014, 1, 1, 0) + int64_t(i) * 3600) +
                 (i == 9    ? ",x,\"two\nlines\"\n"
                  : i == 20 ? ",1013.5,\"three\nwhole\nlines\"\n"
                            : ",1013.5,\"\"\n");
    CsvFormat g = f;
    g.features = {CsvColumn("SLP")};
    ReadReport nrep;
    read_csv_station(write_file(dir, "n.csv", noted), g, nrep);
    // The file's lines, each counted: a good record over three lines is one row and two joined lines, and the
    // summary names it (QA: two stray quotes in a notes column took the data lines between them without a word).
    EXPECT_EQ(nrep.lines, 33);
    EXPECT_EQ(nrep.skipped_lines, 2);
    EXPECT_EQ(nrep.records, 29);
    EXPECT_EQ(nrep.joined_lines, 2);
    EXPECT_EQ(nrep.multiline_records, 1);
    EXPECT_NE(nrep.summary().find("1 record over several lines (a quoted field holding line breaks, 2 lines joined; "
                                  "first " + dir + "/n.csv:23-25: if not a notes column, look for stray quotes there)"),
              std::string::npos) << nrep.summary();
    ASSERT_FALSE(nrep.examples.empty());
    EXPECT_NE(nrep.examples[0].find("n.csv:11-12"), std::string::npos) << nrep.examples[0];
}

// One station whose file holds no data line (a failed download: header only, or empty) among several: an error that
// says how to read the others; under --skip-bad-lines passed over, counted and named (as ISD-Lite counts a
// station-year's empty file). A lone such station stays an error.
TEST(DataFolder, AStationWithoutDataLinesIsPassedOverWhenSkipping) {
    const std::string dir = ft::temp_dir();
    write_file(dir, "a.csv", "DATE,TMP\n2014-01-01 00:00:00,1\n2014-01-01 01:00:00,2\n");
    const std::string b = write_file(dir, "b.csv", "DATE,TMP\n");
    const std::string c = write_file(dir, "c.csv", "");
    StationReadOptions ro;
    ro.format = "csv";
    const std::string msg = error_of([&] { read_station_set(dir, ro); });
    EXPECT_NE(msg.find(b + ": no data lines"), std::string::npos) << msg;
    EXPECT_NE(msg.find("remove the file, or pass over such stations with --skip-bad-lines"), std::string::npos) << msg;
    ro.on_bad_line = BadLines::Skip;
    const StationData d = read_station_set(dir, ro);
    EXPECT_EQ(d.set.num_stations(), 1);
    EXPECT_EQ(d.report.empty_stations, 2);
    EXPECT_EQ(d.report.empty_files, 0);
    EXPECT_EQ(d.report.files, 3);  // the 0-byte file too (QA: it was not counted, the header-only one was)
    EXPECT_NE(d.report.summary().find("warning: 2 stations passed over: their files hold no data line (first " + b +
                                      ")"), std::string::npos) << d.report.summary();
    // ISD-Lite alike: a station whose only year is empty.
    const std::string isd = ft::temp_dir();
    write_file(isd, "071690-99999-2017", kIsd);
    const std::string empty_year = write_file(isd, "071691-99999-2017", "");
    StationReadOptions io;
    io.on_bad_line = BadLines::Skip;
    const StationData di = read_station_set(isd, io);
    EXPECT_EQ(di.set.num_stations(), 1);
    EXPECT_EQ(di.report.empty_stations, 1);
    EXPECT_EQ(di.report.empty_station_first, empty_year);
    // Nothing but such stations: the error, even when skipping.
    const std::string only = ft::temp_dir();
    write_file(only, "b.csv", "DATE,TMP\n");
    EXPECT_NE(error_of([&] { read_station_set(only, ro); }).find("no data lines"), std::string::npos);
}

// Under --format auto the layout comes from the first CSV file with a line: a 0-byte one first in name order (a failed
// download) is looked past, then passed over as a station without data lines when skipping. All of them empty: an
// error naming the folder.
TEST(DataFolder, FormatDetectionLooksPastEmptyFiles) {
    const std::string dir = ft::temp_dir();
    const std::string empty = write_file(dir, "A000.csv", "");
    write_file(dir, "B001.csv", "DATE,TMP,DEW,WND_ANGLE,WND_RATE,SLP\n2014-01-01 00:00:00,1,2,3,4,1000\n"
                                "2014-01-01 01:00:00,2,2,3,4,1000\n");
    StationReadOptions ro;
    ro.on_bad_line = BadLines::Skip;
    const StationData d = read_station_set(dir, ro);
    EXPECT_EQ(d.format, "weather5k");
    EXPECT_EQ(d.set.num_stations(), 1);
    EXPECT_EQ(d.report.empty_stations, 1);
    EXPECT_EQ(d.report.empty_station_first, empty);
    // Without skipping, the empty station is named with the way out.
    const std::string msg = error_of([&] { read_station_set(dir); });
    EXPECT_NE(msg.find(empty + ": empty file"), std::string::npos) << msg;
    EXPECT_NE(msg.find("--skip-bad-lines"), std::string::npos) << msg;
    const std::string none = ft::temp_dir();
    write_file(none, "A000.csv", "");
    write_file(none, "B001.csv", "");
    const std::string all = error_of([&] { read_station_set(none, ro); });
    EXPECT_NE(all.find("every CSV file in \"" + none + "\" is empty (0 bytes or only blank lines)"), std::string::npos)
        << all;
}

// A column the reader uses must be named once in the header; columns it does not use may repeat.
TEST(DataCsv, DuplicateColumnNamesThatAreUsedAreErrors) {
    const std::string dir = ft::temp_dir();
    const std::string p = write_file(dir, "s.csv",
                                     "DATE,TMP,DEW,WND_ANGLE,WND_RATE,SLP,TMP\n"
                                     "2014-01-01 00:00:00,1,2,3,4,5,6\n");
    ReadReport rep;
    const std::string msg = error_of([&] { read_csv_station(p, weather5k_format(), rep); });
    EXPECT_NE(msg.find("s.csv"), std::string::npos) << msg;
    EXPECT_NE(msg.find("column \"TMP\" appears twice in the header (columns 2 and 7)"), std::string::npos) << msg;
    // Through the folder reader with format auto, too.
    EXPECT_NE(error_of([&] { read_station_set(dir); }).find("appears twice"), std::string::npos);
    // A custom layout selecting TMP and DEW; the time column; the mask; the coordinates.
    CsvFormat f;
    f.features = {CsvColumn("TMP"), CsvColumn("DEW")};
    EXPECT_NE(error_of([&] { read_csv_station(p, f, rep); }).find("\"TMP\" appears twice"), std::string::npos);
    const std::string p2 = write_file(dir, "t.csv", "DATE,TMP,DATE\n2014-01-01 00:00:00,1,2014-01-01 01:00:00\n");
    CsvFormat g;
    g.features = {CsvColumn("TMP")};
    const std::string msg2 = error_of([&] { read_csv_station(p2, g, rep); });
    EXPECT_NE(msg2.find("\"DATE\" appears twice in the header (columns 1 and 3)"), std::string::npos) << msg2;
    const std::string p3 = write_file(dir, "m.csv", "DATE,TMP,MASK,MASK\n2014-01-01 00:00:00,1,[1],[0]\n");
    g.mask_column = "MASK";
    EXPECT_NE(error_of([&] { read_csv_station(p3, g, rep); }).find("\"MASK\" appears twice"), std::string::npos);
    const std::string p4 = write_file(dir, "c.csv",
                                      "DATE,LONGITUDE,TMP,DEW,WND_ANGLE,WND_RATE,SLP,LONGITUDE\n"
                                      "2014-01-01 00:00:00,10,1,2,3,4,5,200\n");
    EXPECT_NE(error_of([&] { read_csv_station(p4, weather5k_format(), rep); }).find("\"LONGITUDE\" appears twice"),
              std::string::npos);
    // An unused column may repeat.
    const std::string p5 = write_file(dir, "u.csv", "DATE,TMP,NOTE,NOTE\n2014-01-01 00:00:00,1,a,b\n");
    g.mask_column.clear();
    ReadReport rep5;
    EXPECT_FLOAT_EQ(read_csv_station(p5, g, rep5).at(0, 0), 1.0f);
}

// A wrong delimiter leaves the header as one column holding the real one; a data line taken as a header starts
// with digits. The "not found" message says so.
TEST(DataCsv, ColumnNotFoundHintsAtDelimiterOrMissingHeader) {
    const std::string dir = ft::temp_dir();
    const std::string p = write_file(dir, "s.csv",
                                     "DATE,TMP,DEW,WND_ANGLE,WND_RATE,SLP\n2014-01-01 00:00:00,1,2,3,4,5\n");
    CsvFormat tab = weather5k_format();
    tab.delimiter = '\t';
    ReadReport rep;
    const std::string msg = error_of([&] { read_csv_station(p, tab, rep); });
    EXPECT_NE(msg.find("time column \"DATE\" not found"), std::string::npos) << msg;
    EXPECT_NE(msg.find("the header has one column: is the delimiter right? it contains ','"), std::string::npos) << msg;
    const std::string p2 = write_file(dir, "semi.csv", "DATE;TMP\n2014-01-01 00:00:00;1\n");
    const std::string msg2 = error_of([&] { read_csv_station(p2, weather5k_format(), rep); });
    EXPECT_NE(msg2.find("it contains ';': give --csv-delimiter ';' with --format csv)"), std::string::npos) << msg2;
    const std::string p3 = write_file(dir, "071690-99999-2017", kIsd);
    const std::string msg3 = error_of([&] { read_csv_station(p3, weather5k_format(), rep); });
    EXPECT_NE(msg3.find("does not look like a header"), std::string::npos) << msg3;
    // Through the folder reader with format auto (a renamed ISD-Lite file).
    const std::string sub = dir + "/auto";
    fs::create_directory(sub);
    write_file(sub, "a.csv", kIsd);
    const std::string msg5 = error_of([&] { read_station_set(sub); });
    EXPECT_NE(msg5.find("does not look like a header"), std::string::npos) << msg5;
    // A header of the right shape but without the column: no hint.
    const std::string p4 = write_file(dir, "x.csv", "WHEN,TMP\n2014-01-01 00:00:00,1\n");
    const std::string msg4 = error_of([&] { read_csv_station(p4, weather5k_format(), rep); });
    EXPECT_EQ(msg4.find("delimiter"), std::string::npos) << msg4;
    EXPECT_EQ(msg4.find("header"), std::string::npos) << msg4;
}

TEST(DataCsv, MalformedLinesNameFileLineAndColumn) {
    const std::string dir = ft::temp_dir();
    const std::string head = "DATE,TMP,DEW,WND_ANGLE,WND_RATE,SLP\n2014-01-01 00:00:00,1,2,3,4,1000\n";
    ReadReport rep;
    struct Case {
        std::string line, expect;
    };
    const Case cases[] = {
        {"2014-01-01 01:00:00,1,2,3,4\n", "5 fields, the header has 6"},        // truncated
        {"2014-01-01 01:00:00,1,x2,3,4,1000\n", "column 3 (\"DEW\"): \"x2\" is not a number"},
        {"2014-01-01 01:00:00,nan,2,3,4,1000\n", "non-finite value \"nan\""},  // NaN written as a number
        {"2014-01-01 01:00:00,inf,2,3,4,1000\n", "non-finite value \"inf\""},
        {"2014-13-01 01:00:00,1,2,3,4,1000\n", "column 1 (\"DATE\")"},
        {"2014-01-01 01:30:00,1,2,3,4,1000\n", "not on the 3600-second grid"},
        {"2014-01-01 01:00:00,\"1,2,3,4,1000\n", "unterminated quoted field"},
    };
    for (const auto& c : cases) {
        const std::string p = write_file(dir, "bad.csv", head + c.line);
        const std::string msg = error_of([&] { read_csv_station(p, weather5k_format(), rep); });
        EXPECT_NE(msg.find("bad.csv:3"), std::string::npos) << msg;
        EXPECT_NE(msg.find(c.expect), std::string::npos) << "expected \"" << c.expect << "\" in: " << msg;
    }
}

// A quoted field may hold line breaks (a notes column saved by a spreadsheet): the record goes on on the next lines.
// A quote left open is an error naming the lines it took, and stops after 100 of them rather than swallow the file.
TEST(DataCsv, QuotedFieldsMaySpanLines) {
    const std::string dir = ft::temp_dir();
    const std::string p = write_file(dir, "notes.csv",
                                     "time,temp,note\n"
                                     "2020-01-01 00:00:00,1.5,\"fine\"\n"
                                     "2020-01-01 01:00:00,2.5,\"sensor swapped,\nsee \"\"log\"\"\n\"\n"
                                     "2020-01-01 02:00:00,3.5,\"\"\n");
    CsvFormat f;
    f.time_columns = {"time"};
    f.features = {CsvColumn("temp")};
    ReadReport rep;
    const StationSeries s = read_csv_station(p, f, rep);
    ASSERT_EQ(s.rows(), 3);
    EXPECT_FLOAT_EQ(s.at(1, 0), 2.5f);
    EXPECT_FLOAT_EQ(s.at(2, 0), 3.5f);
    // The line numbers of later records stay the file's.
    const std::string bad = write_file(dir, "bad.csv",
                                       "time,temp,note\n"
                                       "2020-01-01 00:00:00,1.5,\"two\nlines\"\n"
                                       "2020-01-01 01:00:00,x,\"\"\n");
    std::string msg = error_of([&] { read_csv_station(bad, f, rep); });
    EXPECT_NE(msg.find("bad.csv:4: column 2 (\"temp\"): \"x\" is not a number"), std::string::npos) << msg;
    std::string stray = "time,temp,note\n2020-01-01 00:00:00,1.5,\"oops\n";
    for (int h = 1; h < 300; ++h) stray += fmt::format("2020-01-{:02d} {:02d}:00:00,1.5,x\n", 1 + h / 24, h % 24);
    const std::string stray_file = write_file(dir, "stray.csv", stray);
    msg = error_of([&] { read_csv_station(stray_file, f, rep); });
    EXPECT_NE(msg.find("stray.csv:2-101: unterminated quoted field (a quoted field may hold line breaks, but this one "
                       "is still open after 100 lines: a stray quote?)"),
              std::string::npos) << msg;
}

TEST(DataCsv, SkipPolicyAndEmptyFile) {
    const std::string dir = ft::temp_dir();
    const std::string p = write_file(dir, "s.csv",
                                     "DATE,TMP,DEW,WND_ANGLE,WND_RATE,SLP\n"
                                     "2014-01-01 00:00:00,1,2,3,4,1000\n"
                                     "2014-01-01 01:00:00,1,2,3\n"
                                     "2014-01-01 02:00:00,1,2,3,4,1001\n");
    CsvFormat f = weather5k_format();
    f.on_bad_line = BadLines::Skip;
    ReadReport rep;
    const StationSeries s = read_csv_station(p, f, rep);
    EXPECT_EQ(s.rows(), 3);
    EXPECT_TRUE(is_missing(s.at(1, 0)));
    EXPECT_EQ(rep.skipped_lines, 1);
    EXPECT_EQ(rep.records, 2);

    const std::string empty = write_file(dir, "empty.csv", "");
    EXPECT_NE(error_of([&] { read_csv_station(empty, f, rep); }).find("empty file"), std::string::npos);
    const std::string header_only = write_file(dir, "header.csv", "DATE,TMP,DEW,WND_ANGLE,WND_RATE,SLP\n");
    EXPECT_NE(error_of([&] { read_csv_station(header_only, f, rep); }).find("no data lines"), std::string::npos);
}

TEST(DataCsv, GenericTimeColumnsOffsetsCompassAndTargets) {
    const std::string dir = ft::temp_dir();
    const std::string p = write_file(dir, "site.csv",
                                     "No,year,month,day,hour,TEMP,wd,station\n"
                                     "1,2013,3,1,0,-0.5,\"NNW\",\"Dongsi\"\n"
                                     "2,2013,3,1,1,-0.7,NA,\"Dongsi\"\n");
    CsvFormat f;
    f.time_columns = {"year", "month", "day", "hour"};
    f.utc_offset = 8 * 3600;
    f.features = {CsvColumn("wd", "WND_ANGLE", 1, 0, ValueKind::Compass)};
    f.targets = {CsvColumn("TEMP", "TMP")};
    f.name_column = "station";
    ReadReport rep;
    const StationSeries s = read_csv_station(p, f, rep);
    EXPECT_EQ(s.name, "Dongsi");
    EXPECT_EQ(s.vars, (std::vector<std::string>{"WND_ANGLE", "TMP"}));
    EXPECT_EQ(s.targets, std::vector<std::string>{"TMP"});
    EXPECT_EQ(format_time(s.start), "2013-02-28 16:00:00");  // Beijing time -> UTC
    EXPECT_FLOAT_EQ(s.at(0, 0), 337.5f);
    EXPECT_FLOAT_EQ(s.at(0, 1), -0.5f);
    EXPECT_TRUE(is_missing(s.at(1, 0)));

    const std::string bad = write_file(dir, "bad.csv",
                                       "No,year,month,day,hour,TEMP,wd,station\n"
                                       "1,2013,3,1,0,-0.5,\"XYZ\",\"Dongsi\"\n");
    const std::string msg = error_of([&] { read_csv_station(bad, f, rep); });
    EXPECT_NE(msg.find("bad.csv:2"), std::string::npos) << msg;
    EXPECT_NE(msg.find("compass"), std::string::npos) << msg;
    // A year column of two digits is no year of the data (QA: 13 made a station of the year 13).
    const std::string short_year = write_file(dir, "short.csv",
                                              "No,year,month,day,hour,TEMP,wd,station\n"
                                              "1,13,3,1,0,-0.5,\"NNW\",\"Dongsi\"\n");
    const std::string year_msg = error_of([&] { read_csv_station(short_year, f, rep); });
    EXPECT_NE(year_msg.find("short.csv:2: column 2 (\"year\"): 13 is not a full year (a two-digit year? the column "
                            "must hold all four digits)"), std::string::npos) << year_msg;
    // Nor one of years since 1900 (QA: 113 was the year 113).
    const std::string tm_year = write_file(dir, "tm_year.csv",
                                           "No,year,month,day,hour,TEMP,wd,station\n"
                                           "1,113,3,1,0,-0.5,\"NNW\",\"Dongsi\"\n");
    const std::string tm_msg = error_of([&] { read_csv_station(tm_year, f, rep); });
    EXPECT_NE(tm_msg.find("tm_year.csv:2: column 2 (\"year\"): 113 is not a full year (years since 1900, as C's "
                          "tm_year, for 2013? the column must hold"), std::string::npos) << tm_msg;
}

// A line dated decades away from the rest of its station (1900 for 2014, or 2099 with no value) stretches the grid
// over a century of gap rows: the report warns, naming the lines on each side (fuzz QA: said nothing). Rows a few
// months apart are no such thing.
TEST(DataCsv, RowsYearsApartFromTheirStationAreWarnedOf) {
    const std::string dir = ft::temp_dir();
    std::string rows;
    for (int h = 0; h < 48; ++h) rows += fmt::format("2014-01-{:02} {:02}:00:00,{}\n", 1 + h / 24, h % 24, h);
    CsvFormat f;
    ReadReport stray;
    (void)read_csv_station(write_file(dir, "s.csv", "DATE,TMP\n" + rows + "1900-03-04 11:00:00,1\n"), f, stray);
    EXPECT_EQ(stray.stray_stations, 1);
    EXPECT_NE(stray.summary().find("warning: 1 station with rows years apart from the rest of its own (first station "
                                   "s: 114 years without rows between 1900-03-04 11:00:00 (" + dir + "/s.csv:50) and "
                                   "2014-01-01 00:00:00 (" + dir + "/s.csv:2), 1 row on the earlier side)"),
              std::string::npos) << stray.summary();
    // A stray line at each end: both gaps are told of (QA: only the longer one was named).
    ReadReport both;
    (void)read_csv_station(write_file(dir, "b.csv", "DATE,TMP\n1990-01-01 00:00:00,1\n" + rows +
                                                        "2099-01-01 00:00:00,1\n"), f, both);
    EXPECT_EQ(both.stray_stations, 1);
    EXPECT_NE(both.summary().find("(first station b: 24 years without rows between 1990-01-01 00:00:00 (" + dir +
                                  "/b.csv:2) and 2014-01-01 00:00:00 (" + dir + "/b.csv:3), 1 row on the earlier "
                                  "side (and 1 more such gap))"), std::string::npos) << both.summary();
    ReadReport months;
    (void)read_csv_station(write_file(dir, "m.csv", "DATE,TMP\n" + rows + "2014-06-01 00:00:00,1\n"), f, months);
    EXPECT_EQ(months.stray_stations, 0) << months.summary();
}

// Blank lines are passed over but counted (a report that hid them could hide a damaged file). An offset of a
// fraction of the step moves on-the-hour local times between UTC grid rows: the error says so and names the flag.
TEST(DataCsv, BlankLinesCountedAndFractionalOffsetsExplained) {
    const std::string dir = ft::temp_dir();
    const std::string p = write_file(dir, "india.csv",
                                     "time,TEMP\n"
                                     "2020-01-01 00:00:00,20.5\n"
                                     "\n"
                                     "  \n"
                                     "2020-01-01 01:00:00,21\n");
    CsvFormat f;
    f.time_columns = {"time"};
    ReadReport rep;
    const StationSeries s = read_csv_station(p, f, rep);
    EXPECT_EQ(s.rows(), 2);
    EXPECT_EQ(rep.lines, 2);
    EXPECT_EQ(rep.blank_lines, 2);
    EXPECT_NE(rep.summary().find("2 blank lines passed over"), std::string::npos) << rep.summary();
    EXPECT_NE(rep.summary().find("1 file, 2 lines"), std::string::npos) << rep.summary();

    f.utc_offset = 5 * 3600 + 1800;  // India: +5:30
    const std::string msg = error_of([&] { ReadReport r2; read_csv_station(p, f, r2); });
    EXPECT_NE(msg.find("india.csv:2"), std::string::npos) << msg;
    EXPECT_NE(msg.find("the UTC offset of 5.5 h is not a whole number of 3600-second steps"), std::string::npos)
        << msg;
    EXPECT_NE(msg.find("--csv-round-times"), std::string::npos) << msg;
    // A header ending in a comma: every column a variable, one of them without a name.
    const std::string unnamed = write_file(dir, "unnamed.csv", "time,TEMP,\n2020-01-01 00:00:00,20.5,\n");
    CsvFormat g;
    g.time_columns = {"time"};
    const std::string unnamed_msg = error_of([&] { ReadReport r; read_csv_station(unnamed, g, r); });
    EXPECT_NE(unnamed_msg.find("unnamed.csv: column 3 of the header has no name (a comma at the end of the header "
                               "line?)"), std::string::npos) << unnamed_msg;
    f.rounding = TimeRounding::Nearest;
    ReadReport r3;
    EXPECT_EQ(read_csv_station(p, f, r3).rows(), 2);
    EXPECT_EQ(r3.rounded_times, 2);
}

TEST(DataCsv, LcdRoundingAndUnits) {
    const std::string dir = ft::temp_dir();
    const std::string p = write_file(dir, "lcd.csv",
                                     "DATE,HourlyDewPointTemperature,HourlyDryBulbTemperature,HourlyRelativeHumidity\n"
                                     "2012-01-01 00:53:00,32,50,50.0\n"
                                     "2012-01-01 01:05:00,30,49,51\n"
                                     "2012-01-01 01:53:00,30.0,86,52.0\n");
    ReadReport rep;
    const StationSeries s = read_csv_station(p, noaa_lcd_format(), rep);
    EXPECT_EQ(format_time(s.start), "2012-01-01 01:00:00");
    ASSERT_EQ(s.rows(), 2);
    // 00:53 and 01:05 both round to 01:00: the report 5 minutes from it is kept, not the first one (7 minutes).
    EXPECT_NEAR(s.at(0, 0), 5.0 / 9.0 * (49 - 32), 1e-5);  // 49 °F
    EXPECT_NEAR(s.at(0, 1), 5.0 / 9.0 * (30 - 32), 1e-5);  // 30 °F
    EXPECT_NEAR(s.at(1, 0), 30.0, 1e-4);                   // 86 °F
    EXPECT_EQ(rep.rounded_times, 3);
    EXPECT_EQ(rep.duplicate_times, 1);
    EXPECT_EQ(rep.records, 2);
    EXPECT_EQ(rep.gap_rows, 0);
    // Smyrna's pattern: specials at 00:44 and 01:08 around the routine 00:56 report, all filed under 01:00; a tie
    // keeps the first.
    const std::string q = write_file(dir, "smyrna.csv",
                                     "DATE,HourlyDewPointTemperature,HourlyDryBulbTemperature,HourlyRelativeHumidity\n"
                                     "2013-01-01 00:44:00,39.0,41,93.0\n"
                                     "2013-01-01 00:56:00,40.0,41,96.0\n"
                                     "2013-01-01 01:08:00,39.0,39,100.0\n"
                                     "2013-01-01 01:50:00,39.0,39,98.0\n"
                                     "2013-01-01 02:10:00,39.0,39,97.0\n");
    ReadReport rq;
    const StationSeries t = read_csv_station(q, noaa_lcd_format(), rq);
    ASSERT_EQ(t.rows(), 2);
    EXPECT_FLOAT_EQ(t.at(0, 2), 96.0f);
    EXPECT_FLOAT_EQ(t.at(1, 2), 98.0f);
    EXPECT_EQ(rq.duplicate_times, 3);
    EXPECT_EQ(rq.records, 2);
    EXPECT_NE(rq.summary().find("3 duplicate"), std::string::npos) << rq.summary();
}

// Greenville's pattern (QA): a report at 11:30 is halfway between 11:00 and 12:00. Rounded up, it lost 12:00 to the
// 11:53 report and 11:00 stayed a gap; it is filed under 11:00 now. Where 11:00 has a report of its own, or 12:00
// none nearer, it stays where half-up rounding puts it.
TEST(DataCsv, AHalfwayReportTakesTheFreeHourBelowWhenTheOneAboveHasANearerReport) {
    const std::string dir = ft::temp_dir();
    const std::string header =
        "DATE,HourlyDewPointTemperature,HourlyDryBulbTemperature,HourlyRelativeHumidity\n";
    const std::string p = write_file(dir, "greenville.csv", header +
                                                                "2021-09-16 09:53:00,60,70,71\n"
                                                                "2021-09-16 11:30:00,61,71,72\n"
                                                                "2021-09-16 11:53:00,62,72,73\n");
    ReadReport rep;
    const StationSeries s = read_csv_station(p, noaa_lcd_format(), rep);
    EXPECT_EQ(format_time(s.start), "2021-09-16 10:00:00");
    ASSERT_EQ(s.rows(), 3);
    EXPECT_FLOAT_EQ(s.at(0, 2), 71.0f);
    EXPECT_FLOAT_EQ(s.at(1, 2), 72.0f);  // the 11:30 report, under 11:00
    EXPECT_FLOAT_EQ(s.at(2, 2), 73.0f);  // 11:53 under 12:00
    EXPECT_EQ(rep.duplicate_times, 0);
    EXPECT_EQ(rep.gap_rows, 0);
    EXPECT_EQ(rep.records, 3);
    ASSERT_EQ(rep.examples.size(), 1u);
    EXPECT_NE(rep.examples[0].find("greenville.csv:3: time 2021-09-16 11:30:00 is halfway between two grid times and "
                                   "the later one has a nearer observation: filed under 2021-09-16 11:00:00"),
              std::string::npos) << rep.examples[0];
    // 11:00 has its own report (10:58): the halfway one is a duplicate at 12:00, as before.
    const std::string q = write_file(dir, "taken.csv", header +
                                                           "2021-09-16 10:58:00,60,70,71\n"
                                                           "2021-09-16 11:30:00,61,71,72\n"
                                                           "2021-09-16 11:53:00,62,72,73\n");
    ReadReport rq;
    const StationSeries t = read_csv_station(q, noaa_lcd_format(), rq);
    ASSERT_EQ(t.rows(), 2);
    EXPECT_FLOAT_EQ(t.at(0, 2), 71.0f);
    EXPECT_FLOAT_EQ(t.at(1, 2), 73.0f);
    EXPECT_EQ(rq.duplicate_times, 1);
    // Alone in its hour, a halfway report is rounded up; a repeated line of it is a duplicate, not a fill-in below.
    const std::string u = write_file(dir, "alone.csv", header +
                                                           "2021-09-16 10:53:00,60,70,71\n"
                                                           "2021-09-16 11:30:00,61,71,72\n"
                                                           "2021-09-16 11:30:00,61,71,72\n");
    ReadReport ru;
    const StationSeries v = read_csv_station(u, noaa_lcd_format(), ru);
    ASSERT_EQ(v.rows(), 2);
    EXPECT_FLOAT_EQ(v.at(0, 2), 71.0f);
    EXPECT_FLOAT_EQ(v.at(1, 2), 72.0f);
    EXPECT_EQ(ru.duplicate_times, 1);
}

TEST(DataCsv, PresetNamesAndDetection) {
    EXPECT_EQ(detect_csv_preset({"DATE", "TMP", "DEW", "WND_ANGLE", "WND_RATE", "SLP"}), "weather5k");
    EXPECT_EQ(detect_csv_preset({"Date Time", "p (mbar)", "T (degC)"}), "jena");
    EXPECT_EQ(detect_csv_preset({"a", "b"}), "");
    const std::string msg = error_of([] { csv_preset("nope"); });
    EXPECT_NE(msg.find("weather5k"), std::string::npos) << msg;
}

// ---- folders -------------------------------------------------------------------------------------

TEST(DataFolder, MissingEmptyAndUnrecognisedFolders) {
    const std::string dir = ft::temp_dir();
    EXPECT_NE(error_of([&] { read_station_set(dir + "/absent"); }).find("does not exist"), std::string::npos);
    const std::string msg = error_of([&] { read_station_set(dir); });
    EXPECT_NE(msg.find("no station files"), std::string::npos) << msg;
    write_file(dir, "a.csv", "x,y\n1,2\n");
    const std::string msg2 = error_of([&] { read_station_set(dir); });
    EXPECT_NE(msg2.find("not recognised"), std::string::npos) << msg2;
    EXPECT_NE(msg2.find("columns: x, y"), std::string::npos) << msg2;
    StationReadOptions opts;
    opts.format = "isd-lite";
    EXPECT_NE(error_of([&] { read_station_set(dir, opts); }).find("no isd-lite station files"), std::string::npos);
    // Station files one level down are not read: the folders are listed, in the error and in what is read.
    const std::string nested = ft::temp_dir();
    fs::create_directories(nested + "/2021");
    fs::create_directories(nested + "/2022");
    const std::string nested_msg = error_of([&] { read_station_set(nested); });
    EXPECT_NE(nested_msg.find("subfolders are not searched (it has 2: 2021, 2022)"), std::string::npos)
        << nested_msg;
    write_file(nested, "S1.csv", "DATE,TMP,DEW,WND_ANGLE,WND_RATE,SLP\n2021-01-01 00:00:00,1,2,3,4,5\n");
    const StationData d = read_station_set(nested);
    EXPECT_EQ(d.set.num_stations(), 1);
    EXPECT_EQ(d.subfolders, (std::vector<std::string>{nested + "/2021", nested + "/2022"}));
}

// The set's buffer is reserved from the stations read so far, not doubled as it grows: reading 130 stations leaves
// it well under twice their size (QA: past a power of two of WEATHER-5K-sized stations, ~14 GB for ~10 GB of data),
// and --station-style selection reads only the stations asked for.
TEST(DataFolder, ReadingManyStationsReservesRatherThanDoubles) {
    const std::string dir = ft::temp_dir();
    std::string text = "DATE,TMP,DEW,WND_ANGLE,WND_RATE,SLP\n";
    for (int h = 0; h < 24; ++h) text += fmt::format("2020-01-01 {:02}:00:00,1,0,90,2,1010\n", h);
    for (int s = 0; s < 130; ++s) write_file(dir, fmt::format("S{:03}.csv", s), text);
    const StationData d = read_station_set(dir);
    ASSERT_EQ(d.set.num_stations(), 130);
    EXPECT_LT(double(d.set.values.capacity()), 1.5 * double(d.set.values.size()));
    StationReadOptions only;
    only.only_stations = {"S129", "S007"};
    const StationData two = read_station_set(dir, only);
    ASSERT_EQ(two.set.num_stations(), 2);
    EXPECT_EQ(two.set.stations[0].id, "S129");
    EXPECT_EQ(two.set.stations[1].id, "S007");
    EXPECT_EQ(two.report.files, 2);
    only.only_stations = {"S500"};
    EXPECT_NE(error_of([&] { read_station_set(dir, only); }).find("no station \"S500\" in \"" + dir + "\" (130 stations, e.g. "
                                                                   "S000)"), std::string::npos);
}

TEST(DataFolder, IsdYearsMergeAndHistoryNames) {
    const std::string dir = ft::temp_dir();
    write_file(dir, "071690-99999-2017", kIsd);
    write_file(dir, "071690-99999-2018", "2018 01 01 00   -32   -37 10280     0     0     9     0 -9999\n");
    write_file(dir, "010010-99999-2017", kIsd);
    write_file(dir, "isd-history.csv",
               "\"USAF\",\"WBAN\",\"STATION NAME\",\"CTRY\",\"STATE\",\"ICAO\",\"LAT\",\"LON\",\"ELEV(M)\",\"BEGIN\",\"END\"\n"
               "\"071690\",\"99999\",\"ROBINSON\",\"FR\",\"\",\"\",\"+48.767\",\"+002.200\",\"+0178.0\",\"1973\",\"2017\"\n"
               // Listed twice: the first row is taken. A location that is no number is unknown (fuzz QA: it stopped
               // the read, though the station is not in the data).
               "\"071690\",\"99999\",\"OTHER\",\"FR\",\"\",\"\",\"+1.0\",\"+1.0\",\"+1.0\",\"1973\",\"2017\"\n"
               "\"999999\",\"99999\",\"ELSEWHERE\",\"FR\",\"\",\"\",\"12,5\",\"x\",\"+1.0\",\"1973\",\"2017\"\n"
               // A row cut short is passed over and counted (QA's recheck: it stopped the read).
               "\"007011\",\"99999\",\"CWOS 07011\",\"\",\"\"\n");
    write_file(dir, "README.md", "notes\n");
    StationReadOptions with_progress;
    size_t progress_done = 0, progress_total = 0;
    with_progress.on_progress = [&](size_t done, size_t total) { progress_done = done, progress_total = total; };
    const StationData d = read_station_set(dir, with_progress);
    EXPECT_EQ(progress_done, 2u);
    EXPECT_EQ(progress_total, 2u);
    EXPECT_EQ(d.format, "isd-lite");
    ASSERT_EQ(d.set.num_stations(), 2);
    EXPECT_EQ(d.set.stations[0].id, "010010-99999");
    EXPECT_EQ(d.set.stations[1].id, "071690-99999");
    EXPECT_EQ(d.set.stations[1].name, "ROBINSON (FR)");
    EXPECT_NEAR(d.set.stations[1].meta.latitude, 48.767, 1e-9);
    EXPECT_EQ(d.set.stations[0].rows, 5);
    EXPECT_EQ(d.set.stations[1].rows, 365 * 24 + 1);  // 2017-01-01 00 h .. 2018-01-01 00 h
    EXPECT_EQ(d.report.files, 3);
    // isd-history.csv is used (names and coordinates), not ignored; README.md is ignored.
    ASSERT_EQ(d.ignored.size(), 1u);
    EXPECT_EQ(fs::path(d.ignored[0]).filename(), "README.md");
    EXPECT_EQ(fs::path(d.station_list).filename(), "isd-history.csv");
    EXPECT_NE(d.report.summary().find("station list: isd-history.csv (2 stations; 1 row not read, first " + dir +
                                      "/isd-history.csv:5: 5 fields, the header has 11)"), std::string::npos)
        << d.report.summary();
    StationReadOptions opts;
    opts.max_stations = 1;
    EXPECT_EQ(read_station_set(dir, opts).set.num_stations(), 1);
}

// A folder of two formats is read in the one detected from its first file: the other file's error says so, with the
// format its own header looks like (fuzz QA: only "feature column TMP not found").
TEST(DataFolder, AFileOfAnotherFormatThanTheDetectedOneSaysSo) {
    const std::string dir = ft::temp_dir();
    write_file(dir, "A.csv", "DATE,TMP,DEW,WND_ANGLE,WND_RATE,SLP\n2014-01-01 00:00:00,1,2,3,4,5\n");
    write_file(dir, "B.csv", "DATE,HourlyDewPointTemperature,HourlyDryBulbTemperature,HourlyRelativeHumidity\n"
                             "2014-01-01 00:53:00,30,53,41.0\n");
    const std::string msg = error_of([&] { read_station_set(dir); });
    EXPECT_NE(msg.find("B.csv: feature column \"TMP\" not found"), std::string::npos) << msg;
    EXPECT_NE(msg.find("(the folder's format, weather5k, was detected from " + dir + "/A.csv; this file's header looks "
                       "like noaa-lcd: a folder is read in one format, so read the files of each format apart)"),
              std::string::npos) << msg;
}

// A second byte-order mark (the reader takes one off) is named, not taken for an unknown layout (QA's recheck).
TEST(DataFolder, ASecondByteOrderMarkIsNamed) {
    const std::string dir = ft::temp_dir();
    write_file(dir, "S1.csv",
               "\xEF\xBB\xBF\xEF\xBB\xBF" "DATE,TMP,DEW,WND_ANGLE,WND_RATE,SLP\n2014-01-01 00:00:00,1,2,3,4,5\n");
    const std::string msg = error_of([&] { read_station_set(dir); });
    EXPECT_NE(msg.find("S1.csv: the first column's name, \\uFEFFDATE, begins with a second byte-order mark"),
              std::string::npos) << msg;
}

// Two files giving one station id: an error naming the id and both files, whatever the format.
TEST(DataFolder, TwoFilesForOneStationAreAnError) {
    const std::string dir = ft::temp_dir();
    const std::string w5k = "DATE,TMP,DEW,WND_ANGLE,WND_RATE,SLP\n2014-01-01 00:00:00,1,2,3,4,5\n";
    write_file(dir, "S1.csv", w5k);
    write_file(dir, "S2.csv", w5k);
    std::string gz;
    {
        const std::string p = dir + "/S1.csv.gz";
        gzFile f = gzopen(p.c_str(), "wb");
        ASSERT_NE(f, nullptr);
        const std::string other = "DATE,TMP,DEW,WND_ANGLE,WND_RATE,SLP\n2015-01-01 00:00:00,9,9,9,9,9\n";
        gzwrite(f, other.data(), unsigned(other.size()));
        gzclose(f);
    }
    for (const char* format : {"auto", "weather5k", "csv"}) {
        StationReadOptions opts;
        opts.format = format;
        const std::string msg = error_of([&] { read_station_set(dir, opts); });
        EXPECT_NE(msg.find("two files for station \"S1\""), std::string::npos) << format << ": " << msg;
        EXPECT_NE(msg.find(dir + "/S1.csv and " + dir + "/S1.csv.gz"), std::string::npos) << format << ": " << msg;
    }
    // ISD-Lite: the yearly files of one station merge (legitimate), but two files of one station-year do not.
    const std::string isd = ft::temp_dir();
    write_file(isd, "071690-99999-2017", kIsd);
    write_file(isd, "071690-99999-2018", "2018 01 01 00   -32   -37 10280     0     0     9     0 -9999\n");
    EXPECT_EQ(read_station_set(isd).set.num_stations(), 1);
    write_file(isd, "071690-99999-2017.gz", kIsd);  // plain text: gzip is detected by content, not name
    const std::string msg = error_of([&] { read_station_set(isd); });
    EXPECT_NE(msg.find("two files for station 071690-99999 year 2017"), std::string::npos) << msg;
    EXPECT_NE(msg.find(isd + "/071690-99999-2017 and " + isd + "/071690-99999-2017.gz"), std::string::npos) << msg;
}

// A symbolic link named like a station file whose target is gone: an error naming it; another such link is listed
// among the ignored files with the reason.
TEST(DataFolder, DanglingSymlinksAreReported) {
    const std::string dir = ft::temp_dir();
    const std::string w5k = "DATE,TMP,DEW,WND_ANGLE,WND_RATE,SLP\n2014-01-01 00:00:00,1,2,3,4,5\n";
    write_file(dir, "S1.csv", w5k);
    fs::create_symlink(dir + "/gone.txt", dir + "/notes.md");
    const StationData d = read_station_set(dir);
    ASSERT_EQ(d.ignored.size(), 1u);
    EXPECT_NE(d.ignored[0].find("notes.md (symbolic link to nothing)"), std::string::npos) << d.ignored[0];
    fs::create_symlink(dir + "/gone.csv", dir + "/S3.csv");
    const std::string msg = error_of([&] { read_station_set(dir); });
    EXPECT_NE(msg.find(dir + "/S3.csv -> " + dir + "/gone.csv is a symbolic link to a file that does not exist"),
              std::string::npos) << msg;
    const std::string isd = ft::temp_dir();
    write_file(isd, "071690-99999-2017", kIsd);
    fs::create_symlink(isd + "/gone", isd + "/071690-99999-2018.gz");
    const std::string msg2 = error_of([&] { read_station_set(isd); });
    EXPECT_NE(msg2.find("071690-99999-2018.gz"), std::string::npos) << msg2;
    // A FIFO or a link to a device: listed among the ignored files, or, named like a station file, an error (fuzz QA:
    // passed over without a word).
    const std::string special = ft::temp_dir();
    write_file(special, "S1.csv", w5k);
    fs::create_symlink("/dev/null", special + "/notes.md");
    // macOS's AppleDouble file of S1.csv is no station (fuzz QA: it stopped the run).
    write_file(special, "._S1.csv", std::string("\0\5\26\7\0\2\0\0Mac OS X", 16));
    const StationData s = read_station_set(special);
    EXPECT_EQ(s.set.num_stations(), 1);
    ASSERT_EQ(s.ignored.size(), 2u);
    EXPECT_NE(s.ignored[0].find("notes.md (not a regular file)"), std::string::npos) << s.ignored[0];
    EXPECT_EQ(fs::path(s.ignored[1]).filename(), "._S1.csv");
    ASSERT_EQ(::mkfifo((special + "/S2.csv").c_str(), 0600), 0);
    const std::string fifo = error_of([&] { read_station_set(special); });
    EXPECT_NE(fifo.find(special + "/S2.csv is named like a station file but is no regular file (a FIFO"),
              std::string::npos) << fifo;
}

// isd-history coordinates out of range are unknown, as WEATHER-5K's LATITUDE/LONGITUDE: a longitude of 500 would
// move local solar time by hours.
TEST(DataFolder, IsdHistoryCoordinatesOutOfRangeAreUnknown) {
    const std::string dir = ft::temp_dir();
    const std::string p = write_file(
        dir, "isd-history.csv",
        "\"USAF\",\"WBAN\",\"STATION NAME\",\"CTRY\",\"STATE\",\"ICAO\",\"LAT\",\"LON\",\"ELEV(M)\",\"BEGIN\",\"END\"\n"
        "\"071690\",\"99999\",\"A\",\"FR\",\"\",\"\",\"+95.500\",\"+500.000\",\"+0178.0\",\"1973\",\"2017\"\n"
        "\"071700\",\"99999\",\"B\",\"FR\",\"\",\"\",\"-90.000\",\"-180.000\",\"+0178.0\",\"1973\",\"2017\"\n"
        "\"071710\",\"99999\",\"C\",\"FR\",\"\",\"\",\"+48.000\",\"-360.5\",\"+0178.0\",\"1973\",\"2017\"\n");
    const auto h = read_isd_history(p);
    EXPECT_TRUE(std::isnan(h.at("071690-99999").meta.latitude));
    EXPECT_TRUE(std::isnan(h.at("071690-99999").meta.longitude));
    EXPECT_NEAR(h.at("071690-99999").meta.elevation, 178.0, 1e-9);
    EXPECT_EQ(h.at("071700-99999").meta.latitude, -90.0);
    EXPECT_EQ(h.at("071700-99999").meta.longitude, -180.0);
    EXPECT_EQ(h.at("071710-99999").meta.latitude, 48.0);
    EXPECT_TRUE(std::isnan(h.at("071710-99999").meta.longitude));
}

TEST(DataFolder, ErrorsComeInFileOrder) {
    const std::string dir = ft::temp_dir();
    for (int i = 0; i < 8; ++i) write_file(dir, fmt::format("07169{}-99999-2017", i), kIsd);
    write_file(dir, "071693-99999-2017", "2017 01 01 00 bad\n");
    write_file(dir, "071696-99999-2017", "2017 01 01 00 bad\n");
    const std::string msg = error_of([&] { read_station_set(dir); });
    EXPECT_NE(msg.find("071693-99999-2017:1"), std::string::npos) << msg;
}

// ---- real files from the shared data folder --------------------------------------------------------

TEST(DataReal, IsdLiteFolder) {
    FUSEDRNN_REQUIRE_DATA("isd-lite");
    if (!gzip_supported()) GTEST_SKIP() << "this build has no zlib (the folder has .gz files)";
    const std::string dir = ft::data_dir() + "/isd-lite";
    const StationData d = read_station_set(dir);
    EXPECT_EQ(d.format, "isd-lite");
    EXPECT_EQ(d.set.num_stations(), 23);
    EXPECT_EQ(d.report.files, 33);  // 33 station-years
    EXPECT_EQ(d.report.skipped_lines, 0);
    EXPECT_EQ(d.report.lines, 193795);  // all 61-character lines of the 33 files
    // isd-history.csv.txt gives names and coordinates: it is the station list, not an ignored file.
    EXPECT_TRUE(d.ignored.empty()) << d.ignored.front();
    EXPECT_EQ(fs::path(d.station_list).filename(), "isd-history.csv.txt");
    EXPECT_NE(d.report.summary().find("station list: isd-history.csv.txt ("), std::string::npos) << d.report.summary();
    EXPECT_EQ(d.report.records + d.report.duplicate_times, d.report.lines);
    const int jan = [&] {
        for (int s = 0; s < d.set.num_stations(); ++s)
            if (d.set.stations[size_t(s)].id == "010010-99999") return s;
        return -1;
    }();
    ASSERT_GE(jan, 0);
    const StationSeries s = d.set.station(jan);
    EXPECT_NE(s.name.find("JAN MAYEN"), std::string::npos) << s.name;
    EXPECT_EQ(s.start, hour_of(2016, 1, 1, 0));
    // 2016 01 01 00    27    13  9972   190    20
    EXPECT_FLOAT_EQ(s.at(0, 0), 2.7f);
    EXPECT_FLOAT_EQ(s.at(0, 1), 1.3f);
    EXPECT_FLOAT_EQ(s.at(0, 2), 190.f);
    EXPECT_FLOAT_EQ(s.at(0, 3), 2.0f);
    EXPECT_FLOAT_EQ(s.at(0, 4), 997.2f);
    // Three yearly files merged: it ends in 2018 (the 2018 files stop on 2018-10-15).
    EXPECT_EQ(to_civil(s.time(s.rows() - 1)).year, 2018);
    // Physical plausibility over all stations.
    for (size_t i = 0; i < d.set.values.size(); ++i) {
        const float v = d.set.values[i];
        if (is_missing(v)) continue;
        switch (i % 5) {
            case 0: case 1: ASSERT_TRUE(v > -80 && v < 60) << v; break;
            case 2: ASSERT_TRUE(v >= 0 && v <= 360) << v; break;
            case 3: ASSERT_TRUE(v >= 0 && v < 100) << v; break;
            case 4: ASSERT_TRUE(v > 850 && v < 1100) << v; break;
        }
    }
    std::cout << "[ info     ] " << d.report.summary() << "\n";
}

TEST(DataReal, IsdLiteGzipFile) {
    FUSEDRNN_REQUIRE_DATA("isd-lite");
    if (!gzip_supported()) GTEST_SKIP() << "this build has no zlib";
    ReadReport rep;
    const StationSeries s = read_isd_lite(ft::data_dir() + "/isd-lite/071790-34051-2017.gz", rep);
    EXPECT_EQ(s.id, "071790-34051");
    // 2017 01 01 00   -20   -30 -9999     0     0: no sea-level pressure at this station
    EXPECT_FLOAT_EQ(s.at(0, 0), -2.0f);
    EXPECT_FLOAT_EQ(s.at(0, 1), -3.0f);
    EXPECT_TRUE(is_missing(s.at(0, 4)));
    EXPECT_EQ(s.present_counts()[4], 0);
    EXPECT_GT(rep.lines, 8000);
}

TEST(DataReal, NoaaLcdFile) {
    FUSEDRNN_REQUIRE_DATA("noaa-lcd-10yr");
    const std::string p =
        ft::data_dir() + "/noaa-lcd-10yr/722590 - 10yr (2012-2021) - DALLAS FORT WORTH, Texas, United States.csv";
    if (!fs::exists(p)) GTEST_SKIP() << "not found: " << p;
    ReadReport rep;
    const StationSeries s = read_csv_station(p, noaa_lcd_format(), rep);
    EXPECT_EQ(format_time(s.start), "2012-01-01 01:00:00");  // 00:53 rounds up
    EXPECT_NEAR(s.at(0, 0), (53 - 32) * 5.0 / 9.0, 1e-4);
    EXPECT_NEAR(s.at(0, 1), (30 - 32) * 5.0 / 9.0, 1e-4);
    EXPECT_EQ(rep.skipped_lines, 0);
    EXPECT_GT(rep.lines, 80000);
    EXPECT_EQ(rep.records + rep.duplicate_times, rep.lines);
    std::cout << "[ info     ] " << rep.summary() << "\n";
}

TEST(DataReal, BeijingAndPm25Folders) {
    FUSEDRNN_REQUIRE_DATA("beijing-multisite");
    FUSEDRNN_REQUIRE_DATA("pm25-five-cities");
    StationReadOptions opts;
    opts.max_stations = 2;
    const StationData b = read_station_set(ft::data_dir() + "/beijing-multisite", opts);
    EXPECT_EQ(b.format, "beijing-multisite");
    ASSERT_EQ(b.set.num_stations(), 2);
    EXPECT_EQ(b.set.vars, weather5k_vars());
    EXPECT_EQ(b.set.stations[0].name, "Aotizhongxin");
    EXPECT_EQ(b.set.stations[0].rows, 35064);
    EXPECT_EQ(format_time(b.set.stations[0].start), "2013-02-28 16:00:00");
    EXPECT_EQ(b.report.gap_rows, 0);
    EXPECT_GT(b.report.missing_values, 0);  // "NA" cells

    const StationData p = read_station_set(ft::data_dir() + "/pm25-five-cities", opts);
    EXPECT_EQ(p.format, "pm25-five-cities");
    EXPECT_EQ(p.set.vars, (std::vector<std::string>{"TMP", "DEW", "SLP", "RH"}));
    EXPECT_EQ(p.set.stations[0].rows, 52584);
    // BeijingPM first row: 2010-01-01 00 h local, DEWP -21, HUMI 43, PRES 1021, TEMP -11.
    const StationSeries s = p.set.station(0);
    EXPECT_FLOAT_EQ(s.at(0, 0), -11.f);
    EXPECT_FLOAT_EQ(s.at(0, 1), -21.f);
    EXPECT_FLOAT_EQ(s.at(0, 2), 1021.f);
    EXPECT_FLOAT_EQ(s.at(0, 3), 43.f);
}
