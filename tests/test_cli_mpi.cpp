// `mpirun -np P fusedrnn train` (tools/mpi_world.h, ForecastTrainer::set_up_data_parallel) on CPU processes, as a
// user launches it: P processes of N ranks train the model that P·N ranks of one process train, to the bit; a run
// stopped by Ctrl-C (mpirun forwards it to every process) stops every process at the same step and resumes to the
// uninterrupted run; processes started with other flags stop at once, naming the difference. Skipped, saying so, in
// a build without MPI (scripts/deps.sh installs it).
#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "fusedrnn/tests/cli_support.h"
#include "fusedrnn/tests/test_support.h"

namespace fusedrnn {
namespace {

namespace fs = std::filesystem;
using testing::CliResult;
using testing::quoted;
using testing::run_cli;
using testing::tiny_train;
using testing::with;

#ifdef FUSEDRNN_MPIEXEC
constexpr const char* kMpiexec = FUSEDRNN_MPIEXEC;
#else
constexpr const char* kMpiexec = nullptr;
#endif

class CliMpi : public ::testing::Test {
protected:
    void SetUp() override {
        if (!kMpiexec) GTEST_SKIP() << "this build has no MPI (apt-get install libopenmpi-dev openmpi-bin, then cmake)";
        // Open MPI refuses root without these (CI runs as root), and by default binds each process to one core and
        // will not start more processes than cores; one OpenMP thread per process on a 2-core machine.
        for (const char* v : {"OMPI_ALLOW_RUN_AS_ROOT", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM",
                              "OMPI_MCA_rmaps_base_oversubscribe"})
            ::setenv(v, "1", 1);
        ::setenv("OMPI_MCA_hwloc_base_binding_policy", "none", 1);
        ::setenv("OMP_NUM_THREADS", "1", 1);
        // In a sanitized build (scripts/check_sanitized.sh) LeakSanitizer would fail every launched process on Open
        // MPI's own allocations (its plugins are unloaded before the report: "<unknown module>"). Leaks are checked
        // without MPI (test_cli, test_data_parallel's processes on threads); memory errors and UB still are here.
        const char* asan = std::getenv("ASAN_OPTIONS");
        ::setenv("ASAN_OPTIONS", ((asan && *asan ? std::string(asan) + ":" : std::string()) + "detect_leaks=0").c_str(),
                 1);
    }

    static std::string launch(int processes) {
        return quoted(kMpiexec) + " -n " + std::to_string(processes) + " ";
    }

    // `args` with the value after `flag` replaced.
    static std::vector<std::string> set(std::vector<std::string> args, const std::string& flag,
                                        const std::string& value) {
        const auto it = std::find(args.begin(), args.end(), flag);
        EXPECT_TRUE(it != args.end() && it + 1 != args.end()) << flag;
        if (it != args.end() && it + 1 != args.end()) *(it + 1) = value;
        return args;
    }

    // The tensors of a checkpoint (parameters and optimizer state), without the header (which holds timings).
    static std::string tensor_bytes(const std::string& path) {
        const std::string b = testing::read_file_bytes(path);
        if (b.size() < 8) return {};
        uint64_t n = 0;
        std::memcpy(&n, b.data(), 8);
        return b.size() < 8 + n ? std::string() : b.substr(8 + n);
    }

    // One of the fusedrnn processes the launcher started (to signal it rather than the launcher).
    static pid_t one_process(pid_t launcher) {
        const pid_t process = testing::child_named(launcher, "fusedrnn");
        EXPECT_NE(process, launcher) << "no fusedrnn process under the launcher";
        return process;
    }

    static void expect_failed_saying(const CliResult& r, const std::string& message) {
        EXPECT_NE(r.status, 0) << r.output;
        EXPECT_NE(r.output.find(message), std::string::npos) << r.output;
    }

