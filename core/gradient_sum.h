// fusedrnn — the all-reduce of data-parallel training: every rank holds a replica of the model, computes the
// gradient of its slice of the batch, and the ranks' gradient buffers are summed in place so each rank takes
// the same optimizer step. Every rank must end with the same bits (else the replicas drift apart), so the
// implementations sum in a fixed order that does not depend on the rank.
//
// A sum is made for this process's ranks (`backends`, one per rank) and, in a multi-process run, a ProcessGroup
// (core/process_group.h): then the ranks of all processes are summed, process 0's first. Every process has the
// same number of ranks; global rank = process × ranks per process + local rank.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "fusedrnn/core/backend.h"
#include "fusedrnn/core/process_group.h"

namespace fusedrnn {

class GradientSum {
public:
    virtual ~GradientSum() = default;
    // "nccl" or "host" (through host memory, in rank order).
    virtual std::string name() const = 0;
    // bufs[r]: n floats in the memory of local rank r's backend (the one given at construction), written by work
    // already queued on it. On return (GPU: once the queued work has run) every buffer holds the sum over every
    // rank of every process. In a multi-process run every process must call this for every step.
    virtual void sum(const std::vector<float*>& bufs, size_t n) = 0;
};

// Through host memory, with any backends: each rank's buffer is copied out, the copies are added up in global
// rank order on the host (across processes: after an all-gather of every process's copies), and the sum copied
// back to every rank. The only choice for CPU ranks (where it is a few memcpys); on GPUs it works without NCCL
// but every step then waits for every device. With the same ranks in one process or spread over several, the
// sums are the same to the bit.
std::unique_ptr<GradientSum> make_host_gradient_sum(std::vector<Backend<float>*> backends,
                                                    ProcessGroup* processes = nullptr);

// The best for these backends (one per rank, rank order): NCCL when every rank is a GPU backend on its own
// device and this build has NCCL, else through host memory. `why_not_nccl`, when given, is set to the reason
// NCCL was not chosen for GPU ranks (empty otherwise).
std::unique_ptr<GradientSum> make_gradient_sum(const std::vector<Backend<float>*>& backends,
                                               std::string* why_not_nccl = nullptr, ProcessGroup* processes = nullptr);

// Whether GPU ranks on distinct devices would be summed by NCCL (a build with NCCL, and a GPU present).
bool nccl_available();


using GradientSumFactory = std::unique_ptr<GradientSum> (*)(const std::vector<Backend<float>*>& backends,
                                                            ProcessGroup* processes);
// Called by the CUDA module at start-up when it is built with NCCL (see cuda/register.cpp).
void register_nccl_gradient_sum(GradientSumFactory factory);

}  // namespace fusedrnn
