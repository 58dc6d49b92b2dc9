// fusedrnn — safetensors files: named tensors plus a string→string metadata block.
// The checkpoint format (https://github.com/huggingface/safetensors), so a checkpoint written here loads
// in PyTorch with safetensors.torch.load_file and load_state_dict, and PyTorch's files load here:
//
//   [8 bytes] N, little-endian u64
//   [N bytes] JSON header {"__metadata__": {str: str}, "<name>": {"dtype": "F32", "shape": [..],
//             "data_offsets": [begin, end]}, ...}, padded with spaces to a multiple of 8
//   [rest]    the tensors' raw little-endian bytes; offsets are relative to the start of this section
//             and must tile it exactly (start at 0, no gaps, no overlap, nothing left over).
//
// fusedrnn reads and writes the dtypes it computes with: "F32", "F64", "I32", "I64".
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "fusedrnn/core/param_layout.h"

namespace fusedrnn {

// Bytes per element of a safetensors dtype name; 0 when fusedrnn does not support it.
size_t safetensors_dtype_size(const std::string& dtype);

struct SafetensorsTensor {
    std::string name;
    std::string dtype;           // "F32" | "F64" | "I32" | "I64"
    Shape shape;                 // [] is a scalar (one element)
    std::vector<uint8_t> bytes;  // shape_numel(shape) · dtype size bytes, little-endian
};

class SafetensorsFile {
public:
    // The "__metadata__" block (spec, normalization statistics, step, ...). Written with sorted keys.
    std::map<std::string, std::string> metadata;

    // Appends a tensor copied from `data` (shape_numel(shape) elements). Throws Error on a duplicate or
    // empty name, the reserved name "__metadata__", an unsupported dtype or a negative dimension.
    void add(const std::string& name, const std::string& dtype, const Shape& shape, const void* data);
    void add_f32(const std::string& name, const Shape& shape, const float* data);
    void add_f64(const std::string& name, const Shape& shape, const double* data);
    void add_i32(const std::string& name, const Shape& shape, const int32_t* data);
    void add_i64(const std::string& name, const Shape& shape, const int64_t* data);

    bool has(const std::string& name) const;
    std::vector<std::string> names() const;  // insertion order (file order for a file that was read)
    const std::vector<SafetensorsTensor>& tensors() const { return tensors_; }
    // Throws Error naming the missing tensor (and the file it came from, when read from one).
    const SafetensorsTensor& at(const std::string& name) const;

    // Copies of a tensor's values. Floating dtypes convert into each other (F64 → F32 rounds, as
    // PyTorch's load_state_dict does); integer dtypes convert into each other (narrowing is range
    // checked); asking for a float from an integer tensor or the reverse throws Error.
    std::vector<float> get_f32(const std::string& name) const;
    std::vector<double> get_f64(const std::string& name) const;
    std::vector<int32_t> get_i32(const std::string& name) const;
    std::vector<int64_t> get_i64(const std::string& name) const;
    // As get_*, into caller memory of shape_numel(expected) elements, after checking the tensor's shape
    // equals `expected` (throws Error "<name>: expected shape [..], got [..]").
    void copy_f32(const std::string& name, const Shape& expected, float* dst) const;
    void copy_f64(const std::string& name, const Shape& expected, double* dst) const;

    // Where the file was read from ("" when built in memory); used in error messages.
    std::string source;

private:
    friend SafetensorsFile read_safetensors(const std::string& path);
    std::vector<SafetensorsTensor> tensors_;
};

// Writes atomically: a temporary file in the same folder, fsync, rename over `path`, fsync the folder.
// A crash or a failure never leaves a partial checkpoint at `path`, nor the temporary file; failures
// throw Error naming the path and the system's reason. Tensors are laid out with larger element sizes
// first (stable), as the reference implementation does, so every tensor is aligned to its element
// size in the file (PyTorch's zero-copy loader needs that); same-size tensors keep insertion order.
// `before_rename`, when given, runs once the temporary file is complete, just before it replaces `path`: an Error
// from it removes the temporary file and leaves `path` as it was (the CLI checks there that it still holds its
// output folder's lock, so the check and the file's arrival are not a whole write apart).
void write_safetensors(const std::string& path, const SafetensorsFile& file,
                       const std::function<void()>& before_rename = nullptr);

// Reads and validates a whole file. Throws Error naming the file and the problem for: a missing or
// unreadable file, a file shorter than 8 bytes, a header longer than the file or than 100 MB, invalid
// JSON, duplicate keys, entries that are not objects, unknown dtypes, bad or negative shapes, shape /
// byte-count mismatches, data_offsets that do not tile the data section exactly, non-string metadata
// and truncated data.
SafetensorsFile read_safetensors(const std::string& path);

}  // namespace fusedrnn
