// NCEI's own LCD export (--format ncei-lcd): hand-made files in the layout NCEI writes (every field quoted,
// REPORT_TYPE and SOURCE named twice, remarks with commas and line breaks, daily summary lines, flags), read into
// the WEATHER-5K variables in WEATHER-5K's units; a metric export and unknown flags refused by name.
#include <cmath>
#include <fstream>
#include <filesystem>
#include <string>

#include "fusedrnn/core/data/csv_presets.h"
#include "fusedrnn/core/data/csv_reader.h"
#include "fusedrnn/core/data/station_folder.h"
#include "fusedrnn/core/data/time.h"
#include "fusedrnn/tests/test_support.h"

namespace ft = fusedrnn::testing;
namespace fs = std::filesystem;
using namespace fusedrnn::data;

namespace {

std::string write_file(const std::string& dir, const std::string& name, const std::string& text) {
    const std::string path = dir + "/" + name;
    std::ofstream(path, std::ios::binary) << text;
    return path;
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// The error a read of `path` gives, the same with and without --skip-bad-lines (a problem of the whole file).
std::string refused_in_both_modes(const std::string& path, const CsvFormat& format) {
    std::string messages[2];
    for (const BadLines mode : {BadLines::Error, BadLines::Skip}) {
        CsvFormat f = format;
        f.on_bad_line = mode;
        ReadReport rep;
        messages[mode == BadLines::Skip] = ft::error_of([&] { read_csv_station(path, f, rep); });
    }
    EXPECT_EQ(messages[0], messages[1]);
    return messages[0];
}

// The export's columns, a few of its ~120 kept, in its order (the remarks section at the end repeats REPORT_TYPE
// and SOURCE).
const std::string kHeader =
    R"("STATION","DATE","LATITUDE","LONGITUDE","ELEVATION","NAME","REPORT_TYPE","SOURCE",)"
    R"("DailyMaximumDryBulbTemperature","HourlyAltimeterSetting","HourlyDewPointTemperature",)"
    R"("HourlyDryBulbTemperature","HourlyRelativeHumidity","HourlySeaLevelPressure","HourlyStationPressure",)"
    R"("HourlyWindDirection","HourlyWindSpeed","REM","REPORT_TYPE","SOURCE")"
    "\n";

// One line of that layout: the hourly values (altimeter, dew point, dry bulb, RH, sea level, station pressure,
// wind direction, speed) as written, empty ones unquoted as NCEI leaves them.
std::string line(const std::string& date, const std::string& type, const std::string& daily_max,
                 const std::string& hourly, const std::string& remark = "MET METAR KNYC") {
    const std::string pad = type.size() < 5 ? std::string(5 - type.size(), ' ') : "";
    return R"("72505394728",")" + date + R"(","40.77898","-73.96925","42.7","NY CITY CENTRAL PARK, NY US",")" +
           type + pad + R"(","7",)" + daily_max + "," + hourly + R"(,")" + remark + R"(",")" + type + pad +
           R"(","7")" + "\n";
}

}  // namespace

