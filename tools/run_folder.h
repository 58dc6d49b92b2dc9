// The output folder of a training run (train, lm-train): one run at a time in it, and a new run starts by clearing
// the files of the one it replaces.
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
    // Left by an exception (bad input, Ctrl-C while the data loads) with nothing written but the lock file, the
    // folders this lock created go again: a mistyped --data leaves no empty runs/forecast/ behind. A folder that
    // existed before, or holds anything else, stays as it is.
    ~FolderLock();
    FolderLock(const FolderLock&) = delete;
    FolderLock& operator=(const FolderLock&) = delete;

private:
    std::string lock_path_;
    std::vector<std::string> created_;  // the folders this lock made, deepest first
    int exceptions_at_start_ = 0;       // std::uncaught_exceptions() when it was made
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

// An input file (`flag` names it) that is one of the files a run writes in `folder` would be overwritten: refused.
void check_input_outside_run_files(const std::string& flag, const std::string& input, const std::string& folder);

// A new run (not --resume) into a folder that holds a finished one: the old run's files (a run of kind `mine`'s, and
// with `other_kind` those of the other kind's run it replaces) go before training starts, so a new run stopped early
// never leaves the old best.safetensors or report beside its own last.safetensors. Says what it removed.
void remove_previous_run(const std::string& folder, RunKind mine, bool other_kind);

}  // namespace fusedrnn::tools
