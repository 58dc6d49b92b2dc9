#include "fusedrnn/tools/progress.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <utility>

#include <fmt/format.h>

#include "fusedrnn/core/error.h"

namespace fusedrnn::tools {

namespace {
bool g_live_open = false;
bool g_quiet = false;  // set_quiet
double g_last_plain = -1;  // when progress_line last printed a plain line (-1: not called yet)

double now_s() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
}  // namespace

std::string format_duration(double s) {
    if (!std::isfinite(s) || s < 0) return "?";
    if (s < 60) return fmt::format("{:.1f}s", s);
    const long t = std::lround(s);
    if (t < 3600) return fmt::format("{}m{:02}s", t / 60, t % 60);
    return fmt::format("{}h{:02}m", t / 3600, (t % 3600) / 60);
}

std::string format_rate(double r) {
    if (r >= 1e6) return fmt::format("{:.1f}M", r / 1e6);
    if (r >= 1e4) return fmt::format("{:.0f}k", r / 1e3);
    return fmt::format("{:.0f}", r);
}

bool stderr_is_terminal() { return ::isatty(STDERR_FILENO) == 1; }

void set_quiet(bool quiet) { g_quiet = quiet; }

void live_line(const std::string& text) {
    if (g_quiet || !stderr_is_terminal()) return;
    std::fprintf(stderr, "\r\033[K%s", text.c_str());
    std::fflush(stderr);
    g_live_open = true;
}

double progress_interval_seconds() {
    static const double interval = [] {
        constexpr double kDefault = 60;
        const char* v = std::getenv("FUSEDRNN_PROGRESS_SECONDS");
        if (v == nullptr || *v == '\0') return kDefault;
        char* end = nullptr;
        const double s = std::strtod(v, &end);
        FR_CHECK(end != v && *end == '\0' && std::isfinite(s) && s >= 0,
                 "FUSEDRNN_PROGRESS_SECONDS='{}': expected a number of seconds >= 0 between progress lines when "
                 "stderr is no terminal (0: none; default {:g})", v, kDefault);
        return s == 0 ? 0.0 : s;  // -0 too
    }();
    return interval;
}

void progress_line(const std::string& text) {
    if (stderr_is_terminal()) return live_line(text);
    if (g_quiet) return;
    const double interval = progress_interval_seconds(), t = now_s();
    if (g_last_plain < 0) g_last_plain = t;
    if (interval <= 0 || t - g_last_plain < interval) return;
    g_last_plain = t;
    std::fprintf(stderr, "%s\n", text.c_str());
    std::fflush(stderr);
}

void end_live_line() {
    if (!g_live_open) return;
    std::fprintf(stderr, "\r\033[K");
    g_live_open = false;
}

void log_line(const std::string& text) {
    if (g_quiet) return;
    end_live_line();
    std::fprintf(stderr, "%s\n", text.c_str());
    std::fflush(stderr);
}

CountProgress::CountProgress(std::string what, std::string unit)
    : what_(std::move(what)), unit_(std::move(unit)), start_(now_s()) {}

void CountProgress::operator()(size_t done, size_t total) {
    const double t = now_s();
    if (!started_ || done <= prev_done_) start_ = t, start_done_ = done, last_ = -1, started_ = true;  // a new pass
    prev_done_ = done;
    if (t - last_ < 0.5 && done < total) return;
    last_ = t;
    const std::string counts =
        fmt::format("{} | {}/{} {}", what_, format_rate(double(done)), format_rate(double(total)), unit_);
    // A rate needs items done since the pass started (the first call of a pass has none).
    if (done == start_done_ || t <= start_) return progress_line(counts);
    const double rate = double(done - start_done_) / (t - start_);
    progress_line(fmt::format("{} | {} {}/s | ETA {}", counts, format_rate(rate), unit_,
                              format_duration(double(total - done) / rate)));
}

}  // namespace fusedrnn::tools