TEST(DataNceiLcd, ReadsTheWeather5kVariablesInTheirUnits) {
    const std::string dir = ft::temp_dir();
    const std::string p = write_file(
        dir, "72505394728.csv",
        kHeader +
            line("2018-01-01T00:51:00", "FM-15", "", R"("30.10","32","50","48","30.07","29.93","010","6")") +
            line("2018-01-01T01:51:00", "FM-15", "", R"("30.08","30","48","50","30.05","29.91","020","5")") +
            // A special report nearer 02:00 than the routine one: it is kept for that hour. "47s": suspect.
            line("2018-01-01T01:58:00", "FM-16", "", R"("30.08","30","47s","50","M","29.91","VRB","4")") +
            // Calm; remarks holding a comma and a line break, as the METAR text does.
            line("2018-01-01T02:51:00", "FM-15", "", R"("30.02","29","46","50","30.02","29.88","000","0")",
                 "MET12403/01/20\n00:51:02 METAR KNYC 010551Z 00000KT, RMK AO2") +
            line("2018-01-01T23:59:00", "SOD", R"("50")", ",,,,,,,"));
    ReadReport rep;
    const StationSeries s = read_csv_station(p, ncei_lcd_format(), rep);
    ASSERT_EQ(s.vars, (std::vector<std::string>{"TMP", "DEW", "WND_ANGLE", "WND_RATE", "SLP"}));
    EXPECT_EQ(s.name, "NY CITY CENTRAL PARK, NY US");
    EXPECT_NEAR(s.meta.latitude, 40.77898, 1e-9);
    EXPECT_NEAR(s.meta.longitude, -73.96925, 1e-9);
    // Reports at hh:51 and hh:58 filed under the next hour, local standard time as written.
    EXPECT_EQ(format_time(s.start), "2018-01-01 01:00:00");
    ASSERT_EQ(s.rows(), 3);
    EXPECT_NEAR(s.at(0, 0), 10.0, 1e-5);                  // 50 °F
    EXPECT_NEAR(s.at(0, 1), 0.0, 1e-5);                   // 32 °F
    EXPECT_FLOAT_EQ(s.at(0, 2), 10.0f);                   // degrees
    EXPECT_NEAR(s.at(0, 3), 6 * 0.44704, 1e-5);           // mph -> m/s
    EXPECT_NEAR(s.at(0, 4), 30.07 * 33.86389, 1e-3);      // inHg -> hPa: 1018.3
    // 02:00 is the special report's: the suspect temperature, the variable direction and "M" are missing.
    EXPECT_TRUE(is_missing(s.at(1, 0)));
    EXPECT_NEAR(s.at(1, 1), (30 - 32) * 5.0 / 9.0, 1e-5);
    EXPECT_TRUE(is_missing(s.at(1, 2)));
    EXPECT_NEAR(s.at(1, 3), 4 * 0.44704, 1e-5);
    EXPECT_TRUE(is_missing(s.at(1, 4)));
    EXPECT_FLOAT_EQ(s.at(2, 2), 0.0f);                    // calm, as ISD-Lite writes it
    EXPECT_FLOAT_EQ(s.at(2, 3), 0.0f);
    EXPECT_EQ(rep.lines, 6);  // the file's lines: a remark over two lines counts both
    EXPECT_EQ(rep.joined_lines, 1);
    EXPECT_EQ(rep.multiline_records, 1);
    EXPECT_EQ(rep.passed_over_lines, 1);
    EXPECT_EQ(rep.suspect_values, 1);
    EXPECT_EQ(rep.missing_values, 2);
    EXPECT_EQ(rep.duplicate_times, 1);
    EXPECT_EQ(rep.records, 3);
    EXPECT_EQ(rep.skipped_lines, 0);
    const std::string summary = rep.summary();
    EXPECT_TRUE(has(summary, "1 value the files flag suspect masked as missing")) << summary;
    EXPECT_TRUE(has(summary, "1 line passed over (daily and monthly summaries, REPORT_TYPE SOD and SOM)")) << summary;
}

TEST(DataNceiLcd, IsRecognisedInAFolderAndOlderExportsWithoutNamesRead) {
    EXPECT_EQ(detect_csv_preset({"STATION", "DATE", "REPORT_TYPE", "SOURCE", "HourlyDewPointTemperature",
                                 "HourlyDryBulbTemperature", "HourlySeaLevelPressure", "HourlyWindDirection",
                                 "HourlyWindSpeed", "REM", "REPORT_TYPE", "SOURCE"}),
              "ncei-lcd");
    // The reduced layout of the shared noaa-lcd-10yr files stays noaa-lcd, with a REPORT_TYPE column kept too (QA).
    EXPECT_EQ(detect_csv_preset({"DATE", "HourlyDewPointTemperature", "HourlyDryBulbTemperature",
                                 "HourlyRelativeHumidity"}),
              "noaa-lcd");
    EXPECT_EQ(detect_csv_preset({"DATE", "REPORT_TYPE", "HourlyDewPointTemperature", "HourlyDryBulbTemperature",
                                 "HourlyRelativeHumidity"}),
              "noaa-lcd");
    const std::string dir = ft::temp_dir();
    // An export of 2018 (no NAME, LATITUDE or LONGITUDE columns): the station is named by its file.
    write_file(dir, "1647211.csv",
               R"("STATION","DATE","REPORT_TYPE","SOURCE","HourlyDewPointTemperature","HourlyDryBulbTemperature",)"
               R"("HourlySeaLevelPressure","HourlyWindDirection","HourlyWindSpeed","REM","REPORT_TYPE","SOURCE")"
               "\n"
               R"("08449013025","2018-01-01T01:00:00","FM-15","4","48","52",,"010","6","MET051METAR LERT","FM-15","4")"
               "\n"
               R"("08449013025","2018-01-01T02:00:00","FM-15","4","48","50",,"050","3","MET057METAR LERT","FM-15","4")"
               "\n");
    const StationData d = read_station_set(dir);
    EXPECT_EQ(d.format, "ncei-lcd");
    ASSERT_EQ(d.set.stations.size(), 1u);
    EXPECT_EQ(d.set.stations[0].name, "1647211");
    EXPECT_EQ(d.set.stations[0].rows, 2);
    EXPECT_TRUE(is_missing(d.set.values[4]));  // no sea-level pressure at that station (row 0, SLP)
    EXPECT_EQ(d.report.missing_values, 2);
}

