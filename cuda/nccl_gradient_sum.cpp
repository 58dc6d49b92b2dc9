// The data-parallel gradient sum over NCCL: one communicator per GPU — all in this process (ncclCommInitAll), or,
// in a multi-process run, this process's GPUs joining one communicator with every other process's
// (ncclCommInitRank, the unique id broadcast from process 0 through the ProcessGroup, i.e. MPI: NCCL's own
// bootstrap then connects the GPUs) — and one in-place all-reduce per step on each rank's own stream, so it is
// ordered after that rank's backward pass and before its optimizer step without the host waiting for either.
// NCCL's all-reduce leaves the same bits on every rank. Built only when CMake found NCCL (FUSEDRNN_WITH_NCCL).
//
// A peer that dies or stops (a killed process, a lost node, a hung host thread) leaves this rank's all-reduce
// spinning on the GPU forever, and the host's next wait with it. So, as PyTorch's NCCL watchdog does, the sum sets a
// wait watch on every rank's GpuContext (cuda/context.h): while the host waits it polls ncclCommGetAsyncError, and
// once a wait has lasted FUSEDRNN_PEER_TIMEOUT_S (default 600 s) it checks whether the last all-reduce is still
// running. Either way it aborts the communicators (which ends the spinning kernels) and throws, naming the rank,
// NCCL's error and what to do; every later sum throws the same. Host frees (device_free waits for the whole device)
// are not watched: the training loop frees nothing once its buffers are sized, and the watched waits come first.
#include <nccl.h>

#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "fusedrnn/core/error.h"
#include "fusedrnn/core/gradient_sum.h"
#include "fusedrnn/core/process_group.h"
#include "fusedrnn/cuda/check.h"
#include "fusedrnn/cuda/context.h"
#include "fusedrnn/cuda/gpu_backend.h"

