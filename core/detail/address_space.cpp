#include "fusedrnn/core/detail/address_space.h"

#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>

namespace fusedrnn::detail {

size_t address_space_limit() {
    struct rlimit limit;
    if (::getrlimit(RLIMIT_AS, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return 0;
    return size_t(limit.rlim_cur);
}

size_t mapped_address_space() {
    std::FILE* f = std::fopen("/proc/self/statm", "r");
    if (!f) return 0;
    unsigned long pages = 0;
    if (std::fscanf(f, "%lu", &pages) != 1) pages = 0;
    std::fclose(f);
    return size_t(pages) * size_t(::sysconf(_SC_PAGESIZE));
}

}  // namespace fusedrnn::detail