// LCD v2 (NCEI's product since 2024) and legacy exports downloaded with units=metric: the same columns in °C, m/s and
// hPa. The pressures tell the two unit systems apart: each format refuses the other's files, naming the one that reads
// them, even under --skip-bad-lines; a folder's format is found from them.
TEST(DataNceiLcd, MetricFilesAreReadAsTheyAreAndEachUnitSystemRefusesTheOther) {
    const std::string dir = ft::temp_dir() + "/v2";
    fs::create_directories(dir);
    // v2's layout: REPORT_TYPE once, fields unquoted but a name holding a comma, summaries at midnight.
    const std::string p = write_file(
        dir, "LCD_USW00014939_2023.csv",
        "STATION,DATE,LATITUDE,LONGITUDE,NAME,REPORT_TYPE,SOURCE,HourlyAltimeterSetting,HourlyDewPointTemperature,"
        "HourlyDryBulbTemperature,HourlySeaLevelPressure,HourlyStationPressure,HourlyWindDirection,HourlyWindSpeed\n"
        "USW00014939,2023-01-01T00:00:00,40.8308,-96.7647,\"LINCOLN AIRPORT, NE US\",SOD,6,,,,,,,\n"
        "USW00014939,2023-01-01T00:54:00,40.8308,-96.7647,\"LINCOLN AIRPORT, NE US\",FM-15,7,1019.0,-6.1,-2.8,1019.2,"
        "966.1,270,2.6\n"
        "USW00014939,2023-01-01T01:54:00,40.8308,-96.7647,\"LINCOLN AIRPORT, NE US\",FM-15,7,1019.3,-6.7,-3.3,1017.7s,"
        "966.4,VRB,1.5\n");
    const std::string msg = refused_in_both_modes(p, ncei_lcd_format());
    EXPECT_TRUE(has(msg, "LCD_USW00014939_2023.csv:3: column 11 (\"HourlySeaLevelPressure\"): 1019.2 is not a "
                         "pressure in inches of mercury: the file is in metric units (NCEI's LCD v2 files, or a "
                         "legacy export downloaded with units=metric): read it with --format ncei-lcd-metric"))
        << msg;
    ReadReport rep;
    const StationSeries s = read_csv_station(p, ncei_lcd_metric_format(), rep);
    EXPECT_EQ(s.name, "LINCOLN AIRPORT, NE US");
    ASSERT_EQ(s.rows(), 2);
    EXPECT_FLOAT_EQ(s.at(0, 0), -2.8f);
    EXPECT_FLOAT_EQ(s.at(0, 1), -6.1f);
    EXPECT_FLOAT_EQ(s.at(0, 2), 270.0f);
    EXPECT_FLOAT_EQ(s.at(0, 3), 2.6f);
    EXPECT_FLOAT_EQ(s.at(0, 4), 1019.2f);
    EXPECT_TRUE(is_missing(s.at(1, 2)));  // VRB
    EXPECT_TRUE(is_missing(s.at(1, 4)));  // 1017.7s
    EXPECT_EQ(rep.passed_over_lines, 1);
    EXPECT_EQ(rep.suspect_values, 1);
    const StationData d = read_station_set(dir);
    EXPECT_EQ(d.format, "ncei-lcd-metric");
    // A standard-units file read as metric.
    const std::string standard = ft::error_of([&] {
        ReadReport r;
        read_csv_station(write_file(dir, "std.csv",
                                    kHeader + line("2018-01-01T00:51:00", "FM-15", "",
                                                   R"("30.10","32","50","48","30.07","29.93","010","6")")),
                         ncei_lcd_metric_format(), r);
    });
    EXPECT_TRUE(has(standard, "std.csv:2: column 14 (\"HourlySeaLevelPressure\"): 30.07 is a pressure in inches of "
                              "mercury, not hPa: the file is in the standard units of NCEI's legacy LCD export "
                              "(degrees F, mph, inHg): read it with --format ncei-lcd"))
        << standard;
}

