// Where a command writes must not be where it reads: a forecast CSV written over the checkpoint, or a report
// dropped into the station folder (whose next read would take it for a station file), loses data. These checks run
// before any work, together with the cheap ones that would otherwise fail only after a long evaluation (the folder
// of an output file does not exist, or the path is a folder).
#pragma once

#include <filesystem>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "fusedrnn/tools/station_data.h"

namespace fusedrnn::tools {

// Whether `a` and `b` name the same place (after resolving ., .. and links of what exists).
bool same_path(const std::filesystem::path& a, const std::filesystem::path& b);

// An output file given by `flag` (e.g. "--out", "--json"): not a folder, in a folder that exists, not one of
// `read_files` (a checkpoint, a corpus), not the station data file and not inside the station data folder.
void check_output_file(const std::string& flag, const std::string& path, const DataOptions& data,
                       const std::vector<std::string>& read_files = {});

// The output files of one command, as (flag, path) with empty paths for flags not given: no two the same file (the
// second writer would replace the first's file, or both lose theirs).
void check_distinct_outputs(const std::vector<std::pair<std::string, std::string>>& outputs);

// Where `path` is a symbolic link that leads to nothing (its target missing, or a loop of links), what it is, for a
// message: "a symbolic link to /x, which does not exist"; else "". (QA: such a --out said "File exists" and such a
// last.safetensors "does not exist".)
std::string link_to_nothing(const std::filesystem::path& path);

// An output folder that can be made and written: not a file, and the folder itself or, where it does not exist yet,
// the nearest folder above it that does is writable. Checked before the work, which would fail only at the end.
void check_folder_writable(const std::string& flag, const std::string& dir);

// An output folder (train's --out): check_folder_writable, and not the station data folder, which its log.csv and
// metrics.json would join.
void check_output_folder(const std::string& flag, const std::string& dir, const DataOptions& data);

// A folder that station files `names` are being written to (data synth, data export): other files already there
// would be read together with them as one data set next time, so they are refused; files of the same names (an
// earlier export, perhaps edited by hand since) are replaced only with `overwrite` (--overwrite). Subfolders are not
// read, and not counted.
void check_station_files_folder(const std::string& flag, const std::string& dir, const std::set<std::string>& names,
                                bool overwrite);

}  // namespace fusedrnn::tools
