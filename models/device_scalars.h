// fusedrnn — a block of doubles in backend memory that a training or evaluation loop has the backend write
// per-step results into (Backend::mse_into, sum_squares_into), read back in one copy every so many steps:
// on a GPU the host then queues step after step without waiting for any of them.
#pragma once

#include <memory>
#include <vector>

#include "core/backend.h"

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

}  // namespace fusedrnn
