// The printed forecast report's wind-direction note, on metrics made by hand: the command-line suites reach only the
// datasets the readers build, which always carry the targets' means.
#include <regex>
#include <string>

#include <gtest/gtest.h>

#include "fusedrnn/tools/forecast_report.h"

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
    testing::internal::CaptureStdout();
    tools::print_forecast_report("test", e, data::WindowSpec{4, 1, 1, 1, 1});
    return testing::internal::GetCapturedStdout();
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
}

}  // namespace
}  // namespace fusedrnn
