// The `fusedrnn` command line end to end, as a user runs it: train → eval → predict → resume on small
// synthetic stations, synthetic CSVs written and read back, a language model trained and sampled, and
// the errors a mistyped command gets (exit status and a message naming the culprit). Each run is small
// (a few stations, a handful of batches) so the suite stays within seconds.
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <regex>
#include <thread>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>
#include <stdexcept>
#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "fusedrnn/core/backend.h"
#include "fusedrnn/core/data/time.h"
#include "fusedrnn/core/safetensors.h"
#include "fusedrnn/kernels/cpu/simd.h"
#include "fusedrnn/tests/cli_support.h"
#include "fusedrnn/tests/test_support.h"

namespace fusedrnn {
namespace {

namespace fs = std::filesystem;
using testing::CliResult;
using testing::run_cli;
using testing::run_then_signal;
using testing::tiny_train;

// tiny_train's run in `out`, resumed up to `epochs`.
std::vector<std::string> tiny_resume(const std::string& out, int epochs) {
    auto args = tiny_train(out, epochs);
    args.push_back("--resume");
    return args;
}

// `--version` and `info` print the project's version, the one CMake's project() sets and the installed package and
// pkg-config file carry: no second copy in the code to fall behind.
TEST(Cli, VersionIsTheProjects) {
    const std::string expected = std::string("fusedrnn ") + FUSEDRNN_PROJECT_VERSION + "\n";
    const CliResult version = run_cli({"--version"});
    EXPECT_EQ(version.status, 0) << version.output;
    EXPECT_EQ(version.output, expected);
    const CliResult info = run_cli({"info"});
    EXPECT_EQ(info.status, 0) << info.output;
    EXPECT_EQ(info.output.rfind(expected, 0), 0u) << info.output;
}

TEST(Cli, TrainEvalPredictResume) {
    const std::string out = testing::temp_dir() + "/run";
    const CliResult t = run_cli(tiny_train(out, 2));
    ASSERT_EQ(t.status, 0) << t.output;
    EXPECT_NE(t.output.find("test set: 500 windows"), std::string::npos) << t.output;
    EXPECT_NE(t.output.find("skill vs persistence"), std::string::npos) << t.output;
    // Horizon 4: every lead time listed, first and last included.
    EXPECT_NE(t.output.find("by lead time, steps ahead (persistence) | +1 "), std::string::npos) << t.output;
    EXPECT_NE(t.output.find(" | +4 "), std::string::npos) << t.output;
    for (const char* f : {"best.safetensors", "last.safetensors", "metrics.json", "log.csv", "loss.svg", "forecast.svg"})
        EXPECT_TRUE(fs::exists(out + "/" + f)) << f;
    // The forecast plot: observed, and the forecasts at the first and last lead time of the horizon (4 h).
    const std::string plot = testing::read_file_bytes(out + "/forecast.svg");
    for (const char* label : {"observed", "forecast +1 h", "forecast +4 h", "TMP at SYN"})
        EXPECT_NE(plot.find(label), std::string::npos) << label;
    EXPECT_EQ(plot.rfind("<svg", 0), 0u);

    const auto metrics = nlohmann::json::parse(testing::read_file_bytes(out + "/metrics.json"));
    EXPECT_EQ(metrics.at("epochs").get<int>(), 2);
    EXPECT_EQ(metrics.at("eval_windows_limit").get<long>(), 500);
    EXPECT_EQ(metrics.at("test").dump().find("null"), std::string::npos);  // every figure finite
    EXPECT_NE(t.output.find("SEDI, events above the station's training percentile"), std::string::npos) << t.output;
    EXPECT_EQ(metrics.at("test").at("model").at("extreme_events").size(), 5u);  // every variable
    // Wind direction is also scored round the compass, in the report and in metrics.json, model and baselines.
    EXPECT_NE(t.output.find("\ndirection arc "), std::string::npos) << t.output;
    // WND_RATE is a target, so the observed calms are told and left out: the same values for model and baseline.
    const long values = metrics.at("test").at("model").at("windows").get<long>() * 4;  // horizon 4
    for (const char* who : {"model", "persistence"}) {
        const auto& wind = metrics.at("test").at(who).at("wind_direction");
        EXPECT_EQ(wind.at("from"), nlohmann::json({"WND_ANGLE"})) << who;
        EXPECT_GT(wind.at("mae_arc").get<double>(), 0.0) << who;
        EXPECT_LE(wind.at("mae_arc").get<double>(), 180.0) << who;
        EXPECT_GT(wind.at("scored").get<long>(), 0) << who;
        EXPECT_EQ(wind.at("scored").get<long>() + wind.at("calms_left_out").get<long>(), values) << who;
    }
    EXPECT_EQ(metrics.at("test").at("model").at("wind_direction").at("scored"),
              metrics.at("test").at("persistence").at("wind_direction").at("scored"));
    EXPECT_NE(t.output.find("observed calm"), std::string::npos) << t.output;
    const std::string log = testing::read_file_bytes(out + "/log.csv");
    EXPECT_EQ(std::count(log.begin(), log.end(), '\n'), 3) << log;  // header + one line per epoch
    EXPECT_EQ(testing::read_file_bytes(out + "/loss.svg").rfind("<svg", 0), 0u);

    // eval: the checkpoint remembers its data, so no data flags are needed.
    const std::string report = out + "/eval.json";
    const CliResult e = run_cli({"eval", "--checkpoint", out + "/best.safetensors", "--on", "val", "--max-windows",
                                 "300", "--backend", "cpu", "--json", report});
    ASSERT_EQ(e.status, 0) << e.output;
    EXPECT_NE(e.output.find("val set: 300 windows"), std::string::npos) << e.output;
    EXPECT_NE(e.output.find("wrote " + report), std::string::npos) << e.output;  // as its other files say
    EXPECT_TRUE(nlohmann::json::parse(testing::read_file_bytes(report)).is_object());

    // predict: one forecast per station and lead time, in original units.
    const std::string csv = out + "/forecast.csv";
    const CliResult p = run_cli({"predict", "--checkpoint", out + "/best.safetensors", "--backend", "cpu", "--out", csv});
    ASSERT_EQ(p.status, 0) << p.output;
    const std::string forecast = testing::read_file_bytes(csv);
    EXPECT_NE(forecast.find("TMP"), std::string::npos) << forecast.substr(0, 200);
    EXPECT_GE(std::count(forecast.begin(), forecast.end(), '\n'), 3 * 4) << forecast.substr(0, 200);
    // As of a past time: every station's forecast is issued then or, where that window has a gap, shortly before.
    const CliResult past = run_cli({"predict", "--checkpoint", out + "/best.safetensors", "--backend", "cpu",
                                    "--issued-at", "2022-03-01 06:00", "--out", csv});
    ASSERT_EQ(past.status, 0) << past.output;
    const std::string then = testing::read_file_bytes(csv);
    EXPECT_NE(then.find(",2022-03-01 06:00:00,1,2022-03-01 07:00:00,"), std::string::npos) << then.substr(0, 300);
    EXPECT_EQ(then.find(",2023-"), std::string::npos) << then.substr(0, 300);  // nothing from later data
    // ISO 8601's 'T', a date alone (midnight), and a time between rows (said, issued from the row before it).
    for (const auto& [when, issued] : {std::pair<std::string, std::string>{"2022-03-01T06:00", "2022-03-01 06:00:00"},
                                       {"2022-03-01", "2022-03-01 00:00:00"},
                                       {"2022-03-01 06:30", "2022-03-01 06:00:00"}}) {
        const CliResult at = run_cli({"predict", "--checkpoint", out + "/best.safetensors", "--backend", "cpu",
                                      "--issued-at", when, "--out", csv});
        ASSERT_EQ(at.status, 0) << at.output;
        EXPECT_NE(testing::read_file_bytes(csv).find("," + issued + ",1,"), std::string::npos) << when;
        EXPECT_EQ(at.output.find("falls between the rows") != std::string::npos, when == "2022-03-01 06:30")
            << at.output;
    }
    const CliResult empty_time = run_cli({"predict", "--checkpoint", out + "/best.safetensors", "--backend", "cpu",
                                          "--issued-at", "", "--out", csv});
    EXPECT_EQ(empty_time.status, 2) << empty_time.output;
    EXPECT_NE(empty_time.output.find("--issued-at is empty"), std::string::npos) << empty_time.output;
    // Spaces alone are empty too; an ISO T with no time after it is no time (QA's recheck: midnight without a word).
    for (const auto& [value, expect] : {std::pair<std::string, std::string>{" ", "--issued-at is empty"},
                                        {"2022-03-01T", "--issued-at \"2022-03-01T\": no time after the T"}}) {
        const CliResult r = run_cli({"predict", "--checkpoint", out + "/best.safetensors", "--backend", "cpu",
                                     "--issued-at", value, "--out", csv});
        EXPECT_EQ(r.status, 2) << r.output;
        EXPECT_NE(r.output.find(expect), std::string::npos) << r.output;
    }
    // A time that does not exist is said as that, in the form it was given (not "extra characters after %Y-%m-%d").
    const CliResult hour25 = run_cli({"predict", "--checkpoint", out + "/best.safetensors", "--backend", "cpu",
                                      "--issued-at", "2022-03-01 25:00", "--out", csv});
    EXPECT_EQ(hour25.status, 2) << hour25.output;
    EXPECT_NE(hour25.output.find("--issued-at: \"2022-03-01 25:00\" is not a valid date and time"), std::string::npos)
        << hour25.output;  // the value quoted once
    const CliResult unknown = run_cli({"predict", "--checkpoint", out + "/best.safetensors", "--station", "SYN99",
                                       "--out", csv});
    EXPECT_EQ(unknown.status, 2) << unknown.output;
    EXPECT_NE(unknown.output.find("--station SYN99: no such station in the data"), std::string::npos)
        << unknown.output;

    // resume: continues after epoch 2 to epoch 3 rather than starting over.
    const CliResult r = run_cli([&] {
        auto a = tiny_train(out, 3);
        a.push_back("--resume");
        return a;
    }());
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("resumed from"), std::string::npos) << r.output;
    EXPECT_EQ(nlohmann::json::parse(testing::read_file_bytes(out + "/metrics.json")).at("epochs").get<int>(), 3);
}

// Ctrl-C during training: the run saves last.safetensors at the next step (or validation batch) and exits
// with 130, naming where it stopped; --resume then continues inside that epoch and finishes normally.
TEST(Cli, CtrlCSavesACheckpointAndResumeContinuesTheEpoch) {
    const std::string dir = testing::temp_dir(), out = dir + "/run";
    auto args = tiny_train(out, 1000);
    args[std::find(args.begin(), args.end(), "--max-batches") - args.begin() + 1] = "40";
    // After the first epoch's line: data loaded, training under way (the handler is installed).
    const CliResult stopped = run_then_signal(args, dir + "/train.log", "epoch 1/1000", SIGINT);
    const std::string& output = stopped.output;
    EXPECT_EQ(stopped.status, 130) << "-1: ended by the signal, not by saving and exiting\n" << output;
    std::smatch m;
    ASSERT_TRUE(std::regex_search(output, m, std::regex(R"(interrupted: stopped at epoch (\d+), step (\d+)/40)")))
        << output;
    EXPECT_NE(output.find("saved " + out + "/last.safetensors"), std::string::npos) << output;
    EXPECT_FALSE(fs::exists(out + "/metrics.json"));  // no test report for an interrupted run
    // Re-running the command without --resume would throw the run away: refused, naming the way on.
    const CliResult again_fresh = run_cli(args);
    EXPECT_EQ(again_fresh.status, 2) << again_fresh.output;
    EXPECT_NE(again_fresh.output.find("add --resume to continue it"), std::string::npos) << again_fresh.output;
    // Resuming with fewer epochs than the one in progress would drop it without a step: refused.
    auto fewer = args;
    fewer[std::find(fewer.begin(), fewer.end(), "--epochs") - fewer.begin() + 1] = std::to_string(std::stoi(m[1]) - 1);
    fewer.push_back("--resume");
    if (std::stoi(m[1]) > 1) {
        const CliResult dropped = run_cli(fewer);
        EXPECT_EQ(dropped.status, 2) << dropped.output;
        EXPECT_NE(dropped.output.find("is below the epoch in progress (" + m[1].str() + ")"), std::string::npos)
            << dropped.output;
    }
    // Resume to the end of the interrupted epoch (same batches: same flags, fewer epochs).
    auto again = args;
    again[std::find(again.begin(), again.end(), "--epochs") - again.begin() + 1] = m[1].str();
    again.push_back("--resume");
    const CliResult r = run_cli(again);
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("in epoch " + m[1].str() + " at step " + m[2].str() + "/40"), std::string::npos)
        << r.output;
    EXPECT_EQ(nlohmann::json::parse(testing::read_file_bytes(out + "/metrics.json")).at("epochs").get<int>(),
              std::stoi(m[1].str()));
}

// The CPU backend computes the same on any number of threads (tests/test_cpu_thread_invariance.cpp), so a run
// stopped on one thread and resumed on two ends where the uninterrupted run does, bit for bit (every tensor of
// last.safetensors, every test figure), and says nothing of rounding. Hidden 32 and batch 256: the recurrent
// stack's batch is cut into several chunks, spread over the threads differently each time.
TEST(Cli, ResumeOnAnotherThreadCountEndsBitForBit) {
    const std::string dir = testing::temp_dir();
    auto args = [](const std::string& out, int epochs) {
        auto a = tiny_train(out, epochs);
        *(std::find(a.begin(), a.end(), "--hidden") + 1) = "32";
        *(std::find(a.begin(), a.end(), "--batch") + 1) = "256";
        return a;
    };
    const CliResult whole = run_cli(args(dir + "/whole", 2), "", "OMP_NUM_THREADS=2 ");
    ASSERT_EQ(whole.status, 0) << whole.output;
    const CliResult first = run_cli(args(dir + "/split", 1), "", "OMP_NUM_THREADS=1 ");
    ASSERT_EQ(first.status, 0) << first.output;
    auto more = args(dir + "/split", 2);
    more.push_back("--resume");
    const CliResult resumed = run_cli(more, "", "OMP_NUM_THREADS=2 ");
    ASSERT_EQ(resumed.status, 0) << resumed.output;
    EXPECT_EQ(resumed.output.find("differ from an uninterrupted run"), std::string::npos) << resumed.output;
    const SafetensorsFile a = read_safetensors(dir + "/whole/last.safetensors");
    const SafetensorsFile b = read_safetensors(dir + "/split/last.safetensors");
    ASSERT_EQ(a.names(), b.names());
    for (const std::string& name : a.names()) EXPECT_TRUE(a.at(name).bytes == b.at(name).bytes) << name;
    const auto test_a = nlohmann::json::parse(testing::read_file_bytes(dir + "/whole/metrics.json")).at("test");
    const auto test_b = nlohmann::json::parse(testing::read_file_bytes(dir + "/split/metrics.json")).at("test");
    EXPECT_EQ(test_a, test_b);
}

// The CPU kernels' instruction set does change the rounding: a run resumed under another goes on, and says that it
// is no longer bit for bit the uninterrupted run; under the same one it says nothing of it.
TEST(Cli, ResumeUnderOtherArithmeticSaysSo) {
    if (cpu::simd::cpu_isa() == cpu::simd::Isa::Generic)
        GTEST_SKIP() << "this CPU has no instruction set above generic to resume under";
    const std::string best = cpu::simd::isa_name(cpu::simd::cpu_isa());
    const std::string out = testing::temp_dir() + "/arith";
    const CliResult first = run_cli(tiny_train(out, 1), "", "FUSEDRNN_CPU_ISA=generic ");
    ASSERT_EQ(first.status, 0) << first.output;
    auto more = tiny_train(out, 2);
    more.push_back("--resume");
    const CliResult other = run_cli(more);
    ASSERT_EQ(other.status, 0) << other.output;
    EXPECT_NE(other.output.find("was trained on cpu (float kernels generic, OpenBLAS "), std::string::npos)
        << other.output;
    EXPECT_NE(other.output.find("this run computes on cpu (float kernels " + best + ", OpenBLAS "), std::string::npos)
        << other.output;
    EXPECT_NE(other.output.find("): it goes on, but may differ from an uninterrupted run by rounding"),
              std::string::npos) << other.output;
    auto same = tiny_train(out, 3);
    same.push_back("--resume");
    const CliResult unchanged = run_cli(same, "", "OMP_NUM_THREADS=1 ");
    ASSERT_EQ(unchanged.status, 0) << unchanged.output;
    EXPECT_EQ(unchanged.output.find("differ from an uninterrupted run"), std::string::npos) << unchanged.output;
}

// OpenBLAS's GEMM kernels round too (a dynamic-arch build picks them by CPU model, or OPENBLAS_CORETYPE; SkylakeX's
// and Haswell's ended a README run an epoch apart), so the record names them and a resume under others says so.
TEST(Cli, ResumeUnderOtherBlasKernelsSaysSo) {
    const std::string out = testing::temp_dir() + "/blas";
    const CliResult first = run_cli(tiny_train(out, 1), "", "OPENBLAS_CORETYPE=Nehalem ");
    ASSERT_EQ(first.status, 0) << first.output;
    if (first.output.find(", OpenBLAS Nehalem)") == std::string::npos)
        GTEST_SKIP() << "this OpenBLAS does not take OPENBLAS_CORETYPE (not a dynamic-arch build): " << first.output;
    auto more = tiny_train(out, 2);
    more.push_back("--resume");
    const CliResult other = run_cli(more);
    ASSERT_EQ(other.status, 0) << other.output;
    if (other.output.find(", OpenBLAS Nehalem)\n") != std::string::npos)
        GTEST_SKIP() << "OpenBLAS picks Nehalem's kernels on this CPU anyway";
    EXPECT_NE(other.output.find(", OpenBLAS Nehalem), this run computes on cpu (float kernels "), std::string::npos)
        << other.output;
    EXPECT_NE(other.output.find("may differ from an uninterrupted run by rounding"), std::string::npos) << other.output;
}

// SIGTERM (a scheduler's time limit) stops lm-train the same way, and --resume finishes the run.
TEST(Cli, SigtermStopsLanguageModelTrainingResumably) {
    const std::string dir = testing::temp_dir();
    {
        std::ofstream f(dir + "/text.txt");
        for (int i = 0; i < 400; ++i) f << "the cat sat on the mat and the dog lay on the log . ";
    }
    const std::vector<std::string> args{"lm-train", "--text", dir + "/text.txt", "--tokenizer", "char", "--mode",
                                        "stream", "--bptt", "8", "--streams", "4", "--hidden", "8", "--epochs",
                                        "1000", "--backend", "cpu", "--out", dir + "/lm"};
    const CliResult stopped = run_then_signal(args, dir + "/lm.log", "epoch 1/1000", SIGTERM);
    EXPECT_EQ(stopped.status, 130) << stopped.output;
    // Within an epoch, as a rule; on a loaded machine the signal may land during an epoch's report, and the run stops
    // after that epoch instead (also saved).
    std::smatch m;
    ASSERT_TRUE(std::regex_search(stopped.output, m, std::regex(R"(interrupted: stopped (at|after) epoch (\d+)[,;])")))
        << stopped.output;
    const bool within = m[1].str() == "at";
    const std::string epoch = within ? m[2].str() : std::to_string(std::stoi(m[2].str()) + 1);
    auto again = args;
    again[std::find(again.begin(), again.end(), "--epochs") - again.begin() + 1] = epoch;
    again.push_back("--resume");
    const CliResult r = run_cli(again);
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("resumed from " + dir + "/lm/last.safetensors" + (within ? " in epoch " + epoch : "")),
              std::string::npos) << r.output;
}

// AddressSanitizer builds (-DFUSEDRNN_SANITIZE=ON): g++ says so with __SANITIZE_ADDRESS__, clang with __has_feature.
#if defined(__SANITIZE_ADDRESS__)
#define FR_TEST_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FR_TEST_UNDER_ASAN 1
#endif
#endif
#ifndef FR_TEST_UNDER_ASAN
#define FR_TEST_UNDER_ASAN 0
#endif

// Data larger than the memory there is: a clear message and a non-zero exit, not "internal error:
// std::bad_alloc" (here a 6 GB address-space limit — room for the CUDA libraries mapped at start-up —
// against the ~10 GB WEATHER-5K-scale synthetic set).
TEST(Cli, OutOfHostMemoryIsAClearError) {
#if FR_TEST_UNDER_ASAN
    GTEST_SKIP() << "AddressSanitizer build: its shadow memory needs terabytes of address space, so the CLI "
                    "cannot start under this test's `ulimit -v` (checked in every normal build)";
#endif
    const CliResult r = run_cli({"train", "--synthetic-stations", "5672", "--synthetic-years", "10", "--backend", "cpu",
                                 "--out", testing::temp_dir() + "/run"},
                                "", "ulimit -v 6000000; ");
    EXPECT_EQ(r.status, 2) << r.output;
    EXPECT_NE(r.output.find("out of host memory"), std::string::npos) << r.output;
    EXPECT_EQ(r.output.find("internal error"), std::string::npos) << r.output;
    // Under a limit, what the libraries had mapped before the command began is said: it counts too.
    EXPECT_NE(r.output.find("(the address-space limit, ulimit -v, counts every mapping: "), std::string::npos)
        << r.output;
    // Each command is told its own flags only (QA: data synth was told --max-stations). (data synth itself holds a
    // few stations at a time, so it writes WEATHER-5K's 22 GB under this limit: data export of the same set reads it
    // whole.)
    const CliResult exported = run_cli({"data", "export", "--synthetic-stations", "5672", "--synthetic-years", "10",
                                        "--out", testing::temp_dir() + "/export"}, "", "ulimit -v 6000000; ");
    EXPECT_EQ(exported.status, 2) << exported.output;
    EXPECT_NE(exported.output.find("use fewer stations or years (--max-stations; --synthetic-stations, "
                                   "--synthetic-years)"), std::string::npos) << exported.output;
    EXPECT_EQ(exported.output.find("--hidden"), std::string::npos) << exported.output;
    // A model too large for the machine: its weights' size as a person reads it, and the flags that set it.
    const CliResult model = run_cli({"train", "--synthetic-stations", "1", "--hidden", "60000", "--backend", "cpu",
                                     "--out", testing::temp_dir() + "/big"},
                                    "", "ulimit -v 6000000; ");
    EXPECT_EQ(model.status, 2) << model.output;
    EXPECT_NE(model.output.find("out of host memory allocating 53.6"), std::string::npos) << model.output;  // GiB
    EXPECT_NE(model.output.find(" GiB ("), std::string::npos) << model.output;
    EXPECT_NE(model.output.find("a smaller --hidden, --layers or --batch"), std::string::npos) << model.output;
    // The check command holds no station data: the advice is its own flags'.
    const CliResult check = run_cli({"check", "--batch", "100000000", "--hidden", "1000", "--steps", "1000"}, "",
                                    "ulimit -v 6000000; ");
    EXPECT_EQ(check.status, 2) << check.output;
    EXPECT_NE(check.output.find("out of host memory"), std::string::npos) << check.output;
    EXPECT_EQ(check.output.find("Station data"), std::string::npos) << check.output;
}

// eval and predict read the checkpoint's data unless told otherwise: their help says so, with no built-in default of
// train's shown (QA: both said "default: built-in synthetic stations" and 16 of them).
TEST(Cli, EvalAndPredictHelpSayTheyReadTheCheckpointsData) {
    for (const char* command : {"eval", "predict"}) {
        const CliResult r = run_cli({command, "--help"});
        ASSERT_EQ(r.status, 0) << r.output;
        EXPECT_NE(r.output.find("default: the data the checkpoint was trained on"), std::string::npos) << r.output;
        EXPECT_NE(r.output.find("(default: that of the checkpoint's synthetic stations)"), std::string::npos)
            << r.output;
        EXPECT_EQ(r.output.find("built-in synthetic"), std::string::npos) << r.output;
        EXPECT_EQ(r.output.find("INT:> 0=16"), std::string::npos) << r.output;
    }
    const CliResult train = run_cli({"train", "--help"});
    EXPECT_NE(train.output.find("(default: built-in synthetic stations)"), std::string::npos) << train.output;
    EXPECT_NE(train.output.find("--synthetic-stations INT:> 0=16"), std::string::npos) << train.output;
}

