// Running the built `fusedrnn` binary from a test (test_cli, test_cli_mpi): its exit status and output, directly or
// under a launcher (mpirun), optionally stopped by a signal once its log shows a given line.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "fusedrnn/tests/test_support.h"

namespace fusedrnn::testing {

struct CliResult {
    int status = -1;     // exit status (-1 if it did not exit normally)
    std::string output;  // stdout and stderr together
};

inline std::string quoted(const std::string& s) {
    std::string q = "'";
    for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return q + "'";
}

// shell_prefix: run before the CLI in the same shell (e.g. a ulimit, or a launcher and its flags).
inline CliResult run_cli(const std::vector<std::string>& args, const std::string& stdin_text = "",
                         const std::string& shell_prefix = "") {
    std::string cmd = shell_prefix + quoted(FUSEDRNN_CLI_PATH);
    for (const auto& a : args) cmd += " " + quoted(a);
    if (!stdin_text.empty()) {
        const std::string in = temp_dir() + "/stdin.txt";
        std::ofstream(in) << stdin_text;
        cmd += " < " + quoted(in);
    }
    cmd += " 2>&1";
    CliResult r;
    FILE* p = ::popen(cmd.c_str(), "r");
    if (!p) {
        ADD_FAILURE() << "popen failed: " << cmd;
        return r;
    }
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
    const int st = ::pclose(p);
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return r;
}

// A command line with more arguments after it (a base command and the flags a case adds).
inline std::vector<std::string> with(std::vector<std::string> args, const std::vector<std::string>& more) {
    args.insert(args.end(), more.begin(), more.end());
    return args;
}

// A few stations, short windows, a handful of batches: a real run of every stage in well under a second. On three
// synthetic stations, or on the station files `data` names (--data excludes the synthetic-data flags).
inline std::vector<std::string> tiny_train(const std::string& out, int epochs, const std::string& data = "") {
    std::vector<std::string> a{"train"};
    if (data.empty()) a.insert(a.end(), {"--synthetic-stations", "3", "--synthetic-years", "3"});
    else a.insert(a.end(), {"--data", data});
    a.insert(a.end(), {"--cell", "gru", "--hidden", "8", "--input-len", "12", "--horizon", "4", "--batch", "64",
                       "--max-batches", "3", "--epochs", std::to_string(epochs), "--patience", "0", "--eval-windows",
                       "500", "--backend", "cpu", "--seed", "1", "--out", out});
    return a;
}

// A process's state letter from /proc ('T' stopped, 'R' running, ...) and its parent; false when it is gone.
inline bool process_state(pid_t pid, char* state, long* ppid = nullptr, std::string* name = nullptr) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(stat, line)) return false;
    // "pid (comm) state ppid ...": comm may hold spaces, so split after its closing parenthesis.
    const size_t open = line.find('('), close = line.rfind(')');
    if (open == std::string::npos || close == std::string::npos || close < open) return false;
    std::istringstream rest(line.substr(close + 1));
    std::string letter;
    long parent = 0;
    rest >> letter >> parent;
    if (letter.empty()) return false;
    *state = letter[0];
    if (ppid) *ppid = parent;
    if (name) *name = line.substr(open + 1, close - open - 1);
    return true;
}

// The children of `parent` whose command name is `name` (from /proc), oldest first.
inline std::vector<pid_t> children_named(pid_t parent, const std::string& name) {
    std::vector<pid_t> found;
    for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
        const std::string pid_text = entry.path().filename().string();
        if (pid_text.find_first_not_of("0123456789") != std::string::npos) continue;
        const pid_t pid = pid_t(std::stol(pid_text));
        char state = 0;
        long ppid = 0;
        std::string comm;
        if (process_state(pid, &state, &ppid, &comm) && ppid == parent && comm == name) found.push_back(pid);
    }
    std::sort(found.begin(), found.end());
    return found;
}

