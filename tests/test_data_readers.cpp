// Station readers: ISD-Lite (plain and gzip), the generic CSV reader and its presets, the folder
// reader; hand-made files with gaps, sentinels, malformed and truncated lines, and the real files of
// the shared data folder (skipped when absent).
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <zlib.h>

#include "core/data/csv_presets.h"
#include "core/data/csv_reader.h"
#include "core/data/isd_lite.h"
#include "core/data/line_reader.h"
#include "core/data/station_folder.h"
#include "core/data/text.h"
#include "core/data/time.h"
#include "core/error.h"
#include "tests/test_support.h"

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
    EXPECT_EQ(parse_date_arg("2022", "x"), year_start(2022));
    EXPECT_EQ(parse_date_arg("2022-07-15 06:00", "x"), hour_of(2022, 7, 15, 6));
    EXPECT_THROW(parse_date_arg("July 2022", "x"), Error);
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
                                       "2014-01-01 00:00:00,1,2,3,4,5,[1 1 1 1 0]\n"
                                       "2014-01-01 00:00:00,1,2,3,4,5,[0 0 1 1 1]\n"
                                       "2014-01-01 01:00:00,1,2,3,4,5,[1 1 1 1 1]\n");
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
}

TEST(DataCsv, LcdRoundingAndUnits) {
    const std::string dir = ft::temp_dir();
    const std::string p = write_file(dir, "lcd.csv",
                                     "DATE,HourlyDewPointTemperature,HourlyDryBulbTemperature,HourlyRelativeHumidity\n"
                                     "2012-01-01 00:53:00,32,50,50.0\n"
                                     "2012-01-01 01:05:00,30,49,51\n"
                                     "2012-01-01 01:53:00,30.0,212,52.0\n");
    ReadReport rep;
    const StationSeries s = read_csv_station(p, noaa_lcd_format(), rep);
    EXPECT_EQ(format_time(s.start), "2012-01-01 01:00:00");
    ASSERT_EQ(s.rows(), 2);
    EXPECT_NEAR(s.at(0, 0), 10.0, 1e-5);  // 50 °F
    EXPECT_NEAR(s.at(0, 1), 0.0, 1e-5);   // 32 °F
    EXPECT_NEAR(s.at(1, 0), 100.0, 1e-4);
    EXPECT_EQ(rep.rounded_times, 3);
    EXPECT_EQ(rep.duplicate_times, 1);  // 01:05 also rounds to 01:00
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
}

TEST(DataFolder, IsdYearsMergeAndHistoryNames) {
    const std::string dir = ft::temp_dir();
    write_file(dir, "071690-99999-2017", kIsd);
    write_file(dir, "071690-99999-2018", "2018 01 01 00   -32   -37 10280     0     0     9     0 -9999\n");
    write_file(dir, "010010-99999-2017", kIsd);
    write_file(dir, "isd-history.csv",
               "\"USAF\",\"WBAN\",\"STATION NAME\",\"CTRY\",\"STATE\",\"ICAO\",\"LAT\",\"LON\",\"ELEV(M)\",\"BEGIN\",\"END\"\n"
               "\"071690\",\"99999\",\"ROBINSON\",\"FR\",\"\",\"\",\"+48.767\",\"+002.200\",\"+0178.0\",\"1973\",\"2017\"\n");
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
    EXPECT_EQ(d.ignored.size(), 2u);  // isd-history.csv (used for names) and README.md
    StationReadOptions opts;
    opts.max_stations = 1;
    EXPECT_EQ(read_station_set(dir, opts).set.num_stations(), 1);
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
