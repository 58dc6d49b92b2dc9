// Every file the CLI writes (reports, logs, plots, forecasts, station CSVs) goes through here: written to a temp
// file beside it (".<name>.tmp.<pid>.<n>", core/detail/temp_file.h: no other writer uses the name), fsync'ed and
// renamed over `path`, so an interrupted run or a crash never leaves a half-written file (and Ctrl-C or SIGTERM
// while one is being written removes the temp file before the process ends). A symbolic link is followed
// (the file it names is replaced, the link stays); a FIFO or a device is written in place; a path naming one of this
// process's own descriptors (/dev/stdout, /dev/fd/N, /proc/self/fd/N, and "-" for standard output) is written through
// that descriptor, so output redirected to a file (`>> log`) lands after what is there instead of replacing it.
#pragma once

#include <fstream>
#include <memory>
#include <ostream>
#include <streambuf>
#include <string>
#include <vector>

namespace fusedrnn::tools {

// When one of `paths` (a command's output files) is this process's standard output (/dev/stdout, /dev/fd/1, a link to
// one), standard output is kept for that data alone: its descriptor is set aside for AtomicFile, and descriptor 1
// becomes a copy of standard error, so the command's messages and report go there (QA: `predict --out /dev/stdout`
// ended its CSV with the "wrote ..." line, and `| head -1` then ended it by SIGPIPE). Call before anything is printed.
void keep_stdout_for_data(const std::vector<std::string>& paths);

// Whether `path` names this process's standard output ("-", /dev/stdout, /dev/fd/1, a link to one).
bool names_standard_output(const std::string& path);
// `path` as messages name it: "standard output" for "-", else as given.
std::string shown_output_name(const std::string& path);

// Where a write to `path` lands: a symbolic link followed, link by link, to the path it names, which need not exist
// yet (a dangling link names the file it would create; QA: such a link was replaced by a file). Not a link: `path`.
// Throws naming `path` for a loop of links.
std::string link_target(const std::string& path);

// Throws fusedrnn::Error naming the path when writing or renaming fails (the temp file is removed).
void write_file_atomically(const std::string& path, const std::string& contents);

// The same for a file written a piece at a time (too big to build in memory first): stream() writes to
// the temp file, commit() renames it over `path`. Destroyed without commit() (an error on the way), it removes the
// temp file and leaves `path` as it was.
class AtomicFile {
public:
    explicit AtomicFile(std::string path);  // throws naming the temp file when it cannot be created
    ~AtomicFile();
    AtomicFile(const AtomicFile&) = delete;
    AtomicFile& operator=(const AtomicFile&) = delete;

    std::ostream& stream() { return out_; }
    void commit();  // throws naming the path when writing or renaming failed

private:
    int descriptor_;  // >= 0: one of this process's descriptors (stdout, ...), written through a duplicate of it
    std::string path_;
    bool direct_;     // a FIFO, a device or a descriptor: written in place, no temp file
    std::string tmp_;
    std::filebuf file_;                      // the FIFO/device
    std::unique_ptr<std::streambuf> dup_;    // the duplicated descriptor
    std::unique_ptr<std::streambuf> temp_;   // over temp_fd_, the temp file (closes it when reset)
    int temp_fd_ = -1;
    std::ostream out_{nullptr};
    bool committed_ = false;
    int slot_ = -1;  // in the list of temp files a Ctrl-C removes (core/detail/temp_file.h)
};

}  // namespace fusedrnn::tools
