// Signals, for every command of the CLI:
// - Ctrl-C, SIGTERM (a cluster's time limit, `kill`), SIGHUP (the terminal or ssh session gone) and SIGPIPE (the
//   reader of its output gone: `| head`) end a command as usual, but first remove the temp files it was writing
//   (core/detail/temp_file.h), so none is left beside its target.
// - During training they ask the trainer to save a checkpoint at its next step and stop (exit 130); a second Ctrl-C,
//   SIGTERM or SIGHUP ends the process at once, unsaved.
// A signal the process was started with set to be ignored (`nohup` for SIGHUP, `trap '' INT`, a background job of a
// non-interactive shell) stays ignored.
#pragma once

namespace fusedrnn::tools {

// For main(), before any work: installs the temp-file cleanup for those four signals where they have their default
// action.
void remove_temp_files_on_signals();

// While one exists (training, and the final report of `train`), the signals above set a flag instead of ending the
// process: data loading before training keeps the cleanup-then-end behaviour, and so does what follows once the
// object is gone, unless the run was complete (finishing()) or stopped by one of them: then the process is ending, and
// a repeat of the same request (one sender, within a second) is still taken as one. SIGPIPE (a `| tee` the same
// Ctrl-C ended, a `| head` that has read enough) asks for the stop too, and never ends the process: its writes then
// fail quietly, and the run saves and stops as for Ctrl-C instead of dying unsaved at its next line of output.
class StopOnSignal {
public:
    StopOnSignal();
    ~StopOnSignal();
    StopOnSignal(const StopOnSignal&) = delete;
    StopOnSignal& operator=(const StopOnSignal&) = delete;

    static bool requested();
    // From here on the work only finishes what it writes (the final report and its files): a signal says that it is
    // finished first, instead of "stopping after this step"; the process still ends as it would have (exit 0), and a
    // second signal still ends it at once. For Ctrl-C, SIGTERM and SIGHUP this holds to the process's end, past this
    // object's life (said then as "its files are written; ending").
    static void finishing();
    // From here on training is complete and saved, and only the final evaluation runs: a signal says it stops that,
    // instead of "stopping after this step to save a checkpoint" (QA), and stops it as before (exit 130).
    static void evaluating();
};

}  // namespace fusedrnn::tools
