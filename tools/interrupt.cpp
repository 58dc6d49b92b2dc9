#include "fusedrnn/tools/interrupt.h"

#include <signal.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>

#include "fusedrnn/core/detail/temp_file.h"

namespace fusedrnn::tools {
namespace {

constexpr std::array<int, 4> kSignals = {SIGINT, SIGTERM, SIGHUP, SIGPIPE};

std::atomic<bool> g_requested{false};     // the trainer's flag
std::atomic<int> g_stop_signals{0};       // Ctrl-C, SIGTERM, SIGHUP seen while training
std::atomic<bool> g_said_pipe{false};     // the closed-pipe message written (once: stderr may be that pipe)
std::atomic<bool> g_finishing{false};     // past the last point where a stop is taken: only files left to write
std::atomic<bool> g_ended{false};         // a complete run's StopOnSignal gone: its files written, the process ending
static_assert(std::atomic<bool>::is_always_lock_free && std::atomic<int>::is_always_lock_free,
              "the signal handlers need lock-free atomics");

// Only async-signal-safe calls in the handlers: atomics, write(2), unlink(2), signal, raise.
void say(const char* msg, size_t n) {
    [[maybe_unused]] const ssize_t written = ::write(2, msg, n);
}

extern "C" void remove_temp_files_then_end(int sig) {
    detail::remove_registered_temp_files();
    ::signal(sig, SIG_DFL);  // then end as the signal would have ended the process
    ::raise(sig);
}

extern "C" void on_stop_signal(int sig) {
    const int saved_errno = errno;  // the interrupted code may be about to read it
    g_requested.store(true);
    if (sig == SIGPIPE) {
        if (!g_said_pipe.exchange(true)) {
            const char msg[] = "\nfusedrnn: an output pipe was closed: stopping after this step to save a checkpoint\n";
            say(msg, sizeof msg - 1);  // fails quietly when stderr is that pipe (SIGPIPE again: handled here)
        }
    } else if (g_stop_signals.fetch_add(1) > 0) {
        remove_temp_files_then_end(sig);  // the second: at once, unsaved
    } else if (g_ended.load()) {
        const char msg[] = "\nfusedrnn: the run is complete and its files are written; ending (again to quit at "
                           "once)\n";
        say(msg, sizeof msg - 1);
    } else if (g_finishing.load()) {
        const char msg[] = "\nfusedrnn: the run is complete; finishing its report first (again to quit at once, "
                           "with part of it unwritten)\n";
        say(msg, sizeof msg - 1);
    } else {
        const char msg[] = "\nfusedrnn: stopping after this step to save a checkpoint (again to quit at once, unsaved)\n";
        say(msg, sizeof msg - 1);
    }
    errno = saved_errno;
}

// Installs `handler` for the signals that are not ignored; the earlier actions into `old` (when given).
void install(void (*handler)(int), bool only_over_default, std::array<struct sigaction, 4>* old) {
    for (size_t i = 0; i < kSignals.size(); ++i) {
        struct sigaction current;
        if (::sigaction(kSignals[i], nullptr, &current) != 0) continue;
        if (old) (*old)[i] = current;
        if (current.sa_handler == SIG_IGN || (only_over_default && current.sa_handler != SIG_DFL)) continue;
        struct sigaction sa;
        std::memset(&sa, 0, sizeof sa);
        sa.sa_handler = handler;
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = SA_RESTART;
        ::sigaction(kSignals[i], &sa, nullptr);
    }
}

std::array<struct sigaction, 4> g_before_training;

}  // namespace

void remove_temp_files_on_signals() { install(remove_temp_files_then_end, true, nullptr); }

StopOnSignal::StopOnSignal() {
    g_requested.store(false);
    g_stop_signals.store(0);
    g_said_pipe.store(false);
    g_finishing.store(false);
    g_ended.store(false);
    install(on_stop_signal, false, &g_before_training);
}

StopOnSignal::~StopOnSignal() {
    // A complete run keeps the handler for Ctrl-C, SIGTERM and SIGHUP to the process's end: a signal in the moments
    // between here and the exit (the report still in stdout's buffer, the backends' teardown) finds the run complete,
    // exit 0 with its output flushed, as one a moment earlier does, instead of ending the process by the signal (a
    // test's SIGTERM, sent late on a loaded machine, landed here). A second one still ends it at once. SIGPIPE goes
    // back to what it was: a report whose reader is gone ends the process as such a write does.
    const bool complete = g_finishing.load();
    if (complete) g_ended.store(true);
    for (size_t i = 0; i < kSignals.size(); ++i) {
        // After a closed pipe, the lines still to come (where the run stopped, exit 130) must not end it by SIGPIPE.
        if (kSignals[i] == SIGPIPE && g_said_pipe.load()) ::signal(SIGPIPE, SIG_IGN);
        else if (kSignals[i] == SIGPIPE || !complete) ::sigaction(kSignals[i], &g_before_training[i], nullptr);
    }
}

bool StopOnSignal::requested() { return g_requested.load(); }

void StopOnSignal::finishing() { g_finishing.store(true); }

}  // namespace fusedrnn::tools
