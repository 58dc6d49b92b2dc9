// The forecasting commands' data flags and output files, as a user runs them (the built `fusedrnn` binary): a flag
// given to eval or predict changes what it names and nothing else (one --csv-* flag keeps the rest of the
// checkpoint's layout, one --synthetic-* flag the rest of its synthetic stations), data on another time grid than
// the model's is refused, a split without test windows is refused before training, names holding the delimiter stay
// one CSV column, and outputs go through links and into pipes without replacing them.
#include <sys/stat.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "fusedrnn/core/data/time.h"
#include "fusedrnn/tests/cli_support.h"
#include "fusedrnn/tests/test_support.h"

namespace fusedrnn {
namespace {

namespace fs = std::filesystem;
using testing::CliResult;
using testing::run_cli;
using testing::tiny_train;

using testing::with;

bool has(const CliResult& r, const std::string& s) { return r.output.find(s) != std::string::npos; }

// Two stations every 30 minutes for March 2021 in a layout of their own (';', a day-first time column), with
// -999 as the missing-value sentinel. `hourly`: only the rows on the hour (the same series on a 60-minute grid).
void write_logger_station(const std::string& path, bool hourly) {
    std::ofstream f(path);
    f << "when;temp_c;hum\n";
    for (int i = 0; i < 48 * 31; ++i) {
        const int minutes = 30 * (i % 48);
        if (hourly && minutes % 60 != 0) continue;
        char when[32];
        std::snprintf(when, sizeof when, "%02d/03/2021 %02d:%02d", 1 + i / 48, minutes / 60, minutes % 60);
        const double phase = 2 * M_PI * (i % 48) / 48.0;
        f << when << ';' << 10 + 8 * std::sin(phase) << ';';
        if (i % 131 == 7) f << "-999";
        else f << 60 + 20 * std::cos(phase);
        f << '\n';
    }
}

// "N missing values" from the data line a command prints.
std::string missing_values(const std::string& output) {
    std::smatch m;
    return std::regex_search(output, m, std::regex(R"((\d+) missing values)")) ? m[1].str() : "none";
}

// An hourly station file of 40 days: a header and three values per row, separated by `delimiter`.
void write_three_value_station(const std::string& path, const std::string& header, char delimiter) {
    std::ofstream f(path);
    f << header << "\n";
    for (int h = 0; h < 24 * 40; ++h)
        f << fmt::format("{}{}{}{}{}{}{}\n", fusedrnn::data::format_time(1388534400 + int64_t(h) * 3600), delimiter,
                         5 + h % 7, delimiter, 1 + h % 5, delimiter, 1000 + h % 3);
}

// data export from files of a custom layout (';', renamed columns) also names the exported layout in full: a
// checkpoint trained on the source files would read the exported ones with its own layout and fail (eval and
// predict take it over); with the flags named, predict reads them.
TEST(CliDataFlags, ExportNamesItsLayoutInFullForACheckpointOfTheSourceLayout) {
    const std::string dir = testing::temp_dir(), csv = dir + "/st1.csv";
    write_three_value_station(csv, "DATE;TMP;DEW;SLP", ';');
    const std::vector<std::string> layout = {"--csv-delimiter", ";", "--csv-columns", "TMP=temp,DEW=dew,SLP"};
    std::vector<std::string> train = {"train", "--data", csv, "--format", "csv", "--hidden", "4", "--epochs", "1",
                                      "--max-batches", "2", "--input-len", "12", "--horizon", "3", "--batch", "16",
                                      "--split", "fraction:0.6,0.2", "--backend", "cpu", "--out", dir + "/run"};
    train.insert(train.end(), layout.begin(), layout.end());
    ASSERT_EQ(run_cli(train).status, 0);
    std::vector<std::string> exp = {"data", "export", "--data", csv, "--out", dir + "/exp"};
    exp.insert(exp.end(), layout.begin(), layout.end());
    const CliResult e = run_cli(exp);
    ASSERT_EQ(e.status, 0) << e.output;
    EXPECT_TRUE(has(e, "give this one in full: --format csv --csv-delimiter , --csv-time DATE --csv-time-format "
                       "'%Y-%m-%d %H:%M:%S' --csv-utc-offset 0 --csv-columns 'temp,dew,SLP'")) << e.output;
    const std::vector<std::string> predict = {"predict", "--checkpoint", dir + "/run/best.safetensors", "--data",
                                              dir + "/exp/st1.csv", "--out", dir + "/fc.csv", "--format", "csv"};
    EXPECT_EQ(run_cli(predict).status, 2);  // the checkpoint's ';' layout
    std::vector<std::string> full = predict;
    full.insert(full.end(), {"--csv-delimiter", ",", "--csv-time", "DATE", "--csv-time-format", "%Y-%m-%d %H:%M:%S",
                             "--csv-utc-offset", "0", "--csv-columns", "temp,dew,SLP"});
    const CliResult p = run_cli(full);
    EXPECT_EQ(p.status, 0) << p.output;
    // A source of the default layout says nothing more.
    const CliResult plain = run_cli({"data", "export", "--data", dir + "/exp", "--format", "csv", "--out", dir + "/exp2"});
    ASSERT_EQ(plain.status, 0) << plain.output;
    EXPECT_FALSE(has(plain, "give this one in full")) << plain.output;
}

// A column whose name holds a comma ("DEW, C", as spreadsheets write units) can be named in every list flag, in
// double quotes; CLI11's comma splitting cut it in two before. An open quote is an error naming the flag.
TEST(CliDataFlags, ANameHoldingACommaCanBeNamedInQuotes) {
    const std::string dir = testing::temp_dir(), csv = dir + "/s.csv";
    write_three_value_station(csv, "DATE,TMP,\"DEW, C\",SLP", ',');
    const CliResult i = run_cli({"data", "inspect", "--data", csv, "--format", "csv", "--csv-columns",
                                 "\"DEW, C\",TMP", "--valid-range", "\"DEW, C\"=-50:3", "--valid-range",
                                 "TMP=-60:60"});
    ASSERT_EQ(i.status, 0) << i.output;
    EXPECT_TRUE(has(i, "variables \"DEW, C\",TMP")) << i.output;  // quoted, so the list reads one way
    EXPECT_TRUE(has(i, "DEW, C     -50..3")) << i.output;
    const CliResult t = run_cli({"train", "--data", csv, "--format", "csv", "--targets", "\"DEW, C\"", "TMP",
                                 "--hidden", "4", "--epochs", "1", "--max-batches", "2", "--input-len", "12",
                                 "--horizon", "3", "--batch", "16", "--split", "fraction:0.6,0.2", "--backend", "cpu",
                                 "--out", dir + "/run"});
    ASSERT_EQ(t.status, 0) << t.output;
    EXPECT_TRUE(has(t, "-> 6 outputs (3 x \"DEW, C\",TMP)")) << t.output;
    const CliResult unknown = run_cli({"data", "inspect", "--data", csv, "--format", "csv", "--csv-columns", "NOPE"});
    EXPECT_TRUE(has(unknown, "available columns: DATE, TMP, \"DEW, C\", SLP")) << unknown.output;
    const CliResult open = run_cli({"data", "inspect", "--data", csv, "--format", "csv", "--csv-columns", "\"DEW"});
    EXPECT_EQ(open.status, 2) << open.output;
    EXPECT_TRUE(has(open, "--csv-columns: a double quote is not closed in '\"DEW'")) << open.output;
    // A time format is checked as a format before any line is read: an unsupported conversion is named as such
    // (not "expected digits" at some character), a repeated one is refused (the second %Y silently won).
    for (const auto& [format, expected] : std::vector<std::pair<std::string, std::string>>{
             {"%Y-%m-%dT%H:%M:%S%z", "unsupported conversion %z in time format"},
             {"%Y-%Y-%d %H:%M:%S", "has %Y twice"},
             {"%H:%M", "has no %Y"}}) {
        const CliResult r = run_cli({"data", "inspect", "--data", csv, "--format", "csv", "--csv-time-format", format});
        EXPECT_EQ(r.status, 2) << r.output;
        EXPECT_TRUE(has(r, "--csv-time-format: ")) << r.output;
        EXPECT_TRUE(has(r, expected)) << r.output;
    }
}

TEST(CliDataFlags, OneCsvFlagChangesOnlyItselfAndAnotherGridIsRefused) {
    const std::string dir = testing::temp_dir(), data = dir + "/logger", hourly = dir + "/hourly";
    fs::create_directories(data);
    fs::create_directories(hourly);
    for (const char* station : {"north", "south"}) write_logger_station(data + "/" + station + ".csv", false);
    write_logger_station(hourly + "/north.csv", true);
    const std::string run = dir + "/run", ckpt = run + "/best.safetensors";
    const CliResult t = run_cli({"train", "--data", data, "--csv-time", "when", "--csv-time-format", "%d/%m/%Y %H:%M",
                                 "--csv-delimiter", ";", "--csv-step-minutes", "30", "--csv-sentinel", "-999",
                                 "--targets", "temp_c", "--hidden", "8", "--input-len", "24", "--horizon", "6",
                                 "--batch", "64", "--max-batches", "3", "--epochs", "1", "--backend", "cpu", "--out",
                                 run});
    ASSERT_EQ(t.status, 0) << t.output;
    const std::string trained_missing = missing_values(t.output);
    ASSERT_NE(trained_missing, "0") << t.output;

    // The same files named again with one layout flag: the checkpoint's delimiter, time column and sentinel stay
    // (before, the flag replaced the whole layout by the defaults, and -999 was read as a temperature).
    const CliResult e = run_cli({"eval", "--checkpoint", ckpt, "--data", data, "--csv-step-minutes", "30",
                                 "--backend", "cpu"});
    ASSERT_EQ(e.status, 0) << e.output;
    EXPECT_TRUE(has(e, "CSV layout: the checkpoint's, with --csv-step-minutes as given now")) << e.output;
    EXPECT_EQ(missing_values(e.output), trained_missing) << e.output;

    // The same series on an hourly grid: the model's 24 steps would mean 24 hours, its lead times hours.
    for (const char* command : {"eval", "predict"}) {
        std::vector<std::string> args{command, "--checkpoint", ckpt, "--data", hourly, "--csv-step-minutes", "60",
                                      "--backend", "cpu"};
        if (std::string(command) == "predict") args = with(args, {"--out", dir + "/forecast.csv"});
        const CliResult r = run_cli(args);
        EXPECT_EQ(r.status, 2) << command << "\n" << r.output;
        EXPECT_TRUE(has(r, "the data's time step is 60 min, but the checkpoint's model was trained on a 30 min step"))
            << command << "\n" << r.output;
        EXPECT_TRUE(has(r, "--csv-step-minutes 30")) << r.output;
    }
    EXPECT_FALSE(fs::exists(dir + "/forecast.csv"));

    // A sentinel is a number; NaN text is a missing-value token (--csv-missing), not a sentinel that never matches.
    const CliResult nan = run_cli({"data", "inspect", "--data", data, "--csv-time", "when", "--csv-delimiter", ";",
                                   "--csv-sentinel", "nan"});
    EXPECT_EQ(nan.status, 2) << nan.output;
    EXPECT_TRUE(has(nan, "--csv-sentinel nan: a sentinel is a number")) << nan.output;
}

// Numbers written with a decimal comma (a European spreadsheet's "12,5", fields split by ';') are read with
// --csv-decimal-comma, which the checkpoint keeps for eval; a comma delimiter with it is refused, and a point in such
// a number (a thousands separator) is no number.
TEST(CliDataFlags, DecimalCommasAreReadWithTheirFlag) {
    const std::string dir = testing::temp_dir(), data = dir + "/comma", dotted = dir + "/dotted";
    fs::create_directories(data);
    fs::create_directories(dotted);
    write_logger_station(dotted + "/north.csv", true);
    std::string text = testing::read_file_bytes(dotted + "/north.csv");
    std::replace(text.begin(), text.end(), '.', ',');
    { std::ofstream(data + "/north.csv") << text; }
    const std::vector<std::string> layout{"--csv-time", "when", "--csv-time-format", "%d/%m/%Y %H:%M",
                                          "--csv-delimiter", ";", "--csv-sentinel", "-999"};
    const CliResult plain = run_cli(with({"data", "inspect", "--data", data}, layout));
    EXPECT_EQ(plain.status, 2) << plain.output;
    EXPECT_TRUE(has(plain, "(a decimal comma? read such a file with --format csv --csv-decimal-comma")) << plain.output;
    const CliResult comma = run_cli(with({"data", "inspect", "--data", data, "--csv-decimal-comma"}, layout));
    ASSERT_EQ(comma.status, 0) << comma.output;
    const CliResult point = run_cli(with({"data", "inspect", "--data", dotted}, layout));
    ASSERT_EQ(point.status, 0) << point.output;
    // The same values as the file written with points (the inspect table, whatever the folder).
    EXPECT_EQ(comma.output.substr(comma.output.find("\nid ")), point.output.substr(point.output.find("\nid ")));
    // Trained on the comma file, the checkpoint's layout reads it again in eval.
    const std::string run = dir + "/run";
    const CliResult t = run_cli(with({"train", "--data", data, "--csv-decimal-comma", "--targets", "temp_c", "--hidden",
                                      "8", "--input-len", "12", "--horizon", "3", "--batch", "32", "--max-batches",
                                      "2", "--epochs", "1", "--split", "fraction:0.6,0.2", "--backend", "cpu", "--out",
                                      run}, layout));
    ASSERT_EQ(t.status, 0) << t.output;
    const CliResult e = run_cli({"eval", "--checkpoint", run + "/best.safetensors", "--data", data, "--backend", "cpu"});
    EXPECT_EQ(e.status, 0) << e.output;
    const CliResult both = run_cli({"data", "inspect", "--data", data, "--csv-decimal-comma"});
    EXPECT_EQ(both.status, 2) << both.output;
    EXPECT_TRUE(has(both, "--csv-decimal-comma: a comma cannot both mark decimals and separate fields")) << both.output;
    { std::ofstream(data + "/north.csv", std::ios::app) << "01/04/2021 00:00;1.234,5;50\n"; }
    const CliResult thousands = run_cli(with({"data", "inspect", "--data", data, "--csv-decimal-comma"}, layout));
    EXPECT_EQ(thousands.status, 2) << thousands.output;
    EXPECT_TRUE(has(thousands, "\"1.234,5\" is not a number (with --csv-decimal-comma, numbers are written like "
                               "1234,5")) << thousands.output;
}

TEST(CliDataFlags, OneSyntheticFlagChangesOnlyItselfAndFilesExcludeThem) {
    const std::string dir = testing::temp_dir(), run = dir + "/run";
    ASSERT_EQ(run_cli(tiny_train(run, 1)).status, 0);
    const CliResult e = run_cli({"eval", "--checkpoint", run + "/best.safetensors", "--synthetic-gaps", "0.05",
                                 "--backend", "cpu"});
    ASSERT_EQ(e.status, 0) << e.output;
    EXPECT_TRUE(has(e, "data: synthetic: 3 stations x 3 years from 2021 (seed 0, gaps 5%)")) << e.output;
    const CliResult both = run_cli(with(tiny_train(dir + "/other", 1), {"--data", dir}));
    EXPECT_EQ(both.status, 2) << both.output;
    EXPECT_TRUE(has(both, "--data excludes --synthetic-stations")) << both.output;
}

TEST(CliDataFlags, ASplitWithoutTestWindowsIsRefusedBeforeTraining) {
    const std::string run = testing::temp_dir() + "/run";
    // A test year the data does not hold (the synthetic stations cover 2021-2023): found once the data is read.
    const CliResult r = run_cli(with(tiny_train(run, 1), {"--split", "years:2021,2022,2024"}));
    EXPECT_EQ(r.status, 2) << r.output;
    EXPECT_TRUE(has(r, "no test windows: the test split is")) << r.output;
    EXPECT_FALSE(has(r, "epoch 1/1")) << r.output;
    EXPECT_FALSE(fs::exists(run + "/best.safetensors"));
    // Fractions that leave nothing to test on: said before the data is read (QA: found only after loading).
    const CliResult f = run_cli(with(tiny_train(run, 1), {"--split", "fraction:0.7,0.3"}));
    EXPECT_EQ(f.status, 2) << f.output;
    EXPECT_TRUE(has(f, "--split fraction:0.7,0.3: the training and validation fractions add up to 1, which leaves "
                       "nothing to test on")) << f.output;
    EXPECT_FALSE(has(f, "data: ")) << f.output;
    // A station whose one line lies years after the others' data stretches the span the fractions cut: named, with
    // the way out (QA: the error said only that the validation split had no windows).
    const std::string dir = testing::temp_dir() + "/stretched";
    fs::create_directories(dir);
    {
        std::ofstream a(dir + "/A.csv");
        a << "DATE,TMP\n";
        for (int h = 0; h < 24 * 60; ++h)
            a << data::format_time(1388534400 + int64_t(h) * 3600) << "," << h % 7 << "\n";
        std::ofstream(dir + "/B.csv") << "DATE,TMP\n2016-01-01 00:00:00,3\n";
    }
    const CliResult s = run_cli(with(tiny_train(run, 1, dir), {"--format", "csv", "--split", "fraction:0.7,0.15"}));
    EXPECT_EQ(s.status, 2) << s.output;
    EXPECT_TRUE(has(s, "no validation windows")) << s.output;
    EXPECT_TRUE(has(s, "The fractions cut the span of all stations together, [2014-01-01 00:00:00, 2016-01-01 "
                       "01:00:00); station B (1 row, from 2016-01-01 00:00:00) lies after every other station's data, "
                       "which end at 2014-03-01 23:00:00: remove its file, or give the split as dates")) << s.output;
    EXPECT_TRUE(has(s, "1 station too short for one window: B")) << s.output;
    // A stray station at each end: both named.
    std::ofstream(dir + "/Z.csv") << "DATE,TMP\n2012-01-01 00:00:00,3\n";
    const CliResult both = run_cli(with(tiny_train(run, 1, dir), {"--format", "csv", "--split", "fraction:0.7,0.15"}));
    EXPECT_EQ(both.status, 2) << both.output;
    EXPECT_TRUE(has(both, "station Z (1 row, from 2012-01-01 00:00:00) lies before every other station's data, which "
                          "start at 2014-01-01 00:00:00; station B (1 row, from 2016-01-01 00:00:00) lies after every "
                          "other station's data, which end at 2014-03-01 23:00:00: remove their files")) << both.output;
    fs::remove(dir + "/Z.csv");
    // The same line inside A's own file (a typo'd year): the stretch it makes is named too, with station and time.
    fs::remove(dir + "/B.csv");
    {
        const std::string a = testing::read_file_bytes(dir + "/A.csv");
        std::ofstream(dir + "/A.csv") << a << "2016-01-01 00:00:00,3\n";
    }
    const CliResult in = run_cli(with(tiny_train(run, 1, dir), {"--format", "csv", "--split", "fraction:0.7,0.15"}));
    EXPECT_EQ(in.status, 2) << in.output;
    EXPECT_TRUE(has(in, "its last present row (of 1441: station A, 2016-01-01 00:00:00) lies 670 days after the rest "
                        "of the data, which ends on 2014-03-01: remove those lines")) << in.output;
    {
        const std::string a = testing::read_file_bytes(dir + "/A.csv");
        std::ofstream(dir + "/A.csv") << a.substr(0, a.size() - std::string("2016-01-01 00:00:00,3\n").size());
    }
    // Without it, the same fractions train.
    const CliResult t = run_cli(with(tiny_train(run, 1, dir), {"--format", "csv", "--split", "fraction:0.7,0.15"}));
    EXPECT_EQ(t.status, 0) << t.output;
    // eval with a stray station come since: the checkpoint keeps its fractions as the times they came to (0.3.13), so
    // A's test windows are those training scored (fractions of the stretched span left none, naming B), and the data
    // is said to be other than the one trained on.
    std::ofstream(dir + "/B.csv") << "DATE,TMP\n2016-01-01 00:00:00,3\n";
    const CliResult e = run_cli({"eval", "--checkpoint", run + "/best.safetensors", "--data", dir});
    EXPECT_EQ(e.status, 0) << e.output;
    EXPECT_TRUE(has(t, "windows: train 993, val 201, test 201")) << t.output;
    EXPECT_TRUE(has(e, "windows: train 993, val 201, test 201")) << e.output;
    EXPECT_TRUE(has(e, "warning: this is not the data " + run + "/best.safetensors trained on")) << e.output;
}

// Flags are checked before the data loads (minutes at WEATHER-5K scale), not after it, with the run's summary.
TEST(CliDataFlags, BadTrainingFlagsAreRefusedBeforeTheDataIsRead) {
    const std::string run = testing::temp_dir() + "/run";
    const std::vector<std::array<const char*, 3>> cases = {
        {"--clip", "-1", "--clip must be >= 0 (0 = off), got -1"},
        {"--clip", "1e400", "--clip must be a finite number (0 = off), got inf"},
        {"--patience", "-1", "--patience: must be 0 or more, got -1"},  // worded as the other whole-number flags
        {"--lr-decay", "0", "--lr-decay must be in (0, 1]"},
        {"--lr-plateau-factor", "2", "--lr-plateau-factor must be in (0, 1), got 2"},
        {"--teacher-forcing", "0.5", "--teacher-forcing feeds a seq2seq decoder: it needs --decoder seq2seq"},
        // QA: these came after the data, in the library's words.
        {"--cell", "foo", "--cell: unknown cell 'foo': expected one of rnn_tanh (rnn)"},
        {"--optimizer", "foo", "--optimizer: unknown optimizer 'foo'"},
        {"--momentum", "1", "--momentum: must be in [0, 1), got 1"},
        {"--weight-decay", "1e39", "--weight-decay: '1e39' is beyond a float's range"},
        {"--teacher-forcing", "-0.1", "--teacher-forcing: must be in [0, 1], got -0.1"},
        {"--synthetic-gaps", "nan", "--synthetic-gaps: 'nan' is out of range"},
        {"--split", "fraction:0.9,0.2", "--split: split fractions: need train > 0, val >= 0 and train + val at most 1 (the test split is the rest); got 0.9 and 0.2 (sum 1.1)"}};
    for (const auto& [flag, value, expect] : cases) {
        const CliResult r = run_cli(with(tiny_train(run, 1), {flag, value}));
        EXPECT_EQ(r.status, 2) << r.output;
        EXPECT_TRUE(has(r, expect)) << r.output;
        EXPECT_FALSE(has(r, "data: ")) << flag << ": the data was read first\n" << r.output;
    }
    // A grid step beyond a year is a typo (fuzz QA: 1e12 minutes was taken).
    const std::string csv = testing::temp_dir() + "/s.csv";
    std::ofstream(csv) << "DATE,TMP\n2014-01-01 00:00:00,1\n";
    const CliResult step = run_cli({"train", "--data", csv, "--csv-step-minutes", "1e12", "--out", run});
    EXPECT_EQ(step.status, 2) << step.output;
    EXPECT_TRUE(has(step, "--csv-step-minutes must be at most 527040 (366 days), got 1000000000000")) << step.output;
}

// Text the checkpoints and reports (JSON, UTF-8 only) would hold is refused before anything is read or trained: a
// Latin-1 column name given to --csv-columns, a station file's Latin-1 header.
TEST(CliDataFlags, TextThatIsNotUtf8IsRefusedBeforeTraining) {
    const std::string dir = testing::temp_dir(), data = dir + "/latin1", run = dir + "/run";
    fs::create_directories(data);
    std::ofstream(data + "/S0.csv", std::ios::binary) << "DATE,T\xb0" "C,RH\n2021-03-01 00:00:00,1,2\n"
                                                         "2021-03-01 01:00:00,1,2\n";
    const CliResult r = run_cli({"train", "--data", data, "--format", "csv", "--out", run, "--backend", "cpu"});
    EXPECT_EQ(r.status, 2) << r.output;
    EXPECT_TRUE(has(r, "S0.csv: the variable name \"T\\xb0C\" (a header column) is not valid UTF-8 text"))
        << r.output;
    const CliResult f = run_cli({"train", "--data", data, "--format", "csv", "--csv-columns", "T\xb0" "C=TMP",
                                 "--out", run, "--backend", "cpu"});
    EXPECT_EQ(f.status, 2) << f.output;
    EXPECT_TRUE(has(f, "--csv-columns \"T\\xb0C=TMP\": not valid UTF-8 text")) << f.output;
    EXPECT_FALSE(fs::exists(run + "/last.safetensors"));
}

// A station `predict` cannot forecast is named with the reason a user can act on: a variable it never reports is the
// whole answer, not the latest of its missing values.
TEST(CliDataFlags, PredictNamesAVariableAStationNeverReports) {
    const std::string dir = testing::temp_dir(), data = dir + "/two", run = dir + "/run";
    fs::create_directories(data);
    for (const char* id : {"A", "B"}) {
        std::ofstream f(data + "/" + id + ".csv");
        f << "DATE,TMP,RH\n";
        for (int h = 0; h < 24 * 30; ++h)
            f << fmt::format("2021-03-{:02d} {:02d}:00:00,{:.2f},{}\n", 1 + h / 24, h % 24, 10 + 5 * std::sin(h / 3.8),
                             id[0] == 'A' ? fmt::format("{:.1f}", 60 + 10 * std::cos(h / 3.8)) : std::string());
    }
    ASSERT_EQ(run_cli(with(tiny_train(run, 1, data), {"--format", "csv"})).status, 0);
    const CliResult p = run_cli({"predict", "--checkpoint", run + "/best.safetensors", "--backend", "cpu", "--out",
                                 dir + "/forecast.csv"});
    EXPECT_EQ(p.status, 0) << p.output;
    EXPECT_TRUE(has(p, "not forecast): B (no RH at all)")) << p.output;
}

// A header name holding the delimiter ("temp, C") is quoted wherever it is written, so every CSV keeps one column
// per variable and reads back.
TEST(CliDataFlags, NamesHoldingTheDelimiterStayOneColumn) {
    const std::string dir = testing::temp_dir(), data = dir + "/quoted";
    fs::create_directories(data);
    {
        std::ofstream f(data + "/S1.csv");
        f << "DATE,\"temp, C\",hum\n";
        for (int h = 0; h < 24 * 25; ++h)
            f << fmt::format("2020-01-{:02d} {:02d}:00:00,{:.2f},{:.1f}\n", 1 + h / 24, h % 24,
                             5 + 4 * std::sin(2 * M_PI * h / 24), 60 + 10 * std::cos(2 * M_PI * h / 24));
    }
    const std::string exported = dir + "/exported";
    const CliResult x = run_cli({"data", "export", "--data", data, "--format", "csv", "--out", exported});
    ASSERT_EQ(x.status, 0) << x.output;
    const std::string csv = testing::read_file_bytes(exported + "/S1.csv");
    EXPECT_EQ(csv.substr(0, csv.find('\n')), "DATE,\"temp, C\",hum");
    const CliResult back = run_cli({"data", "inspect", "--data", exported, "--format", "csv"});
    EXPECT_EQ(back.status, 0) << back.output;

    const std::string run = dir + "/run";
    const CliResult t = run_cli({"train", "--data", data, "--format", "csv", "--hidden", "8", "--input-len", "12",
                                 "--horizon", "4", "--batch", "32", "--max-batches", "3", "--epochs", "1",
                                 "--backend", "cpu", "--out", run});
    ASSERT_EQ(t.status, 0) << t.output;
    EXPECT_NE(testing::read_file_bytes(run + "/stations.csv").find(",\"temp, C_rmse\","), std::string::npos);
    const CliResult p = run_cli({"predict", "--checkpoint", run + "/best.safetensors", "--backend", "cpu", "--out",
                                 dir + "/forecast.csv"});
    ASSERT_EQ(p.status, 0) << p.output;
    const std::string forecast = testing::read_file_bytes(dir + "/forecast.csv");
    EXPECT_EQ(forecast.substr(0, forecast.find('\n')), "station,issued_at,lead,time,\"temp, C\",hum");
}

// An output named by a link replaces the file the link names and keeps the link; a FIFO is written into, not
// replaced by a file; a full device is a write error; two outputs of one command cannot share a file.
TEST(CliDataFlags, OutputsGoThroughLinksAndIntoPipes) {
    const std::string dir = testing::temp_dir(), run = dir + "/run", ckpt = run + "/best.safetensors";
    ASSERT_EQ(run_cli(tiny_train(run, 1)).status, 0);
    const std::vector<std::string> predict{"predict", "--checkpoint", ckpt, "--backend", "cpu", "--out"};

    std::ofstream(dir + "/target.csv") << "old\n";
    fs::create_symlink("target.csv", dir + "/link.csv");
    const CliResult l = run_cli(with(predict, {dir + "/link.csv"}));
    ASSERT_EQ(l.status, 0) << l.output;
    EXPECT_TRUE(fs::is_symlink(dir + "/link.csv"));
    EXPECT_EQ(testing::read_file_bytes(dir + "/target.csv").rfind("station,issued_at", 0), 0u);
    // A link to a file not there yet makes that file, and stays; one into a folder that does not exist is refused
    // before any work (QA: both were replaced by a file of their own), as is a loop of links.
    fs::create_symlink("new.csv", dir + "/ahead.csv");
    ASSERT_EQ(run_cli(with(predict, {dir + "/ahead.csv"})).status, 0);
    EXPECT_TRUE(fs::is_symlink(dir + "/ahead.csv"));
    EXPECT_EQ(testing::read_file_bytes(dir + "/new.csv").rfind("station,issued_at", 0), 0u);
    fs::create_symlink(dir + "/no-such-folder/x.csv", dir + "/dangling.csv");
    const CliResult dangling = run_cli(with(predict, {dir + "/dangling.csv"}));
    EXPECT_EQ(dangling.status, 2) << dangling.output;
    EXPECT_TRUE(has(dangling, "--out " + dir + "/dangling.csv: " + dir + "/no-such-folder does not exist"))
        << dangling.output;
    EXPECT_TRUE(fs::is_symlink(dir + "/dangling.csv"));
    fs::create_symlink("loop2.csv", dir + "/loop1.csv");
    fs::create_symlink("loop1.csv", dir + "/loop2.csv");
    EXPECT_TRUE(has(run_cli(with(predict, {dir + "/loop1.csv"})), "it is a loop of symbolic links"));

    const std::string fifo = dir + "/pipe";
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    std::string piped;
    std::thread reader([&] { piped = testing::read_file_bytes(fifo); });  // opens when the writer does
    const CliResult f = run_cli(with(predict, {fifo}));
    reader.join();
    EXPECT_EQ(f.status, 0) << f.output;
    EXPECT_EQ(piped.rfind("station,issued_at", 0), 0u) << piped;
    EXPECT_TRUE(fs::is_fifo(fifo));

    if (fs::exists("/dev/full")) {
        const CliResult full = run_cli(with(predict, {"/dev/full"}));
        EXPECT_EQ(full.status, 2) << full.output;
        EXPECT_TRUE(has(full, "failed writing /dev/full (No space left on device)")) << full.output;
        EXPECT_TRUE(fs::is_character_file("/dev/full"));
    }

    std::ofstream(dir + "/report.json") << "{}\n";
    const CliResult same = run_cli({"eval", "--checkpoint", ckpt, "--backend", "cpu", "--json", dir + "/report.json",
                                    "--forecasts", dir + "/report.json"});
    EXPECT_EQ(same.status, 2) << same.output;
    EXPECT_TRUE(has(same, "--forecasts " + dir + "/report.json is the file --json writes too")) << same.output;
    EXPECT_EQ(testing::read_file_bytes(dir + "/report.json"), "{}\n");
    // The same file by other names (QA: both written, the first lost): a link to a file not there yet, and "-"
    // beside /dev/stdout.
    fs::create_symlink("later.csv", dir + "/later-link");
    const CliResult linked = run_cli({"eval", "--checkpoint", ckpt, "--backend", "cpu", "--json", dir + "/later-link",
                                      "--forecasts", dir + "/later.csv"});
    EXPECT_EQ(linked.status, 2) << linked.output;
    EXPECT_TRUE(has(linked, "is the file --json writes too")) << linked.output;
    const CliResult both = run_cli({"eval", "--checkpoint", ckpt, "--backend", "cpu", "--json", "-", "--forecasts",
                                    "/dev/stdout"});
    EXPECT_EQ(both.status, 2) << both.output;
    EXPECT_TRUE(has(both, "--forecasts /dev/stdout is the file --json writes too")) << both.output;
}

// One station file named by --data: its folder is the data folder (where more stations would be looked for), so a
// run folder there is refused as for a folder named by --data.
TEST(CliDataFlags, TheFolderOfOneStationFileTakesNoRunFolder) {
    const std::string dir = testing::temp_dir(), syn = dir + "/syn";
    ASSERT_EQ(run_cli({"data", "synth", "--stations", "1", "--years", "3", "--out", syn}).status, 0);
    const CliResult r = run_cli({"train", "--data", syn + "/SYN00000.csv", "--hidden", "8", "--epochs", "1",
                                 "--max-batches", "2", "--backend", "cpu", "--out", syn});
    EXPECT_EQ(r.status, 2) << r.output;
    EXPECT_TRUE(has(r, "--out " + syn + " is the station data folder (it holds " + syn + "/SYN00000.csv)"))
        << r.output;
    EXPECT_FALSE(fs::exists(syn + "/log.csv"));
    // Nor may the data be the run folder's previous/, where a new run moves the run it replaces.
    const std::string parent = dir + "/previous";
    fs::rename(syn, parent);
    const CliResult q = run_cli({"train", "--data", parent, "--hidden", "8", "--epochs", "1", "--max-batches", "2",
                                 "--backend", "cpu", "--out", dir});
    EXPECT_EQ(q.status, 2) << q.output;
    EXPECT_TRUE(has(q, "--out " + dir + ": the station data folder " + parent + " is where a new run keeps the run "
                       "it replaces")) << q.output;
    EXPECT_FALSE(fs::exists(dir + "/log.csv"));
}

// data export: files of another grid than hourly come with the flag that reads them back, and a negative zero is
// written as it reads back ("0"), so exporting the export gives the same bytes.
TEST(CliDataFlags, ExportsReadBackOnTheirGrid) {
    const std::string dir = testing::temp_dir(), data = dir + "/half", out = dir + "/x", again = dir + "/xx";
    fs::create_directories(data);
    std::ofstream(data + "/s.csv") << "DATE,TMP\n2020-01-01 00:00:00,-0\n2020-01-01 00:30:00,-0.0\n"
                                      "2020-01-01 01:00:00,1.5\n";
    const CliResult x = run_cli({"data", "export", "--data", data, "--csv-step-minutes", "30", "--out", out});
    ASSERT_EQ(x.status, 0) << x.output;
    EXPECT_TRUE(has(x, "read them with --data " + out + " --format csv --csv-step-minutes 30")) << x.output;
    const std::string csv = testing::read_file_bytes(out + "/s.csv");
    EXPECT_EQ(csv, "DATE,TMP\n2020-01-01 00:00:00,0\n2020-01-01 00:30:00,0\n2020-01-01 01:00:00,1.5\n");
    const CliResult a = run_cli({"data", "export", "--data", out, "--format", "csv", "--csv-step-minutes", "30",
                                 "--out", again});
    ASSERT_EQ(a.status, 0) << a.output;
    EXPECT_EQ(testing::read_file_bytes(again + "/s.csv"), csv);
}

// eval and predict reading files in another format than the model's training data (a custom layout: --format csv,
// which has no valid ranges of its own) keep the training format's ranges and say so: a 95 °C temperature the
// training read masked is masked again, not fed to the model. A --valid-range given replaces one.
TEST(CliDataFlags, AnotherFormatKeepsTheTrainingFormatsValidRanges) {
    const std::string dir = testing::temp_dir(), data = dir + "/w5k", other = dir + "/other";
    fs::create_directories(data);
    fs::create_directories(other);
    std::ofstream train_file(data + "/s.csv"), other_file(other + "/s.csv");
    for (std::ofstream* f : {&train_file, &other_file}) *f << "DATE,TMP,DEW,WND_ANGLE,WND_RATE,SLP\n";
    for (int h = 0; h < 24 * 40; ++h) {
        const std::string row = fmt::format("{},{},{},{},{},", data::format_time(1388534400 + int64_t(h) * 3600),
                                            5 + h % 7, 1 + h % 5, 10 * (h % 36), 1 + h % 4);
        train_file << row << 1000 + h % 3 << "\n";
        other_file << (h == 500 ? fmt::format("{},95,1,10,2,", data::format_time(1388534400 + int64_t(h) * 3600))
                                : row)
                   << 1000 + h % 3 << "\n";
    }
    train_file.close();
    other_file.close();
    std::vector<std::string> train = tiny_train(dir + "/run", 1, data);
    train.insert(train.end(), {"--split", "fraction:0.6,0.2"});
    const CliResult t = run_cli(train);
    ASSERT_EQ(t.status, 0) << t.output;
    ASSERT_TRUE(has(t, "(weather5k format)")) << t.output;
    const std::vector<std::string> eval = {"eval", "--checkpoint", dir + "/run/best.safetensors", "--data", other,
                                           "--format", "csv", "--on", "all", "--backend", "cpu"};
    const CliResult e = run_cli(eval);
    ASSERT_EQ(e.status, 0) << e.output;
    EXPECT_TRUE(has(e, "valid ranges of the model's training data (weather5k format), which the csv format lacks: "
                       "TMP -93.2..61.8, DEW -98.2..36.8, WND_ANGLE 0..360, WND_RATE 0..90, SLP 860..1090"))
        << e.output;
    EXPECT_TRUE(has(e, "1 value outside their valid range masked as missing (TMP: 1 outside -93.2..61.8, first " +
                           other + "/s.csv:502: 95)")) << e.output;
    // A range given replaces the training format's for its variable.
    const CliResult g = run_cli(with(eval, {"--valid-range", "TMP=-50:100"}));
    ASSERT_EQ(g.status, 0) << g.output;
    EXPECT_FALSE(has(g, "masked as missing")) << g.output;
    EXPECT_TRUE(has(g, "which the csv format lacks: DEW -98.2..36.8, WND_ANGLE")) << g.output;
    // A range given now replaces the stored one of its variable only: a model trained with TMP=-60:45 keeps it
    // when DEW's is given (QA: the stored TMP range was dropped, and a 50 °C went to the model).
    std::vector<std::string> ranged = tiny_train(dir + "/ranged", 1, data);
    ranged.insert(ranged.end(), {"--split", "fraction:0.6,0.2", "--valid-range", "TMP=-60:45"});
    ASSERT_EQ(run_cli(ranged).status, 0);
    std::vector<std::string> eval_ranged = eval;
    eval_ranged[2] = dir + "/ranged/best.safetensors";
    const CliResult r = run_cli(with(eval_ranged, {"--valid-range", "DEW=-50:40"}));
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_TRUE(has(r, "(TMP: 1 outside -60..45, first")) << r.output;
    // A model of the synthetic stations (WEATHER-5K-shaped) keeps WEATHER-5K's ranges on files read as a custom CSV.
    ASSERT_EQ(run_cli(tiny_train(dir + "/synthetic", 1)).status, 0);
    std::vector<std::string> eval_synthetic = eval;
    eval_synthetic[2] = dir + "/synthetic/best.safetensors";
    const CliResult s = run_cli(eval_synthetic);
    ASSERT_EQ(s.status, 0) << s.output;
    EXPECT_TRUE(has(s, "valid ranges of the model's training data (weather5k format), which the csv format lacks: "
                       "TMP -93.2..61.8")) << s.output;
    EXPECT_TRUE(has(s, "(TMP: 1 outside -93.2..61.8, first")) << s.output;
}

// An ISD-Lite line is 61 characters of integer fields, the unused ones too: text past them, or a field that is not
// an integer, is a bad line (named), not silently read.
TEST(CliDataFlags, IsdLiteLinesAreCheckedWhole) {
    const std::string good = "2017 01 01 00   -32   -37 10280     0     0     9     0 -9999";
    for (const auto& [line, expected] :
         {std::pair<std::string, std::string>{good + " extra", "text after column 61"},
          {good.substr(0, 55) + "    xx", "columns 56-61 (6-hour precipitation): \"    xx\" is not an integer"}}) {
        const std::string dir = testing::temp_dir() + "/isd";
        fs::remove_all(dir);
        fs::create_directories(dir);
        std::ofstream(dir + "/071690-99999-2017") << good << "\n" << line << "\n";
        const CliResult r = run_cli({"data", "inspect", "--data", dir});
        EXPECT_EQ(r.status, 2) << r.output;
        EXPECT_TRUE(has(r, "071690-99999-2017:2")) << r.output;
        EXPECT_TRUE(has(r, expected)) << r.output;
    }
}

// NCEI's own LCD export, as downloaded: found without --format (and read the same with --format ncei-lcd), its
// summary lines and suspect values counted in the data line, its station named from its NAME column.
TEST(CliDataFlags, NceiLcdExportsAreFoundAndTheirCountsShown) {
    const std::string fixture = testing::source_dir() + "/tests/fixtures/stations/ncei_lcd_sample.csv";
    for (const bool named : {false, true}) {
        std::vector<std::string> args = {"data", "inspect", "--data", fixture};
        if (named) args = with(args, {"--format", "ncei-lcd"});
        const CliResult r = run_cli(args);
        ASSERT_EQ(r.status, 0) << r.output;
        EXPECT_TRUE(has(r, "(ncei-lcd format)")) << r.output;
        EXPECT_TRUE(has(r, "32 lines -> 30 rows")) << r.output;
        EXPECT_TRUE(has(r, "1 value the files flag suspect masked as missing")) << r.output;
        EXPECT_TRUE(has(r, "1 line passed over (daily and monthly summaries, REPORT_TYPE SOD and SOM)")) << r.output;
        EXPECT_TRUE(has(r, "TMP,DEW,WND_ANGLE,WND_RATE,SLP")) << r.output;
        EXPECT_TRUE(has(r, "NY CITY CENTRAL PARK, NY US")) << r.output;
    }
}

}  // namespace
}  // namespace fusedrnn