// Under an address-space limit, OpenBLAS retried its work buffer's mmap for ever at the first product (QA: `ulimit -v
// 1200000; fusedrnn train` hung without a word). Limits from below the binary's start-up mapping up to room for
// everything, 128 MiB apart: each run ends, with a result or a clear out-of-memory error, and one of them falls where
// the buffers no longer fit once the program has started (the CPU backend's check names OpenBLAS and the limit). Then
// 32 MiB apart above the highest of those, with the default model's products (batch 1024), which needed a buffer the
// first reservation had not mapped (QA: hung in training at limits just past the check's).
TEST(Cli, AnAddressSpaceLimitIsAnErrorNotAHang) {
#if FR_TEST_UNDER_ASAN
    GTEST_SKIP() << "AddressSanitizer build: its shadow memory needs terabytes of address space (checked in every "
                    "normal build)";
#endif
    const std::string dir = testing::temp_dir();
    long named = 0;  // the highest limit at which the check named the buffers
    const auto run_under = [&](long mib, const std::vector<std::string>& args) {
        const CliResult r =
            run_cli(args, "", fmt::format("ulimit -v {}; OMP_NUM_THREADS=2 timeout -s KILL 120 ", mib << 10));
        const bool started = r.output.find("error while loading shared libraries") == std::string::npos &&
                             r.output.find("timeout: ") == std::string::npos;
        if (!started) return;  // below what the dynamic loader or `timeout` need
        EXPECT_NE(r.status, 137) << mib << " MiB: killed after 120 s\n" << r.output;
        EXPECT_TRUE(r.status == 0 || (r.status == 2 && r.output.find("out of host memory") != std::string::npos))
            << mib << " MiB: status " << r.status << "\n" << r.output;
        if (r.output.find("OpenBLAS maps about 130 MiB of work buffer for each of ") != std::string::npos) {
            named = std::max(named, mib);
            EXPECT_NE(r.output.find(fmt::format("the address-space limit (ulimit -v {} KiB", mib << 10)),
                      std::string::npos) << r.output;
        }
    };
    for (long mib = 64; mib <= 2112; mib += 128) {
        run_under(mib, testing::tiny_train(dir + "/run" + std::to_string(mib), 1));
        // A command without a backend still ends: OpenBLAS's own thread, which may be retrying its buffer from the
        // program's start, is not waited for at exit (QA: data synth wrote its files, then hung). libgomp may still
        // fail to start the team's threads in a narrow band of limits, with its own message and exit 1.
        const CliResult synth = run_cli({"data", "synth", "--stations", "1", "--years", "1", "--out",
                                         dir + "/synth" + std::to_string(mib)},
                                        "", fmt::format("ulimit -v {}; OMP_NUM_THREADS=2 timeout -s KILL 60 ",
                                                        mib << 10));
        EXPECT_NE(synth.status, 137) << mib << " MiB: data synth killed after 60 s\n" << synth.output;
        EXPECT_TRUE(synth.status == 0 || synth.status == 127 ||
                    (synth.status == 1 && synth.output.find("libgomp: Thread creation failed") != std::string::npos) ||
                    (synth.status == 2 && synth.output.find("out of host memory") != std::string::npos))
            << mib << " MiB: data synth status " << synth.status << "\n" << synth.output;
    }
    ASSERT_GT(named, 0) << "no limit fell between the start-up mapping and the OpenBLAS buffers";
    for (long mib = named + 32; mib <= named + 320; mib += 32)
        run_under(mib, {"train", "--synthetic-stations", "3", "--epochs", "1", "--max-batches", "2", "--eval-windows",
                        "2000", "--backend", "cpu", "--out", dir + "/default" + std::to_string(mib)});
}

// The issue's second example as the README runs it: one target of a Jena-climate-layout CSV (10-minute
// rows, 14 variables) from the past 720 rows sampled every 6th, 72 rows (12 h) ahead; then a forecast.
TEST(Cli, JenaExampleFromTheReadme) {
    const std::string dir = testing::temp_dir(), out = dir + "/run";
    {
        std::ofstream f(dir + "/jena_climate_2009_2016.csv");
        f << "\"Date Time\",\"p (mbar)\",\"T (degC)\",\"Tpot (K)\",\"Tdew (degC)\",\"rh (%)\",\"VPmax (mbar)\","
             "\"VPact (mbar)\",\"VPdef (mbar)\",\"sh (g/kg)\",\"H2OC (mmol/mol)\",\"rho (g/m**3)\",\"wv (m/s)\","
             "\"max. wv (m/s)\",\"wd (deg)\"\n";
        for (int i = 1; i <= 30 * 144; ++i) {  // 30 days from 01.01.2009 00:10
            const int minutes = i * 10, day = 1 + minutes / 1440, hh = minutes % 1440 / 60, mm = minutes % 60;
            const double t = 5 + 6 * std::sin(2 * M_PI * (minutes % 1440) / 1440.0) + 0.1 * std::sin(i * 0.37);
            f << fmt::format("{:02d}.01.2009 {:02d}:{:02d}:00,{:.2f},{:.2f},{:.2f},{:.2f},{:.1f},7,6,1,4,6,1300,{:.2f},"
                             "{:.2f},{:.1f}\n",
                             day == 31 ? 31 : day, hh, mm, 1000 + std::cos(i * 0.01), t, t + 273.15, t - 3,
                             80 + 10 * std::cos(i * 0.02), 2 + std::sin(i * 0.05), 3 + std::sin(i * 0.05),
                             180 + 90 * std::sin(i * 0.003));
        }
    }
    const CliResult t = run_cli({"train", "--data", dir + "/jena_climate_2009_2016.csv", "--format", "jena",
                                 "--targets", "T (degC)", "--input-len", "120", "--step", "6", "--horizon", "1",
                                 "--out-offset", "72", "--split", "fraction:0.6,0.2", "--hidden", "8", "--batch", "64",
                                 "--epochs", "2", "--backend", "cpu", "--out", out});
    ASSERT_EQ(t.status, 0) << t.output;
    const auto m = nlohmann::json::parse(testing::read_file_bytes(out + "/metrics.json"));
    EXPECT_EQ(m.at("dataset").at("targets"), nlohmann::json::array({"T (degC)"}));
    const auto& w = m.at("dataset").at("window");
    EXPECT_EQ(w.at("input_len"), 120);
    EXPECT_EQ(w.at("in_step"), 6);
    EXPECT_EQ(w.at("horizon"), 1);
    EXPECT_EQ(w.at("out_offset"), 72);
    EXPECT_EQ(m.at("model").at("spec").at("input_size"), 14);
    EXPECT_EQ(m.at("test").at("model").at("windows").get<long>(), 864 - 787 + 1);  // 6 test days, span 787 rows
    EXPECT_TRUE(std::isfinite(m.at("test").at("model").at("mse").get<double>()));
    // 720 input rows cover 5 days: the same-time-of-day baseline is reported beside persistence.
    EXPECT_TRUE(std::isfinite(m.at("test").at("persistence_same_time_of_day").at("mse").get<double>()));
    EXPECT_NE(t.output.find("same-time MSE"), std::string::npos) << t.output;
    // The forecast is issued at the last row and lands 72 rows (12 h) later, in degrees C.
    const CliResult p = run_cli({"predict", "--checkpoint", out + "/best.safetensors", "--data",
                                 dir + "/jena_climate_2009_2016.csv", "--backend", "cpu", "--out", dir + "/f.csv"});
    ASSERT_EQ(p.status, 0) << p.output;
    const std::string forecast = testing::read_file_bytes(dir + "/f.csv");
    EXPECT_NE(forecast.find("T (degC)"), std::string::npos) << forecast;
    EXPECT_NE(forecast.find("2009-01-31 00:00:00,72,2009-01-31 12:00:00"), std::string::npos) << forecast;
}

// WEATHER-5K's recipe: validation every N steps (not every pass) and a per-step cosine rate.
TEST(Cli, StepsPerEpochAndCosineSchedule) {
    const std::string out = testing::temp_dir() + "/run";
    std::vector<std::string> args = tiny_train(out, 2);
    const auto mb = std::find(args.begin(), args.end(), "--max-batches");
    args.erase(mb, mb + 2);
    for (const char* a : {"--steps-per-epoch", "3", "--lr-cosine", "--lr", "0.004"}) args.push_back(a);
    const CliResult t = run_cli(args);
    ASSERT_EQ(t.status, 0) << t.output;
    EXPECT_NE(t.output.find("lr 0.004 cosine to 0, batch 64, up to 2 epochs of 3 steps"), std::string::npos)
        << t.output;
    EXPECT_NE(t.output.find("one pass over the training windows is "), std::string::npos) << t.output;
    EXPECT_NE(t.output.find("| step 6 | lr 0.002 |"), std::string::npos) << t.output;  // epoch 2 starts half-way
    const std::string log = testing::read_file_bytes(out + "/log.csv");
    EXPECT_EQ(log.rfind("epoch,step,train_loss,", 0), 0u) << log;
    EXPECT_NE(log.find("\n2,6,"), std::string::npos) << log;

    args.push_back("--max-batches");
    args.push_back("3");
    args.push_back("--overwrite");
    const CliResult both = run_cli(args);
    EXPECT_EQ(both.status, 2) << both.output;
    EXPECT_NE(both.output.find("--steps-per-epoch and --max-batches"), std::string::npos) << both.output;
}

// The model, window, split, normalization and optimizer flags reach the run (read back from metrics.json),
// and a checkpoint trained with them evaluates and predicts.
TEST(Cli, TrainingFlagsReachTheRun) {
    const std::string out = testing::temp_dir() + "/run";
    const CliResult t = run_cli({"train", "--synthetic-stations", "2", "--synthetic-years", "3", "--cell", "rnn_relu",
                                 "--hidden", "6", "--layers", "2", "--bidirectional", "--input-len", "10", "--step", "2",
                                 "--horizon", "3", "--out-offset", "4", "--out-step", "2", "--targets", "SLP", "TMP",
                                 "--split", "dates:2021-01-01,2022-06-01,2023-01-01", "--stats", "weather5k",
                                 "--optimizer", "rmsprop", "--lr", "0.003", "--lr-decay", "0.5", "--lr-plateau", "2",
                                 "--clip", "0.5", "--batch", "32",
                                 "--max-batches", "2", "--epochs", "1", "--eval-windows", "100", "--backend", "cpu",
                                 "--out", out});
    ASSERT_EQ(t.status, 0) << t.output;
    EXPECT_NE(t.output.find("training: rmsprop lr 0.003 x 0.5 per epoch x 0.5 after 2 epochs without improvement, "
                            "batch 32"), std::string::npos) << t.output;
    EXPECT_NE(testing::read_file_bytes(out + "/log.csv").find(",0.003,"), std::string::npos);  // lr column
    EXPECT_NE(t.output.find("clip 0.5"), std::string::npos) << t.output;
    const auto m = nlohmann::json::parse(testing::read_file_bytes(out + "/metrics.json"));
    EXPECT_FALSE(m.at("test").contains("persistence_same_time_of_day"));  // 10 inputs 2 h apart: < a day
    EXPECT_EQ(t.output.find("direction arc"), std::string::npos) << t.output;  // no wind among the targets
    EXPECT_FALSE(m.at("test").at("model").contains("wind_direction"));
    EXPECT_EQ(m.at("test").at("persistence_same_time_of_day_absent"), "the input spans 19 rows, less than the 24 of "
                                                                        "a day");
    EXPECT_NE(t.output.find("no same-time-of-day persistence: the input spans 19 rows"), std::string::npos)
        << t.output;
    const auto& spec = m.at("model").at("spec");
    EXPECT_EQ(spec.at("cell"), "rnn_relu");
    EXPECT_EQ(spec.at("num_layers"), 2);
    EXPECT_EQ(spec.at("bidirectional"), true);
    EXPECT_EQ(m.at("model").at("outputs"), 3 * 2);
    const auto& ds = m.at("dataset");
    EXPECT_EQ(ds.at("targets"), nlohmann::json({"SLP", "TMP"}));
    EXPECT_EQ(ds.at("window"), nlohmann::json({{"horizon", 3}, {"in_step", 2}, {"input_len", 10}, {"out_offset", 4},
                                               {"out_step", 2}}));
    EXPECT_NEAR(ds.at("stats").at("mean").at(0).get<double>(), 12.709, 1e-3);  // WEATHER-5K's fixed statistics
    EXPECT_EQ(ds.at("split").at("val").at("text"), "[2022-06-01 00:00:00, 2023-01-01 00:00:00)");
    EXPECT_EQ(m.at("test").at("model").at("windows"), 100);
    const CliResult p = run_cli({"predict", "--checkpoint", out + "/best.safetensors", "--backend", "cpu", "--out",
                                 out + "/f.csv"});
    ASSERT_EQ(p.status, 0) << p.output;
    const std::string csv = testing::read_file_bytes(out + "/f.csv");
    EXPECT_EQ(csv.substr(0, csv.find('\n')), "station,issued_at,lead,time,SLP,TMP") << csv.substr(0, 200);

    // adamw: decoupled weight decay, PyTorch's 0.01 unless --weight-decay says otherwise (also 0); adam's is L2.
    const auto tiny = [&](std::vector<std::string> extra) {
        std::vector<std::string> a = testing::tiny_train(out + "-opt", 1);
        a.insert(a.end(), extra.begin(), extra.end());
        a.push_back("--overwrite");
        return run_cli(a);
    };
    for (const auto& [flags, expected] : std::vector<std::pair<std::vector<std::string>, std::string>>{
             {{"--optimizer", "adamw"}, "training: adamw (decoupled weight decay 0.01) lr 0.001,"},
             {{"--optimizer", "adamw", "--weight-decay", "0.1"}, "training: adamw (decoupled weight decay 0.1) lr"},
             {{"--optimizer", "adamw", "--weight-decay", "0"}, "training: adamw lr"},
             {{"--weight-decay", "0.001"}, "training: adam (L2 weight decay 0.001) lr"}}) {
        const CliResult r = tiny(flags);
        ASSERT_EQ(r.status, 0) << r.output;
        EXPECT_NE(r.output.find(expected), std::string::npos) << expected << "\n" << r.output;
    }
    const CliResult bad = tiny({"--optimizer", "adamax"});
    EXPECT_EQ(bad.status, 2) << bad.output;
    EXPECT_NE(bad.output.find("unknown optimizer 'adamax': expected sgd, adam, adamw or rmsprop"), std::string::npos)
        << bad.output;
}

// The encoder-decoder from the command line: two of the five variables predicted, named out of input order (the
// decoder starts from their last observed values); the checkpoint rebuilds it for eval and predict; flags that do
// not fit it are refused before any data is read.
// --data-parallel 2 on CPU ranks: each takes half of every batch; the run is the single-rank one up to the order of
// the sums, and metrics.json says how it was trained. A batch that does not split evenly is refused up front.
TEST(Cli, DataParallelRanksTrainLikeOne) {
    const std::string one = testing::temp_dir() + "/one", two = testing::temp_dir() + "/two";
    const CliResult a = run_cli(tiny_train(one, 2));
    ASSERT_EQ(a.status, 0) << a.output;
    auto args = tiny_train(two, 2);
    for (const char* x : {"--data-parallel", "2"}) args.push_back(x);
    const CliResult b = run_cli(args);
    ASSERT_EQ(b.status, 0) << b.output;
    EXPECT_NE(b.output.find("data parallel: 2 ranks (cpu, cpu), 32 windows each per step, gradients summed by host"),
              std::string::npos) << b.output;
    const auto ma = nlohmann::json::parse(testing::read_file_bytes(one + "/metrics.json"));
    const auto mb = nlohmann::json::parse(testing::read_file_bytes(two + "/metrics.json"));
    EXPECT_EQ(mb.at("data_parallel"), nlohmann::json({{"ranks", 2}, {"processes", 1}, {"gradient_sum", "host"}}));
    EXPECT_EQ(ma.at("data_parallel").at("ranks"), 1);
    const double mse_a = ma.at("test").at("model").at("mse").get<double>();
    EXPECT_NEAR(mb.at("test").at("model").at("mse").get<double>(), mse_a, 1e-4 * mse_a);

    auto uneven = tiny_train(testing::temp_dir() + "/three", 1);
    for (const char* x : {"--data-parallel", "3"}) uneven.push_back(x);
    const CliResult c = run_cli(uneven);
    EXPECT_NE(c.status, 0);
    EXPECT_NE(c.output.find("--batch 64 does not split evenly over --data-parallel 3: use a multiple of 3"),
              std::string::npos) << c.output;
}

TEST(Cli, Seq2SeqDecoderTrainsEvaluatesAndPredicts) {
    const std::string out = testing::temp_dir() + "/run";
    auto args = tiny_train(out, 2);
    for (const char* a : {"--decoder", "seq2seq", "--teacher-forcing", "0.5", "--targets", "SLP,TMP", "--layers", "2",
                          "--dropout", "0.2"})  // --targets comma-separated, as --csv-columns (TrainingFlagsReachTheRun: spaces)
        args.push_back(a);
    const CliResult t = run_cli(args);
    ASSERT_EQ(t.status, 0) << t.output;
    EXPECT_NE(t.output.find("seq2seq decoder: one lead time per step, teacher forcing 0.5, dropout 0.2 between layers "
                            "(the encoder's, and the decoder's at every lead time)"),
              std::string::npos)
        << t.output;
    const auto m = nlohmann::json::parse(testing::read_file_bytes(out + "/metrics.json"));
    EXPECT_EQ(m.at("model").at("decoder"), "seq2seq");
    EXPECT_EQ(m.at("model").at("target_inputs"), nlohmann::json({4, 0}));  // SLP, TMP among TMP,DEW,…,SLP
    EXPECT_EQ(m.at("model").at("outputs"), 4 * 2);
    EXPECT_EQ(m.at("test").dump().find("null"), std::string::npos);  // every figure finite
    const CliResult e = run_cli({"eval", "--checkpoint", out + "/best.safetensors", "--max-windows", "500",
                                 "--backend", "cpu", "--json", out + "/eval.json"});
    ASSERT_EQ(e.status, 0) << e.output;
    // The same checkpoint and test windows as the training run's report: the same figure.
    EXPECT_NEAR(nlohmann::json::parse(testing::read_file_bytes(out + "/eval.json")).at("model").at("mse").get<double>(),
                m.at("test").at("model").at("mse").get<double>(), 1e-9);
    const CliResult p = run_cli({"predict", "--checkpoint", out + "/best.safetensors", "--backend", "cpu", "--out",
                                 out + "/f.csv"});
    ASSERT_EQ(p.status, 0) << p.output;
    const std::string csv = testing::read_file_bytes(out + "/f.csv");
    EXPECT_EQ(csv.substr(0, csv.find('\n')), "station,issued_at,lead,time,SLP,TMP") << csv.substr(0, 200);

    auto direct_tf = tiny_train(out + "2", 1);
    for (const char* a : {"--teacher-forcing", "0.5"}) direct_tf.push_back(a);
    const CliResult d = run_cli(direct_tf);
    EXPECT_NE(d.status, 0);
    EXPECT_NE(d.output.find("--teacher-forcing feeds a seq2seq decoder: it needs --decoder seq2seq"), std::string::npos)
        << d.output;
    auto bidir = tiny_train(out + "3", 1);
    for (const char* a : {"--decoder", "seq2seq", "--bidirectional"}) bidir.push_back(a);
    const CliResult b = run_cli(bidir);
    EXPECT_NE(b.status, 0);
    EXPECT_NE(b.output.find("needs a unidirectional encoder"), std::string::npos) << b.output;
    EXPECT_EQ(b.output.find("data: "), std::string::npos) << "refused before the data loads\n" << b.output;
    auto unknown = tiny_train(out + "4", 1);
    for (const char* a : {"--decoder", "attention"}) unknown.push_back(a);
    const CliResult u = run_cli(unknown);
    EXPECT_NE(u.status, 0);
    EXPECT_NE(u.output.find("--decoder"), std::string::npos) << u.output;
}

// --resume with nothing to resume is refused before the data loads (at WEATHER-5K scale, minutes), for both
// trainers, and leaves no folder behind.
TEST(Cli, ResumingNothingIsRefusedBeforeTheDataLoads) {
    const std::string out = testing::temp_dir() + "/never/ran";
    auto args = tiny_train(out, 1);
    args.push_back("--resume");
    const CliResult r = run_cli(args);
    EXPECT_EQ(r.status, 2) << r.output;
    EXPECT_NE(r.output.find("--resume: " + out + "/last.safetensors does not exist (nothing to resume)"),
              std::string::npos) << r.output;
    EXPECT_EQ(r.output.find("data: "), std::string::npos) << r.output;
    EXPECT_FALSE(std::filesystem::exists(testing::temp_dir() + "/never"));
    const std::string text = testing::temp_dir() + "/t.txt";
    std::ofstream(text) << "a b c a b c a b c\n";
    const CliResult l = run_cli({"lm-train", "--text", text, "--out", out, "--resume", "--backend", "cpu"});
    EXPECT_EQ(l.status, 2) << l.output;
    EXPECT_NE(l.output.find("does not exist (nothing to resume)"), std::string::npos) << l.output;
    EXPECT_EQ(l.output.find("t.txt: "), std::string::npos) << l.output;
    EXPECT_FALSE(std::filesystem::exists(testing::temp_dir() + "/never"));
    // A best.safetensors without its last.safetensors: the way on is named (QA).
    const std::string kept = testing::temp_dir() + "/kept";
    ASSERT_EQ(run_cli(tiny_train(kept, 1)).status, 0);
    std::filesystem::remove(kept + "/last.safetensors");
    const CliResult b = run_cli(tiny_resume(kept, 2));
    EXPECT_EQ(b.status, 2) << b.output;
    EXPECT_NE(b.output.find("(nothing to resume); " + kept + "/best.safetensors beside it holds weights without the "
                            "training state a run goes on from: --overwrite instead of --resume starts a new run, "
                            "keeping it in " + kept + "/previous/"), std::string::npos) << b.output;
}

// A resume with another --seed is refused naming the file, as the other refusals are, before the data is read; the
// training line says "patience off" for 0, as "clip off" (QA).
TEST(Cli, ResumeWithAnotherSeedIsRefusedNamingTheFile) {
    const std::string out = testing::temp_dir() + "/seeded";
    const CliResult first = run_cli(tiny_train(out, 1));
    ASSERT_EQ(first.status, 0) << first.output;
    EXPECT_NE(first.output.find(", patience off, clip off"), std::string::npos) << first.output;
    auto other = tiny_resume(out, 2);
    *(std::find(other.begin(), other.end(), "--seed") + 1) = "7";
    const CliResult r = run_cli(other);
    EXPECT_EQ(r.status, 2) << r.output;
    EXPECT_NE(r.output.find("--resume: " + out + "/last.safetensors was trained with --seed 1, this run asks for 7: "
                            "the batch order depends on it; resume with the same flag"), std::string::npos)
        << r.output;
    // Before the data is read (QA: after the data, the model and the training line).
    EXPECT_EQ(r.output.find("windows: "), std::string::npos) << "refused before the data loads\n" << r.output;
}

// A folder in the place of a file the run writes is refused on --resume before the training, which would fail at that
// file's write only at its end (QA: a folder named metrics.json).
TEST(Cli, ResumingIntoAFolderNamedAsARunFileIsRefusedFirst) {
    const std::string out = testing::temp_dir() + "/blocked";
    ASSERT_EQ(run_cli(tiny_train(out, 1)).status, 0);
    std::filesystem::remove(out + "/metrics.json");
    std::filesystem::create_directory(out + "/metrics.json");
    const CliResult r = run_cli(tiny_resume(out, 2));
    EXPECT_EQ(r.status, 2) << r.output;
    EXPECT_NE(r.output.find("--resume: " + out + "/metrics.json is a folder, where the run writes its metrics.json: "
                            "move it away first"), std::string::npos) << r.output;
    EXPECT_EQ(r.output.find("epoch 2/"), std::string::npos) << "refused before training\n" << r.output;
}

// A fraction split is kept as the times it came to: eval on other data scores the checkpoint's test times, not the
// last fractions of the new data's span (QA: eval on one station-year scored part of the training period as "test").
TEST(Cli, EvalOnOtherDataKeepsTheFractionSplitsTimes) {
    const std::string out = testing::temp_dir() + "/fractions";
    auto train = tiny_train(out, 1);
    train.insert(train.end(), {"--split", "fraction:0.6,0.2"});
    const CliResult t = run_cli(train);
    ASSERT_EQ(t.status, 0) << t.output;
    // Three synthetic years trained on; two of them now: the test times (the last fifth of three years) lie beyond.
    const CliResult shorter = run_cli({"eval", "--checkpoint", out + "/best.safetensors", "--synthetic-stations", "3",
                                       "--synthetic-years", "2", "--backend", "cpu"});
    EXPECT_EQ(shorter.status, 2) << shorter.output;
    EXPECT_NE(shorter.output.find("no test windows in this data: test is [2023-05-27 00:00:00, end) (split "
                                  "dates:,2022-10-20 00:00:00,2023-05-27 00:00:00)"), std::string::npos)
        << shorter.output;
    // On the data it trained on, the windows of each split as training listed them.
    const CliResult same = run_cli({"eval", "--checkpoint", out + "/best.safetensors", "--backend", "cpu"});
    EXPECT_EQ(same.status, 0) << same.output;
    const auto split_windows = [](const std::string& text) {
        const size_t at = text.find("windows: train ");
        return at == std::string::npos ? std::string() : text.substr(at, text.find(" (", at) - at);
    };
    EXPECT_FALSE(split_windows(t.output).empty()) << t.output;
    EXPECT_EQ(split_windows(same.output), split_windows(t.output)) << same.output;
}

// eval on the data a checkpoint names says when that is no longer the data it trained on (QA: a folder changed since,
// or a relative path run from another folder, was scored as its test set without a word).
TEST(Cli, EvalSaysWhenTheCheckpointsDataChanged) {
    const std::string dir = testing::temp_dir();
    ASSERT_EQ(run_cli({"data", "synth", "--stations", "2", "--years", "3", "--start-year", "2021", "--out",
                       dir + "/data"}).status, 0);
    const CliResult t = run_cli(tiny_train(dir + "/run", 1, dir + "/data"));
    ASSERT_EQ(t.status, 0) << t.output;
    const std::vector<std::string> eval = {"eval", "--checkpoint", dir + "/run/best.safetensors", "--backend", "cpu"};
    const CliResult same = run_cli(eval);
    EXPECT_EQ(same.status, 0) << same.output;
    EXPECT_EQ(same.output.find("warning: this is not the data"), std::string::npos) << same.output;
    // One value of one file corrected since.
    std::string first;
    for (const auto& e : fs::directory_iterator(dir + "/data")) first = std::max(first, e.path().string());
    std::string text = testing::read_file_bytes(first);
    const size_t row = text.find('\n', text.find('\n') + 1) + 1, field = text.find(',', row) + 1;
    text.replace(field, text.find(',', field) - field, "12.3");
    std::ofstream(first, std::ios::binary | std::ios::trunc) << text;
    const CliResult changed = run_cli(eval);
    EXPECT_EQ(changed.status, 0) << changed.output;
    EXPECT_NE(changed.output.find("warning: this is not the data " + dir + "/run/best.safetensors trained on (values "
                                  "checksum "), std::string::npos) << changed.output;
    // --skip-bad-lines does not turn it off (QA's recheck).
    auto skipping = eval;
    skipping.push_back("--skip-bad-lines");
    const CliResult skipped = run_cli(skipping);
    EXPECT_EQ(skipped.status, 0) << skipped.output;
    EXPECT_NE(skipped.output.find("warning: this is not the data"), std::string::npos) << skipped.output;
    // Nor does a --max-stations above the stations there are (note40); one that cuts them reads other data.
    auto capped = eval;
    capped.insert(capped.end(), {"--max-stations", "5"});
    const CliResult above = run_cli(capped);
    EXPECT_EQ(above.status, 0) << above.output;
    EXPECT_NE(above.output.find("warning: this is not the data"), std::string::npos) << above.output;
    capped.back() = "2";  // all of them: as many as training read (QA's recheck)
    const CliResult all = run_cli(capped);
    EXPECT_EQ(all.status, 0) << all.output;
    EXPECT_NE(all.output.find("warning: this is not the data"), std::string::npos) << all.output;
    capped.back() = "1";
    const CliResult cut = run_cli(capped);
    EXPECT_EQ(cut.status, 0) << cut.output;
    EXPECT_EQ(cut.output.find("warning: this is not the data"), std::string::npos) << cut.output;
}

