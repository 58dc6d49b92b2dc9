// fusedrnn — command-line entry point. Library code throws fusedrnn::Error; this is the one place that
// turns an exception into a message and an exit code.
#include <signal.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <new>
#include <regex>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <fmt/format.h>

#include "fusedrnn/core/detail/address_space.h"
#include "fusedrnn/core/error.h"
#include "fusedrnn/tools/command_line_words.h"
#include "fusedrnn/tools/commands.h"
#include "fusedrnn/tools/interrupt.h"
#include "fusedrnn/tools/mpi_world.h"
#include "fusedrnn/tools/progress.h"

namespace {

// Under an address-space limit, what was mapped before the command began (the libraries: about 1 GiB with the CUDA
// ones), which the limit counts too; 0 without a limit.
size_t g_mapped_at_start = 0;

// What a command's flags can do when host memory runs out: `tensor` when a tensor could not be allocated (a model's
// weights, a batch's activations), else a std::bad_alloc anywhere (the data, read whole; a checkpoint's copy of the
// weights and optimizer state while it is written; a language model's windows). Only the command's own flags (QA:
// eval was told --hidden, data synth --max-stations). `sub`: the data command's subcommand.
std::string host_memory_advice(const std::string& command, const std::string& sub, bool tensor) {
    const bool text = command == "lm-train" || command == "generate" || command == "perplexity";
    std::string advice;
    if (command == "check")
        advice = "the check's model and batch are held whole: use a smaller --batch, --hidden or --steps";
    // A training step or a scoring batch that does not fit is named by the trainer or perplexity with their mode's
    // flags; what reaches here is the model's weights.
    else if (command == "lm-train" && tensor)
        advice = "a model this large needs a smaller --embedding, --hidden or --layers";
    else if (text && tensor)
        advice = "the model is held whole";
    else if (command == "lm-train")
        advice = "the text's tokens, in window mode every window of --context tokens (built before training), the "
                 "model and its checkpoints are held whole: use a shorter text, a smaller --context in window mode, or "
                 "a smaller model (--embedding, --hidden, --layers)";
    else if (text)
        advice = "the text's tokens and the model are held whole: use a shorter text";
    else if (command == "train" && tensor)
        advice = "a model or batch this large needs a smaller --hidden, --layers or --batch";
    else if (command == "eval" && tensor)
        advice = "a batch this large needs a smaller --batch";
    else if (tensor)
        advice = "the model is held whole";
    else if (command == "data" && sub == "synth")  // a few stations at a time, each as the files will hold it
        advice = "data synth holds up to 64 stations (about 256 MiB of values) at a time as it writes them: use fewer "
                 "--years";
    else if (command == "data")
        advice = "station data is read whole (4 bytes per value, rows x variables; WEATHER-5K is ~10 GB): use fewer "
                 "stations or years (--max-stations; --synthetic-stations, --synthetic-years)";
    else if (command == "train")
        advice = "station data (4 bytes per value, rows x variables; WEATHER-5K is ~10 GB), the model and its "
                 "checkpoints (weights and optimizer state, copied as they are written) are held whole: use fewer "
                 "stations or years (--max-stations, --synthetic-stations, --synthetic-years) or a smaller model "
                 "(--hidden, --layers)";
    else
        advice = std::string("station data is read whole (4 bytes per value, rows x variables; WEATHER-5K is ~10 GB): "
                             "use fewer stations or years (--max-stations") +
                 (command == "predict" ? ", --station" : "") + "; --synthetic-stations, --synthetic-years)";
    advice += ", or a machine with more memory";
    // QA: a 12 MB folder under `ulimit -v 1075200` was "station data ... use fewer stations": the libraries had taken
    // the room before any data.
    if (g_mapped_at_start > 0)
        advice += fmt::format(" (the address-space limit, ulimit -v, counts every mapping: {:.2f} GiB were mapped "
                              "before the command began, by its libraries)", double(g_mapped_at_start) / (1 << 30));
    return advice;
}

int run_command(int argc, char** argv) {
    // Over a file-size limit (ulimit -f) a write fails with EFBIG, which the writers report naming the file (and
    // clean up after); SIGXFSZ's default action would end the process without a word, leaving a temp file behind.
    ::signal(SIGXFSZ, SIG_IGN);
    // Ctrl-C, SIGTERM, SIGHUP and SIGPIPE remove the temp files being written before they end the process.
    fusedrnn::tools::remove_temp_files_on_signals();
    CLI::App app{"fusedrnn — fused RNN/LSTM/GRU engine: station forecasting and language models"};
    app.require_subcommand(1);
    app.set_version_flag("--version", std::string("fusedrnn ") + FUSEDRNN_VERSION);
    // A command line that does not parse reads like every other error ("fusedrnn: error: ..."), and words it did not
    // expect are listed in the order they were typed (CLI11 lists them backwards).
    app.failure_message([](const CLI::App* a, const CLI::Error& e) {
        std::string what = e.what();
        if (dynamic_cast<const CLI::ExtrasError*>(&e) != nullptr) {
            std::vector<std::string> extras = a->remaining(true);
            if (!extras.empty()) {
                what = extras.size() == 1 ? "an argument was not expected:" : "arguments were not expected:";
                for (const auto& x : extras) what += " " + x;
                what += fusedrnn::tools::near_misses(a, extras, "");
            }
        } else if (dynamic_cast<const CLI::RequiredError*>(&e) != nullptr) {
            // A required flag mistyped ("--checkpont") is first said missing: name the word as well.
            what += fusedrnn::tools::near_misses(a, a->remaining(true), " was not expected");
        }
        // CLI11 says "--epochs: At Most 1 required but received 2" for a flag given twice.
        static const std::regex repeated(R"(^(\S+): At Most 1 required but received (\d+)$)");
        // And "Could not convert: --epochs = 1e3" for a whole-number flag given 1e3, 2.5 or 99999999999 (a value the
        // flag's own check, which reads any number, let through).
        static const std::regex unconverted(R"(^Could not convert: (\S+) = (.*)$)");
        // And "--data: 1 required TEXT missing" for a flag last on the line without its value.
        // The type may carry its check after a colon ("INT:> 0", "FLOAT:[0, 0.5]"; QA's recheck): the type is named.
        static const std::regex missing(R"(^(\S+): 1 required ([^: ]+)(:.*)? missing$)");
        std::smatch m;
        if (std::regex_match(what, m, missing))
            what = m[1].str() + " was given no value (it takes one: " + m[2].str() + ")";
        else if (std::regex_match(what, m, repeated))
            what = m[1].str() + " takes one value, but was given " + m[2].str() + " (is it on the command line twice?)";
        else if (std::regex_match(what, m, unconverted))
            what = m[1].str() + ": " + fusedrnn::tools::unconverted_value_reason(a, m[1].str(), m[2].str());
        return "fusedrnn: error: " + what + "\nRun with --help for more information.\n";
    });
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
    const std::string sub = argc > 2 ? argv[2] : "";
    if (launched > 1 && command != "train" && command != "info") {
        std::fprintf(stderr, "fusedrnn: error: this is one of %d processes started by an MPI launcher, but only "
                     "`fusedrnn train` runs over several processes: run `fusedrnn %s` once, without mpirun\n",
                     launched, argc > 1 ? argv[1] : "");
        return 2;
    }
    const std::vector<std::string> words(argv + 1, argv + argc);
    if (!fusedrnn::tools::known_command_words(app, words, "")) return 2;
    if (const std::string why = fusedrnn::tools::misread_flag_value(app, words); !why.empty()) {
        std::fprintf(stderr, "fusedrnn: error: %s\nRun with --help for more information.\n", why.c_str());
        return 2;
    }
    // As for the other variables a value outside those listed is an error: "yes" or "2" must not be guessed at.
    if (const char* v = std::getenv("FUSEDRNN_SOURCE_LOCATIONS");
        v != nullptr && *v != '\0' && std::strcmp(v, "0") != 0 && std::strcmp(v, "1") != 0) {
        std::fprintf(stderr, "fusedrnn: error: FUSEDRNN_SOURCE_LOCATIONS must be 0 or 1 (or unset), got '%s'\n", v);
        return 2;
    }
    try {
        (void)fusedrnn::tools::progress_interval_seconds();  // read by long work: a bad value fails now
    } catch (const fusedrnn::Error& e) {
        std::fprintf(stderr, "fusedrnn: error: %s\n", fusedrnn::message_for_user(e.what()).c_str());
        return 2;
    }
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        // --help and --version exit 0; a command line that does not parse exits 2, as every other error
        // (CLI11's own codes, 100 and up, would tell a script nothing more).
        return app.exit(e) == 0 ? 0 : 2;
    } catch (const fusedrnn::Interrupted& e) {
        fusedrnn::tools::end_live_line();
        std::fprintf(stderr, "fusedrnn: interrupted: %s\n", fusedrnn::message_for_user(e.what()).c_str());
        return 130;  // the shell's code for a command ended by Ctrl-C
    } catch (const fusedrnn::TrainingDiverged& e) {
        fusedrnn::tools::end_live_line();
        std::fprintf(stderr, "fusedrnn: error: %s\n", fusedrnn::message_for_user(e.what()).c_str());
        return 3;
    } catch (const fusedrnn::NumericError& e) {
        fusedrnn::tools::end_live_line();
        std::fprintf(stderr, "fusedrnn: stopped: %s\n", fusedrnn::message_for_user(e.what()).c_str());
        return 3;
    } catch (const fusedrnn::AddressSpaceTooSmall& e) {
        fusedrnn::tools::end_live_line();
        std::fprintf(stderr, "fusedrnn: error: %s\n", fusedrnn::message_for_user(e.what()).c_str());
        std::fflush(nullptr);
        std::_Exit(2);  // not exit(): OpenBLAS's exit handler would join its worker, still retrying its buffer
    } catch (const fusedrnn::OutOfHostMemory& e) {  // no caller named its flags (one that did threw an Error)
        fusedrnn::tools::end_live_line();
        std::fprintf(stderr, "fusedrnn: error: %s: %s\n", fusedrnn::message_for_user(e.what()).c_str(),
                     host_memory_advice(command, sub, true).c_str());
        return 2;
    } catch (const fusedrnn::Error& e) {
        fusedrnn::tools::end_live_line();
        std::fprintf(stderr, "fusedrnn: error: %s\n", fusedrnn::message_for_user(e.what()).c_str());
        return 2;
    } catch (const std::bad_alloc&) {
        fusedrnn::tools::end_live_line();
        // Host memory (GPU memory has its own message, naming the allocation and the device's free memory).
        std::fprintf(stderr, "fusedrnn: error: out of host memory: %s\n",
                     host_memory_advice(command, sub, false).c_str());
        return 2;
    } catch (const std::system_error& e) {
        fusedrnn::tools::end_live_line();
        // fmt's print to standard output that failed (a full disk; a closed pipe with SIGPIPE ignored) is output that
        // could not be written, as the flush below says it (QA: `train ... >/dev/full` was an internal error).
        if (std::string_view(e.what()).rfind("cannot write to file", 0) == 0) {
            std::fprintf(stderr, "fusedrnn: error: writing to standard output failed: %s\n",
                         e.code().message().c_str());
            return 2;
        }
        std::fprintf(stderr, "fusedrnn: internal error: %s\n", e.what());
        return 4;
    } catch (const std::exception& e) {
        fusedrnn::tools::end_live_line();
        std::fprintf(stderr, "fusedrnn: internal error: %s\n", e.what());
        return 4;
    }
    // Output written to a full disk or a closed pipe must not end as a success (`generate > out.txt`): stdio
    // buffers it, so the error shows when the buffer is flushed, here at the latest.
    errno = 0;
    if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
        std::fprintf(stderr, "fusedrnn: error: writing to standard output failed: %s\n",
                     std::strerror(errno != 0 ? errno : EIO));
        return 2;
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (fusedrnn::detail::address_space_limit() > 0) g_mapped_at_start = fusedrnn::detail::mapped_address_space();
    const int code = run_command(argc, argv);
    // Under an address-space limit, OpenBLAS's own thread may be retrying its work buffer's mmap for ever (it takes one
    // when it starts, as the library loads, whatever the command), and OpenBLAS's exit handler waits for it (QA: `data
    // synth` under `ulimit -v 1000000` wrote its files, then hung): the command is done, its output flushed, so the
    // process ends without the libraries' exit handlers. Not under an MPI launcher, whose finalization runs then.
    if (fusedrnn::detail::address_space_limit() > 0 && fusedrnn::tools::launched_processes() <= 1) {
        std::fflush(nullptr);
        std::_Exit(code);
    }
    return code;
}
