// `fusedrnn info`: what this build can do here (backends, devices, threads).
#include <string>
#include <vector>

#include <omp.h>

#include <fmt/format.h>

#include "fusedrnn/core/backend.h"
#include "fusedrnn/core/error.h"
#include "fusedrnn/core/gpu_settings.h"
#include "fusedrnn/core/gradient_sum.h"
#include "fusedrnn/core/process_group.h"
#include "fusedrnn/tools/commands.h"
#include "fusedrnn/tools/mpi_world.h"
#include "fusedrnn/tools/progress.h"

namespace fusedrnn::tools {

namespace {

// What each GPU setting resolves to, or what is wrong with it, one entry per variable.
std::vector<std::string> gpu_settings_lines() {
    std::vector<std::string> out;
    auto say = [&out](const char* variable, const auto& resolve) {
        try {
            out.push_back(fmt::format("{} ({})", resolve(), variable));
        } catch (const Error& e) {
            out.push_back(message_for_user(e.what()));
        }
    };
    say("FUSEDRNN_CUDA_RECURRENCE", [] { return "recurrence " + parse_recurrence_strategy().str(); });
    say("FUSEDRNN_TF32", [] { return std::string(tf32_from_env() ? "tf32 on" : "tf32 off"); });
    say("FUSEDRNN_CUDNN_ALGO", [] { return std::string("cudnn algo ") + cudnn_algo_name(cudnn_algo_from_env()); });
    return out;
}

}  // namespace

void register_info(CLI::App& app) {
    auto* cmd = app.add_subcommand("info", "Show the backends usable on this machine");
    cmd->callback([] {
        fmt::print("fusedrnn {}\n", FUSEDRNN_VERSION);
        fmt::print("backends: {}\n", fmt::join(available_backends(), ", "));
        fmt::print("gpu: {}\n", gpu_available() ? fmt::format("{} present", gpu_count())
                                                  : std::string("none (cuda/cudnn backends unavailable)"));
        // How long the other ranks or processes may keep a training step waiting (an invalid value says so).
        std::string timeout;
        try {
            timeout = fmt::format("; a rank or process keeping a step waiting {:g} s stops the run "
                                  "(FUSEDRNN_PEER_TIMEOUT_S)", peer_timeout_seconds());
        } catch (const Error& e) {
            timeout = fmt::format(" ({})", message_for_user(e.what()));
        }
        // The GPU backends' settings, checked on any machine (one preparing a GPU job has often no GPU itself).
        fmt::print("gpu settings: {}{}\n", fmt::join(gpu_settings_lines(), "; "),
                   built_with_cuda() ? "" : " (not used: this build has no CUDA backends)");
        if (gpu_available()) {
            fmt::print("data parallelism (--data-parallel): gradients summed {}\n",
                       nccl_available() ? "by NCCL" + timeout : "through host memory (this build has no NCCL)");
            // The cuda backend's recurrence strategy as FUSEDRNN_CUDA_RECURRENCE sets it (an invalid value says so).
            try {
                fmt::print("cuda backend: {} (FUSEDRNN_CUDA_RECURRENCE: alternating, persistent, persistent:R)\n",
                           make_backend("cuda")->details());
            } catch (const Error& e) {
                fmt::print("cuda backend: {}\n", message_for_user(e.what()));
            }
        }
        fmt::print("multi-process training (mpirun -np P fusedrnn train): {}\n",
                   built_with_mpi() ? "yes (MPI)" + timeout
                                    : "no (this build has no MPI: install libopenmpi-dev, build again)");
        fmt::print("cpu threads: {} (OMP_NUM_THREADS; speed only: the results are the same on any number)\n",
                   omp_get_max_threads());
        const double every = progress_interval_seconds();
        fmt::print("progress when stderr is no terminal: {} (FUSEDRNN_PROGRESS_SECONDS; 0: none)\n",
                   every > 0 ? fmt::format("a line every {:g} s", every) : std::string("none"));
        // The CPU kernels' instruction set as FUSEDRNN_CPU_ISA caps it (an invalid value says so), and OpenBLAS's
        // kernels: both decide the rounding, so a figure repeats bit for bit where both are the same.
        try {
            fmt::print("cpu backend: {} (FUSEDRNN_CPU_ISA caps the kernels: generic, avx2, avx512; OPENBLAS_CORETYPE "
                       "picks OpenBLAS's)\n",
                       make_backend("cpu")->details());
        } catch (const Error& e) {
            fmt::print("cpu backend: {}\n", message_for_user(e.what()));
        }
    });
}

}  // namespace fusedrnn::tools
