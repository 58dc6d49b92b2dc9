// Coverage-guided fuzz of the checkpoint loaders: the input is a whole file, loaded as a forecaster (as `eval` and
// `predict` do), as a language model (as `generate` does), and checked for an unfinished run (as `train` does
// before it would overwrite one). The contract (docs/forecasting.md, "eval and predict"): each loads, or throws fusedrnn::Error naming
// the file (its message printable: valid UTF-8, no control bytes, bounded); nothing else (another exception, a crash, a read out of bounds, an allocation the file's few bytes
// cannot justify: scripts/fuzz.sh runs with -malloc_limit_mb). A model that loads must also run: one forward pass
// on a tiny batch, so a checkpoint whose settings disagree with its tensors cannot get past the loader.
// scripts/fuzz.sh seeds it with real checkpoints written by `fusedrnn train` and `fusedrnn lm-train`. Its mutator
// knows the format: half the time it mutates only the JSON header of a safetensors input and writes the new length
// into the first 8 bytes, so that edits which change the header's length (a hidden size of 8 becoming 80000) reach
// the loaders instead of failing the length check.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <string>
#include <typeinfo>
#include <vector>

#include <unistd.h>

#include "fusedrnn/core/backend.h"
#include "fusedrnn/core/error.h"
#include "fusedrnn/models/checkpoint.h"
#include "fusedrnn/models/language_model.h"
#include "fusedrnn/tests/reader_contract.h"
#include "fusedrnn/tools/forecast_checkpoint.h"

namespace fs = std::filesystem;
using namespace fusedrnn;

namespace {

std::string& file_path() {
    static std::string path;
    return path;
}

std::shared_ptr<Backend<float>>& backend() {
    static std::shared_ptr<Backend<float>> b;
    return b;
}

[[noreturn]] void broken(const char* what, const std::string& detail) {
    std::fprintf(stderr, "checkpoint contract broken: %s: %s\n", what, detail.c_str());
    std::abort();
}

// What is wrong with an error message a person would be shown, or "": bytes quoted from the file must be made
// printable and cut short (a damaged header once put a kilobyte of raw JSON, invalid UTF-8 included, in one).
std::string unfit_message(const std::string& msg) {
    if (msg.size() > 4096) return "it is " + std::to_string(msg.size()) + " bytes long";
    if (!testing::valid_utf8(msg)) return "it is not valid UTF-8";
    for (unsigned char c : msg)
        if (c < 0x20 || c == 0x7f) return "it holds control byte " + std::to_string(int(c));
    return "";
}

// Runs `f`; a fusedrnn::Error must name the file and be fit to show, and nothing else may escape.
template <class F>
void expect_clean(const char* what, F&& f) {
    try {
        f();
    } catch (const Error& e) {
        if (std::string(e.what()).find(fs::path(file_path()).filename().string()) == std::string::npos)
            broken(what, std::string("error does not name the file: ") + e.what());
        if (const std::string why = unfit_message(e.what()); !why.empty())
            broken(what, "error message unfit to show: " + why + ": " + testing::show(e.what(), 300));
    } catch (const std::exception& e) {
        broken(what, std::string("non-fusedrnn exception ") + typeid(e).name() + ": " + e.what());
    } catch (...) {
        broken(what, "non-std exception");
    }
}

// Forward passes are skipped for models too large to run thousands of times a second; the loaders still ran.
constexpr size_t kMaxRunParams = 200000;

}  // namespace

extern "C" size_t LLVMFuzzerMutate(uint8_t* data, size_t size, size_t max_size);

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size, unsigned int seed) {
    uint64_t n = 0;
    if (size >= 8) std::memcpy(&n, data, 8);  // safetensors: little-endian header length, as on x86
    if ((seed & 1) && size >= 8 && n <= size - 8 && max_size > size) {
        const size_t data_bytes = size - 8 - size_t(n);
        const size_t room = max_size - 8 - data_bytes;  // the most the header may grow to
        std::vector<uint8_t> header(data + 8, data + 8 + n), rest(data + 8 + n, data + size);
        // A metadata edit fails the metadata checksum first: drop it, as a hand edit would (the error says to), so
        // that edits reach the field checks behind it.
        std::string text(header.begin(), header.end());
        const std::string key = "\"fusedrnn.metadata_checksum\":\"";
        if (const size_t at = text.find(key); at != std::string::npos) {
            size_t end = text.find('"', at + key.size());
            if (end != std::string::npos) {
                size_t begin = at;
                ++end;
                if (end < text.size() && text[end] == ',') ++end;
                else if (begin > 0 && text[begin - 1] == ',') --begin;
                text.erase(begin, end - begin);
                header.assign(text.begin(), text.end());
            }
        }
        const size_t header_bytes = header.size();
        header.resize(room);
        const size_t m = LLVMFuzzerMutate(header.data(), header_bytes, room);
        const uint64_t m64 = m;
        std::memcpy(data, &m64, 8);
        std::memcpy(data + 8, header.data(), m);
        if (!rest.empty()) std::memcpy(data + 8 + m, rest.data(), rest.size());
        return 8 + m + rest.size();
    }
    return LLVMFuzzerMutate(data, size, max_size);
}

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    file_path() = (fs::temp_directory_path() / ("fusedrnn-fuzz-" + std::to_string(getpid()) + ".safetensors")).string();
    backend() = make_backend("cpu");
    std::atexit([] { std::error_code ec; fs::remove(file_path(), ec); });
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::ofstream(file_path(), std::ios::binary | std::ios::trunc).write(reinterpret_cast<const char*>(data),
                                                                          std::streamsize(size));
    expect_clean("load_forecaster", [] {
        tools::LoadedForecaster f = tools::load_forecaster(file_path(), backend());
        if (f.model->params().size() > kMaxRunParams) return;
        const int T = f.dataset.window.input_len, C = f.model->spec().input_size;
        if (T > 512) return;
        Tensor<float> x = backend()->zeros({long(T), 2, long(C)});
        Tensor<float> y = f.model->forward(x, false);
        if (y.numel() != size_t(2) * size_t(f.model->outputs()))
            broken("load_forecaster", "forward returned " + std::to_string(y.numel()) + " values for outputs " +
                                          std::to_string(f.model->outputs()));
    });
    expect_clean("load_language_model", [] {
        LanguageModel lm = load_language_model(file_path(), backend());
        (void)lm;
    });
    expect_clean("refuse_to_overwrite_unfinished_run", [] { refuse_to_overwrite_unfinished_run(file_path(), "trainer"); });
    return 0;
}
