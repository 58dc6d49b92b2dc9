// The language-model commands as a user runs them (the built `fusedrnn` binary): --out checks and the run folder,
// Ctrl-C after training, text printed while it is generated, and flags that do nothing in the chosen mode.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tests/cli_support.h"

namespace fusedrnn {
namespace {

using testing::CliResult;
using testing::run_cli;

std::string tiny_text(const std::string& dir) {
    const std::string path = dir + "/tiny.txt";
    std::ofstream(path) << "the cat sat on a mat . the dog lay on the log . the cat sat on a mat .\n";
    return path;
}

// A text whose one epoch at --batch 1 lasts seconds: a signal sent when training starts arrives within it.
std::string long_text(const std::string& dir) {
    const std::string path = dir + "/long.txt";
    std::ofstream out(path);
    for (int i = 0; i < 20000; ++i) out << "the cat sat on a mat . the dog lay on the log .\n";
    return path;
}

std::vector<std::string> lm_train(const std::string& text, const std::string& out, std::vector<std::string> more = {},
                                  int epochs = 2) {
    std::vector<std::string> a{"lm-train", "--text", text, "--heldout", "0", "--epochs", std::to_string(epochs),
                               "--hidden", "8", "--embedding", "4", "--backend", "cpu", "--out", out};
    a.insert(a.end(), more.begin(), more.end());
    return a;
}

bool has(const CliResult& r, const std::string& s) { return r.output.find(s) != std::string::npos; }

TEST(LmCli, EmptyOutIsRefused) {
    const std::string dir = testing::temp_dir();
    const CliResult r = run_cli(lm_train(tiny_text(dir), ""));
    EXPECT_NE(r.status, 0) << r.output;
    EXPECT_TRUE(has(r, "--out is empty")) << r.output;
    EXPECT_FALSE(has(r, "saved")) << r.output;
}

TEST(LmCli, AForecasterRunFolderIsNotMixedWithALanguageModel) {
    const std::string dir = testing::temp_dir(), out = dir + "/run";
    const CliResult f = run_cli(testing::tiny_train(out, 1));
    ASSERT_EQ(f.status, 0) << f.output;
    ASSERT_TRUE(std::filesystem::exists(out + "/metrics.json"));
    const CliResult r = run_cli(lm_train(tiny_text(dir), out));
    EXPECT_NE(r.status, 0) << r.output;
    EXPECT_TRUE(has(r, "holds a forecaster run of `fusedrnn train`")) << r.output;
    EXPECT_TRUE(has(r, "--overwrite")) << r.output;
    EXPECT_TRUE(std::filesystem::exists(out + "/metrics.json"));  // untouched
    const CliResult o = run_cli(lm_train(tiny_text(dir), out, {"--overwrite"}));
    ASSERT_EQ(o.status, 0) << o.output;
    for (const char* gone : {"metrics.json", "forecast.svg"})
        EXPECT_FALSE(std::filesystem::exists(out + "/" + gone)) << gone;
    EXPECT_TRUE(std::filesystem::exists(out + "/best.safetensors"));
}

TEST(LmCli, OneRunAtATimeInAFolder) {
    const std::string dir = testing::temp_dir(), out = dir + "/run";
    std::filesystem::create_directories(out);
    const int fd = ::open((out + "/.fusedrnn.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);
    const CliResult r = run_cli(lm_train(tiny_text(dir), out));
    ::close(fd);
    EXPECT_NE(r.status, 0) << r.output;
    EXPECT_TRUE(has(r, "is in use by another fusedrnn run")) << r.output;
    EXPECT_FALSE(std::filesystem::exists(out + "/last.safetensors"));
}

// A new run into a finished run's folder removes that run's files before it trains: stopped in its first epoch it
// leaves its own last.safetensors, not the old run's best.safetensors beside it.
TEST(LmCli, ANewRunStoppedEarlyLeavesNoOldBestCheckpoint) {
    const std::string dir = testing::temp_dir(), out = dir + "/run";
    const std::string text = long_text(dir);
    const CliResult first = run_cli(lm_train(text, out, {"--max-chunks", "2"}));
    ASSERT_EQ(first.status, 0) << first.output;
    ASSERT_TRUE(std::filesystem::exists(out + "/best.safetensors"));
    const CliResult r = testing::run_then_signal(lm_train(text, out, {"--batch", "1"}, 1),
                                                 dir + "/log.txt", "optimizer ", SIGTERM);
    EXPECT_EQ(r.status, 130) << r.output;
    EXPECT_TRUE(has(r, "removed best.safetensors, last.safetensors, log.csv, loss.svg")) << r.output;
    EXPECT_TRUE(std::filesystem::exists(out + "/last.safetensors")) << r.output;
    EXPECT_FALSE(std::filesystem::exists(out + "/best.safetensors")) << r.output;
}

// One Ctrl-C / SIGTERM during the sample after the last epoch ends the sample and the run: exit 130, the files saved.
TEST(LmCli, StopDuringTheSampleExits130) {
    const std::string dir = testing::temp_dir(), out = dir + "/run";
    const CliResult r = testing::run_then_signal(lm_train(tiny_text(dir), out, {"--sample", "3000000"}, 1),
                                                 dir + "/log.txt", "epoch 1/1", SIGTERM);
    EXPECT_EQ(r.status, 130) << r.output.substr(0, 2000);
    EXPECT_TRUE(has(r, "[stopped]")) << r.output.substr(0, 2000);
    EXPECT_TRUE(std::filesystem::exists(out + "/log.csv"));
}

// generate prints the text as it is drawn: a long --count shows its first words at once.
TEST(LmCli, GenerateStreamsItsOutput) {
    const std::string dir = testing::temp_dir(), out = dir + "/run";
    ASSERT_EQ(run_cli(lm_train(tiny_text(dir), out)).status, 0);
    const auto t0 = std::chrono::steady_clock::now();
    const CliResult r = testing::run_then_signal({"generate", "--checkpoint", out + "/last.safetensors", "--prompt",
                                                  "the dog lay", "--count", "100000000", "--backend", "cpu"},
                                                 dir + "/log.txt", "the dog lay ", SIGINT);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(60));
    EXPECT_TRUE(has(r, "the dog lay ")) << r.output.substr(0, 500);
}

TEST(LmCli, FlagsThatDoNothingAreReportedOrRefused) {
    const std::string dir = testing::temp_dir();
    const CliResult neg = run_cli(lm_train(tiny_text(dir), dir + "/a", {"--sample", "-1"}));
    EXPECT_NE(neg.status, 0) << neg.output;
    EXPECT_TRUE(has(neg, "--sample")) << neg.output;
    const CliResult w = run_cli(lm_train(tiny_text(dir), dir + "/b", {"--bptt", "9", "--streams", "2"}));
    ASSERT_EQ(w.status, 0) << w.output;
    EXPECT_TRUE(has(w, "warning: --bptt does nothing in window mode")) << w.output;
    EXPECT_TRUE(has(w, "warning: --streams does nothing in window mode")) << w.output;
    const CliResult p = run_cli({"perplexity", "--checkpoint", dir + "/b/last.safetensors", "--text",
                                 tiny_text(dir), "--streams", "4", "--backend", "cpu"});
    ASSERT_EQ(p.status, 0) << p.output;
    EXPECT_TRUE(has(p, "warning: --streams does nothing with a window-mode model")) << p.output;
    EXPECT_TRUE(has(p, "(0 = 0.0% not in the model's vocabulary")) << p.output;
}

}  // namespace
}  // namespace fusedrnn
