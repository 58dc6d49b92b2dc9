#include "tools/output_paths.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <algorithm>
#include <system_error>
#include <vector>

#include "core/error.h"

namespace fusedrnn::tools {

namespace fs = std::filesystem;

bool same_path(const fs::path& a, const fs::path& b) {
    std::error_code ea, eb;
    const auto ca = fs::weakly_canonical(a, ea), cb = fs::weakly_canonical(b, eb);
    return !ea && !eb && ca == cb;
}

namespace {

fs::path folder_of(const fs::path& file) { return file.parent_path().empty() ? fs::path(".") : file.parent_path(); }

}  // namespace

void check_output_file(const std::string& flag, const std::string& path, const DataOptions& data,
                       const std::vector<std::string>& read_files) {
    FR_CHECK(!path.empty(), "{}: an empty file name", flag);
    const fs::path out(path);
    std::error_code ec;
    FR_CHECK(!fs::is_directory(out, ec), "{} {} is a folder: give a file name", flag, path);
    const fs::path folder = folder_of(out);
    FR_CHECK(fs::is_directory(folder, ec), "{} {}: the folder {} does not exist", flag, path, folder.string());
    FR_CHECK(::access(folder.c_str(), W_OK) == 0, "{} {}: the folder {} is not writable ({})", flag, path,
             folder.string(), std::strerror(errno));
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

void check_output_folder(const std::string& flag, const std::string& dir, const DataOptions& data) {
    FR_CHECK(!dir.empty(), "{}: an empty folder name", flag);
    std::error_code ec;
    FR_CHECK(!fs::exists(dir, ec) || fs::is_directory(dir, ec), "{} {} is a file, not a folder", flag, dir);
    if (data.synthetic() || !fs::is_directory(data.path, ec)) return;
    FR_CHECK(!same_path(dir, data.path),
             "{} {} is the station data folder: the files written there (log.csv, metrics.json, ...) would be read "
             "as stations next time; choose another folder", flag, dir);
}

void check_station_files_folder(const std::string& flag, const std::string& dir, const std::set<std::string>& names) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) return;
    std::vector<std::string> others;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
        const std::string name = entry.path().filename().string();
        if (name.empty() || name[0] == '.' || names.count(name)) continue;
        others.push_back(name);
    }
    FR_CHECK(!ec, "{} {}: cannot list the folder: {}", flag, dir, ec.message());
    if (others.empty()) return;
    std::sort(others.begin(), others.end());
    FR_FAIL("{} {} already holds {} other file{} (e.g. {}): read as one folder, they would mix with the stations "
            "written now; choose an empty or new folder, or remove them", flag, dir, others.size(),
            others.size() == 1 ? "" : "s", others.front());
}

}  // namespace fusedrnn::tools
