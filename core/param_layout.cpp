#include "fusedrnn/core/param_layout.h"

#include <limits>

#include "fusedrnn/core/error.h"

namespace fusedrnn {

size_t shape_numel(const Shape& shape) {
    size_t n = 1;
    for (long d : shape) {
        FR_CHECK(d >= 0, "negative dimension in shape {}", shape_str(shape));
        FR_CHECK(d == 0 || n <= std::numeric_limits<size_t>::max() / static_cast<size_t>(d),
                 "shape {} has more elements than any memory holds", shape_str(shape));
        n *= static_cast<size_t>(d);
    }
    return n;
}

std::string shape_str(const Shape& shape) { return fmt::format("[{}]", fmt::join(shape, ", ")); }

size_t ParamLayout::add(const std::string& name, const Shape& shape) {
    ParamEntry e{name, shape, total_, shape_numel(shape)};
    FR_CHECK(total_ <= std::numeric_limits<size_t>::max() - e.numel,
             "the parameters reach {} elements at '{}' {}: more than any memory holds", total_, name, shape_str(shape));
    FR_CHECK(index_.emplace(name, entries_.size()).second, "duplicate parameter name '{}'", name);
    entries_.push_back(e);
    total_ += e.numel;
    return e.offset;
}

size_t ParamLayout::append(const ParamLayout& other, const std::string& prefix) {
    size_t start = total_;
    for (const auto& e : other.entries()) add(prefix + e.name, e.shape);
    return start;
}

const ParamEntry* ParamLayout::find(const std::string& name) const {
    const auto it = index_.find(name);
    return it == index_.end() ? nullptr : &entries_[it->second];
}

const ParamEntry& ParamLayout::at(const std::string& name) const {
    const ParamEntry* e = find(name);
    FR_CHECK(e != nullptr, "no parameter named '{}' in this model", name);
    return *e;
}

ParamLayout rnn_param_layout(const RnnSpec& spec) {
    spec.validate();
    ParamLayout layout;
    const long gh = static_cast<long>(spec.gates()) * spec.hidden_size;
    for (int layer = 0; layer < spec.num_layers; ++layer) {
        for (int dir = 0; dir < spec.directions(); ++dir) {
            const std::string sfx = fmt::format("_l{}{}", layer, dir == 1 ? "_reverse" : "");
            layout.add("weight_ih" + sfx, {gh, spec.layer_input_size(layer)});
            layout.add("weight_hh" + sfx, {gh, spec.hidden_size});
            layout.add("bias_ih" + sfx, {gh});
            layout.add("bias_hh" + sfx, {gh});
        }
    }
    return layout;
}

RnnWeightOffsets rnn_weight_offsets(const RnnSpec& spec, int layer, int direction) {
    FR_CHECK(layer >= 0 && layer < spec.num_layers, "layer {} out of range [0, {})", layer, spec.num_layers);
    FR_CHECK(direction >= 0 && direction < spec.directions(), "direction {} out of range", direction);
    const size_t gh = static_cast<size_t>(spec.gates()) * spec.hidden_size;
    const size_t H = spec.hidden_size;
    size_t off = 0;
    for (int l = 0; l < spec.num_layers; ++l) {
        const size_t per_dir = gh * spec.layer_input_size(l) + gh * H + 2 * gh;
        if (l < layer) { off += per_dir * spec.directions(); continue; }
        off += per_dir * direction;
        RnnWeightOffsets o;
        o.w_ih = off;
        o.w_hh = o.w_ih + gh * spec.layer_input_size(l);
        o.b_ih = o.w_hh + gh * H;
        o.b_hh = o.b_ih + gh;
        return o;
    }
    FR_FAIL("unreachable");
}

size_t rnn_param_count(const RnnSpec& spec) { return rnn_param_layout(spec).total(); }

}  // namespace fusedrnn