// Stops `processes` (SIGSTOP) at a moment when no file is being written into `folder` (none of the temp files an
// atomic write makes is there). A checkpoint save checks the run's lock and replaces its file only while its temp
// file exists, so whatever the caller does to the folder before continue_processes() comes between two saves, not
// between a save's check and its file (QA: a test that replaced the lock file failed on CI when an epoch's save,
// past its check, landed just after). Epochs here take milliseconds: a save is caught at most a few times.
inline void stop_between_saves(const std::vector<pid_t>& processes, const std::string& folder) {
    for (int attempt = 0; attempt < 2000; ++attempt) {
        for (pid_t p : processes) ::kill(p, SIGSTOP);
        for (pid_t p : processes) {
            char state = 0;
            while (process_state(p, &state) && state != 'T' && state != 't' && state != 'Z')
                std::this_thread::sleep_for(std::chrono::microseconds(200));
        }
        bool writing = false;
        std::error_code ec;
        for (const auto& entry : std::filesystem::directory_iterator(folder, ec))
            writing = writing || entry.path().filename().string().find(".tmp.") != std::string::npos;
        if (!writing) return;
        for (pid_t p : processes) ::kill(p, SIGCONT);
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ADD_FAILURE() << "every stop of the run found a file being written into " << folder;
}

inline void continue_processes(const std::vector<pid_t>& processes) {
    for (pid_t p : processes) ::kill(p, SIGCONT);
}

// The newest child of `parent` whose command name is `name` (from /proc), or `parent` when it has none: under a
// launcher, one of the processes it started.
inline pid_t child_named(pid_t parent, const std::string& name) {
    const std::vector<pid_t> all = children_named(parent, name);
    return all.empty() ? parent : all.back();
}

// Puts a lock file of another run (flock held, `holder` written in it as a process id) where a run's lock file
// `lock` is, in one rename: the run never finds the path empty, so it cannot lock a file of its own there first
// (its epochs may take a millisecond). Returns the descriptor that holds the flock.
inline int lock_file_replaced(const std::string& lock, const std::string& holder) {
    const std::string other = lock + ".other";
    const int fd = ::open(other.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0644);
    EXPECT_GE(fd, 0) << other;
    EXPECT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);
    EXPECT_EQ(::write(fd, holder.data(), holder.size()), ssize_t(holder.size()));
    EXPECT_EQ(std::rename(other.c_str(), lock.c_str()), 0) << lock;
    return fd;
}

// In a child process: becomes the CLI (under `launcher`, when given) with `args`; exit 98 if it cannot.
[[noreturn]] inline void exec_cli(const std::vector<std::string>& launcher, const std::vector<std::string>& args) {
    std::vector<std::string> copy = launcher;
    copy.push_back(FUSEDRNN_CLI_PATH);
    copy.insert(copy.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(98);
}

// Runs the CLI in a child process (output to `log`; `launcher`, when given, is the program and flags to run it
// under, e.g. {"/usr/bin/mpiexec", "-n", "2"}), waits until the log shows `wait_for`, sends `sig` to the child (or,
// with `target`, to the process target(child) picks; `times` over 1: that often at once, as `timeout` does), and
// returns its exit status (-1 if ended by a signal) and the log. A child still running 120 s after the signal is a
// failure, and is killed with everything it started.
inline CliResult run_then_signal(const std::vector<std::string>& args, const std::string& log,
                                 const std::string& wait_for, int sig,
                                 const std::vector<std::string>& launcher = {},
                                 const std::function<pid_t(pid_t)>& target = nullptr, int times = 1) {
    namespace fs = std::filesystem;
    CliResult r;
    const pid_t pid = ::fork();
    if (pid < 0) {
        ADD_FAILURE() << "fork failed";
        return r;
    }
    if (pid == 0) {  // child: the CLI with stdout and stderr to the log, in a process group of its own
        ::setpgid(0, 0);
        std::FILE* f = std::freopen(log.c_str(), "w", stdout);
        if (!f || ::dup2(::fileno(stdout), 2) < 0) ::_exit(99);
        exec_cli(launcher, args);
    }
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    int status = 0;
    pid_t done = 0;
    // A child that ends before it shows `wait_for` (an error) is not waited for 120 s, nor is its reaped id signalled.
    while ((!fs::exists(log) || read_file_bytes(log).find(wait_for) == std::string::npos) &&
           (done = ::waitpid(pid, &status, WNOHANG)) == 0 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (done == 0)
        for (int i = 0; i < times; ++i) ::kill(target ? target(pid) : pid, sig);  // `times` back to back, as timeout
    deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (done == 0 && (done = ::waitpid(pid, &status, WNOHANG)) == 0 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (done == 0) {
        ADD_FAILURE() << "still running 120 s after signal " << sig << ": killed";
        ::kill(-pid, SIGKILL);
        done = ::waitpid(pid, &status, 0);
    }
    if (done != pid) ADD_FAILURE() << "waitpid failed";
    r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.output = read_file_bytes(log);
    return r;
}

}  // namespace fusedrnn::testing