// An order of several stations may come as one file: read as one series, the second station's hours would be
// dropped as duplicate times. It is refused, naming the line, even under --skip-bad-lines.
TEST(DataNceiLcd, AFileOfSeveralStationsIsRefused) {
    const std::string dir = ft::temp_dir();
    std::string other = line("2018-01-01T00:51:00", "FM-15", "", R"("30.10","32","50","48","30.07","29.93","010","6")");
    other.replace(1, 11, "72503014732");
    const std::string p = write_file(
        dir, "order.csv",
        kHeader + line("2018-01-01T00:51:00", "FM-15", "", R"("30.10","32","50","48","30.07","29.93","010","6")") +
            line("2018-01-01T23:59:00", "SOD", R"("50")", ",,,,,,,") + other);
    const std::string msg = refused_in_both_modes(p, ncei_lcd_format());
    EXPECT_TRUE(has(msg, "order.csv:4: column 1 (\"STATION\"): \"72503014732\" is another station than "
                         "\"72505394728\" (from " + p + ":2): the file holds several stations; give each station a "
                         "file of its own"))
        << msg;
}

TEST(DataNceiLcd, UnknownFlagsAndAMissingReportTypeAreNamed) {
    const std::string dir = ft::temp_dir();
    const std::string flagged = ft::error_of([&] {
        ReadReport rep;
        read_csv_station(write_file(dir, "v.csv",
                                    kHeader + line("2018-01-01T00:51:00", "FM-15", "",
                                                   R"("30.10","32","50V","48","30.07","29.93","010","6")")),
                         ncei_lcd_format(), rep);
    });
    EXPECT_TRUE(has(flagged, "v.csv:2: column 12 (\"HourlyDryBulbTemperature\"): \"50V\" is not a number (a number "
                             "with a quality flag after it: the ncei-lcd format reads \"s\" after a number as "
                             "suspect and masks it; this flag it does not know"))
        << flagged;
    // The flag is written against the number: "47 s" is not a suspect 47.
    const std::string spaced = ft::error_of([&] {
        ReadReport r;
        read_csv_station(write_file(dir, "sp.csv",
                                    kHeader + line("2018-01-01T00:51:00", "FM-15", "",
                                                   R"("30.10","32","47 s","48","30.07","29.93","010","6")")),
                         ncei_lcd_format(), r);
    });
    EXPECT_TRUE(has(spaced, "sp.csv:2: column 12 (\"HourlyDryBulbTemperature\"): \"47 s\" is not a number")) << spaced;
    // Under --skip-bad-lines that line is passed over and counted, the others read.
    CsvFormat skip = ncei_lcd_format();
    skip.on_bad_line = BadLines::Skip;
    ReadReport rep;
    const StationSeries s = read_csv_station(
        write_file(dir, "v2.csv",
                   kHeader +
                       line("2018-01-01T00:51:00", "FM-15", "",
                            R"("30.10","32","50V","48","30.07","29.93","010","6")") +
                       line("2018-01-01T01:51:00", "FM-15", "", R"("30.10","32","50","48","30.07","29.93","010","6")")),
        skip, rep);
    EXPECT_EQ(s.rows(), 1);
    EXPECT_EQ(rep.skipped_lines, 1);
    // Without REPORT_TYPE, daily summaries could not be told from observations.
    const std::string no_type = ft::error_of([&] {
        ReadReport r;
        read_csv_station(write_file(dir, "t.csv",
                                    "DATE,HourlyDryBulbTemperature,HourlyDewPointTemperature\n"
                                    "2018-01-01T00:51:00,50,32\n"),
                         ncei_lcd_format(), r);
    });
    EXPECT_TRUE(has(no_type, "t.csv: report type column \"REPORT_TYPE\" not found")) << no_type;
}

