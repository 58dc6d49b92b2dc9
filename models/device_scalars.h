// fusedrnn — a block of doubles in backend memory that a training or evaluation loop has the backend write
// per-step results into (Backend::mse_into, sum_squares_into), read back in one copy every so many steps:
// on a GPU the host then queues step after step without waiting for any of them.
#pragma once

#include <memory>
#include <vector>

#include "fusedrnn/core/backend.h"

namespace fusedrnn {

class DeviceScalars {
public:
    DeviceScalars() = default;
    DeviceScalars(Backend<float>& backend, size_t count);

    size_t size() const { return count_; }
    double* slot(size_t i) const;
    // The first `count` slots on the host (one copy; on a GPU it waits for the work queued so far).
    std::vector<double> read(Backend<float>& backend, size_t count) const;

private:
    std::shared_ptr<Storage> storage_;
    size_t count_ = 0;
};

// Where a queued training step leaves its numbers among its slots.
enum StepSlot : int {
    kLossSlot = 0,        // the step's mean loss
    kCorrectSlot = 1,     // cross-entropy: rows whose argmax is the target
    kGradNorm2Slot = 2,   // Σ g² before clipping
    kParamNorm2Slot = 3,  // Σ p² after the update
    kStepSlots = 4
};

// How many queued steps (or evaluation batches) a loop lets pile up before it reads their results back: the
// host then waits for the device once per block, not once per step. (The host can still be held back sooner
// by the pinned upload ring, GpuContext::upload: 8 uploads in flight.)
constexpr int kReadBackSteps = 32;

// The results of the steps a loop has queued since it last looked: `slots` doubles per step in backend
// memory, for up to `block` steps, read back in one copy. The memory is kept from one reset to the next.
class StepResults {
public:
    // Empties the block and sets its layout (reallocates only when it needs more memory than it has).
    void reset(Backend<float>& backend, int slots, int block);
    // The slots of the next step; the block must not be full (take() first).
    double* next();
    size_t queued() const { return queued_; }
    bool full() const { return queued_ == block_; }
    // The queued steps' results, step after step, `slots` each (one copy; on a GPU it waits for the work
    // queued so far). Empties the block.
    std::vector<double> take(Backend<float>& backend);

private:
    DeviceScalars scalars_;
    size_t slots_ = 0, block_ = 0, queued_ = 0;
};

}  // namespace fusedrnn
