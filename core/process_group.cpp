#include "fusedrnn/core/process_group.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "fusedrnn/core/error.h"

namespace fusedrnn {
namespace {

// Sizes first: a process with another size would otherwise make the gather read or write out of bounds.
template <class T>
std::vector<std::vector<T>> gather_equal_sized(ProcessGroup& group, const std::vector<T>& mine, const char* what) {
    const int P = group.size();
    const int64_t n = int64_t(mine.size());
    std::vector<int64_t> sizes(size_t(P), 0);
    group.all_gather(&n, sizeof n, sizes.data());
    for (int p = 1; p < P; ++p)
        FR_CHECK(sizes[size_t(p)] == sizes[0], "{}: process {} has {} values, process 0 has {} (the processes were "
                 "started with other flags or data)", what, p, sizes[size_t(p)], sizes[0]);
    std::vector<T> all(size_t(P) * mine.size());
    group.all_gather(mine.data(), mine.size() * sizeof(T), all.data());
    std::vector<std::vector<T>> out(static_cast<size_t>(P));
    for (size_t p = 0; p < size_t(P); ++p)
        out[p].assign(all.begin() + std::ptrdiff_t(p * mine.size()),
                      all.begin() + std::ptrdiff_t((p + 1) * mine.size()));
    return out;
}

std::string shorten(const std::string& s) { return s.size() <= 300 ? s : s.substr(0, 300) + " ..."; }

std::vector<std::string> split_items(const std::string& s) {
    std::vector<std::string> items;
    size_t begin = 0;
    for (size_t end; (end = s.find("; ", begin)) != std::string::npos; begin = end + 2)
        items.push_back(s.substr(begin, end - begin));
    items.push_back(s.substr(begin));
    return items;
}

}  // namespace

std::vector<std::vector<double>> all_gather(ProcessGroup& group, const std::vector<double>& mine, const char* what) {
    return gather_equal_sized(group, mine, what);
}
std::vector<std::vector<int64_t>> all_gather(ProcessGroup& group, const std::vector<int64_t>& mine, const char* what) {
    return gather_equal_sized(group, mine, what);
}
std::vector<std::vector<float>> all_gather(ProcessGroup& group, const std::vector<float>& mine, const char* what) {
    return gather_equal_sized(group, mine, what);
}

void broadcast(ProcessGroup& group, std::vector<float>& v, int root) {
    int64_t n = int64_t(v.size());
    group.broadcast(&n, sizeof n, root);
    v.resize(size_t(n));
    group.broadcast(v.data(), v.size() * sizeof(float), root);
}

bool any_process(ProcessGroup& group, bool flag) {
    const uint8_t mine = flag ? 1 : 0;
    std::vector<uint8_t> all(size_t(group.size()), 0);
    group.all_gather(&mine, 1, all.data());
    return std::any_of(all.begin(), all.end(), [](uint8_t f) { return f != 0; });
}

void check_same_on_every_process(ProcessGroup& group, const std::string& what, const std::string& value) {
    const int P = group.size();
    const int64_t n = int64_t(value.size());
    std::vector<int64_t> sizes(size_t(P), 0);
    group.all_gather(&n, sizeof n, sizes.data());
    const size_t longest = size_t(*std::max_element(sizes.begin(), sizes.end()));
    std::string padded = value;
    padded.resize(longest, '\0');
    std::string all(size_t(P) * longest, '\0');
    group.all_gather(padded.data(), longest, all.data());
    const std::string first = all.substr(0, size_t(sizes[0]));
    for (int p = 1; p < P; ++p) {
        const std::string other = all.substr(size_t(p) * longest, size_t(sizes[size_t(p)]));
        if (other == first) continue;
        // Name the items that differ ("; "-separated), not the whole description.
        const std::vector<std::string> a = split_items(first), b = split_items(other);
        std::vector<std::string> differ;
        for (size_t i = 0; i < std::max(a.size(), b.size()); ++i) {
            const std::string x = i < a.size() ? a[i] : "-", y = i < b.size() ? b[i] : "-";
            if (x != y) differ.push_back(fmt::format("'{}' where process 0 has '{}'", shorten(y), shorten(x)));
        }
        FR_FAIL("the processes of this run disagree on their {}: process {} has {}; start every process with the "
                "same flags and data", what, p, fmt::format("{}", fmt::join(differ, ", ")));
    }
}

double peer_timeout_seconds() {
    const char* v = std::getenv("FUSEDRNN_PEER_TIMEOUT_S");
    if (v == nullptr || *v == '\0') return kPeerTimeoutSeconds;
    char* end = nullptr;
    const double seconds = std::strtod(v, &end);
    FR_CHECK(end != v && *end == '\0' && std::isfinite(seconds) && seconds > 0,
             "FUSEDRNN_PEER_TIMEOUT_S='{}': expected a number of seconds > 0 (how long the other ranks or processes "
             "may keep a training step waiting before the run is given up as hung; default {:g})", v,
             kPeerTimeoutSeconds);
    return seconds;
}

}  // namespace fusedrnn
