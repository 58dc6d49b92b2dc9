#include "fusedrnn/core/error.h"

#include <cmath>
#include <cstring>

namespace fusedrnn {

std::string finite_or_name(double v) { return std::isnan(v) ? std::string("NaN") : fmt::format("{}", v); }

}  // namespace fusedrnn

namespace fusedrnn::detail {

std::string located(const char* file, int line, const std::string& msg) {
    // Keep only the path below the project root so messages stay short and stable.
    const char* short_file = file;
    for (const char* dir : {"/core/", "/models/", "/kernels/", "/cuda/", "/tools/"}) {
        if (const char* p = std::strstr(file, dir)) { short_file = p + 1; break; }
    }
    return fmt::format("{} ({}:{})", msg, short_file, line);
}

[[noreturn]] void throw_error(const char* file, int line, const std::string& msg) {
    throw Error(located(file, line, msg));
}

}  // namespace fusedrnn::detail
