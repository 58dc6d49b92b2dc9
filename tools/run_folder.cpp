#include "fusedrnn/tools/run_folder.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <algorithm>
#include <exception>
#include <filesystem>
#include <optional>
#include <vector>

#include "fusedrnn/core/detail/temp_file.h"
#include "fusedrnn/core/error.h"
#include "fusedrnn/models/checkpoint.h"
#include "fusedrnn/tools/output_paths.h"
#include "fusedrnn/tools/progress.h"

namespace fusedrnn::tools {

namespace {

// A save killed hard (SIGKILL, a power cut) leaves its temp file, ".last.safetensors.tmp.<pid>.<n>"
// (core/detail/temp_file.h; a checkpoint's is as large as the model and its optimizer state, a report's as
// metrics.json). The holder of the folder's lock is the only run saving there, so such a file of a process that no
// longer exists is garbage: removed, and said.
void remove_abandoned_temps(const std::string& folder) {
    for (const detail::AbandonedTempFile& f : detail::remove_abandoned_temp_files(folder))
        log_line(fmt::format("removed {}, left by a {} save that was killed (process {})", f.path,
                             f.path.find(".safetensors.tmp.") != std::string::npos ? "checkpoint" : "file", f.owner));
}

}  // namespace

FolderLock::FolderLock(const std::string& folder, const std::string& flag)
    : lock_path_((std::filesystem::path(folder) / ".fusedrnn.lock").string()),
      exceptions_at_start_(std::uncaught_exceptions()) {
    namespace fs = std::filesystem;
    std::error_code ec;
    for (fs::path p = fs::path(folder).lexically_normal(); !p.empty() && !fs::exists(p, ec); p = p.parent_path()) {
        if (p.filename().empty()) continue;  // "runs/forecast/": its trailing separator, not a folder
        created_.push_back(p.string());
        if (p == p.parent_path()) break;
    }
    create_output_folder(folder);
    lock_was_there_ = fs::exists(lock_path_, ec);
    // A folder the run cannot write to (read-only, another user's) would fail only at the first checkpoint, after an
    // epoch of training; the lock file may already be there from an earlier run, so opening it proves nothing.
    const std::string probe = (fs::path(folder) / (".fusedrnn.probe." + std::to_string(::getpid()))).string();
    const int probe_fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    FR_CHECK(probe_fd >= 0 || errno == EEXIST, "{} {}: cannot create files in it ({}): make it writable, or choose "
             "another {}", flag, folder, std::strerror(errno), flag);
    if (probe_fd >= 0) {
        ::close(probe_fd);
        ::unlink(probe.c_str());
    }
    bool opened = false;
    std::string holder;
    fd_ = open_locked(&opened, &holder);
    if (fd_ < 0) {
        const int err = errno;
        FR_CHECK(opened, "cannot create {}: {}", lock_path_, std::strerror(err));
        FR_CHECK(err != EWOULDBLOCK, "{} {} is in use by another fusedrnn run{}: wait for it to end, or choose another "
                 "{}", flag, folder, holder, flag);
        // A filesystem without locks (some network mounts: ENOLCK, EOPNOTSUPP) must not stop the run: it only loses
        // the guard against a second run, and says so.
        log_line(fmt::format("warning: cannot lock {} ({}): nothing stops a second run from writing to {} meanwhile",
                             lock_path_, std::strerror(err), folder));
        return;
    }
    remove_abandoned_temps(folder);
}

std::string FolderLock::holder_named_in(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return {};
    char pid[32] = {};
    const ssize_t n = ::pread(fd, pid, sizeof pid - 1, 0);
    ::close(fd);
    return n > 0 ? fmt::format(" (process {})", std::string(pid, size_t(n))) : std::string();
}

int FolderLock::open_locked(bool* opened, std::string* holder, int create_flags) const {
    const int fd = ::open(lock_path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | create_flags, 0644);
    *opened = fd >= 0;
    if (fd < 0) return -1;
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        const int err = errno;
        *holder = holder_named_in(lock_path_);
        ::close(fd);
        errno = err;
        return -1;
    }
    // Who holds it, for the message above (informational: the flock is the lock).
    const std::string me = std::to_string(::getpid());
    if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, me.data(), me.size(), 0) < 0) {
        // Not fatal: the flock holds; only a second run's message loses the process id.
    }
    return fd;
}

