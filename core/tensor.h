// fusedrnn — Tensor: a typed, shaped view into reference-counted device or host memory.
// Tensors are created by a Backend (which knows how to allocate on its device); views share storage,
// so the flat parameter buffer can hand out named per-matrix views without copies.
// Element access through data() is only meaningful on the host for CPU tensors; use
// Backend::to_host / from_host to move data across devices.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "fusedrnn/core/error.h"
#include "fusedrnn/core/param_layout.h"

namespace fusedrnn {

enum class DeviceType { CPU, CUDA };

struct Device {
    DeviceType type = DeviceType::CPU;
    int index = 0;
    bool is_cpu() const { return type == DeviceType::CPU; }
    std::string str() const;  // "cpu", "cuda:0"
};
inline bool operator==(const Device& a, const Device& b) { return a.type == b.type && a.index == b.index; }
inline bool operator!=(const Device& a, const Device& b) { return !(a == b); }

// Raw memory owned by one device; freed through the deleter that allocated it.
class Storage {
public:
    Storage(void* data, size_t bytes, Device device, std::function<void(void*)> deleter)
        : data_(data), bytes_(bytes), device_(device), deleter_(std::move(deleter)) {}
    ~Storage() { if (deleter_ && data_) deleter_(data_); }
    Storage(const Storage&) = delete;
    Storage& operator=(const Storage&) = delete;

    void* data() const { return data_; }
    size_t bytes() const { return bytes_; }
    Device device() const { return device_; }

private:
    void* data_;
    size_t bytes_;
    Device device_;
    std::function<void(void*)> deleter_;
};

// Host storage, 64-byte aligned (for vector loads in CPU kernels).
std::shared_ptr<Storage> allocate_host(size_t bytes);

template <class T>
class Tensor {
public:
    Tensor() = default;
    Tensor(std::shared_ptr<Storage> storage, Shape shape, size_t offset = 0)
        : storage_(std::move(storage)), shape_(std::move(shape)), offset_(offset) {
        // Written so that no sum can wrap: a huge offset must fail here, not point before the storage.
        FUSEDRNN_CHECK(
            storage_ == nullptr ||
                (offset_ <= storage_->bytes() / sizeof(T) && numel() <= storage_->bytes() / sizeof(T) - offset_),
            "tensor view {} at offset {} exceeds its storage", shape_str(shape_), offset_);
    }

    T* data() const { return storage_ ? static_cast<T*>(storage_->data()) + offset_ : nullptr; }
    const Shape& shape() const { return shape_; }
    long dim(size_t i) const {
        FUSEDRNN_CHECK(i < shape_.size(), "dimension {} of a tensor of shape {}, which has {}", i,
                       shape_str(shape_), shape_.size());
        return shape_[i];
    }
    size_t rank() const { return shape_.size(); }
    size_t numel() const { return shape_numel(shape_); }
    bool empty() const { return storage_ == nullptr || numel() == 0; }
    Device device() const { return storage_ ? storage_->device() : Device{}; }
    const std::shared_ptr<Storage>& storage() const { return storage_; }

    // A view of `shape` starting `offset` elements into this tensor (shares storage).
    Tensor view(size_t offset, Shape shape) const {
        FUSEDRNN_CHECK(offset <= numel() && shape_numel(shape) <= numel() - offset,
                       "view {} at {} is outside tensor {}", shape_str(shape), offset, shape_str(shape_));
        return Tensor(storage_, std::move(shape), offset_ + offset);
    }
    // Same elements, another shape with the same element count.
    Tensor reshape(Shape shape) const {
        FUSEDRNN_CHECK(shape_numel(shape) == numel(), "cannot reshape {} to {}", shape_str(shape_),
                       shape_str(shape));
        return Tensor(storage_, std::move(shape), offset_);
    }

private:
    std::shared_ptr<Storage> storage_;
    Shape shape_;
    size_t offset_ = 0;
};

// Throws fusedrnn::Error("<what>: expected shape [..], got [..]") on mismatch.
void check_shape(const Shape& got, const Shape& expected, const char* what);
// Throws fusedrnn::Error("<what> is on cuda:0, but the model is on cpu ...") when a tensor that holds data is on
// another device than the backend that is to read it: a kernel would take a host pointer for a device one.
void check_device(Device got, Device expected, const char* what);

}  // namespace fusedrnn
