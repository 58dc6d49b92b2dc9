// `fusedrnn train`: the station forecaster end to end — stations in, windows, training with early
// stopping and checkpoints, then a test evaluation next to the persistence baseline.
#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "fusedrnn/core/data/dataset.h"
#include "fusedrnn/core/data/text.h"
#include "fusedrnn/core/data/time.h"
#include "fusedrnn/core/gradient_sum.h"
#include "fusedrnn/core/process_group.h"
#include "fusedrnn/models/checkpoint.h"
#include "fusedrnn/models/forecast_trainer.h"
#include "fusedrnn/tools/atomic_write.h"
#include "fusedrnn/tools/cli_checks.h"
#include "fusedrnn/tools/commands.h"
#include "fusedrnn/tools/forecast_plot.h"
#include "fusedrnn/tools/forecast_report.h"
#include "fusedrnn/tools/interrupt.h"
#include "fusedrnn/tools/mpi_world.h"
#include "fusedrnn/tools/output_paths.h"
#include "fusedrnn/tools/progress.h"
#include "fusedrnn/tools/run_folder.h"
#include "fusedrnn/tools/station_report.h"
#include "fusedrnn/tools/split_span.h"
#include "fusedrnn/tools/station_data.h"
#include "fusedrnn/tools/svg_plot.h"

