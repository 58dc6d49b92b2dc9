#include "tools/atomic_write.h"

#include <filesystem>
#include <fstream>
#include <system_error>

#include "core/error.h"

namespace fusedrnn::tools {

void write_file_atomically(const std::string& path, const std::string& contents) {
    const std::string tmp = path + ".tmp";
    {
        std::ofstream out(tmp, std::ios::binary);
        FR_CHECK(out.good(), "cannot write {}", tmp);
        out << contents;
        out.close();
        if (out.fail()) {
            std::error_code ignore;
            std::filesystem::remove(tmp, ignore);
            FR_FAIL("failed writing {}", tmp);
        }
    }
    std::error_code ec;
    std::filesystem::rename(tmp, path, ec);
    if (ec) {
        std::error_code ignore;
        std::filesystem::remove(tmp, ignore);
        FR_FAIL("cannot rename {} to {}: {}", tmp, path, ec.message());
    }
}

}  // namespace fusedrnn::tools