    static void expect_same_run(const std::string& a, const std::string& b) {
        for (const char* f : {"best.safetensors", "last.safetensors"}) {
            const std::string ta = tensor_bytes(a + "/" + f), tb = tensor_bytes(b + "/" + f);
            EXPECT_FALSE(ta.empty()) << a << "/" << f;
            EXPECT_TRUE(ta == tb) << f << " of " << a << " and " << b << " hold other tensors";
        }
    }
};

TEST_F(CliMpi, TwoProcessesTrainAsTwoRanksOfOneProcessToTheBit) {
    const std::string one = testing::temp_dir() + "/one", two = testing::temp_dir() + "/two";
    const CliResult a = run_cli(with(tiny_train(one, 2), {"--data-parallel", "2"}));
    ASSERT_EQ(a.status, 0) << a.output;
    const CliResult b = run_cli(tiny_train(two, 2), "", launch(2));
    ASSERT_EQ(b.status, 0) << b.output;
    expect_same_run(one, two);
    EXPECT_NE(b.output.find("data parallel: 2 ranks (2 processes x 1 (cpu in process 0)), 32 windows each per step, "
                            "gradients summed by host across processes over MPI"),
              std::string::npos) << b.output;
    // Process 1 is quiet: one of each line.
    EXPECT_EQ(std::count(b.output.begin(), b.output.end(), '\n'), std::count(a.output.begin(), a.output.end(), '\n'))
        << b.output;
    const auto m = nlohmann::json::parse(testing::read_file_bytes(two + "/metrics.json"));
    EXPECT_EQ(m.at("data_parallel"), nlohmann::json({{"ranks", 2}, {"processes", 2}, {"gradient_sum", "host"}}));
    const auto ma = nlohmann::json::parse(testing::read_file_bytes(one + "/metrics.json"));
    EXPECT_EQ(m.at("test").at("model"), ma.at("test").at("model"));
}

TEST_F(CliMpi, ProcessesOfSeveralRanksTrainAsTheirProductInOneProcess) {
    const std::string one = testing::temp_dir() + "/one", two = testing::temp_dir() + "/two";
    const CliResult a = run_cli(with(tiny_train(one, 2), {"--data-parallel", "4"}));
    ASSERT_EQ(a.status, 0) << a.output;
    const CliResult b = run_cli(with(tiny_train(two, 2), {"--data-parallel", "2"}), "", launch(2));
    ASSERT_EQ(b.status, 0) << b.output;
    EXPECT_NE(b.output.find("data parallel: 4 ranks (2 processes x 2 (cpu, cpu in process 0)), 16 windows each"),
              std::string::npos) << b.output;
    expect_same_run(one, two);

    // 2 processes x 3 ranks do not divide a batch of 64.
    expect_failed_saying(run_cli(with(tiny_train(testing::temp_dir() + "/three", 1), {"--data-parallel", "3"}), "",
                                 launch(2)),
                         "--batch 64 does not split evenly over 6 data-parallel ranks (2 processes x --data-parallel "
                         "3): use a multiple of 6");
}

TEST_F(CliMpi, ProcessesStartedWithOtherFlagsStopNamingTheDifference) {
    const std::string out = testing::temp_dir() + "/run";
    // MPMD: process 0 with --seed 1 (tiny_train's), process 1 with --seed 2.
    std::string first = quoted(kMpiexec) + " -n 1 " + quoted(FUSEDRNN_CLI_PATH);
    for (const auto& a : tiny_train(out, 1)) first += " " + quoted(a);
    expect_failed_saying(run_cli(set(tiny_train(out, 1), "--seed", "2"), "", first + " : -n 1 "),
                         "the processes of this run disagree on their ranks, model, optimizer, schedule and data: "
                         "process 1 has 'seed 2' where process 0 has 'seed 1'");
    EXPECT_FALSE(fs::exists(out + "/metrics.json"));
}

// Only `train` runs over several processes: another command under mpirun is refused by every process, not run P
// times over the same output files.
TEST_F(CliMpi, OtherCommandsRefuseToRunAsSeveralProcesses) {
    const std::string out = testing::temp_dir() + "/run";
    ASSERT_EQ(run_cli(tiny_train(out, 1)).status, 0);
    expect_failed_saying(run_cli({"predict", "--checkpoint", out + "/best.safetensors", "--backend", "cpu", "--out",
                                  out + "/f.csv"}, "", launch(2)),
                         "this is one of 2 processes started by an MPI launcher, but only `fusedrnn train` runs over "
                         "several processes: run `fusedrnn predict` once, without mpirun");
    EXPECT_FALSE(fs::exists(out + "/f.csv"));
}

// Ctrl-C to the processes (`pkill -INT -x fusedrnn`, docs/forecasting.md): they agree to stop at the same step,
// process 0 saves, and --resume under mpirun continues that epoch to the run one process of two ranks makes without a
// stop. (Not Ctrl-C to mpirun: Open MPI's sends the processes SIGTERM a second later and SIGKILL a second after that,
// so a save that takes over a second on a busy disk would be cut off; QA measured 3 ms, but this test must not race.)
TEST_F(CliMpi, StoppedProcessesResumeToTheUninterruptedRun) {
    const std::string dir = testing::temp_dir(), out = dir + "/run", ref = dir + "/ref";
    const auto args = set(tiny_train(out, 1000), "--max-batches", "40");
    const CliResult stopped = testing::run_then_signal(
        args, dir + "/train.log", "epoch 1/1000", 0, {kMpiexec, "-n", "2"}, [](pid_t launcher) {
            const std::vector<pid_t> processes = testing::children_named(launcher, "fusedrnn");
            EXPECT_EQ(processes.size(), 2u) << "the two fusedrnn processes under the launcher";
            for (pid_t p : processes) ::kill(p, SIGINT);
            return launcher;  // signal 0: nothing more
        });
    EXPECT_NE(stopped.status, 0) << stopped.output;
    const std::regex where(R"(interrupted: stopped at epoch (\d+), step (\d+)/40)");
    std::set<std::string> stops;
    for (auto it = std::sregex_iterator(stopped.output.begin(), stopped.output.end(), where);
         it != std::sregex_iterator(); ++it)
        stops.insert((*it)[1].str() + "/" + (*it)[2].str());
    ASSERT_EQ(stops.size(), 1u) << "every process stops at the same step\n" << stopped.output;
    EXPECT_NE(stopped.output.find("process 0 saved " + out + "/last.safetensors"), std::string::npos)
        << stopped.output;
    std::smatch m;
    ASSERT_TRUE(std::regex_search(stopped.output, m, where));
    const std::string epoch = m[1].str(), step = m[2].str();

    const auto again = set(args, "--epochs", epoch);
    const CliResult r = run_cli(with(again, {"--resume"}), "", launch(2));
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("in epoch " + epoch + " at step " + step + "/40"), std::string::npos) << r.output;

