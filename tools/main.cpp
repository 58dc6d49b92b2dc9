// fusedrnn — command-line entry point. Library code throws fusedrnn::Error; this is the one place that
// turns an exception into a message and an exit code.
#include <cstdio>
#include <exception>
#include <new>
#include <string>

#include "core/error.h"
#include "tools/commands.h"
#include "tools/mpi_world.h"

int main(int argc, char** argv) {
    CLI::App app{"fusedrnn — fused RNN/LSTM/GRU engine: station forecasting and language models"};
    app.require_subcommand(1);
    app.set_version_flag("--version", "fusedrnn 0.1.0");
    fusedrnn::tools::register_info(app);
    fusedrnn::tools::register_check(app);
    fusedrnn::tools::register_train(app);
    fusedrnn::tools::register_eval(app);
    fusedrnn::tools::register_predict(app);
    fusedrnn::tools::register_data(app);
    fusedrnn::tools::register_lm(app);
    // Only `train` runs over several processes; P copies of another command would repeat its work and race for
    // its output files (`info` only prints: each process may say what its machine has).
    const int launched = fusedrnn::tools::launched_processes();
    const std::string command = argc > 1 ? argv[1] : "";
    if (launched > 1 && command != "train" && command != "info") {
        std::fprintf(stderr, "fusedrnn: error: this is one of %d processes started by an MPI launcher, but only "
                     "`fusedrnn train` runs over several processes: run `fusedrnn %s` once, without mpirun\n",
                     launched, argc > 1 ? argv[1] : "");
        return 2;
    }
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    } catch (const fusedrnn::Interrupted& e) {
        std::fprintf(stderr, "fusedrnn: interrupted: %s\n", e.what());
        return 130;  // the shell's code for a command ended by Ctrl-C
    } catch (const fusedrnn::NumericError& e) {
        std::fprintf(stderr, "fusedrnn: stopped: %s\n", e.what());
        return 3;
    } catch (const fusedrnn::Error& e) {
        std::fprintf(stderr, "fusedrnn: error: %s\n", e.what());
        return 2;
    } catch (const std::bad_alloc&) {
        // Host memory (GPU memory has its own message, naming the allocation and the device's free memory).
        std::fprintf(stderr,
                     "fusedrnn: error: out of host memory. Station data takes 4 bytes per value (rows x "
                     "variables; WEATHER-5K is ~10 GB): use fewer stations or years, or a machine with more "
                     "memory\n");
        return 2;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "fusedrnn: internal error: %s\n", e.what());
        return 4;
    }
    return 0;
}
