// fusedrnn — running one piece of a data-parallel step on every rank. Each rank drives its own backend (its
// own GPU). On GPUs the ranks' host work — launching a forward and backward pass is thousands of kernel
// launches — runs concurrently, one thread per rank (rank 0 on the calling thread, the others on threads
// kept for the runner's life and bound to their device), so the GPUs are fed side by side. On the CPU the
// ranks run one after another in the calling thread: each rank's ops already use every core.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "fusedrnn/core/backend.h"

namespace fusedrnn {

class RankRunner {
public:
    enum class Threads {
        Auto,    // a thread per rank when any backend is a GPU's, else none
        None,    // always one rank after another in the calling thread
        Always,  // a thread per rank whatever the backends (tests run the threaded path on CPU ranks)
    };
    explicit RankRunner(std::vector<Backend<float>*> backends, Threads threads = Threads::Auto);
    ~RankRunner();
    RankRunner(const RankRunner&) = delete;
    RankRunner& operator=(const RankRunner&) = delete;

    int size() const { return int(backends_.size()); }
    bool threaded() const { return pool_ != nullptr; }

    // fn(r) for every rank r; returns when all have returned. When some throw, the lowest rank's exception is
    // rethrown (after every rank has finished, so none is left running on buffers the caller may free).
    void run(const std::function<void(int rank)>& fn);

private:
    struct Pool;
    void work(int rank);

    std::vector<Backend<float>*> backends_;
    std::unique_ptr<Pool> pool_;
};

}  // namespace fusedrnn