namespace fusedrnn::tools {
namespace {

struct TrainCmd {
    DataOptions data;
    std::string cell = "lstm";
    int hidden = 64, layers = 1;
    bool bidirectional = false;
    float dropout = 0;
    bool dropout_locked = false;
    std::string decoder = "direct";
    data::WindowSpec window;
    int64_t stride = 1;
    std::vector<std::string> targets;
    std::string split = "auto";
    std::string stats = "train";
    std::string wind = "angle";
    OptimizerConfig opt;
    std::optional<float> weight_decay;  // --weight-decay; default_weight_decay(opt.name) when not given
    TrainOptions train;
    std::string backend = "auto";
    int data_parallel = 1;
    int eval_batch = 4096;
    long eval_windows = 0;
    double checkpoint_minutes = 10;
};

// --split (split_from_flag); the library allows train + validation = 1 (no test), but a training run reports on
// the test split.
data::SplitSpec resolve_split(const TrainCmd& c) {
    const data::SplitSpec s = split_from_flag(c.split, c.data);
    FR_CHECK(s.kind != data::SplitSpec::Kind::Fractions || s.train_fraction + s.val_fraction < 1 - 1e-9,
             "--split {}: the training and validation fractions add up to {:g}, which leaves nothing to test on; "
             "make their sum less than 1", c.split, s.train_fraction + s.val_fraction);
    return s;
}

// The model the flags ask for (the same for every data-parallel rank).
struct ForecasterShape {
    bool seq2seq = false;
    int horizon = 0;
    std::vector<int32_t> target_cols;
    int targets = 0;
    float dropout = 0;
    bool dropout_locked = false;
};

std::unique_ptr<Forecaster> make_forecaster(const std::shared_ptr<Backend<float>>& backend, const RnnSpec& spec,
                                            const ForecasterShape& shape, uint64_t seed) {
    auto f = shape.seq2seq
                 ? std::make_unique<Forecaster>(backend, spec, Seq2SeqShape{shape.horizon, shape.target_cols}, seed)
                 : std::make_unique<Forecaster>(backend, spec, shape.horizon * shape.targets, seed);
    f->set_dropout(shape.dropout);
    f->set_dropout_locked(shape.dropout_locked);
    return f;
}

void write_log_csv(const std::string& path, const std::vector<EpochRecord>& h) {
    // val_seconds last, so that readers of the columns before it read on (added in 0.3.14; 0 for epochs of a run
    // resumed from an older checkpoint).
    std::string csv = "epoch,step,train_loss,val_loss,grad_norm,seconds,windows_per_s,lr,best,val_seconds\n";
    for (const auto& r : h)
        csv += fmt::format("{},{},{:.6f},{:.6f},{:.4f},{:.2f},{:.0f},{:g},{},{:.2f}\n", r.epoch, r.step, r.train_loss,
                           r.val_loss, r.grad_norm, r.seconds, r.windows_per_s, r.lr, r.best ? 1 : 0, r.val_seconds);
    write_file_atomically(path, csv);
}

// Flags are checked before the data loads: at WEATHER-5K scale that takes minutes. (The cell's and the optimizer's
// names and ranges are checked as the flags are read.) Settles the weight decay's default, which the flags leave open.
void check_training_flags(TrainCmd& c) {
    c.opt.weight_decay = c.weight_decay.value_or(default_weight_decay(c.opt.name));
    c.train.validate();
    FR_CHECK(c.hidden <= kMaxRnnSize, "--hidden {} is beyond this engine's limit of {} units", c.hidden, kMaxRnnSize);
    FR_CHECK(c.layers <= kMaxRnnLayers, "--layers {} is beyond this engine's limit of {}", c.layers, kMaxRnnLayers);
    FR_CHECK(c.opt.name != "adamw" || double(c.opt.lr) * double(c.opt.weight_decay) < 1,
             "--lr {:g} x --weight-decay {:g} = {:g}: adamw scales the weights by 1 - lr x decay each step, which must "
             "stay above 0; lower --weight-decay", c.opt.lr, c.opt.weight_decay,
             double(c.opt.lr) * double(c.opt.weight_decay));
    check_optimizer_config(c.opt);  // anything else, in the optimizer's words
    if (c.train.lr_plateau == 0 && c.train.lr_plateau_factor != TrainOptions().lr_plateau_factor)
        log_line(fmt::format("warning: --lr-plateau-factor {:g} does nothing without --lr-plateau (the epochs without "
                             "improvement after which it applies)", c.train.lr_plateau_factor));
    if (c.train.lr_plateau > 0 && c.train.patience > 0 && c.train.lr_plateau >= c.train.patience)
        log_line(fmt::format("warning: --lr-plateau {} never acts: early stopping ends the run after --patience {} "
                             "epochs without improvement, before the rate is lowered; make --lr-plateau smaller than "
                             "--patience (or --patience 0)", c.train.lr_plateau, c.train.patience));
    FR_CHECK(c.train.teacher_forcing == 0 || c.decoder == "seq2seq", "--teacher-forcing feeds a seq2seq decoder: it "
             "needs --decoder seq2seq");
    FR_CHECK(!c.bidirectional || c.decoder != "seq2seq", "an encoder-decoder forecaster needs a unidirectional "
             "encoder (its final state starts the decoder): drop --bidirectional, or use --decoder direct");
    FR_CHECK(c.opt.momentum == 0 || c.opt.name == "sgd", "--momentum is SGD's; --optimizer {} does not use it (its "
             "own averaging is built in): leave it out, or use --optimizer sgd", c.opt.name);
}

// The windows, split and normalization the flags ask for, after check_training_flags; no dropout with one layer.
data::DatasetConfig dataset_config(TrainCmd& c) {
    data::DatasetConfig dc;
    dc.window = c.window;
    dc.targets = c.targets;
    dc.split = resolve_split(c);
    dc.stride = c.stride;
    if (c.stats == "weather5k") {
        dc.stats = data::NormStats::weather5k();
        dc.compute_uncovered_stats = true;  // other columns (time features) get the training split's
    }
    else FR_CHECK(c.stats == "train", "--stats must be 'train' or 'weather5k', got '{}'", c.stats);
    dc.wind = data::parse_wind_form(c.wind);
    check_dropout_rate(c.dropout, "--dropout");
    if (c.dropout_locked && c.dropout == 0)
        log_line("warning: --dropout-locked does nothing without --dropout: it says how the masks are drawn");
    if (c.dropout > 0 && c.layers == 1) {
        log_line(fmt::format("warning: --dropout {:g} does nothing with --layers 1: it applies between stacked layers "
                             "(as torch.nn.LSTM's dropout); the model is recorded without it", c.dropout));
        c.dropout = 0;  // the model as it trains: a resume with or without the flag is the same run
        c.dropout_locked = false;
    }
    return dc;
}

// This process's backends: rank 0's (`main`) and its --data-parallel replicas'.
struct TrainingBackends {
    std::shared_ptr<Backend<float>> main;
    std::vector<std::shared_ptr<Backend<float>>> replicas;
    bool gpu = false;
    int world_ranks = 1;  // over every process
};

// The backends first: an unavailable GPU should fail in a second, not after minutes of data loading.
// --data-parallel N: N ranks in this process, rank r on cuda:(first + r) (or N CPU replicas); rank 0 is
// `main`. One process: first = 0. Several processes on one machine take consecutive blocks of its GPUs.
TrainingBackends make_training_backends(const TrainCmd& c, ProcessGroup* processes) {
    TrainingBackends b;
    const int node_rank = processes ? processes->node_rank() : 0;
    b.main = make_backend(c.backend);
    b.gpu = !b.main->device().is_cpu();
    const int first_device = b.gpu ? node_rank * c.data_parallel : 0;
    if (b.gpu) {
        FR_CHECK(first_device + c.data_parallel <= gpu_count(),
                 "{} needs {} GPU{} (one per rank{}); this machine has {}",
                 processes ? fmt::format("process {} ({} on its machine) with --data-parallel {}", processes->rank(),
                                         node_rank, c.data_parallel)
                           : fmt::format("--data-parallel {}", c.data_parallel),
                 first_device + c.data_parallel, first_device + c.data_parallel == 1 ? "" : "s",
                 processes ? ", and consecutive GPUs for the processes on one machine" : "", gpu_count());
        if (first_device > 0) b.main = make_backend(b.main->name(), first_device);
    }
    b.world_ranks = c.data_parallel * (processes ? processes->size() : 1);
    FR_CHECK(c.train.batch % b.world_ranks == 0, "--batch {} does not split evenly over {}: use a multiple of {}",
             c.train.batch,
             processes ? fmt::format("{} data-parallel ranks ({} processes x --data-parallel {})", b.world_ranks,
                                     processes->size(), c.data_parallel)
                       : fmt::format("--data-parallel {}", c.data_parallel),
             b.world_ranks);
    if (b.world_ranks > 1) (void)peer_timeout_seconds();  // a bad value fails now, not after the data loads
    for (int r = 1; r < c.data_parallel; ++r)
        b.replicas.push_back(make_backend(b.main->name(), b.gpu ? first_device + r : r));
    return b;
}

// All three splits before training: a run whose test split is empty would fail only after its last epoch. A split
// outside the data's time span (a year it does not hold, an empty date range) is the likelier cause of an empty split
// than gaps (which the trainer reports): say which times each covers.
void check_every_split_has_windows(const data::WindowedDataset& ds) {
    const data::TimeRange data_span{ds.data.begin_time(), ds.data.end_time()};
    const std::string stretched = span_stretcher(ds);
    const char* split_names[] = {"training", "validation", "test"};
    for (size_t k = 0; k < 3; ++k) {
        FR_CHECK(ds.ranges[k].overlaps(data_span), "no {} windows: the {} split is {}, the data covers {}: change "
                 "--split", split_names[k], split_names[k], ds.ranges[k].str(), data_span.str());
        // With a stride, windows start only every stride rows: one longer than the split may leave it none.
        const std::string on_grid =
            ds.stride > 1 ? fmt::format(" that starts on the --stride {} grid", ds.stride) : std::string();
        FR_CHECK(!ds.starts[k].empty(), "no {} windows: the {} split ({}) has no stretch of {} consecutive present rows "
                 "(input {} + horizon {}){}; change --split, use a shorter window{}, or more data{}", split_names[k],
                 split_names[k], ds.ranges[k].str(), ds.window.span(), ds.window.input_len, ds.window.horizon, on_grid,
                 ds.stride > 1 ? ", a smaller --stride" : "", stretched.empty() ? "" : "." + stretched);
    }
}

// The "model:" and "training:" lines of the run's summary.
void log_model_and_training(const TrainCmd& c, const RnnSpec& spec, Forecaster& model, Backend<float>& backend,
                            const data::WindowedDataset& ds) {
    const std::string decoding =
        model.seq2seq() ? fmt::format(", seq2seq decoder: one lead time per step, {}",
                                      c.train.teacher_forcing > 0
                                          ? fmt::format("teacher forcing {:g}", c.train.teacher_forcing)
                                          : std::string("free running"))
                        : std::string();
    const std::string dropout =
        c.dropout > 0 && c.layers > 1
            ? fmt::format(", {}dropout {:g} between layers{}", c.dropout_locked ? "locked " : "", c.dropout,
                          model.seq2seq() ? " (the encoder's, and the decoder's at every lead time)" : "")
            : std::string();
    const std::string details = backend.details().empty() ? "" : " (" + backend.details() + ")";
    log_line(fmt::format("model: {} -> {} outputs ({} x {}){}{}, {} parameters, backend {}{}", spec.describe(),
                         model.outputs(), ds.window.horizon, data::csv_list(ds.target_names), decoding, dropout,
                         model.params().size(), backend.name(), details));
    std::string schedule;
    if (c.train.lr_decay != 1) schedule += fmt::format(" x {:g} per epoch", c.train.lr_decay);
    if (c.train.lr_plateau > 0)
        schedule += fmt::format(" x {:g} after {} without improvement", c.train.lr_plateau_factor,
                                data::counted(size_t(c.train.lr_plateau), "epoch", "epochs"));
    if (c.train.lr_cosine) schedule += " cosine to 0";
    const std::string epoch_len = c.train.steps_per_epoch > 0
                                      ? fmt::format(" of {}", data::counted(size_t(c.train.steps_per_epoch), "step",
                                                                            "steps"))
                                      : "";
    const std::string decay = c.opt.weight_decay > 0
                                  ? fmt::format(" ({} weight decay {:g})", c.opt.name == "adamw" ? "decoupled" : "L2",
                                                c.opt.weight_decay)
                                  : std::string();
    // A resumed run goes on with its own learning rate schedule (the trainer says which), not this --lr.
    const std::string lr = c.train.resume ? std::string("lr as the resumed run scheduled it")
                                          : fmt::format("lr {:g}{}", c.opt.lr, schedule);
    // 0 turns early stopping off, as it turns clipping off: said so (QA: "patience 0" beside "clip off").
    log_line(fmt::format("training: {}{} {}, batch {}, up to {}{}, patience {}, clip {}", c.opt.name, decay, lr,
                         c.train.batch, data::counted(size_t(c.train.epochs), "epoch", "epochs"), epoch_len,
                         c.train.patience > 0 ? std::to_string(c.train.patience) : "off",
                         c.train.clip > 0 ? fmt::format("{:g}", c.train.clip) : "off"));
}

// The replicas' models and optimizers: they must outlive the trainer that steps them.
struct ReplicaModels {
    std::vector<std::unique_ptr<Forecaster>> models;
    std::vector<std::unique_ptr<Optimizer>> optimizers;
};

// Data parallelism over the replicas of this process and the other processes, and its line in the summary.
ReplicaModels set_up_ranks(ForecastTrainer& trainer, const TrainCmd& c, const TrainingBackends& backends,
                           std::vector<ForecastDataset>& replica_data, const RnnSpec& spec,
                           const ForecasterShape& shape, ProcessGroup* processes) {
    ReplicaModels owned;
    std::vector<Replica> replicas;
    std::vector<std::string> devices{backends.main->device().str()};
    for (size_t r = 0; r < backends.replicas.size(); ++r) {
        owned.models.push_back(make_forecaster(backends.replicas[r], spec, shape, c.train.seed));
        owned.optimizers.push_back(make_optimizer(owned.models.back()->params(), c.opt));
        replicas.push_back({owned.models.back().get(), owned.optimizers.back().get(), &replica_data[r]});
        devices.push_back(backends.replicas[r]->device().str());
    }
    trainer.set_up_data_parallel(replicas, processes);
    const std::string where =
        processes ? fmt::format("{} processes x {} ({} in process 0)", processes->size(), c.data_parallel,
                                fmt::join(devices, ", "))
                  : fmt::format("{}", fmt::join(devices, ", "));
    const std::string cpu_note = processes ? " (CPU processes: one per machine or per socket, each with its cores)"
                                           : " (CPU replicas take turns: no faster than one, a check of the path)";
    log_line(fmt::format("data parallel: {} ranks ({}), {} windows each per step, gradients summed by {}{}",
                         trainer.ranks(), where, c.train.batch / trainer.ranks(),
                         trainer.gradient_sum_name() + (processes ? " across processes over MPI" : ""),
                         !trainer.why_not_nccl().empty()
                             ? fmt::format(" ({}: every step waits for every GPU)", trainer.why_not_nccl())
                         : backends.gpu ? ""
                                        : cpu_note));
    return owned;
}

// The live progress line, the per-epoch lines and the divergence warning.
void show_training_progress(ForecastTrainer& trainer, const TrainCmd& c, bool main_process, bool show_passes) {
    if (main_process) trainer.on_progress = [show_passes](const Progress& p) {
        progress_line(fmt::format("epoch {}/{} | step {}/{}{} | loss {:.4f} | grad-norm {:.2f} | {} windows/s | ETA {}",
                              p.epoch, p.epochs, p.step, p.steps,
                              show_passes ? fmt::format(" | pass {:.2f}", p.passes) : "", p.loss, p.grad_norm,
                              format_rate(p.windows_per_s), format_duration(p.eta_s)));
    };
    const bool scheduled = c.train.lr_decay != 1 || c.train.lr_plateau > 0 || c.train.lr_cosine;
    trainer.on_epoch = [&c, show_passes, scheduled, said_diverged = false](const EpochRecord& r) mutable {
        // The validation's time beside the training's (QA: 15.8 s of validation went unseen beside "0.1s").
        log_line(fmt::format("epoch {}/{} | train {:.4f} | val {:.4f} | grad-norm {:.2f} | {} windows/s | {} + {} "
                             "validating{}{}{}",
                             r.epoch, c.train.epochs, r.train_loss, r.val_loss, r.grad_norm,
                             format_rate(r.windows_per_s), format_duration(r.seconds), format_duration(r.val_seconds),
                             show_passes ? fmt::format(" | step {}", r.step) : "",
                             scheduled ? fmt::format(" | lr {:g}", r.lr) : "", r.best ? " | best" : ""));
        // Finite but huge losses are divergence too (rmsprop at --lr 100 ends near 1000). Predicting each variable's
        // training mean, zero in normalized units, scores about 1; ten times that after a whole epoch is no
        // model. Said at the first such epoch, so a long run can be stopped now rather than read at the end.
        constexpr double kDivergedValidationLoss = 10;
        if (!said_diverged && r.val_loss > kDivergedValidationLoss) {
            said_diverged = true;
            log_line(fmt::format("warning: the training diverged: the validation loss is {:.4g} after epoch {}, while "
                                 "predicting each variable's training mean scores about 1 (normalized data); lower "
                                 "--lr ({} at {:g} in that epoch){}{}", r.val_loss, r.epoch, c.opt.name, r.lr,
                                 c.train.clip > 0 ? "" : " or set --clip (1 is a common choice)",
                                 c.train.resume ? " in a new run (--resume keeps the learning rate of the run it "
                                                  "continues)" : ""));
        }
    };
    trainer.on_message = [](const std::string& m) { log_line(m); };
    if (main_process) trainer.on_eval_progress = CountProgress("validating");
}

// log.csv and loss.svg: the epochs' losses, training against validation.
void write_curves(const TrainCmd& c, bool seq2seq, const std::vector<EpochRecord>& epochs) {
    const std::filesystem::path out(c.train.out_dir);
    write_log_csv((out / "log.csv").string(), epochs);
    Series tr{"training", {}, {}, "#1f77b4"}, va{"validation", {}, {}, "#d62728"};
    for (const auto& r : epochs) {
        tr.x.push_back(r.epoch); tr.y.push_back(r.train_loss);
        va.x.push_back(r.epoch); va.y.push_back(r.val_loss);
    }
    write_line_chart((out / "loss.svg").string(),
                     fmt::format("{} H={}{} - MSE (normalized)", c.cell, c.hidden, seq2seq ? " seq2seq" : ""),
                     c.train.steps_per_epoch > 0 ? fmt::format("epoch ({} steps)", c.train.steps_per_epoch) : "epoch",
                     "MSE", {tr, va}, YScale::LogWhenWide);
}

// What the final report needs of the trained run.
struct TrainedRun {
    const TrainCmd& c;
    Forecaster& model;
    Backend<float>& backend;
    const ForecastDataset& dev;
    const data::WindowedDataset& ds;  // metadata only: its series and window lists are on the device (dev)
    const ForecastTrainer& trainer;
    const std::vector<EpochRecord>& history;
    const PlotWindows& plot_windows;
    const nlohmann::json& dataset_meta;
    const nlohmann::json& data_report;
    const data::ReadReport& read_report;
};

// The test report of the best checkpoint next to the baselines: printed, then metrics.json, stations.csv and
// forecast.svg. A stop request (Ctrl-C) is taken between evaluated batches: training is complete and saved then.
void report_on_test(const TrainedRun& t) {
    const TrainCmd& c = t.c;
    const std::filesystem::path out(c.train.out_dir);
    const auto stop_point = [&] {
        if (StopOnSignal::requested())
            throw Interrupted(fmt::format("stopped before the final report; training is complete and saved in {}: "
                                          "`--resume` with the same flags (or `fusedrnn eval --checkpoint "
                                          "{}/best.safetensors`) gives the report", c.train.out_dir, c.train.out_dir));
    };
    const auto stoppable = [&](EvalProgress inner) {
        return EvalProgress([inner, &stop_point](size_t done, size_t total) {
            stop_point();
            if (inner) inner(done, total);
        });
    };
    stop_point();

    // Test with the best checkpoint (lowest validation loss).
    load_parameters(read_checkpoint((out / "best.safetensors").string()), t.model);
    const auto eval_start = std::chrono::steady_clock::now();
    StationScores test_by_station(t.ds.data, t.ds.target_names, t.dev.target_stds, t.dev.window.horizon);
    const ForecastEvaluation test =
        evaluate_with_baselines(&t.model, t.backend, t.dev, t.dev.starts[2], c.eval_batch,
                                stoppable(CountProgress("test, model and baselines")),
                                [&](const EvaluatedBatch& batch) { test_by_station.add(batch); });
    const ForecastEvaluation val = evaluate_with_baselines(&t.model, t.backend, t.dev, t.dev.starts[1], c.eval_batch,
                                                          stoppable(CountProgress("validation, model and baselines")));
    stop_point();
    StopOnSignal::finishing();  // the report is computed: a signal from here waits for its files
    const double eval_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - eval_start).count();
    const long eval_windows = test.model->windows() + val.model->windows();
    const EpochRecord* best = nullptr;
    for (const auto& r : t.history)
        if (r.best) best = &r;
    log_line(fmt::format("evaluated the best checkpoint (epoch {}, validation loss {:.4f}) and both baselines on {} "
                         "test and {} validation windows in {} ({} windows/s)",
                         best ? best->epoch : 0, best ? best->val_loss : std::nan(""), test.model->windows(),
                         val.model->windows(), format_duration(eval_seconds),
                         format_rate(double(eval_windows) / std::max(eval_seconds, 1e-9))));
    FR_CHECK(test.model->windows() > 0, "no test windows: the test split has no stretch of {} present rows",
             t.dev.window.span());
    nlohmann::json test_report = forecast_report_json(test);
    test_report["stations"] = station_summary_json(test_by_station);
    nlohmann::json metrics = {{"test", test_report},
                              {"validation", forecast_report_json(val)},
                              {"model", t.model.config()},
                              {"dataset", t.dataset_meta},
                              {"data_report", t.data_report},
                              {"read_report", c.data.synthetic() ? nlohmann::json() : read_report_json(t.read_report)},
                              {"data", c.data.to_json()},
                              {"epochs", t.history.size()},
                              {"best_epoch", best ? best->epoch : 0},
                              {"eval_windows_limit", c.eval_windows},
                              {"report_evaluation", {{"windows", eval_windows}, {"seconds", eval_seconds}}},
                              {"backend", t.backend.name()},
                              {"backend_details", t.backend.details()},
                              {"data_parallel", {{"ranks", t.trainer.ranks()},
                                                 {"processes", t.trainer.processes()},
                                                 {"gradient_sum", t.trainer.gradient_sum_name()}}}};
    write_station_scores((out / "stations.csv").string(), test_by_station);
    const std::string units = c.data.synthetic() ? std::string() : converted_units_of(c.data.format, t.ds.target_names);
    if (!units.empty()) metrics["original_units"] = units;
    write_json_file((out / "metrics.json").string(), metrics);
    write_forecast_plot((out / "forecast.svg").string(), t.plot_windows, t.model, t.dev, t.ds, "test",
                        c.data.synthetic() ? std::string() : converted_unit(c.data.format, t.ds.target_names.at(0)));
    // Printed once its files are written: a standard output that fails (a full disk, a pipe whose reader has gone)
    // then loses nothing of the run (QA: `train ... | head -2` ends by SIGPIPE in the report, which came before
    // metrics.json; `>/dev/full` stopped it there).
    print_forecast_report("validation", val, t.ds.window, units);
    print_forecast_report("test", test, t.ds.window, units);
    if (t.ds.data.num_stations() > 1) print_station_summary(test_by_station);
    // "runs/x/" and "/" name the folder with its separator already (QA: "wrote //{best,last}...").
    const std::string folder = c.train.out_dir.back() == '/' ? c.train.out_dir : c.train.out_dir + "/";
    fmt::print("\nwrote {}{{best,last}}.safetensors, metrics.json, log.csv, loss.svg, stations.csv{}\n", folder,
               t.plot_windows.starts.empty() ? "" : ", forecast.svg");
}

// Under an MPI launcher (`mpirun -np P fusedrnn train ...`) this runs in each of the P processes: each reads the
// data, builds its --data-parallel ranks (on this machine's GPUs: cuda:(node_rank·N) .. +N-1) and trains with the
// others (models/forecast_trainer.h, set_up_data_parallel); process 0 prints, writes every file and runs the test
// report, the others stay quiet and end after training.
void train(TrainCmd& c, ProcessGroup* processes) {
    check_training_flags(c);
    const data::DatasetConfig dc = dataset_config(c);
    const bool main_process = !processes || processes->rank() == 0;
    const TrainingBackends backends = make_training_backends(c, processes);
    // Process 0 writes every file: one run at a time in its folder, never in the data folder.
    std::optional<FolderLock> out_lock;
    bool replaces_other_kind = false;  // --overwrite over a language-model run: its files go too
    if (main_process) {
        check_output_folder("--out", c.train.out_dir, c.data);
        out_lock.emplace(c.train.out_dir, "--out");
        // An unfinished run, or another kind of run, refuses now, not after minutes of loading (the trainer checks
        // unfinished runs again).
        replaces_other_kind =
            check_previous_run(c.train.out_dir, RunKind::Forecaster, c.train.resume, c.train.overwrite);
        // So does a resume with another seed, schedule or optimizer (QA: after the data, the model and the training
        // line; minutes at WEATHER-5K scale). The data and the model are compared once read and built.
        if (c.train.resume)
            ForecastTrainer::check_resume_flags(
                read_checkpoint((std::filesystem::path(c.train.out_dir) / "last.safetensors").string()), c.train,
                c.opt);
    }
    std::string format_read;
    data::ReadReport read_report;
    data::StationSet stations = load_stations(c.data, &format_read, &read_report);
    // Seconds at WEATHER-5K scale (13 s for the windows, 24 s for the thresholds on one thread): said while they
    // run, not left silent after the reading's 100% (QA).
    live_line(fmt::format("listing the valid windows of {} stations ...", stations.num_stations()));
    data::WindowedDataset ds = data::build_dataset(std::move(stations), dc);
    if (!c.data.synthetic()) c.data.format = format_read;  // the checkpoint records "isd-lite", not "auto"
    log_line(fmt::format("windows: {}", ds.window.str()));
    log_line(fmt::format("split: {}", ds.split.str()));
    log_line(ds.report.summary());
    log_line(fmt::format("normalization: {}", ds.stats.source));
    check_every_split_has_windows(ds);

    const RnnSpec spec{parse_cell(c.cell), ds.num_vars(), c.hidden, c.layers, c.bidirectional};
    const ForecasterShape ds_shape{c.decoder == "seq2seq", ds.window.horizon, ds.target_cols, ds.num_targets(),
                                   c.dropout, c.dropout_locked};
    const std::unique_ptr<Forecaster> model_owner = make_forecaster(backends.main, spec, ds_shape, c.train.seed);
    Forecaster& model = *model_owner;
    auto optimizer = make_optimizer(model.params(), c.opt);
    log_model_and_training(c, spec, model, *backends.main, ds);

    // What the checkpoints and metrics.json say about the data, taken before the series and window lists move
    // to the device (after the move ds keeps only its metadata: stations, statistics, window).
    const nlohmann::json dataset_meta = ds.meta_json(), data_report = ds.report.to_json();
    // Every rank holds the whole dataset on its own device (its slice of each batch is gathered there).
    std::vector<ForecastDataset> replica_data;
    for (const auto& b : backends.replicas) replica_data.push_back(ForecastDataset::training_replica(*b, ds));
    live_line("each station's extreme-event thresholds (training percentiles), and the data to the backend ...");
    ForecastDataset dev = ForecastDataset::from_windowed(*backends.main, std::move(ds));
    const PlotWindows plot_windows = main_process ? choose_plot_windows(dev.starts[2], ds) : PlotWindows();  // before thinning
    if (c.eval_windows > 0) {
        const size_t val = dev.starts[1].size(), test = dev.starts[2].size();
        dev.limit_evaluation(size_t(c.eval_windows));
        log_line(fmt::format("evaluation: {} of {} validation and {} of {} test windows (evenly spaced; "
                             "--eval-windows)", dev.starts[1].size(), val, dev.starts[2].size(), test));
    }
    c.train.extra = {{"data", c.data.to_json()}, {"dataset", dataset_meta}};
    c.train.checkpoint_seconds = c.checkpoint_minutes * 60;
    c.train.stop_requested = &StopOnSignal::requested;
    TrainOptions options = c.train;  // with a hook on this function's lock: not left in `c`, which outlives it
    if (out_lock) options.before_save = [&out_lock] { out_lock->keep_held(); };
    ForecastTrainer trainer(model, *optimizer, dev, options);
    const ReplicaModels replicas = backends.world_ranks > 1
                                       ? set_up_ranks(trainer, c, backends, replica_data, spec, ds_shape, processes)
                                       : ReplicaModels();
    // With --steps-per-epoch an epoch is not a pass over the data: show how many passes have been made.
    const bool show_passes = c.train.steps_per_epoch > 0;
    if (show_passes) log_line(fmt::format("one pass over the training windows is {} steps", trainer.steps_per_pass()));
    if (c.train.max_batches > 0 && c.train.max_batches > trainer.steps_per_pass())
        log_line(fmt::format("--max-batches {} is more than the {} of a pass over the training windows: an epoch is "
                             "the whole pass", c.train.max_batches,
                             data::counted(size_t(trainer.steps_per_pass()), "batch", "batches")));
    show_training_progress(trainer, c, main_process, show_passes);
    // A new run replaces the one in --out, which moves to --out/previous/ (tools/run_folder.h).
    if (main_process && !c.train.resume)
        keep_previous_run(c.train.out_dir, RunKind::Forecaster, replaces_other_kind);
    // Ctrl-C / SIGTERM: in training, save last.safetensors at the next step and exit 130; after it (the final report),
    // stop at the next evaluated batch, the run being complete. Held to the end, so that a signal arriving after
    // training's last poll is not swallowed.
    const StopOnSignal stop_on_ctrl_c;
    // Training is complete and saved once the last epoch's checkpoints are: a signal from then stops the final
    // report's evaluation, and says so (QA: "stopping after this step to save a checkpoint").
    trainer.on_trained = [] { StopOnSignal::evaluating(); };
    const auto history = [&] {
        try {
            return trainer.fit();
        } catch (const NumericError&) {
            // The epochs before the numbers went bad are worth their curve: it shows how the run diverged.
            if (main_process && !trainer.history().empty()) write_curves(c, model.seq2seq(), trainer.history());
            throw;
        }
    }();
    if (!main_process) return;  // process 0 holds the same model: it writes the files and runs the report
    StopOnSignal::evaluating();  // (also when training had nothing left to do: a resumed finished run)
    write_curves(c, model.seq2seq(), history);
    report_on_test({c, model, *backends.main, dev, ds, trainer, history, plot_windows, dataset_meta, data_report,
                    read_report});
}

void run(TrainCmd& c) {
    ProcessGroup* processes = join_launched_processes();
    if (!processes) return train(c, nullptr);
    if (processes->rank() > 0) set_quiet(true);
    try {
        train(c, processes);
    } catch (const Interrupted&) {
        throw;  // every process stopped at the same step (the stop is agreed): they end alike
    } catch (const std::exception& e) {
        // An error on one process would leave the others waiting in a collective: end them all, with this message.
        const int code = dynamic_cast<const NumericError*>(&e) ? 3 : dynamic_cast<const Error*>(&e) ? 2 : 4;
        std::fprintf(stderr, "fusedrnn: %s (process %d of %d): %s\n",
                     code == 3 ? "stopped" : code == 2 ? "error" : "internal error", processes->rank(),
                     processes->size(), code == 4 ? e.what() : message_for_user(e.what()).c_str());
        std::fflush(stderr);
        processes->abort(code);
    }
}

}  // namespace

