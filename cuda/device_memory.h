// fusedrnn — device memory: allocation with a readable out-of-memory error, an RAII buffer, and a
// planner that carves many aligned scratch arrays out of one allocation.
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

namespace fusedrnn::gpu {

// cudaMalloc on the current device. On failure throws fusedrnn::Error
//   "out of GPU memory allocating 1.00 TiB (1099511627776 bytes) on cuda:0 (free 79.1 GiB of 79.6 GiB)"
// and clears the runtime's last-error state, so later launch checks do not report it again.
// bytes == 0 returns nullptr.
void* device_malloc(size_t bytes);
// Waits for the device, then cudaFree; never throws (used from destructors, possibly at process exit after the
// runtime unloaded).
void device_free(void* p) noexcept;
// cudaFree with `device` made current for the call (Storage deleters: the caller may have another
// device current by then). Never throws.
void device_free_on(int device, void* p) noexcept;

// Owns one device allocation. Move-only.
class DeviceBuffer {
public:
    DeviceBuffer() = default;
    explicit DeviceBuffer(size_t bytes) : data_(device_malloc(bytes)), bytes_(bytes) {}
    ~DeviceBuffer() { device_free(data_); }
    DeviceBuffer(DeviceBuffer&& o) noexcept : data_(std::exchange(o.data_, nullptr)), bytes_(std::exchange(o.bytes_, 0)) {}
    DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
        if (this != &o) {
            device_free(data_);
            data_ = std::exchange(o.data_, nullptr);
            bytes_ = std::exchange(o.bytes_, 0);
        }
        return *this;
    }
    DeviceBuffer(const DeviceBuffer&) = delete;
    DeviceBuffer& operator=(const DeviceBuffer&) = delete;

    void* data() const { return data_; }
    size_t bytes() const { return bytes_; }
    template <class T>
    T* as() const { return static_cast<T*>(data_); }

    // Grows to at least `bytes` (by ~1.5x steps to limit reallocations). Contents are NOT kept.
    // Freeing the old block waits for the device first (device_free), so work still queued on it is safe.
    void ensure(size_t bytes) {
        if (bytes <= bytes_) return;
        const size_t grown = bytes_ + bytes_ / 2;
        const size_t want = bytes > grown ? bytes : grown;
        device_free(data_);
        data_ = nullptr;
        bytes_ = 0;
        data_ = device_malloc(want);
        bytes_ = want;
    }

private:
    void* data_ = nullptr;
    size_t bytes_ = 0;
};

// Plans a set of arrays inside one scratch allocation: add() each array's size (in elements of T),
// then ptr<T>(id, base) once the base pointer exists. Every array is 256-byte aligned.
class ScratchPlan {
public:
    static constexpr size_t kAlign = 256;
    template <class T>
    int add(size_t count) {
        offsets_.push_back(total_);
        total_ += (count * sizeof(T) + kAlign - 1) / kAlign * kAlign;
        return static_cast<int>(offsets_.size()) - 1;
    }
    size_t bytes() const { return total_; }
    template <class T>
    T* ptr(int id, void* base) const {
        return reinterpret_cast<T*>(static_cast<char*>(base) + offsets_[id]);
    }

private:
    std::vector<size_t> offsets_;
    size_t total_ = 0;
};

}  // namespace fusedrnn::gpu
