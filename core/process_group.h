// fusedrnn — the processes of a multi-process (multi-node) training run, as the trainer sees them: how many
// there are, which one this is, and the three collectives the trainer needs (all-gather, broadcast, abort).
// The implementation over MPI is tools/mpi_world.h (`mpirun -np P fusedrnn train ...`); no transport of our own.
//
// Every process must call the collectives in the same order with the same sizes, or the run hangs: the
// helpers below send sizes first and fail with a clear error where they differ.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace fusedrnn {

class ProcessGroup {
public:
    virtual ~ProcessGroup() = default;
    virtual int size() const = 0;  // processes
    virtual int rank() const = 0;  // this process, 0 .. size-1
    // This process among those on its machine (0 .. processes on the node - 1): which GPUs it drives.
    virtual int node_rank() const = 0;
    virtual std::string name() const = 0;  // "mpi", ...
    // Every process gives `bytes` bytes at `in`; `out` (size() * bytes) receives process p's at p * bytes.
    virtual void all_gather(const void* in, size_t bytes, void* out) = 0;
    // `bytes` bytes at `buf` from process `root` to every process.
    virtual void broadcast(void* buf, size_t bytes, int root) = 0;
    // Ends every process of the run with `code` (an error on one process would leave the others waiting forever).
    [[noreturn]] virtual void abort(int code) = 0;
    // From now on a collective that has not completed within `seconds` throws, saying some process is stuck or gone
    // (0: wait forever, the default). The trainer sets it when training starts: before, processes may legitimately
    // wait long for each other (one reading its data more slowly).
    virtual void set_timeout(double seconds) { (void)seconds; }
};

// FUSEDRNN_PEER_TIMEOUT_S: how long a wait for the other ranks or processes of a training run may last before the run
// is given up as hung — an NCCL all-reduce between GPUs (cuda/nccl_gradient_sum.cpp), an MPI collective between
// processes once training has started. Seconds > 0; unset or empty: kPeerTimeoutSeconds (PyTorch's NCCL default).
// Any other value is an error naming the variable (the CLI checks it before loading data).
inline constexpr double kPeerTimeoutSeconds = 600;
double peer_timeout_seconds();

// Each process's vector, in process order; throws (on every process) when the sizes differ, naming `what`.
std::vector<std::vector<double>> all_gather(ProcessGroup& group, const std::vector<double>& mine, const char* what);
std::vector<std::vector<int64_t>> all_gather(ProcessGroup& group, const std::vector<int64_t>& mine, const char* what);
std::vector<std::vector<float>> all_gather(ProcessGroup& group, const std::vector<float>& mine, const char* what);

// Process `root`'s vector (and size) to every process.
void broadcast(ProcessGroup& group, std::vector<float>& v, int root);

// Whether `flag` is true on any process.
bool any_process(ProcessGroup& group, bool flag);

// Throws on every process unless `value` is the same string on all of them, naming the "; "-separated items that
// differ: "... disagree on their <what>: process 2 has 'seed 4' where process 0 has 'seed 3'". For what must agree
// before the processes train together (flags, data, model, resumed state).
void check_same_on_every_process(ProcessGroup& group, const std::string& what, const std::string& value);

}  // namespace fusedrnn
