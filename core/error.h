// fusedrnn — errors.
// Every failure in the library is thrown as fusedrnn::Error with a message that names what was wrong
// (argument, file, line, shape). Tools catch at main(); the library never calls exit(), save one case: the CPU
// backend under an address-space limit ends the process (std::_Exit, status 2, with the message) when OpenBLAS's
// warm-up is stuck retrying a mapping, with nothing to unwind to (kernels/cpu/blas_reserve.cpp).
#pragma once

#include <stdexcept>
#include <string>

#include <fmt/format.h>

namespace fusedrnn {

class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Raised when the process should stop training because the numbers went bad (NaN/Inf loss or data).
class NumericError : public Error {
public:
    using Error::Error;
};

// Raised when a run that trained to its end diverged (its losses far above a uniform guess, though finite) and left
// no checkpoint of use: a failure with NumericError's exit status, but not a stop ("fusedrnn: error:").
class TrainingDiverged : public NumericError {
public:
    using NumericError::NumericError;
};

// Raised when training stopped because it was asked to (Ctrl-C, SIGTERM) after saving a checkpoint to
// resume from; the message says where it stopped and what was saved.
class Interrupted : public Error {
public:
    using Error::Error;
};

// Raised when a device allocation fails for lack of memory; the message names the size, the device and its free
// memory. A caller that knows what the memory was for adds that, and a way out, and rethrows this type.
class OutOfDeviceMemory : public Error {
public:
    using Error::Error;
};

// Raised when a host tensor cannot be allocated; the message names the size. The command's flags that size it
// differ (--batch for windows, --streams and --bptt for a language model's streams): a caller that knows them adds
// them, and the command line names the command's own where none did.
class OutOfHostMemory : public Error {
public:
    using Error::Error;
};

// Raised when an address-space limit (ulimit -v) leaves no room for a library's own work buffers (OpenBLAS's): the
// message is whole. The process must then end without the libraries' exit handlers: OpenBLAS's waits for its worker
// thread, which retries the same mapping for ever.
class AddressSpaceTooSmall : public Error {
public:
    using Error::Error;
};

// A value for a message about NaN/Inf: "NaN" for any NaN (fmt writes "-nan" for some), else the number ("inf").
std::string finite_or_name(double v);

// An error message as the command line shows it: without the source locations FR_CHECK added ("(core/x.cpp:12)",
// which a user would take for a place in their input), unless FUSEDRNN_SOURCE_LOCATIONS is set (not "0") for a bug
// report. Internal errors (bugs) are shown with them always.
std::string message_for_user(const std::string& msg);

namespace detail {
// "msg (models/model.cpp:12)": the message with where it was raised, the path below the project root.
std::string located(const char* file, int line, const std::string& msg);
// `msg` with every location located() added taken out, wherever a wrapping message left it.
std::string without_locations(const std::string& msg);
[[noreturn]] void throw_error(const char* file, int line, const std::string& msg);
}  // namespace detail

// Runs f() and returns what it returns; an Error from it whose message does not name `source` (a file) is rethrown
// with "source: " in front, so a message from deep inside a parser still says which file it is about. An
// OutOfDeviceMemory is about the device, not the file: it passes unchanged.
template <class F>
decltype(auto) naming_source(const std::string& source, F&& f) {
    try {
        return f();
    } catch (const OutOfDeviceMemory&) {
        throw;
    } catch (const Error& e) {
        if (std::string(e.what()).find(source) != std::string::npos) throw;
        throw Error(source + ": " + e.what());
    }
}

}  // namespace fusedrnn

// FUSEDRNN_CHECK(cond, "fmt {}", args...) — throw fusedrnn::Error naming the source location when cond fails.
// Prefixed with the project's name because this header is installed: a program including it may have its own
// CHECK-style macros, and a short name like FR_CHECK could clash with them.
#define FUSEDRNN_CHECK(cond, ...)                                                                      \
    do {                                                                                               \
        if (!(cond)) ::fusedrnn::detail::throw_error(__FILE__, __LINE__, fmt::format(__VA_ARGS__));   \
    } while (0)

#define FUSEDRNN_FAIL(...) ::fusedrnn::detail::throw_error(__FILE__, __LINE__, fmt::format(__VA_ARGS__))

// The project's own sources (library, tools, tests, benchmarks: CMake defines FUSEDRNN_SHORT_MACROS for them, never
// for a program built against the installed package) use the short names.
#ifdef FUSEDRNN_SHORT_MACROS
#define FR_CHECK FUSEDRNN_CHECK
#define FR_FAIL FUSEDRNN_FAIL
#endif
