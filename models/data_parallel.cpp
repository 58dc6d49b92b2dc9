#include "fusedrnn/models/data_parallel.h"

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>

#include "fusedrnn/core/error.h"

namespace fusedrnn {

struct RankRunner::Pool {
    std::mutex mutex;
    std::condition_variable start, done;
    const std::function<void(int)>* task = nullptr;
    uint64_t generation = 0;  // bumped for every task: a worker runs each generation once
    int pending = 0;          // workers still running the current task
    bool quit = false;
    std::vector<std::exception_ptr> errors;  // per rank, for the current task
    std::vector<std::thread> threads;
};

RankRunner::RankRunner(std::vector<Backend<float>*> backends, Threads threads) : backends_(std::move(backends)) {
    FR_CHECK(!backends_.empty(), "a data-parallel run needs at least one rank");
    bool any_gpu = false;
    for (const Backend<float>* b : backends_) any_gpu = any_gpu || !b->device().is_cpu();
    if (backends_.size() == 1 || threads == Threads::None || (threads == Threads::Auto && !any_gpu)) return;
    pool_ = std::make_unique<Pool>();
    pool_->errors.resize(backends_.size());
    for (int r = 1; r < size(); ++r) pool_->threads.emplace_back([this, r] { work(r); });
}

RankRunner::~RankRunner() {
    if (!pool_) return;
    {
        std::lock_guard<std::mutex> lock(pool_->mutex);
        pool_->quit = true;
    }
    pool_->start.notify_all();
    for (std::thread& t : pool_->threads) t.join();
}

void RankRunner::work(int rank) {
    Pool& p = *pool_;
    uint64_t seen = 0;
    bool bound = false;
    for (;;) {
        std::unique_lock<std::mutex> lock(p.mutex);
        p.start.wait(lock, [&] { return p.quit || p.generation != seen; });
        if (p.quit) return;
        seen = p.generation;
        const std::function<void(int)>* task = p.task;
        lock.unlock();
        std::exception_ptr error;
        try {
            if (!bound) backends_[size_t(rank)]->make_current();  // once: this thread only ever drives this rank
            bound = true;
            (*task)(rank);
        } catch (...) {
            error = std::current_exception();
        }
        lock.lock();
        p.errors[size_t(rank)] = error;
        if (--p.pending == 0) p.done.notify_one();
    }
}

void RankRunner::run(const std::function<void(int rank)>& fn) {
    if (!pool_) {
        for (int r = 0; r < size(); ++r) fn(r);
        return;
    }
    Pool& p = *pool_;
    {
        std::lock_guard<std::mutex> lock(p.mutex);
        p.task = &fn;
        p.pending = size() - 1;
        ++p.generation;
    }
    p.start.notify_all();
    std::exception_ptr first;
    try {
        fn(0);
    } catch (...) {
        first = std::current_exception();
    }
    std::unique_lock<std::mutex> lock(p.mutex);
    p.done.wait(lock, [&] { return p.pending == 0; });
    p.task = nullptr;
    for (int r = 1; r < size() && !first; ++r) first = p.errors[size_t(r)];
    lock.unlock();
    if (first) std::rethrow_exception(first);
}

}  // namespace fusedrnn
