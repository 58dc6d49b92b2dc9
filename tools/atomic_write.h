// Every file the CLI writes (reports, logs, plots, forecasts, station CSVs) goes through here: written
// to "<path>.tmp" and renamed over `path`, so an interrupted run never leaves a half-written file (and Ctrl-C or
// SIGTERM while one is being written removes the temp file before the process ends). A symbolic link is followed
// (the file it names is replaced, the link stays); a FIFO or a device (/dev/stdout) is written in place.
#pragma once

#include <fstream>
#include <string>

namespace fusedrnn::tools {

// Throws fusedrnn::Error naming the path when writing or renaming fails (the temp file is removed).
void write_file_atomically(const std::string& path, const std::string& contents);

// The same for a file written a piece at a time (too big to build in memory first): stream() writes to
// "<path>.tmp", commit() renames it over `path`. Destroyed without commit() (an error on the way), it removes the
// temp file and leaves `path` as it was.
class AtomicFile {
public:
    explicit AtomicFile(std::string path);  // throws naming the temp file when it cannot be created
    ~AtomicFile();
    AtomicFile(const AtomicFile&) = delete;
    AtomicFile& operator=(const AtomicFile&) = delete;

    std::ofstream& stream() { return out_; }
    void commit();  // throws naming the path when writing or renaming failed

private:
    std::string path_;
    bool direct_;  // a FIFO or a device: written in place, no temp file
    std::string tmp_;
    std::ofstream out_;
    bool committed_ = false;
    int slot_ = -1;  // in the list of temp files a Ctrl-C removes (atomic_write.cpp)
};

}  // namespace fusedrnn::tools
