// Rebuilding what a forecaster checkpoint was trained with: the model, and the dataset configuration
// (window, targets, split, the stored normalization statistics — never recomputed at evaluation).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "fusedrnn/core/data/dataset.h"
#include "fusedrnn/models/checkpoint.h"
#include "fusedrnn/models/model.h"
#include "fusedrnn/tools/station_data.h"

namespace fusedrnn::tools {

struct LoadedForecaster {
    Checkpoint checkpoint;
    std::unique_ptr<Forecaster> model;
    data::DatasetConfig dataset;  // stats fixed to the checkpoint's
    data::NormStats stats;
    std::vector<std::string> vars;
    DataOptions data;             // where the training data came from
    int64_t step_seconds = 0;     // the training data's time step (0: not recorded)
    std::string values_checksum;  // of the training data's stations and values, all splits ("": not recorded)
    int64_t stations = 0;         // how many stations training read (0: not recorded)
};

// Throws Error naming the file when it is not a forecaster checkpoint (e.g. a language model).
LoadedForecaster load_forecaster(const std::string& path, std::shared_ptr<Backend<float>> backend);

// Station data for a checkpoint's model: the same time step (the window and the lead times count steps), and the
// same variables in the checkpoint's order. Files whose columns hold the same variables in another order are
// reordered (the model and the normalization statistics go by position); a missing or extra variable, or another
// step, is an error naming it. `say_reordered`: log a line when the columns were reordered.
void conform_to_checkpoint(data::StationSet& set, const LoadedForecaster& f, bool say_reordered = true);

}  // namespace fusedrnn::tools
