#include "tools/atomic_write.h"

#include <filesystem>
#include <system_error>

#include "core/error.h"

namespace fusedrnn::tools {

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)), tmp_(path_ + ".tmp") {
    out_.open(tmp_, std::ios::binary);
    FR_CHECK(out_.good(), "cannot write {}", tmp_);
}

AtomicFile::~AtomicFile() {
    if (committed_) return;
    out_.close();
    std::error_code ignore;
    std::filesystem::remove(tmp_, ignore);
}

void AtomicFile::commit() {
    out_.close();
    std::error_code ec;
    if (out_.fail()) {
        std::filesystem::remove(tmp_, ec);
        FR_FAIL("failed writing {}", tmp_);
    }
    std::filesystem::rename(tmp_, path_, ec);
    if (ec) {
        std::error_code ignore;
        std::filesystem::remove(tmp_, ignore);
        FR_FAIL("cannot rename {} to {}: {}", tmp_, path_, ec.message());
    }
    committed_ = true;
}

void write_file_atomically(const std::string& path, const std::string& contents) {
    AtomicFile f(path);
    f.stream() << contents;
    f.commit();
}

}  // namespace fusedrnn::tools
