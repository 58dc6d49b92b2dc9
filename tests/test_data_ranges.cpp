// Physical plausibility of station values (core/data/valid_ranges.h): values outside NOAA's documented limits, or a
// range the user gives (--valid-range), are masked as missing — never fed to the model — and counted per variable
// with the first file:line; the limits themselves are kept; no window touches a masked value; the flag's errors name
// it; and the ranges travel with the checkpoint. Hand-made files only.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "fusedrnn/core/data/csv_presets.h"
#include "fusedrnn/core/data/dataset.h"
#include "fusedrnn/core/data/isd_lite.h"
#include "fusedrnn/core/data/line_reader.h"
#include "fusedrnn/core/data/station_folder.h"
#include "fusedrnn/core/data/time.h"
#include "fusedrnn/core/data/valid_ranges.h"
#include "fusedrnn/core/error.h"
#include "fusedrnn/tests/cli_support.h"
#include "fusedrnn/tests/test_support.h"

namespace ft = fusedrnn::testing;
using namespace fusedrnn::data;
namespace fs = std::filesystem;
using ft::error_of;

namespace {

std::string write_file(const std::string& dir, const std::string& name, const std::string& text) {
    fs::create_directories(dir);
    const std::string path = dir + "/" + name;
    std::ofstream(path, std::ios::binary) << text;
    return path;
}

// One ISD-Lite line of 2017-01-DD HH: TMP, DEW, SLP (tenths), wind direction (degrees), speed (tenths).
std::string isd_line(int day, int hour, int tmp, int dew, int slp, int dir, int spd) {
    return fmt::format("2017 01 {:02d} {:02d}{:>6}{:>6}{:>6}{:>6}{:>6}     9     0 -9999\n", day, hour, tmp, dew, slp,
                       dir, spd);
}

const OutOfRange* entry(const ReadReport& r, const std::string& var) {
    for (const auto& e : r.out_of_range)
        if (e.var == var) return &e;
    return nullptr;
}

int64_t count_of(const ReadReport& r, const std::string& var) {
    const OutOfRange* e = entry(r, var);
    return e ? e->count : -1;  // -1: no range applied to the variable
}

// Weather5k-layout lines, hourly from 2014-01-01 00:00: TMP as given, the other variables plausible.
std::string weather5k_file(const std::vector<std::string>& tmp) {
    std::string s = "DATE,TMP,DEW,WND_ANGLE,WND_RATE,SLP\n";
    for (size_t h = 0; h < tmp.size(); ++h)
        s += fmt::format("2014-01-{:02d} {:02d}:00:00,{},-1.5,{},2.5,{:.1f}\n", 1 + h / 24, h % 24, tmp[h],
                         10 + h % 350, 1010 + 0.1 * double(h % 30));
    return s;
}

}  // namespace

// ---- NOAA's limits on the known formats --------------------------------------------------------------

