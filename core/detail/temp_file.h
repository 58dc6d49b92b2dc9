// fusedrnn (internal, not installed) — the temporary file an atomic write goes through: created beside its target
// under a name no other writer uses at the same time, written, fsync'ed, then renamed over the target.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <sys/types.h>

namespace fusedrnn::detail {

// Creates ".<target name>.tmp.<pid>.<n>" beside `target` (O_EXCL, mode 0666 less the umask, like any file the user
// makes) and returns its open descriptor (write only), its name in `tmp_path`. Throws Error naming `what` ("safetensors
// file") and the target when it cannot. The name is registered for removal on a signal (register_temp_file below)
// before the file is made, so there is no moment a signal could leave it: its slot goes to `*slot`, for the caller to
// unregister once the file is renamed or removed.
int create_temp_beside(const std::filesystem::path& target, std::string& tmp_path, std::string_view what, int* slot);

// The process id in a file name create_temp_beside makes, or none for any other name: a temporary file whose
// process is gone was left by a write that was killed, and may be removed.
std::optional<pid_t> temp_file_owner(const std::string& file_name);

// A temporary file removed by remove_abandoned_temp_files, and the process that had made it.
struct AbandonedTempFile {
    std::string path;
    pid_t owner;
};

// Removes the temporary files in `folder` (not its subfolders) whose process no longer exists: a write killed hard
// (SIGKILL, a power cut) leaves its ".<name>.tmp.<pid>.<n>", which nothing else would ever remove. A file of a live
// process, or of one whose state cannot be known (another user's), is let be. Returns what was removed, for the
// caller to say.
std::vector<AbandonedTempFile> remove_abandoned_temp_files(const std::string& folder);

// The temporary files this process is writing, for a signal handler to remove before the process ends (the CLI's:
// tools/interrupt.h), so that Ctrl-C during a long write leaves none behind. register_temp_file returns a slot for
// unregister_temp_file, or -1 when the path is too long or every slot is taken (that file is then simply not removed
// on a signal). remove_registered_temp_files is async-signal-safe: fixed slots, atomics and unlink(2) only.
int register_temp_file(const std::string& path);
void unregister_temp_file(int slot);
void remove_registered_temp_files() noexcept;
// The same for a handler that ends the process: from its call no thread creates another temporary file (one that
// tries waits for the end), and one another thread is creating as it is called is waited for (up to 2 s), then removed
// (QA: with several threads writing, 1 SIGTERM in 15-40 left an empty temp file made just after the removal).
// Async-signal-safe too; the process must end after it (create_temp_beside blocks from then on).
void remove_temp_files_for_exit() noexcept;

// fsync of the folder holding `path`, so that a rename into it is durable. Best effort: some filesystems cannot.
void sync_parent_folder(const std::filesystem::path& path);

}  // namespace fusedrnn::detail