// Read as another layout, the export's times say which format reads them; so do ISO 8601 times in a custom CSV.
TEST(DataNceiLcd, ItsTimesReadAsAnotherLayoutNameTheFormat) {
    const std::string dir = ft::temp_dir();
    const std::string p = write_file(
        dir, "export.csv",
        kHeader + line("2018-01-01T00:51:00", "FM-15", "", R"("30.10","32","50","48","30.07","29.93","010","6")"));
    ReadReport rep;
    const std::string as_reduced = ft::error_of([&] { read_csv_station(p, noaa_lcd_format(), rep); });
    EXPECT_TRUE(has(as_reduced, "export.csv:2: column 2 (\"DATE\"): \"2018-01-01T00:51:00\" does not match the time "
                                "format \"%Y-%m-%d %H:%M:%S\" at character 11 (NCEI's own LCD export writes its times "
                                "so: read it with --format ncei-lcd)"))
        << as_reduced;
    // The other way round: an export saved again by a spreadsheet, with a space for the 'T'.
    const std::string resaved = ft::error_of([&] {
        read_csv_station(write_file(dir, "resaved.csv",
                                    kHeader + line("2018-01-01 00:51:00", "FM-15", "",
                                                   R"("30.10","32","50","48","30.07","29.93","010","6")")),
                         ncei_lcd_format(), rep);
    });
    EXPECT_TRUE(has(resaved, "(a space between date and time, where the ncei-lcd layout has a 'T': a file saved again "
                             "by a spreadsheet?"))
        << resaved;
    CsvFormat custom;
    custom.features = {CsvColumn("TMP")};
    const std::string iso = ft::error_of([&] {
        read_csv_station(write_file(dir, "iso.csv", "DATE,TMP\n2020-01-01T00:00:00,1\n"), custom, rep);
    });
    EXPECT_TRUE(has(iso, "(a 'T' between date and time: give --csv-time-format \"%Y-%m-%dT%H:%M:%S\")")) << iso;
}

// LCD v2 comes as one file per station and year (LCD_<station>_<year>.csv): a station's years merge into one series,
// a report rounded into the next year's first hour meeting that file's own as a duplicate time; an empty year is
// counted; a year whose STATION is another station is refused.
TEST(DataNceiLcd, TheYearlyFilesOfAStationMerge) {
    const std::string dir = ft::temp_dir() + "/v2years";
    fs::create_directories(dir);
    const std::string header =
        "STATION,DATE,NAME,REPORT_TYPE,SOURCE,HourlyDewPointTemperature,HourlyDryBulbTemperature,"
        "HourlySeaLevelPressure,HourlyWindDirection,HourlyWindSpeed\n";
    const auto obs = [](const std::string& station, const std::string& date, const std::string& type,
                        const std::string& tmp) {
        return station + "," + date + ",\"LINCOLN AIRPORT, NE US\"," + type + ",7,-6.1," + tmp + ",1019.2,270,2.6\n";
    };
    write_file(dir, "LCD_USW00014939_2022.csv",
               header + obs("USW00014939", "2022-12-31T22:54:00", "FM-15", "-1.0") +
                   obs("USW00014939", "2022-12-31T23:54:00", "FM-15", "-2.0"));
    write_file(dir, "LCD_USW00014939_2023.csv",
               header + "USW00014939,2023-01-01T00:00:00,\"LINCOLN AIRPORT, NE US\",SOD,6,,,,,\n" +
                   obs("USW00014939", "2023-01-01T00:00:00", "FM-12", "-3.0") +
                   obs("USW00014939", "2023-01-01T00:54:00", "FM-15", "-4.0"));
    write_file(dir, "LCD_USW00014939_2024.csv", header);  // a failed download
    // Another, of 0 bytes, and first in name order: format detection looks past it, and the station's other years
    // are read.
    write_file(dir, "LCD_USW00014939_2021.csv", "");
    write_file(dir, "LCD_USW00014939_2020.csv", "\xEF\xBB\xBF\r\n\n");  // a BOM and line breaks alone: as empty
    write_file(dir, "LCD_USW00094728_2023.csv", header + obs("USW00094728", "2023-01-01T00:51:00", "FM-15", "1.0"));
    const StationData d = read_station_set(dir);
    EXPECT_EQ(d.format, "ncei-lcd-metric");
    ASSERT_EQ(d.set.stations.size(), 2u);
    const StationInfo& lincoln = d.set.stations[0];
    EXPECT_EQ(lincoln.id, "USW00014939");
    EXPECT_EQ(lincoln.name, "LINCOLN AIRPORT, NE US");
    EXPECT_EQ(format_time(lincoln.start), "2022-12-31 23:00:00");
    ASSERT_EQ(lincoln.rows, 3);  // 23:00, 00:00 (the synoptic report on the hour, nearer than 23:54's), 01:00
    const auto tmp = [&](int64_t row) { return d.set.values[size_t(lincoln.row_begin + row) * d.set.vars.size()]; };
    EXPECT_FLOAT_EQ(tmp(0), -1.0f);
    EXPECT_FLOAT_EQ(tmp(1), -3.0f);
    EXPECT_FLOAT_EQ(tmp(2), -4.0f);
    EXPECT_EQ(d.set.stations[1].id, "USW00094728");
    EXPECT_EQ(d.report.duplicate_times, 1);
    EXPECT_EQ(d.report.passed_over_lines, 1);
    EXPECT_EQ(d.report.empty_files, 3);
    EXPECT_TRUE(has(d.report.empty_first, "LCD_USW00014939_2020.csv")) << d.report.empty_first;
    EXPECT_EQ(d.report.empty_stations, 0);
    fs::remove(dir + "/LCD_USW00014939_2020.csv");
    fs::remove(dir + "/LCD_USW00014939_2021.csv");
    // A year file naming another station.
    write_file(dir, "LCD_USW00014939_2024.csv", header + obs("USW00094728", "2024-01-01T00:54:00", "FM-15", "0.0"));
    const std::string msg = ft::error_of([&] { read_station_set(dir); });
    EXPECT_TRUE(has(msg, "LCD_USW00014939_2024.csv:2: column 1 (\"STATION\"): \"USW00094728\" is another station "
                         "than \"USW00014939\"")) << msg;
    EXPECT_TRUE(has(msg, "the files of one station name another station")) << msg;
    // The station's id beside a plain file of that name.
    fs::remove(dir + "/LCD_USW00014939_2024.csv");
    write_file(dir, "USW00014939.csv", header + obs("USW00014939", "2023-02-01T00:54:00", "FM-15", "0.0"));
    const std::string twice = ft::error_of([&] { read_station_set(dir); });
    EXPECT_TRUE(has(twice, "two sets of files for station \"USW00014939\"")) << twice;
}

