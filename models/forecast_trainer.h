// fusedrnn — training a Forecaster on windows gathered on the device.
// The whole normalized dataset lives on the backend's device; each step uploads only the batch's
// window start indices and the backend's gather_windows builds x [T, B, F] and y [B, horizon·K].
// Batch order depends only on (seed, epoch), so a resumed run sees the same batches as an
// uninterrupted one (bit-identical on the CPU backend). Checkpoints: <out>/last.safetensors after every
// epoch (with optimizer state, for --resume) and <out>/best.safetensors at the best validation loss.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/data/windows.h"
#include "models/forecast_metrics.h"
#include "models/model.h"
#include "models/optimizer.h"

namespace fusedrnn {

// The device-side dataset: series [rows, F] normalized (rows no window touches may hold anything),
// and per split the valid window start rows.
struct ForecastDataset {
    Tensor<float> series;
    int F = 0;
    data::WindowSpec window;
    std::vector<int32_t> target_cols;                // K variables predicted (indices into the F columns)
    Tensor<int32_t> target_cols_dev;                 // device copy
    std::array<std::vector<int64_t>, 3> starts;      // train, val, test
    std::vector<std::string> target_names;           // K names
    std::vector<double> target_stds;                 // K standard deviations (original units)

    // Copies `series` [rows, F] to the backend's device. Checks every window of every split lies
    // inside the series.
    static ForecastDataset upload(Backend<float>& backend, const std::vector<float>& series, int F,
                                  const data::WindowSpec& window, std::vector<int32_t> target_cols,
                                  std::array<std::vector<int64_t>, 3> starts,
                                  std::vector<std::string> target_names, std::vector<double> target_stds);
};

struct TrainOptions {
    int epochs = 50;
    int batch = 1024;
    double clip = 0;           // global gradient-norm clip; 0 = off
    int patience = 5;          // epochs without validation improvement before stopping; 0 = never stop early
    uint64_t seed = 0;         // batch order
    long max_batches = 0;      // per epoch; 0 = all full batches (the last partial one is left out;
                               // which windows are left out changes every epoch)
    std::string out_dir;       // checkpoints and logs
    bool resume = false;       // continue from <out_dir>/last.safetensors
    nlohmann::json extra;      // stored in every checkpoint (normalization, data description, …)
};

struct Progress {
    int epoch = 0, epochs = 0;
    long step = 0, steps = 0;  // within the epoch
    double loss = 0;           // running mean over the epoch so far
    double grad_norm = 0;
    double windows_per_s = 0;
    double eta_s = 0;          // for the rest of the epoch
};

struct EpochRecord {
    int epoch = 0;
    double train_loss = 0, val_loss = 0, grad_norm = 0, seconds = 0, windows_per_s = 0;
    bool best = false;
    nlohmann::json to_json() const;
    static EpochRecord from_json(const nlohmann::json& j);
};

class ForecastTrainer {
public:
    ForecastTrainer(Forecaster& model, Optimizer& optimizer, const ForecastDataset& data, TrainOptions options);

    std::function<void(const Progress&)> on_progress;      // called every few steps
    std::function<void(const EpochRecord&)> on_epoch;      // called after each epoch
    std::function<void(const std::string&)> on_message;    // resume / early-stop notes

    // Trains until `epochs` or early stopping. Returns the whole history (including resumed epochs).
    // Throws NumericError naming the epoch, step and cause when the loss or gradients turn NaN/Inf.
    std::vector<EpochRecord> fit();

    // Mean validation-style loss over `starts` (no gradient).
    double loss_on(const std::vector<int64_t>& starts);

private:
    void train_epoch(int epoch, EpochRecord& rec);
    void save(const std::string& path, bool with_optimizer, const std::vector<EpochRecord>& history,
              double best_val, int bad_epochs);

    Forecaster& model_;
    Optimizer& opt_;
    const ForecastDataset& data_;
    TrainOptions o_;
    Tensor<float> x_, y_, grad_;
    Tensor<int64_t> starts_dev_;
};

// Test-style evaluation: the model's metrics, and the persistence baseline's (each target repeats its
// last observed input value for the whole horizon).
ForecastMetrics evaluate_forecaster(Forecaster& model, const ForecastDataset& data, const std::vector<int64_t>& starts,
                                    int batch);
ForecastMetrics evaluate_persistence(Backend<float>& backend, const ForecastDataset& data,
                                     const std::vector<int64_t>& starts, int batch);

}  // namespace fusedrnn
