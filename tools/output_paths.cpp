#include "fusedrnn/tools/output_paths.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <algorithm>
#include <system_error>
#include <vector>

#include <fmt/format.h>

#include "fusedrnn/core/error.h"
#include "fusedrnn/tools/atomic_write.h"
#include "fusedrnn/tools/run_folder.h"

namespace fusedrnn::tools {

namespace fs = std::filesystem;

bool same_path(const fs::path& a, const fs::path& b) {
    std::error_code ea, eb;
    // Absolute first: weakly_canonical leaves a relative path of nothing that exists relative ("x.csv", while
    // "./x.csv" comes back absolute; QA's recheck: a bare name slipped past a check that ./name met).
    const auto ca = fs::weakly_canonical(fs::absolute(a, ea), ea), cb = fs::weakly_canonical(fs::absolute(b, eb), eb);
    return !ea && !eb && ca == cb;
}

namespace {

fs::path folder_of(const fs::path& file) { return file.parent_path().empty() ? fs::path(".") : file.parent_path(); }

}  // namespace

void check_output_file(const std::string& flag, const std::string& path, const DataOptions& data,
                       const std::vector<std::string>& read_files) {
    FR_CHECK(!path.empty(), "{}: an empty file name", flag);
    if (path == "-") return;  // standard output (tools/atomic_write.h)
    const fs::path out(path);
    std::error_code ec;
    FR_CHECK(!fs::is_directory(out, ec), "{} {} is a folder: give a file name", flag, path);
    // A link is written through (atomic_write.h): the folder that matters is its target's.
    const fs::path target = link_target(path);
    const fs::path folder = folder_of(target);
    const auto status = fs::status(target, ec);
    if (fs::exists(status) && !fs::is_regular_file(status)) {  // a FIFO or a device (/dev/stdout): written in place
        FR_CHECK(::access(target.c_str(), W_OK) == 0, "{} {} is not writable ({})", flag, path, std::strerror(errno));
    } else {
        FR_CHECK(fs::is_directory(folder, ec), "{} {}: {} {}", flag, path, folder.string(),
                 fs::exists(folder, ec) ? "is a file, not a folder" : "does not exist: create the folder first");
        FR_CHECK(::access(folder.c_str(), W_OK) == 0, "{} {}: the folder {} is not writable ({})", flag, path,
                 folder.string(), std::strerror(errno));
    }
    for (const auto& f : read_files)
        FR_CHECK(f.empty() || !same_path(out, f), "{} {} is the file this command reads ({}): write to another file",
                 flag, path, f);
    if (data.synthetic()) return;
    const fs::path in(data.path);
    if (fs::is_directory(in, ec))
        FR_CHECK(!same_path(folder, in),
                 "{} {} is inside the station data folder {}: fusedrnn writes nothing there (the next read of the "
                 "folder could take the file for a station); write it elsewhere", flag, path, data.path);
    else
        FR_CHECK(!same_path(out, in), "{} {} is the station data file this command reads: write to another file", flag,
                 path);
}

void check_distinct_outputs(const std::vector<std::pair<std::string, std::string>>& outputs) {
    // Compared where the writes land: through links to files not there yet, and "-" as /dev/stdout (QA: both
    // pairs wrote one file, the first output lost).
    const auto same = [](const std::string& a, const std::string& b) {
        if (names_standard_output(a) || names_standard_output(b))
            return names_standard_output(a) && names_standard_output(b);
        return same_path(link_target(a), link_target(b));
    };
    for (size_t i = 0; i < outputs.size(); ++i)
        for (size_t j = 0; j < i; ++j)
            FR_CHECK(outputs[i].second.empty() || outputs[j].second.empty() ||
                         !same(outputs[i].second, outputs[j].second),
                     "{} {} is the file {} writes too: give each output its own file", outputs[i].first,
                     outputs[i].second, outputs[j].first);
}

std::string link_to_nothing(const fs::path& path) {
    std::error_code ec;
    if (!fs::is_symlink(path, ec)) return {};
    struct stat target_stat;
    if (::stat(path.c_str(), &target_stat) == 0) return {};
    const int why = errno;
    const std::string target = fs::read_symlink(path, ec).string();
    if (why == ELOOP) return fmt::format("a symbolic link to {}, one of a loop of links that leads nowhere", target);
    return fmt::format("a symbolic link to {}, which {}", target,
                       why == ENOENT || why == ENOTDIR ? std::string("does not exist") :
                                                          fmt::format("cannot be reached ({})", std::strerror(why)));
}

void check_folder_writable(const std::string& flag, const std::string& dir) {
    FR_CHECK(!dir.empty(), "{}: an empty folder name", flag);
    const std::string nowhere = link_to_nothing(dir);
    FR_CHECK(nowhere.empty(), "{} {} is {}: point it at a folder, or remove the link", flag, dir, nowhere);
    // So is a folder on the way to it (QA's recheck: --out gone/run said "File exists").
    fs::path on_the_way;
    for (const fs::path& part : fs::path(dir).parent_path()) {
        on_the_way /= part;
        const std::string why = link_to_nothing(on_the_way);
        FR_CHECK(why.empty(), "{} {}: {} is {}: point it at a folder, or remove the link", flag, dir,
                 on_the_way.string(), why);
    }
    std::error_code ec;
    FR_CHECK(!fs::exists(dir, ec) || fs::is_directory(dir, ec), "{} {} is a file, not a folder", flag, dir);
    fs::path existing = fs::absolute(dir, ec);
    while (!fs::exists(existing, ec) && existing.has_parent_path() && existing != existing.parent_path())
        existing = existing.parent_path();
    FR_CHECK(fs::is_directory(existing, ec), "{} {}: {} is a file, not a folder", flag, dir, existing.string());
    const bool itself = existing == fs::absolute(dir, ec);
    FR_CHECK(::access(existing.c_str(), W_OK | X_OK) == 0, "{} {}: {}{}{} is not writable ({}): make it writable, or "
             "choose another folder", flag, dir, itself ? "" : "the folder above it, ", existing.string(),
             itself ? "" : ",", std::strerror(errno));
}

void check_output_folder(const std::string& flag, const std::string& dir, const DataOptions& data) {
    check_folder_writable(flag, dir);
    std::error_code ec;
    if (data.synthetic()) return;
    // One station file named: its folder is where more would be looked for when the folder is read.
    const bool one_file = !fs::is_directory(data.path, ec);
    const fs::path data_folder = one_file ? folder_of(data.path) : fs::path(data.path);
    const std::string holds = one_file ? fmt::format(" (it holds {})", data.path) : std::string();
    FR_CHECK(!same_path(dir, data_folder),
             "{} {} is the station data folder{}: the files written there (log.csv, metrics.json, ...) would be read "
             "as stations next time; choose another folder", flag, dir, holds);
    // A new run moves the run it replaces into <dir>/previous/.
    FR_CHECK(!same_path(previous_run_folder(dir), data_folder),
             "{} {}: the station data folder {}{} is where a new run keeps the run it replaces (its log.csv, "
             "metrics.json, ...): choose another folder", flag, dir, data_folder.string(), holds);
}

void check_station_files_folder(const std::string& flag, const std::string& dir, const std::set<std::string>& names,
                                bool overwrite) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) return;
    std::vector<std::string> others, same;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
        const std::string name = entry.path().filename().string();
        std::error_code kind;
        if (name.empty() || name[0] == '.' || fs::is_directory(entry.path(), kind)) continue;
        (names.count(name) ? same : others).push_back(name);
    }
    FR_CHECK(!ec, "{} {}: cannot list the folder: {}", flag, dir, ec.message());
    std::sort(same.begin(), same.end());
    FR_CHECK(same.empty() || overwrite, "{} {} already holds {} of the station files this writes (e.g. {}): add "
             "--overwrite to replace them (an edit made to them since is lost), or choose another folder", flag, dir,
             same.size(), same.front());
    if (others.empty()) return;
    std::sort(others.begin(), others.end());
    FR_FAIL("{} {} already holds {} other file{} (e.g. {}): read as one folder, they would mix with the stations "
            "written now; choose an empty or new folder, or remove them", flag, dir, others.size(),
            others.size() == 1 ? "" : "s", others.front());
}

}  // namespace fusedrnn::tools
