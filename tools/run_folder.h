// The output folder of a training run (train, lm-train): one run at a time in it, and a new run starts by moving
// the files of the one it replaces to <folder>/previous/.
#pragma once

#include <string>
#include <vector>

namespace fusedrnn::tools {

// Two runs into the same --out would both report success while each overwrote the other's checkpoints. The lock is
// an flock(2) on <folder>/.fusedrnn.lock, released by the kernel when the process ends however it ends, so a killed
// run never leaves a stale lock.
class FolderLock {
public:
    // Creates the folder (and its missing parents) and locks it. Throws fusedrnn::Error naming the folder (and the
    // holder's process id) when another process holds it; where the filesystem cannot lock, warns and goes on
    // unguarded.
    FolderLock(const std::string& folder, const std::string& flag);
    // Left by an exception (bad input) with nothing written but the lock file, the folders this lock created go
    // again (a signal while the data loads ends the process without unwinding: its folder and lock file stay, and
    // the next run takes the lock over): a mistyped --data leaves no empty runs/forecast/ behind. A folder that
    // existed before, or holds anything else, stays as it is, less the lock file when this lock made it.
    ~FolderLock();
    // As each checkpoint save ends (its file written, just before it replaces the old one, so that no long write
    // lies between the check and the file's arrival): the lock file must still be the one this run locked. Deleted
    // while the run held it (a cleanup script), it no longer keeps a second run out: it is made and locked again,
    // with a warning; when another lock file is there instead (another run has used the folder since, running or
    // ended), an Error: this run stops rather than overwrite that run's files.
    void keep_held();
    FolderLock(const FolderLock&) = delete;
    FolderLock& operator=(const FolderLock&) = delete;

private:
    // Opens lock_path_ (creating it, with `create_flags` such as O_EXCL) and takes its flock without waiting, then
    // writes this process's id in it (for the message of a run turned away). Returns the descriptor; -1 with errno
    // set when it cannot be opened (*opened false) or locked (*opened true, and *holder as holder_named_in gives it).
    int open_locked(bool* opened, std::string* holder, int create_flags = 0) const;
    // " (process N)" for the process id a lock file at `path` names, or "".
    static std::string holder_named_in(const std::string& path);

    std::string lock_path_;
    std::vector<std::string> created_;  // the folders this lock made, deepest first
    int exceptions_at_start_ = 0;       // std::uncaught_exceptions() when it was made
    bool lock_was_there_ = false;       // the lock file was there before this lock (an earlier run's)
    int fd_ = -1;
};

// The two kinds of training run, each with its command (train, lm-train) and its files in --out.
enum class RunKind { Forecaster, LanguageModel };

// What --out holds before a run of kind `mine` (--resume and --overwrite as given; both together are refused):
//   - a run of the other kind: refused unless --overwrite (the two runs' files would mix, and a run of one command
//     is nothing the other can resume);
//   - an unfinished run of this kind: refused unless --resume or --overwrite;
//   - a last.safetensors that cannot be read: refused unless --overwrite.
// Returns whether it holds a run of the other kind (which --overwrite replaces, its own files included).
bool check_previous_run(const std::string& folder, RunKind mine, bool resume, bool overwrite);

// Where a new run keeps the run it replaces: <folder>/previous.
std::string previous_run_folder(const std::string& folder);

// An input file (`flag` names it) that is one of the files a run writes in `folder`, or in its previous/, would be
// overwritten: refused.
void check_input_outside_run_files(const std::string& flag, const std::string& input, const std::string& folder);

// An output file (`flag` names it) of eval or predict that is one of the run files beside `checkpoint` (its
// metrics.json, log.csv, ..., or those of the run kept in previous/) would replace that run's own: refused (QA: eval
// --forecasts run/metrics.json). The run is the one the checkpoint's file (through links) belongs to, where it is a
// run's best or last checkpoint or has run files beside it.
void check_output_outside_run(const std::string& flag, const std::string& output, const std::string& checkpoint);

// A new run (not --resume) into a folder that holds a run (finished, or replaced with --overwrite): the old run's
// files (a run of kind `mine`'s, and with `other_kind` those of the other kind's run it replaces) move to
// <folder>/previous/ before training starts. Re-running a command (the README's main job, a script) thus never loses
// the only copy of a finished model, and a new run stopped early never leaves the old best.safetensors or report
// beside its own last.safetensors. The run kept in previous/ before goes: one run is kept, not a growing history.
// Says what it moved.
void keep_previous_run(const std::string& folder, RunKind mine, bool other_kind);

}  // namespace fusedrnn::tools
