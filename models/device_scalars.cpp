#include "models/device_scalars.h"

#include "core/error.h"

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

}  // namespace fusedrnn
