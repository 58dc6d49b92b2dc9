// fusedrnn (internal, not installed) — checks both trainers (forecaster, language model) make of the run they resume.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fusedrnn/models/checkpoint.h"

namespace fusedrnn::detail {

// The whole numbers of a trainer's resume state, as written: each key of `block` (the checkpoint's extra[block_name]),
// of every record in its "history" and of its "epoch_in_progress" that is present must be a whole number in [0, the
// largest int, or long where `is_long`]. Read unchecked, nlohmann's get<int>() takes 2.7 as 2 and 2^32 + 2 as 2, and a
// hand-edited or damaged state would be trained on. Throws "--resume: <path> is damaged: its trainer.epochs_done is
// 2.7, not a whole number in [0, 2147483647]". Absent keys are left to the reading (some are optional).
struct WholeKey {
    const char* key;
    bool is_long = false;
};
struct ResumeWholes {
    std::vector<WholeKey> block, record, in_progress;
};
void check_resume_wholes(const nlohmann::json& block, const char* block_name, const ResumeWholes& keys,
                         const std::string& path);

// The epochs of a resumed history, in order: epochs[i] must be i + 1. Throws naming `path` as damaged otherwise.
void check_history_order(const std::vector<int>& epochs, const std::string& path);

// The optimizer's step count (fusedrnn.optimizer.steps, `steps`) must be the training steps the trainer's state
// accounts for (`expected`: its history's, and the epoch in progress'; `accounted` says how, for the message). Adam's
// bias correction and the step count go together: a count edited, or parameters and state taken from two files, are
// refused as damage rather than trained on (load_optimizer refuses a checkpoint without a count).
void check_optimizer_steps(long steps, long expected, const std::string& accounted,
                           const std::string& path);

// The run may go on only up to --epochs: a lower one would train nothing of the epoch in progress (`in_progress`, 0
// for none), or, after `done` whole epochs, nothing at all while the log was rewritten short. Throws naming `path`.
void check_epochs_reach(long epochs, long in_progress, long done, const std::string& path);

// The best.safetensors of a resumed run, as both trainers check it before training on.
struct ResumedBest {
    std::string best_path, last_path;
    int epoch = 0;                     // the history's best epoch; 0: none yet (nothing to check)
    bool last_ends_it = false;         // last.safetensors is the end of that epoch (the history's last, none after)
    const nlohmann::json* config;      // the model's config
    const char* block;                 // the trainer's block in the checkpoints' extra ("trainer", "training")
    const nlohmann::json* last_history;  // that block's "history" in last.safetensors
    std::function<void()> save_best;   // writes best.safetensors from the resumed state
    // Whether a best.safetensors that reads is this run's best model: its epoch, loss (exact: JSON keeps doubles),
    // data and settings; `what` names the best for the refusal ("epoch 3, validation loss 0.5").
    std::function<bool(const Checkpoint&)> is_the_runs_best;
    // Optional: what a checkpoint of the trainer's kind must pass to be read at all (read_best_checkpoint_for_resume);
    // a best.safetensors failing it is damaged, not another run's.
    std::function<void(const Checkpoint&)> check_readable;
    std::string what;
};

// A run stopped between writing last.safetensors and best.safetensors after its best epoch (best_checkpoint_is_behind,
// models/checkpoint.h) has best.safetensors written again now, as it would have been then: returns the note saying so.
// Otherwise best.safetensors must be the run's best model (else an Error saying what to do): returns "".
std::string check_resumed_best(const ResumedBest& r);

}  // namespace fusedrnn::detail
