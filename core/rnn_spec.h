// fusedrnn — what a recurrent stack is: cell type, sizes, layers, directions.
// Shape legend used across the engine:
//   T steps, N batch, C input features, H hidden, D directions (1|2), L layers, G gates per cell.
#pragma once

#include <string>

namespace fusedrnn {

enum class CellType {
    RnnTanh,         // h' = tanh(W_ih x + b_ih + W_hh h + b_hh)
    RnnRelu,         // h' = relu(...)
    Lstm,            // gates i, f, g, o
    Gru,             // gates r, z, n; reset-after (PyTorch, cuDNN, Keras default)
    GruResetBefore,  // gates r, z, n; n = tanh(W_in x + b_in + W_hn (r*h) + b_hn) (Cho et al. 2014)
};

// Gates stacked in the weight matrices: 1 (RNN), 4 (LSTM), 3 (GRU).
int gate_count(CellType cell);
// Whether the cell carries a cell state c besides h (LSTM only).
bool has_cell_state(CellType cell);
// Canonical name: "rnn_tanh", "rnn_relu", "lstm", "gru", "gru_reset_before".
const char* cell_name(CellType cell);
// Parses a cell name; accepts the canonical names plus "rnn" (= rnn_tanh) and "gru_reset_after".
// Throws fusedrnn::Error listing the accepted names.
CellType parse_cell(const std::string& name);

// Bounds RnnSpec::validate enforces: far above any real model, low enough that no size product the layout
// computes in int (2·H, 4·H, …) can wrap.
constexpr int kMaxRnnSize = 1 << 24;     // input_size, hidden_size
constexpr int kMaxRnnLayers = 1024;      // num_layers

struct RnnSpec {
    CellType cell = CellType::Lstm;
    int input_size = 0;   // C
    int hidden_size = 0;  // H
    int num_layers = 1;   // L
    bool bidirectional = false;

    int directions() const { return bidirectional ? 2 : 1; }
    int gates() const { return gate_count(cell); }
    int output_size() const { return directions() * hidden_size; }  // feature size of y
    // Input features of layer k: C for k = 0, D*H above.
    int layer_input_size(int layer) const { return layer == 0 ? input_size : output_size(); }
    // Throws fusedrnn::Error naming the bad field.
    void validate() const;
    std::string describe() const;  // e.g. "lstm C=5 H=128 L=2 bidirectional"
};

bool operator==(const RnnSpec& a, const RnnSpec& b);
inline bool operator!=(const RnnSpec& a, const RnnSpec& b) { return !(a == b); }

}  // namespace fusedrnn
