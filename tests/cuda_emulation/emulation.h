// Controls of the host emulation of the CUDA runtime (emulated_cuda.cpp).
#pragma once

#include <cstddef>
#include <functional>

namespace fusedrnn::emulation {

// The RNN step kernels' threads (n, j), and the dense kernels' elements, run one after another, in increasing
// order, or in decreasing order when reversed: a kernel whose threads depend on each other within one launch
// gives different results in the two orders.
void set_thread_order_reversed(bool reversed);

// The emulated device's memory: cudaMalloc fails with cudaErrorMemoryAllocation when a block does not fit in
// what the live allocations leave, and cudaMemGetInfo reports the same numbers.
inline constexpr size_t kDefaultDeviceMemory = size_t(64) << 30;
void set_device_memory(size_t bytes);  // at least device_memory_in_use()
size_t device_memory_in_use();

// What the host code asked of the "device", counted since the last reset. Work is deferred as on a GPU: a
// launch, memset or device-side copy only runs when the host waits for it (a stream or event
// synchronisation, a copy into pageable host memory, cudaFreeHost), so a result read on the host before such a
// wait is stale — and the counts say how often the host waited.
struct Counters {
    long launches = 0;          // kernels, cuBLAS calls, memsets, device-to-device copies
    long uploads_pinned = 0;    // host-to-device copies from pinned memory (asynchronous on a GPU)
    long uploads_pageable = 0;  // host-to-device copies from pageable memory (the driver may synchronise)
    long downloads = 0;         // device-to-host copies
    long stream_syncs = 0;      // cudaStreamSynchronize, and a cudaStreamQuery that finds the work done
    long implicit_syncs = 0;    // cudaDeviceSynchronize (before every cudaFree), cudaFreeHost, download to pageable memory
    long event_waits = 0;       // cudaEventSynchronize, or a cudaEventQuery that finds it reached, for part of the
                                // queue (work queued after the event)
    long full_event_waits = 0;  // the same with pending work and none queued after the event
    long mallocs = 0;           // cudaMalloc
    long syncs() const { return stream_syncs + implicit_syncs + full_event_waits; }
};
Counters counters();
void reset_counters();

// Queues work on the emulated device (counted as a launch): it runs when the host next waits, after everything
// queued before it — for the emulated NCCL (emulated_nccl.cpp), whose all-reduce must follow the ranks' backward
// passes queued before it.
//
// With `can_run`, the work can run only once can_run() says so: until then it, and everything queued after it,
// stays queued. A stream or event query then says "not ready", and a blocking wait for it is an error (on a GPU the
// wait would never return) — how a collective whose peer never joins behaves.
void enqueue_device_work(std::function<void()> op, std::function<bool()> can_run = nullptr);

// Faults of the emulated NCCL (emulated_nccl.cpp), for the next all-reduce launched: a peer that never joins
// (PeerStuck: the all-reduce never finishes, no error is reported), or one that died (PeerDied: the same, and the
// communicators report ncclRemoteError asynchronously, as NCCL does once it sees the connection drop). Either
// all-reduce ends, without summing, when its communicators are aborted.
enum class NcclFault { None, PeerStuck, PeerDied };
void break_next_all_reduce(NcclFault fault);

}  // namespace fusedrnn::emulation