// An air temperature of +95.0 °C, a sea-level pressure of 1500 hPa, a wind direction of 400° and a negative wind
// speed: masked, counted per variable with the first file:line, the line's other values kept.
TEST(DataRanges, IsdLiteOutOfRangeIsMaskedAndCounted) {
    const std::string dir = ft::temp_dir() + "/isd";
    const std::string p = write_file(dir, "071690-99999-2017",
                                     isd_line(1, 0, -32, -37, 10280, 0, 0) +     // calm: kept
                                     isd_line(1, 1, 950, -37, 15000, 400, -5) +  // four implausible values
                                     isd_line(1, 2, 15, -2, 10120, 360, 102) +
                                     isd_line(1, 3, 951, -2, 10120, 360, 102));  // a second TMP
    ReadReport rep;
    const StationSeries s = read_isd_lite(p, rep);
    ASSERT_EQ(s.rows(), 4);
    EXPECT_FLOAT_EQ(s.at(0, 2), 0.f);  // calm keeps direction 0 and speed 0
    EXPECT_FLOAT_EQ(s.at(0, 3), 0.f);
    for (int v : {0, 2, 3, 4}) EXPECT_TRUE(is_missing(s.at(1, v))) << s.vars[size_t(v)];
    EXPECT_EQ(s.at(1, 1), -3.7f);  // the dew point of that line is plausible: kept
    EXPECT_TRUE(is_missing(s.at(3, 0)));
    EXPECT_EQ(s.at(3, 4), 1012.f);
    EXPECT_EQ(rep.missing_values, 0);  // sentinels only; the implausible values are counted apart
    EXPECT_EQ(rep.out_of_range_values(), 5);
    EXPECT_EQ(count_of(rep, "TMP"), 2);
    EXPECT_EQ(count_of(rep, "DEW"), 0);
    EXPECT_EQ(count_of(rep, "SLP"), 1);
    EXPECT_EQ(count_of(rep, "WND_ANGLE"), 1);
    EXPECT_EQ(count_of(rep, "WND_RATE"), 1);
    ASSERT_EQ(rep.out_of_range.size(), 5u);  // the variables' order
    EXPECT_EQ(rep.out_of_range[0].var, "TMP");
    EXPECT_EQ(rep.out_of_range[4].var, "SLP");
    EXPECT_EQ(entry(rep, "TMP")->first, p + ":2: 95");  // the first one, not line 4's
    EXPECT_EQ(entry(rep, "TMP")->range, "-93.2..61.8");
    EXPECT_EQ(entry(rep, "SLP")->first, p + ":2: 1500");
    EXPECT_EQ(entry(rep, "WND_ANGLE")->first, p + ":2: 400");
    EXPECT_EQ(entry(rep, "WND_RATE")->first, p + ":2: -0.5");
    const std::string sum = rep.summary();
    EXPECT_NE(sum.find("5 values outside their valid range masked as missing (TMP: 2 outside -93.2..61.8, first " + p +
                       ":2: 95; WND_ANGLE: 1 outside 0..360"),
              std::string::npos) << sum;
    EXPECT_EQ(sum.find("DEW 0"), std::string::npos) << sum;  // variables with none are not listed
}

// NOAA's extremes themselves are data, one step (a tenth, a degree) beyond them is not.
TEST(DataRanges, DocumentedExtremesAreKeptOneStepBeyondIsNot) {
    const std::string dir = ft::temp_dir() + "/isd";
    const std::string p = write_file(dir, "071690-99999-2017",
                                     isd_line(1, 0, -932, -982, 8600, 1, 0) + isd_line(1, 1, 618, 368, 10900, 360, 900) +
                                     isd_line(1, 2, -933, -983, 8599, 361, 901) +
                                     isd_line(1, 3, 619, 369, 10901, 0, -1));
    ReadReport rep;
    const StationSeries s = read_isd_lite(p, rep);
    const float kept[2][5] = {{-93.2f, -98.2f, 1.f, 0.f, 860.f}, {61.8f, 36.8f, 360.f, 90.f, 1090.f}};
    for (int r = 0; r < 2; ++r)
        for (int v = 0; v < 5; ++v) EXPECT_EQ(s.at(r, v), kept[r][v]) << "row " << r << " " << s.vars[size_t(v)];
    for (int v = 0; v < 5; ++v) EXPECT_TRUE(is_missing(s.at(2, v))) << s.vars[size_t(v)];
    EXPECT_TRUE(is_missing(s.at(3, 0)));
    EXPECT_TRUE(is_missing(s.at(3, 1)));
    EXPECT_TRUE(is_missing(s.at(3, 4)));
    EXPECT_EQ(s.at(3, 2), 0.f);         // direction 0 (calm) is in range
    EXPECT_TRUE(is_missing(s.at(3, 3)));  // a speed of -0.1 m/s is not
    EXPECT_EQ(rep.out_of_range_values(), 9);
}