void FolderLock::keep_held() {
    if (fd_ < 0) return;  // unguarded: the filesystem cannot lock (said when the run started)
    struct stat locked, there;
    if (::fstat(fd_, &locked) == 0 && ::stat(lock_path_.c_str(), &there) == 0 && locked.st_dev == there.st_dev &&
        locked.st_ino == there.st_ino)
        return;
    // This run's flock now guards a file no other run opens (QA: a second run started after a cleanup deleted the
    // lock file, and the two overwrote each other's last.safetensors). Only a lock file made anew here, where none
    // is, is taken back: one that is there again was made by another run, which may have written its files and
    // ended since (its lock free again), and this run would overwrite them.
    bool opened = false;
    std::string holder;
    const int fd = open_locked(&opened, &holder, O_EXCL);
    if (fd < 0) {
        const int err = errno;
        if (opened || err == EEXIST)
            FR_FAIL("{} was removed while this run held it, and another fusedrnn run{} has used the folder since: this "
                    "run stops without saving rather than overwrite that run's files", lock_path_,
                    opened ? holder : holder_named_in(lock_path_));
        FR_FAIL("{} was removed while this run held it, and cannot be made again ({}): stopping rather than write "
                "where a second run could be writing too", lock_path_, std::strerror(err));
    }
    ::close(fd_);
    fd_ = fd;
    log_line(fmt::format("warning: {} had been removed while this run held it (by a cleanup?): locked again; no other "
                         "run had taken the folder", lock_path_));
}

FolderLock::~FolderLock() {
    if (fd_ >= 0 && !created_.empty() && std::uncaught_exceptions() > exceptions_at_start_) {
        // Removed while the flock is still held, so a second run that opened the lock file meanwhile was turned
        // away (LOCK_NB); one starting after this finds no folder and makes its own. remove() takes a folder only
        // when it is empty: anything the run or anyone else wrote keeps it, and its parents.
        namespace fs = std::filesystem;
        std::error_code ec;
        const fs::path first = created_.front();
        bool only_the_lock = true;
        for (const auto& entry : fs::directory_iterator(first, ec))
            only_the_lock = only_the_lock && entry.path().filename() == ".fusedrnn.lock";
        if (!ec && only_the_lock && fs::remove(lock_path_, ec))
            for (const std::string& dir : created_)
                if (!fs::remove(dir, ec)) break;
    } else if (fd_ >= 0 && !lock_was_there_ && std::uncaught_exceptions() > exceptions_at_start_) {
        // A folder that was there before keeps what it held, and no more (QA: a refused --resume left the lock file
        // in an empty folder): the lock file this run made goes, while the flock still turns a second run away.
        std::error_code ec;
        std::filesystem::remove(lock_path_, ec);
    }
    if (fd_ >= 0) ::close(fd_);  // closing the descriptor releases the flock
}

namespace {

namespace fs = std::filesystem;

const char* command_of(RunKind k) { return k == RunKind::Forecaster ? "fusedrnn train" : "fusedrnn lm-train"; }
const char* run_name(RunKind k) { return k == RunKind::Forecaster ? "a forecaster run" : "a language-model run"; }

// The files each kind of run writes in its folder.
std::vector<const char*> run_files(RunKind k) {
    if (k == RunKind::Forecaster)
        return {"best.safetensors", "last.safetensors", "metrics.json", "log.csv", "loss.svg", "forecast.svg",
                "stations.csv"};
    return {"best.safetensors", "last.safetensors", "log.csv", "loss.svg"};
}

// The kind of run a checkpoint was written by, from its model kind and the trainers' metadata blocks.
std::optional<RunKind> kind_of_checkpoint(const Checkpoint& c) {
    const nlohmann::json& x = c.extra;
    if (c.config.value("kind", "") == "forecaster" || (x.is_object() && (x.contains("trainer") || x.contains("dataset"))))
        return RunKind::Forecaster;
    if (x.is_object() && (x.contains("lm") || x.contains("tokenizer") || x.contains("training")))
        return RunKind::LanguageModel;
    return std::nullopt;
}

RunKind other_kind_of(RunKind k) { return k == RunKind::Forecaster ? RunKind::LanguageModel : RunKind::Forecaster; }

bool contains(const std::vector<const char*>& names, const char* name) {
    return std::find_if(names.begin(), names.end(), [name](const char* n) { return std::strcmp(n, name) == 0; }) !=
           names.end();
}

// The trainers' state block in last.safetensors (models/forecast_trainer_resume.cpp, models/lm_trainer.cpp).
const char* state_block(RunKind k) { return k == RunKind::Forecaster ? "trainer" : "training"; }

}  // namespace