    const CliResult u = run_cli(with(set(again, "--out", ref), {"--data-parallel", "2"}));
    ASSERT_EQ(u.status, 0) << u.output;
    expect_same_run(ref, out);
}

// A process killed mid-run (the OOM killer, a lost machine): the launcher ends the whole job within seconds, so the
// other process is not left waiting forever in a collective for a peer that is gone (fusedrnn adds no MPI timeout:
// this is the launcher's job, and Open MPI's mpirun does it), and the checkpoints left behind, written atomically by
// process 0, are whole: --resume under mpirun continues from them, past the dead run's stale folder lock.
TEST_F(CliMpi, AKilledProcessEndsTheJobAndTheRunResumes) {
    const std::string dir = testing::temp_dir(), out = dir + "/run";
    const auto args = set(tiny_train(out, 1000), "--max-batches", "1000");  // ~0.5 s epochs: a few before the kill
    const auto start = std::chrono::steady_clock::now();
    const CliResult killed = testing::run_then_signal(args, dir + "/train.log", "epoch 1/1000", SIGKILL,
                                                      {kMpiexec, "-n", "2"}, one_process);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_NE(killed.status, 0) << killed.output;
    EXPECT_LT(seconds, 100.0) << killed.output;
    // The checkpoint holds at most one epoch more than the log shows: resume to two past it.
    const std::regex line(R"(epoch (\d+)/1000)");
    int shown = 0;
    for (auto it = std::sregex_iterator(killed.output.begin(), killed.output.end(), line);
         it != std::sregex_iterator(); ++it)
        shown = std::max(shown, std::stoi((*it)[1].str()));
    ASSERT_GE(shown, 1) << killed.output;
    const CliResult r = run_cli(with(set(args, "--epochs", std::to_string(shown + 2)), {"--resume"}), "", launch(2));
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("resumed from " + out + "/last.safetensors after epoch "), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("epoch " + std::to_string(shown + 2) + "/" + std::to_string(shown + 2)), std::string::npos)
        << r.output;
}

