// Human-readable training output: a live progress line when stderr is a terminal; otherwise (a log file, a pipe)
// the same line as a plain one every minute or so (progress_line) beside one line per epoch, so logs stay readable
// and a long epoch still shows it moves, e.g.
//   epoch 3/50 | step 1200/3900 | loss 0.3412 | grad-norm 0.82 | 812k windows/s | ETA 4m10s
#pragma once

#include <cstddef>
#include <string>

namespace fusedrnn::tools {

std::string format_duration(double seconds);  // "4m10s", "12.3s", "1h02m"
std::string format_rate(double per_second);    // "812k", "1.2M", "950"
bool stderr_is_terminal();

// Prints a line that replaces itself on a terminal (\r); nothing when not a terminal.
void live_line(const std::string& text);
// The progress of long work: live_line on a terminal; elsewhere a plain line at most every
// progress_interval_seconds(), the first that long after the first call (QA: a job logging to a file wrote nothing
// for a whole epoch of half an hour).
void progress_line(const std::string& text);
// FUSEDRNN_PROGRESS_SECONDS: seconds between plain progress lines (default 60; 0: none). Throws Error naming the
// variable for a value that is not a number >= 0.
double progress_interval_seconds();
// Silences live_line and log_line in this process (the processes of a multi-process run other than 0: their
// progress is process 0's). Errors are printed by main(), never silenced.
void set_quiet(bool quiet);
// Ends a live line (if any) and prints `text` on its own line to stderr.
void log_line(const std::string& text);
// Erases a live line left open (main() before it prints an error, which would otherwise run on after the ETA).
void end_live_line();

// A progress_line for a long pass over a known number of items, e.g. "validating | 1.2M/49.3M windows |
// 812k windows/s | ETA 58s", redrawn at most twice a second. Usable as an EvalProgress callback (and for
// station files read or generated); a call with no more items done than the last one starts a new pass, whose rate
// and ETA count from that call (a caller says 0 as it starts), so one object serves every validation pass.
class CountProgress {
public:
    explicit CountProgress(std::string what, std::string unit = "windows");
    void operator()(size_t done, size_t total);

private:
    std::string what_, unit_;
    double start_ = 0, last_ = -1;
    size_t prev_done_ = 0, start_done_ = 0;
    bool started_ = false;
};

}  // namespace fusedrnn::tools
