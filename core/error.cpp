#include "fusedrnn/core/error.h"

#include <cmath>
#include <cstring>

namespace fusedrnn {

std::string finite_or_name(double v) { return std::isnan(v) ? std::string("NaN") : fmt::format("{}", v); }

}  // namespace fusedrnn

namespace fusedrnn::detail {

namespace {

// Whether `msg` already ends with a location, " (models/model.cpp:12)": a message that wraps another's (e.what() at
// its end) keeps the one where the problem was found rather than gaining a second.
bool ends_with_location(const std::string& msg) {
    const size_t open = msg.rfind(" (");
    if (open == std::string::npos || msg.empty() || msg.back() != ')') return false;
    const std::string tail = msg.substr(open + 2, msg.size() - open - 3);  // "models/model.cpp:12"
    const size_t colon = tail.rfind(':');
    if (colon == std::string::npos || colon + 1 == tail.size() || tail.find(' ') != std::string::npos) return false;
    for (size_t i = colon + 1; i < tail.size(); ++i)
        if (tail[i] < '0' || tail[i] > '9') return false;
    const std::string file = tail.substr(0, colon);
    for (const char* ext : {".cpp", ".h", ".cu", ".cuh"}) {
        const size_t n = std::strlen(ext);
        if (file.size() > n && file.compare(file.size() - n, n, ext) == 0) return true;
    }
    return false;
}

}  // namespace

std::string located(const char* file, int line, const std::string& msg) {
    if (ends_with_location(msg)) return msg;
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
