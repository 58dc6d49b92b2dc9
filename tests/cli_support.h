// Running the built `fusedrnn` binary from a test (test_cli, test_cli_mpi): its exit status and output, directly or
// under a launcher (mpirun), optionally stopped by a signal once its log shows a given line.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "tests/test_support.h"

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

// A few stations, short windows, a handful of batches: a real run of every stage in well under a second.
inline std::vector<std::string> tiny_train(const std::string& out, int epochs) {
    return {"train", "--synthetic-stations", "3", "--synthetic-years", "3", "--cell", "gru", "--hidden", "8",
            "--input-len", "12", "--horizon", "4", "--batch", "64", "--max-batches", "3", "--epochs",
            std::to_string(epochs), "--patience", "0", "--eval-windows", "500", "--backend", "cpu", "--seed", "1",
            "--out", out};
}

// Runs the CLI in a child process (output to `log`; `launcher`, when given, is the program and flags to run it
// under, e.g. {"/usr/bin/mpiexec", "-n", "2"}), waits until the log shows `wait_for`, sends `sig` to the child, and
// returns its exit status (-1 if ended by the signal) and the log.
inline CliResult run_then_signal(const std::vector<std::string>& args, const std::string& log,
                                 const std::string& wait_for, int sig,
                                 const std::vector<std::string>& launcher = {}) {
    namespace fs = std::filesystem;
    CliResult r;
    const pid_t pid = ::fork();
    if (pid < 0) {
        ADD_FAILURE() << "fork failed";
        return r;
    }
    if (pid == 0) {  // child: the CLI with stdout and stderr to the log
        std::FILE* f = std::freopen(log.c_str(), "w", stdout);
        if (!f || ::dup2(::fileno(stdout), 2) < 0) ::_exit(99);
        std::vector<std::string> copy = launcher;
        copy.push_back(FUSEDRNN_CLI_PATH);
        copy.insert(copy.end(), args.begin(), args.end());
        std::vector<char*> argv;
        for (auto& a : copy) argv.push_back(a.data());
        argv.push_back(nullptr);
        ::execv(argv[0], argv.data());
        ::_exit(98);
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while ((!fs::exists(log) || read_file_bytes(log).find(wait_for) == std::string::npos) &&
           std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ::kill(pid, sig);
    int status = 0;
    if (::waitpid(pid, &status, 0) != pid) ADD_FAILURE() << "waitpid failed";
    r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.output = read_file_bytes(log);
    return r;
}

}  // namespace fusedrnn::testing
