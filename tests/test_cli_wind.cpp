// `fusedrnn train --wind uv` end to end: the model learns WND_U and WND_V in place of WND_ANGLE and WND_RATE,
// the report scores the direction and speed they make, and the checkpoint's eval, predict and --resume convert their
// data the same way (or refuse a run that would not).
#include <algorithm>
#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "fusedrnn/core/data/wind_components.h"
#include "fusedrnn/tests/cli_support.h"
#include "fusedrnn/tests/test_support.h"

namespace fusedrnn {
namespace {

using testing::CliResult;
using testing::run_cli;
using testing::with;

bool has(const CliResult& r, const std::string& text) { return r.output.find(text) != std::string::npos; }

TEST(CliWind, ComponentsTrainEvaluatePredictAndResumeAlike) {
    const std::string out = testing::temp_dir() + "/run";
    const CliResult t = run_cli(with(testing::tiny_train(out, 1), {"--wind", "uv"}));
    ASSERT_EQ(t.status, 0) << t.output;
    EXPECT_TRUE(has(t, "(4 x TMP,DEW,WND_U,WND_V,SLP)")) << t.output;
    EXPECT_TRUE(has(t, "\ndirection arc ")) << t.output;
    EXPECT_TRUE(has(t, "\nspeed ")) << t.output;
    EXPECT_TRUE(has(t, "(direction and speed of the wind from WND_U and WND_V;")) << t.output;
    const auto m = nlohmann::json::parse(testing::read_file_bytes(out + "/metrics.json"));
    EXPECT_EQ(m.at("dataset").at("wind"), "uv");
    const auto& wind = m.at("test").at("model").at("wind_direction");
    EXPECT_EQ(wind.at("from"), nlohmann::json({"WND_U", "WND_V"}));
    EXPECT_GT(wind.at("mae_arc").get<double>(), 0);
    EXPECT_LE(wind.at("mae_arc").get<double>(), 180);
    EXPECT_GT(wind.at("speed_mae").get<double>(), 0);
    // The components tell an observed calm, whose hours the direction's scores leave out.
    EXPECT_EQ(wind.at("scored").get<long>() + wind.at("calms_left_out").get<long>(),
              m.at("test").at("model").at("windows").get<long>() * 4);  // horizon 4
    EXPECT_TRUE(m.at("test").at("persistence").contains("wind_direction"));

    // eval converts the data as the run did: the same test windows give the same figures.
    const CliResult e = run_cli({"eval", "--checkpoint", out + "/best.safetensors", "--max-windows", "500", "--backend",
                                 "cpu", "--json", out + "/eval.json"});
    ASSERT_EQ(e.status, 0) << e.output;
    const auto ej = nlohmann::json::parse(testing::read_file_bytes(out + "/eval.json"));
    EXPECT_DOUBLE_EQ(ej.at("model").at("mse").get<double>(), m.at("test").at("model").at("mse").get<double>());
    EXPECT_DOUBLE_EQ(ej.at("model").at("wind_direction").at("mae_arc").get<double>(),
                     wind.at("mae_arc").get<double>());

    // predict too: the components, and the direction and speed they make (the columns a model of the direction has).
    const CliResult p = run_cli({"predict", "--checkpoint", out + "/best.safetensors", "--backend", "cpu", "--out",
                                 out + "/f.csv"});
    ASSERT_EQ(p.status, 0) << p.output;
    const std::string csv = testing::read_file_bytes(out + "/f.csv");
    ASSERT_EQ(csv.rfind("station,issued_at,lead,time,TMP,DEW,WND_U,WND_V,SLP,WND_ANGLE,WND_RATE\n", 0), 0u)
        << csv.substr(0, 200);
    std::istringstream rows(csv);
    std::string line;
    std::getline(rows, line);  // the header
    int checked = 0;
    while (std::getline(rows, line)) {
        std::vector<std::string> f;
        std::istringstream cells(line);
        for (std::string cell; std::getline(cells, cell, ',');) f.push_back(cell);
        ASSERT_EQ(f.size(), 11u) << line;
        const double u = std::stod(f[6]), v = std::stod(f[7]), direction = std::stod(f[9]), speed = std::stod(f[10]);
        EXPECT_NEAR(speed, std::hypot(u, v), 2e-3) << line;  // from the rounded components
        if (speed > 0.1) {
            const double d = std::fabs(direction - data::wind_direction(u, v));
            EXPECT_LT(std::min(d, 360 - d), 0.5) << line;
        }
        EXPECT_TRUE(direction >= 0 && direction < 360) << line;
        ++checked;
    }
    EXPECT_GT(checked, 0);
    // eval --forecasts: the observed direction and speed beside them.
    const CliResult ef = run_cli({"eval", "--checkpoint", out + "/best.safetensors", "--max-windows", "20", "--backend",
                                  "cpu", "--forecasts", out + "/ef.csv"});
    ASSERT_EQ(ef.status, 0) << ef.output;
    EXPECT_NE(testing::read_file_bytes(out + "/ef.csv").find(",WND_ANGLE,WND_RATE,TMP_observed,"), std::string::npos);
    EXPECT_NE(testing::read_file_bytes(out + "/ef.csv").find(",SLP_observed,WND_ANGLE_observed,WND_RATE_observed\n"),
              std::string::npos);

    // A resume must keep the form: without the flag the run's data would be another.
    const CliResult r = run_cli(with(testing::tiny_train(out, 2), {"--resume"}));
    EXPECT_EQ(r.status, 2) << r.output;
    EXPECT_TRUE(has(r, "--resume: " + out + "/last.safetensors was trained with --wind uv, this run has --wind angle: "
                       "resume with the same --wind, or use a new --out")) << r.output;
    const CliResult same = run_cli(with(testing::tiny_train(out, 2), {"--resume", "--wind", "uv"}));
    EXPECT_EQ(same.status, 0) << same.output;
}

// uv+speed keeps WND_RATE beside the components: its own row, and the speed the components make.
TEST(CliWind, UvPlusSpeedKeepsTheSpeed) {
    const std::string out = testing::temp_dir() + "/run";
    const CliResult t = run_cli(with(testing::tiny_train(out, 1), {"--wind", "uv+speed"}));
    ASSERT_EQ(t.status, 0) << t.output;
    EXPECT_TRUE(has(t, "(4 x TMP,DEW,WND_U,WND_V,WND_RATE,SLP)")) << t.output;
    EXPECT_TRUE(has(t, "\nWND_RATE ")) << t.output;
    const auto m = nlohmann::json::parse(testing::read_file_bytes(out + "/metrics.json"));
    EXPECT_EQ(m.at("dataset").at("wind"), "uv+speed");
    EXPECT_TRUE(m.at("test").at("model").at("per_variable").contains("WND_RATE"));
    EXPECT_EQ(m.at("test").at("model").at("wind_direction").at("from"), nlohmann::json({"WND_U", "WND_V"}));
    const CliResult p = run_cli({"predict", "--checkpoint", out + "/best.safetensors", "--backend", "cpu", "--out",
                                 out + "/f.csv"});
    ASSERT_EQ(p.status, 0) << p.output;
    // The direction the components make; the speed is the model's own, not written twice.
    EXPECT_EQ(testing::read_file_bytes(out + "/f.csv").rfind(
                  "station,issued_at,lead,time,TMP,DEW,WND_U,WND_V,WND_RATE,SLP,WND_ANGLE\n", 0),
              0u);
}

TEST(CliWind, WrongUsesAreNamed) {
    const std::string out = testing::temp_dir() + "/run";
    const CliResult bogus = run_cli(with(testing::tiny_train(out, 1), {"--wind", "vector"}));
    EXPECT_EQ(bogus.status, 2) << bogus.output;
    EXPECT_TRUE(has(bogus, "--wind")) << bogus.output;
    // The targets are the converted data's: WND_ANGLE is gone.
    const CliResult target =
        run_cli(with(testing::tiny_train(out, 1), {"--wind", "uv", "--targets", "WND_ANGLE"}));
    EXPECT_EQ(target.status, 2) << target.output;
    EXPECT_TRUE(has(target, "--targets WND_ANGLE: --wind uv replaces it by WND_U and WND_V (name those)"))
        << target.output;
}

}  // namespace
}  // namespace fusedrnn