// LCD values are converted to °C from the files' °F: "original units" says so where predict and eval write them
// (QA: the forecast files of an LCD model said only "original units").
TEST(Cli, LcdOutputsSayTheConvertedUnits) {
    const std::string dir = testing::temp_dir();
    fs::create_directories(dir + "/lcd");
    {
        std::ofstream f(dir + "/lcd/722590.csv");
        f << "DATE,HourlyDewPointTemperature,HourlyDryBulbTemperature,HourlyRelativeHumidity\n";
        for (int h = 0; h < 1500; ++h)
            f << fusedrnn::data::format_time(fusedrnn::data::days_from_civil(2012, 1, 1) * 86400 + h * 3600 + 53 * 60)
              << "," << 40 + h % 5 << "," << 50 + (h * 7) % 13 << "," << 60 + h % 3 << ".0\n";
    }
    auto train = tiny_train(dir + "/run", 1, dir + "/lcd");
    train.insert(train.end(), {"--split", "fraction:0.7,0.15"});
    const CliResult t = run_cli(train);
    ASSERT_EQ(t.status, 0) << t.output;
    // The report's table in original units, metrics.json and the forecast plot's axis say it too.
    EXPECT_NE(t.output.find("original units here: TMP and DEW in °C, converted from °F; the others as in the files\n"),
              std::string::npos) << t.output;
    EXPECT_NE(testing::read_file_bytes(dir + "/run/metrics.json").find("\"original_units\": \"TMP and DEW in °C, conv"),
              std::string::npos);
    EXPECT_NE(testing::read_file_bytes(dir + "/run/forecast.svg").find(" (°C, converted from °F)"), std::string::npos);
    const CliResult p = run_cli({"predict", "--checkpoint", dir + "/run/best.safetensors", "--backend", "cpu", "--out",
                                 dir + "/p.csv"});
    EXPECT_EQ(p.status, 0) << p.output;
    EXPECT_NE(p.output.find("x 4 lead times; values in the files' units but TMP and DEW in °C (converted from °F); "
                            "times: local standard time"), std::string::npos) << p.output;
    const CliResult e = run_cli({"eval", "--checkpoint", dir + "/run/best.safetensors", "--backend", "cpu",
                                 "--max-windows", "8", "--forecasts", dir + "/e.csv", "--plot", dir + "/e.svg"});
    EXPECT_EQ(e.status, 0) << e.output;
    EXPECT_NE(e.output.find("forecast and observed in the files' units but TMP and DEW in °C (converted from °F); "
                            "times: local standard time"), std::string::npos) << e.output;
    EXPECT_NE(e.output.find("original units here: TMP and DEW in °C"), std::string::npos);
    EXPECT_NE(testing::read_file_bytes(dir + "/e.svg").find(" (°C, converted from °F)"), std::string::npos);
    // Labelled by the files read, not the checkpoint's format (QA's recheck): the same stations exported are °C.
    ASSERT_EQ(run_cli({"data", "export", "--data", dir + "/lcd", "--out", dir + "/csv"}).status, 0);
    const CliResult c = run_cli({"predict", "--checkpoint", dir + "/run/best.safetensors", "--backend", "cpu",
                                 "--data", dir + "/csv", "--format", "csv", "--out", dir + "/c.csv"});
    EXPECT_EQ(c.status, 0) << c.output;
    EXPECT_EQ(c.output.find("converted from"), std::string::npos) << c.output;
    EXPECT_EQ(c.output.find("original units here"), std::string::npos) << c.output;
    // Said of the variables the report scores: RH alone is as in the files (QA's recheck: told of TMP and DEW).
    auto rh = tiny_train(dir + "/rh", 1, dir + "/lcd");
    rh.insert(rh.end(), {"--split", "fraction:0.7,0.15", "--targets", "RH"});
    const CliResult r = run_cli(rh);
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_EQ(r.output.find("original units here"), std::string::npos) << r.output;
    EXPECT_EQ(testing::read_file_bytes(dir + "/rh/metrics.json").find("original_units"), std::string::npos);
}

// A symbolic link that leads nowhere is said as that: as --out (QA: "cannot create the output folder: File exists")
// and as last.safetensors on --resume (QA: "does not exist"), before the data loads. The optimizer's refusal on
// --resume is worded as the trainer's others (QA: "with optimizer 'adam', not 'sgd'").
TEST(Cli, LinksThatLeadNowhereAndAnotherOptimizerAreSaidAsThat) {
    const std::string dir = testing::temp_dir();
    fs::create_symlink(dir + "/gone", dir + "/dangling");
    const CliResult dangling = run_cli(tiny_train(dir + "/dangling", 1));
    EXPECT_EQ(dangling.status, 2) << dangling.output;
    EXPECT_NE(dangling.output.find("--out " + dir + "/dangling is a symbolic link to " + dir + "/gone, which does not "
                                   "exist: point it at a folder, or remove the link"), std::string::npos)
        << dangling.output;
    // A folder on the way (QA's recheck), and lm-train's --out.
    const CliResult below = run_cli(tiny_train(dir + "/dangling/run", 1));
    EXPECT_EQ(below.status, 2) << below.output;
    EXPECT_NE(below.output.find("--out " + dir + "/dangling/run: " + dir + "/dangling is a symbolic link to " + dir +
                                "/gone, which does not exist"), std::string::npos) << below.output;
    std::ofstream(dir + "/text.txt") << "a small text to learn\n";
    const CliResult lm = run_cli({"lm-train", "--text", dir + "/text.txt", "--out", dir + "/dangling"});
    EXPECT_EQ(lm.status, 2) << lm.output;
    EXPECT_NE(lm.output.find("--out " + dir + "/dangling is a symbolic link to " + dir + "/gone"), std::string::npos)
        << lm.output;

    const std::string out = dir + "/run";
    ASSERT_EQ(run_cli(tiny_train(out, 1)).status, 0);
    const std::string last = out + "/last.safetensors";
    fs::rename(last, out + "/kept.safetensors");
    fs::create_symlink("last.safetensors", last);  // itself
    const CliResult loop = run_cli(tiny_resume(out, 2));
    EXPECT_EQ(loop.status, 2) << loop.output;
    EXPECT_NE(loop.output.find("--resume: " + last + " is a symbolic link to last.safetensors, one of a loop of links "
                               "that leads nowhere"), std::string::npos) << loop.output;
    EXPECT_EQ(loop.output.find("windows: "), std::string::npos) << "refused before the data loads\n" << loop.output;

    fs::remove(last);
    fs::rename(out + "/kept.safetensors", last);
    auto sgd = tiny_resume(out, 2);
    sgd.insert(sgd.end(), {"--optimizer", "sgd"});
    const CliResult other = run_cli(sgd);
    EXPECT_EQ(other.status, 2) << other.output;
    EXPECT_NE(other.output.find("--resume: " + last + ": checkpoint was trained with --optimizer adam, this run has "
                                "sgd: resume with the same optimizer flags"), std::string::npos) << other.output;
    EXPECT_EQ(other.output.find("windows: "), std::string::npos) << "refused before the data loads\n" << other.output;
}

// The early resume check (seed, schedule, optimizer: before the data loads) refuses a hand-edited count as damage, not
// as a flag that differs (QA's recheck: "trained with --batch -2147483648"); a flag that differs beside a data flag
// that only says the stations again is said once, and synthetic data "generated otherwise", not "files changed".
TEST(Cli, EarlyResumeChecksTellDamageFromAnotherFlag) {
    const std::string dir = testing::temp_dir();
    const std::string out = dir + "/run";
    ASSERT_EQ(run_cli(tiny_train(out, 1)).status, 0);
    const std::string last = out + "/last.safetensors";
    const std::string kept = testing::read_file_bytes(last);
    fusedrnn::SafetensorsFile f = fusedrnn::read_safetensors(last);
    nlohmann::json extra = nlohmann::json::parse(f.metadata.at("fusedrnn.extra"));
    extra["trainer"]["batch"] = 1e30;
    f.metadata["fusedrnn.extra"] = extra.dump();
    f.metadata.erase("fusedrnn.metadata_checksum");  // an edit on purpose: judged by the checks
    fusedrnn::write_safetensors(last, f);
    const CliResult damaged = run_cli(tiny_resume(out, 2));
    EXPECT_EQ(damaged.status, 2) << damaged.output;
    EXPECT_NE(damaged.output.find("--resume: " + last + " is damaged: its trainer.batch"), std::string::npos)
        << damaged.output;
    EXPECT_EQ(damaged.output.find("was trained with --batch"), std::string::npos) << damaged.output;
    EXPECT_EQ(damaged.output.find("windows: "), std::string::npos) << "refused before the data loads\n"
                                                                  << damaged.output;

    std::ofstream(last, std::ios::binary | std::ios::trunc) << kept;
    auto other = tiny_resume(out, 2);
    *(std::find(other.begin(), other.end(), "--synthetic-stations") + 1) = "4";
    other.insert(other.end(), {"--synthetic-seed", "2"});
    const CliResult both = run_cli(other);
    EXPECT_EQ(both.status, 2) << both.output;
    EXPECT_NE(both.output.find("(stations: 3 saved, 4 now; data flags: seed: 0 saved, 2 now)"), std::string::npos)
        << both.output;
    other = tiny_resume(out, 2);
    other.insert(other.end(), {"--synthetic-seed", "2"});
    const CliResult seed = run_cli(other);
    EXPECT_EQ(seed.status, 2) << seed.output;
    EXPECT_NE(seed.output.find("now): the synthetic stations were generated otherwise; data flags: seed: 0 saved, 2 "
                               "now)"), std::string::npos) << seed.output;
}

// A truncated last.safetensors is refused on --resume before the data loads (QA: after loading it all and printing the
// model and plan), with the way on the non-resume path gives for a damaged run folder: --overwrite.
TEST(Cli, ResumingADamagedCheckpointIsRefusedBeforeTheDataLoads) {
    const std::string out = testing::temp_dir() + "/cut";
    ASSERT_EQ(run_cli(tiny_train(out, 1)).status, 0);
    const std::string last = out + "/last.safetensors";
    const std::string bytes = testing::read_file_bytes(last);
    std::ofstream(last, std::ios::binary | std::ios::trunc) << bytes.substr(0, bytes.size() / 2);
    auto args = tiny_train(out, 2);
    args.push_back("--resume");
    const CliResult r = run_cli(args);
    EXPECT_EQ(r.status, 2) << r.output;
    EXPECT_NE(r.output.find("--resume: " + last + " cannot be read ("), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("so the run cannot go on from it. Keep it for a look"), std::string::npos) << r.output;
    // The data's summary ("windows: ...") is not printed: the data was never read.
    EXPECT_EQ(r.output.find("windows: "), std::string::npos) << "refused before the data loads\n" << r.output;
}

// A resume compares the data's values, not only the training split's statistics: a value changed in the validation
// years (QA: a corrected file) would have had later epochs validated on other data than the earlier ones.
TEST(Cli, ResumeOnChangedValuesIsRefused) {
    const std::string dir = testing::temp_dir(), data = dir + "/stations", out = dir + "/run";
    ASSERT_EQ(run_cli({"data", "synth", "--stations", "2", "--years", "3", "--start-year", "2021", "--out", data})
                  .status, 0);
    auto args = tiny_train(out, 1, data);
    for (const char* a : {"--split", "years:2021,2022,2023"}) args.push_back(a);
    ASSERT_EQ(run_cli(args).status, 0);
    args[std::find(args.begin(), args.end(), "--epochs") - args.begin() + 1] = "2";
    args.push_back("--resume");
    const std::string file = data + "/SYN00001.csv", original = testing::read_file_bytes(file);
    const size_t at = original.find("\n2022-06-01 00:00:00,");
    ASSERT_NE(at, std::string::npos);
    std::string edited = original;
    const size_t value = at + std::string("\n2022-06-01 00:00:00,").size();
    edited.replace(value, edited.find(',', value) - value, "39.9");  // TMP of a validation hour
    { std::ofstream(file, std::ios::binary) << edited; }
    const std::string before = testing::read_file_bytes(out + "/last.safetensors");
    const CliResult r = run_cli(args);
    EXPECT_EQ(r.status, 2) << r.output;
    EXPECT_NE(r.output.find("the data's values or station ids differ from those it trained on (checksum "),
              std::string::npos) << r.output;
    EXPECT_EQ(testing::read_file_bytes(out + "/last.safetensors"), before);
    { std::ofstream(file, std::ios::binary) << original; }  // as it was: the run goes on
    const CliResult again = run_cli(args);
    EXPECT_EQ(again.status, 0) << again.output;
}

// A station more is named as such when a resume is refused, ahead of the data flags that differ (QA: a renamed folder
// with a station more named only the path, which alone refuses no resume; in the same folder, the statistics' counts).
TEST(Cli, ResumeOnAnotherStationSetNamesTheStations) {
    const std::string dir = testing::temp_dir(), data = dir + "/stations", moved = dir + "/moved", out = dir + "/run";
    ASSERT_EQ(run_cli({"data", "synth", "--stations", "2", "--years", "3", "--start-year", "2021", "--out", data})
                  .status, 0);
    auto args = tiny_train(out, 1, data);
    for (const char* a : {"--split", "years:2021,2022,2023"}) args.push_back(a);
    ASSERT_EQ(run_cli(args).status, 0);
    std::filesystem::rename(data, moved);
    std::filesystem::copy_file(moved + "/SYN00000.csv", moved + "/SYN00009.csv");
    auto resumed = tiny_train(out, 2, moved);
    for (const char* a : {"--split", "years:2021,2022,2023", "--resume"}) resumed.push_back(a);
    const CliResult r = run_cli(resumed);
    EXPECT_EQ(r.status, 2) << r.output;
    EXPECT_NE(r.output.find("(stations: 2 saved, 3 now; data flags: path: \"" + data + "\" saved, \"" + moved +
                            "\" now)"), std::string::npos) << r.output;
    // As many stations, one of them renamed: the checksum, not the statistics' last digits (QA's recheck).
    std::filesystem::remove(moved + "/SYN00009.csv");
    std::filesystem::rename(moved + "/SYN00001.csv", moved + "/AAA.csv");
    const CliResult renamed = run_cli(resumed);
    EXPECT_EQ(renamed.status, 2) << renamed.output;
    EXPECT_NE(renamed.output.find("(the data's values or station ids differ from those it trained on (checksum "),
              std::string::npos) << renamed.output;
    EXPECT_EQ(renamed.output.find("(normalization: "), std::string::npos) << renamed.output;
}

// What every later epoch's batches depend on, the batch size and --max-batches, cannot change on resume at an epoch's
// end either (QA: accepted without a word; an interrupted epoch's were checked); a longer --lr-cosine run says how
// it moves the rate.
TEST(Cli, ResumeKeepsTheBatchesAndSaysHowTheCosineStretches) {
    const std::string out = testing::temp_dir() + "/run";
    auto args = tiny_train(out, 2);
    args.push_back("--lr-cosine");
    ASSERT_EQ(run_cli(args).status, 0);
    const auto value_of = [](std::vector<std::string> a, const std::string& flag, const std::string& v) {
        a[size_t(std::find(a.begin(), a.end(), flag) - a.begin() + 1)] = v;
        a.push_back("--resume");
        return a;
    };
    const std::string before = testing::read_file_bytes(out + "/last.safetensors");
    const CliResult batch = run_cli(value_of(value_of(args, "--epochs", "3"), "--batch", "32"));
    EXPECT_EQ(batch.status, 2) << batch.output;
    EXPECT_NE(batch.output.find("was trained with --batch 64, this run asks for 32: every later epoch's batches "
                                "depend on it"), std::string::npos) << batch.output;
    const CliResult length = run_cli(value_of(value_of(args, "--epochs", "3"), "--max-batches", "6"));
    EXPECT_EQ(length.status, 2) << length.output;
    EXPECT_NE(length.output.find("was trained with --max-batches 3, this run asks for --max-batches 6"),
              std::string::npos) << length.output;
    EXPECT_EQ(testing::read_file_bytes(out + "/last.safetensors"), before);
    const CliResult longer = run_cli(value_of(args, "--epochs", "4"));
    ASSERT_EQ(longer.status, 0) << longer.output;
    EXPECT_NE(longer.output.find("--resume: --lr-cosine now runs to the end of epoch 4 (the run's curve ended at "
                                 "epoch 2): the rate goes on from 0.0005 at the next step"), std::string::npos)
        << longer.output;
}

// Early stopping: with a rate too small to move a weight (1e-30) the validation loss never improves after epoch 1,
// so --patience 2 stops after epoch 3, also when the run was stopped after epoch 2 and resumed (the epochs without
// improvement are carried over). Mutation testing: `>` for `>=`, or the count reset on resume, passed every test.
TEST(Cli, EarlyStoppingStopsAfterPatienceEpochsAlsoAcrossAResume) {
    const std::string dir = testing::temp_dir();
    const auto run = [&](const std::string& out, int epochs, bool resume, const char* patience = "2") {
        auto a = tiny_train(out, epochs);
        a[size_t(std::find(a.begin(), a.end(), "--patience") - a.begin() + 1)] = patience;
        a.insert(a.end(), {"--lr", "1e-30"});
        if (resume) a.push_back("--resume");
        return run_cli(a);
    };
    const auto epochs_in = [](const std::string& out) {
        return nlohmann::json::parse(testing::read_file_bytes(out + "/metrics.json")).at("epochs").get<size_t>();
    };
    const CliResult whole = run(dir + "/whole", 10, false);
    ASSERT_EQ(whole.status, 0) << whole.output;
    EXPECT_NE(whole.output.find("early stop: validation loss has not improved for 2 epochs"), std::string::npos)
        << whole.output;
    EXPECT_EQ(epochs_in(dir + "/whole"), 3u);
    ASSERT_EQ(run(dir + "/split", 2, false).status, 0);
    const CliResult resumed = run(dir + "/split", 10, true);
    ASSERT_EQ(resumed.status, 0) << resumed.output;
    EXPECT_EQ(epochs_in(dir + "/split"), 3u) << resumed.output;
    // One epoch is said as one (QA: "1 epochs"), stopping and on a resume of the stopped run.
    const CliResult one = run(dir + "/one", 10, false, "1");
    ASSERT_EQ(one.status, 0) << one.output;
    EXPECT_NE(one.output.find("early stop: validation loss has not improved for 1 epoch (best"), std::string::npos)
        << one.output;
    const CliResult again = run(dir + "/one", 10, true, "1");
    ASSERT_EQ(again.status, 0) << again.output;
    EXPECT_NE(again.output.find("the run had stopped early (1 epoch without improvement, --patience 1)"),
              std::string::npos) << again.output;
}

// Flags that cannot act as given say so: a plateau factor without a plateau, a plateau early stopping always comes
// before, dropout on one layer (recorded as 0, so a resume without the flag is the same run); eval refuses an empty
// output name rather than write nothing.
TEST(Cli, FlagsThatCannotActSaySo) {
    const std::string dir = testing::temp_dir();
    auto train_with = [&](const std::string& out, std::vector<std::string> flags) {
        auto a = tiny_train(out, 1);
        for (size_t i = 0; i < flags.size(); i += 2) {  // flag-value pairs; tiny_train's own flags take the value
            const auto it = std::find(a.begin(), a.end(), flags[i]);
            if (it != a.end()) *(it + 1) = flags[i + 1];
            else a.insert(a.end(), {flags[i], flags[i + 1]});
        }
        return run_cli(a);
    };
    const CliResult factor = train_with(dir + "/a", {"--lr-plateau-factor", "0.2"});
    ASSERT_EQ(factor.status, 0) << factor.output;
    EXPECT_NE(factor.output.find("warning: --lr-plateau-factor 0.2 does nothing without --lr-plateau"),
              std::string::npos) << factor.output;
    const CliResult plateau = train_with(dir + "/b", {"--lr-plateau", "3", "--patience", "3"});
    ASSERT_EQ(plateau.status, 0) << plateau.output;
    EXPECT_NE(plateau.output.find("warning: --lr-plateau 3 never acts: early stopping ends the run after --patience 3 "
                                  "epochs without improvement"), std::string::npos) << plateau.output;
    const CliResult fine = train_with(dir + "/c", {"--lr-plateau", "2", "--patience", "3"});
    ASSERT_EQ(fine.status, 0) << fine.output;
    EXPECT_EQ(fine.output.find("never acts"), std::string::npos) << fine.output;
    auto one_step = tiny_train(dir + "/e", 1);
    one_step.erase(std::find(one_step.begin(), one_step.end(), "--max-batches"),
                   std::find(one_step.begin(), one_step.end(), "--max-batches") + 2);
    one_step.insert(one_step.end(), {"--lr-plateau", "1", "--steps-per-epoch", "1"});
    const CliResult single = run_cli(one_step);
    ASSERT_EQ(single.status, 0) << single.output;
    EXPECT_NE(single.output.find(" after 1 epoch without improvement, "), std::string::npos) << single.output;
    EXPECT_NE(single.output.find(" of 1 step,"), std::string::npos) << single.output;  // QA: "1 epochs", "1 steps"
    const CliResult one = train_with(dir + "/d", {"--dropout", "0.3"});
    ASSERT_EQ(one.status, 0) << one.output;
    const auto m = nlohmann::json::parse(testing::read_file_bytes(dir + "/d/metrics.json"));
    EXPECT_EQ(m.at("model").value("dropout", 0.0), 0.0);  // as a model without dropout: no key
    auto resumed = tiny_train(dir + "/d", 2);
    resumed.push_back("--resume");
    const CliResult without = run_cli(resumed);
    EXPECT_EQ(without.status, 0) << without.output;
    auto hidden = tiny_train(dir + "/e", 1);
    hidden[size_t(std::find(hidden.begin(), hidden.end(), "--hidden") - hidden.begin() + 1)] = "2000000000";
    const CliResult huge = run_cli(hidden);
    EXPECT_EQ(huge.status, 2) << huge.output;
    EXPECT_NE(huge.output.find("--hidden 2000000000 is beyond this engine's limit of 16777216 units"),
              std::string::npos) << huge.output;
    EXPECT_EQ(huge.output.find("data: "), std::string::npos) << huge.output;
    const CliResult adamw = train_with(dir + "/f", {"--optimizer", "adamw", "--weight-decay", "2000"});
    EXPECT_EQ(adamw.status, 2) << adamw.output;
    EXPECT_NE(adamw.output.find("--lr 0.001 x --weight-decay 2000 = 2: adamw scales the weights"), std::string::npos)
        << adamw.output;
    for (const char* flag : {"--json", "--forecasts", "--per-station", "--plot"}) {
        const CliResult e = run_cli({"eval", "--checkpoint", dir + "/a/best.safetensors", flag, ""});
        EXPECT_EQ(e.status, 2) << e.output;
        EXPECT_NE(e.output.find(std::string(flag) + " needs a file name, got an empty one"), std::string::npos)
            << e.output;
    }
}

// A 0.2 bidirectional forecaster (no "bidirectional_head": its head read the last step's output) still evaluates as
// trained, and a resume of its run is refused by name rather than as "a different model" no flag could match.
TEST(Cli, ABidirectionalRunOf02EvaluatesButDoesNotResume) {
    const std::string dir = testing::temp_dir() + "/old", out = dir + "/run";
    auto args = tiny_train(out, 1);
    args.push_back("--bidirectional");
    ASSERT_EQ(run_cli(args).status, 0);
    for (const char* name : {"/last.safetensors", "/best.safetensors"}) {  // as 0.2 wrote them
        fusedrnn::SafetensorsFile f = fusedrnn::read_safetensors(out + name);
        nlohmann::json model = nlohmann::json::parse(f.metadata.at("fusedrnn.model"));
        ASSERT_EQ(model.at("bidirectional_head"), "final_states");
        model.erase("bidirectional_head");
        f.metadata["fusedrnn.model"] = model.dump();
        f.metadata.erase("fusedrnn.metadata_checksum");
        fusedrnn::write_safetensors(out + name, f);
    }
    const CliResult e = run_cli({"eval", "--checkpoint", out + "/best.safetensors", "--max-windows", "16"});
    EXPECT_EQ(e.status, 0) << e.output;
    args[std::find(args.begin(), args.end(), "--epochs") - args.begin() + 1] = "2";
    args.push_back("--resume");
    const CliResult r = run_cli(args);
    EXPECT_EQ(r.status, 2) << r.output;
    EXPECT_NE(r.output.find("was trained by fusedrnn 0.2, whose bidirectional forecaster's head read the last step's "
                            "output"), std::string::npos) << r.output;
}

