#include "tools/progress.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>

#include <fmt/format.h>

namespace fusedrnn::tools {

namespace {
bool g_live_open = false;
}

std::string format_duration(double s) {
    if (!std::isfinite(s) || s < 0) return "?";
    if (s < 60) return fmt::format("{:.1f}s", s);
    const long t = long(s + 0.5);
    if (t < 3600) return fmt::format("{}m{:02}s", t / 60, t % 60);
    return fmt::format("{}h{:02}m", t / 3600, (t % 3600) / 60);
}

std::string format_rate(double r) {
    if (r >= 1e6) return fmt::format("{:.1f}M", r / 1e6);
    if (r >= 1e4) return fmt::format("{:.0f}k", r / 1e3);
    return fmt::format("{:.0f}", r);
}

bool stderr_is_terminal() { return ::isatty(STDERR_FILENO) == 1; }

void live_line(const std::string& text) {
    if (!stderr_is_terminal()) return;
    std::fprintf(stderr, "\r\033[K%s", text.c_str());
    std::fflush(stderr);
    g_live_open = true;
}

void log_line(const std::string& text) {
    if (g_live_open) {
        std::fprintf(stderr, "\r\033[K");
        g_live_open = false;
    }
    std::fprintf(stderr, "%s\n", text.c_str());
    std::fflush(stderr);
}

}  // namespace fusedrnn::tools
