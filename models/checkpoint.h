// fusedrnn — checkpoints: a model's named parameters (PyTorch names) in a safetensors file, with the
// model's config and caller data (normalization statistics, vocabulary, training progress) as JSON in
// the metadata block, and optionally the optimizer's state ("optimizer.<state>" tensors) for resuming.
// Written atomically (temp file + fsync + rename): an interrupted save never damages the previous file.
//
// A checkpoint without optimizer state loads into PyTorch with
//   model.load_state_dict(safetensors.torch.load_file(path))
// for an equivalent module whose submodules are named embedding / rnn / head.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "fusedrnn/core/safetensors.h"
#include "fusedrnn/models/model.h"
#include "fusedrnn/models/optimizer.h"

namespace fusedrnn {

// A trainer's carried state (the language model's stream state: h and c of every stream), stored as a tensor named
// kTrainerStatePrefix + name: neither a parameter nor optimizer state. Millions of values do not belong in the JSON
// metadata, whose size the reader bounds (read_safetensors: 100 MB).
inline constexpr const char* kTrainerStatePrefix = "trainer_state.";
struct StateTensor {
    std::string name;
    Shape shape;
    std::vector<float> values;
};

// The trainer-state tensors a checkpoint holds, to save them again with it (a tool rewriting its metadata).
struct Checkpoint;
std::vector<StateTensor> state_tensors_of(const Checkpoint& c);

// extra: any JSON the application wants back (stored under metadata key "fusedrnn.extra").
// before_rename: see write_safetensors (run once the file is written, just before it replaces `path`).
// state: tensors of a trainer's carried state (StateTensor), read back with Checkpoint::file.
void save_checkpoint(const std::string& path, const Model& model, const nlohmann::json& extra,
                     const Optimizer* optimizer = nullptr, const std::function<void()>& before_rename = nullptr,
                     const std::vector<StateTensor>& state = {});

struct Checkpoint {
    std::string path;
    nlohmann::json config;  // Model::config() of the saved model ("kind" says which)
    nlohmann::json extra;
    SafetensorsFile file;
    bool has_optimizer() const { return file.metadata.count("fusedrnn.optimizer") > 0; }
};

// Reads and validates a checkpoint; throws Error naming the file when it is not a fusedrnn checkpoint
// (or corrupted / truncated: see read_safetensors).
Checkpoint read_checkpoint(const std::string& path);
// Reading a checkpoint's metadata, for the loaders of each kind of model: obj[key] as a whole number in [lo, hi], and
// the recurrent stack's spec (config["spec"]), or an Error naming `source` (the file) and the field ("spec.num_layers
// in the checkpoint metadata is 100000, not a whole number in [1, 1024]"): a hand-edited 1e12 must not wrap to a
// negative int, nor 1e9 layers be allocated.
constexpr long kMaxCheckpointSetting = 1L << 24;  // far above any real size, vocabulary, context, bptt or streams
long checkpoint_integer(const nlohmann::json& obj, const char* key, const std::string& field, long lo, long hi,
                        std::string_view source);
RnnSpec declared_spec(const nlohmann::json& config, std::string_view source);

// The file's parameter tensors (optimizer state aside) against the model its metadata declares (declared_layout),
// before that model is built: a hand-edited hidden size or layer count fails here naming the file and the tensor,
// not after allocating what the numbers say. `what` names the kind in messages ("language model", "forecaster").
void check_declared_parameters(const Checkpoint& ckpt, std::string_view what);
// Copies the parameters into `model`. Every parameter of the model must be present with the same shape,
// and the file must hold no other parameter (optimizer state aside); otherwise Error names the tensor.
void load_parameters(const Checkpoint& ckpt, Model& model);
// Where two settings recorded in checkpoints differ, for an error message: "window.horizon: 24 saved, 48 now; ..."
// (the differing leaves by path, at most `max_items`, long values shortened), instead of both documents whole.
std::string json_differences(const nlohmann::json& saved, const nlohmann::json& now, size_t max_items = 4);

// Restores optimizer state and step count; the optimizer must be of the kind, and have the settings, that were saved
// (the flags' names in the message: --weight-decay is OptimizerConfig::weight_decay). The learning rate is neither
// compared nor restored: the caller sets it (the trainers restore their schedule's). Metadata without its name,
// step count or learning rate (every version writes them) is an Error saying so.
void load_optimizer(const Checkpoint& ckpt, Optimizer& optimizer);
// What load_optimizer checks before it restores anything: the checkpoint's optimizer is of `config`'s kind, with its
// settings, and its metadata is whole. Returns that metadata.
nlohmann::json check_optimizer_settings(const Checkpoint& ckpt, const OptimizerConfig& config);
// load_optimizer for a trainer's --resume: its refusals begin "--resume: ", as the trainer's own (a device out of
// memory passes unchanged).
void load_optimizer_to_resume(const Checkpoint& ckpt, Optimizer& optimizer);

// Creates the folder checkpoints and logs go to (and its parents); Error naming it when that fails.
// Trainers call it before their first epoch; tools call it before loading data, so a bad --out fails
// in a second rather than after the first epoch.
void create_output_folder(const std::string& dir);

// Before a new run writes `last_path`: when that file holds a run that stopped before its end (its
// extra[block]["finished"] is false) or cannot be read, throws naming it, where it stopped, and the way
// on: --resume to continue it, --overwrite to start over (a re-run command must not silently discard
// hours of training). A finished run, a file without that field, or no file: nothing.
void refuse_to_overwrite_unfinished_run(const std::string& last_path, const std::string& block);

// On --resume, the run's best.safetensors (`best_path`, of epoch `best_epoch` per the history in `last_path`): read,
// or an Error saying that it is missing or unreadable and the way on. `check`, when given, is what a file of its kind
// must pass to be read at all (a language model's stored tokenizer and settings): its Error is unreadable too. The
// caller then checks that it is this run's best (the final report evaluates it as such).
Checkpoint read_best_checkpoint_for_resume(const std::string& best_path, int best_epoch, const std::string& last_path,
                                           const std::function<void(const Checkpoint&)>& check = {});

// What decides a run's float arithmetic beyond its flags and data: the backend with its details (the CPU kernels'
// instruction set and OpenBLAS's; the cuda backend's recurrence and TF32), e.g. "cpu (float kernels avx512, OpenBLAS
// Haswell)" (before 0.3.5 without the OpenBLAS part, which a resume of such a checkpoint leaves out). Not the CPU's
// thread count: the CPU backend computes the same on any (kernels/cpu/cpu_rnn.cpp). The trainers record it in
// last.safetensors: resumed under another one a run goes on, but may differ from an uninterrupted run by rounding.
// (Checkpoints of versions whose CPU sums followed the threads recorded them: "cpu (float kernels avx512, 2 threads)",
// which differs from what any run records now, and rightly so.)
std::string run_arithmetic(const Backend<float>& backend);
// What to say when resuming `last_path`, whose trainer block `state` recorded its arithmetic, under `now`: empty when
// they are the same (or the checkpoint is older than the record).
std::string resumed_arithmetic_note(const nlohmann::json& state, const std::string& now, const std::string& last_path);

// The trainers write last.safetensors before best.safetensors at the end of an epoch: a run stopped between the two (a
// full disk, a kill) leaves its newest best epoch in last.safetensors alone, with best.safetensors missing or one of
// the same run's earlier bests. On --resume from a last.safetensors that ends an epoch, the best one, this says whether
// `best_path` is in that state: missing, or a checkpoint of the same model (`config`) whose history (`block`'s
// "history") is a strict prefix of `last_history`, the history last.safetensors holds. The trainer then writes
// best.safetensors again from the resumed state, as the run would have; anything else is left to the usual checks.
bool best_checkpoint_is_behind(const std::string& best_path, const nlohmann::json& config, const char* block,
                               const nlohmann::json& last_history);

// The Error for a best.safetensors that reads, but is not the run's best model (`what` says which: "epoch 3").
[[noreturn]] void fail_not_the_runs_best(const std::string& best_path, const std::string& what,
                                         const std::string& last_path);

}  // namespace fusedrnn
