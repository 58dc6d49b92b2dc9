// `fusedrnn info`: what this build can do here (backends, devices, threads).
#include <string>
#include <vector>

#include <omp.h>

#include <fmt/format.h>

#include "core/backend.h"
#include "tools/commands.h"

namespace fusedrnn::tools {

void register_info(CLI::App& app) {
    auto* cmd = app.add_subcommand("info", "Show the backends usable on this machine");
    cmd->callback([] {
        fmt::print("fusedrnn 0.1.0\n");
        fmt::print("backends: {}\n", fmt::join(available_backends(), ", "));
        fmt::print("gpu: {}\n", gpu_available() ? "present" : "none (cuda/cudnn backends unavailable)");
        fmt::print("cpu threads: {}\n", omp_get_max_threads());
    });
}

}  // namespace fusedrnn::tools