// The CSV presets that carry these variables check them (after their unit conversion); Jena's names are its own.
TEST(DataRanges, CsvPresetsCheckTheVariablesTheyHave) {
    const std::string dir = ft::temp_dir();
    {
        ReadReport rep;
        const std::string p = write_file(dir, "w5k.csv", weather5k_file({"20", "95", "-93.2", "61.8", "61.9"}));
        const StationSeries s = read_csv_station(p, weather5k_format(), rep);
        EXPECT_EQ(s.at(0, 0), 20.f);
        EXPECT_TRUE(is_missing(s.at(1, 0)));
        EXPECT_EQ(s.at(2, 0), -93.2f);
        EXPECT_EQ(s.at(3, 0), 61.8f);
        EXPECT_TRUE(is_missing(s.at(4, 0)));
        EXPECT_EQ(count_of(rep, "TMP"), 2);
        EXPECT_EQ(entry(rep, "TMP")->first, p + ":3: 95");
    }
    {
        // NOAA LCD in °F: 144 °F is 62.2 °C (masked), 143 °F 61.7 °C (kept); it has no SLP or wind.
        ReadReport rep;
        const std::string p = write_file(dir, "lcd.csv",
                                         "DATE,HourlyDryBulbTemperature,HourlyDewPointTemperature,HourlyRelativeHumidity\n"
                                         "2014-01-01T00:53:00,144,40,50\n"
                                         "2014-01-01T01:53:00,143,40,50\n");
        CsvFormat lcd = noaa_lcd_format();
        lcd.time_format = "%Y-%m-%dT%H:%M:%S";
        const StationSeries s = read_csv_station(p, lcd, rep);
        EXPECT_TRUE(is_missing(s.at(0, 0)));
        EXPECT_NEAR(s.at(1, 0), (143 - 32) * 5.0 / 9.0, 1e-4);
        EXPECT_EQ(count_of(rep, "TMP"), 1);
        EXPECT_EQ(count_of(rep, "SLP"), -1);
        EXPECT_EQ(count_of(rep, "RH"), -1);  // not in NOAA's ISD table
    }
    {
        // PM2.5 of five cities: PRES read as SLP.
        ReadReport rep;
        const std::string p = write_file(dir, "pm25.csv",
                                         "No,year,month,day,hour,season,PM_US Post,DEWP,HUMI,PRES,TEMP,cbwd,Iws,"
                                         "precipitation,Iprec\n"
                                         "1,2010,1,1,0,4,NA,-21,43,1021,-11,NW,1.79,0,0\n"
                                         "2,2010,1,1,1,4,NA,-21,47,1500,-12,NW,4.92,0,0\n");
        const StationSeries s = read_csv_station(p, pm25_five_cities_format(), rep);
        EXPECT_EQ(s.at(0, 2), 1021.f);
        EXPECT_TRUE(is_missing(s.at(1, 2)));
        EXPECT_EQ(count_of(rep, "SLP"), 1);
    }
    {
        // Beijing multi-site: the compass direction and PRES are checked as WND_ANGLE and SLP.
        ReadReport rep;
        const std::string p = write_file(dir, "bj.csv",
                                         "No,year,month,day,hour,TEMP,PRES,DEWP,wd,WSPM,station\n"
                                         "1,2013,3,1,0,-0.7,1023,-18.8,NNW,4.4,Aotizhongxin\n"
                                         "2,2013,3,1,1,-1.1,1023.2,-18.2,N,-4.7,Aotizhongxin\n");
        const StationSeries s = read_csv_station(p, beijing_multisite_format(), rep);
        EXPECT_EQ(s.at(1, 2), 360.f);  // N = 360 degrees (0 is calm in ISD): in range
        EXPECT_TRUE(is_missing(s.at(1, 3)));
        EXPECT_EQ(count_of(rep, "WND_RATE"), 1);
    }
    {
        ReadReport rep;
        const std::string p = write_file(dir, "jena.csv", "Date Time,T (degC)\n01.01.2009 00:10:00,95\n");
        const StationSeries s = read_csv_station(p, jena_format(), rep);
        EXPECT_EQ(s.at(0, 0), 95.f);
        EXPECT_TRUE(rep.out_of_range.empty());
    }
}

// A value the file's mask marks as filled in that is also implausible is counted once, as out of range.
TEST(DataRanges, FilledAndOutOfRangeCountsOnce) {
    const std::string p = write_file(ft::temp_dir(), "w.csv",
                                     "DATE,TMP,DEW,WND_ANGLE,WND_RATE,SLP,MASK\n"
                                     "2014-01-01 00:00:00,95,1,10,2,1010,[0 1 1 1 1]\n"
                                     "2014-01-01 01:00:00,5,1,10,2,1010,[0 1 1 1 1]\n");
    ReadReport rep;
    const StationSeries s = read_csv_station(p, weather5k_format(), rep);
    EXPECT_TRUE(is_missing(s.at(0, 0)));
    EXPECT_EQ(rep.filled_kept, 1);  // line 3's only
    EXPECT_EQ(count_of(rep, "TMP"), 1);
}

// ---- ranges given by the user ------------------------------------------------------------------------

