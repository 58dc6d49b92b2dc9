// Backend registry. The CPU backend is always built in; the CUDA module (when compiled) adds "cuda"
// and "cudnn" through register_cuda_backends(). Registration is explicit (no static initialisers),
// so nothing is lost when the library is linked statically.
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/backend.h"

namespace fusedrnn {

// Defined in kernels/cpu/cpu_backend.cpp.
std::shared_ptr<Backend<float>> make_cpu_backend_f32();
std::shared_ptr<Backend<double>> make_cpu_backend_f64();

#ifdef FUSEDRNN_WITH_CUDA
// Defined in cuda/register.cpp: registers "cuda" and "cudnn" when a device is present; returns the
// number of CUDA devices (0 when the driver finds none).
int register_cuda_backends();
#endif

namespace {

struct Registry {
    std::mutex mutex;
    std::map<std::string, BackendFactory> factories;
    int gpu_count = 0;
    std::string gpu_note = "this build has no CUDA support (configure with -DFUSEDRNN_CUDA=ON)";
};

Registry& raw_registry() {
    static Registry r;
    return r;
}

// The registry with the CUDA module's backends added (once, on first use).
Registry& registry() {
    static std::once_flag once;
    std::call_once(once, [] {
#ifdef FUSEDRNN_WITH_CUDA
        Registry& r = raw_registry();
        r.gpu_count = register_cuda_backends();
        if (r.gpu_count == 0) r.gpu_note = "CUDA support is built in, but no GPU is present";
#endif
    });
    return raw_registry();
}

}  // namespace

void register_backend(const std::string& name, BackendFactory factory) {
    // Called from register_cuda_backends() while registry()'s call_once runs: use the raw registry.
    Registry& r = raw_registry();
    std::lock_guard<std::mutex> lock(r.mutex);
    r.factories[name] = factory;
}

bool gpu_available() { return registry().gpu_count > 0; }

std::vector<std::string> available_backends() {
    Registry& r = registry();
    std::lock_guard<std::mutex> lock(r.mutex);
    std::vector<std::string> names{"cpu"};
    for (const auto& kv : r.factories) names.push_back(kv.first);
    return names;
}

std::shared_ptr<Backend<float>> make_backend(const std::string& name) {
    if (name == "cpu") return make_cpu_backend_f32();  // without probing for GPUs (no CUDA initialisation)
    Registry& r = registry();
    std::string wanted = name;
    if (wanted == "auto") wanted = r.factories.count("cuda") ? "cuda" : "cpu";
    if (wanted == "cpu") return make_cpu_backend_f32();
    {
        std::lock_guard<std::mutex> lock(r.mutex);
        auto it = r.factories.find(wanted);
        if (it != r.factories.end()) return it->second();
    }
    if (wanted == "cuda" || wanted == "cudnn")
        FR_FAIL("backend '{}' is not available: {}", wanted, r.gpu_note);
    FR_FAIL("unknown backend '{}': expected cpu, cuda, cudnn or auto", name);
}

std::shared_ptr<Backend<double>> make_backend_f64(const std::string& name) {
    FR_CHECK(name == "cpu", "backend '{}' has no double-precision mode; use 'cpu'", name);
    return make_cpu_backend_f64();
}

}  // namespace fusedrnn