// data inspect shows station names whole (NOAA LCD's run to 80 characters; they were cut at 28).
TEST(Cli, InspectShowsWholeStationNames) {
    const std::string dir = testing::temp_dir() + "/named";
    fs::create_directories(dir);
    const std::string name = "A Station Whose Name Runs Well Past Twenty-Eight Characters";
    {
        std::ofstream f(dir + "/PRSA_Data_Long_20130301-20170228.csv");
        f << "\"No\",\"year\",\"month\",\"day\",\"hour\",\"PM2.5\",\"PM10\",\"SO2\",\"NO2\",\"CO\",\"O3\",\"TEMP\","
             "\"PRES\",\"DEWP\",\"RAIN\",\"wd\",\"WSPM\",\"station\"\n";
        for (int h = 0; h < 48; ++h)
            f << fmt::format("{},2013,3,{},{},4,4,4,7,300,77,{:.1f},1023,-18.8,0,\"NNW\",4.4,\"{}\"\n", h + 1,
                             1 + h / 24, h % 24, -0.7 + 0.1 * h, name);
    }
    const CliResult i = run_cli({"data", "inspect", "--data", dir});
    ASSERT_EQ(i.status, 0) << i.output;
    EXPECT_NE(i.output.find("PRSA_Data_Long_20130301-20170228 " + name + "       48  2013-02-28"), std::string::npos) << i.output;
}

// Under a table of ten stations or more, the shares summed up: each variable's median station and lowest, and whose
// (QA: 1,000 stations, 1,000 lines and no overview); a short table is its own.
TEST(Cli, InspectSumsUpTheSharesOfManyStations) {
    const CliResult many = run_cli({"data", "inspect", "--synthetic-stations", "12", "--synthetic-years", "1"});
    ASSERT_EQ(many.status, 0) << many.output;
    EXPECT_TRUE(std::regex_search(many.output, std::regex(R"(\nmedian of 12 stations +( +\d+\.\d%){5}\n)")))
        << many.output;
    EXPECT_TRUE(std::regex_search(many.output, std::regex(R"(\nlowest +( +\d+\.\d%){5}   \(SYN000\d\d\)\n)")))
        << many.output;  // one station lowest in every variable here
    const CliResult few = run_cli({"data", "inspect", "--synthetic-stations", "3", "--synthetic-years", "1"});
    ASSERT_EQ(few.status, 0) << few.output;
    EXPECT_EQ(few.output.find("median of"), std::string::npos) << few.output;
}

// data inspect names values absurdly far from the rest of their variable (a 3e38 typed into a file), which no reader
// check catches where the variable has no valid range, before a run trains on statistics they set.
TEST(Cli, InspectNamesValuesFarFromTheRest) {
    const std::string dir = testing::temp_dir() + "/far";
    fs::create_directories(dir);
    {
        std::ofstream f(dir + "/S1.csv");
        f << "DATE,TMP,RH\n";
        for (int h = 0; h < 200; ++h)
            f << fmt::format("2014-01-{:02d} {:02d}:00:00,{},{}\n", 1 + h / 24, h % 24,
                             h == 100 ? "3e38" : std::to_string(4 + h % 7), 50 + h % 20);
    }
    const std::vector<std::string> inspect = {"data", "inspect", "--data", dir, "--format", "csv"};
    const CliResult i = run_cli(inspect);
    ASSERT_EQ(i.status, 0) << i.output;
    EXPECT_NE(i.output.find("values absurdly far from the rest (more than 100 interquartile widths beyond the "
                            "quartiles): 1 value"), std::string::npos) << i.output;
    EXPECT_NE(i.output.find("  TMP                1 outside"), std::string::npos) << i.output;
    // With the file and line to correct (line 102: the header, then hours 0..100).
    EXPECT_NE(i.output.find("it: 3e+38 at station S1 at 2014-01-05 04:00:00 (" + dir + "/S1.csv:102)"),
              std::string::npos) << i.output;
    EXPECT_EQ(i.output.find("\n  RH "), std::string::npos) << i.output;  // no far row of its own
    // Masked by a range, it is no longer there to find.
    const CliResult masked = run_cli(testing::with(inspect, {"--valid-range", "TMP=-50:60"}));
    ASSERT_EQ(masked.status, 0) << masked.output;
    EXPECT_EQ(masked.output.find("absurdly far"), std::string::npos) << masked.output;
}

// data inspect's shares stand under their variable's name however long it is (QA: past 9 characters they slid left).
TEST(Cli, InspectAlignsSharesUnderLongVariableNames) {
    const std::string dir = testing::temp_dir();
    {
        std::ofstream f(dir + "/S1.csv");
        f << "DATE,temperature_celsius_2m,RH\n";
        for (int h = 0; h < 48; ++h) f << fmt::format("2014-01-{:02d} {:02d}:00:00,{},{}\n", 1 + h / 24, h % 24, h, 50);
    }
    const CliResult i = run_cli({"data", "inspect", "--data", dir, "--format", "csv"});
    ASSERT_EQ(i.status, 0) << i.output;
    const size_t header = i.output.find("\nid ");
    ASSERT_NE(header, std::string::npos) << i.output;
    const size_t row = i.output.find("\nS1 ", header);
    ASSERT_NE(row, std::string::npos) << i.output;
    const size_t name_end = i.output.find("temperature_celsius_2m", header) + 22 - header;
    const size_t share_end = i.output.find("100%", row) + 4 - row;
    EXPECT_EQ(name_end, share_end) << i.output;
}

TEST(Cli, SyntheticStationFilesReadBack) {
    const std::string dir = testing::temp_dir() + "/stations";
    const CliResult s = run_cli({"data", "synth", "--stations", "2", "--years", "3", "--out", dir});
    ASSERT_EQ(s.status, 0) << s.output;
    // An --out that cannot be one is refused before anything is generated, as data export refuses it.
    const CliResult file = run_cli({"data", "synth", "--stations", "2", "--years", "3", "--out", dir + "/SYN00000.csv"});
    EXPECT_NE(file.output.find("--out " + dir + "/SYN00000.csv is a file, not a folder"), std::string::npos)
        << file.output;
    EXPECT_EQ(file.output.find("generating"), std::string::npos) << file.output;
    const CliResult i = run_cli({"data", "inspect", "--data", dir});
    ASSERT_EQ(i.status, 0) << i.output;
    EXPECT_NE(i.output.find("2 stations"), std::string::npos) << i.output;
    // The synthetic gaps leave every column short of complete: shown as such ("99.0%"), never rounded up to 100%.
    const size_t row = i.output.find("\nSYN00000");
    ASSERT_NE(row, std::string::npos) << i.output;
    const std::string line = i.output.substr(row + 1, i.output.find('\n', row + 1) - row - 1);
    EXPECT_TRUE(std::regex_search(line, std::regex(R"( 9\d\.\d% )"))) << line;
    EXPECT_EQ(line.find("100%"), std::string::npos) << line;
    // Synthetic stations have no name of their own (it would repeat the id): no name column.
    EXPECT_NE(i.output.find("\nid                   rows  first"), std::string::npos) << i.output;
    const std::string out = testing::temp_dir() + "/run";
    const CliResult t = run_cli({"train", "--data", dir, "--hidden", "8", "--input-len", "12", "--horizon", "4",
                                 "--batch", "64", "--max-batches", "2", "--epochs", "1", "--eval-windows", "200",
                                 "--backend", "cpu", "--out", out});
    ASSERT_EQ(t.status, 0) << t.output;
    EXPECT_NE(t.output.find("weather5k"), std::string::npos) << t.output;  // detected as WEATHER-5K CSV
    const auto m = nlohmann::json::parse(testing::read_file_bytes(out + "/metrics.json"));
    EXPECT_EQ(m.at("data").at("format"), "weather5k");  // recorded as read, not as "auto"
    // A file that cannot be written (a folder in its place) fails the command, saying how much of the set the folder
    // holds now, and leaves no temp file.
    const std::string part = testing::temp_dir() + "/part";
    fs::create_directories(part + "/SYN00003.csv");
    const CliResult bad = run_cli({"data", "synth", "--stations", "5", "--years", "1", "--out", part, "--overwrite"});
    EXPECT_EQ(bad.status, 2) << bad.output;
    // (3 or 4: a station not begun when one fails is not written)
    EXPECT_NE(bad.output.find("SYN00003.csv: Is a directory ("), std::string::npos) << bad.output;
    EXPECT_TRUE(std::regex_search(bad.output, std::regex("\\([34] of the 5 station files were written to .* before "
                                                         "it: the folder holds part of the set\\)"))) << bad.output;
    for (const auto& e : fs::directory_iterator(part))
        EXPECT_EQ(e.path().filename().string().find(".tmp."), std::string::npos) << e.path();
}

// `data export`: station files of another format become plain CSV files that read back as the same series (gaps as
// empty cells on the grid, floats exactly), with the time columns on request (local solar time from the longitude);
// and it refuses to write over the files it reads.
TEST(Cli, DataExportWritesWhatItReads) {
    const std::string dir = testing::temp_dir() + "/isd";
    fs::create_directories(dir);
    std::ofstream(dir + "/071690-99999-2017") << "2017 01 01 00   -32   -37 10280     0     0     9     0 -9999\n"
                                                 "2017 01 01 01   -30 -9999 -9999   250    31 -9999 -9999 -9999\n"
                                                 "2017 01 01 04    15    -2 10120   360   102     9     0     3\n";
    std::ofstream(dir + "/isd-history.csv")
        << "\"USAF\",\"WBAN\",\"STATION NAME\",\"CTRY\",\"STATE\",\"ICAO\",\"LAT\",\"LON\",\"ELEV(M)\",\"BEGIN\",\"END\"\n"
           "\"071690\",\"99999\",\"ROBINSON\",\"FR\",\"\",\"\",\"+48.767\",\"+002.200\",\"+0178.0\",\"1973\",\"2017\"\n";
    const std::string plain = testing::temp_dir() + "/plain", timed = testing::temp_dir() + "/timed";
    const CliResult e = run_cli({"data", "export", "--data", dir, "--out", plain});
    ASSERT_EQ(e.status, 0) << e.output;
    EXPECT_NE(e.output.find("wrote 1 station file to"), std::string::npos) << e.output;
    EXPECT_EQ(e.output.find("their times are"), std::string::npos) << "UTC, as csv reads them\n" << e.output;
    // LCD files keep local standard time, which csv would take for UTC: said (QA: eval and predict said UTC).
    const std::string lcd = testing::temp_dir() + "/lcd";
    fs::create_directories(lcd);
    std::ofstream(lcd + "/722590.csv") << "DATE,HourlyDewPointTemperature,HourlyDryBulbTemperature,"
                                          "HourlyRelativeHumidity\n2012-01-01 00:53:00,30,53,41.0\n"
                                          "2012-01-01 01:53:00,32,50,50.0\n";
    const CliResult l = run_cli({"data", "export", "--data", lcd, "--out", testing::temp_dir() + "/lcd_csv"});
    ASSERT_EQ(l.status, 0) << l.output;
    EXPECT_NE(l.output.find("their times are local standard time, as noaa-lcd files give it (no UTC offset stated): "
                            "read back with --format csv they are taken as UTC unless --csv-utc-offset H"),
              std::string::npos) << l.output;
    const std::string csv = testing::read_file_bytes(plain + "/071690-99999.csv");
    EXPECT_EQ(csv, "DATE,TMP,DEW,WND_ANGLE,WND_RATE,SLP\n"
                   "2017-01-01 00:00:00,-3.2,-3.7,0,0,1028\n"
                   "2017-01-01 01:00:00,-3,,250,3.1,\n"
                   "2017-01-01 02:00:00,,,,,\n"  // no report at 02 h and 03 h: empty cells on the grid
                   "2017-01-01 03:00:00,,,,,\n"
                   "2017-01-01 04:00:00,1.5,-0.2,360,10.2,1012\n");
    // Read back as generic CSV and exported again: the same bytes.
    const std::string again = testing::temp_dir() + "/again";
    const CliResult a = run_cli({"data", "export", "--data", plain, "--format", "csv", "--out", again});
    ASSERT_EQ(a.status, 0) << a.output;
    EXPECT_EQ(testing::read_file_bytes(again + "/071690-99999.csv"), csv);
    // Over an earlier export (perhaps edited since, QA: a column added by hand was lost): only with --overwrite.
    std::ofstream(again + "/071690-99999.csv", std::ios::app) << "edited\n";
    const CliResult over_export = run_cli({"data", "export", "--data", plain, "--format", "csv", "--out", again});
    EXPECT_EQ(over_export.status, 2) << over_export.output;
    EXPECT_NE(over_export.output.find("--out " + again + " already holds 1 of the station files this writes (e.g. "
                                      "071690-99999.csv): add --overwrite to replace them"), std::string::npos)
        << over_export.output;
    EXPECT_EQ(testing::read_file_bytes(again + "/071690-99999.csv"), csv + "edited\n");
    ASSERT_EQ(run_cli({"data", "export", "--data", plain, "--format", "csv", "--out", again, "--overwrite"}).status, 0);
    EXPECT_EQ(testing::read_file_bytes(again + "/071690-99999.csv"), csv);

    const CliResult t = run_cli({"data", "export", "--data", dir, "--out", timed, "--time-columns"});
    ASSERT_EQ(t.status, 0) << t.output;
    EXPECT_NE(t.output.find("--targets TMP,DEW,WND_ANGLE,WND_RATE,SLP"), std::string::npos) << t.output;
    std::istringstream lines(testing::read_file_bytes(timed + "/071690-99999.csv"));
    std::string header, row0, row1;
    std::getline(lines, header);
    std::getline(lines, row0);
    std::getline(lines, row1);
    EXPECT_EQ(header, "DATE,TMP,DEW,WND_ANGLE,WND_RATE,SLP,HOUR_SIN,HOUR_COS,DOY_SIN,DOY_COS");
    const double solar = 2 * M_PI * (1 + 2.2 / 15) / 24;  // 01 h UTC at 2.2 degrees east
    const double day = 2 * M_PI * 3600 / (365 * 86400.0);
    EXPECT_EQ(row1, fmt::format("2017-01-01 01:00:00,-3,,250,3.1,,{:.6f},{:.6f},{:.6f},{:.6f}", std::sin(solar),
                                std::cos(solar), std::sin(day), std::cos(day)));
    EXPECT_EQ(row0.substr(0, 39), "2017-01-01 00:00:00,-3.2,-3.7,0,0,1028,");
    const CliResult twice = run_cli({"data", "export", "--data", timed, "--format", "csv", "--out", again, "--time-columns"});
    EXPECT_NE(twice.status, 0);
    EXPECT_NE(twice.output.find("already has a HOUR_SIN column"), std::string::npos) << twice.output;

    // Never over the data being read.
    const CliResult over = run_cli({"data", "export", "--data", plain, "--format", "csv", "--out", plain + "/."});
    EXPECT_NE(over.status, 0);
    EXPECT_NE(over.output.find("is where the data is read from"), std::string::npos) << over.output;
    EXPECT_EQ(testing::read_file_bytes(plain + "/071690-99999.csv"), csv);
    // An --out that cannot be a folder is refused before the data is read (which may take minutes).
    const std::string a_file = timed + "/071690-99999.csv";
    for (const std::string& bad : {a_file, a_file + "/sub"}) {
        const CliResult f = run_cli({"data", "export", "--data", plain, "--format", "csv", "--out", bad});
        EXPECT_NE(f.status, 0);
        const std::string said = bad == a_file ? "--out " + bad + " is a file, not a folder"
                                               : "--out " + bad + ": " + a_file + " is a file, not a folder";
        EXPECT_NE(f.output.find(said), std::string::npos) << f.output;
        EXPECT_EQ(f.output.find("data: "), std::string::npos) << f.output;  // nothing read
    }

    // Without --data, the synthetic stations, whose longitudes are known: every HOUR column in local solar time.
    const std::string synthetic = testing::temp_dir() + "/synthetic";
    const CliResult syn = run_cli({"data", "export", "--synthetic-stations", "2", "--out", synthetic, "--time-columns"});
    ASSERT_EQ(syn.status, 0) << syn.output;
    EXPECT_NE(syn.output.find("wrote 2 station files"), std::string::npos) << syn.output;
    EXPECT_EQ(syn.output.find("no known longitude"), std::string::npos) << syn.output;
}

// WEATHER-5K files with a MASK column: the filled-in values are reported, and --drop-filled masks them for
// training and (remembered by the checkpoint) for eval.
TEST(Cli, Weather5kFilledValuesReportedOrDropped) {
    const std::string dir = testing::temp_dir() + "/w5k";
    fs::create_directories(dir);
    for (const char* station : {"A", "B"}) {
        std::ofstream f(dir + "/" + station + ".csv");
        f << "DATE,TMP,DEW,WND_ANGLE,WND_RATE,SLP,MASK\n";
        for (int h = 0; h < 24 * 59; ++h) {  // January and February 2014
            const double phase = 2 * M_PI * (h % 24) / 24.0;
            f << fmt::format("2014-{:02d}-{:02d} {:02d}:00:00,{:.2f},{:.2f},{},{:.1f},{:.1f},[{} 1 1 1 1]\n",
                             h < 31 * 24 ? 1 : 2, 1 + (h < 31 * 24 ? h / 24 : h / 24 - 31), h % 24,
                             5 + 4 * std::sin(phase), 1 + 3 * std::sin(phase), 180 + h % 90, 3 + std::cos(phase),
                             1010 + std::sin(h * 0.01), h % 50 == 7 ? 0 : 1);  // every 50th temperature filled in
        }
    }
    const CliResult i = run_cli({"data", "inspect", "--data", dir});
    ASSERT_EQ(i.status, 0) << i.output;
    EXPECT_NE(i.output.find("58 filled-in values (the file's mask) read as data"), std::string::npos) << i.output;
    const std::string out = testing::temp_dir() + "/run";
    const CliResult t = run_cli({"train", "--data", dir, "--drop-filled", "--split", "fraction:0.6,0.2",
                                 "--hidden", "4", "--input-len", "12", "--horizon", "3", "--batch", "32",
                                 "--max-batches", "2", "--epochs", "1", "--backend", "cpu", "--out", out});
    ASSERT_EQ(t.status, 0) << t.output;
    EXPECT_NE(t.output.find("58 filled-in values (the file's mask) masked as missing"), std::string::npos) << t.output;
    const CliResult e = run_cli({"eval", "--checkpoint", out + "/best.safetensors", "--backend", "cpu"});
    ASSERT_EQ(e.status, 0) << e.output;
    EXPECT_NE(e.output.find("masked as missing"), std::string::npos) << e.output;
    const CliResult synthetic = run_cli({"train", "--drop-filled", "--out", out + "2"});
    EXPECT_EQ(synthetic.status, 2) << synthetic.output;
    EXPECT_NE(synthetic.output.find("--drop-filled applies to station files"), std::string::npos) << synthetic.output;
    // The other station-file flags too (QA: --max-stations 1 trained on every synthetic station without a word).
    const std::vector<std::pair<std::vector<std::string>, std::string>> file_flags = {
        {{"--max-stations", "1"}, "--max-stations picks among station files: give it with --data"},
        {{"--skip-bad-lines"}, "--skip-bad-lines applies to station files: give it with --data"},
        {{"--format", "jena"}, "--format jena names the layout of station files: give it with --data"}};
    for (const auto& [flags, expect] : file_flags) {
        auto args = tiny_train(out + "3", 1);
        args.insert(args.end(), flags.begin(), flags.end());
        const CliResult r = run_cli(args);
        EXPECT_EQ(r.status, 2) << r.output;
        EXPECT_NE(r.output.find(expect), std::string::npos) << r.output;
    }
    const CliResult inspect = run_cli({"data", "inspect", "--synthetic-stations", "2", "--max-stations", "1"});
    EXPECT_EQ(inspect.status, 2) << inspect.output;
    EXPECT_NE(inspect.output.find("--max-stations picks among station files"), std::string::npos) << inspect.output;
}

// predict --station reads that station's file only (QA: one station's forecast read every file of a large folder):
// another file being unreadable does not matter, and an id no file has is refused before anything is read.
TEST(Cli, PredictForOneStationReadsOnlyItsFile) {
    const std::string dir = testing::temp_dir(), data = dir + "/stations", out = dir + "/run";
    ASSERT_EQ(run_cli({"data", "synth", "--stations", "3", "--years", "3", "--out", data}).status, 0);
    ASSERT_EQ(run_cli(tiny_train(out, 1, data)).status, 0);
    { std::ofstream(data + "/SYN00002.csv", std::ios::app) << "not,a,valid,line\n"; }
    const std::string csv = dir + "/f.csv";
    const CliResult all = run_cli({"predict", "--checkpoint", out + "/best.safetensors", "--out", csv});
    EXPECT_EQ(all.status, 2) << all.output;
    EXPECT_NE(all.output.find("SYN00002.csv"), std::string::npos) << all.output;
    const CliResult one = run_cli({"predict", "--checkpoint", out + "/best.safetensors", "--station", "SYN00001",
                                   "--out", csv});
    ASSERT_EQ(one.status, 0) << one.output;
    EXPECT_NE(one.output.find("1 station"), std::string::npos) << one.output;
    const std::string forecast = testing::read_file_bytes(csv);
    EXPECT_NE(forecast.find("\nSYN00001,"), std::string::npos) << forecast;
    EXPECT_EQ(forecast.find("SYN00000"), std::string::npos) << forecast;
    // Several, comma-separated or repeated.
    for (const auto& flags : {std::vector<std::string>{"--station", "SYN00000,SYN00001"},
                              std::vector<std::string>{"--station", "SYN00000", "--station", "SYN00001"}}) {
        const CliResult two = run_cli(testing::with({"predict", "--checkpoint", out + "/best.safetensors", "--out", csv},
                                                    flags));
        ASSERT_EQ(two.status, 0) << two.output;
        const std::string both = testing::read_file_bytes(csv);
        EXPECT_NE(both.find("\nSYN00000,"), std::string::npos) << both;
        EXPECT_NE(both.find("\nSYN00001,"), std::string::npos) << both;
    }
    // An empty id, or --max-stations beside --station (it would cut a station named), is refused naming the flags.
    const std::string ckpt = out + "/best.safetensors";
    const CliResult empty = run_cli({"predict", "--checkpoint", ckpt, "--station", "SYN00000,,SYN00001", "--out", csv});
    EXPECT_NE(empty.output.find("--station: an empty station id (two commas in a row"), std::string::npos)
        << empty.output;
    const CliResult cut = run_cli({"predict", "--checkpoint", ckpt, "--station", "SYN00001", "--max-stations", "1",
                                   "--out", csv});
    EXPECT_NE(cut.output.find("--station and --max-stations both pick the stations to forecast"), std::string::npos)
        << cut.output;
    // An id holding a comma, typed unquoted, is named with the way to quote it.
    fs::copy_file(data + "/SYN00001.csv", data + "/SYN00001, north.csv");
    const CliResult comma = run_cli({"predict", "--checkpoint", ckpt, "--station", "SYN00001, north", "--out", csv});
    EXPECT_NE(comma.output.find("there is \"SYN00001, north\": a comma separates ids, so name it in double quotes "
                                "(--station '\"SYN00001, north\"')"), std::string::npos)
        << comma.output;
    fs::remove(data + "/SYN00001, north.csv");
    // An id with a space at its ends: typed plainly it is trimmed (and said so); in double quotes it is picked.
    fs::rename(data + "/SYN00001.csv", data + "/ SYN00001 .csv");
    const CliResult plain = run_cli({"predict", "--checkpoint", ckpt, "--station", " SYN00001 ", "--out", csv});
    EXPECT_NE(plain.output.find("there is \" SYN00001 \": an id's spaces at its ends are trimmed unless quoted, so name "
                                "it in double quotes (--station '\" SYN00001 \"')"), std::string::npos) << plain.output;
    const CliResult quoted = run_cli({"predict", "--checkpoint", ckpt, "--station", "\" SYN00001 \"", "--out", csv});
    ASSERT_EQ(quoted.status, 0) << quoted.output;
    EXPECT_NE(testing::read_file_bytes(csv).find("\n SYN00001 ,"), std::string::npos) << testing::read_file_bytes(csv);
    fs::rename(data + "/ SYN00001 .csv", data + "/SYN00001.csv");
    const CliResult unknown = run_cli({"predict", "--checkpoint", out + "/best.safetensors", "--station", "SYN9",
                                       "--out", csv});
    EXPECT_EQ(unknown.status, 2) << unknown.output;
    EXPECT_NE(unknown.output.find("no station \"SYN9\" in \"" + data + "\" (3 stations, e.g. SYN00000)"),
              std::string::npos) << unknown.output;
    EXPECT_EQ(unknown.output.find(" format): "), std::string::npos) << "refused before reading\n" << unknown.output;
}

