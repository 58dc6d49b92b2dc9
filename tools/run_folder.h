// The output folder of a training run (train, lm-train): one run at a time in it, and a new run starts by clearing
// the files of the one it replaces.
#pragma once

#include <initializer_list>
#include <string>

namespace fusedrnn::tools {

// Two runs into the same --out would both report success while each overwrote the other's checkpoints. The lock is
// an flock(2) on <folder>/.fusedrnn.lock, released by the kernel when the process ends however it ends, so a killed
// run never leaves a stale lock.
class FolderLock {
public:
    // Throws fusedrnn::Error naming the folder (and the holder's process id) when another process holds it; where the
    // filesystem cannot lock, warns and goes on unguarded.
    FolderLock(const std::string& folder, const std::string& flag);
    ~FolderLock();
    FolderLock(const FolderLock&) = delete;
    FolderLock& operator=(const FolderLock&) = delete;

private:
    int fd_ = -1;
};

// A new run (not --resume) into a folder that holds a finished one: the old run's `files` go before training starts,
// so a new run stopped early never leaves the old best.safetensors or report beside its own last.safetensors. Says
// what it removed (one line through `log`).
void remove_previous_run(const std::string& folder, std::initializer_list<const char*> files);

}  // namespace fusedrnn::tools
