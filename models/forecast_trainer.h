// fusedrnn — training a Forecaster on windows gathered on the device (models/forecast_dataset.h): each step
// uploads only the batch's window start indices.
// Batch order depends only on the seed and the step, so a resumed run sees the same batches as an
// uninterrupted one (bit-identical on the CPU backend). Checkpoints: <out>/last.safetensors after every
// epoch and every few minutes within one (with optimizer state and the epoch's progress, for --resume:
// a WEATHER-5K epoch is ~390k steps, hours on a CPU), and <out>/best.safetensors at the best validation
// loss. A stop request (Ctrl-C) saves last.safetensors at the next step and throws Interrupted.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "fusedrnn/core/data/windows.h"
#include "fusedrnn/core/gradient_sum.h"
#include "fusedrnn/core/process_group.h"
#include "fusedrnn/models/forecast_dataset.h"
#include "fusedrnn/models/forecast_evaluation.h"
#include "fusedrnn/models/forecast_metrics.h"
#include "fusedrnn/models/model.h"
#include "fusedrnn/models/data_parallel.h"
#include "fusedrnn/models/device_scalars.h"
#include "fusedrnn/models/optimizer.h"

namespace fusedrnn {

namespace data {
class BatchSampler;
}
struct Checkpoint;

struct TrainOptions {
    int epochs = 50;
    int batch = 1024;
    double clip = 0;           // global gradient-norm clip; 0 = off
    int patience = 5;          // epochs without validation improvement before stopping; 0 = never stop early
    double lr_decay = 1.0;     // the learning rate is multiplied by this after every epoch (1 = constant)
    int lr_plateau = 0;        // after this many epochs without validation improvement (and every as many
                               // more), the learning rate is multiplied by lr_plateau_factor; 0 = off
    double lr_plateau_factor = 0.5;
    bool lr_cosine = false;    // set the rate at every step on a cosine from the optimizer's rate down to 0 at the
                               // end of the last epoch (PyTorch's CosineAnnealingLR stepped per batch; WEATHER-5K's
                               // schedule); not combinable with lr_decay / lr_plateau
    uint64_t seed = 0;         // batch order
    double teacher_forcing = 0;  // seq2seq decoder: probability that a lead time of a training batch is fed the
                                 // observed previous value instead of the model's own prediction (drawn per step
                                 // and lead time from the seed, so resuming repeats it); 0 = free running
    long max_batches = 0;      // per epoch; 0 = all full batches (the last partial one is left out;
                               // which windows are left out changes every epoch)
    long steps_per_epoch = 0;  // 0: an epoch is one pass over the training windows (or its first max_batches
                               // batches). N: an epoch is N steps (validation, early stopping, checkpoints and
                               // the log count these) while the batches run on through consecutive shuffled
                               // passes over the data — Keras's steps_per_epoch; WEATHER-5K validates every
                               // 20,000 steps, a pass there is ~390,000
    std::string out_dir;       // checkpoints and logs
    bool resume = false;       // continue from <out_dir>/last.safetensors (also from within an epoch)
    bool overwrite = false;    // start over even when <out_dir> holds an unfinished run (else: an error)
    double checkpoint_seconds = 600;  // save last.safetensors within an epoch at most this often; 0 = only
                                      // after each epoch (saving never changes the result)
    std::function<bool()> stop_requested;  // polled after every step and validation batch: true → save
                                           // last.safetensors and throw Interrupted
    std::function<void()> before_save;     // called in every checkpoint save once its file is written, just
                                           // before it replaces the old one (since 0.3.2; before, as the save
                                           // began); an Error from it stops the run unsaved, the old file kept
                                           // (the CLI checks there that it still holds --out's lock)
    nlohmann::json extra;      // stored in every checkpoint (normalization, data description, …)

    // Throws naming the flag of a value out of range or a combination that cannot be (the trainer's constructor
    // calls it; `fusedrnn train` too, before it spends minutes loading data).
    void validate() const;
};

struct Progress {
    int epoch = 0, epochs = 0;
    long step = 0, steps = 0;  // within the epoch
    double passes = 0;         // passes over the training windows so far (all epochs)
    double loss = 0;           // running mean over the epoch so far
    double grad_norm = 0;
    double windows_per_s = 0;
    double eta_s = 0;          // for the rest of the epoch
};

struct EpochRecord {
    int epoch = 0;
    double train_loss = 0, val_loss = 0, grad_norm = 0, seconds = 0, windows_per_s = 0;
    double val_seconds = 0;  // the validation pass after the epoch (seconds: the training alone; 0 in older records)
    double lr = 0;  // learning rate at the start of this epoch
    long step = 0;  // training steps done by the end of this epoch, counting all epochs
    bool best = false;
    nlohmann::json to_json() const;
    static EpochRecord from_json(const nlohmann::json& j);
};

// One more rank of data-parallel training: a model of the same configuration, its optimizer, and the same
// dataset, all on the rank's own backend (its own GPU).
struct Replica {
    Forecaster* model = nullptr;
    Optimizer* optimizer = nullptr;
    const ForecastDataset* data = nullptr;
};

class ForecastTrainer {
public:
    ForecastTrainer(Forecaster& model, Optimizer& optimizer, const ForecastDataset& data, TrainOptions options);
    ~ForecastTrainer();