// Files that do not read in the checkpoint's format get the format they look like only where it reads them: ISD-Lite
// files under a WEATHER-5K model do (under a model of other variables, with why that format does not do); a bad time in files of the model's own csv layout, which look like WEATHER-5K's
// too, is no matter of format (QA: "give --format weather5k", which failed the same way).
TEST(Cli, AnotherFormatIsSuggestedOnlyWhereItReadsTheFiles) {
    const std::string dir = testing::temp_dir(), syn = dir + "/syn", isd = dir + "/isd";
    ASSERT_EQ(run_cli({"data", "synth", "--stations", "2", "--years", "3", "--out", syn}).status, 0);
    const std::string w5k = dir + "/w5k", csv = dir + "/csv";
    ASSERT_EQ(run_cli(tiny_train(w5k, 1, syn)).status, 0);
    auto as_csv = tiny_train(csv, 1, syn);
    as_csv.insert(as_csv.end(), {"--format", "csv"});
    ASSERT_EQ(run_cli(as_csv).status, 0);
    fs::create_directories(isd);
    std::ofstream(isd + "/071690-99999-2017") << "2017 01 01 00   -32   -37 10280     0     0     9     0 -9999\n";
    const CliResult other = run_cli({"eval", "--checkpoint", w5k + "/best.safetensors", "--data", isd});
    EXPECT_EQ(other.status, 2) << other.output;
    EXPECT_NE(other.output.find("(read as weather5k, the format the checkpoint was trained on; they look like "
                                "isd-lite: give --format isd-lite to read them so)"), std::string::npos)
        << other.output;
    // Under a model of other variables (a csv layout of three columns) the format is named with why it does not do.
    const std::string three = dir + "/three";
    auto as_three = tiny_train(three, 1, syn);
    as_three.insert(as_three.end(), {"--format", "csv", "--csv-columns", "TMP,DEW,SLP"});
    ASSERT_EQ(run_cli(as_three).status, 0);
    const CliResult misfit = run_cli({"eval", "--checkpoint", three + "/best.safetensors", "--data", isd});
    EXPECT_EQ(misfit.status, 2) << misfit.output;
    EXPECT_NE(misfit.output.find("(read as csv, the format the checkpoint was trained on; they look like isd-lite, "
                                 "but read so, the data's variables (TMP,DEW,WND_ANGLE,WND_RATE,SLP) are not the "
                                 "checkpoint's (TMP,DEW,SLP); not in the model: WND_ANGLE,WND_RATE)"), std::string::npos)
        << misfit.output;
    std::string text = testing::read_file_bytes(syn + "/SYN00000.csv");
    text[text.find('\n') + 11] = 'T';  // 2021-01-01T00:00:00 on the first data line
    std::ofstream(dir + "/iso.csv") << text;
    const CliResult same = run_cli({"eval", "--checkpoint", csv + "/best.safetensors", "--data", dir + "/iso.csv"});
    EXPECT_EQ(same.status, 2) << same.output;
    EXPECT_NE(same.output.find("does not match the time format"), std::string::npos) << same.output;
    EXPECT_EQ(same.output.find("they look like"), std::string::npos) << same.output;
}

// eval on files other than the training data: times outside the checkpoint's test years are named with a way out
// (--split, --on all), and files that do not read in the checkpoint's format say which format was tried.
TEST(Cli, EvalOnOtherTimesAndOtherFiles) {
    const std::string dir = testing::temp_dir(), trained = dir + "/trained", later = dir + "/later";
    ASSERT_EQ(run_cli({"data", "synth", "--stations", "2", "--years", "3", "--start-year", "2021", "--out", trained})
                  .status, 0);
    ASSERT_EQ(run_cli({"data", "synth", "--stations", "2", "--years", "2", "--start-year", "2030", "--seed", "5",
                       "--out", later}).status, 0);
    const std::string out = dir + "/run", ckpt = out + "/best.safetensors";
    const CliResult t = run_cli({"train", "--data", trained, "--split", "years:2021,2022,2023", "--hidden", "4",
                                 "--input-len", "12", "--horizon", "3", "--batch", "32", "--max-batches", "2",
                                 "--epochs", "1", "--eval-windows", "100", "--backend", "cpu", "--out", out});
    ASSERT_EQ(t.status, 0) << t.output;

    const CliResult none = run_cli({"eval", "--checkpoint", ckpt, "--data", later, "--backend", "cpu"});
    EXPECT_EQ(none.status, 2) << none.output;
    EXPECT_NE(none.output.find("no test windows in this data: test is [2023-01-01 00:00:00, 2024-01-01 00:00:00)"),
              std::string::npos) << none.output;
    EXPECT_NE(none.output.find("give --split to evaluate other times, or --on all"), std::string::npos) << none.output;
    // The stations' own line says why they have no window: their times, not gaps (QA).
    EXPECT_NE(none.output.find(": no split's time range holds a window of its rows"), std::string::npos)
        << none.output;

    const CliResult all = run_cli({"eval", "--checkpoint", ckpt, "--data", later, "--on", "all", "--max-windows",
                                   "300", "--backend", "cpu", "--json", dir + "/all.json"});
    ASSERT_EQ(all.status, 0) << all.output;
    EXPECT_NE(all.output.find("evaluated on 300 of all "), std::string::npos) << all.output;
    EXPECT_EQ(all.output.find("has no valid window"), std::string::npos) << all.output;  // no train/val asked for
    EXPECT_EQ(all.output.find("windows: train 0, val 0, test"), std::string::npos) << all.output;  // one count
    const nlohmann::json all_json = nlohmann::json::parse(testing::read_file_bytes(dir + "/all.json"));
    EXPECT_GT(all_json.at("model").at("mse").get<double>(), 0);
    // The file says what it scored: checkpoint, windows of which split, and data.
    EXPECT_EQ(all_json.at("evaluated").at("checkpoint"), ckpt);
    EXPECT_EQ(all_json.at("evaluated").at("on"), "all");
    EXPECT_EQ(all_json.at("evaluated").at("split"), "years:2021,2022,2023");  // the checkpoint's (QA: "dates:,,,")
    EXPECT_EQ(all_json.at("evaluated").at("windows"), 300);
    EXPECT_EQ(all_json.at("evaluated").at("data").at("path"), later) << all_json.at("evaluated").dump();
    // The architecture, as metrics.json's top-level "model" (eval's "model" is the scores).
    const nlohmann::json trained_metrics = nlohmann::json::parse(testing::read_file_bytes(out + "/metrics.json"));
    EXPECT_EQ(all_json.at("evaluated").at("architecture"), trained_metrics.at("model"));
    EXPECT_TRUE(all_json.at("model").contains("mse")) << all_json.at("model").dump();
    // Those stations have no value in the checkpoint's training years (2021): no thresholds, and the report says so
    // rather than show an unexplained "-" for every score.
    EXPECT_NE(all.output.find("no threshold, so no events: none of the evaluated windows' stations has values in the "
                              "model's training period"), std::string::npos) << all.output;
    // On the training data, --on all (every window in the test split) still takes the thresholds from the
    // checkpoint's training years (QA: it took them from its own, empty, training split, so it counted no event).
    const CliResult own = run_cli({"eval", "--checkpoint", ckpt, "--on", "all", "--max-windows", "2000", "--backend",
                                   "cpu", "--json", dir + "/own.json"});
    ASSERT_EQ(own.status, 0) << own.output;
    EXPECT_EQ(own.output.find("no threshold"), std::string::npos) << own.output;
    const nlohmann::json events =
        nlohmann::json::parse(testing::read_file_bytes(dir + "/own.json")).at("model").at("extreme_events");
    EXPECT_GT(events.at("TMP").at("90").get<long>(), 0) << events.dump();
    // So does --split, whose training range is not the model's (QA: the thresholds were the new range's percentiles):
    // the same test year scored under another training range counts the same events.
    const auto test_events = [&](std::vector<std::string> more) {
        std::vector<std::string> args{"eval", "--checkpoint", ckpt, "--backend", "cpu", "--json", dir + "/t.json"};
        args.insert(args.end(), more.begin(), more.end());
        const CliResult r = run_cli(args);
        EXPECT_EQ(r.status, 0) << r.output;
        return nlohmann::json::parse(testing::read_file_bytes(dir + "/t.json")).at("model").at("extreme_events");
    };
    EXPECT_EQ(test_events({"--split", "dates:2022-01-01,2022-07-01,2023-01-01"}), test_events({}));
    // A station of later years beside the trained ones: its values count in no event, and that is said (QA: only
    // the case of no threshold at all was).
    const std::string mixed = dir + "/mixed";
    fs::create_directories(mixed);
    fs::copy_file(trained + "/SYN00000.csv", mixed + "/SYN00000.csv");
    fs::copy_file(later + "/SYN00000.csv", mixed + "/LATE.csv");
    const CliResult part = run_cli({"eval", "--checkpoint", ckpt, "--data", mixed, "--on", "all", "--max-windows",
                                    "2000", "--backend", "cpu"});
    ASSERT_EQ(part.status, 0) << part.output;
    EXPECT_TRUE(std::regex_search(part.output, std::regex(R"(values with no threshold, counted in no event \(their )"
                                                          R"(stations have none of the variable in the model's )"
                                                          R"(training period\): \d+ of the 6000 values of each variable)")))
        << part.output;
    EXPECT_EQ(own.output.find("counted in no event"), std::string::npos) << own.output;

    const CliResult split = run_cli({"eval", "--checkpoint", ckpt, "--data", later, "--split", "dates:,2030-07-01,2031-01-01",
                                     "--max-windows", "200", "--backend", "cpu"});
    ASSERT_EQ(split.status, 0) << split.output;
    EXPECT_NE(split.output.find("test set: 200 windows"), std::string::npos) << split.output;

    // train's "auto" too (QA: refused, though --help says eval takes train's --split): 70/15/15 of these files' span.
    const CliResult automatic = run_cli({"eval", "--checkpoint", ckpt, "--data", later, "--split", "auto",
                                         "--max-windows", "100", "--backend", "cpu"});
    ASSERT_EQ(automatic.status, 0) << automatic.output;
    EXPECT_NE(automatic.output.find("test set: 100 windows"), std::string::npos) << automatic.output;

    // Only the split scored is counted in the warnings (QA: --on train warned that another split had no window).
    const CliResult train_only = run_cli({"eval", "--checkpoint", ckpt, "--on", "train", "--split",
                                          "years:2021,2022,2024", "--max-windows", "50", "--backend", "cpu"});
    ASSERT_EQ(train_only.status, 0) << train_only.output;
    EXPECT_EQ(train_only.output.find("has no valid window"), std::string::npos) << train_only.output;

    const CliResult both = run_cli({"eval", "--checkpoint", ckpt, "--on", "all", "--split", "weather5k"});
    EXPECT_EQ(both.status, 2) << both.output;
    EXPECT_NE(both.output.find("it takes no --split"), std::string::npos) << both.output;

    // Files of another kind, read in the checkpoint's format (weather5k) because --format was not given.
    const std::string other = dir + "/other";
    fs::create_directories(other);
    std::ofstream(other + "/readings.txt") << "not a station file\n";
    for (const char* command : {"eval", "predict"}) {
        const CliResult wrong = run_cli({command, "--checkpoint", ckpt, "--data", other, "--backend", "cpu"});
        EXPECT_EQ(wrong.status, 2) << wrong.output;
        EXPECT_NE(wrong.output.find("read as weather5k, the format the checkpoint was trained on; their format is not "
                                    "recognised either: give --format auto"),
                  std::string::npos) << command << ": " << wrong.output;
    }
    // Files of the checkpoint's format with a bad value: the format is no suspect, and not named as one.
    const std::string same = dir + "/same";
    fs::create_directories(same);
    std::ofstream(same + "/S1.csv") << "DATE,TMP,DEW,WND_ANGLE,WND_RATE,SLP\n2031-01-01 00:00:00,1,2,abc,4,5\n";
    const CliResult bad_value = run_cli({"predict", "--checkpoint", ckpt, "--data", same, "--backend", "cpu"});
    EXPECT_EQ(bad_value.status, 2) << bad_value.output;
    EXPECT_NE(bad_value.output.find("S1.csv:2"), std::string::npos) << bad_value.output;
    EXPECT_EQ(bad_value.output.find("the format the checkpoint was trained on"), std::string::npos)
        << bad_value.output;
}

// eval --forecasts: a row per window and lead time, forecast and observed in original units. The observed values are
// the station files' own, the lead times' clock follows the issue time, and the normalized MSE over the file is the
// report's.
TEST(Cli, EvalWritesForecastsNextToObservations) {
    const std::string dir = testing::temp_dir(), stations = dir + "/stations";
    ASSERT_EQ(run_cli({"data", "synth", "--stations", "2", "--years", "3", "--start-year", "2021", "--out", stations})
                  .status, 0);
    const std::string out = dir + "/run";
    ASSERT_EQ(run_cli({"train", "--data", stations, "--split", "years:2021,2022,2023", "--hidden", "4", "--input-len",
                       "12", "--horizon", "3", "--batch", "32", "--max-batches", "2", "--epochs", "1",
                       "--eval-windows", "100", "--backend", "cpu", "--out", out}).status, 0);
    const std::string csv_path = dir + "/forecasts.csv", json_path = dir + "/eval.json";
    const CliResult e = run_cli({"eval", "--checkpoint", out + "/best.safetensors", "--max-windows", "40", "--backend",
                                 "cpu", "--forecasts", csv_path, "--json", json_path, "--plot", dir + "/plot.svg",
                                 "--per-station", dir + "/stations.csv"});
    ASSERT_EQ(e.status, 0) << e.output;
    // --plot draws consecutive windows of the whole split, not the 40 sampled ones: two weeks of them.
    EXPECT_NE(e.output.find("wrote " + dir + "/plot.svg (SYN00000"), std::string::npos) << e.output;
    EXPECT_NE(e.output.find(", 336 windows)"), std::string::npos) << e.output;
    const std::string plot = testing::read_file_bytes(dir + "/plot.svg");
    for (const char* label : {"(test windows)", "observed", "forecast +1 h", "forecast +3 h"})
        EXPECT_NE(plot.find(label), std::string::npos) << label;
    EXPECT_NE(e.output.find("(120 rows: 40 windows x 3 lead times"), std::string::npos) << e.output;

    // Each station file's values by time: "SYN00000" -> "2023-01-03 00:00:00" -> the five values.
    std::map<std::string, std::map<std::string, std::vector<double>>> observed;
    auto split = [](const std::string& line) {
        std::vector<std::string> f;
        std::stringstream ss(line);
        for (std::string c; std::getline(ss, c, ',');) f.push_back(c);
        return f;
    };
    for (const char* id : {"SYN00000", "SYN00001"}) {
        std::ifstream in(stations + "/" + id + ".csv");
        std::string line;
        std::getline(in, line);
        ASSERT_EQ(line, "DATE,TMP,DEW,WND_ANGLE,WND_RATE,SLP");
        while (std::getline(in, line)) {
            const auto f = split(line);
            std::vector<double> v;
            for (size_t i = 1; i < f.size(); ++i) v.push_back(f[i].empty() ? NAN : std::stod(f[i]));
            observed[id][f[0]] = v;
        }
    }
    const auto metrics = nlohmann::json::parse(testing::read_file_bytes(out + "/metrics.json"));
    const auto stds = metrics.at("dataset").at("stats").at("std").get<std::vector<double>>();
    std::ifstream in(csv_path);
    std::string line;
    std::getline(in, line);
    EXPECT_EQ(line, "station,issued_at,lead,time,TMP,DEW,WND_ANGLE,WND_RATE,SLP,TMP_observed,DEW_observed,"
                    "WND_ANGLE_observed,WND_RATE_observed,SLP_observed");
    double squares = 0;
    size_t rows = 0, values = 0;
    // Each window's forecast rows as predict writes them (its first 9 columns), by "station,issued_at".
    std::map<std::string, std::string> forecast_rows;
    while (std::getline(in, line)) {
        const auto f = split(line);
        ASSERT_EQ(f.size(), 14u) << line;
        ++rows;
        std::string as_predicted = f[0];
        for (size_t i = 1; i < 9; ++i) as_predicted += "," + f[i];
        forecast_rows[f[0] + "," + f[1]] += as_predicted + "\n";
        int64_t issued = 0, at = 0;
        std::string why;
        ASSERT_TRUE(data::parse_time(f[1], "%Y-%m-%d %H:%M:%S", issued, why)) << why;
        ASSERT_TRUE(data::parse_time(f[3], "%Y-%m-%d %H:%M:%S", at, why)) << why;
        EXPECT_EQ(at - issued, std::stol(f[2]) * 3600) << line;
        EXPECT_GE(at, data::year_start(2023)) << line;  // test windows: 2023
        const auto it = observed[f[0]].find(f[3]);
        ASSERT_NE(it, observed[f[0]].end()) << line;
        for (int k = 0; k < 5; ++k) {
            EXPECT_NEAR(std::stod(f[size_t(9 + k)]), it->second[size_t(k)], 1e-3) << line;
            const double d = (std::stod(f[size_t(4 + k)]) - std::stod(f[size_t(9 + k)])) / stds[size_t(k)];
            squares += d * d;
            ++values;
        }
    }
    EXPECT_EQ(rows, 120u);
    // predict, asked for the same station and issue time, writes the same forecast to the last digit: its input is
    // standardized and run through the model as eval's (a double-precision standardization once made one value in
    // ~500 differ in the third decimal).
    ASSERT_EQ(forecast_rows.size(), 40u);
    size_t k = 0;
    for (const auto& [key, rows_of_window] : forecast_rows) {
        if (k++ % 2) continue;  // 20 windows, 300 values
        const std::string station = key.substr(0, key.find(',')), issued = key.substr(station.size() + 1);
        const std::string p_csv = dir + "/predicted.csv";
        const CliResult p = run_cli({"predict", "--checkpoint", out + "/best.safetensors", "--backend", "cpu",
                                     "--station", station, "--issued-at", issued, "--out", p_csv});
        ASSERT_EQ(p.status, 0) << p.output;
        const std::string predicted = testing::read_file_bytes(p_csv);
        EXPECT_EQ(predicted.substr(predicted.find('\n') + 1), rows_of_window) << station << " " << issued;
    }
    const double mse = nlohmann::json::parse(testing::read_file_bytes(json_path)).at("model").at("mse").get<double>();
    EXPECT_NEAR(squares / double(values), mse, 1e-3 * mse);  // the CSV's 3 decimals aside
    for (const auto& entry : fs::directory_iterator(dir))  // no temp file of the atomic writes left behind
        EXPECT_EQ(entry.path().filename().string().find(".tmp."), std::string::npos) << entry.path();

    // --per-station: a row per station, its windows adding up to the 40 evaluated, the window-weighted MSE the
    // report's; the summary names the spread of skill. Training wrote the same for its test split.
    EXPECT_NE(e.output.find("per station (2 stations): skill vs persistence median"), std::string::npos) << e.output;
    EXPECT_NE(e.output.find("wrote " + dir + "/stations.csv (2 stations)"), std::string::npos) << e.output;
    std::ifstream st(dir + "/stations.csv");
    std::getline(st, line);
    EXPECT_EQ(line.rfind("station,windows,mse,mae,persistence_mse,skill,TMP_rmse,TMP_persistence_rmse,DEW_rmse,", 0),
              0u) << line;
    long station_windows = 0;
    double weighted = 0;
    std::vector<std::string> ids;
    while (std::getline(st, line)) {
        const auto f = split(line);
        ASSERT_EQ(f.size(), 16u) << line;
        ids.push_back(f[0]);
        station_windows += std::stol(f[1]);
        weighted += std::stod(f[2]) * std::stod(f[1]);
    }
    EXPECT_EQ(ids, (std::vector<std::string>{"SYN00000", "SYN00001"}));
    EXPECT_EQ(station_windows, 40);
    EXPECT_NEAR(weighted / 40.0, mse, 1e-4 * mse);  // 5 decimals per station
    EXPECT_TRUE(fs::exists(out + "/stations.csv"));
    const auto summary = nlohmann::json::parse(testing::read_file_bytes(json_path)).at("stations");
    EXPECT_EQ(summary.at("stations"), 2) << summary;
    EXPECT_EQ(summary.at("lowest_skill").size(), 2u) << summary;
    EXPECT_LE(summary.at("skill_q25").get<double>(), summary.at("skill_q75").get<double>()) << summary;
    EXPECT_TRUE(metrics.at("test").contains("stations")) << "train's metrics.json";

    // Reading flags apply to the checkpoint's own data too (no --data): --max-stations 1 reads one station.
    const CliResult one = run_cli({"eval", "--checkpoint", out + "/best.safetensors", "--max-windows", "10",
                                   "--backend", "cpu", "--max-stations", "1", "--per-station", dir + "/one.csv"});
    ASSERT_EQ(one.status, 0) << one.output;
    EXPECT_NE(one.output.find("wrote " + dir + "/one.csv (1 station)"), std::string::npos) << one.output;
}

// A CSV of a layout no preset knows, described by --csv-* flags: semicolons, a 30-minute grid, a time
// format of its own, renamed columns, a missing-value token and a sentinel. The checkpoint remembers the
// layout, so eval and predict read the files again without the flags.
TEST(Cli, CustomCsvLayoutFromFlags) {
    const std::string dir = testing::temp_dir() + "/csv";
    fs::create_directories(dir);
    for (const char* station : {"north", "south"}) {
        std::ofstream f(dir + "/" + station + ".csv");
        f << "when;temp_c;hum\n";
        for (int i = 0; i < 48 * 31; ++i) {  // March 2021, every 30 minutes
            const int minutes = 30 * (i % 48);
            char when[32];
            std::snprintf(when, sizeof when, "%02d/03/2021 %02d:%02d", 1 + i / 48, minutes / 60, minutes % 60);
            const double phase = 2 * M_PI * (i % 48) / 48.0;
            f << when << ';' << 10 + 8 * std::sin(phase) << ';';
            if (i % 97 == 5) f << "-";
            else if (i % 131 == 7) f << "-999";
            else if (i % 113 == 9) f << "";  // an empty cell stays missing whatever --csv-missing adds
            else f << 60 + 20 * std::cos(phase);
            f << '\n';
        }
    }
    const std::string out = testing::temp_dir() + "/run";
    const std::vector<std::string> layout = {"--csv-time", "when", "--csv-time-format", "%d/%m/%Y %H:%M",
                                             "--csv-delimiter", ";", "--csv-step-minutes", "30", "--csv-missing",
                                             "-", "--csv-sentinel", "-999", "--csv-columns", "temp_c=TMP,hum"};
    std::vector<std::string> train = {"train", "--data", dir, "--targets", "TMP", "--hidden", "8", "--input-len", "24",
                                      "--horizon", "6", "--batch", "64", "--max-batches", "3", "--epochs", "1",
                                      "--backend", "cpu", "--out", out};
    train.insert(train.end(), layout.begin(), layout.end());
    const CliResult t = run_cli(train);
    ASSERT_EQ(t.status, 0) << t.output;
    EXPECT_NE(t.output.find("(csv format): 2 stations"), std::string::npos) << t.output;
    EXPECT_NE(t.output.find("C=2"), std::string::npos) << t.output;  // TMP and hum
    EXPECT_NE(t.output.find("missing values"), std::string::npos) << t.output;

    const CliResult e = run_cli({"eval", "--checkpoint", out + "/best.safetensors", "--backend", "cpu"});
    ASSERT_EQ(e.status, 0) << e.output;
    const CliResult p = run_cli({"predict", "--checkpoint", out + "/best.safetensors", "--backend", "cpu", "--out",
                                 out + "/forecast.csv"});
    ASSERT_EQ(p.status, 0) << p.output;
    EXPECT_NE(testing::read_file_bytes(out + "/forecast.csv").find("south,"), std::string::npos);
    // New files of the same layout (--data without --csv-* flags): read with the checkpoint's layout.
    const std::string recent = testing::temp_dir() + "/recent";
    fs::create_directories(recent);
    fs::copy_file(dir + "/north.csv", recent + "/north.csv");
    const CliResult pr = run_cli({"predict", "--checkpoint", out + "/best.safetensors", "--data", recent, "--backend",
                                  "cpu", "--out", out + "/recent.csv"});
    ASSERT_EQ(pr.status, 0) << pr.output;
    EXPECT_NE(pr.output.find("(csv format): 1 station;"), std::string::npos) << pr.output;

    // Without the layout the files are not a known format; with a preset the flags are a contradiction.
    const CliResult plain = run_cli({"train", "--data", dir, "--backend", "cpu", "--out", out + "2"});
    EXPECT_NE(plain.status, 0);
    EXPECT_NE(plain.output.find(dir), std::string::npos) << plain.output;
    const CliResult both = run_cli({"train", "--data", dir, "--format", "jena", "--csv-time", "when", "--out", out + "3"});
    EXPECT_NE(both.status, 0);
    EXPECT_NE(both.output.find("--format is 'jena'"), std::string::npos) << both.output;
    const CliResult wrong = run_cli({"train", "--data", dir, "--csv-time", "when", "--csv-delimiter", ";",
                                     "--out", out + "4"});
    EXPECT_NE(wrong.status, 0);
    EXPECT_NE(wrong.output.find("north.csv:2"), std::string::npos) << wrong.output;  // the time format
}