bool check_previous_run(const std::string& folder, RunKind mine, bool resume, bool overwrite) {
    FR_CHECK(!(resume && overwrite), "--resume continues the run in {}, --overwrite starts it over: give one of them",
             folder);
    const RunKind theirs = other_kind_of(mine);
    const std::string last = (fs::path(folder) / "last.safetensors").string();
    std::error_code ec;
    std::string other;  // what the folder holds when it is not a run of this kind
    std::string evidence = last;
    std::string unreadable;  // why last.safetensors cannot be read, when it cannot
    if (fs::exists(last, ec)) {
        try {
            const auto kind = kind_of_checkpoint(read_checkpoint(last));
            if (kind == theirs) other = fmt::format("{} of `{}`", run_name(theirs), command_of(theirs));
            else if (!kind) other = "a checkpoint of neither `fusedrnn train` nor `fusedrnn lm-train`";
        } catch (const Error& e) {
            // Refused below: on --resume here, else by refuse_to_overwrite_unfinished_run (unless --overwrite).
            unreadable = e.what();
        }
    }
    if (other.empty() && mine == RunKind::LanguageModel) {
        // The forecaster's report files mark its folder too, checkpoints or not (lm-train writes none of them).
        for (const char* name : {"metrics.json", "forecast.svg", "stations.csv"})
            if (other.empty() && fs::exists(fs::path(folder) / name, ec)) {
                other = "files of a forecaster run of `fusedrnn train`";
                evidence = (fs::path(folder) / name).string();
            }
    }
    if (!other.empty()) {
        FR_CHECK(!resume, "--resume: --out {} holds {} ({}), not {} to resume", folder, other, evidence, run_name(mine));
        FR_CHECK(overwrite, "--out {} holds {} ({}): `{}` would mix its files with that run's. Choose another --out, "
                 "or add --overwrite to replace that run", folder, other, evidence, command_of(mine));
        return true;
    }
    // Files named as a run's but beside no checkpoint are no run's (a log.csv of the user's own): kept in previous/,
    // they would go with the next run's; written over, they would be lost. Refused unless --overwrite says so.
    if (!resume && !overwrite && !fs::exists(last, ec) && !fs::exists(fs::path(folder) / "best.safetensors", ec)) {
        std::vector<std::string> loose;
        for (RunKind kind : {RunKind::Forecaster, RunKind::LanguageModel})
            for (const char* name : run_files(kind))
                if (fs::exists(fs::path(folder) / name, ec) &&
                    std::find(loose.begin(), loose.end(), name) == loose.end())
                    loose.push_back(name);
        FR_CHECK(loose.empty(), "--out {} holds {} but no checkpoint (best.safetensors, last.safetensors): not a run "
                 "of fusedrnn's to keep in previous/, and the run would write over {}. Move {}, choose another --out, "
                 "or add --overwrite to replace {}", folder, fmt::join(loose, ", "), loose.size() == 1 ? "it" : "them",
                 loose.size() == 1 ? "it" : "them", loose.size() == 1 ? "it" : "them");
    }
    // Before any data is read: the trainers would say the same only after loading it.
    // A best.safetensors alone (QA: last.safetensors deleted) holds no training state to go on from.
    const std::string best = (fs::path(folder) / "best.safetensors").string();
    const std::string nowhere = resume ? link_to_nothing(last) : std::string();
    FR_CHECK(nowhere.empty(), "--resume: {} is {}: point it at the run's checkpoint, or put the checkpoint in its "
             "place", last, nowhere);
    FR_CHECK(!resume || fs::exists(last, ec), "--resume: {} does not exist (nothing to resume){}", last,
             fs::exists(best, ec) ? fmt::format("; {} beside it holds weights without the training state a run goes "
                                                "on from: --overwrite instead of --resume starts a new run, keeping it "
                                                "in {}/", best, previous_run_folder(folder))
                                  : std::string());
    // A folder where the run writes a file would fail that write only at the end, after the training (QA: a folder
    // named metrics.json). A new run moves such a folder to previous/ with the rest.
    for (const char* name : run_files(mine))
        FR_CHECK(!resume || !fs::is_directory(fs::path(folder) / name, ec), "--resume: {} is a folder, where the run "
                 "writes its {}: move it away first", (fs::path(folder) / name).string(), name);
    // A truncated or damaged checkpoint cannot be resumed: said now, not after the data is read and the model planned.
    FR_CHECK(!resume || unreadable.empty(), "--resume: {} cannot be read ({}), so the run cannot go on from it. Keep "
             "it for a look (best.safetensors beside it may still serve {}); --overwrite instead of --resume starts "
             "the run over, keeping the old files in {}/", last, unreadable,
             mine == RunKind::LanguageModel ? "generate and perplexity" : "eval and predict",
             previous_run_folder(folder));
    if (!resume && !overwrite) refuse_to_overwrite_unfinished_run(last, state_block(mine));
    return false;
}

std::string previous_run_folder(const std::string& folder) { return (fs::path(folder) / "previous").string(); }