    // Data parallelism: the constructor's model is rank 0, `replicas` are ranks 1, 2, ... Every training batch
    // is split evenly over the ranks (so --batch must be a multiple of their number), each rank computes the
    // gradient of its slice, the gradients are summed (NCCL between GPUs; core/gradient_sum.h) and every rank
    // takes the same optimizer step from the same parameters, so the result is that of one model trained on
    // the whole batch, up to the order of the sums. Validation batches are shared among the ranks (the mean loss
    // is the same to the bit as one rank's); rank 0 writes the checkpoints. fit() starts every rank from rank 0's
    // parameters and optimizer state (also on --resume) and checks after every epoch that the ranks still agree
    // to the bit. Call before fit().
    void add_replicas(const std::vector<Replica>& replicas, RankRunner::Threads threads = RankRunner::Threads::Auto) {
        set_up_data_parallel(replicas, nullptr, threads);
    }
    // The same over several processes (`mpirun -np P fusedrnn train`, on one machine or many; core/process_group.h):
    // each process runs this trainer with the same flags and data and its own ranks (the constructor's model and
    // `replicas`, as many in every process); process p's ranks are global ranks p·L .. p·L+L-1 of P·L, and the run
    // is the one P·L ranks in one process would make, to the bit on CPU ranks. What decides a step (stop requests,
    // checkpoint and progress times) is agreed at every step; only process 0 writes checkpoints and reports
    // progress. Throws on every process when the processes were not started alike (flags, model, data, resumed
    // state). `processes` outlives the trainer. Call once, before fit().
    void set_up_data_parallel(const std::vector<Replica>& replicas, ProcessGroup* processes,
                              RankRunner::Threads threads = RankRunner::Threads::Auto);
    int ranks() const { return int(ranks_.size()) * processes(); }  // every process's
    int local_ranks() const { return int(ranks_.size()); }
    int processes() const { return processes_ ? processes_->size() : 1; }
    bool writes_files() const { return !processes_ || processes_->rank() == 0; }
    std::string gradient_sum_name() const { return gradient_sum_ ? gradient_sum_->name() : "none"; }
    // Why GPU ranks are summed through host memory instead of by NCCL (empty when they are not).
    const std::string& why_not_nccl() const { return why_not_nccl_; }

    std::function<void(const Progress&)> on_progress;      // called every few steps
    std::function<void(const EpochRecord&)> on_epoch;      // called after each epoch
    // Called once the last epoch's checkpoints are saved (its last or an early stop), before its on_epoch: training
    // is complete from here (a caller's signal handling says so).
    std::function<void()> on_trained;
    std::function<void(const std::string&)> on_message;    // resume / early-stop notes
    EvalProgress on_eval_progress;                         // during each validation pass

    // The flags a --resume must repeat that `last` (the run's last.safetensors) records apart from its data and model:
    // the seed, batch and epoch length, the learning-rate schedule, teacher forcing and the optimizer with its
    // settings; an Error beginning "--resume: " names the first that differs. fit() checks them again with the rest;
    // a caller checks them first to refuse at once, not after reading the data. A damaged state passes here: fit()
    // says what is wrong with it.
    static void check_resume_flags(const Checkpoint& last, const TrainOptions& options,
                                   const OptimizerConfig& optimizer);

    // Trains until `epochs` or early stopping. Returns the whole history (including resumed epochs).
    // Throws NumericError naming the epoch, step and cause when the loss or gradients turn NaN/Inf.
    std::vector<EpochRecord> fit();
    // The epochs trained so far (after fit() threw, the ones before the failure).
    const std::vector<EpochRecord>& history() const { return history_; }

    // Mean validation-style loss over `starts` (no gradient), its batches shared among the ranks.
    double loss_on(const data::WindowStarts& starts);

    // Full batches in one pass over the training windows; steps in one epoch (see steps_per_epoch).
    long steps_per_pass() const;
    long steps_per_epoch() const;

private:
    // What to change when the numbers go bad: for a new run, with --overwrite once an unfinished last.safetensors
    // of this run is in --out (models/detail/divergence_advice.h).
    std::string divergence_advice() const;
    // How far the epoch in progress has got: saved mid-epoch so a resumed run continues at the next step
    // with the same running sums (hence the same epoch record).
    struct EpochState {
        int epoch = 0, batch = 0;
        long steps_done = 0, steps = 0, windows = 0;
        double loss_sum = 0, norm_sum = 0, seconds = 0;
        // Stored in last.safetensors; every field is required when read back (JSON keeps doubles exactly).
        NLOHMANN_DEFINE_TYPE_INTRUSIVE(EpochState, epoch, batch, steps_done, steps, windows, loss_sum, norm_sum,
                                       seconds)
    };

