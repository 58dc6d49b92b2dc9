// A test double of core/process_group.h: the "processes" of a multi-process run as threads of the test, each with
// its own trainer, meeting at the collectives through shared memory. It lets the trainer's multi-process code run in
// every suite (sanitized too) without an MPI launcher; tests/test_cli_mpi.cpp runs the real thing. A process that
// throws wakes the others waiting at a collective with an error, and a collective that one process never reaches
// fails after a minute: a test fails instead of hanging.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "fusedrnn/core/error.h"
#include "fusedrnn/core/process_group.h"

namespace fusedrnn::testing {

class ThreadProcesses {
public:
    explicit ThreadProcesses(int n) : n_(n), slots_(size_t(n)) {
        for (int p = 0; p < n; ++p) members_.push_back(std::make_unique<Member>(*this, p));
    }

    ProcessGroup& group(int p) { return *members_[size_t(p)]; }

    // fn(p, its group) on a thread per process; what each threw (null where nothing).
    std::vector<std::exception_ptr> run(const std::function<void(int, ProcessGroup&)>& fn) {
        std::vector<std::exception_ptr> errors(static_cast<size_t>(n_));
        std::vector<std::thread> threads;
        for (int p = 0; p < n_; ++p)
            threads.emplace_back([&, p] {
                try {
                    fn(p, group(p));
                } catch (...) {
                    errors[size_t(p)] = std::current_exception();
                    std::lock_guard<std::mutex> lock(mutex_);
                    failed_ = true;
                    cv_.notify_all();
                }
            });
        for (auto& t : threads) t.join();
        return errors;
    }

private:
    class Member final : public ProcessGroup {
    public:
        Member(ThreadProcesses& all, int rank) : all_(all), rank_(rank) {}
        int size() const override { return all_.n_; }
        int rank() const override { return rank_; }
        int node_rank() const override { return rank_; }
        std::string name() const override { return "threads"; }
        void all_gather(const void* in, size_t bytes, void* out) override {
            all_.put(rank_, in, bytes);
            all_.barrier();
            for (int p = 0; p < all_.n_; ++p) all_.get(p, static_cast<char*>(out) + size_t(p) * bytes, bytes);
            all_.barrier();  // before anyone overwrites a slot
        }
        void broadcast(void* buf, size_t bytes, int root) override {
            if (rank_ == root) all_.put(rank_, buf, bytes);
            all_.barrier();
            if (rank_ != root) all_.get(root, buf, bytes);
            all_.barrier();
        }
        [[noreturn]] void abort(int code) override { FR_FAIL("process {} aborted the run with code {}", rank_, code); }

    private:
        ThreadProcesses& all_;
        int rank_;
    };

    void put(int p, const void* data, size_t bytes) {
        std::lock_guard<std::mutex> lock(mutex_);
        slots_[size_t(p)].assign(static_cast<const char*>(data), static_cast<const char*>(data) + bytes);
    }
    void get(int p, void* out, size_t bytes) {
        std::lock_guard<std::mutex> lock(mutex_);
        FR_CHECK(slots_[size_t(p)].size() == bytes, "collective of {} bytes, process {} gave {}", bytes, p,
                 slots_[size_t(p)].size());
        std::memcpy(out, slots_[size_t(p)].data(), bytes);
    }
    void barrier() {
        std::unique_lock<std::mutex> lock(mutex_);
        FR_CHECK(!failed_, "another process of the test failed");
        const long generation = generation_;
        if (++arrived_ == n_) {
            arrived_ = 0;
            ++generation_;
            cv_.notify_all();
            return;
        }
        const bool woke = cv_.wait_for(lock, std::chrono::seconds(60),
                                       [&] { return generation_ != generation || failed_; });
        FR_CHECK(woke, "a process did not reach the collective within a minute");
        FR_CHECK(generation_ != generation, "another process of the test failed");
    }

    const int n_;
    std::vector<std::unique_ptr<Member>> members_;
    std::vector<std::vector<char>> slots_;
    std::mutex mutex_;
    std::condition_variable cv_;
    int arrived_ = 0;
    long generation_ = 0;
    bool failed_ = false;
};

}  // namespace fusedrnn::testing
