// fusedrnn (internal, not installed) — checks both trainers (forecaster, language model) make of the run they resume.
#pragma once

#include <string>
#include <vector>

namespace fusedrnn::detail {

// The epochs of a resumed history, in order: epochs[i] must be i + 1. Throws naming `path` as damaged otherwise.
void check_history_order(const std::vector<int>& epochs, const std::string& path);

// The run may go on only up to --epochs: a lower one would train nothing of the epoch in progress (`in_progress`, 0
// for none), or, after `done` whole epochs, nothing at all while the log was rewritten short. Throws naming `path`.
void check_epochs_reach(long epochs, long in_progress, long done, const std::string& path);

// What a trainer says after writing best.safetensors again from a resumed last.safetensors that ends the best epoch
// (best_checkpoint_is_behind, models/checkpoint.h): it `was_missing`, or held an earlier epoch.
std::string best_checkpoint_rewritten_note(const std::string& best_path, long epoch, const std::string& last_path,
                                           bool was_missing);

}  // namespace fusedrnn::detail