TEST(Cli, LanguageModelTrainsAndGenerates) {
    const std::string dir = testing::temp_dir();
    std::ofstream(dir + "/tiny.txt") << "the cat sat on a mat . the dog lay on the log . the cat sat on a mat .\n";
    const CliResult t = run_cli({"lm-train", "--text", dir + "/tiny.txt", "--heldout", "0", "--epochs", "30",
                                 "--backend", "cpu", "--out", dir + "/lm"});
    ASSERT_EQ(t.status, 0) << t.output;
    const std::string log = testing::read_file_bytes(dir + "/lm/log.csv");
    EXPECT_EQ(log.rfind("epoch,train_loss,train_accuracy,heldout_loss,", 0), 0u) << log.substr(0, 200);
    EXPECT_EQ(std::count(log.begin(), log.end(), '\n'), 31) << log;  // header + 30 epochs
    EXPECT_NE(log.find("\n30,"), std::string::npos) << log;
    EXPECT_NE(testing::read_file_bytes(dir + "/lm/loss.svg").find("training"), std::string::npos);
    const CliResult g = run_cli({"generate", "--checkpoint", dir + "/lm/last.safetensors", "--prompt", "the dog lay",
                                 "--count", "3", "--greedy", "--backend", "cpu"});
    ASSERT_EQ(g.status, 0) << g.output;
    EXPECT_NE(g.output.find("the dog lay on the log"), std::string::npos) << g.output;
    // Interactive: a bad prompt line reports an error and the session goes on to the next one.
    const CliResult in = run_cli({"generate", "--checkpoint", dir + "/lm/last.safetensors", "--interactive",
                                  "--count", "2", "--greedy", "--backend", "cpu"},
                                 "zebra zebra zebra\nthe cat sat\n");
    // Piped prompts: the unknown word fails its line (stderr, status 2), the next prompt is still answered.
    EXPECT_EQ(in.status, 2) << in.output;
    EXPECT_NE(in.output.find("stdin line 1: unknown word in the prompt: 'zebra'"), std::string::npos) << in.output;
    EXPECT_NE(in.output.find("the cat sat on a"), std::string::npos) << in.output;
    // --resume continues after the last epoch (here: 2 more), with the same flags.
    const CliResult r = run_cli({"lm-train", "--text", dir + "/tiny.txt", "--heldout", "0", "--epochs", "32",
                                 "--backend", "cpu", "--out", dir + "/lm", "--resume"});
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("after epoch 30"), std::string::npos) << r.output;
    EXPECT_EQ(r.output.find("epoch 30/32"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("epoch 31/32"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("epoch 32/32"), std::string::npos) << r.output;
    const std::string resumed_log = testing::read_file_bytes(dir + "/lm/log.csv");  // the whole run, not 2 epochs
    EXPECT_EQ(std::count(resumed_log.begin(), resumed_log.end(), '\n'), 33) << resumed_log;
    // ... and refuses other settings, naming them.
    const CliResult bad = run_cli({"lm-train", "--text", dir + "/tiny.txt", "--heldout", "0", "--epochs", "33",
                                   "--lr", "0.5", "--backend", "cpu", "--out", dir + "/lm", "--resume"});
    EXPECT_EQ(bad.status, 2) << bad.output;
    EXPECT_NE(bad.output.find("other settings (--lr: 0.01 saved, 0.5 now)"), std::string::npos) << bad.output;
    // A value that differs in the last digits shows with all of them (as typed), not alike.
    const CliResult close = run_cli({"lm-train", "--text", dir + "/tiny.txt", "--heldout", "0", "--epochs", "33",
                                     "--lr", "0.010000001", "--backend", "cpu", "--out", dir + "/lm", "--resume"});
    EXPECT_EQ(close.status, 2) << close.output;
    EXPECT_NE(close.output.find("other settings (--lr: 0.01 saved, 0.010000001 now)"), std::string::npos) << close.output;
}

// --dropout: between layers for a forecaster (said when it does nothing), on the embedding, between layers and before
// the head for a language model; kept with the model, so a resume with another rate is refused; a rate outside
// [0, 1) is refused up front.
TEST(Cli, DropoutFlag) {
    const std::string out = testing::temp_dir() + "/run";
    // tiny_train(out, epochs) and these flags.
    const auto train_with = [](const std::string& dir, int epochs, const std::vector<std::string>& flags) {
        auto a = tiny_train(dir, epochs);
        a.insert(a.end(), flags.begin(), flags.end());
        return run_cli(a);
    };
    const CliResult t = train_with(out, 1, {"--layers", "2", "--dropout", "0.3"});
    ASSERT_EQ(t.status, 0) << t.output;
    EXPECT_NE(t.output.find("dropout 0.3 between layers"), std::string::npos) << t.output;
    const auto m = nlohmann::json::parse(testing::read_file_bytes(out + "/metrics.json"));
    EXPECT_NEAR(m.at("model").at("dropout").get<double>(), 0.3, 1e-7);
    const CliResult r = train_with(out, 2, {"--layers", "2", "--dropout", "0.5", "--resume"});
    EXPECT_NE(r.status, 0);
    EXPECT_NE(r.output.find("holds a different model"), std::string::npos) << r.output;

    const CliResult w = train_with(testing::temp_dir() + "/one", 1, {"--dropout", "0.2"});
    ASSERT_EQ(w.status, 0) << w.output;
    EXPECT_NE(w.output.find("warning: --dropout 0.2 does nothing with --layers 1"), std::string::npos) << w.output;

    const CliResult b = train_with(testing::temp_dir() + "/bad", 1, {"--layers", "2", "--dropout", "1"});
    EXPECT_NE(b.status, 0);
    EXPECT_NE(b.output.find("--dropout must lie in [0, 1)"), std::string::npos) << b.output;
    EXPECT_EQ(b.output.find("windows:"), std::string::npos) << "refused before the data is read: " << b.output;

    const std::string dir = testing::temp_dir();
    std::ofstream(dir + "/tiny.txt") << "the cat sat on a mat . the dog lay on the log . the cat sat on a mat .\n";
    const CliResult lm = run_cli({"lm-train", "--text", dir + "/tiny.txt", "--heldout", "0", "--epochs", "2",
                                  "--layers", "2", "--dropout", "0.5", "--backend", "cpu", "--out", dir + "/lm"});
    ASSERT_EQ(lm.status, 0) << lm.output;
    EXPECT_NE(lm.output.find("embedding 32, dropout 0.5"), std::string::npos) << lm.output;

    // --dropout-locked: the same mask at every time step; kept in the checkpoint, so resuming without it is refused.
    const std::string locked_out = testing::temp_dir() + "/locked";
    const CliResult l = train_with(locked_out, 1, {"--layers", "2", "--dropout", "0.3", "--dropout-locked"});
    ASSERT_EQ(l.status, 0) << l.output;
    EXPECT_NE(l.output.find("locked dropout 0.3 between layers"), std::string::npos) << l.output;
    EXPECT_EQ(nlohmann::json::parse(testing::read_file_bytes(locked_out + "/metrics.json")).at("model").at(
                  "dropout_locked"), true);
    const CliResult u = train_with(locked_out, 2, {"--layers", "2", "--dropout", "0.3", "--resume"});
    EXPECT_NE(u.status, 0);
    EXPECT_NE(u.output.find("holds a different model"), std::string::npos) << u.output;
    const CliResult n = train_with(testing::temp_dir() + "/pointless", 1, {"--dropout-locked"});
    ASSERT_EQ(n.status, 0) << n.output;
    EXPECT_NE(n.output.find("warning: --dropout-locked does nothing without --dropout"), std::string::npos)
        << n.output;
    const CliResult lml = run_cli({"lm-train", "--text", dir + "/tiny.txt", "--heldout", "0", "--epochs", "2",
                                   "--dropout", "0.5", "--dropout-locked", "--backend", "cpu", "--out", dir + "/lml"});
    ASSERT_EQ(lml.status, 0) << lml.output;
    EXPECT_NE(lml.output.find("embedding 32, locked dropout 0.5"), std::string::npos) << lml.output;
}

// Mistakes get a non-zero exit and a message that names the flag, file or value at fault — and fail
// before any data is loaded where they can.
TEST(Cli, ErrorsNameTheCulprit) {
    const std::string tmp = testing::temp_dir();
    struct Case {
        std::vector<std::string> args;
        std::string expect;
    };
    const std::vector<Case> cases = {
        {{"train", "--cell", "lstmm", "--out", tmp + "/a"}, "lstmm"},
        {{"train", "--data", tmp + "/no-such-folder", "--out", tmp + "/b"}, "no-such-folder"},
        {{"train", "--out", "/proc/fusedrnn-cannot-write-here"}, "cannot create the output folder"},
        {{"train", "--split", "years:2014", "--out", tmp + "/c"}, "years:2014"},
        {{"train", "--stats", "global", "--out", tmp + "/d"}, "--stats"},
        {{"train", "--backend", "tpu", "--out", tmp + "/e"}, "tpu"},
        {{"train", "--synthetic-stations", "2", "--input-len", "30000", "--out", tmp + "/f"}, "shorten the input"},
        {{"train", "--synthetic-stations", "2", "--input-len", "9000", "--out", tmp + "/g"}, "use a shorter window"},
        {{"eval", "--checkpoint", tmp + "/missing.safetensors"}, "missing.safetensors"},
        {{"generate", "--checkpoint", tmp + "/missing.safetensors", "--prompt", "x"}, "missing.safetensors"},
        {{"train", "--no-such-flag"}, "--no-such-flag"},
    };
    for (const auto& c : cases) {
        const CliResult r = run_cli(c.args);
        std::string cmd;
        for (const auto& a : c.args) cmd += a + " ";
        EXPECT_NE(r.status, 0) << cmd << "\n" << r.output;
        EXPECT_NE(r.output.find(c.expect), std::string::npos) << cmd << "\n" << r.output;
        EXPECT_EQ(r.output.find("internal error"), std::string::npos) << cmd << "\n" << r.output;
    }
    // An environment variable with a bad value is named with it, before any data is read; `info` shows it too.
    const CliResult isa = run_cli(testing::tiny_train(tmp + "/h", 1), "", "FUSEDRNN_CPU_ISA=avx3 ");
    EXPECT_NE(isa.status, 0) << isa.output;
    EXPECT_NE(isa.output.find("FUSEDRNN_CPU_ISA='avx3': expected generic, avx2 or avx512"), std::string::npos)
        << isa.output;
    EXPECT_EQ(isa.output.find("data:"), std::string::npos) << isa.output;
    const CliResult info = run_cli({"info"}, "", "FUSEDRNN_CPU_ISA=avx3 ");
    EXPECT_EQ(info.status, 0) << info.output;
    EXPECT_NE(info.output.find("cpu backend: FUSEDRNN_CPU_ISA='avx3'"), std::string::npos) << info.output;
    // The GPU settings too, GPU or not: what they resolve to, or what is wrong, each naming its variable.
    const CliResult gpu_defaults = run_cli({"info"}, "", "env -u FUSEDRNN_CUDA_RECURRENCE -u FUSEDRNN_TF32 "
                                                         "-u FUSEDRNN_CUDNN_ALGO ");
    EXPECT_NE(gpu_defaults.output.find("gpu settings: recurrence alternating (FUSEDRNN_CUDA_RECURRENCE); tf32 off "
                                       "(FUSEDRNN_TF32); cudnn algo standard (FUSEDRNN_CUDNN_ALGO)"),
              std::string::npos) << gpu_defaults.output;
    const CliResult gpu_set = run_cli({"info"}, "", "FUSEDRNN_CUDA_RECURRENCE=persistent:8 FUSEDRNN_TF32=1 "
                                                    "FUSEDRNN_CUDNN_ALGO=persist_static ");
    EXPECT_NE(gpu_set.output.find("gpu settings: recurrence persistent:8 (FUSEDRNN_CUDA_RECURRENCE); tf32 on "
                                  "(FUSEDRNN_TF32); cudnn algo persist_static (FUSEDRNN_CUDNN_ALGO)"),
              std::string::npos) << gpu_set.output;
    const CliResult gpu_bad = run_cli({"info"}, "", "FUSEDRNN_CUDA_RECURRENCE=persistent:3 FUSEDRNN_TF32=2 "
                                                    "FUSEDRNN_CUDNN_ALGO=fast ");
    EXPECT_EQ(gpu_bad.status, 0) << gpu_bad.output;
    for (const char* said : {"FUSEDRNN_CUDA_RECURRENCE=persistent:3: expected alternating, persistent, or persistent:R",
                             "FUSEDRNN_TF32='2': expected 1", "FUSEDRNN_CUDNN_ALGO='fast': expected standard"})
        EXPECT_NE(gpu_bad.output.find(said), std::string::npos) << said << "\n" << gpu_bad.output;
    const CliResult capped = run_cli({"info"}, "", "FUSEDRNN_CPU_ISA=generic ");
    EXPECT_NE(capped.output.find("cpu backend: float kernels generic, OpenBLAS "), std::string::npos)
        << capped.output;
    // A checkpoint file that is not one (truncated, or another format) names the file.
    std::ofstream(tmp + "/junk.safetensors") << "not a checkpoint";
    const CliResult j = run_cli({"eval", "--checkpoint", tmp + "/junk.safetensors"});
    EXPECT_NE(j.status, 0);
    EXPECT_NE(j.output.find("junk.safetensors"), std::string::npos) << j.output;
}

// A hand-edited or damaged forecaster checkpoint (found by tests/fuzz/fuzz_checkpoint) is refused when it is loaded,
// naming the file: fields the parsers deep down report, settings no stored tensor could back (refused before any
// model of that size is allocated), and settings that contradict each other (which eval and predict would otherwise
// index by).
TEST(Cli, EditedForecasterCheckpointIsRefusedNamingTheFile) {
    const std::string dir = testing::temp_dir() + "/edited";
    ASSERT_EQ(run_cli(tiny_train(dir + "/run", 1)).status, 0);
    const std::string good = dir + "/run/best.safetensors", path = dir + "/edited.safetensors";
    // Edited by hand, as the checksum error says to: with the metadata checksum deleted.
    const auto eval_edited = [&](const std::string& key, const std::function<void(nlohmann::json&)>& edit) {
        fusedrnn::SafetensorsFile f = fusedrnn::read_safetensors(good);
        nlohmann::json j = nlohmann::json::parse(f.metadata.at(key));
        edit(j);
        f.metadata[key] = j.dump();
        EXPECT_EQ(f.metadata.erase("fusedrnn.metadata_checksum"), 1u);
        fusedrnn::write_safetensors(path, f);
        return run_cli({"eval", "--checkpoint", path, "--max-windows", "16"});
    };
    // With it kept, any change to the metadata is damage: a normalization mean one bit off, a key one bit off.
    for (const auto& damage : std::vector<std::function<void(fusedrnn::SafetensorsFile&)>>{
             [](fusedrnn::SafetensorsFile& f) {
                 nlohmann::json x = nlohmann::json::parse(f.metadata.at("fusedrnn.extra"));
                 x["dataset"]["stats"]["mean"][0] = x["dataset"]["stats"]["mean"][0].get<double>() + 1;
                 f.metadata["fusedrnn.extra"] = x.dump();
             },
             [](fusedrnn::SafetensorsFile& f) {
                 f.metadata["fusedrnn.extrb"] = f.metadata.at("fusedrnn.extra");
                 f.metadata.erase("fusedrnn.extra");
             }}) {
        fusedrnn::SafetensorsFile f = fusedrnn::read_safetensors(good);
        damage(f);
        fusedrnn::write_safetensors(path, f);
        const CliResult r = run_cli({"eval", "--checkpoint", path, "--max-windows", "16"});
        EXPECT_EQ(r.status, 2) << r.output;
        EXPECT_NE(r.output.find(path + ": the file is damaged: its metadata (model description, settings, "
                                "training state) does not match the checksum"), std::string::npos) << r.output;
        EXPECT_NE(r.output.find("If you edited the metadata on purpose, delete its 'fusedrnn.metadata_checksum' "
                                "entry"), std::string::npos) << r.output;
    }
    struct Case {
        std::string key;
        std::function<void(nlohmann::json&)> edit;
        std::string expect;
    };
    const std::vector<Case> cases = {
        {"fusedrnn.model", [](nlohmann::json& c) { c["spec"].erase("input_size"); },
         "the checkpoint metadata has no spec.input_size"},
        {"fusedrnn.model", [](nlohmann::json& c) { c.erase("outputs"); }, "the checkpoint metadata has no outputs"},
        {"fusedrnn.model", [](nlohmann::json& c) { c["kind"] = 5; }, "checkpoint metadata has no model kind"},
        {"fusedrnn.model", [](nlohmann::json& c) { c["decoder"] = 1; }, "invalid forecaster in checkpoint metadata"},
        {"fusedrnn.model", [](nlohmann::json& c) { c["spec"]["hidden_size"] = 1 << 30; },
         "spec.hidden_size in the checkpoint metadata is 1073741824, not a whole number in [1, 16777216]"},
        {"fusedrnn.model", [](nlohmann::json& c) { c["spec"]["hidden_size"] = 1 << 20; },
         "its metadata declares a gru C=5 H=1048576 L=1 stack, more parameters than the file's"},
        {"fusedrnn.model", [](nlohmann::json& c) { c["outputs"] = 1 << 20; },
         "its metadata declares 1048576 outputs, more than the file's"},
        {"fusedrnn.model", [](nlohmann::json& c) { c["spec"]["hidden_size"] = 5; },
         "but the gru C=5 H=5 L=1 forecaster its metadata declares needs"},
        {"fusedrnn.model", [](nlohmann::json& c) { c["spec"]["num_layers"] = 2; },
         "its metadata declares a gru C=5 H=8 L=2 forecaster of 10 parameter tensors, but the file holds 6"},
        {"fusedrnn.model", [](nlohmann::json& c) { c["spec"]["bidirectional"] = true; },
         "tensor 'head.weight' has shape"},
        {"fusedrnn.extra", [](nlohmann::json& x) { x["dataset"]["window"].erase("out_offset"); },
         "dataset.window.out_offset is missing"},
        // Numbers as written, not truncated or wrapped into others (QA: 2^32 + 12 and 12.7 loaded as 12).
        {"fusedrnn.extra", [](nlohmann::json& x) { x["dataset"]["window"]["input_len"] = 4294967308ULL; },
         "dataset.window.input_len is 4294967308, not a whole number in [1, 2147483647]"},
        {"fusedrnn.extra", [](nlohmann::json& x) { x["dataset"]["window"]["input_len"] = 12.7; },
         "dataset.window.input_len is 12.7, not a whole number in [1, 2147483647]"},
        {"fusedrnn.extra", [](nlohmann::json& x) { x["data"]["stations"] = 2.5; },
         "data.stations is 2.5, not a whole number in [1, 2147483647]"},
        {"fusedrnn.extra",
         [](nlohmann::json& x) {
             x["data"] = {{"source", "files"}, {"path", "isd"}, {"format", "isd-lite"}, {"valid_ranges", {5}}};
         },
         "data.valid_ranges[0] is 5, not a string"},
        {"fusedrnn.extra", [](nlohmann::json& x) { x["dataset"]["vars"].erase(4); },
         "the model reads 5 inputs, but the checkpoint's data has 4 variables"},
        {"fusedrnn.extra", [](nlohmann::json& x) { x["dataset"]["targets"] = {"NOPE"}; },
         "target 'NOPE' is not one of the variables"},
        {"fusedrnn.extra", [](nlohmann::json& x) { std::swap(x["dataset"]["stats"]["vars"][0], x["dataset"]["stats"]["vars"][1]); },
         "the normalization statistics are for DEW,TMP"},
        {"fusedrnn.extra", [](nlohmann::json& x) { x["dataset"]["window"]["horizon"] = 5; },
         "but the window's horizon 5 x 5 targets would need 25"},
        // Finite, but no float series standardized by it stays finite: named as the statistics, not as bad data.
        {"fusedrnn.extra", [](nlohmann::json& x) { x["dataset"]["stats"]["mean"][0] = 1e300; },
         "mean of TMP is 1e+300 (must be finite, within float range)"},
    };
    for (const Case& c : cases) {
        const CliResult r = eval_edited(c.key, c.edit);
        EXPECT_NE(r.status, 0) << c.expect << "\n" << r.output;
        EXPECT_NE(r.output.find("edited.safetensors: "), std::string::npos) << c.expect << "\n" << r.output;
        EXPECT_NE(r.output.find(c.expect), std::string::npos) << r.output;
        EXPECT_EQ(r.output.find("internal error"), std::string::npos) << r.output;
    }
    EXPECT_EQ(run_cli({"eval", "--checkpoint", good, "--max-windows", "16"}).status, 0);
    // A flipped bit in the tensor data (which no JSON check sees) is caught by the checksum written with the file.
    std::string bytes = testing::read_file_bytes(good);
    bytes[bytes.size() - 5] ^= 0x10;
    std::ofstream(path, std::ios::binary) << bytes;
    const CliResult flipped = run_cli({"eval", "--checkpoint", path, "--max-windows", "16"});
    EXPECT_EQ(flipped.status, 2) << flipped.output;
    EXPECT_NE(flipped.output.find("edited.safetensors: the file is damaged: its tensor data does not match the "
                                  "checksum written with it"), std::string::npos) << flipped.output;
}

// What a command writes never lands on what it reads: the checkpoint, the station data file, or the station folder
// (whose next read would take a report for a station); each refusal comes before any work and names the flag.
// `--out /dev/stdout` with standard output redirected to a log (`>> log`, a cron job's habit): the forecast is
// written through the process's own descriptor, after what the log holds, not over the log by a fresh open and a
// rename.
TEST(Cli, StdoutAsTheOutputAppendsToARedirectedLog) {
    const std::string dir = testing::temp_dir() + "/stdout";
    ASSERT_EQ(run_cli(tiny_train(dir + "/run", 1)).status, 0);
    const std::string log = dir + "/cron.log";
    std::ofstream(log) << "previous run\n";
    const std::string cmd = "{ echo before; " + testing::quoted(FUSEDRNN_CLI_PATH) + " predict --checkpoint " +
                            testing::quoted(dir + "/run/best.safetensors") + " --backend cpu --out /dev/stdout; " +
                            "echo after; } >> " + testing::quoted(log) + " 2>" + testing::quoted(dir + "/err.log");
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    const std::string text = testing::read_file_bytes(log);
    EXPECT_EQ(text.rfind("previous run\nbefore\nstation,issued_at,lead,time,", 0), 0u) << text;
    // Standard output holds the forecast alone; what the command says goes to standard error (QA: the CSV ended with
    // the "wrote" line).
    EXPECT_EQ(text.find("wrote"), std::string::npos) << text;
    EXPECT_NE(testing::read_file_bytes(dir + "/err.log").find("wrote /dev/stdout ("), std::string::npos);
    EXPECT_EQ(text.substr(text.size() - 6), "after\n") << text;
    const std::string before_last = text.substr(0, text.size() - 6);
    EXPECT_EQ(std::count(before_last.begin(), before_last.end(), '\n') - 2,  // previous run, before
              std::count(before_last.begin(), before_last.end(), ',') / 8) << text;  // CSV rows only (9 columns)

    // eval's report likewise, with its forecasts on standard output: a CSV a reader can take as it comes, and a
    // reader that stops early (`| head -1`) sees the header (no report line is written after it closes).
    const std::string eval = testing::quoted(FUSEDRNN_CLI_PATH) + " eval --checkpoint " +
                             testing::quoted(dir + "/run/best.safetensors") + " --backend cpu --max-windows 2 " +
                             "--forecasts /dev/stdout 2>/dev/null";
    const std::string out = dir + "/forecasts.csv";
    ASSERT_EQ(std::system((eval + " > " + testing::quoted(out)).c_str()), 0) << eval;
    const std::string csv = testing::read_file_bytes(out);
    EXPECT_EQ(csv.rfind("station,", 0), 0u) << csv;
    EXPECT_EQ(csv.find("MSE"), std::string::npos) << csv;
    EXPECT_EQ(csv.find("evaluated on"), std::string::npos) << csv;

    // "-" names standard output too (QA: it wrote a file named "-").
    const std::string dash = "cd " + testing::quoted(dir) + " && " + testing::quoted(FUSEDRNN_CLI_PATH) +
                             " predict --checkpoint run/best.safetensors --backend cpu --out - 2>dash.err > dash.csv";
    ASSERT_EQ(std::system(dash.c_str()), 0) << dash;
    EXPECT_EQ(testing::read_file_bytes(dir + "/dash.csv").rfind("station,issued_at,lead,time,", 0), 0u);
    EXPECT_FALSE(fs::exists(dir + "/-"));
    EXPECT_NE(testing::read_file_bytes(dir + "/dash.err").find("wrote standard output ("), std::string::npos);
}

// A checkpoint save killed hard leaves its temp file (as large as the model and optimizer state); the next run into
// the folder removes it once the process that wrote it is gone, and says so. A live process's is left alone.
TEST(Cli, TempFilesOfAKilledSaveAreRemovedByTheNextRun) {
    const std::string run = testing::temp_dir() + "/killed";
    ASSERT_EQ(run_cli(tiny_train(run, 1)).status, 0);
    const pid_t gone = ::fork();
    if (gone == 0) ::_exit(0);
    ASSERT_GT(gone, 0);
    ASSERT_EQ(::waitpid(gone, nullptr, 0), gone);  // reaped: no process has this id now
    const std::string stale = run + "/.last.safetensors.tmp." + std::to_string(gone) + ".3";
    const std::string live = run + "/.last.safetensors.tmp." + std::to_string(::getpid()) + ".0";
    std::ofstream(stale) << "half a checkpoint";
    std::ofstream(live) << "being written";
    auto again = tiny_train(run, 1);
    again.push_back("--resume");
    const CliResult r = run_cli(again);
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_FALSE(fs::exists(stale));
    EXPECT_NE(r.output.find("removed " + stale + ", left by a checkpoint save that was killed (process " +
                            std::to_string(gone) + ")"), std::string::npos) << r.output;
    EXPECT_TRUE(fs::exists(live));

    // Likewise the station files of a `data synth` or `data export` killed hard (QA: --overwrite left them for ever):
    // the next write into the folder removes them, whatever the command.
    const std::string syn = testing::temp_dir() + "/killed-synth";
    ASSERT_EQ(run_cli({"data", "synth", "--stations", "2", "--years", "3", "--out", syn}).status, 0);
    const std::string stale_csv = syn + "/.SYN00001.csv.tmp." + std::to_string(gone) + ".1";
    const std::string live_csv = syn + "/.SYN00001.csv.tmp." + std::to_string(::getpid()) + ".1";
    for (const char* command : {"synth", "export"}) {
        std::ofstream(stale_csv) << "DATE,TMP\n2021-01-01 00:00:00,";
        std::ofstream(live_csv) << "being written";
        const std::vector<std::string> args =
            command == std::string("synth")
                ? std::vector<std::string>{"data", "synth", "--stations", "2", "--years", "3", "--out", syn,
                                           "--overwrite"}
                : std::vector<std::string>{"data", "export", "--synthetic-stations", "2", "--out", syn, "--overwrite"};
        const CliResult w = run_cli(args);
        ASSERT_EQ(w.status, 0) << command << "\n" << w.output;
        EXPECT_FALSE(fs::exists(stale_csv)) << command;
        EXPECT_NE(w.output.find("removed " + stale_csv + ", left by a write that was killed (process " +
                                std::to_string(gone) + ")"), std::string::npos) << command << "\n" << w.output;
        EXPECT_TRUE(fs::exists(live_csv)) << command;
    }
}

TEST(Cli, OutputsNeverOverwriteInputs) {
    const std::string tmp = testing::temp_dir() + "/guard";
    const std::string syn = tmp + "/syn", run = tmp + "/run";
    ASSERT_EQ(run_cli({"data", "synth", "--stations", "3", "--years", "3", "--out", syn}).status, 0);
    const CliResult t = run_cli(tiny_train(run, 1, syn));
    ASSERT_EQ(t.status, 0) << t.output;
    const std::string ckpt = run + "/best.safetensors", ckpt_bytes = testing::read_file_bytes(ckpt);
    const std::string station = syn + "/SYN00000.csv", station_bytes = testing::read_file_bytes(station);
    struct Case {
        std::vector<std::string> args;
        std::string expect;
    };
    std::vector<Case> cases = {
        {{"predict", "--checkpoint", ckpt, "--out", ckpt}, "--out " + ckpt + " is the file this command reads"},
        {{"predict", "--checkpoint", ckpt, "--out", station}, "is inside the station data folder"},
        {{"eval", "--checkpoint", ckpt, "--forecasts", syn + "/f.csv"}, "--forecasts " + syn + "/f.csv is inside"},
        {{"eval", "--checkpoint", ckpt, "--json", ckpt}, "--json " + ckpt + " is the file this command reads"},
        {{"eval", "--checkpoint", ckpt, "--json", tmp + "/no-such-folder/r.json"}, "does not exist"},
        {{"eval", "--checkpoint", ckpt, "--plot", tmp}, "is a folder"},
        {{"eval", "--checkpoint", ckpt, "--per-station", station}, "is inside the station data folder"},
        // The run's own report beside the checkpoint (QA: eval --forecasts run/metrics.json wrote CSV over it).
        {{"eval", "--checkpoint", ckpt, "--forecasts", run + "/metrics.json"},
         "--forecasts " + run + "/metrics.json is the metrics.json of the run " + ckpt + " belongs to"},
        {{"predict", "--checkpoint", ckpt, "--out", run + "/log.csv"}, "is the log.csv of the run"},
        {tiny_train(syn, 1, syn),
         "--out " + syn + " is the station data folder"},
        // data synth into a folder holding other files would mix two data sets in one folder.
        {{"data", "synth", "--stations", "2", "--years", "1", "--seed", "7", "--out", run}, "other files"},
    };
    // Through a link to the checkpoint, and the run kept in previous/ (QA's recheck: both wrote over the run's files).
    fs::create_symlink(ckpt, tmp + "/model.safetensors");
    fs::create_directories(run + "/previous");
    std::ofstream(run + "/previous/metrics.json") << "{}";
    for (const auto& [args, expect] :
         std::vector<std::pair<std::vector<std::string>, std::string>>{
             {{"eval", "--checkpoint", tmp + "/model.safetensors", "--json", run + "/metrics.json"},
              "is the metrics.json of the run"},
             {{"predict", "--checkpoint", tmp + "/model.safetensors", "--out", run + "/stations.csv"},
              "is the stations.csv of the run"},
             {{"eval", "--checkpoint", ckpt, "--json", run + "/previous/metrics.json"},
              "is the metrics.json of the run " + ckpt + " belongs to (the run kept in previous/)"}})
        cases.push_back({args, expect});
    for (const auto& c : cases) {
        const CliResult r = run_cli(c.args);
        std::string cmd;
        for (const auto& a : c.args) cmd += a + " ";
        EXPECT_EQ(r.status, 2) << cmd << "\n" << r.output;
        EXPECT_NE(r.output.find(c.expect), std::string::npos) << cmd << "\n" << r.output;
    }
    EXPECT_EQ(testing::read_file_bytes(ckpt), ckpt_bytes);
    EXPECT_EQ(testing::read_file_bytes(station), station_bytes);
    // A model copied into a folder of one's own is no run: a metrics.json there is anyone's to write.
    fs::create_directories(tmp + "/models");
    fs::copy_file(ckpt, tmp + "/models/mine.safetensors");
    const CliResult own = run_cli({"eval", "--checkpoint", tmp + "/models/mine.safetensors", "--backend", "cpu",
                                   "--max-windows", "4", "--json", tmp + "/models/metrics.json"});
    EXPECT_EQ(own.status, 0) << own.output;
    EXPECT_FALSE(fs::exists(syn + "/log.csv"));
    EXPECT_FALSE(fs::exists(run + "/SYN00000.csv"));
    // The same synth again into its own folder replaces its files (same names) with --overwrite, and only so.
    const CliResult again = run_cli({"data", "synth", "--stations", "3", "--years", "3", "--out", syn});
    EXPECT_EQ(again.status, 2) << again.output;
    EXPECT_NE(again.output.find("already holds 3 of the station files this writes (e.g. SYN00000.csv): add "
                                "--overwrite"), std::string::npos) << again.output;
    EXPECT_EQ(run_cli({"data", "synth", "--stations", "3", "--years", "3", "--out", syn, "--overwrite"}).status, 0);
}

// One run per output folder: a second run into a folder whose lock is held is refused, naming the holder.
TEST(Cli, SecondRunIntoABusyFolderIsRefused) {
    const std::string out = testing::temp_dir() + "/busy";
    fs::create_directories(out);
    const int fd = ::open((out + "/.fusedrnn.lock").c_str(), O_RDWR | O_CREAT, 0644);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);
    ASSERT_EQ(::write(fd, "4242", 4), 4);
    const CliResult r = run_cli(tiny_train(out, 1));
    EXPECT_EQ(r.status, 2) << r.output;
    EXPECT_NE(r.output.find("--out " + out + " is in use by another fusedrnn run (process 4242)"), std::string::npos)
        << r.output;
    EXPECT_FALSE(fs::exists(out + "/last.safetensors"));
    ::close(fd);  // released: the run goes ahead
    const CliResult again = run_cli(tiny_train(out, 1));
    EXPECT_EQ(again.status, 0) << again.output;
}

