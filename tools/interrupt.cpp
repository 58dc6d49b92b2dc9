#include "fusedrnn/tools/interrupt.h"

#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>

#include "fusedrnn/core/detail/temp_file.h"

namespace fusedrnn::tools {
namespace {

constexpr std::array<int, 4> kSignals = {SIGINT, SIGTERM, SIGHUP, SIGPIPE};

std::atomic<bool> g_requested{false};     // the trainer's flag
std::atomic<int> g_stop_signals{0};       // Ctrl-C, SIGTERM, SIGHUP seen while training
std::atomic<bool> g_said_pipe{false};     // the closed-pipe message written (once: stderr may be that pipe)
std::atomic<bool> g_evaluating{false};    // training complete and saved: the final evaluation runs
std::atomic<bool> g_finishing{false};     // past the last point where a stop is taken: only files left to write
std::atomic<bool> g_ended{false};         // a complete run's StopOnSignal gone: its files written, the process ending
std::atomic<bool> g_saved{false};         // a stopped run's StopOnSignal gone: its checkpoint saved (or the save
                                          // failed and said so), the process ending
// The first stop signal's number, sender (0: the kernel, as for Ctrl-C at a terminal) and time, to know the same
// request sent twice: `timeout -s TERM` signals its child, then its own process group, the child again.
std::atomic<int> g_first_signal{0}, g_first_sender{0};
std::atomic<int64_t> g_first_ns{0};
constexpr int64_t kSameRequestNs = 1'000'000'000;
static_assert(std::atomic<bool>::is_always_lock_free && std::atomic<int>::is_always_lock_free &&
                  std::atomic<int64_t>::is_always_lock_free,
              "the signal handlers need lock-free atomics");

int64_t monotonic_ns() {  // clock_gettime is async-signal-safe
    struct timespec t;
    ::clock_gettime(CLOCK_MONOTONIC, &t);
    return int64_t(t.tv_sec) * 1'000'000'000 + t.tv_nsec;
}

// Only async-signal-safe calls in the handlers: atomics, write(2), unlink(2), signal, raise.
void say(const char* msg, size_t n) {
    [[maybe_unused]] const ssize_t written = ::write(2, msg, n);
}

extern "C" void remove_temp_files_then_end(int sig) {
    detail::remove_temp_files_for_exit();
    ::signal(sig, SIG_DFL);  // then end as the signal would have ended the process
    ::raise(sig);
}

extern "C" void on_stop_signal(int sig, siginfo_t* info, void*) {
    const int saved_errno = errno;  // the interrupted code may be about to read it
    g_requested.store(true);
    // Sent by a process (kill, timeout), not by the terminal: its id tells a repeat of the same request from a second
    // one. Two Ctrl-C come from the kernel, and the second still quits at once.
    const bool by_process = info != nullptr && (info->si_code == SI_USER || info->si_code == SI_QUEUE);
    const int sender = by_process ? int(info->si_pid) : 0;
    const int64_t now = monotonic_ns();
    const bool repeat = sig != SIGPIPE && sender != 0 && g_stop_signals.load() > 0 && sig == g_first_signal.load() &&
                        sender == g_first_sender.load() && now - g_first_ns.load() < kSameRequestNs;
    if (repeat) {
        // the same request: taken already
    } else if (sig == SIGPIPE) {
        if (!g_said_pipe.exchange(true)) {
            const char msg[] = "\nfusedrnn: an output pipe was closed: stopping after this step to save a checkpoint\n";
            say(msg, sizeof msg - 1);  // fails quietly when stderr is that pipe (SIGPIPE again: handled here)
        }
    } else if (g_stop_signals.fetch_add(1) > 0) {
        remove_temp_files_then_end(sig);  // the second: at once, unsaved
    } else {  // the first
        g_first_signal.store(sig);
        g_first_sender.store(sender);
        g_first_ns.store(now);
        if (g_ended.load()) {
            const char msg[] = "\nfusedrnn: the run is complete and its files are written; ending (again to quit at "
                               "once)\n";
            say(msg, sizeof msg - 1);
        } else if (g_saved.load()) {
            const char msg[] = "\nfusedrnn: the run has stopped; ending (again to quit at once)\n";
            say(msg, sizeof msg - 1);
        } else if (g_evaluating.load() && !g_finishing.load()) {
            const char msg[] = "\nfusedrnn: training is complete and saved; stopping the final evaluation (again to "
                               "quit at once)\n";
            say(msg, sizeof msg - 1);
        } else if (g_finishing.load()) {
            const char msg[] = "\nfusedrnn: the run is complete; finishing its report first (again to quit at once, "
                               "with part of it unwritten)\n";
            say(msg, sizeof msg - 1);
        } else {
            const char msg[] = "\nfusedrnn: stopping after this step to save a checkpoint (again to quit at once, "
                               "unsaved)\n";
            say(msg, sizeof msg - 1);
        }
    }
    errno = saved_errno;
}

// Installs `handler` (or `info_handler`, which is given who sent the signal) for the signals that are not ignored;
// the earlier actions into `old` (when given).
void install(void (*handler)(int), void (*info_handler)(int, siginfo_t*, void*), bool only_over_default,
             std::array<struct sigaction, 4>* old) {
    for (size_t i = 0; i < kSignals.size(); ++i) {
        struct sigaction current;
        if (::sigaction(kSignals[i], nullptr, &current) != 0) continue;
        if (old) (*old)[i] = current;
        const bool ignored = !(current.sa_flags & SA_SIGINFO) && current.sa_handler == SIG_IGN;
        const bool by_default = !(current.sa_flags & SA_SIGINFO) && current.sa_handler == SIG_DFL;
        if (ignored || (only_over_default && !by_default)) continue;
        struct sigaction sa;
        std::memset(&sa, 0, sizeof sa);
        if (info_handler != nullptr)
            sa.sa_sigaction = info_handler;
        else
            sa.sa_handler = handler;
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = SA_RESTART | (info_handler != nullptr ? SA_SIGINFO : 0);
        ::sigaction(kSignals[i], &sa, nullptr);
    }
}

std::array<struct sigaction, 4> g_before_training;

}  // namespace

void remove_temp_files_on_signals() { install(remove_temp_files_then_end, nullptr, true, nullptr); }

StopOnSignal::StopOnSignal() {
    g_requested.store(false);
    g_stop_signals.store(0);
    g_said_pipe.store(false);
    g_finishing.store(false);
    g_evaluating.store(false);
    g_ended.store(false);
    g_saved.store(false);
    g_first_signal.store(0);
    g_first_sender.store(0);
    g_first_ns.store(0);
    install(nullptr, on_stop_signal, false, &g_before_training);
}

StopOnSignal::~StopOnSignal() {
    // A complete run keeps the handler for Ctrl-C, SIGTERM and SIGHUP to the process's end: a signal in the moments
    // between here and the exit (the report still in stdout's buffer, the backends' teardown) finds the run complete,
    // exit 0 with its output flushed, as one a moment earlier does, instead of ending the process by the signal (a
    // test's SIGTERM, sent late on a loaded machine, landed here). A second one still ends it at once. SIGPIPE goes
    // back to what it was: a report whose reader is gone ends the process as such a write does.
    // A run stopped by a signal keeps it too, for the same moments: the repeat of that request (`timeout` signals
    // twice; QA: a second SIGTERM from the same sender 50 ms later, after the save, ended the process by the signal,
    // exit 143 instead of 130, now and then before the "saved" line) is still the same request, and a second one
    // still ends it at once.
    const bool complete = g_finishing.load(), stopped = g_requested.load() && !complete;
    if (complete) g_ended.store(true);
    if (stopped) g_saved.store(true);
    const bool keep = complete || stopped;
    for (size_t i = 0; i < kSignals.size(); ++i) {
        // After a closed pipe, the lines still to come (where the run stopped, exit 130) must not end it by SIGPIPE.
        if (kSignals[i] == SIGPIPE && g_said_pipe.load()) ::signal(SIGPIPE, SIG_IGN);
        else if (kSignals[i] == SIGPIPE || !keep) ::sigaction(kSignals[i], &g_before_training[i], nullptr);
    }
}

bool StopOnSignal::requested() { return g_requested.load(); }

void StopOnSignal::finishing() { g_finishing.store(true); }

void StopOnSignal::evaluating() { g_evaluating.store(true); }

}  // namespace fusedrnn::tools
