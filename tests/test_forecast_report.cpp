// The loss chart's scale; the printed forecast report's wind-direction note, on metrics made by hand: the
// command-line suites reach only the datasets the readers build, which always carry the targets' means. And the
// forecast CSV's values, written by hand.
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "fusedrnn/tools/forecast_csv.h"
#include "fusedrnn/tools/forecast_report.h"
#include "fusedrnn/tools/svg_plot.h"
#include "test_support.h"

namespace fusedrnn {
namespace {

// Observed calm forecast 180°; observed 350° at 5 m/s forecast 10°: as test_forecast_metrics' calm case.
ForecastEvaluation direction_and_speed(bool speed_known) {
    ForecastMetrics m({"WND_ANGLE", "WND_RATE"}, {100.0, 2.0}, 1);
    if (speed_known) m.score_direction(0, 1, 3.0);
    else m.score_direction(0);  // WND_RATE is a target, but no mean un-normalizes it
    const float pred[] = {1.8f, 0.0f, 0.1f, 1.0f};
    const float truth[] = {0.0f, float((0 - 3.0) / 2), 3.5f, 1.0f};
    m.add(pred, truth, 2);
    ForecastEvaluation e{m, m, std::nullopt, "no day in the input"};
    return e;
}

std::string report_of(const ForecastEvaluation& e) {
    ::testing::internal::CaptureStdout();
    tools::print_forecast_report("test", e, data::WindowSpec{4, 1, 1, 1, 1});
    return ::testing::internal::GetCapturedStdout();
}

TEST(ForecastReport, TheDirectionNoteCountsTheCalmsLeftOut) {
    const std::string out = report_of(direction_and_speed(true));
    EXPECT_NE(out.find("1 observed calm value left out, 1 scored"), std::string::npos) << out;
}

TEST(ForecastReport, TheDirectionNoteSaysWhyCalmsCannotBeTold) {
    const std::string without_mean = report_of(direction_and_speed(false));
    EXPECT_NE(without_mean.find("calms cannot be told without WND_RATE's mean"), std::string::npos) << without_mean;
    ForecastMetrics m({"WND_ANGLE"}, {100.0}, 1);
    m.score_direction(0);
    const float pred[] = {1.8f}, truth[] = {0.0f};
    m.add(pred, truth, 1);
    const std::string without_speed = report_of(ForecastEvaluation{m, m, std::nullopt, ""});
    EXPECT_NE(without_speed.find("calms cannot be told without WND_RATE among the targets"), std::string::npos)
        << without_speed;
}

// A variable whose std a wild value made 1e37 (a 3e38 in a custom CSV) has an MSE of 1e74 in its units: written
// with three decimals that was a 78-character number that pushed the table apart.
TEST(ForecastReport, HugeValuesInOriginalUnitsAreWrittenInScientificNotation) {
    ForecastMetrics m({"TMP"}, {1e37}, 1);
    const float pred[] = {1.0f}, truth[] = {0.0f};
    m.add(pred, truth, 1);
    const std::string out = report_of(ForecastEvaluation{m, m, std::nullopt, ""});
    EXPECT_FALSE(std::regex_search(out, std::regex("[0-9]{12}"))) << out;
    EXPECT_NE(out.find("1e+74"), std::string::npos) << out;
    // Likewise a normalized score, where a wild input standardized to 1e17 (QA: a 70-digit MSE), by lead time too.
    ForecastMetrics n({"TMP"}, {1.0}, 1);
    const float wild[] = {1e17f};
    n.add(wild, truth, 1);
    const std::string normalized = report_of(ForecastEvaluation{n, n, std::nullopt, ""});
    EXPECT_FALSE(std::regex_search(normalized, std::regex("[0-9]{12}"))) << normalized;
    EXPECT_NE(normalized.find("1e+34"), std::string::npos) << normalized;
}

// A forecast direction is written as the direction it is, in [0, 360) (QA: a model regressing the number wrote
// -58.715 and 400.623); the observed value stays as read, and other variables are not touched.
TEST(ForecastCsv, ForecastDirectionsAreWrittenOnTheCompass) {
    const std::string path = testing::temp_dir() + "/forecasts.csv";
    data::NormStats stats;
    stats.vars = {"TMP", "WND_ANGLE"};
    stats.mean = {0.0, 180.0};
    stats.std = {10.0, 100.0};
    data::WindowSpec window;
    window.input_len = 2;
    window.horizon = 3;
    {
        tools::ForecastCsv csv(path, {"TMP", "WND_ANGLE"}, {0, 1}, stats, window, 3600, true);
        // Lead-major [horizon, K], normalized: -58.7, 400.6 and 359.99996 degrees; TMP -40, 0, 40.
        const float forecast[] = {-4.0f, -2.387f, 0.0f, 2.206f, 4.0f, 1.7999996f};
        const float observed[] = {-4.0f, 1.8f, 0.0f, -1.8f, 4.0f, 0.0f};  // 360, 0, 180
        csv.add("S1", 0, forecast, observed);
        csv.commit();
    }
    std::istringstream lines(testing::read_file_bytes(path));
    std::string header, row;
    std::getline(lines, header);
    EXPECT_EQ(header, "station,issued_at,lead,time,TMP,WND_ANGLE,TMP_observed,WND_ANGLE_observed");
    std::vector<std::string> rows;
    while (std::getline(lines, row)) {  // the values, past station, issued_at, lead and time
        size_t at = 0;
        for (int comma = 0; comma < 4; ++comma) at = row.find(',', at) + 1;
        rows.push_back(row.substr(at));
    }
    ASSERT_EQ(rows.size(), 3u);
    EXPECT_EQ(rows[0], "-40.000,301.300,-40.000,360.000");
    EXPECT_EQ(rows[1], "0.000,40.600,0.000,0.000");
    EXPECT_EQ(rows[2], "40.000,0.000,40.000,180.000");
}

// A forecast speed below zero is written as 0 (QA: -0.4 m/s), one above as it is; the observed value stays as read,
// and one that rounds to zero has no sign.
TEST(ForecastCsv, ForecastSpeedsBelowZeroAreWrittenAsCalm) {
    const std::string path = testing::temp_dir() + "/speeds.csv";
    data::NormStats stats;
    stats.vars = {"WND_RATE"};
    stats.mean = {3.0};
    stats.std = {2.0};
    data::WindowSpec window;
    window.input_len = 2;
    window.horizon = 2;
    {
        tools::ForecastCsv csv(path, {"WND_RATE"}, {0}, stats, window, 3600, true);
        const float forecast[] = {-1.7f, 0.5f};  // -0.4 and 4 m/s
        const float observed[] = {-1.5000001f, 0.5f};  // a hair below 0 (QA's recheck: written "-0.000"), and 4
        csv.add("S1", 0, forecast, observed);
        csv.commit();
    }
    const std::string text = testing::read_file_bytes(path);
    EXPECT_NE(text.find(",1,1970-01-01 01:00:00,0.000,0.000\n"), std::string::npos) << text;
    EXPECT_NE(text.find(",2,1970-01-01 02:00:00,4.000,4.000\n"), std::string::npos) << text;
}

// A loss curve with one diverged epoch goes on a log scale (QA: 6.8e16 at epoch 4 flattened every other point to a
// line at zero); curves within two decades, and any with a value at or below zero, stay linear.
TEST(LineChart, LossesSpanningDecadesArePlottedOnALogScale) {
    const std::string dir = testing::temp_dir();
    const auto chart = [&](std::vector<double> y) {
        std::vector<double> x;
        for (size_t i = 0; i < y.size(); ++i) x.push_back(double(i + 1));
        tools::write_line_chart(dir + "/c.svg", "t", "epoch", "loss", {{"training", x, y, "#000"}},
                                tools::YScale::LogWhenWide);
        return testing::read_file_bytes(dir + "/c.svg");
    };
    const std::string wide = chart({4.1, 2.0, 1.5, 6.756e16, 1.2});
    EXPECT_NE(wide.find(">loss (log scale)<"), std::string::npos);
    EXPECT_NE(wide.find(">1e10<"), std::string::npos) << wide;  // ticks at whole decades, as powers of ten
    EXPECT_NE(wide.find(">1e0<"), std::string::npos) << wide;
    // The points are spread: epochs 1 and 3 (4.1 and 1.5) lie apart, not on one line at the bottom.
    const std::regex circle("<circle cx=\"[0-9.]+\" cy=\"([0-9.]+)\"");
    std::vector<double> cy;
    for (std::sregex_iterator it(wide.begin(), wide.end(), circle), end; it != end; ++it) cy.push_back(std::stod((*it)[1]));
    ASSERT_EQ(cy.size(), 5u);
    EXPECT_GT(cy[2] - cy[0], 5.0);
    for (const std::vector<double>& y : {std::vector<double>{4.1, 2.0, 1.5}, std::vector<double>{10.0, 0.0, 1e6}}) {
        const std::string narrow = chart(y);
        EXPECT_EQ(narrow.find("log scale"), std::string::npos) << narrow;
    }
}

}  // namespace
}  // namespace fusedrnn
