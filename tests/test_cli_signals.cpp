// The CLI and signals beyond Ctrl-C (tools/interrupt.h): a hang-up saves training as SIGTERM does, unless the run was
// started to ignore it (nohup); a closed output pipe (`| head`, or a `| tee` that the same Ctrl-C ended) stops
// training with a save instead of killing it unsaved; and outside training every such signal removes the temp files
// being written before it ends the process; past the final report's last stop, a signal lets its files finish.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli_support.h"
#include "fusedrnn/models/checkpoint.h"

namespace fusedrnn {
namespace {

namespace fs = std::filesystem;
using testing::CliResult;
using testing::run_then_signal;

std::vector<std::string> long_training(const std::string& out) {
    auto args = testing::tiny_train(out, 1000);
    *(std::find(args.begin(), args.end(), "--max-batches") + 1) = "40";
    return args;
}

// Where last.safetensors says the run stopped: the step within the epoch in progress, or -1 for none.
long steps_done_in_progress(const std::string& out) {
    const nlohmann::json trainer = read_checkpoint(out + "/last.safetensors").extra.at("trainer");
    return trainer.contains("epoch_in_progress") ? trainer.at("epoch_in_progress").at("steps_done").get<long>() : -1;
}

std::vector<std::string> temp_files_in(const std::string& folder) {
    std::vector<std::string> found;
    for (const auto& entry : fs::directory_iterator(folder))
        if (entry.path().filename().string().find(".tmp.") != std::string::npos) found.push_back(entry.path());
    return found;
}

struct SignalAtLine {
    std::string wait_for;
    int sig;
};

// Runs the CLI with its output to a pipe read here, and sends each signal the moment a line holding its `wait_for`
// is read, in order (the CLI is then rarely more than a few writes further). Returns the exit status (-1 if ended by
// a signal) and the output.
CliResult signal_at_lines(const std::vector<std::string>& args, const std::vector<SignalAtLine>& signals) {
    CliResult r;
    int fds[2];
    if (::pipe(fds) != 0) {
        ADD_FAILURE() << "pipe failed";
        return r;
    }
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::dup2(fds[1], 1);
        ::dup2(fds[1], 2);
        ::close(fds[0]);
        ::close(fds[1]);
        testing::exec_cli({}, args);
    }
    ::close(fds[1]);
    size_t sent = 0;
    char c = 0;
    std::string line;
    while (::read(fds[0], &c, 1) == 1) {
        r.output += c;
        if (c != '\n') {
            line += c;
            continue;
        }
        if (sent < signals.size() && line.find(signals[sent].wait_for) != std::string::npos) {
            ::kill(pid, signals[sent].sig);
            ++sent;
        }
        line.clear();
    }
    ::close(fds[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
}

CliResult signal_at_line(const std::vector<std::string>& args, const std::string& wait_for, int sig) {
    return signal_at_lines(args, {{wait_for, sig}});
}

// A signal once the final report is computed (past its last point of stopping): the run is complete, its files are
// finished and it ends as a run does (exit 0), saying so, not "stopping after this step to save a checkpoint". The
// signal lands before the end in nearly every try (a few writes are left): tried until it does, up to 5 times.
TEST(CliSignals, ASignalWhileTheReportsFilesAreWrittenLetsThemFinish) {
    bool landed = false;
    for (int attempt = 0; attempt < 5 && !landed; ++attempt) {
        const std::string out = testing::temp_dir() + "/run";
        const CliResult r = signal_at_line(testing::tiny_train(out, 1), "evaluated the best checkpoint", SIGTERM);
        ASSERT_EQ(r.status, 0) << r.output;
        EXPECT_EQ(r.output.find("stopping after this step"), std::string::npos) << r.output;
        for (const char* file : {"best.safetensors", "last.safetensors", "metrics.json", "log.csv", "loss.svg",
                                 "stations.csv", "forecast.svg"})
            EXPECT_TRUE(fs::exists(out + "/" + file)) << file;
        landed = r.output.find("fusedrnn: the run is complete; finishing its report first") !=
                 std::string::npos;
    }
    EXPECT_TRUE(landed) << "in 5 tries the signal never landed before the run's end";
}

// A signal during the final evaluation (training complete and saved) says that it stops the evaluation, not
// "stopping after this step to save a checkpoint" (QA), and ends with 130, naming how to get the report. The signal
// is sent at the last epoch's line (its checkpoints are saved before it is printed): tried until it lands during the
// evaluation (all windows of the splits, a tenth of a second), up to 5 times.
TEST(CliSignals, ASignalDuringTheFinalEvaluationSaysItStopsThat) {
    bool landed = false;
    for (int attempt = 0; attempt < 5 && !landed; ++attempt) {
        const std::string out = testing::temp_dir() + "/run";
        auto args = testing::tiny_train(out, 1);
        *(std::find(args.begin(), args.end(), "--eval-windows") + 1) = "1000000";
        const CliResult r = signal_at_line(args, "epoch 1/1 ", SIGTERM);
        EXPECT_EQ(r.output.find("stopping after this step"), std::string::npos) << r.output;
        landed = r.output.find("fusedrnn: training is complete and saved; stopping the final evaluation") !=
                 std::string::npos;
        if (landed) {
            EXPECT_EQ(r.status, 130) << r.output;
            EXPECT_NE(r.output.find("stopped before the final report; training is complete and saved in " + out),
                      std::string::npos) << r.output;
        }
    }
    EXPECT_TRUE(landed) << "in 5 tries the signal never landed during the final evaluation";
}

// A signal after the last line, while the process ends: the run is complete, and it ends so (exit 0), not by the
// signal. The signal lands after the training's signal handling would have ended (its files written) or after the
// exit; before the handling was held to the process's end, the first killed the process in most tries.
TEST(CliSignals, ASignalAfterTheLastLineLeavesTheExitStatusZero) {
    for (int attempt = 0; attempt < 5; ++attempt) {
        const std::string out = testing::temp_dir() + "/run";
        const CliResult r = signal_at_line(testing::tiny_train(out, 1), "wrote " + out, SIGTERM);
        ASSERT_EQ(r.status, 0) << "try " << attempt + 1 << " (-1: ended by the signal)\n" << r.output;
        EXPECT_EQ(r.output.find("stopping after this step"), std::string::npos) << r.output;
    }
}

// lm-train too: a signal after its last point of stopping (the final evaluation) lets its last lines finish, exit 0,
// not "stopping after this step" (there is none) nor an end by the signal.
TEST(CliSignals, LmTrainEndsAsCompleteOnASignalAfterItsFinalEvaluation) {
    const std::string dir = testing::temp_dir(), text = dir + "/tiny.txt";
    std::ofstream(text) << "the cat sat on a mat . the dog lay on the log . the cat sat on a mat .\n";
    for (int attempt = 0; attempt < 3; ++attempt) {
        const std::string out = dir + "/run" + std::to_string(attempt);
        const CliResult r = signal_at_line({"lm-train", "--text", text, "--heldout", "0", "--epochs", "2", "--hidden",
                                            "8", "--embedding", "4", "--backend", "cpu", "--out", out},
                                           "final     training windows", SIGTERM);
        ASSERT_EQ(r.status, 0) << "try " << attempt + 1 << " (-1: ended by the signal)\n" << r.output;
        EXPECT_EQ(r.output.find("stopping after this step"), std::string::npos) << r.output;
        EXPECT_NE(r.output.find("saved     " + out), std::string::npos) << r.output;
    }
}

// SIGHUP (the ssh session or terminal gone) during training: saved at the next step, exit 130, like SIGTERM.
TEST(CliSignals, AHangUpDuringTrainingSavesLikeSigterm) {
    const std::string dir = testing::temp_dir(), out = dir + "/run";
    const CliResult r = run_then_signal(long_training(out), dir + "/train.log", "epoch 1/1000", SIGHUP);
    EXPECT_EQ(r.status, 130) << "-1: ended by the signal, unsaved\n" << r.output;
    EXPECT_NE(r.output.find("interrupted: stopped at epoch "), std::string::npos) << r.output;
    EXPECT_GE(steps_done_in_progress(out), 0) << r.output;
}

// `timeout -s TERM` signals its child, then its process group, the child again: one request, sent twice by the same
// process at once, saves and stops as one does (it ended the run unsaved, as a second Ctrl-C does).
TEST(CliSignals, TheSameSignalTwiceFromOneSenderIsOneRequest) {
    const std::string dir = testing::temp_dir(), out = dir + "/run";
    const CliResult r = run_then_signal(long_training(out), dir + "/train.log", "epoch 1/1000", SIGTERM, {}, nullptr, 2);
    EXPECT_EQ(r.status, 130) << "-1: ended by the signal, unsaved\n" << r.output;
    EXPECT_NE(r.output.find("interrupted: stopped at epoch "), std::string::npos) << r.output;
    EXPECT_GE(steps_done_in_progress(out), 0) << r.output;
}

// The repeat may come late, once the save is done and the process is ending (QA: `kill -TERM` twice 30-70 ms apart
// ended half the runs by the signal, exit 143, some before their "saved" line): still the same request, exit 130.
TEST(CliSignals, TheSameSignalRepeatedAfterTheSaveIsStillOneRequest) {
    const std::string out = testing::temp_dir() + "/run";
    const CliResult r = signal_at_lines(long_training(out), {{"epoch 1/1000", SIGTERM},
                                                             {"interrupted: stopped at epoch ", SIGTERM}});
    EXPECT_EQ(r.status, 130) << "-1: ended by the signal\n" << r.output;
    EXPECT_NE(r.output.find("(continue with --resume)"), std::string::npos) << r.output;
    EXPECT_GE(steps_done_in_progress(out), 0) << r.output;
}

// Under nohup SIGHUP stays ignored: the run trains on (a later Ctrl-C still saves and stops it).
TEST(CliSignals, AHangUpIgnoredAtStartStaysIgnored) {
    const std::string dir = testing::temp_dir(), out = dir + "/run";
    bool alive_after_hangup = false;
    const CliResult r = run_then_signal(long_training(out), dir + "/train.log", "epoch 1/1000", SIGINT,
                                        {"/usr/bin/nohup"}, [&](pid_t pid) {
                                            ::kill(pid, SIGHUP);
                                            std::this_thread::sleep_for(std::chrono::milliseconds(300));
                                            char state = 0;
                                            alive_after_hangup = testing::process_state(pid, &state) && state != 'Z';
                                            return pid;
                                        });
    EXPECT_TRUE(alive_after_hangup) << r.output;
    EXPECT_EQ(r.output.find("stopping after this step"), r.output.rfind("stopping after this step"))
        << "one stop, by the Ctrl-C\n" << r.output;
    EXPECT_EQ(r.status, 130) << r.output;
}

// Output into a pipe whose reader goes (`fusedrnn train ... | head`), or goes with the Ctrl-C that also reaches the
// run (`... 2>&1 | tee log`, Ctrl-C ends tee too): the run saves where it is and exits 130, rather than being killed
// by SIGPIPE at its next line of output, unsaved (QA: 1 run in 5 lost its epoch's work so).
TEST(CliSignals, AClosedOutputPipeStopsTrainingWithASave) {
    for (const bool ctrl_c : {false, true}) {
        SCOPED_TRACE(ctrl_c ? "the pipe closed, then Ctrl-C" : "the pipe closed");
        const std::string out = testing::temp_dir() + "/run";
        int fds[2];
        ASSERT_EQ(::pipe(fds), 0);
        const pid_t pid = ::fork();
        ASSERT_GE(pid, 0);
        if (pid == 0) {
            ::signal(SIGPIPE, SIG_DFL);  // as a shell starts a command
            ::dup2(fds[1], 1);
            ::dup2(fds[1], 2);
            ::close(fds[0]);
            ::close(fds[1]);
            std::vector<std::string> args = long_training(out);
            args.insert(args.begin(), FUSEDRNN_CLI_PATH);
            std::vector<char*> argv;
            for (auto& a : args) argv.push_back(a.data());
            argv.push_back(nullptr);
            ::execv(argv[0], argv.data());
            ::_exit(98);
        }
        ::close(fds[1]);
        std::string seen;
        char buf[4096];
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
        while (seen.find("epoch 1/1000") == std::string::npos && std::chrono::steady_clock::now() < deadline) {
            const ssize_t n = ::read(fds[0], buf, sizeof buf);
            if (n <= 0) break;
            seen.append(buf, size_t(n));
        }
        ASSERT_NE(seen.find("epoch 1/1000"), std::string::npos) << seen;
        ::close(fds[0]);  // the reader goes
        if (ctrl_c) ::kill(pid, SIGINT);
        int status = 0;
        ASSERT_EQ(::waitpid(pid, &status, 0), pid);
        EXPECT_EQ(WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status), 130) << "negative: ended by that signal";
        EXPECT_GE(steps_done_in_progress(out), 0) << "saved where it stopped";
        EXPECT_TRUE(temp_files_in(out).empty());
    }
}

// Outside training (here `data synth` writing station files) Ctrl-C, SIGTERM, SIGHUP and SIGPIPE end the command as
// they would any program, but first remove the temp files it was writing: none is left beside the station files.
TEST(CliSignals, ASignalOutsideTrainingRemovesTheTempFilesBeingWritten) {
    for (const int sig : {SIGINT, SIGTERM, SIGHUP, SIGPIPE}) {
        SCOPED_TRACE(::strsignal(sig));
        const std::string dir = testing::temp_dir(), out = dir + "/synth";
        const pid_t pid = ::fork();
        ASSERT_GE(pid, 0);
        if (pid == 0) {
            for (int s : {SIGINT, SIGTERM, SIGHUP, SIGPIPE}) ::signal(s, SIG_DFL);
            const int null = ::open("/dev/null", O_WRONLY);
            ::dup2(null, 1);
            ::dup2(null, 2);
            ::setenv("OMP_NUM_THREADS", "1", 1);  // one writer: the signal is handled on the thread that writes
            std::vector<std::string> args{FUSEDRNN_CLI_PATH, "data", "synth", "--stations", "200", "--years", "10",
                                          "--out", out};
            std::vector<char*> argv;
            for (auto& a : args) argv.push_back(a.data());
            argv.push_back(nullptr);
            ::execv(argv[0], argv.data());
            ::_exit(98);
        }
        // Caught stopped with a temp file open (a file takes tens of ms to write; the gaps between them are short).
        bool caught = false;
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
        while (!caught && std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
            if (!fs::exists(out)) continue;
            ::kill(pid, SIGSTOP);
            char state = 0;
            while (testing::process_state(pid, &state) && state != 'T' && state != 'Z')
                std::this_thread::sleep_for(std::chrono::microseconds(200));
            caught = !temp_files_in(out).empty();
            if (!caught) ::kill(pid, SIGCONT);
        }
        ASSERT_TRUE(caught) << "no temp file seen in " << out;
        ::kill(pid, sig);
        ::kill(pid, SIGCONT);
        int status = 0;
        ASSERT_EQ(::waitpid(pid, &status, 0), pid);
        EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == sig) << "ended as the signal ends a program";
        EXPECT_EQ(temp_files_in(out), std::vector<std::string>{});
    }
}

}  // namespace
}  // namespace fusedrnn
