#include "fusedrnn/tests/test_support.h"

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <system_error>

#include "fusedrnn/core/backend.h"
#include "fusedrnn/core/data/synthetic.h"

namespace fusedrnn::testing {

namespace {
// The command-line suites check what the CLI prints, stderr merged in: no plain progress line there however long a
// loaded machine takes (FUSEDRNN_PROGRESS_SECONDS, default 60 s). A test that wants them sets the variable on its
// command line; a value the environment gives is kept.
[[maybe_unused]] const bool g_no_progress_lines = ::setenv("FUSEDRNN_PROGRESS_SECONDS", "0", 0) == 0;
}  // namespace

uint64_t test_seed() {
    if (const char* s = std::getenv("FUSEDRNN_TEST_SEED")) {
        // Strictly: a typo must not rerun a failure on seed 0 and report it gone.
        char* end = nullptr;
        errno = 0;
        const unsigned long long seed = std::strtoull(s, &end, 10);
        FR_CHECK(*s >= '0' && *s <= '9' && *end == '\0' && errno == 0,
                 "FUSEDRNN_TEST_SEED='{}': expected the unsigned integer a test printed as its seed", s);
        return seed;
    }
    static const uint64_t base = std::random_device{}();
    static uint64_t counter = 0;
    const uint64_t seed = base + 7919 * (++counter);
    std::cout << "[ seed     ] FUSEDRNN_TEST_SEED=" << seed << "\n";
    return seed;
}

std::string source_dir() { return FUSEDRNN_SOURCE_DIR; }

std::string data_dir() {
    namespace fs = std::filesystem;
    std::string dir;
    if (const char* env = std::getenv("FUSEDRNN_DATA")) dir = env;
    else dir = source_dir() + "/../shared/data";
    return fs::is_directory(dir) ? fs::canonical(dir).string() : std::string();
}

std::vector<std::string> file_stems(const std::string& dir, const std::string& extension) {
    std::vector<std::string> names;
    if (std::filesystem::is_directory(dir))
        for (const auto& e : std::filesystem::directory_iterator(dir))
            if (e.path().extension() == extension) names.push_back(e.path().stem().string());
    std::sort(names.begin(), names.end());
    return names;
}

std::vector<std::string> gpu_backend_names() {
    std::vector<std::string> gpu = available_backends();
    gpu.erase(std::remove(gpu.begin(), gpu.end(), "cpu"), gpu.end());
    return gpu;
}

std::string temp_dir() {
    namespace fs = std::filesystem;
    static int n = 0;
    fs::path p = fs::temp_directory_path() /
                 ("fusedrnn-test-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
    fs::remove_all(p);
    fs::create_directories(p);
    struct Cleanup {
        std::vector<fs::path> paths;
        ~Cleanup() { for (auto& q : paths) { std::error_code ec; fs::remove_all(q, ec); } }
    };
    static Cleanup cleanup;
    cleanup.paths.push_back(p);
    return p.string();
}

std::string read_file_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const Error& e) {
        return e.what();
    }
    return "(no error)";
}

data::WindowedDataset station_windows(int stations, int input_len, int horizon, int64_t stride, uint64_t seed) {
    data::SyntheticConfig sc;
    sc.stations = stations;
    sc.years = 3;
    sc.start_year = 2021;
    sc.seed = seed;
    data::DatasetConfig dc;
    dc.window.input_len = input_len;
    dc.window.horizon = horizon;
    dc.split = data::SplitSpec::years(2021, 2021, 2022, 2022, 2023, 2023);
    dc.stride = stride;
    return data::build_dataset(data::generate_synthetic(sc), dc);
}

}  // namespace fusedrnn::testing