TEST(DataRanges, ParseValidRange) {
    ValidRange r;
    std::string why;
    ASSERT_TRUE(parse_valid_range("TMP=-93.2:61.8", r, why)) << why;
    EXPECT_EQ(r.var, "TMP");
    EXPECT_EQ(r.lo, -93.2);
    EXPECT_EQ(r.hi, 61.8);
    ASSERT_TRUE(parse_valid_range("WND_RATE=0:", r, why)) << why;
    EXPECT_EQ(r.lo, 0);
    EXPECT_TRUE(std::isinf(r.hi));
    EXPECT_EQ(range_text(r), "0..");
    ASSERT_TRUE(parse_valid_range("T (degC)=:50", r, why)) << why;
    EXPECT_EQ(r.var, "T (degC)");
    EXPECT_EQ(range_text(r), "..50");
    const std::vector<std::pair<std::string, std::string>> bad = {
        {"TMP", "is not NAME=LO:HI"},         {"TMP=5", "is not NAME=LO:HI"},
        {"=1:2", "is not NAME=LO:HI"},        {"TMP=5:1", "the low bound 5 is not below the high bound 1"},
        {"TMP=1:1", "is not below"},          {"TMP=nan:5", "the low bound 'nan' is not a finite number"},
        {"TMP=0:inf", "the high bound 'inf'"}, {"TMP=:", "gives no bound"},
        {"TMP=a:5", "'a' is not a finite number"}, {" \t=0:1", "names no variable"}};
    for (const auto& [spec, message] : bad) {
        EXPECT_FALSE(parse_valid_range(spec, r, why)) << spec;
        EXPECT_NE(why.find(message), std::string::npos) << spec << ": " << why;
    }
}

// The generic CSV reader has no ranges of its own (a column named TMP may be in °F); StationReadOptions gives them,
// by the variable's name in the series, and replaces a preset's.
TEST(DataRanges, GivenRangesApplyToGenericCsvAndReplaceAPresets) {
    const std::string dir = ft::temp_dir() + "/csv";
    write_file(dir, "S1.csv", "DATE,temp\n2014-01-01 00:00:00,95\n2014-01-01 01:00:00,5\n2014-01-01 02:00:00,-12\n");
    StationReadOptions o;
    o.format = "csv";
    o.csv.features = {CsvColumn("temp", "TMP")};
    const StationData plain = read_station_set(dir, o);
    EXPECT_EQ(plain.set.values[0], 95.f);
    EXPECT_TRUE(plain.report.out_of_range.empty());
    o.valid_ranges = {ValidRange{"TMP", -10, 10}};
    const StationData checked = read_station_set(dir, o);
    EXPECT_TRUE(is_missing(checked.set.values[0]));
    EXPECT_EQ(checked.set.values[1], 5.f);
    EXPECT_TRUE(is_missing(checked.set.values[2]));
    EXPECT_EQ(count_of(checked.report, "TMP"), 2);
    EXPECT_EQ(entry(checked.report, "TMP")->range, "-10..10");
    EXPECT_EQ(entry(checked.report, "TMP")->first, dir + "/S1.csv:2: 95");

    // Over a preset: a tighter TMP range replaces NOAA's for TMP only; another variable's range is added.
    const std::string w = ft::temp_dir() + "/w5k";
    write_file(w, "A.csv", weather5k_file({"55", "5"}));
    StationReadOptions p;
    p.valid_ranges = {ValidRange{"TMP", -50, 50}, ValidRange{"DEW", 0, 10}};
    const StationData d = read_station_set(w, p);
    EXPECT_EQ(d.format, "weather5k");
    EXPECT_TRUE(is_missing(d.set.values[0]));
    EXPECT_EQ(count_of(d.report, "TMP"), 1);
    EXPECT_EQ(count_of(d.report, "DEW"), 2);  // -1.5 on both lines
    EXPECT_EQ(entry(d.report, "SLP")->range, "860..1090");

    // Bounds compare as floats: the float nearest 0.3 lies above the double 0.3, yet a 0.3 in the file is in 0:0.3.
    const std::string tenths = ft::temp_dir() + "/tenths";
    write_file(tenths, "S1.csv", "DATE,temp\n2014-01-01 00:00:00,0.3\n2014-01-01 01:00:00,0.31\n");
    o.valid_ranges = {ValidRange{"TMP", 0, 0.3}};
    const StationData t = read_station_set(tenths, o);
    EXPECT_EQ(t.set.values[0], 0.3f);
    EXPECT_TRUE(is_missing(t.set.values[1]));

    // ISD-Lite likewise.
    const std::string isd = ft::temp_dir() + "/isd";
    write_file(isd, "071690-99999-2017", isd_line(1, 0, 600, -37, 10280, 0, 0));
    StationReadOptions q;
    q.valid_ranges = {ValidRange{"TMP", -40, 50}};
    EXPECT_TRUE(is_missing(read_station_set(isd, q).set.values[0]));
    EXPECT_EQ(read_station_set(isd).set.values[0], 60.f);

    // A name that is not a variable of the data is an error naming it and the variables, not a silent no-op.
    o.valid_ranges = {ValidRange{"TPM", -10, 10}};
    const std::string msg = error_of([&] { read_station_set(dir, o); });
    EXPECT_NE(msg.find("--valid-range: the data has no variable \"TPM\" (its variables: TMP)"), std::string::npos)
        << msg;
    o.valid_ranges = {ValidRange{"temp", -10, 10}};  // the file's column name, not the variable's
    EXPECT_NE(error_of([&] { read_station_set(dir, o); }).find("no variable \"temp\""), std::string::npos);
}

