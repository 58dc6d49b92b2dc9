// Every file the CLI writes (reports, logs, plots, forecasts, station CSVs) goes through here: written
// to "<path>.tmp" and renamed over `path`, so an interrupted run never leaves a half-written file.
#pragma once

#include <string>

namespace fusedrnn::tools {

// Throws fusedrnn::Error naming the path when writing or renaming fails (the temp file is removed).
void write_file_atomically(const std::string& path, const std::string& contents);

}  // namespace fusedrnn::tools
