// fusedrnn — the all-reduce of data-parallel training: every rank holds a replica of the model, computes the
// gradient of its slice of the batch, and the ranks' gradient buffers are summed in place so each rank takes
// the same optimizer step. Every rank must end with the same bits (else the replicas drift apart), so the
// implementations sum in a fixed order that does not depend on the rank.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/backend.h"

namespace fusedrnn {

class GradientSum {
public:
    virtual ~GradientSum() = default;
    // "nccl" or "host" (through host memory, in rank order).
    virtual std::string name() const = 0;
    // bufs[r]: n floats in the memory of rank r's backend (the one given at construction), written by work
    // already queued on it. On return (GPU: once the queued work has run) every buffer holds the sum.
    virtual void sum(const std::vector<float*>& bufs, size_t n) = 0;
};

// Through host memory, with any backends: each rank's buffer is copied out, the copies are added up in rank
// order on the host, and the sum copied back to every rank. The only choice for CPU ranks (where it is a few
// memcpys); on GPUs it works without NCCL but every step then waits for every device.
std::unique_ptr<GradientSum> make_host_gradient_sum(std::vector<Backend<float>*> backends);

// The best for these backends (one per rank, rank order): NCCL when every rank is a GPU backend on its own
// device and this build has NCCL, else through host memory. `why_not_nccl`, when given, is set to the reason
// NCCL was not chosen for GPU ranks (empty otherwise).
std::unique_ptr<GradientSum> make_gradient_sum(const std::vector<Backend<float>*>& backends,
                                               std::string* why_not_nccl = nullptr);

// Whether GPU ranks on distinct devices would be summed by NCCL (a build with NCCL, and a GPU present).
bool nccl_available();

using GradientSumFactory = std::unique_ptr<GradientSum> (*)(const std::vector<Backend<float>*>& backends);
// Called by the CUDA module at start-up when it is built with NCCL (see cuda/register.cpp).
void register_nccl_gradient_sum(GradientSumFactory factory);

}  // namespace fusedrnn