// Counts add up over stations; the first example is the first in file-name order, whatever the thread count.
TEST(DataRanges, ReportMergesStationsInFileOrder) {
    const std::string dir = ft::temp_dir() + "/w5k";
    write_file(dir, "A.csv", weather5k_file({"5", "5", "70"}));
    write_file(dir, "B.csv", weather5k_file({"80", "5"}));
    const StationData d = read_station_set(dir);
    EXPECT_EQ(count_of(d.report, "TMP"), 2);
    EXPECT_EQ(entry(d.report, "TMP")->first, dir + "/A.csv:4: 70");
}

// ---- windows ---------------------------------------------------------------------------------------

// A masked value breaks the windows over it exactly as a missing one does: the 8 windows of span 8 that would cover
// its row are gone, the others stay, and the standardized array holds NaN there.
TEST(DataRanges, WindowsNeverTouchAMaskedValue) {
    std::vector<std::string> good(240, "5"), bad = good;
    bad[100] = "95";
    DatasetConfig dc;
    dc.window = WindowSpec{5, 1, 3, 1, 1};
    dc.split = SplitSpec::fractions(1.0, 0.0);
    auto build = [&](const std::vector<std::string>& tmp, const std::string& name) {
        const std::string dir = ft::temp_dir() + "/" + name;
        write_file(dir, "A.csv", weather5k_file(tmp));
        return build_dataset(read_station_set(dir).set, dc);
    };
    const WindowedDataset clean = build(good, "clean");
    const WindowedDataset masked = build(bad, "masked");
    EXPECT_EQ(clean.windows(Split::Train).size(), 240u - 7u);
    EXPECT_EQ(masked.windows(Split::Train).size(), 240u - 7u - 8u);
    EXPECT_TRUE(std::isnan(masked.series()[100 * 5 + 0]));
    for (const int64_t s : masked.windows(Split::Train)) EXPECT_TRUE(s + 7 < 100 || s > 100) << s;
}

// ---- the command line --------------------------------------------------------------------------------

// `data inspect` lists the ranges applied and what fell outside, with the first file:line of each.
TEST(DataRangesCli, InspectShowsOutOfRangeCounts) {
    const std::string dir = ft::temp_dir() + "/isd";
    const std::string p = write_file(dir, "071690-99999-2017",
                                     isd_line(1, 0, 950, -37, 10280, 0, 0) + isd_line(1, 1, 15, -2, 15000, 400, -5));
    const ft::CliResult r = ft::run_cli({"data", "inspect", "--data", dir});
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("valid ranges (values outside are masked as missing): 4 values outside"), std::string::npos)
        << r.output;
    EXPECT_NE(r.output.find(fmt::format("  {:<10} {:<14} {:>9} outside  first {}:1: 95", "TMP", "-93.2..61.8", 1, p)),
              std::string::npos) << r.output;
    EXPECT_NE(r.output.find(fmt::format("  {:<10} {:<14} {:>9} outside\n", "DEW", "-98.2..36.8", 0)), std::string::npos)
        << r.output;
    EXPECT_NE(r.output.find("4 values outside their valid range masked as missing (TMP: 1 outside"), std::string::npos)
        << r.output;  // the read summary (stderr) says it too
}

