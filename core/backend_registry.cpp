// Backend registry. The CPU backend is always built in; the CUDA module (when compiled) adds "cuda"
// and "cudnn" through register_cuda_backends(). Registration is explicit (no static initialisers),
// so nothing is lost when the library is linked statically.
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "fusedrnn/core/backend.h"
#include "fusedrnn/core/error.h"
#include "fusedrnn/core/gradient_sum.h"

namespace fusedrnn {

// Defined in kernels/cpu/cpu_backend.cpp.
std::shared_ptr<Backend<float>> make_cpu_backend_f32();
std::shared_ptr<Backend<double>> make_cpu_backend_f64();

#ifdef FUSEDRNN_WITH_CUDA
// Defined in cuda/register.cpp: registers "cuda" and "cudnn" when a device is present; returns the
// number of CUDA devices (0 when the driver finds none, and then `why_none` says what the driver said).
int register_cuda_backends(std::string* why_none);
#endif

namespace {

struct Registry {
    std::mutex mutex;
    std::map<std::string, BackendFactory> factories;
    GradientSumFactory nccl = nullptr;
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
        std::string why_none;
        r.gpu_count = register_cuda_backends(&why_none);
        if (r.gpu_count == 0)
            r.gpu_note = "CUDA support is built in, but no GPU is present" +
                         (why_none.empty() ? std::string() : " (" + why_none + ")");
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

void register_nccl_gradient_sum(GradientSumFactory factory) {
    Registry& r = raw_registry();  // as register_backend
    std::lock_guard<std::mutex> lock(r.mutex);
    r.nccl = factory;
}

std::unique_ptr<GradientSum> make_gradient_sum(const std::vector<Backend<float>*>& backends, std::string* why_not,
                                               ProcessGroup* processes) {
    FR_CHECK(!backends.empty(), "a gradient sum needs at least one rank");
    if (why_not) why_not->clear();
    int gpus = 0;
    bool distinct = true;
    for (size_t i = 0; i < backends.size(); ++i) {
        const Device d = backends[i]->device();
        if (d.is_cpu()) continue;
        ++gpus;
        for (size_t j = 0; j < i; ++j) distinct = distinct && backends[j]->device().index != d.index;
    }
    GradientSumFactory nccl = nullptr;
    if (gpus > 0) {
        Registry& r = registry();
        std::lock_guard<std::mutex> lock(r.mutex);
        nccl = r.nccl;
    }
    std::string reason;  // why GPU ranks are not summed by NCCL
    if (gpus > 0 && size_t(gpus) < backends.size()) reason = "the ranks mix CPU and GPU backends";
    else if (gpus > 0 && !distinct) reason = "two ranks share a GPU (NCCL needs one rank per device)";
    else if (gpus > 0 && !nccl)
        reason = "this build has no NCCL (nccl.h and libnccl were not found when it was configured)";
    const bool use_nccl = gpus > 0 && reason.empty();
    // Every process must pick the same: NCCL's set-up and all-reduce are collective, as is the host sum's gather.
    if (processes && processes->size() > 1)
        check_same_on_every_process(*processes, "gradient sum",
                                    use_nccl ? std::string("nccl")
                                    : gpus == 0 ? std::string("host (CPU ranks)")
                                                : "host (" + reason + ")");
    if (use_nccl) return nccl(backends, processes);
    if (why_not) *why_not = reason;
    return make_host_gradient_sum(backends, processes);
}

bool nccl_available() {
    Registry& r = registry();
    std::lock_guard<std::mutex> lock(r.mutex);
    return r.nccl != nullptr;
}

bool gpu_available() { return registry().gpu_count > 0; }

bool built_with_cuda() {
#ifdef FUSEDRNN_WITH_CUDA
    return true;
#else
    return false;
#endif
}

std::string gpu_backends_missing_reason() {
    Registry& r = registry();
    std::lock_guard<std::mutex> lock(r.mutex);
    return r.factories.count("cuda") ? std::string() : r.gpu_note;
}

int gpu_count() { return registry().gpu_count; }

std::vector<std::string> available_backends() {
    Registry& r = registry();
    std::lock_guard<std::mutex> lock(r.mutex);
    std::vector<std::string> names{"cpu"};
    for (const auto& kv : r.factories) names.push_back(kv.first);
    return names;
}

std::shared_ptr<Backend<float>> make_backend(const std::string& name, int device) {
    if (name == "cpu") return make_cpu_backend_f32();  // without probing for GPUs (no CUDA initialisation)
    Registry& r = registry();
    std::string wanted = name;
    if (wanted == "auto") wanted = r.factories.count("cuda") ? "cuda" : "cpu";
    if (wanted == "cpu") return make_cpu_backend_f32();
    {
        std::lock_guard<std::mutex> lock(r.mutex);
        auto it = r.factories.find(wanted);
        if (it != r.factories.end()) {
            FR_CHECK(device >= 0 && device < r.gpu_count, "backend '{}': there is no GPU cuda:{} (this machine has {})",
                     wanted, device, r.gpu_count);
            return it->second(device);
        }
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