// A lock file deleted while its run trains (a cleanup script) no longer keeps a second run out: the run locks the
// folder again before its next save, or stops without saving when a second run has locked it since (QA: two runs
// overwrote each other's last.safetensors).
TEST(Cli, ARunWhoseLockFileWasRemovedLocksAgainOrStops) {
    const std::string dir = testing::temp_dir();
    enum Meanwhile { kNobody, kRunning, kEnded };
    for (const Meanwhile other : {kNobody, kRunning, kEnded}) {
        const bool taken = other != kNobody;
        SCOPED_TRACE(other == kNobody ? "nobody took the folder" : other == kRunning ? "a second run holds the folder"
                                                                                      : "a second run used it and ended");
        const std::string out = dir + "/run" + std::to_string(int(other)), lock = out + "/.fusedrnn.lock";
        auto args = tiny_train(out, 1000);
        args[std::find(args.begin(), args.end(), "--max-batches") - args.begin() + 1] = "40";
        int second = -1;
        std::string saved_before;  // last.safetensors as it was when the lock file went
        // Once the first epoch is saved, with the run stopped between two saves: the lock file goes, and maybe a
        // second run locks a new one; then Ctrl-C makes the run save.
        const CliResult r = run_then_signal(args, out + ".log", "epoch 1/1000", SIGINT, {}, [&](pid_t pid) {
            testing::stop_between_saves({pid}, out);
            saved_before = testing::read_file_bytes(out + "/last.safetensors");
            if (taken) {
                second = testing::lock_file_replaced(lock, "4242");
                if (other == kEnded) {  // its lock released, its file left: its files must not be overwritten
                    ::close(second);
                    second = -1;
                }
            } else {
                fs::remove(lock);
            }
            testing::continue_processes({pid});
            return pid;
        });
        if (taken) {
            EXPECT_EQ(r.status, 2) << r.output;
            EXPECT_NE(r.output.find(lock + " was removed while this run held it, and another fusedrnn run (process "
                                    "4242) has used the folder since: this run stops without saving"),
                      std::string::npos) << r.output;
            EXPECT_EQ(testing::read_file_bytes(out + "/last.safetensors"), saved_before) << "not written again";
            if (second >= 0) ::close(second);
        } else {
            EXPECT_EQ(r.status, 130) << r.output;
            EXPECT_NE(r.output.find("warning: " + lock + " had been removed while this run held it (by a cleanup?): "
                                    "locked again"), std::string::npos) << r.output;
            EXPECT_NE(testing::read_file_bytes(out + "/last.safetensors"), saved_before) << "saved where it stopped";
            EXPECT_TRUE(fs::exists(lock));
        }
    }
}

// Written to a log (stderr no terminal), a run still shows its progress now and then: training steps, validation
// passes (QA: nothing for a whole epoch); FUSEDRNN_PROGRESS_SECONDS sets how often, 0 never, and a bad value is named.
TEST(Cli, ProgressLinesReachALogFile) {
    const std::string dir = testing::temp_dir();
    const auto args = tiny_train(dir + "/run", 2);
    const CliResult often = run_cli(args, "", "FUSEDRNN_PROGRESS_SECONDS=0.000001 ");
    ASSERT_EQ(often.status, 0) << often.output;
    EXPECT_TRUE(std::regex_search(often.output, std::regex(R"(\nepoch 1/2 \| step \d+/\d+ \| loss )"))) << often.output;
    EXPECT_TRUE(std::regex_search(often.output, std::regex(R"(\nvalidating \| [0-9.k]+/[0-9.k]+ windows)")))
        << often.output;
    EXPECT_EQ(often.output.find('\r'), std::string::npos);  // plain lines, no terminal codes
    EXPECT_EQ(often.output.find("\033["), std::string::npos);
    const CliResult never = run_cli(tiny_train(dir + "/quiet", 2), "", "FUSEDRNN_PROGRESS_SECONDS=0 ");
    ASSERT_EQ(never.status, 0) << never.output;
    EXPECT_EQ(never.output.find("| step "), std::string::npos) << never.output;
    EXPECT_NE(never.output.find(" validating"), std::string::npos) << never.output;  // the epoch line's time
    const CliResult bad = run_cli({"info"}, "", "FUSEDRNN_PROGRESS_SECONDS=-1 ");
    EXPECT_EQ(bad.status, 2) << bad.output;
    EXPECT_NE(bad.output.find("FUSEDRNN_PROGRESS_SECONDS='-1': expected a number of seconds >= 0"), std::string::npos)
        << bad.output;
}

// A run that fails before it writes anything (here: --data names nothing) takes away the folders it made for --out,
// so a typo leaves no empty runs/forecast/ behind; a folder that was there before stays, with what it holds.
TEST(Cli, AFailedRunLeavesNoOutputFolderItMade) {
    const std::string dir = testing::temp_dir(), missing = dir + "/no_such_data";
    const CliResult r = run_cli({"train", "--data", missing, "--out", dir + "/made/by/run/", "--epochs", "1"});
    EXPECT_EQ(r.status, 2) << r.output;
    EXPECT_NE(r.output.find("does not exist"), std::string::npos) << r.output;
    EXPECT_EQ(r.output.find(".cpp:"), std::string::npos) << r.output;  // no source location for users
    const CliResult located = run_cli({"train", "--data", missing, "--epochs", "1"}, "",
                                      "FUSEDRNN_SOURCE_LOCATIONS=1 ");
    EXPECT_NE(located.output.find(".cpp:"), std::string::npos) << located.output;
    const CliResult unclear = run_cli({"train", "--data", missing, "--epochs", "1"}, "", "FUSEDRNN_SOURCE_LOCATIONS=yes ");
    EXPECT_EQ(unclear.status, 2) << unclear.output;
    EXPECT_NE(unclear.output.find("FUSEDRNN_SOURCE_LOCATIONS must be 0 or 1 (or unset), got 'yes'"), std::string::npos)
        << unclear.output;
    EXPECT_FALSE(fs::exists(dir + "/made")) << r.output;
    const std::string mine = dir + "/mine";
    fs::create_directories(mine);
    std::ofstream(mine + "/notes.txt") << "kept\n";
    const CliResult again = run_cli({"train", "--data", missing, "--out", mine + "/run", "--epochs", "1"});
    EXPECT_EQ(again.status, 2) << again.output;
    EXPECT_FALSE(fs::exists(mine + "/run"));
    EXPECT_TRUE(fs::exists(mine + "/notes.txt"));
    const CliResult existing = run_cli({"train", "--data", missing, "--out", mine, "--epochs", "1"});
    EXPECT_EQ(existing.status, 2) << existing.output;
    EXPECT_TRUE(fs::exists(mine + "/notes.txt"));
    EXPECT_FALSE(fs::exists(mine + "/.fusedrnn.lock")) << "no more than it held (QA)";
}

// A training whose validation loss stays finite but far above predicting the mean (about 1) is said to have
// diverged at its first such epoch, with the learning rate to lower; a sane rate says nothing.
TEST(Cli, AFiniteButDivergedTrainingIsSaid) {
    const std::string dir = testing::temp_dir();
    auto diverging = testing::tiny_train(dir + "/hot", 2);
    diverging.insert(diverging.end(), {"--optimizer", "rmsprop", "--lr", "100"});
    const CliResult hot = run_cli(diverging);
    ASSERT_EQ(hot.status, 0) << hot.output;
    EXPECT_NE(hot.output.find("warning: the training diverged: the validation loss is "), std::string::npos)
        << hot.output;
    EXPECT_NE(hot.output.find("after epoch 1, while predicting each variable's training mean scores about 1 "
                              "(normalized data); lower --lr (rmsprop at 100 in that epoch) or set --clip"), std::string::npos)
        << hot.output;
    EXPECT_EQ(hot.output.find("after epoch 2, while"), std::string::npos) << hot.output;  // said once
    // Resumed, the run keeps its rate: the advice is for a new run.
    auto resumed = testing::tiny_train(dir + "/hot", 3);
    resumed.insert(resumed.end(), {"--optimizer", "rmsprop", "--lr", "100", "--resume"});
    const CliResult again = run_cli(resumed);
    ASSERT_EQ(again.status, 0) << again.output;
    EXPECT_NE(again.output.find("after epoch 3, while"), std::string::npos) << again.output;
    EXPECT_NE(again.output.find("in a new run (--resume keeps the learning rate of the run it continues)"),
              std::string::npos) << again.output;
    const CliResult sane = run_cli(testing::tiny_train(dir + "/sane", 2));
    ASSERT_EQ(sane.status, 0) << sane.output;
    EXPECT_EQ(sane.output.find("diverged"), std::string::npos) << sane.output;
}

// A new run over a finished one moves the old files to previous/ first (an early stop must not leave the old best
// model and report beside the new checkpoint, and the old run is kept); --resume says what it keeps from the run and what changes.
TEST(Cli, NewRunReplacesTheOldAndResumeSaysWhatItKeeps) {
    const std::string out = testing::temp_dir() + "/replace";
    ASSERT_EQ(run_cli(tiny_train(out, 1)).status, 0);
    auto resume = tiny_train(out, 2);
    resume.insert(resume.end(), {"--resume", "--lr", "0.05", "--clip", "1"});
    *(std::find(resume.begin(), resume.end(), "--patience") + 1) = "4";
    const CliResult r = run_cli(resume);
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("--patience changes from 0 to 4 (the run has gone 0 epochs without improving"),
              std::string::npos) << r.output;
    EXPECT_NE(r.output.find("the learning rate goes on with " + out + "/last.safetensors's schedule (its --lr 0.001, "
                            "now 0.001); this command line's --lr 0.05 is not used"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("gradient clipping changes from off to 1"), std::string::npos) << r.output;
    // Epoch 2 ran at the run's rate: log.csv's lr column (not "seconds", which may read 0.05 too).
    std::ifstream log(out + "/log.csv");
    std::string line;
    std::getline(log, line);
    ASSERT_EQ(line, "epoch,step,train_loss,val_loss,grad_norm,seconds,windows_per_s,lr,best,val_seconds");
    int epochs = 0;
    while (std::getline(log, line)) {
        std::vector<std::string> f;
        std::stringstream ss(line);
        for (std::string c; std::getline(ss, c, ',');) f.push_back(c);
        ASSERT_EQ(f.size(), 10u) << line;
        EXPECT_EQ(f[7], "0.001") << line;
        ++epochs;
    }
    EXPECT_EQ(epochs, 2);

    EXPECT_NE(r.output.find("lr as the resumed run scheduled it"), std::string::npos) << r.output;
    EXPECT_EQ(r.output.find("adam lr 0.05"), std::string::npos) << "the header shows a rate not used\n" << r.output;

    // Resumed with other data or another window: the refusal names the flag's own field, not the normalization
    // statistics or the model's output size that follow from it, and once (QA: "data flags: stations: ..." again).
    for (const auto& [flag, value, expected] :
         {std::tuple<const char*, const char*, const char*>{
              "--synthetic-stations", "4", "(stations: 3 saved, 4 now); use the same"},
          {"--horizon", "6", "window.horizon: 4 saved, 6 now"}}) {
        auto other = tiny_train(out, 3);
        for (size_t i = 0; i + 1 < other.size(); ++i)
            if (other[i] == flag) other[i + 1] = value;
        other.push_back("--resume");
        const CliResult o = run_cli(other);
        EXPECT_EQ(o.status, 2) << o.output;
        EXPECT_NE(o.output.find(expected), std::string::npos) << o.output;
        EXPECT_EQ(o.output.find("stats."), std::string::npos) << o.output;
    }

    auto both = tiny_train(out, 2);
    both.insert(both.end(), {"--resume", "--overwrite"});
    const CliResult b = run_cli(both);
    EXPECT_EQ(b.status, 2) << b.output;
    EXPECT_NE(b.output.find("--overwrite starts it over: give one of them"), std::string::npos) << b.output;

    // A new run (no --resume) over the finished one: the old files move to previous/ before training starts, and
    // the next new run replaces what previous/ held.
    const std::string finished_best = testing::read_file_bytes(out + "/best.safetensors");
    const CliResult fresh = run_cli(tiny_train(out, 1));
    ASSERT_EQ(fresh.status, 0) << fresh.output;
    EXPECT_NE(fresh.output.find("keeping the previous run in " + out + "/previous/ (best.safetensors, "
                                "last.safetensors, metrics.json, log.csv, loss.svg, forecast.svg"), std::string::npos)
        << fresh.output;
    EXPECT_EQ(fresh.output.find("the run kept there before is gone"), std::string::npos) << fresh.output;
    EXPECT_EQ(testing::read_file_bytes(out + "/previous/best.safetensors"), finished_best);
    const std::string second_best = testing::read_file_bytes(out + "/best.safetensors");
    const CliResult again = run_cli(tiny_train(out, 1));
    ASSERT_EQ(again.status, 0) << again.output;
    EXPECT_NE(again.output.find("; the run kept there before is gone"), std::string::npos) << again.output;
    EXPECT_EQ(testing::read_file_bytes(out + "/previous/best.safetensors"), second_best);
    // The kept run is a checkpoint like any other: eval reads it.
    const CliResult kept = run_cli({"eval", "--checkpoint", out + "/previous/best.safetensors", "--synthetic-stations",
                                    "3", "--synthetic-years", "3", "--max-windows", "200"});
    EXPECT_EQ(kept.status, 0) << kept.output;
}

// A finished run writes its report files before it prints the report: a standard output on a full disk is an error
// (status 2, QA: an internal error, with no metrics.json), a reader gone early ends it by SIGPIPE as other tools, and
// either way every file is there.
TEST(Cli, AFailingStandardOutputLosesNoneOfTheRunsFiles) {
    if (!std::filesystem::exists("/dev/full")) GTEST_SKIP() << "this system has no /dev/full";
    const std::string dir = testing::temp_dir();
    const auto command = [&](const std::string& out) {
        std::string cmd = testing::quoted(FUSEDRNN_CLI_PATH);
        for (const auto& a : tiny_train(out, 1)) cmd += " " + testing::quoted(a);
        return cmd;
    };
    const int full = std::system((command(dir + "/full") + " > /dev/full 2> " + testing::quoted(dir + "/err.txt"))
                                     .c_str());
    EXPECT_EQ(WIFEXITED(full) ? WEXITSTATUS(full) : -1, 2);
    const std::string err = testing::read_file_bytes(dir + "/err.txt");
    EXPECT_NE(err.find("fusedrnn: error: writing to standard output failed: No space left on device"),
              std::string::npos) << err;
    // A reader that takes one line and goes: the status is the pipeline's first command's (bash's PIPESTATUS).
    const std::string piped = "bash -c " + testing::quoted(command(dir + "/piped") + " 2>/dev/null | head -1 "
                                                           ">/dev/null; exit ${PIPESTATUS[0]}");
    const int pipe_status = std::system(piped.c_str());
    EXPECT_TRUE(WIFEXITED(pipe_status) && (WEXITSTATUS(pipe_status) == 141 || WEXITSTATUS(pipe_status) == 0))
        << pipe_status;
    for (const char* run : {"/full", "/piped"})
        for (const char* file : {"metrics.json", "stations.csv", "forecast.svg", "best.safetensors", "log.csv"})
            EXPECT_TRUE(std::filesystem::exists(dir + run + "/" + file)) << run << "/" << file;
}

// The closing line names the folder as given, with one separator (QA: --out / gave "wrote //{best,last}...").
TEST(Cli, TheClosingLineNamesTheFolderWithOneSeparator) {
    const std::string out = testing::temp_dir() + "/slash/";
    const CliResult r = run_cli(tiny_train(out, 1));
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("\nwrote " + out + "{best,last}.safetensors, metrics.json"), std::string::npos) << r.output;
    // Every folder flag of an output folder: data synth, data export (lm-train's is tested with its messages).
    const std::string base = testing::temp_dir(), synth = base + "/synth/";
    const CliResult s = run_cli({"data", "synth", "--stations", "1", "--years", "1", "--out", synth});
    ASSERT_EQ(s.status, 0) << s.output;
    EXPECT_NE(s.output.find("wrote 1 station file to " + synth + " (read them with --data " +
                            synth.substr(0, synth.size() - 1) + " "), std::string::npos) << s.output;
    const std::string exported = base + "/exported//";
    const CliResult e = run_cli({"data", "export", "--data", synth, "--out", exported});
    ASSERT_EQ(e.status, 0) << e.output;
    EXPECT_NE(e.output.find("to " + base + "/exported/: "), std::string::npos) << e.output;
}

// A run file that cannot be moved to previous/ leaves the run whole in its folder: the files moved before it go back
// (QA: an immutable log.csv left the checkpoints in previous/ and the rest beside, which then read as no run).
TEST(Cli, AFailedMoveToPreviousPutsTheMovedFilesBack) {
    const std::string out = testing::temp_dir() + "/stuck", log = out + "/log.csv";
    ASSERT_EQ(run_cli(tiny_train(out, 1)).status, 0);
    if (std::system(("chattr +i '" + log + "' 2>/dev/null").c_str()) != 0)
        GTEST_SKIP() << "chattr +i is not available here (needs root and a filesystem with the immutable attribute)";
    struct Unfreeze {
        std::string path;
        ~Unfreeze() { (void)std::system(("chattr -i '" + path + "'").c_str()); }
    } unfreeze{log};
    const std::string best = testing::read_file_bytes(out + "/best.safetensors");
    const CliResult r = run_cli(tiny_train(out, 1));
    EXPECT_EQ(r.status, 2) << r.output;
    EXPECT_NE(r.output.find("cannot move the previous run's " + log + " to " + out + "/previous: Operation not "
                            "permitted; the files moved before it were put back"), std::string::npos) << r.output;
    EXPECT_EQ(testing::read_file_bytes(out + "/best.safetensors"), best);
    EXPECT_TRUE(std::filesystem::exists(out + "/last.safetensors"));
    EXPECT_FALSE(std::filesystem::exists(out + "/previous/best.safetensors"));
}

// A variable in small units (precipitation in metres: values near 0.0006) keeps its digits in the forecast CSVs
// and the report, where three fixed decimals wrote 0.001 and 0.000; predict and eval name the clock of the times.
TEST(Cli, SmallUnitsKeepTheirDigitsAndTheClockIsNamed) {
    const std::string dir = testing::temp_dir(), csv = dir + "/s.csv", run = dir + "/run";
    {
        std::ofstream f(csv);
        f << "DATE,P\n";
        const int64_t t0 = 1388534400;  // 2014-01-01 00:00:00 UTC
        for (int h = 0; h < 24 * 60; ++h)
            f << fmt::format("{},{:.7f}\n", data::format_time(t0 + int64_t(h) * 3600),
                             0.0006 + 0.0002 * std::sin(h * 2 * M_PI / 24));
    }
    const CliResult t = run_cli({"train", "--data", csv, "--format", "csv", "--csv-time", "DATE", "--hidden", "8",
                                 "--epochs", "1", "--max-batches", "3", "--input-len", "24", "--horizon", "6", "--batch",
                                 "32", "--split", "fraction:0.6,0.2", "--backend", "cpu", "--out", run});
    ASSERT_EQ(t.status, 0) << t.output;
    // Original-units MSE near 1e-8 and MAE near 1e-4: significant digits, not 0.000.
    EXPECT_TRUE(std::regex_search(t.output, std::regex(R"(\nP +\d\.\d\de-0\d +0\.000\d+ )"))) << t.output;
    const CliResult p = run_cli({"predict", "--checkpoint", run + "/best.safetensors", "--out", dir + "/fc.csv"});
    ASSERT_EQ(p.status, 0) << p.output;
    EXPECT_NE(p.output.find("6 lead times; times: the files' own clock, taken as UTC (--csv-utc-offset converts "
                            "another))"), std::string::npos) << p.output;
    const std::string fc = testing::read_file_bytes(dir + "/fc.csv");
    EXPECT_TRUE(std::regex_search(fc, std::regex(R"(,1,2014-03-02 00:00:00,0\.000\d{4}\n)"))) << fc;
    const CliResult e = run_cli({"eval", "--checkpoint", run + "/best.safetensors", "--forecasts", dir + "/ev.csv",
                                 "--max-windows", "5"});
    ASSERT_EQ(e.status, 0) << e.output;
    EXPECT_NE(e.output.find("original units; times: the files' own clock"), std::string::npos) << e.output;
    EXPECT_TRUE(std::regex_search(testing::read_file_bytes(dir + "/ev.csv"), std::regex(R"(,0\.000\d{4},0\.000\d{4}\n)")));
    const CliResult syn = run_cli({"predict", "--checkpoint", run + "/best.safetensors", "--out", dir + "/fc2.csv",
                                   "--data", csv, "--format", "csv", "--csv-time", "DATE", "--csv-utc-offset", "2"});
    EXPECT_NE(syn.output.find("times: UTC (the files' times less --csv-utc-offset)"), std::string::npos) << syn.output;
}