// The generic CSV reader through --valid-range (comma-separated or repeated; names as the model sees them), in
// inspect and export; and every kind of bad value is an error naming the flag before anything is read.
TEST(DataRangesCli, ValidRangeFlagAndItsErrors) {
    const std::string dir = ft::temp_dir() + "/csv";
    write_file(dir, "S1.csv", "DATE,temp,hum\n2014-01-01 00:00:00,95,50\n2014-01-01 01:00:00,5,120\n");
    const std::vector<std::string> base = {"data", "inspect", "--data", dir, "--format", "csv", "--csv-columns",
                                           "temp=TMP,hum=RH"};
    auto with = [&](std::vector<std::string> extra) {
        std::vector<std::string> a = base;
        a.insert(a.end(), extra.begin(), extra.end());
        return ft::run_cli(a);
    };
    const ft::CliResult none = with({});
    ASSERT_EQ(none.status, 0) << none.output;
    EXPECT_EQ(none.output.find("valid ranges"), std::string::npos) << none.output;  // a custom layout has none
    for (const auto& flags : {std::vector<std::string>{"--valid-range", "TMP=-10:10,RH=0:100"},
                              std::vector<std::string>{"--valid-range", "TMP=-10:10", "--valid-range", "RH=0:100"}}) {
        const ft::CliResult r = with(flags);
        ASSERT_EQ(r.status, 0) << r.output;
        EXPECT_NE(r.output.find(fmt::format("  {:<10} {:<14} {:>9} outside  first {}/S1.csv:2: 95", "TMP", "-10..10", 1,
                                            dir)), std::string::npos) << r.output;
        EXPECT_NE(r.output.find(fmt::format("  {:<10} {:<14} {:>9} outside  first {}/S1.csv:3: 120", "RH", "0..100", 1,
                                            dir)), std::string::npos) << r.output;
    }
    const std::string out = ft::temp_dir() + "/export";
    const ft::CliResult e = ft::run_cli({"data", "export", "--data", dir, "--format", "csv", "--csv-columns",
                                         "temp=TMP,hum=RH", "--valid-range", "TMP=-10:10", "--out", out});
    ASSERT_EQ(e.status, 0) << e.output;
    EXPECT_EQ(ft::read_file_bytes(out + "/S1.csv"), "DATE,TMP,RH\n2014-01-01 00:00:00,,50\n2014-01-01 01:00:00,5,120\n");

    const std::vector<std::pair<std::string, std::string>> bad = {
        {"TMP=5:1", "--valid-range: 'TMP=5:1': the low bound 5 is not below the high bound 1"},
        {"TMP=nan:5", "the low bound 'nan' is not a finite number"},
        {"TMP", "'TMP' is not NAME=LO:HI"},
        {"TPM=0:10", "--valid-range: the data has no variable \"TPM\" (its variables: TMP, RH)"},
        {"temp=0:10", "--valid-range: the data has no variable \"temp\""},
        {"TMP=0:10,TMP=1:2", "--valid-range: TMP is given twice (TMP=0:10 and TMP=1:2)"}};
    for (const auto& [value, message] : bad) {
        const ft::CliResult r = with({"--valid-range", value});
        EXPECT_NE(r.status, 0) << value;
        EXPECT_NE(r.output.find(message), std::string::npos) << value << ": " << r.output;
    }
    const ft::CliResult synthetic = ft::run_cli({"data", "inspect", "--valid-range", "TMP=0:10"});
    EXPECT_NE(synthetic.status, 0);
    EXPECT_NE(synthetic.output.find("--valid-range applies to station files"), std::string::npos) << synthetic.output;
}

