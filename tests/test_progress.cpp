// Progress lines of long passes (tools/progress.h): the rate and ETA of each pass count from its own start, and where
// stderr is no terminal (a log file) the line still comes, now and then. Timings here are loose: a rate is only
// told apart from one ten times lower or absurdly higher.
#include <stdlib.h>

#include <chrono>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "fusedrnn/tools/progress.h"

namespace fusedrnn {
namespace {

// The rates ("25k windows/s") of the lines in `text`, in windows per second; lines without one give -1.
std::vector<double> rates(const std::string& text) {
    std::vector<double> out;
    const std::regex line("validating \\| [^\\n]*");
    const std::regex rate("\\| ([0-9.]+)(k|M)? windows/s");
    for (std::sregex_iterator it(text.begin(), text.end(), line), end; it != end; ++it) {
        const std::string l = it->str();
        std::smatch m;
        if (!std::regex_search(l, m, rate)) {
            out.push_back(-1);
            continue;
        }
        out.push_back(std::stod(m[1]) * (m[2] == "k" ? 1e3 : m[2] == "M" ? 1e6 : 1));
    }
    return out;
}

TEST(Progress, EachPassCountsItsRateFromItsOwnStart) {
    using namespace std::chrono_literals;
    ASSERT_EQ(setenv("FUSEDRNN_PROGRESS_SECONDS", "1e-9", 1), 0);  // every line, stderr being no terminal here
    ::testing::internal::CaptureStderr();
    tools::CountProgress p("validating");  // redrawn at most twice a second, or at the end of a pass
    std::this_thread::sleep_for(3s);  // the epoch's training, before the pass (QA: it counted as the first batch's)
    p(0, 1000);
    std::this_thread::sleep_for(600ms);
    p(500, 1000);
    std::this_thread::sleep_for(100ms);
    p(1000, 1000);
    // The next pass, begun without a call at 0: its first line has no rate yet (QA: "1024000.0M windows/s").
    p(100, 1000);
    std::this_thread::sleep_for(600ms);
    p(600, 1000);
    const std::string text = ::testing::internal::GetCapturedStderr();
    const std::vector<double> r = rates(text);
    ASSERT_EQ(r.size(), 4u) << text;  // the very first call prints nothing: a plain line comes after the interval
    EXPECT_GT(r[0], 300) << text;     // 500 in ~0.6 s (830/s), not in the 3.6 s since the object was made (140/s)
    EXPECT_LT(r[0], 1e5) << text;
    EXPECT_GT(r[1], 300) << text;     // 1000 in ~0.7 s
    EXPECT_EQ(r[2], -1) << text;
    EXPECT_GT(r[3], 300) << text;     // 500 in ~0.6 s
    EXPECT_LT(r[3], 1e5) << text;
}

}  // namespace
}  // namespace fusedrnn
