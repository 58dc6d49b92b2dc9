// The data-parallel gradient sum over NCCL: one communicator per GPU — all in this process (ncclCommInitAll), or,
// in a multi-process run, this process's GPUs joining one communicator with every other process's
// (ncclCommInitRank, the unique id broadcast from process 0 through the ProcessGroup, i.e. MPI: NCCL's own
// bootstrap then connects the GPUs) — and one in-place all-reduce per step on each rank's own stream, so it is
// ordered after that rank's backward pass and before its optimizer step without the host waiting for either.
// NCCL's all-reduce leaves the same bits on every rank. Built only when CMake found NCCL (FUSEDRNN_WITH_NCCL).
#include <nccl.h>

#include <cstdint>
#include <exception>
#include <memory>
#include <vector>

#include "core/error.h"
#include "core/gradient_sum.h"
#include "core/process_group.h"
#include "cuda/context.h"
#include "cuda/gpu_backend.h"

#define FR_NCCL_CHECK(call)                                                                                      \
    do {                                                                                                         \
        const ncclResult_t fr_status_ = (call);                                                                  \
        if (fr_status_ != ncclSuccess)                                                                           \
            FR_FAIL("NCCL call {} failed: {} ({}:{})", #call, ncclGetErrorString(fr_status_), __FILE__, __LINE__); \
    } while (0)

namespace fusedrnn::gpu {
namespace {

class NcclGradientSum final : public GradientSum {
public:
    NcclGradientSum(const std::vector<Backend<float>*>& backends, ProcessGroup* processes) {
        std::vector<int> devices;
        for (Backend<float>* b : backends) {
            auto* gpu = dynamic_cast<GpuBackend*>(b);
            FR_CHECK(gpu, "the NCCL gradient sum needs GPU backends; rank {} is '{}'", devices.size(), b->name());
            devices.push_back(gpu->context().device());
            streams_.push_back(gpu->context().stream());
        }
        comms_.resize(devices.size());
        if (!processes || processes->size() == 1) {
            FR_NCCL_CHECK(ncclCommInitAll(comms_.data(), int(comms_.size()), devices.data()));
            return;
        }
        // Every process has as many ranks (the trainer checks): global rank = process × local ranks + local rank.
        const int local = int(devices.size()), world = processes->size() * local;
        ncclUniqueId id{};
        if (processes->rank() == 0) FR_NCCL_CHECK(ncclGetUniqueId(&id));
        processes->broadcast(&id, sizeof id, 0);
        // Several GPUs of one thread join in one group (else the first would wait for the others forever).
        FR_NCCL_CHECK(ncclGroupStart());
        for (int r = 0; r < local; ++r) {
            const DeviceGuard on_device(devices[size_t(r)]);
            const ncclResult_t status = ncclCommInitRank(&comms_[size_t(r)], world, id, processes->rank() * local + r);
            if (status != ncclSuccess) {
                (void)ncclGroupEnd();
                FR_FAIL("ncclCommInitRank of rank {} of {} (process {}, cuda:{}) failed: {}",
                        processes->rank() * local + r, world, processes->rank(), devices[size_t(r)],
                        ncclGetErrorString(status));
            }
        }
        FR_NCCL_CHECK(ncclGroupEnd());
    }

    ~NcclGradientSum() override {
        // Destroyed while an error unwinds (on this process, or a peer that may be gone): ncclCommDestroy could
        // wait for peers' outstanding work forever; ncclCommAbort returns at once.
        const bool unwinding = std::uncaught_exceptions() > 0;
        for (ncclComm_t c : comms_)
            if (c) (void)(unwinding ? ncclCommAbort(c) : ncclCommDestroy(c));
    }

    std::string name() const override { return "nccl"; }

    void sum(const std::vector<float*>& bufs, size_t n) override {
        FR_CHECK(bufs.size() == comms_.size(), "gradient sum: {} buffers for {} ranks", bufs.size(), comms_.size());
        // One process driving every GPU: the calls for all ranks form one group (else the first would wait for
        // the others forever).
        FR_NCCL_CHECK(ncclGroupStart());
        for (size_t r = 0; r < bufs.size(); ++r) {
            const ncclResult_t status = ncclAllReduce(bufs[r], bufs[r], n, ncclFloat, ncclSum, comms_[r], streams_[r]);
            if (status != ncclSuccess) {
                (void)ncclGroupEnd();
                FR_FAIL("NCCL all-reduce of {} gradients on rank {} failed: {}", n, r, ncclGetErrorString(status));
            }
        }
        FR_NCCL_CHECK(ncclGroupEnd());
    }

private:
    std::vector<ncclComm_t> comms_;
    std::vector<cudaStream_t> streams_;
};

}  // namespace

std::unique_ptr<GradientSum> make_nccl_gradient_sum(const std::vector<Backend<float>*>& backends,
                                                    ProcessGroup* processes) {
    return std::make_unique<NcclGradientSum>(backends, processes);
}

}  // namespace fusedrnn::gpu