// Process 0 failing as it saves (here: the folder's lock file was replaced by another run's, so it stops rather
// than overwrite that run's files) while process 1 has gone on to the next step: the error ends the whole job at
// once (MPI_Abort), naming the cause, rather than leaving process 1 waiting FUSEDRNN_PEER_TIMEOUT_S (600 s by
// default) for a peer that will never come; the checkpoint saved before the lock went is left as it was.
TEST_F(CliMpi, AnErrorAsProcessZeroSavesEndsTheJobAtOnce) {
    const std::string dir = testing::temp_dir(), out = dir + "/run", lock = out + "/.fusedrnn.lock";
    ::unsetenv("FUSEDRNN_PEER_TIMEOUT_S");
    std::string saved_before;
    int other = -1;
    const auto start = std::chrono::steady_clock::now();
    // Signal 0 sends nothing: the run goes on to its end-of-epoch save, which finds the other run's lock.
    const CliResult r = testing::run_then_signal(
        set(tiny_train(out, 1000), "--max-batches", "40"), dir + "/train.log", "epoch 1/1000", 0,
        {kMpiexec, "-n", "2"}, [&](pid_t launcher) {
            const std::vector<pid_t> processes = testing::children_named(launcher, "fusedrnn");
            EXPECT_EQ(processes.size(), 2u) << "the two fusedrnn processes under the launcher";
            testing::stop_between_saves(processes, out);
            saved_before = testing::read_file_bytes(out + "/last.safetensors");
            other = testing::lock_file_replaced(lock, "4242");
            testing::continue_processes(processes);
            return launcher;
        });
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (other >= 0) ::close(other);
    EXPECT_NE(r.status, 0) << r.output;
    EXPECT_LT(seconds, 60.0) << r.output;
    EXPECT_NE(r.output.find(lock + " was removed while this run held it, and another fusedrnn run (process 4242) has "
                            "used the folder since: this run stops without saving"),
              std::string::npos) << r.output;
    EXPECT_EQ(r.output.find("FUSEDRNN_PEER_TIMEOUT_S"), std::string::npos) << "ended by the error, not a timeout\n"
                                                                          << r.output;
    EXPECT_FALSE(saved_before.empty());
    EXPECT_EQ(testing::read_file_bytes(out + "/last.safetensors"), saved_before) << "not written again";
}

// A process that stays alive but stops answering (here SIGSTOP; in life a hung filesystem, host thread or GPU) would
// leave the other waiting in the step's collective forever, and mpirun with it. Once training has started the
// collectives time out after FUSEDRNN_PEER_TIMEOUT_S: the waiting process stops with an error naming the variable and
// ends the run (MPI_Abort, which also ends the stopped process).
TEST_F(CliMpi, AStoppedProcessTimesOutAndEndsTheJob) {
    const std::string dir = testing::temp_dir(), out = dir + "/run";
    // 10 s: the waiting starts with the first epoch, while process 0 alone writes its checkpoints (a busy CI disk's
    // fsync can take seconds); process 1 must not time out on that, before the test has stopped anyone.
    const testing::ScopedEnv timeout("FUSEDRNN_PEER_TIMEOUT_S", "10");
    const auto start = std::chrono::steady_clock::now();
    const CliResult stopped = testing::run_then_signal(
        set(tiny_train(out, 1000), "--max-batches", "1000"), dir + "/train.log", "epoch 1/1000", SIGSTOP,
        {kMpiexec, "-n", "2"}, one_process);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_NE(stopped.status, 0) << stopped.output;
    EXPECT_LT(seconds, 100.0) << stopped.output;
    const std::regex waited(R"(process [01] of 2 waited [0-9.]+ s in an? [a-z-]+ for the other processes )"
                            R"(\(FUSEDRNN_PEER_TIMEOUT_S = 10\): one of them is stuck)");
    EXPECT_TRUE(std::regex_search(stopped.output, waited)) << stopped.output;
}

}  // namespace
}  // namespace fusedrnn
