#include "fusedrnn/tools/interrupt.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstring>

namespace fusedrnn::tools {
namespace {

std::atomic<bool> g_requested{false};
static_assert(std::atomic<bool>::is_always_lock_free, "the signal handler needs a lock-free flag");
struct sigaction g_old_int, g_old_term;

extern "C" void on_stop_signal(int) {
    g_requested.store(true);
    // Only async-signal-safe calls here: write(2), not stdio.
    const char msg[] = "\nfusedrnn: stopping after this step to save a checkpoint (again to quit at once)\n";
    [[maybe_unused]] const ssize_t n = ::write(2, msg, sizeof msg - 1);
}

}  // namespace

StopOnSignal::StopOnSignal() {
    g_requested.store(false);
    struct sigaction sa;
    std::memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESETHAND | SA_RESTART;  // the handler runs once; a second signal gets the default
    ::sigaction(SIGINT, &sa, &g_old_int);
    ::sigaction(SIGTERM, &sa, &g_old_term);
}

StopOnSignal::~StopOnSignal() {
    ::sigaction(SIGINT, &g_old_int, nullptr);
    ::sigaction(SIGTERM, &g_old_term, nullptr);
}

bool StopOnSignal::requested() { return g_requested.load(); }

}  // namespace fusedrnn::tools