// predict says when an input lies far outside the training data (a pressure of 10 hPa from a line cut off
// mid-number), naming station, variable, value and time, and eval when a value lies absurdly far from the rest;
// ordinary inputs say nothing.
TEST(Cli, PredictAndEvalSayWhenInputsAreFarOutsideTheTrainingData) {
    const std::string dir = testing::temp_dir(), syn = dir + "/syn", run = dir + "/run";
    ASSERT_EQ(run_cli({"data", "synth", "--stations", "1", "--years", "3", "--gaps", "0", "--out", syn}).status, 0);
    auto train = tiny_train(run, 1, syn);
    train.insert(train.end(), {"--format", "csv", "--csv-time", "DATE"});
    ASSERT_EQ(run_cli(train).status, 0);
    std::istringstream in(testing::read_file_bytes(syn + "/SYN00000.csv"));
    std::string line, head;
    for (int i = 0; i < 100 && std::getline(in, line); ++i) head += line + "\n";
    const std::string last = line.substr(0, line.rfind(',') + 1) + "10";  // SLP 10 in the newest row
    const std::string time = line.substr(0, line.find(','));
    std::ofstream(dir + "/far.csv") << head.substr(0, head.size() - line.size() - 1) << last << "\n";
    std::ofstream(dir + "/near.csv") << head;
    const std::vector<std::string> predict = {"predict", "--checkpoint", run + "/best.safetensors", "--format", "csv",
                                              "--csv-time", "DATE", "--out", dir + "/fc.csv", "--data"};
    auto far = predict;
    far.push_back(dir + "/far.csv");
    const CliResult f = run_cli(far);
    ASSERT_EQ(f.status, 0) << f.output;
    EXPECT_NE(f.output.find("warning: 1 station has input values far outside the training data (far: SLP 10 at " +
                            time + " ("), std::string::npos) << f.output;
    EXPECT_NE(f.output.find("standard deviations below the training mean"), std::string::npos) << f.output;
    auto near = predict;
    near.push_back(dir + "/near.csv");
    const CliResult n = run_cli(near);
    ASSERT_EQ(n.status, 0) << n.output;
    EXPECT_EQ(n.output.find("far outside"), std::string::npos) << n.output;
    // eval scores such values as they are: one absurdly far from the rest of the evaluated span (a 1e34 that still
    // standardizes within float's range) is said, with where it was read and how far from the training mean.
    std::string huge = head;
    const size_t row = huge.find('\n', huge.size() / 2) + 1, end = huge.find('\n', row);
    huge.replace(huge.rfind(',', end) + 1, end - huge.rfind(',', end) - 1, "1e34");
    std::ofstream(dir + "/huge.csv") << huge;
    const std::vector<std::string> eval = {"eval", "--checkpoint", run + "/best.safetensors", "--format", "csv",
                                           "--csv-time", "DATE", "--on", "all", "--backend", "cpu", "--data"};
    auto evaluated = eval;
    evaluated.push_back(dir + "/huge.csv");
    const CliResult e = run_cli(evaluated);
    ASSERT_EQ(e.status, 0) << e.output;
    EXPECT_TRUE(std::regex_search(e.output, std::regex(R"(warning: SLP: 1 value lies absurdly far from the bulk of the )"
                                                       R"(evaluated values \(.*\): 1e\+34 at station huge at .* \()" +
                                                       dir + R"(/huge.csv:\d+\), 1.\de\+3\d standard deviations from )"
                                                             R"(the training mean)")))
        << e.output;
    EXPECT_NE(e.output.find("the scores take it in as it is. If it is no measurement, mask it with --valid-range "
                            "SLP=LO:HI"), std::string::npos) << e.output;
    auto plain = eval;
    plain.push_back(dir + "/near.csv");
    const CliResult p = run_cli(plain);
    ASSERT_EQ(p.status, 0) << p.output;
    EXPECT_EQ(p.output.find("absurdly far"), std::string::npos) << p.output;
}

// A value that would standardize beyond float's range (3e38 where the training spread is 0.0005) is an error in
// predict and eval alike, naming the file and line and how to mask it (QA: eval said "row 249 variable 1 is
// infinite", predict forecast from it); a huge far value is counted in scientific notation, not in 38 digits.
TEST(Cli, ValuesBeyondFloatOnceStandardizedAreAnErrorNamingTheLine) {
    const std::string dir = testing::temp_dir(), run = dir + "/run";
    const auto station = [&](const std::string& name, int rows, const std::string& last_c) {
        std::ofstream f(dir + "/" + name + ".csv");
        f << "DATE,TMP,C\n";
        for (int r = 0; r < rows; ++r)
            f << fmt::format("2018-01-{:02d} {:02d}:00:00,{},{}\n", 1 + r / 24, r % 24, 10 + (r * 7) % 5,
                             r + 1 == rows && !last_c.empty() ? last_c : r % 2 ? "0.001" : "0");
    };
    fs::create_directories(dir + "/train");
    station("train/S", 24 * 30, "");
    ASSERT_EQ(run_cli({"train", "--data", dir + "/train", "--format", "csv", "--targets", "TMP", "--hidden", "4",
                       "--input-len", "12", "--horizon", "3", "--batch", "32", "--max-batches", "2", "--epochs", "1",
                       "--split", "fraction:0.7,0.15", "--backend", "cpu", "--out", run}).status, 0);
    station("huge", 48, "3e38");
    const std::string said = "station huge: C 3e+38 at 2018-01-02 23:00:00 (" + dir + "/huge.csv:49) is ";
    const std::string how = "standard deviations from the training mean 0.0005 (std 0.0005): beyond what a float "
                            "holds once standardized";
    const std::vector<std::string> predict = {"predict", "--checkpoint", run + "/best.safetensors", "--backend", "cpu",
                                              "--out", dir + "/fc.csv", "--data"};
    auto p = predict;
    p.push_back(dir + "/huge.csv");
    const CliResult hp = run_cli(p);
    EXPECT_EQ(hp.status, 2) << hp.output;
    EXPECT_NE(hp.output.find(said), std::string::npos) << hp.output;
    EXPECT_NE(hp.output.find(how), std::string::npos) << hp.output;
    EXPECT_NE(hp.output.find("mask such values as missing with --valid-range C=LO:HI"), std::string::npos) << hp.output;
    const CliResult he = run_cli({"eval", "--checkpoint", run + "/best.safetensors", "--backend", "cpu", "--data",
                                  dir + "/huge.csv", "--on", "all"});
    EXPECT_EQ(he.status, 2) << he.output;
    EXPECT_NE(he.output.find(said), std::string::npos) << he.output;
    EXPECT_EQ(he.output.find("is infinite"), std::string::npos) << he.output;
    p.insert(p.end(), {"--valid-range", "C=-1:1"});
    const CliResult masked = run_cli(p);  // masked as the error says: forecast from an earlier window
    EXPECT_EQ(masked.status, 0) << masked.output;
    station("big", 48, "1e30");
    auto b = predict;
    b.push_back(dir + "/big.csv");
    const CliResult bp = run_cli(b);
    ASSERT_EQ(bp.status, 0) << bp.output;
    EXPECT_NE(bp.output.find("(2e+33 standard deviations above the training mean 0.0005)"), std::string::npos)
        << bp.output;
}

// predict and eval read files whose columns hold the checkpoint's variables in another order by name, and predict
// names the stations whose forecast starts before their data ends (a gap in the last input window).
TEST(Cli, PredictReadsColumnsByNameAndNamesStaleForecasts) {
    const std::string tmp = testing::temp_dir() + "/columns";
    const std::string syn = tmp + "/syn", moved = tmp + "/moved", run = tmp + "/run";
    ASSERT_EQ(run_cli({"data", "synth", "--stations", "3", "--years", "3", "--gaps", "0", "--out", syn}).status, 0);
    // Read as generic CSV: the variables are the file's columns in the file's order (the WEATHER-5K preset orders
    // them itself), and predict/eval take that layout over from the checkpoint.
    auto train = tiny_train(run, 1, syn);
    train.insert(train.end(), {"--format", "csv", "--csv-time", "DATE"});
    ASSERT_EQ(run_cli(train).status, 0);
    // The same files with TMP and SLP swapped (header and values); station 1 loses DEW in its last 30 rows.
    fs::create_directories(moved);
    for (const char* station : {"SYN00000", "SYN00001", "SYN00002"}) {
        std::istringstream in(testing::read_file_bytes(syn + "/" + station + ".csv"));
        std::vector<std::vector<std::string>> rows;
        for (std::string line; std::getline(in, line);) {
            std::vector<std::string> cells;
            std::stringstream cs(line);
            for (std::string cell; std::getline(cs, cell, ',');) cells.push_back(cell);
            if (line.back() == ',') cells.push_back("");
            rows.push_back(cells);
        }
        ASSERT_EQ(rows[0][1], "TMP");
        ASSERT_EQ(rows[0][5], "SLP");
        if (std::string(station) == "SYN00001")
            for (size_t r = rows.size() - 30; r < rows.size(); ++r) rows[r][2] = "";
        std::ofstream out(moved + "/" + station + ".csv");
        for (auto& cells : rows) {
            std::swap(cells[1], cells[5]);
            for (size_t c = 0; c < cells.size(); ++c) out << (c ? "," : "") << cells[c];
            out << "\n";
        }
    }
    const CliResult fresh = run_cli({"predict", "--checkpoint", run + "/best.safetensors", "--data", syn, "--backend",
                                     "cpu", "--out", tmp + "/fresh.csv"});
    ASSERT_EQ(fresh.status, 0) << fresh.output;
    EXPECT_EQ(fresh.output.find("issued before"), std::string::npos) << fresh.output;
    const CliResult p = run_cli({"predict", "--checkpoint", run + "/best.safetensors", "--data", moved, "--backend",
                                 "cpu", "--out", tmp + "/moved.csv"});
    ASSERT_EQ(p.status, 0) << p.output;
    EXPECT_NE(p.output.find("the data's columns are in another order than the checkpoint's: read as "
                            "TMP,DEW,WND_ANGLE,WND_RATE,SLP"), std::string::npos) << p.output;
    EXPECT_NE(p.output.find("1 of 3 stations' forecasts are issued before 2016-12-31 23:00:00 (the newest data of the "
                            "stations read): SYN00001 at 2016-12-"), std::string::npos) << p.output;
    EXPECT_NE(p.output.find("(the input window ending at 2016-12-31 23:00:00 is incomplete)"), std::string::npos)
        << p.output;
    // Asked for a time after the data: each forecast is stale, for the reason that holds for its station.
    const CliResult later = run_cli({"predict", "--checkpoint", run + "/best.safetensors", "--data", moved,
                                     "--backend", "cpu", "--issued-at", "2030-01-01 00:00", "--out", tmp + "/later.csv"});
    ASSERT_EQ(later.status, 0) << later.output;
    EXPECT_NE(later.output.find("3 of 3 stations' forecasts are issued before 2030-01-01 00:00:00: SYN00000 at "
                                "2016-12-31 23:00:00 (its data ends then), SYN00001 at 2016-12-"),
              std::string::npos) << later.output;
    // Too early for any window: each station is named with the reason, then the error.
    const CliResult early = run_cli({"predict", "--checkpoint", run + "/best.safetensors", "--data", moved,
                                     "--backend", "cpu", "--issued-at", "2014-01-01 10:00", "--out", tmp + "/early.csv"});
    EXPECT_EQ(early.status, 2) << early.output;
    EXPECT_NE(early.output.find("at 3 stations (not forecast): SYN00000 (11 rows up to then, fewer than the 12 a "
                                "window spans)"), std::string::npos) << early.output;
    EXPECT_FALSE(fs::exists(tmp + "/early.csv"));
    // Stations 0 and 2 read by name forecast exactly what they did from the original files.
    auto rows_of = [](const std::string& csv, const std::string& station) {
        std::istringstream in(csv);
        std::string rows;
        for (std::string line; std::getline(in, line);)
            if (line.rfind(station + ",", 0) == 0) rows += line + "\n";
        return rows;
    };
    const std::string a = testing::read_file_bytes(tmp + "/fresh.csv"), b = testing::read_file_bytes(tmp + "/moved.csv");
    for (const char* station : {"SYN00000", "SYN00002"}) {
        EXPECT_FALSE(rows_of(a, station).empty()) << station;
        EXPECT_EQ(rows_of(a, station), rows_of(b, station)) << station;
    }
    const CliResult e = run_cli({"eval", "--checkpoint", run + "/best.safetensors", "--data", moved, "--backend", "cpu",
                                 "--max-windows", "200"});
    EXPECT_EQ(e.status, 0) << e.output;
    EXPECT_NE(e.output.find("read as TMP,DEW,WND_ANGLE,WND_RATE,SLP"), std::string::npos) << e.output;
}

// `check` compares what this machine can run; where the GPU backends are missing it says so (and why), so that a
// list of cpu lines is not read as a GPU check.
TEST(Cli, CheckSaysWhichBackendsItCompared) {
    const CliResult r = run_cli({"check", "--cells", "gru,rnn_tanh", "--hidden", "3", "--layers", "1", "--steps", "3",
                                 "--batch", "2"});
    ASSERT_EQ(r.status, 0) << r.output;
    // The shape checked is said too: bidirectional unless --unidirectional.
    EXPECT_NE(r.output.find("stacks of 1 bidirectional layer(s), input 5, hidden 3; 3 steps, batch 2;"),
              std::string::npos) << r.output;
    EXPECT_NE(r.output.find("gru                cpu "), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("rnn_tanh           cpu "), std::string::npos) << r.output;
    if (fusedrnn::gpu_available()) {
        EXPECT_NE(r.output.find("gru                cuda "), std::string::npos) << r.output;
        EXPECT_EQ(r.output.find("not checked"), std::string::npos) << r.output;
    } else {
        EXPECT_NE(r.output.find("cuda, cudnn: not checked: "), std::string::npos) << r.output;
    }
    // A mistyped cell stops the command before any cell is checked.
    const CliResult typo = run_cli({"check", "--cells", "gru,foo", "--hidden", "3", "--layers", "1", "--steps", "2",
                                    "--batch", "2"});
    EXPECT_EQ(typo.status, 2) << typo.output;
    EXPECT_NE(typo.output.find("unknown cell 'foo'"), std::string::npos) << typo.output;
    EXPECT_EQ(typo.output.find("gru                cpu "), std::string::npos) << typo.output;
    const CliResult one = run_cli({"check", "--cells", "lstm", "--hidden", "3", "--layers", "2", "--steps", "2",
                                   "--batch", "2", "--unidirectional"});
    ASSERT_EQ(one.status, 0) << one.output;
    EXPECT_NE(one.output.find("stacks of 2 unidirectional layer(s)"), std::string::npos) << one.output;
    // The cell state's errors where there is one, a dash where there is none (a zero read as checked).
    EXPECT_TRUE(std::regex_search(one.output, std::regex(R"(lstm +cpu .* c_n \d\.\de-\d\d  dc0 \d\.\de-\d\d  ok)")))
        << one.output;
    EXPECT_NE(r.output.find("c_n -        dc0 -        ok"), std::string::npos) << r.output;
}

// Mistyped commands and numbers: messages that say what is wanted.
TEST(Cli, MistypedCommandsAndNumbersAreNamed) {
    const CliResult trian = run_cli({"trian"});
    EXPECT_EQ(trian.status, 2) << trian.output;
    EXPECT_NE(trian.output.find("unknown command 'trian' (did you mean 'train'?)"), std::string::npos) << trian.output;
    const CliResult sub = run_cli({"data", "inspekt"});
    EXPECT_EQ(sub.status, 2) << sub.output;
    EXPECT_NE(sub.output.find("unknown command 'data inspekt' (did you mean 'inspect'?)"), std::string::npos)
        << sub.output;
    const CliResult zero = run_cli({"train", "--hidden", "0"});
    EXPECT_NE(zero.status, 0);
    EXPECT_NE(zero.output.find("fusedrnn: error: --hidden: must be positive, got 0"), std::string::npos) << zero.output;
    // Words the command does not take, in the order they were typed (a prompt without --prompt).
    const CliResult extra = run_cli({"generate", "--checkpoint", "c.safetensors", "had", "a", "general"});
    EXPECT_EQ(extra.status, 2) << extra.output;
    EXPECT_NE(extra.output.find("fusedrnn: error: arguments were not expected: had a general"), std::string::npos)
        << extra.output;
    // A mistyped flag is named with the flag it is nearest, and the names PyTorch scripts use lead to ours; a word
    // near no flag gets no guess. A mistyped required flag is first said missing: the word is named there too.
    for (const auto& [args, expected] : std::vector<std::pair<std::vector<std::string>, std::string>>{
             {{"train", "--epoch", "3"}, "--epoch 3 (--epoch: did you mean --epochs?)"},
             {{"data", "inspect", "--csv-colums=X"}, "--csv-colums=X (--csv-colums: did you mean --csv-columns?)"},
             {{"train", "--batch_size", "8", "--learning-rate", "1"},
              "--batch_size 8 --learning-rate 1 (--batch_size: did you mean --batch?) (--learning-rate: did you mean "
              "--lr?)"},
             {{"eval", "--checkpont", "x"},
              "--checkpoint is required (--checkpont was not expected: did you mean --checkpoint?)"},
             {{"train", "--foo"}, "an argument was not expected: --foo\n"},
             // QA's recheck: either case; the equally near both named; never -h for a one-letter word, nor a guess
             // for a number that is a value ("-5").
             {{"train", "--EPOCHS", "3"}, "(--EPOCHS: did you mean --epochs?)"},
             {{"train", "--sted", "1"}, "(--sted: did you mean --step or --seed?)"},
             {{"train", "-o", "3"}, "arguments were not expected: -o 3\n"},
             {{"train", "--epochs", "3", "-5"}, "an argument was not expected: -5\n"},
             {{"train", "--output", "x"}, "(--output: did you mean --out?)"},
             {{"eval", "--ckpt", "x"}, "(--ckpt was not expected: did you mean --checkpoint?)"},
             // Near no flag, but one with more after it: that flag.
             {{"data", "inspect", "--csv-time-column", "DATE"}, "(--csv-time-column: did you mean --csv-time?)"},
             {{"train", "--data-dir", "x"}, "(--data-dir: did you mean --data?)"},
             // One whose end is the word: that flag, before a near one (QA's recheck: --step, --out-offset).
             {{"train", "--step-minutes", "10"}, "(--step-minutes: did you mean --csv-step-minutes?)"},
             {{"train", "--utc-offset", "8"}, "(--utc-offset: did you mean --csv-utc-offset?)"},
             {{"train", "--out-len", "3"}, "(--out-len: did you mean --horizon?)"}}) {
        const CliResult r = run_cli(args);
        EXPECT_EQ(r.status, 2) << r.output;
        EXPECT_NE(r.output.find(expected), std::string::npos) << r.output;
    }
    // A flag given twice, in words a user reads (CLI11: "--epochs: At Most 1 required but received 2").
    const CliResult twice = run_cli({"train", "--epochs", "1", "--epochs", "2"});
    EXPECT_EQ(twice.status, 2) << twice.output;
    EXPECT_NE(twice.output.find("fusedrnn: error: --epochs takes one value, but was given 2 (is it on the command "
                                "line twice?)"), std::string::npos) << twice.output;
    // A flag whose value was left out: CLI11 gave it the next word, a flag, and said only "3 was not expected" (QA);
    // last on the line, "--data: 1 required TEXT missing". A value that is a flag's name may be given with "=".
    for (const auto& [args, expected] : std::vector<std::pair<std::vector<std::string>, std::string>>{
             {{"train", "--data", "--epochs", "3"},
              "--data was given no value: the word after it, --epochs, is a flag (--data VALUE --epochs ...; for the "
              "value \"--epochs\" itself: --data=--epochs)"},
             {{"data", "inspect", "--data", "--format=csv"}, "--data was given no value: the word after it, --format,"},
             {{"generate", "--checkpoint", "--help"}, "--checkpoint was given no value: the word after it, --help,"},
             {{"train", "--epochs", "3", "--data"}, "--data was given no value (it takes one: TEXT)"},
             {{"train", "--epochs"}, "--epochs was given no value (it takes one: INT)"},
             {{"train", "--synthetic-gaps"}, "--synthetic-gaps was given no value (it takes one: FLOAT)"}}) {
        const CliResult r = run_cli(args);
        EXPECT_EQ(r.status, 2) << r.output;
        EXPECT_NE(r.output.find("fusedrnn: error: " + expected), std::string::npos) << r.output;
    }
    const CliResult as_value = run_cli({"train", "--data=--epochs"});
    EXPECT_EQ(as_value.status, 2) << as_value.output;
    EXPECT_NE(as_value.output.find("\"--epochs\" does not exist"), std::string::npos) << as_value.output;
    // A whole-number flag given a number that is not one, or out of range (CLI11: "Could not convert: --epochs = 1e3").
    for (const auto& [args, expected] : std::vector<std::pair<std::vector<std::string>, std::string>>{
             {{"train", "--epochs", "1e3"}, "--epochs: '1e3' is not a whole number"},
             {{"train", "--hidden", "2.5"}, "--hidden: '2.5' is not a whole number"},
             {{"train", "--epochs", "99999999999"}, "--epochs: '99999999999' is out of range"},
             {{"data", "synth", "--stations", "1e2"}, "--stations: '1e2' is not a whole number"}}) {
        const CliResult r = run_cli(args);
        EXPECT_EQ(r.status, 2) << r.output;
        EXPECT_NE(r.output.find("fusedrnn: error: " + expected + "\n"), std::string::npos) << r.output;
    }
    const CliResult huge = run_cli({"train", "--lr", "1e39"});  // a float would hold inf
    EXPECT_NE(huge.status, 0);
    EXPECT_NE(huge.output.find("--lr: '1e39' is beyond a float's range"), std::string::npos) << huge.output;
    // And one too small for a float would train with 0; too small for a double, strtod takes it for 0 (QA).
    for (const auto& [args, expected] : std::vector<std::pair<std::vector<std::string>, std::string>>{
             {{"train", "--lr", "1e-50"}, "--lr: '1e-50' is too close to zero for a float"},
             {{"train", "--synthetic-gaps", "1e-400"}, "--synthetic-gaps: '1e-400' is too close to zero for a double"},
             {{"generate", "--checkpoint", "x", "--temperature", "1e-999"},
              "--temperature: '1e-999' is too close to zero for a double"},
             // Flags without a range check of their own too (QA's recheck: --clip 1e-400 trained unclipped).
             {{"train", "--clip", "1e-400"}, "--clip: '1e-400' is too close to zero for a double"},
             {{"train", "--lr-decay=1e-400"}, "--lr-decay: '1e-400' is too close to zero for a double"}}) {
        const CliResult r = run_cli(args);
        EXPECT_EQ(r.status, 2) << r.output;
        EXPECT_NE(r.output.find("fusedrnn: error: " + expected), std::string::npos) << r.output;
    }
    // An unsigned seed would wrap -1 to 2^64 - 1, and CLI11 clamps what does not fit 64 bits: both refused.
    for (const std::vector<std::string>& command : {std::vector<std::string>{"train"},
                                                    {"lm-train", "--text", "t.txt"}})
        for (const auto& [value, expected] : {std::pair<std::string, std::string>{"-1", "'-1' is not a whole number"},
                                              {"99999999999999999999", "'99999999999999999999' does not fit 64 bits"}}) {
            std::vector<std::string> args = command;
            args.insert(args.end(), {"--seed", value});
            const CliResult seed = run_cli(args);
            EXPECT_EQ(seed.status, 2) << seed.output;
            EXPECT_NE(seed.output.find("--seed: " + expected), std::string::npos) << seed.output;
        }
    const CliResult word = run_cli({"train", "--batch", "many"});
    EXPECT_NE(word.status, 0);
    EXPECT_NE(word.output.find("--batch: 'many' is not a number"), std::string::npos) << word.output;
    const CliResult clip = run_cli([] {
        auto a = tiny_train(testing::temp_dir() + "/clip", 1);
        a.insert(a.end(), {"--clip", "-1"});
        return a;
    }());
    EXPECT_EQ(clip.status, 2) << clip.output;
    EXPECT_NE(clip.output.find("--clip must be >= 0"), std::string::npos) << clip.output;
}

}  // namespace
}  // namespace fusedrnn
