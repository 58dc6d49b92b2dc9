#include "fusedrnn/core/tensor.h"

#include <cstdlib>
#include <new>
#include <vector>

#include "fusedrnn/core/detail/byte_size.h"

namespace fusedrnn {

std::string Device::str() const { return is_cpu() ? "cpu" : fmt::format("cuda:{}", index); }

std::shared_ptr<Storage> allocate_host(size_t bytes) {
    constexpr size_t kAlign = 64;
    const size_t rounded = ((bytes + kAlign - 1) / kAlign) * kAlign;
    void* p = rounded ? std::aligned_alloc(kAlign, rounded) : nullptr;
    if (rounded != 0 && p == nullptr)
        throw OutOfHostMemory(fmt::format("out of host memory allocating {} ({} bytes) for a tensor",
                                          detail::human_bytes(bytes), bytes));
    return std::make_shared<Storage>(p, bytes, Device{DeviceType::CPU, 0}, [](void* q) { std::free(q); });
}

void check_shape(const Shape& got, const Shape& expected, const char* what) {
    FR_CHECK(got == expected, "{}: expected shape {}, got {}", what, shape_str(expected), shape_str(got));
}

void check_device(Device got, Device expected, const char* what) {
    FR_CHECK(got == expected, "{} is on {}, but the model is on {}: make it with the model's backend (from_host) or "
             "copy it there", what, got.str(), expected.str());
}

}  // namespace fusedrnn