// Ranges given to train are stored with the checkpoint and applied again by eval on new files of the same layout.
TEST(DataRangesCli, RangesTravelWithTheCheckpoint) {
    const std::string dir = ft::temp_dir() + "/csv";
    std::string text = "DATE,temp\n";
    for (int h = 0; h < 24 * 40; ++h)
        text += fmt::format("2014-{:02d}-{:02d} {:02d}:00:00,{:.2f}\n", h < 31 * 24 ? 1 : 2,
                            1 + (h < 31 * 24 ? h / 24 : h / 24 - 31), h % 24,
                            h % 97 == 5 ? 99.0 : 5 + 4 * std::sin(2 * M_PI * (h % 24) / 24.0));
    write_file(dir, "A.csv", text);
    const std::string run = ft::temp_dir() + "/run";
    const ft::CliResult t = ft::run_cli({"train", "--data", dir, "--format", "csv", "--csv-columns", "temp=TMP",
                                         "--valid-range", "TMP=-40:50", "--split", "fraction:0.6,0.2", "--hidden", "4",
                                         "--input-len", "12", "--horizon", "3", "--batch", "16", "--max-batches", "2",
                                         "--epochs", "1", "--backend", "cpu", "--out", run});
    ASSERT_EQ(t.status, 0) << t.output;
    EXPECT_NE(t.output.find("10 values outside their valid range masked as missing (TMP: 10 outside -40..50"),
              std::string::npos) << t.output;
    // metrics.json keeps the readers' counts beside the dataset's.
    const auto read = nlohmann::json::parse(ft::read_file_bytes(run + "/metrics.json")).at("read_report");
    EXPECT_EQ(read.at("files"), 1) << read;
    EXPECT_EQ(read.at("lines"), 24 * 40) << read;
    ASSERT_EQ(read.at("out_of_range").size(), 1u) << read;
    EXPECT_EQ(read.at("out_of_range")[0].at("count"), 10) << read;
    EXPECT_EQ(read.at("out_of_range")[0].at("variable"), "TMP") << read;
    // eval on "new" files (the same ones, named with --data): the checkpoint's ranges apply without the flag.
    const ft::CliResult e = ft::run_cli({"eval", "--checkpoint", run + "/best.safetensors", "--data", dir,
                                         "--backend", "cpu"});
    ASSERT_EQ(e.status, 0) << e.output;
    EXPECT_NE(e.output.find("TMP: 10 outside -40..50"), std::string::npos) << e.output;
    // ... and a range given to eval replaces them.
    const ft::CliResult wider = ft::run_cli({"eval", "--checkpoint", run + "/best.safetensors", "--backend", "cpu",
                                             "--valid-range", "TMP=-40:"});
    ASSERT_EQ(wider.status, 0) << wider.output;
    EXPECT_EQ(wider.output.find("outside their valid range"), std::string::npos) << wider.output;
}

// ---- the shared real data ------------------------------------------------------------------------------

// The real files are plausible throughout: NOAA's limits mask nothing in them (they are checked, every variable that
// has a range listed). Guangzhou's -9999 DEWP and HUMI are the five-cities files' missing marker, not values.
TEST(DataRangesReal, SharedDataIsWithinNoaaLimits) {
    FUSEDRNN_REQUIRE_DATA("isd-lite");
    FUSEDRNN_REQUIRE_DATA("pm25-five-cities");
    if (!gzip_supported()) GTEST_SKIP() << "this build has no zlib (the ISD-Lite folder has .gz files)";
    const StationData isd = read_station_set(ft::data_dir() + "/isd-lite");
    EXPECT_EQ(isd.report.out_of_range.size(), 5u);
    EXPECT_EQ(isd.report.out_of_range_values(), 0) << isd.report.summary();

    const std::string guangzhou = ft::data_dir() + "/pm25-five-cities/GuangzhouPM20100101_20151231.csv";
    if (!fs::exists(guangzhou)) GTEST_SKIP() << "not found: " << guangzhou;
    ReadReport rep;
    const StationSeries s = read_csv_station(guangzhou, pm25_five_cities_format(), rep);
    EXPECT_EQ(rep.out_of_range_values(), 0) << rep.summary();
    // 34637,2013,12,14,4,4,69,-9999,-9999,1011,12.6,...: 2013-12-14 04 h local is 2013-12-13 20 h UTC.
    CivilTime c;
    c.year = 2013;
    c.month = 12;
    c.day = 13;
    c.hour = 20;
    const int64_t row = (to_seconds(c) - s.start) / s.step;
    EXPECT_TRUE(is_missing(s.at(row, 1)));  // DEW
    EXPECT_TRUE(is_missing(s.at(row, 3)));  // RH: before, -9999 % went to the model
    EXPECT_FLOAT_EQ(s.at(row, 0), 12.6f);
    std::cout << "[ info     ] " << rep.summary() << "\n";
}