    // The sampler's (pass, batch) for step s of an epoch: with steps_per_epoch the global step runs on
    // through the passes; without it an epoch is a pass.
    std::pair<long, long> pass_and_batch(int epoch, long s) const;
    long global_step(int epoch, long s) const { return long(epoch - 1) * steps_per_epoch() + s; }
    float cosine_lr(long global_step) const;
    void resume_from_last();  // and its parts, in the order it runs them:
    void check_resumed_run(const Checkpoint& c);
    int read_resumed_history(const nlohmann::json& trainer_block);
    void continue_resumed_schedule(const nlohmann::json& trainer_block);
    void read_resumed_progress(const nlohmann::json& trainer_block, int epochs_done);
    void say_how_resumed(const nlohmann::json& trainer_block, int epochs_done);
    // best.safetensors must be this run's best model: the final evaluation reports it as such.
    void check_best_checkpoint(const nlohmann::json& last_state);  // last.safetensors' trainer block
    bool start_or_resume();  // false: the resumed run had stopped early
    EpochRecord train_and_validate(int epoch);
    bool close_epoch(EpochRecord& rec);  // true: stop early
    void train_epoch(EpochState& st, EpochRecord& rec);
    // Where a call of train_epoch began (a resumed epoch begins part-way through), for its rates and ETA.
    struct EpochStart {
        std::chrono::steady_clock::time_point time;
        double seconds = 0;
        long windows = 0, step = 0;
    };
    // The steps queued since the last read-back of their results (see train_epoch).
    struct QueuedSteps {
        std::vector<int> batch;     // each step's batch size, in step order
        bool params_finite = true;  // whether the epoch began from finite parameters (the cause of a NaN loss)
        double last_norm = 0;       // the gradient norm of the last step folded in
    };
    int queue_step(const data::BatchSampler& sampler, int epoch, long s, std::vector<int64_t>& order,
                   const std::vector<float*>& grads);
    bool fold_queued_steps(EpochState& st, QueuedSteps& queued);  // false when none was queued
    std::vector<double> take_step_results(size_t steps);
    Progress progress_at(const EpochState& st, const EpochStart& start, double grad_norm) const;
    double mean_loss(const data::WindowStarts& starts, const EpochState* stop_state);
    void save(const std::string& path, bool with_optimizer, const EpochState* in_progress = nullptr,
              bool finished = false);
    [[noreturn]] void save_and_stop(const EpochState& st, const char* where);
    [[noreturn]] void throw_nonfinite(const char* quantity, double value, int epoch, long s, long steps,
                                      bool params_finite);
    std::string schedule_learning_rate();  // after an epoch: --lr-decay, then --lr-plateau; a note when it cut

    Forecaster& model_;
    Optimizer& opt_;
    const ForecastDataset& data_;
    TrainOptions o_;
    std::string last_path_, best_path_;
    std::vector<EpochRecord> history_;
    double best_val_ = 0;
    int bad_epochs_ = 0;
    float base_lr_ = 0;   // the rate a cosine schedule starts from (the optimizer's at the start of the run)
    EpochState resumed_;  // epoch in progress read from last.safetensors (epoch 0 = none)
    // Draws which lead times of global step g take the observed value (teacher forcing) into every rank's
    // teacher; false when the step runs free.
    bool draw_teacher_forcing(long g);
    // The step's work on each rank: its slice of the batch forward and backward, then (after the gradient sum)
    // the update.
    void forward_backward(int rank, const int64_t* starts, int B, bool teacher, long step);
    void update(int rank);
    void run_ranks(const std::function<void(int)>& fn);
    void sync_replicas();                  // rank 0's parameters and optimizer state to every other rank
    void check_replicas_agree(int epoch);  // throws if some rank's parameters differ from rank 0's

    // A rank's model and its buffers; ranks_[0] is the constructor's model.
    struct Rank {
        Forecaster* model = nullptr;
        Optimizer* opt = nullptr;
        const ForecastDataset* data = nullptr;
        Tensor<float> x, y, grad;
        Tensor<int64_t> starts_dev;
        std::vector<int64_t> host_starts;  // an evaluation batch's window starts on the host
        TeacherForcing teacher;
        StepResults results;     // per-step results awaiting read-back (see train_epoch)
        double* step = nullptr;  // this step's slots in `results`
    };
    std::vector<Rank> ranks_;
    std::unique_ptr<RankRunner> runner_;         // with replicas only
    std::unique_ptr<GradientSum> gradient_sum_;  // with more than one rank in all
    std::string why_not_nccl_;
    ProcessGroup* processes_ = nullptr;  // a multi-process run's (more than one process), else null
    int first_rank_ = 0;                 // this process's first global rank
    int global_rank(int local) const { return first_rank_ + local; }
    // A multi-process run's processes agree on the step's stop, checkpoint and progress flags: a stop asked of any
    // process stops them all, the times are process 0's (the collectives below must be called alike everywhere).
    void agree_on_step(bool& stop, bool& save_due, bool& report_due);
    // Every global rank's values (`local`: this process's ranks' values, rank-major), in global rank order.
    std::vector<std::vector<double>> gather_ranks(const std::vector<std::vector<double>>& local, size_t per_rank,
                                                  const char* what);
};

}  // namespace fusedrnn
