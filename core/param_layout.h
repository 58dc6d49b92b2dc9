// fusedrnn — the flat parameter buffer's map.
// All parameters of a model live in one contiguous buffer; a ParamLayout names each slice with
// PyTorch's names and shapes (row-major, y = x·Wᵀ), in PyTorch's order, so a checkpoint loads into
// torch.nn.RNN/LSTM/GRU with load_state_dict and no conversion.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "fusedrnn/core/rnn_spec.h"

namespace fusedrnn {

using Shape = std::vector<long>;
size_t shape_numel(const Shape& shape);
std::string shape_str(const Shape& shape);  // "[4, 5]"

struct ParamEntry {
    std::string name;   // e.g. "rnn.weight_ih_l0_reverse"
    Shape shape;        // e.g. [4H, C]
    size_t offset = 0;  // in elements, from the start of the flat buffer
    size_t numel = 0;
};

class ParamLayout {
public:
    // Appends a slice; names must be unique. Returns its offset.
    size_t add(const std::string& name, const Shape& shape);
    // Appends every entry of `other`, prefixing names with `prefix` (e.g. "rnn.").
    size_t append(const ParamLayout& other, const std::string& prefix);

    const std::vector<ParamEntry>& entries() const { return entries_; }
    size_t total() const { return total_; }
    // Throws fusedrnn::Error naming the missing parameter.
    const ParamEntry& at(const std::string& name) const;
    const ParamEntry* find(const std::string& name) const;

private:
    std::vector<ParamEntry> entries_;
    std::map<std::string, size_t> index_;  // name -> entries_ index (a 10,000-layer stack has 40,000 entries)
    size_t total_ = 0;
};

// The recurrent stack's parameters, PyTorch order: for each layer, for each direction
// (forward, then "_reverse"): weight_ih_l{k} [G·H, in_k], weight_hh_l{k} [G·H, H],
// bias_ih_l{k} [G·H], bias_hh_l{k} [G·H]. Offsets start at 0.
ParamLayout rnn_param_layout(const RnnSpec& spec);

// Element offsets of one layer-direction's four tensors within the stack's parameters.
struct RnnWeightOffsets {
    size_t w_ih, w_hh, b_ih, b_hh;
};
RnnWeightOffsets rnn_weight_offsets(const RnnSpec& spec, int layer, int direction);
// Number of elements of the stack's parameters (= rnn_param_layout(spec).total()).
size_t rnn_param_count(const RnnSpec& spec);

}  // namespace fusedrnn