void register_train(CLI::App& app) {
    auto c = std::make_shared<TrainCmd>();
    c->train.out_dir = "runs/forecast";
    c->train.epochs = 50;
    c->opt.lr = 1e-3f;
    auto* cmd = app.add_subcommand("train", "Train a station forecaster, then report test metrics");
    add_data_options(cmd, c->data);
    cmd->add_option("--cell", c->cell, "rnn_tanh (or rnn), rnn_relu, lstm, gru (or gru_reset_after), gru_reset_before")
        ->capture_default_str()->check(kCellName);
    cmd->add_option("--hidden", c->hidden, "Hidden units")->capture_default_str()->check(kPositive);
    cmd->add_option("--layers", c->layers, "Stacked layers")->capture_default_str()->check(kPositive);
    cmd->add_flag("--bidirectional", c->bidirectional, "Bidirectional encoder (direct decoder only)");
    cmd->add_option("--dropout", c->dropout, "Dropout probability between stacked recurrent layers in training, as "
                    "torch.nn.LSTM's dropout (0 = off; needs --layers >= 2)")->capture_default_str();
    cmd->add_flag("--dropout-locked", c->dropout_locked,
                  "Variational dropout: one mask for every time step of a sequence (Gal & Ghahramani 2016) instead of "
                  "a fresh one per step");
    cmd->add_option("--decoder", c->decoder,
                    "direct: a linear head maps the last step to the whole horizon at once; seq2seq: the encoder's "
                    "final state starts a decoder that predicts one lead time per step from the previous one")
        ->capture_default_str()->check(CLI::IsMember({"direct", "seq2seq"}));
    cmd->add_option("--teacher-forcing", c->train.teacher_forcing,
                    "seq2seq: probability that a training lead time is fed the observed previous value instead of "
                    "the prediction (0 = free running)")
        ->capture_default_str()->check(in_range(0, 1));
    cmd->add_option("--input-len", c->window.input_len, "Input steps per window")->capture_default_str()->check(kPositive);
    cmd->add_option("--horizon", c->window.horizon, "Predicted steps")->capture_default_str()->check(kPositive);
    cmd->add_option("--step", c->window.in_step, "Rows between input steps (Jena: 6)")->capture_default_str()->check(kPositive);
    cmd->add_option("--out-offset", c->window.out_offset, "Rows from the last input to the first target")
        ->capture_default_str()->check(kPositive);
    cmd->add_option("--out-step", c->window.out_step, "Rows between predicted steps")->capture_default_str()->check(kPositive);
    cmd->add_option("--stride", c->stride, "Rows between window starts")->capture_default_str()->check(kPositive);
    add_list_option(cmd, "--targets", c->targets,
                    "Target variables, comma-separated or as separate words (default: all, or the format's target; a "
                    "name holding a comma in double quotes: '\"temp, C\",RH')");
    cmd->add_option("--split", c->split,
                    "auto | weather5k | years:2014-2021,2022,2023 | dates:,2022-01-01,2023-01-01 | fraction:0.7,0.15")
        ->capture_default_str();
    cmd->add_option("--stats", c->stats,
                    "Normalization: train (computed on the training split) or weather5k (WEATHER-5K's fixed statistics "
                    "for TMP, DEW, WND_ANGLE, WND_RATE, SLP; other columns computed on the training split)")
        ->capture_default_str();
    cmd->add_option("--wind", c->wind,
                    "angle (WND_ANGLE and WND_RATE as read: WEATHER-5K's), uv (WND_U and WND_V, the wind's eastward "
                    "and northward velocity, in their place: no seam at north) or uv+speed (WND_U, WND_V and "
                    "WND_RATE); docs/forecasting.md")
        ->capture_default_str()
        ->check(CLI::IsMember({"angle", "uv", "uv+speed"}));
    cmd->add_option("--batch", c->train.batch, "Windows per batch")->capture_default_str()->check(kPositive);
    cmd->add_option("--lr", c->opt.lr, "Learning rate")->capture_default_str()->check(kPositiveFloat);
    cmd->add_option("--epochs", c->train.epochs, "Maximum epochs")->capture_default_str()->check(kPositive);
    cmd->add_option("--lr-decay", c->train.lr_decay, "Learning-rate factor applied after every epoch (1 = constant)")
        ->capture_default_str();
    cmd->add_option("--lr-plateau", c->train.lr_plateau,
                    "Multiply the learning rate by --lr-plateau-factor after this many epochs without validation "
                    "improvement (0 = off)")->capture_default_str()->check(kNonNegative);
    cmd->add_option("--lr-plateau-factor", c->train.lr_plateau_factor, "See --lr-plateau")->capture_default_str();
    cmd->add_flag("--lr-cosine", c->train.lr_cosine,
                  "Cosine decay of the learning rate at every step, from --lr to 0 at the end of the last epoch");
    cmd->add_option("--optimizer", c->opt.name,
                    "adam, adamw (Adam with decoupled weight decay, as torch.optim.AdamW), sgd or rmsprop")
        ->capture_default_str()->check(kOptimizerName);
    cmd->add_option("--momentum", c->opt.momentum, "SGD momentum (sgd only)")->capture_default_str()
        ->check(in_range(0, 1, true));
    cmd->add_option("--weight-decay", c->weight_decay,
                    "Weight decay: L2 (added to the gradient) for adam, sgd and rmsprop; decoupled for adamw "
                    "(default 0, adamw 0.01)")->check(kNonNegativeFloat);
    cmd->add_option("--clip", c->train.clip, "Clip the global gradient norm (0 = off)")->capture_default_str();
    cmd->add_option("--patience", c->train.patience, "Early stopping: epochs without validation improvement (0 = off)")
        ->capture_default_str()->check(kNonNegative);
    cmd->add_option("--max-batches", c->train.max_batches, "Batches per epoch (0 = all)")->capture_default_str();
    cmd->add_option("--steps-per-epoch", c->train.steps_per_epoch,
                    "Validate, checkpoint and count patience every N steps, the batches running on through the "
                    "shuffled passes over the data (0 = an epoch is one pass)")
        ->capture_default_str()->check(kNonNegative);
    cmd->add_option("--eval-windows", c->eval_windows,
                    "Validate and test on at most N windows per split, evenly spaced (0 = all)")
        ->capture_default_str()->check(kNonNegative);
    cmd->add_option("--backend", c->backend, "auto, cpu, cuda or cudnn")->capture_default_str();
    cmd->add_option("--data-parallel", c->data_parallel,
                    "Split every batch over N replicas of the model: N GPUs (cuda:0..N-1, gradients summed with "
                    "NCCL), or with --backend cpu N CPU replicas (no faster: a check of the data-parallel path). "
                    "Under mpirun -np P: N ranks in each of the P processes, P x N in all. A rank or process that "
                    "dies, or keeps a training step waiting FUSEDRNN_PEER_TIMEOUT_S seconds (default 600), stops the "
                    "run")
        ->capture_default_str()->check(kPositive);
    cmd->add_option("--seed", c->train.seed, "Seed for initialization and batch order")
        ->capture_default_str()
        ->check(kSeed);  // CLI11 would wrap -1 to 2^64 - 1
    cmd->add_option("--out", c->train.out_dir, "Output folder")->capture_default_str()->transform(kFolderName);
    cmd->add_flag("--resume", c->train.resume, "Continue from <out>/last.safetensors (also mid-epoch, after Ctrl-C)");
    cmd->add_flag("--overwrite", c->train.overwrite, "Start over even if --out holds an unfinished run");
    cmd->add_option("--checkpoint-minutes", c->checkpoint_minutes,
                    "Also save <out>/last.safetensors within an epoch this often (0 = after each epoch only)")
        ->capture_default_str()->check(kNonNegative);
    cmd->callback([c] { run(*c); });
}

}  // namespace fusedrnn::tools
