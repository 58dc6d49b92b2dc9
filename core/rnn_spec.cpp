#include "fusedrnn/core/rnn_spec.h"

#include "fusedrnn/core/error.h"

namespace fusedrnn {

int gate_count(CellType cell) {
    switch (cell) {
        case CellType::RnnTanh:
        case CellType::RnnRelu: return 1;
        case CellType::Lstm: return 4;
        case CellType::Gru:
        case CellType::GruResetBefore: return 3;
    }
    FR_FAIL("unknown cell type {}", static_cast<int>(cell));
}

bool has_cell_state(CellType cell) { return cell == CellType::Lstm; }

const char* cell_name(CellType cell) {
    switch (cell) {
        case CellType::RnnTanh: return "rnn_tanh";
        case CellType::RnnRelu: return "rnn_relu";
        case CellType::Lstm: return "lstm";
        case CellType::Gru: return "gru";
        case CellType::GruResetBefore: return "gru_reset_before";
    }
    return "?";
}

CellType parse_cell(const std::string& name) {
    if (name == "rnn_tanh" || name == "rnn" || name == "tanh") return CellType::RnnTanh;
    if (name == "rnn_relu" || name == "relu") return CellType::RnnRelu;
    if (name == "lstm") return CellType::Lstm;
    if (name == "gru" || name == "gru_reset_after") return CellType::Gru;
    if (name == "gru_reset_before") return CellType::GruResetBefore;
    FR_FAIL("unknown cell '{}': expected one of rnn_tanh (rnn), rnn_relu, lstm, gru (gru_reset_after), "
            "gru_reset_before", name);
}

void RnnSpec::validate() const {
    FR_CHECK(input_size > 0 && input_size <= kMaxRnnSize, "RnnSpec: input_size must be in [1, {}], got {}",
             kMaxRnnSize, input_size);
    FR_CHECK(hidden_size > 0 && hidden_size <= kMaxRnnSize, "RnnSpec: hidden_size must be in [1, {}], got {}",
             kMaxRnnSize, hidden_size);
    FR_CHECK(num_layers > 0 && num_layers <= kMaxRnnLayers, "RnnSpec: num_layers must be in [1, {}], got {}",
             kMaxRnnLayers, num_layers);
    (void)gate_count(cell);
}

std::string RnnSpec::describe() const {
    return fmt::format("{} C={} H={} L={}{}", cell_name(cell), input_size, hidden_size, num_layers,
                       bidirectional ? " bidirectional" : "");
}

bool operator==(const RnnSpec& a, const RnnSpec& b) {
    return a.cell == b.cell && a.input_size == b.input_size && a.hidden_size == b.hidden_size &&
           a.num_layers == b.num_layers && a.bidirectional == b.bidirectional;
}

}  // namespace fusedrnn
