// fusedrnn (internal, not installed) — the temporary file an atomic write goes through: created beside its target
// under a name no other writer uses at the same time, written, fsync'ed, then renamed over the target.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include <sys/types.h>

namespace fusedrnn::detail {

// Creates ".<target name>.tmp.<pid>.<n>" beside `target` (O_EXCL, mode 0666 less the umask, like any file the user
// makes) and returns its open descriptor (write only), its name in `tmp_path`. Throws Error naming `what` ("safetensors
// file") and the target when it cannot.
int create_temp_beside(const std::filesystem::path& target, std::string& tmp_path, std::string_view what);

// The process id in a file name create_temp_beside makes, or none for any other name: a temporary file whose
// process is gone was left by a write that was killed, and may be removed.
std::optional<pid_t> temp_file_owner(const std::string& file_name);

// fsync of the folder holding `path`, so that a rename into it is durable. Best effort: some filesystems cannot.
void sync_parent_folder(const std::filesystem::path& path);

}  // namespace fusedrnn::detail