#define FR_NCCL_CHECK(call)                                                                                      \
    do {                                                                                                         \
        const ncclResult_t fr_status_ = (call);                                                                  \
        if (fr_status_ != ncclSuccess)                                                                           \
            FR_FAIL("NCCL call {} failed: {} ({}:{})", #call, ncclGetErrorString(fr_status_), __FILE__, __LINE__); \
    } while (0)

namespace fusedrnn::gpu {
namespace {

// The communicators and what the wait watches share. The watches run on the ranks' threads while they wait; the
// sum's own calls come from the training thread: a mutex orders them.
struct Communicators {
    std::mutex mutex;
    std::vector<ncclComm_t> comms;      // null once destroyed or aborted
    std::vector<int> devices;           // rank r's GPU
    std::vector<cudaEvent_t> finished;  // recorded on rank r's stream after its last all-reduce
    int first_global_rank = 0;
    double timeout_s = kPeerTimeoutSeconds;
    bool any_all_reduce = false;
    std::string failure;              // why the communicators were aborted; empty while healthy
    bool closed = false;              // the sum is gone: the watches stand down

    // Only a constructor that threw part-way leaves anything here (the sum's destructor clears both).
    ~Communicators() {
        for (ncclComm_t c : comms)
            if (c) (void)ncclCommAbort(c);
        for (cudaEvent_t e : finished)
            if (e) (void)cudaEventDestroy(e);
    }

    // Aborts every communicator (ends their kernels; returns at once) and keeps the reason. Under the mutex.
    [[noreturn]] void fail(const std::string& why) {
        for (ncclComm_t& c : comms)
            if (c) (void)ncclCommAbort(std::exchange(c, nullptr));
        failure = "the NCCL gradient sum failed: " + why +
                  ". Its communicators were aborted, so this run cannot go on: restart it (with --resume to continue "
                  "from the last checkpoint) once every process and GPU is healthy";
        throw Error(failure);
    }

    // The wait watch: false once the sum is gone; throws when an all-reduce has failed or hangs.
    bool watch(double waited) {
        const std::lock_guard<std::mutex> lock(mutex);
        if (closed) return false;
        if (!failure.empty()) throw Error(failure);
        for (size_t r = 0; r < comms.size(); ++r) {
            ncclResult_t async = ncclSuccess;
            const ncclResult_t status = ncclCommGetAsyncError(comms[r], &async);
            if (status != ncclSuccess) async = status;
            if (async == ncclSuccess || async == ncclInProgress) continue;
            const char* detail = ncclGetLastError(comms[r]);
            fail(fmt::format("NCCL reported an error on global rank {} (cuda:{}): {}{}{} — a peer process died or "
                             "lost its network, or a GPU failed",
                             first_global_rank + int(r), devices[r], ncclGetErrorString(async),
                             detail && *detail ? ": " : "", detail ? detail : ""));
        }
        if (waited < timeout_s || !any_all_reduce) return true;
        for (size_t r = 0; r < finished.size(); ++r) {
            const cudaError_t done = cudaEventQuery(finished[r]);
            (void)cudaGetLastError();  // neither "not ready" nor an error of the wait's own is this check's to report
            if (done == cudaErrorNotReady)
                fail(fmt::format("the gradient all-reduce of global rank {} (cuda:{}) has not finished after {:g} s "
                                 "(FUSEDRNN_PEER_TIMEOUT_S): a peer process is stuck or gone",
                                 first_global_rank + int(r), devices[r], waited));
        }
        return true;
    }
};

class NcclGradientSum final : public GradientSum {
public:
    NcclGradientSum(const std::vector<Backend<float>*>& backends, ProcessGroup* processes)
        : state_(std::make_shared<Communicators>()) {
        Communicators& s = *state_;
        s.timeout_s = peer_timeout_seconds();
        std::vector<GpuBackend*> gpus;
        for (Backend<float>* b : backends) {
            auto* gpu = dynamic_cast<GpuBackend*>(b);
            FR_CHECK(gpu, "the NCCL gradient sum needs GPU backends; rank {} is '{}'", gpus.size(), b->name());
            gpus.push_back(gpu);
            s.devices.push_back(gpu->context().device());
            streams_.push_back(gpu->context().stream());
        }
        s.comms.resize(s.devices.size());
        if (!processes || processes->size() == 1) {
            FR_NCCL_CHECK(ncclCommInitAll(s.comms.data(), int(s.comms.size()), s.devices.data()));
        } else {
            // Every process has as many ranks (the trainer checks): global rank = process × local ranks + local rank.
            const int local = int(s.devices.size()), world = processes->size() * local;
            s.first_global_rank = processes->rank() * local;
            ncclUniqueId id{};
            if (processes->rank() == 0) FR_NCCL_CHECK(ncclGetUniqueId(&id));
            processes->broadcast(&id, sizeof id, 0);
            // Several GPUs of one thread join in one group (else the first would wait for the others forever).
            FR_NCCL_CHECK(ncclGroupStart());
            for (int r = 0; r < local; ++r) {
                const DeviceGuard on_device(s.devices[size_t(r)]);
                const ncclResult_t status = ncclCommInitRank(&s.comms[size_t(r)], world, id, s.first_global_rank + r);
                if (status != ncclSuccess) {
                    (void)ncclGroupEnd();
                    FR_FAIL("ncclCommInitRank of rank {} of {} (process {}, cuda:{}) failed: {}",
                            s.first_global_rank + r, world, processes->rank(), s.devices[size_t(r)],
                            ncclGetErrorString(status));
                }
            }
            FR_NCCL_CHECK(ncclGroupEnd());
        }
        s.finished.resize(s.devices.size());
        for (size_t r = 0; r < s.devices.size(); ++r) {
            const DeviceGuard on_device(s.devices[r]);
            FR_CUDA_CHECK(cudaEventCreateWithFlags(&s.finished[r], cudaEventDisableTiming));
        }
        // Last: a watch holds the state, so it stays valid however long the backends outlive this sum.
        for (GpuBackend* gpu : gpus)
            gpu->context().set_wait_watch([state = state_](double waited) { return state->watch(waited); });
    }

    ~NcclGradientSum() override {
        Communicators& s = *state_;
        const std::lock_guard<std::mutex> lock(s.mutex);
        s.closed = true;
        // Destroyed while an error unwinds (on this process, or a peer that may be gone): ncclCommDestroy could
        // wait for peers' outstanding work forever; ncclCommAbort returns at once.
        const bool unwinding = std::uncaught_exceptions() > 0;
        for (ncclComm_t& c : s.comms)
            if (c) (void)(unwinding ? ncclCommAbort(c) : ncclCommDestroy(c));
        s.comms.clear();
        for (cudaEvent_t e : s.finished)
            if (e) (void)cudaEventDestroy(e);
        s.finished.clear();
    }

    std::string name() const override { return "nccl"; }

    void sum(const std::vector<float*>& bufs, size_t n) override {
        Communicators& s = *state_;
        const std::lock_guard<std::mutex> lock(s.mutex);
        if (!s.failure.empty()) throw Error(s.failure);
        FR_CHECK(bufs.size() == s.comms.size(), "gradient sum: {} buffers for {} ranks", bufs.size(), s.comms.size());
        // One process driving every GPU: the calls for all ranks form one group (else the first would wait for
        // the others forever).
        FR_NCCL_CHECK(ncclGroupStart());
        for (size_t r = 0; r < bufs.size(); ++r) {
            const ncclResult_t status =
                ncclAllReduce(bufs[r], bufs[r], n, ncclFloat, ncclSum, s.comms[r], streams_[r]);
            if (status != ncclSuccess) {
                (void)ncclGroupEnd();
                FR_FAIL("NCCL all-reduce of {} gradients on rank {} failed: {}", n, r, ncclGetErrorString(status));
            }
        }
        FR_NCCL_CHECK(ncclGroupEnd());
        for (size_t r = 0; r < bufs.size(); ++r) {
            const DeviceGuard on_device(s.devices[r]);
            FR_CUDA_CHECK(cudaEventRecord(s.finished[r], streams_[r]));
        }
        s.any_all_reduce = true;
    }

private:
    std::shared_ptr<Communicators> state_;
    std::vector<cudaStream_t> streams_;
};

}  // namespace

std::unique_ptr<GradientSum> make_nccl_gradient_sum(const std::vector<Backend<float>*>& backends,
                                                    ProcessGroup* processes) {
    return std::make_unique<NcclGradientSum>(backends, processes);
}

}  // namespace fusedrnn::gpu