void check_input_outside_run_files(const std::string& flag, const std::string& input, const std::string& folder) {
    for (RunKind kind : {RunKind::Forecaster, RunKind::LanguageModel})
        for (const char* name : run_files(kind)) {
            FR_CHECK(!same_path(input, fs::path(folder) / name), "{} {} is the {} a run writes in --out {}: it would "
                     "be overwritten; move it, or choose another --out", flag, input, name, folder);
            FR_CHECK(!same_path(input, fs::path(previous_run_folder(folder)) / name), "{} {} is the {} of the run "
                     "kept in {}/: a new run in --out {} replaces it; move it, or choose another --out", flag, input,
                     name, previous_run_folder(folder), folder);
        }
}

void check_output_outside_run(const std::string& flag, const std::string& output, const std::string& checkpoint) {
    if (output.empty() || output == "-") return;
    // The run is where the checkpoint's file is, through a link to it (QA's recheck: model.safetensors -> run/...).
    std::error_code ec;
    const fs::path ckpt = fs::weakly_canonical(fs::absolute(checkpoint, ec), ec);
    const fs::path folder = ckpt.parent_path();
    // A run's folder: its checkpoint is the run's best or last, or a run file lies beside it (a model copied into a
    // folder of one's own is no run: its metrics.json is anyone's to write).
    const std::string name = ckpt.filename().string();
    bool run = name == "best.safetensors" || name == "last.safetensors";
    for (RunKind kind : {RunKind::Forecaster, RunKind::LanguageModel})
        for (const char* file : run_files(kind)) run = run || fs::exists(folder / file, ec);
    if (!run) return;
    for (const fs::path& dir : {folder, fs::path(previous_run_folder(folder.string()))})
        for (RunKind kind : {RunKind::Forecaster, RunKind::LanguageModel})
            for (const char* file : run_files(kind))
                FR_CHECK(!same_path(output, dir / file), "{} {} is the {} of the run {} belongs to{}: it would be "
                         "replaced; write to another file", flag, output, file, checkpoint,
                         dir == folder ? std::string() : " (the run kept in previous/)");
}

void keep_previous_run(const std::string& folder, RunKind mine, bool other_kind) {
    std::vector<const char*> files = run_files(mine);
    if (other_kind)
        for (const char* name : run_files(other_kind_of(mine)))
            if (!contains(files, name)) files.push_back(name);
    const fs::path dir(folder), kept = previous_run_folder(folder);
    std::error_code ec;
    std::vector<const char*> present;
    for (const char* name : files)
        if (fs::exists(dir / name, ec)) present.push_back(name);
    if (present.empty()) return;
    FR_CHECK(!fs::exists(kept, ec) || fs::is_directory(kept, ec), "cannot keep the previous run in {}: it is a file, "
             "not a folder; move it away, or choose another --out", kept.string());
    fs::create_directories(kept, ec);
    FR_CHECK(!ec, "cannot create {} to keep the previous run in: {}", kept.string(), ec.message());
    // The run kept there before goes whole, both kinds' files, so two runs' files never mix in previous/.
    bool replaced = false;
    for (RunKind kind : {RunKind::Forecaster, RunKind::LanguageModel})
        for (const char* name : run_files(kind)) {
            replaced = fs::remove(kept / name, ec) || replaced;
            FR_CHECK(!ec, "cannot remove {}: {}", (kept / name).string(), ec.message());
        }
    for (size_t i = 0; i < present.size(); ++i) {
        fs::rename(dir / present[i], kept / present[i], ec);  // same filesystem: a rename, nothing copied
        if (!ec) continue;
        // The files moved before this one go back, so that the run stays whole in its folder (QA: an immutable
        // log.csv left the checkpoints in previous/ and the rest in the folder, which then read as no run).
        std::vector<std::string> stuck;
        for (size_t j = 0; j < i; ++j) {
            std::error_code back;
            fs::rename(kept / present[j], dir / present[j], back);
            if (back) stuck.push_back((kept / present[j]).string());
        }
        FR_FAIL("cannot move the previous run's {} to {}: {}; {}{}", (dir / present[i]).string(), kept.string(),
                ec.message(), i == 0 ? std::string("nothing was moved")
                              : stuck.empty() ? std::string("the files moved before it were put back")
                                              : fmt::format("{} could not be put back", fmt::join(stuck, ", ")),
                replaced ? " (the run kept there before is gone)" : "");
    }
    log_line(fmt::format("keeping the previous run in {}/ ({}){}", kept.string(), fmt::join(present, ", "),
                         replaced ? "; the run kept there before is gone" : ""));
}

}  // namespace fusedrnn::tools
