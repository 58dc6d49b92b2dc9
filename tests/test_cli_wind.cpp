// `fusedrnn train --wind uv` end to end: the model learns WND_U and WND_V in place of WND_ANGLE and WND_RATE,
// the report scores the direction and speed they make, and the checkpoint's eval, predict and --resume convert their
// data the same way (or refuse a run that would not).
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

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
    EXPECT_TRUE(m.at("test").at("persistence").contains("wind_direction"));

    // eval converts the data as the run did: the same test windows give the same figures.
    const CliResult e = run_cli({"eval", "--checkpoint", out + "/best.safetensors", "--max-windows", "500", "--backend",
                                 "cpu", "--json", out + "/eval.json"});
    ASSERT_EQ(e.status, 0) << e.output;
    const auto ej = nlohmann::json::parse(testing::read_file_bytes(out + "/eval.json"));
    EXPECT_DOUBLE_EQ(ej.at("model").at("mse").get<double>(), m.at("test").at("model").at("mse").get<double>());
    EXPECT_DOUBLE_EQ(ej.at("model").at("wind_direction").at("mae_arc").get<double>(),
                     wind.at("mae_arc").get<double>());

    // predict too: the forecast is of the components, in m/s.
    const CliResult p = run_cli({"predict", "--checkpoint", out + "/best.safetensors", "--backend", "cpu", "--out",
                                 out + "/f.csv"});
    ASSERT_EQ(p.status, 0) << p.output;
    const std::string csv = testing::read_file_bytes(out + "/f.csv");
    EXPECT_NE(csv.find("WND_U"), std::string::npos) << csv.substr(0, 200);
    EXPECT_EQ(csv.find("WND_ANGLE"), std::string::npos) << csv.substr(0, 200);

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
