// Coverage-guided fuzz of the station readers. The input's first byte picks the format family (the file's name
// and the readers that take it: the format's own reader and the folder reader's detection), the rest is the file.
// Every read is held to the readers' contract (tests/reader_contract.h); a broken promise is printed and aborts,
// which libFuzzer records as a crash, with the input that caused it. Run by scripts/fuzz.sh.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <omp.h>
#include <unistd.h>

#include "fusedrnn/tests/reader_contract.h"

namespace ft = fusedrnn::testing;
namespace fs = std::filesystem;

namespace {

struct Family {
    const char* name;
    const char* file_name;
    std::vector<ft::ReaderUnderTest> readers;
};

std::vector<Family>& families() {
    static std::vector<Family> f = {
        {"isd-lite", "010010-99999-2017", {ft::isd_reader(), ft::folder_reader()}},
        {"weather5k", "station.csv", {ft::csv_reader("weather5k"), ft::folder_reader()}},
        {"jena", "jena.csv", {ft::csv_reader("jena"), ft::folder_reader()}},
        {"beijing-multisite", "PRSA_Data_Aotizhongxin.csv", {ft::csv_reader("beijing-multisite"), ft::folder_reader()}},
        {"pm25-five-cities", "ChengduPM.csv", {ft::csv_reader("pm25-five-cities"), ft::folder_reader()}},
        {"noaa-lcd", "723273 - SMYRNA, Tennessee.csv", {ft::csv_reader("noaa-lcd"), ft::folder_reader()}},
        {"ncei-lcd", "72505394728.csv", {ft::csv_reader("ncei-lcd"), ft::folder_reader()}},
    };
    return f;
}

std::string& work_dir() {
    static std::string dir;
    return dir;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    omp_set_num_threads(1);  // the folder reader's parallel region, on one-file folders
    work_dir() = (fs::temp_directory_path() / ("fusedrnn-fuzz-station-" + std::to_string(getpid()))).string();
    for (Family& f : families()) {
        fs::create_directories(work_dir() + "/" + f.name);  // one folder per family: the folder reader sees one file
        for (ft::ReaderUnderTest& r : f.readers)
            r.on_failure = [](const std::string& failure) {
                std::fprintf(stderr, "reader contract broken: %s\n", failure.c_str());
                std::abort();
            };
    }
    std::atexit([] { std::error_code ec; fs::remove_all(work_dir(), ec); });
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    Family& f = families()[data[0] % families().size()];
    const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
    const std::string path = work_dir() + "/" + f.name + "/" + f.file_name;
    std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
    long long max_line = 1;
    for (char c : text) max_line += (c == '\n' || c == '\r');
    for (ft::ReaderUnderTest& r : f.readers) r.check(std::string("input of family ") + f.name, path, max_line);
    return 0;
}