// LCD v2 writes a calm as an empty HourlyWindDirection with speed 0 (the legacy export writes 0): read as the calm
// direction 0, as ISD-Lite's, and counted; an empty direction with wind stays missing. A v2 station without any
// pressure cannot show its units: its LCD v2 file name says metric (v2 is metric throughout), another name standard.
TEST(DataNceiLcd, V2CalmsAndStationsWithoutPressure) {
    const std::string header =
        "STATION,DATE,NAME,REPORT_TYPE,SOURCE,HourlyDewPointTemperature,HourlyDryBulbTemperature,"
        "HourlySeaLevelPressure,HourlyWindDirection,HourlyWindSpeed\n";
    const std::string text = header +
                             "USW00014939,2023-02-25T01:54:00,\"LINCOLN AIRPORT, NE US\",FM-15,7,-15.6,0.0,,,0\n"
                             "USW00014939,2023-02-25T02:54:00,\"LINCOLN AIRPORT, NE US\",FM-15,7,-15.6,-0.6,,,3.1\n";
    const std::string v2 = ft::temp_dir() + "/v2";
    fs::create_directories(v2);
    write_file(v2, "LCD_USW00014939_2023.csv", text);
    const StationData d = read_station_set(v2);
    EXPECT_EQ(d.format, "ncei-lcd-metric");
    ASSERT_EQ(d.set.stations.size(), 1u);
    ASSERT_EQ(d.set.stations[0].rows, 2);
    const size_t nv = d.set.vars.size();
    EXPECT_FLOAT_EQ(d.set.values[0], 0.0f);            // TMP 0.0 °C, not 0 °F
    EXPECT_FLOAT_EQ(d.set.values[2], 0.0f);            // calm: direction 0
    EXPECT_FLOAT_EQ(d.set.values[3], 0.0f);
    EXPECT_TRUE(is_missing(d.set.values[nv + 2]));     // no direction at 3.1 m/s: missing
    EXPECT_EQ(d.report.calm_directions, 1);
    EXPECT_EQ(d.report.missing_values, 3);             // the two SLPs and the direction with wind
    EXPECT_TRUE(has(d.report.summary(), "1 hour without a wind direction and with speed 0 read as calm (direction 0)"))
        << d.report.summary();
    // The same lines under another name: taken as the legacy export's standard units, as docs/data.md says.
    const std::string other = ft::temp_dir() + "/other";
    fs::create_directories(other);
    write_file(other, "export.csv", text);
    EXPECT_EQ(read_station_set(other).format, "ncei-lcd");
    // One station-year twice (plain and compressed): named as the station and the year.
    write_file(v2, "LCD_USW00014939_2023.csv.gz", "");
    const std::string twice = ft::error_of([&] { read_station_set(v2); });
    EXPECT_TRUE(has(twice, "two files for station \"USW00014939\" year 2023:")) << twice;
}
