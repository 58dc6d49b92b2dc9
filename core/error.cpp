#include "fusedrnn/core/error.h"

#include <cmath>
#include <cstdlib>
#include <cstring>

namespace fusedrnn {

std::string finite_or_name(double v) { return std::isnan(v) ? std::string("NaN") : fmt::format("{}", v); }

std::string message_for_user(const std::string& msg) {
    const char* keep = std::getenv("FUSEDRNN_SOURCE_LOCATIONS");
    if (keep != nullptr && *keep != '\0' && std::strcmp(keep, "0") != 0) return msg;
    return detail::without_locations(msg);
}

}  // namespace fusedrnn

namespace fusedrnn::detail {

namespace {

// Whether `s` is what located() puts in brackets: "models/model.cpp:12" (a source file, a colon, a line number).
bool is_location(const std::string& s) {
    const size_t colon = s.rfind(':');
    if (colon == std::string::npos || colon + 1 == s.size() || s.find(' ') != std::string::npos) return false;
    for (size_t i = colon + 1; i < s.size(); ++i)
        if (s[i] < '0' || s[i] > '9') return false;
    const std::string file = s.substr(0, colon);
    for (const char* ext : {".cpp", ".h", ".cu", ".cuh"}) {
        const size_t n = std::strlen(ext);
        if (file.size() > n && file.compare(file.size() - n, n, ext) == 0) return true;
    }
    return false;
}

// Whether `msg` already ends with a location, " (models/model.cpp:12)": a message that wraps another's (e.what() at
// its end) keeps the one where the problem was found rather than gaining a second.
bool ends_with_location(const std::string& msg) {
    const size_t open = msg.rfind(" (");
    if (open == std::string::npos || msg.empty() || msg.back() != ')') return false;
    return is_location(msg.substr(open + 2, msg.size() - open - 3));
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

std::string without_locations(const std::string& msg) {
    std::string out = msg;
    size_t from = 0;
    while (true) {
        const size_t open = out.find(" (", from);
        if (open == std::string::npos) break;
        const size_t close = out.find(')', open + 2);
        if (close != std::string::npos && is_location(out.substr(open + 2, close - open - 2))) {
            out.erase(open, close + 1 - open);
            from = open;
        } else {
            from = open + 1;
        }
    }
    return out;
}

[[noreturn]] void throw_error(const char* file, int line, const std::string& msg) {
    throw Error(located(file, line, msg));
}

}  // namespace fusedrnn::detail
