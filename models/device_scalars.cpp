#include "fusedrnn/models/device_scalars.h"

#include "fusedrnn/core/error.h"

namespace fusedrnn {

DeviceScalars::DeviceScalars(Backend<float>& backend, size_t count)
    : storage_(backend.allocate(count * sizeof(double))), count_(count) {}

double* DeviceScalars::slot(size_t i) const {
    FR_CHECK(i < count_, "DeviceScalars: slot {} of {}", i, count_);
    return static_cast<double*>(storage_->data()) + i;
}

std::vector<double> DeviceScalars::read(Backend<float>& backend, size_t count) const {
    FR_CHECK(count <= count_, "DeviceScalars: reading {} of {} slots", count, count_);
    std::vector<double> host(count);
    if (count) backend.copy_to_host(host.data(), storage_->data(), count * sizeof(double));
    return host;
}

void StepResults::reset(Backend<float>& backend, int slots, int block) {
    FR_CHECK(slots > 0 && block > 0, "StepResults: {} slots for {} steps", slots, block);
    slots_ = size_t(slots);
    block_ = size_t(block);
    queued_ = 0;
    if (scalars_.size() < slots_ * block_) scalars_ = DeviceScalars(backend, slots_ * block_);
}

double* StepResults::next() {
    FR_CHECK(queued_ < block_, "StepResults: the block of {} steps is full", block_);
    return scalars_.slot(queued_++ * slots_);
}

std::vector<double> StepResults::take(Backend<float>& backend) {
    std::vector<double> r = scalars_.read(backend, queued_ * slots_);
    queued_ = 0;
    return r;
}

}  // namespace fusedrnn
