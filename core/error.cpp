#include "core/error.h"

#include <cstring>

namespace fusedrnn::detail {

[[noreturn]] void throw_error(const char* file, int line, const std::string& msg) {
    // Keep only the path below the project root so messages stay short and stable.
    const char* short_file = file;
    for (const char* dir : {"/core/", "/models/", "/kernels/", "/cuda/", "/tools/"}) {
        if (const char* p = std::strstr(file, dir)) { short_file = p + 1; break; }
    }
    throw Error(fmt::format("{} ({}:{})", msg, short_file, line));
}

}  // namespace fusedrnn::detail
