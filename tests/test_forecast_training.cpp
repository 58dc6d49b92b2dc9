// Forecasting end to end on synthetic stations: resume equals an uninterrupted run (bit-identical on
// the CPU backend) after a whole epoch, after a stop request mid-epoch or mid-validation, and after a
// crash that only the periodic mid-epoch checkpoint survived; a short run beats persistence on
// validation, and the trainer stops with a clear error on NaN.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "fusedrnn/core/data/dataset.h"
#include "fusedrnn/core/data/sampler.h"
#include "fusedrnn/core/data/synthetic.h"
#include "fusedrnn/models/checkpoint.h"
#include "fusedrnn/models/detail/divergence_advice.h"
#include "fusedrnn/models/forecast_trainer.h"
#include "fusedrnn/models/station_scores.h"
#include "fusedrnn/tests/test_support.h"

namespace fusedrnn {
namespace {

data::WindowedDataset small_dataset(int stations, int horizon, int64_t stride) {
    return testing::station_windows(stations, 24, horizon, stride);
}

// The taking form hands the CPU backend the dataset's own buffer (no second copy of the series) and
// gives the same device dataset as the copying form; the windowed dataset keeps its metadata.
TEST(ForecastTraining, TakingTheDatasetAdoptsItsSeriesOnTheHost) {
    auto be = make_backend("cpu");
    auto ds = small_dataset(2, 6, 5);
    const auto copied = ForecastDataset::from_windowed(*be, ds);
    const float* buffer = ds.data.values.data();
    const auto meta = ds.meta_json();
    const auto taken = ForecastDataset::from_windowed(*be, std::move(ds));
    EXPECT_EQ(taken.series.data(), buffer);
    EXPECT_NE(copied.series.data(), buffer);
    const auto a = be->to_host(taken.series), b = be->to_host(copied.series);  // gaps are NaN: compare bits
    ASSERT_EQ(a.size(), b.size());
    EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)), 0);
    EXPECT_EQ(taken.starts, copied.starts);
    EXPECT_EQ(taken.target_stds, copied.target_stds);
    EXPECT_EQ(ds.meta_json(), meta);
}

TEST(ForecastTraining, LimitEvaluationKeepsEvenlySpacedValidationAndTestWindows) {
    auto be = make_backend("cpu");
    auto dev = ForecastDataset::from_windowed(*be, small_dataset(3, 6, 1));
    const auto full = dev.starts;
    ASSERT_GT(full[1].size(), 1000u);
    dev.limit_evaluation(100);
    EXPECT_EQ(dev.starts[0], full[0]);  // training windows untouched
    for (size_t split : {size_t(1), size_t(2)}) {
        ASSERT_EQ(dev.starts[split].size(), 100u);
        EXPECT_EQ(dev.starts[split].front(), full[split].front());
        EXPECT_TRUE(std::is_sorted(dev.starts[split].begin(), dev.starts[split].end()));
        // Spread over the whole split (all three stations), not its first stretch.
        EXPECT_GT(dev.starts[split].back(), full[split][full[split].size() * 9 / 10]);
    }
    dev.limit_evaluation(0);  // 0 = no limit: nothing changes
    EXPECT_EQ(dev.starts[1].size(), 100u);
}

TEST(ForecastTraining, ResumeEqualsUninterruptedRun) {
    auto be = make_backend("cpu");
    const auto ds = small_dataset(3, 6, 7);
    const auto dev = ForecastDataset::from_windowed(*be, ds);
    const RnnSpec spec{CellType::Gru, ds.num_vars(), 8, 1, false};
    auto run = [&](const std::string& dir, int epochs, bool resume) {
        Forecaster model(be, spec, 6 * ds.num_targets(), 5);
        OptimizerConfig oc;
        auto opt = make_optimizer(model.params(), oc);
        TrainOptions o;
        o.epochs = epochs;
        o.batch = 32;
        o.max_batches = 4;
        o.seed = 9;
        o.patience = 0;
        o.out_dir = dir;
        o.resume = resume;
        ForecastTrainer t(model, *opt, dev, o);
        return std::make_pair(t.fit(), model.params().values_to_host());
    };
    const std::string a = testing::temp_dir(), b = testing::temp_dir();
    const auto [hist_full, params_full] = run(a, 3, false);
    run(b, 1, false);                        // "killed" after epoch 1
    const auto [hist_res, params_res] = run(b, 3, true);
    ASSERT_EQ(hist_res.size(), 3u);
    EXPECT_EQ(params_res, params_full);      // bit-identical
    for (size_t i = 0; i < 3; ++i) EXPECT_EQ(hist_res[i].val_loss, hist_full[i].val_loss) << i;
    EXPECT_TRUE(std::filesystem::exists(b + "/best.safetensors"));
    // Resuming a run that already finished does nothing more.
    const auto [hist_again, params_again] = run(b, 3, true);
    EXPECT_EQ(hist_again.size(), 3u);
    EXPECT_EQ(params_again, params_full);
}

// A small GRU run on small_dataset(3, 6, 7) with batch 32 and two batches per epoch, for the tests of one trainer
// property each.
struct SmallGruRun {
    std::shared_ptr<Backend<float>> be = make_backend("cpu");
    data::WindowedDataset ds = small_dataset(3, 6, 7);
    ForecastDataset dev = ForecastDataset::from_windowed(*be, ds);
    Forecaster model{be, {CellType::Gru, ds.num_vars(), 8, 1, false}, 6 * ds.num_targets(), 5};

    std::vector<EpochRecord> fit(int epochs, float lr) {
        OptimizerConfig oc;
        oc.lr = lr;
        auto opt = make_optimizer(model.params(), oc);
        TrainOptions o;
        o.epochs = epochs;
        o.batch = 32;
        o.max_batches = 2;
        o.seed = 9;
        o.patience = 0;
        o.out_dir = testing::temp_dir();
        ForecastTrainer t(model, *opt, dev, o);
        return t.fit();
    }
};

// An epoch's validation loss is the MSE over every validation window, each weighing the same: the batch size, and a
// last batch shorter than the others, change nothing (mutation testing: weighting the short last batch as a full
// one passed every test).
TEST(ForecastTraining, ValidationLossIsTheMeanOverEveryWindow) {
    SmallGruRun run;
    ASSERT_NE(run.dev.starts[1].size() % 32, 0u) << "the test wants a short last batch";
    const auto history = run.fit(1, 1e-3f);
    ASSERT_EQ(history.size(), 1u);
    const double all_at_once = evaluate_forecaster(run.model, run.dev, run.dev.starts[1], 1 << 20).mse();
    EXPECT_NEAR(history[0].val_loss, all_at_once, 1e-5 * all_at_once);
}

// Each epoch trains on its own shuffle of the windows: with a rate too small to move a weight (1e-30), an epoch's
// training loss is the mean loss of exactly the batches the sampler draws for that pass, and the two epochs' differ
// (mutation testing: the same shuffle every epoch passed every test).
TEST(ForecastTraining, EveryEpochTrainsOnItsOwnShuffle) {
    SmallGruRun run;
    const auto history = run.fit(2, 1e-30f);
    ASSERT_EQ(history.size(), 2u);
    const data::BatchSampler sampler(run.dev.starts[0], 32, data::BatchSampler::Order::Shuffled, 9);
    for (int epoch = 1; epoch <= 2; ++epoch) {
        double sum = 0;
        for (int b = 0; b < 2; ++b) {
            std::vector<int64_t> rows;
            sampler.batch(epoch, b, rows);
            std::sort(rows.begin(), rows.end());  // a WindowStarts increases; the batch's mean does not care
            data::WindowStarts batch;
            for (int64_t r : rows) batch.push_back(r);
            sum += evaluate_forecaster(run.model, run.dev, batch, 32).mse();
        }
        EXPECT_NEAR(history[size_t(epoch - 1)].train_loss, sum / 2, 1e-5 * sum) << "epoch " << epoch;
    }
    EXPECT_NE(history[0].train_loss, history[1].train_loss);
}

// Interrupting within an epoch: the trainer polls stop_requested after every training step and every
// validation batch. A small GRU run (4 steps per epoch, batch 32) whose n-th poll asks to stop (a graceful
// Ctrl-C) or throws without saving (a crash, survived only by the periodic checkpoint).
class MidEpochResume : public ::testing::Test {
protected:
    std::shared_ptr<Backend<float>> be = make_backend("cpu");
    data::WindowedDataset ds = small_dataset(3, 6, 23);
    ForecastDataset dev = ForecastDataset::from_windowed(*be, ds);
    RnnSpec spec{CellType::Gru, ds.num_vars(), 8, 1, false};

    struct Result {
        std::vector<EpochRecord> history;
        std::vector<float> params;
    };
    // polls_before_stop < 0: never stop. crash: throw a plain exception instead of asking to stop.
    Result run(const std::string& dir, bool resume, int polls_before_stop = -1, bool crash = false,
               double checkpoint_seconds = 0, int batch = 32) {
        const auto owner = seq2seq_ ? std::make_unique<Forecaster>(be, spec, Seq2SeqShape{6, ds.target_cols}, 5)
                                    : std::make_unique<Forecaster>(be, spec, 6 * ds.num_targets(), 5);
        Forecaster& model = *owner;
        OptimizerConfig oc;
        auto opt = make_optimizer(model.params(), oc);
        TrainOptions o;
        o.epochs = 3;
        o.batch = batch;
        o.max_batches = 4;
        o.seed = 9;
        o.patience = 0;
        o.out_dir = dir;
        o.resume = resume;
        o.overwrite = overwrite_;
        o.checkpoint_seconds = checkpoint_seconds;
        o.lr_decay = 0.8;  // a resumed run must also continue the learning-rate schedule
        o.extra = {{"dataset", ds.meta_json()}};
        o.stop_requested = testing::stop_at_poll(polls_before_stop, crash);
        if (tweak_) tweak_(o);
        ForecastTrainer t(model, *opt, dev, o);
        Result r;
        r.history = t.fit();
        r.params = model.params().values_to_host();
        return r;
    }
    long validation_batches() const { return long((dev.starts[1].size() + 31) / 32); }
    bool overwrite_ = false;
    bool seq2seq_ = false;                      // the encoder-decoder instead of the direct head
    std::function<void(TrainOptions&)> tweak_;  // applied last
    void expect_same_run(const Result& a, const Result& b) {
        EXPECT_EQ(a.params, b.params);  // bit-identical
        testing::expect_same_history(a.history, b.history);
    }
    // Rewrites <dir>/last.safetensors with its training block edited (a damaged or hand-edited checkpoint).
    void edit_training_state(const std::string& dir, const std::function<void(nlohmann::json&)>& edit,
                             const char* block = "trainer") {
        Checkpoint c = read_checkpoint(dir + "/last.safetensors");
        Forecaster model(be, spec, 6 * ds.num_targets(), 5);
        load_parameters(c, model);
        auto opt = make_optimizer(model.params(), OptimizerConfig{});
        load_optimizer(c, *opt);
        nlohmann::json extra = c.extra;
        edit(extra[block]);
        save_checkpoint(dir + "/last.safetensors", model, extra, opt.get());
    }
    // The message of the error that resuming from <dir> gives ("" when it gives none).
    std::string resume_error(const std::string& dir) {
        try {
            run(dir, true);
        } catch (const Error& e) {
            return e.what();
        }
        return "";
    }
};

TEST_F(MidEpochResume, StopRequestSavesAndResumeEqualsUninterruptedRun) {
    const auto full = run(testing::temp_dir(), false);
    const std::string dir = testing::temp_dir();
    // Polls 1-4 are epoch 1's steps, then its validation batches; the 2nd step of epoch 2 asks to stop.
    const int stop_at = int(4 + validation_batches() + 2);
    try {
        run(dir, false, stop_at);
        FAIL() << "expected Interrupted";
    } catch (const Interrupted& e) {
        EXPECT_NE(std::string(e.what()).find("epoch 2, step 2/4"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("last.safetensors"), std::string::npos) << e.what();
    }
    const auto state = read_checkpoint(dir + "/last.safetensors").extra.at("trainer");
    EXPECT_EQ(state.at("epochs_done").get<int>(), 1);
    EXPECT_EQ(state.at("epoch_in_progress").at("steps_done").get<long>(), 2);
    expect_same_run(run(dir, true), full);
}

// A new run into a folder holding an unfinished one is refused (it would discard it); --overwrite or a
// finished run lets it start.
TEST_F(MidEpochResume, ANewRunDoesNotSilentlyReplaceAnUnfinishedOne) {
    const std::string dir = testing::temp_dir();
    EXPECT_THROW(run(dir, false, int(4 + validation_batches() + 2)), Interrupted);
    try {
        run(dir, false);
        FAIL() << "expected an error";
    } catch (const Error& e) {
        const std::string m = e.what();
        EXPECT_NE(m.find("unfinished run (stopped in epoch 2, step 2/4)"), std::string::npos) << m;
        EXPECT_NE(m.find("--resume"), std::string::npos) << m;
        EXPECT_NE(m.find("--overwrite"), std::string::npos) << m;
    }
    overwrite_ = true;
    const auto fresh = run(dir, false);  // starts over and finishes
    EXPECT_EQ(fresh.history.size(), 3u);
    overwrite_ = false;
    EXPECT_EQ(run(dir, false).params, fresh.params);  // a finished run may be replaced
}

TEST_F(MidEpochResume, StopDuringValidationResumesWithValidation) {
    const auto full = run(testing::temp_dir(), false);
    const std::string dir = testing::temp_dir();
    ASSERT_GE(validation_batches(), 2);
    EXPECT_THROW(run(dir, false, int(4 + validation_batches() + 4 + 2)), Interrupted);  // epoch 2, 2nd val batch
    const auto state = read_checkpoint(dir + "/last.safetensors").extra.at("trainer");
    EXPECT_EQ(state.at("epoch_in_progress").at("steps_done").get<long>(), 4);  // training done, not validated
    expect_same_run(run(dir, true), full);
}

TEST_F(MidEpochResume, PeriodicCheckpointSurvivesACrash) {
    const auto full = run(testing::temp_dir(), false);
    const std::string dir = testing::temp_dir();
    // Saves after every step (interval ~0); the crash comes at the poll right after epoch 3's 3rd step,
    // before that step's save: the checkpoint holds the state after the 2nd.
    const int crash_at = int(2 * (4 + validation_batches()) + 3);
    EXPECT_THROW(run(dir, false, crash_at, /*crash*/ true, 1e-9), std::runtime_error);
    const auto state = read_checkpoint(dir + "/last.safetensors").extra.at("trainer");
    EXPECT_EQ(state.at("epochs_done").get<int>(), 2);
    EXPECT_EQ(state.at("epoch_in_progress").at("steps_done").get<long>(), 2);
    expect_same_run(run(dir, true), full);
    // Without periodic saves the crash loses the epoch in progress, and still resumes to the same run.
    const std::string dir2 = testing::temp_dir();
    EXPECT_THROW(run(dir2, false, crash_at, true, 0), std::runtime_error);
    EXPECT_FALSE(read_checkpoint(dir2 + "/last.safetensors").extra.at("trainer").contains("epoch_in_progress"));
    expect_same_run(run(dir2, true), full);
}

// Without a schedule the rate stays the run's first: another one in the file was edited in, and is refused rather
// than used without a word.
TEST_F(MidEpochResume, AnEditedRateWithoutAScheduleIsRefused) {
    tweak_ = [](TrainOptions& o) { o.lr_decay = 1; };
    const std::string dir = testing::temp_dir();
    EXPECT_THROW(run(dir, false, 2), Interrupted);
    namespace fs = std::filesystem;
    fs::copy_file(dir + "/last.safetensors", dir + "/kept.safetensors");
    const auto edited = [&](const std::function<void(nlohmann::json&)>& edit) {
        fs::copy_file(dir + "/kept.safetensors", dir + "/last.safetensors", fs::copy_options::overwrite_existing);
        edit_training_state(dir, edit);
        return resume_error(dir);
    };
    std::string m = edited([](nlohmann::json& t) { t["lr"] = 0.5; });
    EXPECT_NE(m.find("is damaged: its learning rate is 0.5, but the run has no schedule"), std::string::npos) << m;
    // The best loss goes with the history (none yet), and the epoch in progress with the run's batch.
    m = edited([](nlohmann::json& t) { t["best_val"] = 0.1; });
    EXPECT_NE(m.find("is damaged: its best validation loss is 0.1, but its history's lowest is inf"), std::string::npos)
        << m;
    m = edited([](nlohmann::json& t) { t["epoch_in_progress"]["batch"] = 64; });
    EXPECT_NE(m.find("is damaged: its epoch in progress says --batch 64, the run --batch 32"), std::string::npos) << m;
    m = edited([](nlohmann::json& t) { t["epoch_in_progress"]["windows"] = 5; });
    EXPECT_NE(m.find("is damaged: its epoch in progress counts 5 windows in 2 steps of 32"), std::string::npos) << m;
}

TEST_F(MidEpochResume, ResumingAnInterruptedEpochNeedsTheSameBatchesAndData) {
    const std::string dir = testing::temp_dir();
    EXPECT_THROW(run(dir, false, 2), Interrupted);  // in epoch 1: no validation loss yet (best is +inf)
    try {
        run(dir, true, -1, false, 0, /*batch*/ 16);
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("--batch 32"), std::string::npos) << e.what();
    }
    // A damaged training block (a field missing) is named, not an internal JSON error.
    edit_training_state(dir, [](nlohmann::json& t) { t.erase("history"); });
    const std::string damaged = resume_error(dir);
    EXPECT_NE(damaged.find("damaged or incomplete"), std::string::npos) << damaged;
    EXPECT_NE(damaged.find("(its field 'history' is missing)"), std::string::npos) << damaged;
    EXPECT_EQ(damaged.find("json.exception"), std::string::npos) << damaged;
    // The optimizer's step count goes with the history (a count edited, or state from another file).
    edit_training_state(dir, [](nlohmann::json& t) { t["history"] = nlohmann::json::array(); });  // as it was
    {
        const std::string d = testing::temp_dir();
        SafetensorsFile f = read_safetensors(dir + "/last.safetensors");
        nlohmann::json optimizer = nlohmann::json::parse(f.metadata.at("fusedrnn.optimizer"));
        optimizer["steps"] = optimizer.at("steps").get<long>() + 1;
        f.metadata["fusedrnn.optimizer"] = optimizer.dump();
        f.metadata.erase("fusedrnn.metadata_checksum");
        write_safetensors(d + "/last.safetensors", f);
        const std::string m = resume_error(d);
        EXPECT_NE(m.find("is damaged: its optimizer has taken 3 steps, but its training state accounts for 2 (no epoch "
                         "finished, and 2 in epoch 1)"), std::string::npos) << m;
    }
    ds = small_dataset(3, 6, 29);  // other window stride: other training windows
    try {
        run(dir, true);
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("other data, windows"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("stride: 23 saved, 29 now"), std::string::npos) << e.what();
    }
}

// Epochs of --steps-per-epoch with a per-step cosine rate: a stop mid-epoch resumes to the same run, and a
// resume that would change the batch order or the schedule is refused naming the flag.
// Counters that do not follow one another (a hand edit, a damaged file) are refused naming the file, before a step
// is trained on them; the checkpoint is left as it was.
TEST_F(MidEpochResume, InconsistentTrainingStateIsRefused) {
    const std::string dir = testing::temp_dir();
    EXPECT_THROW(run(dir, false, int(4 + validation_batches() + 2)), Interrupted);  // epoch 2, step 2/4
    const auto good = read_checkpoint(dir + "/last.safetensors").extra.at("trainer");
    struct Case {
        std::function<void(nlohmann::json&)> edit;
        std::string expect;
    };
    const std::vector<Case> cases = {
        {[](nlohmann::json& t) { t["epochs_done"] = 5; }, "is damaged: it says 5 epochs done, its history holds 1"},
        // Whole numbers as written: get<int>() would read 1.7 as 1 and 2^32 + 1 as 1, and train on.
        {[](nlohmann::json& t) { t["epochs_done"] = -5; },
         "is damaged: its trainer.epochs_done is -5, not a whole number in [0, 2147483647]"},
        {[](nlohmann::json& t) { t["epochs_done"] = 1.7; },
         "is damaged: its trainer.epochs_done is 1.7, not a whole number in [0, 2147483647]"},
        {[](nlohmann::json& t) { t["history"][0]["epoch"] = 4294967297u; },
         "is damaged: its trainer.history[0].epoch is 4294967297, not a whole number in [0, 2147483647]"},
        {[](nlohmann::json& t) { t["epoch_in_progress"]["batch"] = "16"; },
         "is damaged: its trainer.epoch_in_progress.batch is \"16\", not a whole number"},
        // Rates and sums as written (QA: -0.5 reached the optimizer's own check, unnamed; a negative time printed an
        // absurd rate).
        {[](nlohmann::json& t) { t["lr"] = -0.5; }, "is damaged: its trainer.lr is -0.5, not a finite number >= 0"},
        {[](nlohmann::json& t) { t["base_lr"] = "abc"; },
         "is damaged: its trainer.base_lr is \"abc\", not a finite number >= 0"},
        {[](nlohmann::json& t) { t["clip"] = -1; }, "is damaged: its trainer.clip is -1, not a finite number >= 0"},
        {[](nlohmann::json& t) { t["epoch_in_progress"]["seconds"] = -100; }, "is damaged: its epoch in progress"},
        {[](nlohmann::json& t) { t["epoch_in_progress"]["loss_sum"] = -1e300; }, "is damaged: its epoch in progress"},
        {[](nlohmann::json& t) { t["history"][0]["epoch"] = 3; }, "is damaged: its history lists epoch 3 in place 1"},
        {[](nlohmann::json& t) { t["bad_epochs"] = 7; }, "is damaged: 7 epochs without improvement out of 1 done"},
        {[](nlohmann::json& t) { t["epoch_in_progress"]["epoch"] = 5; },
         "is damaged: its epoch in progress (epoch 5, step 2/4) does not follow its history (1 epoch(s))"},
        {[](nlohmann::json& t) { t["epoch_in_progress"]["steps_done"] = 9; },
         "is damaged: its epoch in progress (epoch 2, step 9/4)"},
    };
    for (const Case& c : cases) {
        edit_training_state(dir, [&](nlohmann::json& t) {
            t = good;
            c.edit(t);
        });
        const std::string m = resume_error(dir);
        EXPECT_NE(m.find("last.safetensors is damaged"), std::string::npos) << c.expect << "\n" << m;
        EXPECT_NE(m.find(c.expect), std::string::npos) << m;
    }
    edit_training_state(dir, [&](nlohmann::json& t) { t = good; });
    EXPECT_EQ(resume_error(dir), "");  // the intact state still resumes
}

// The final report evaluates best.safetensors as "the best checkpoint (epoch E)": a resumed run refuses, before it
// trains, a best model that is missing or is not this run's (another run's of the same shape).
TEST_F(MidEpochResume, ResumeNeedsTheRunsOwnBestModel) {
    namespace fs = std::filesystem;
    const std::string dir = testing::temp_dir(), other = testing::temp_dir();
    EXPECT_THROW(run(dir, false, int(4 + validation_batches() + 2)), Interrupted);  // epoch 1 is the best so far
    tweak_ = [](TrainOptions& o) { o.seed = 10; };
    run(other, false);
    tweak_ = nullptr;
    const std::string best = dir + "/best.safetensors", kept = dir + "/best.kept";
    fs::rename(best, kept);
    std::string m = resume_error(dir);
    EXPECT_NE(m.find("best.safetensors (the best model, epoch 1) is missing: put it back, or start a new run"),
              std::string::npos) << m;
    fs::copy_file(other + "/best.safetensors", best);
    m = resume_error(dir);
    EXPECT_NE(m.find("best.safetensors is not the best model of this run (epoch 1, validation loss"), std::string::npos)
        << m;
    fs::rename(kept, best);
    EXPECT_EQ(resume_error(dir), "");
}

// last.safetensors is written before best.safetensors at the end of an epoch: a run stopped between the two (a full
// disk, a kill) resumes, writing the best model it had not written yet. A best model of another run is still refused.
TEST_F(MidEpochResume, AStopBetweenSavingLastAndBestIsMendedOnResume) {
    namespace fs = std::filesystem;
    const std::string dir = testing::temp_dir(), best = dir + "/best.safetensors";
    const auto params_of = [&](const std::string& path) {
        Forecaster model(be, spec, 6 * ds.num_targets(), 5);
        load_parameters(read_checkpoint(path), model);
        return model.params().values_to_host();
    };
    tweak_ = [](TrainOptions& o) { o.epochs = 1; };
    run(dir, false);
    fs::copy_file(best, dir + "/best.epoch1");
    tweak_ = [](TrainOptions& o) { o.epochs = 2; };
    const Result two = run(dir, true);
    ASSERT_TRUE(two.history.at(1).best) << "the test needs epoch 2 to improve on epoch 1";
    const std::vector<float> best2 = params_of(best);
    EXPECT_EQ(best2, two.params);
    // As if the run had stopped after saving last.safetensors at the end of epoch 2, before best.safetensors.
    fs::remove(best);
    fs::copy_file(dir + "/best.epoch1", best);
    EXPECT_EQ(resume_error(dir), "");
    EXPECT_EQ(params_of(best), best2);
    EXPECT_EQ(read_checkpoint(best).extra.at("trainer").at("epochs_done").get<int>(), 2);
    // The same at epoch 1 of a run, where there was no best.safetensors before.
    fs::remove(best);
    EXPECT_EQ(resume_error(dir), "");
    EXPECT_EQ(params_of(best), best2);
    // Another run's best model (the same model, another seed) is no earlier state of this one.
    const std::string other = testing::temp_dir();
    tweak_ = [](TrainOptions& o) {
        o.epochs = 1;
        o.seed = 10;
    };
    run(other, false);
    tweak_ = [](TrainOptions& o) { o.epochs = 2; };
    fs::remove(best);
    fs::copy_file(other + "/best.safetensors", best);
    EXPECT_NE(resume_error(dir).find("best.safetensors is not the best model of this run (epoch 2"), std::string::npos);
}

// The best epoch and early stopping compare validation losses: a resume that would measure them on other windows
// (another --eval-windows) is refused.
TEST_F(MidEpochResume, ResumeNeedsTheSameValidationWindows) {
    const std::string dir = testing::temp_dir();
    tweak_ = [](TrainOptions& o) { o.epochs = 1; };
    run(dir, false);
    const size_t all = dev.starts[1].size();
    dev.limit_evaluation(all / 2);
    tweak_ = [](TrainOptions& o) { o.epochs = 2; };
    const std::string m = resume_error(dir);
    EXPECT_NE(m.find(fmt::format("measured its validation loss on {} windows, this run would on {}", all, all / 2)),
              std::string::npos) << m;
    EXPECT_NE(m.find("resume with the same --eval-windows"), std::string::npos) << m;
}

// The per-epoch schedule decides every later epoch's rate: a resume that forgot --lr-decay (or added --lr-plateau)
// would go on at another rate, silently (QA: the lr column went 0.003, 0.0015, 0.00075, 0.00075, 0.00075). Checkpoints
// from before it was recorded resume with this run's flags, as they did.
TEST_F(MidEpochResume, ResumeNeedsTheSamePerEpochSchedule) {
    const std::string dir = testing::temp_dir();
    tweak_ = [](TrainOptions& o) { o.epochs = 1; };
    run(dir, false);
    tweak_ = [](TrainOptions& o) {
        o.epochs = 2;
        o.lr_decay = 1;
    };
    std::string m = resume_error(dir);
    EXPECT_NE(m.find("was trained with --lr-decay 0.8 and no --lr-plateau, this run asks for --lr-decay 1 and no "
                     "--lr-plateau"),
              std::string::npos) << m;
    tweak_ = [](TrainOptions& o) {
        o.epochs = 2;
        o.lr_plateau = 2;
    };
    m = resume_error(dir);
    EXPECT_NE(m.find("this run asks for --lr-decay 0.8 --lr-plateau 2 --lr-plateau-factor 0.5"), std::string::npos)
        << m;
    edit_training_state(dir, [](nlohmann::json& t) {
        t.erase("lr_decay");
        t.erase("lr_plateau");
        t.erase("lr_plateau_factor");
    });
    EXPECT_EQ(resume_error(dir), "");
}

// A checkpoint from before the dataset description held the values' checksum resumes as it did: on whatever values
// the data holds now (CLI: Cli.ResumeOnChangedValuesIsRefused for one that holds it).
TEST_F(MidEpochResume, ACheckpointWithoutTheValuesChecksumResumes) {
    ASSERT_TRUE(ds.meta_json().at("values_checksum").is_string());
    const std::string dir = testing::temp_dir();
    tweak_ = [](TrainOptions& o) { o.epochs = 1; };
    run(dir, false);
    edit_training_state(dir, [](nlohmann::json& d) { d.erase("values_checksum"); }, "dataset");
    tweak_ = [](TrainOptions& o) { o.epochs = 2; };
    EXPECT_EQ(resume_error(dir), "");
    edit_training_state(dir, [](nlohmann::json& d) { d["values_checksum"] = "0000000000000000"; }, "dataset");
    tweak_ = [](TrainOptions& o) { o.epochs = 3; };
    EXPECT_NE(resume_error(dir).find("the data's values or station ids differ from those it trained on (checksum "
                                     "0000000000000000 then, "),
              std::string::npos);
}

// A lower --epochs than the run already holds would train nothing and leave it unfinished: refused, as lm-train does.
TEST_F(MidEpochResume, EpochsBelowThoseDoneAreRefused) {
    const std::string dir = testing::temp_dir();
    tweak_ = [](TrainOptions& o) { o.epochs = 2; };
    run(dir, false);
    tweak_ = [](TrainOptions& o) { o.epochs = 1; };
    const std::string m = resume_error(dir);
    EXPECT_NE(m.find("--resume: --epochs 1 is below the 2 epochs " + dir + "/last.safetensors already holds: give "
                     "--epochs 2 or more"),
              std::string::npos) << m;
    tweak_ = [](TrainOptions& o) { o.epochs = 2; };  // the same: the run is complete, the report is written again
    EXPECT_EQ(resume_error(dir), "");
}

TEST_F(MidEpochResume, StepsPerEpochWithCosineResumesExactly) {
    tweak_ = [](TrainOptions& o) {
        o.max_batches = 0;
        o.lr_decay = 1;
        o.steps_per_epoch = 3;
        o.lr_cosine = true;
    };
    const auto full = run(testing::temp_dir(), false);
    ASSERT_EQ(full.history.size(), 3u);
    EXPECT_EQ(full.history.back().step, 9);
    const std::string dir = testing::temp_dir();
    EXPECT_THROW(run(dir, false, int(3 + validation_batches() + 2)), Interrupted);  // epoch 2, step 2
    EXPECT_EQ(read_checkpoint(dir + "/last.safetensors").extra.at("trainer").at("epoch_in_progress")
                  .at("steps_done").get<long>(), 2);
    tweak_ = [](TrainOptions& o) {
        o.max_batches = 0;
        o.lr_decay = 1;
        o.steps_per_epoch = 4;
        o.lr_cosine = true;
    };
    try {
        run(dir, true);
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("--steps-per-epoch 3, this run asks for --steps-per-epoch 4"),
                  std::string::npos) << e.what();
    }
    tweak_ = [](TrainOptions& o) {
        o.max_batches = 0;
        o.lr_decay = 1;
        o.steps_per_epoch = 3;
    };
    try {
        run(dir, true);
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("trained with --lr-cosine"), std::string::npos) << e.what();
    }
    tweak_ = [](TrainOptions& o) {
        o.max_batches = 0;
        o.lr_decay = 1;
        o.steps_per_epoch = 3;
        o.lr_cosine = true;
    };
    expect_same_run(run(dir, true), full);
}

// The encoder-decoder with teacher forcing: which lead times take the observed value is drawn per step from the
// seed, so a stop mid-epoch resumes to the same run; resuming with another probability is refused; and the
// teacher forcing changes the run (it is used at all).
TEST_F(MidEpochResume, Seq2SeqWithTeacherForcingResumesExactly) {
    seq2seq_ = true;
    tweak_ = [](TrainOptions& o) { o.teacher_forcing = 0.5; };
    const auto full = run(testing::temp_dir(), false);
    const std::string dir = testing::temp_dir();
    EXPECT_THROW(run(dir, false, int(4 + validation_batches() + 2)), Interrupted);  // epoch 2, step 2
    tweak_ = [](TrainOptions& o) { o.teacher_forcing = 0.25; };
    try {
        run(dir, true);
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("--teacher-forcing 0.5, this run asks for 0.25"), std::string::npos)
            << e.what();
    }
    tweak_ = [](TrainOptions& o) { o.teacher_forcing = 0.5; };
    expect_same_run(run(dir, true), full);
    tweak_ = nullptr;
    const auto free_running = run(testing::temp_dir(), false);
    EXPECT_NE(free_running.params, full.params);
    // At probability 1 every lead time is fed the truth: not the free-running run (mutation testing: the draw
    // inverted, which made probability 1 free running, passed every test).
    tweak_ = [](TrainOptions& o) { o.teacher_forcing = 1; };
    EXPECT_NE(run(testing::temp_dir(), false).params, free_running.params);
}

TEST(ForecastTraining, TeacherForcingNeedsASeq2SeqDecoderAndAProbability) {
    auto be = make_backend("cpu");
    const data::WindowedDataset ds = small_dataset(3, 6, 23);
    const ForecastDataset dev = ForecastDataset::from_windowed(*be, ds);
    const RnnSpec spec{CellType::Gru, ds.num_vars(), 8, 1, false};
    Forecaster direct(be, spec, 6 * ds.num_targets(), 1);
    Forecaster seq2seq(be, spec, Seq2SeqShape{6, ds.target_cols}, 1);
    auto opt = make_optimizer(direct.params(), OptimizerConfig{});
    TrainOptions o;
    o.out_dir = testing::temp_dir();
    o.teacher_forcing = 0.5;
    EXPECT_NE(testing::error_of([&] { ForecastTrainer(direct, *opt, dev, o); }).find("needs --decoder seq2seq"),
              std::string::npos);
    o.teacher_forcing = 1.5;
    EXPECT_NE(testing::error_of([&] { ForecastTrainer(seq2seq, *opt, dev, o); }).find("probability in [0, 1], got 1.5"),
              std::string::npos);
}

// --steps-per-epoch only decides when to validate: the batches run on through consecutive passes over the
// data whatever the epoch length, so with a constant rate and no early stopping 2 passes end with the same
// weights as 1 epoch of 2 passes or P epochs of 2 steps; epochs of exactly one pass are the default epochs.
TEST(ForecastTraining, StepsPerEpochRunOnThroughThePasses) {
    auto be = make_backend("cpu");
    const auto ds = small_dataset(2, 6, 23);
    const auto dev = ForecastDataset::from_windowed(*be, ds);
    struct Run {
        std::vector<EpochRecord> history;
        std::vector<float> params;
        long pass = 0;
    };
    auto run = [&](int epochs, long steps_per_epoch, long max_batches = 0) {
        Forecaster model(be, {CellType::Gru, ds.num_vars(), 8, 1, false}, 6 * ds.num_targets(), 5);
        auto opt = make_optimizer(model.params(), OptimizerConfig{});
        TrainOptions o;
        o.epochs = epochs;
        o.batch = 128;
        o.seed = 4;
        o.patience = 0;
        o.steps_per_epoch = steps_per_epoch;
        o.max_batches = max_batches;
        o.out_dir = testing::temp_dir();
        ForecastTrainer t(model, *opt, dev, o);
        Run r;
        r.pass = t.steps_per_pass();
        r.history = t.fit();
        r.params = model.params().values_to_host();
        return r;
    };
    const Run passes = run(2, 0);
    const long P = passes.pass;
    ASSERT_GE(P, 3);  // several batches per pass, so cutting them differently means something
    EXPECT_EQ(passes.history.back().step, 2 * P);
    const Run one_epoch = run(1, 2 * P);
    EXPECT_EQ(one_epoch.params, passes.params);  // bit-identical
    const Run short_epochs = run(int(P), 2);
    EXPECT_EQ(short_epochs.params, passes.params);
    ASSERT_EQ(short_epochs.history.size(), size_t(P));
    EXPECT_EQ(short_epochs.history[0].step, 2);
    const Run pass_epochs = run(2, P);
    EXPECT_EQ(pass_epochs.params, passes.params);
    testing::expect_same_history(pass_epochs.history, passes.history);
    // Restarting the permutation every epoch (what --max-batches does) would be another run.
    const Run three_steps = run(2, 3);
    const Run restarted = run(2, 0, /*max_batches*/ 3);
    EXPECT_EQ(three_steps.history[0].train_loss, restarted.history[0].train_loss);  // the same first epoch
    EXPECT_NE(three_steps.params, restarted.params);
}

// --lr-cosine: the rate at step g of T is lr·(1 + cos(πg/T))/2, set before every step.
TEST(ForecastTraining, CosineLearningRate) {
    auto be = make_backend("cpu");
    const auto ds = small_dataset(2, 6, 23);
    const auto dev = ForecastDataset::from_windowed(*be, ds);
    Forecaster model(be, {CellType::Gru, ds.num_vars(), 8, 1, false}, 6 * ds.num_targets(), 5);
    OptimizerConfig oc;
    oc.lr = 0.01f;
    auto opt = make_optimizer(model.params(), oc);
    TrainOptions o;
    o.epochs = 4;
    o.batch = 128;
    o.patience = 0;
    o.steps_per_epoch = 5;
    o.lr_cosine = true;
    o.out_dir = testing::temp_dir();
    ForecastTrainer t(model, *opt, dev, o);
    const auto h = t.fit();
    const double pi = std::acos(-1.0);
    ASSERT_EQ(h.size(), 4u);
    for (size_t e = 0; e < 4; ++e)
        EXPECT_EQ(h[e].lr, double(float(0.01f * 0.5 * (1 + std::cos(pi * double(e * 5) / 20.0))))) << e;
    EXPECT_EQ(opt->lr(), float(0.01f * 0.5 * (1 + std::cos(pi * 19.0 / 20.0))));  // the last step's rate

    // Options that contradict each other are refused up front.
    auto refused = [&](const std::function<void(TrainOptions&)>& change, const std::string& says) {
        TrainOptions bad = o;
        change(bad);
        try {
            ForecastTrainer bad_trainer(model, *opt, dev, bad);
            ADD_FAILURE() << "expected an error mentioning " << says;
        } catch (const Error& e) {
            EXPECT_NE(std::string(e.what()).find(says), std::string::npos) << e.what();
        }
    };
    refused([](TrainOptions& b) { b.lr_decay = 0.9; }, "cannot be combined with --lr-decay or --lr-plateau");
    refused([](TrainOptions& b) { b.lr_plateau = 2; }, "cannot be combined with --lr-decay or --lr-plateau");
    refused([](TrainOptions& b) { b.max_batches = 3; }, "--steps-per-epoch and --max-batches");
    refused([](TrainOptions& b) { b.steps_per_epoch = -1; }, "--steps-per-epoch must be >= 0");
}

// --lr-decay multiplies the rate after every epoch; --lr-plateau after every N epochs without improvement.
// A rate of 1e-30 leaves the weights (and so the validation loss) unchanged: every epoch after the first
// is one "without improvement".
TEST(ForecastTraining, LearningRateSchedules) {
    auto be = make_backend("cpu");
    const auto ds = small_dataset(2, 6, 23);
    const auto dev = ForecastDataset::from_windowed(*be, ds);
    auto lrs = [&](float lr, double decay, int plateau) {
        Forecaster model(be, {CellType::Gru, ds.num_vars(), 8, 1, false}, 6 * ds.num_targets(), 5);
        OptimizerConfig oc;
        oc.lr = lr;
        auto opt = make_optimizer(model.params(), oc);
        TrainOptions o;
        o.epochs = 4;
        o.batch = 32;
        o.max_batches = 2;
        o.patience = 0;
        o.lr_decay = decay;
        o.lr_plateau = plateau;
        o.out_dir = testing::temp_dir();
        ForecastTrainer t(model, *opt, dev, o);
        std::vector<double> r;
        for (const auto& e : t.fit()) r.push_back(e.lr);
        return r;
    };
    EXPECT_EQ(lrs(1e-3f, 0.5, 0), (std::vector<double>{double(1e-3f), double(5e-4f), double(2.5e-4f),
                                                      double(1.25e-4f)}));
    const float tiny = 1e-30f;
    EXPECT_EQ(lrs(tiny, 1.0, 1), (std::vector<double>{double(tiny), double(tiny), double(float(tiny * 0.5)),
                                                     double(float(float(tiny * 0.5) * 0.5))}));
    EXPECT_EQ(lrs(tiny, 1.0, 2), (std::vector<double>{double(tiny), double(tiny), double(tiny),
                                                     double(float(tiny * 0.5))}));
}

// Same-time-of-day persistence: for each lead time, the input step k whole days before the target.
TEST(ForecastTraining, SameTimeOfDayPersistence) {
    data::WindowSpec w;  // WEATHER-5K: 48 h in, 24 h out, hourly
    auto src = same_time_of_day_sources(w, 24);
    ASSERT_EQ(src.size(), 24u);
    EXPECT_EQ(src[0], 24);   // 1 h ahead: the input's 25th hour, 24 h before the target
    EXPECT_EQ(src[23], 47);  // 24 h ahead: the last input hour
    w.horizon = 72;
    src = same_time_of_day_sources(w, 24);
    EXPECT_EQ(src[47], 47);  // 48 h ahead: two days back
    EXPECT_EQ(src[48], 24);  // 49 h ahead: three days back
    EXPECT_EQ(src[71], 47);
    const data::WindowSpec jena{120, 6, 1, 72, 1};  // 10-minute rows: 144 per day
    EXPECT_EQ(same_time_of_day_sources(jena, 144), std::vector<int>{107});  // row 642 = 786 - 144
    // Where there is none, `why` says which rule failed (the report prints it: QA found the baseline left out at
    // --step 2 with no word of why).
    std::string why = "stale";
    EXPECT_EQ(same_time_of_day_sources(jena, 144, &why).size(), 1u);
    EXPECT_EQ(why, "");
    data::WindowSpec short_input{12, 1, 6, 1, 1};
    EXPECT_TRUE(same_time_of_day_sources(short_input, 24, &why).empty());
    EXPECT_EQ(why, "the input spans 12 rows, less than the 24 of a day");
    data::WindowSpec skipping{10, 5, 1, 1, 1};
    EXPECT_TRUE(same_time_of_day_sources(skipping, 24, &why).empty());  // row 22 is not an input row
    EXPECT_EQ(why, "the input, every 5 rows, has no row at the time of day of the lead time 1 step ahead (the "
                   "window's row 22, a day before it)");
    data::WindowSpec step2{48, 2, 24, 1, 1};  // QA: 95 h of input, 2 h apart
    EXPECT_TRUE(same_time_of_day_sources(step2, 24, &why).empty());
    EXPECT_NE(why.find("every 2 rows"), std::string::npos) << why;
    EXPECT_TRUE(same_time_of_day_sources(data::WindowSpec{}, 0, &why).empty());
    EXPECT_EQ(why, "the series' step does not divide a day");

    // On an exactly daily series it is perfect; plain persistence is not.
    auto be = make_backend("cpu");
    const int F = 2;
    const int64_t rows = 24 * 20;
    std::vector<float> series(size_t(rows * F));
    for (int64_t r = 0; r < rows; ++r) {
        series[size_t(r * F)] = float(std::sin(2 * M_PI * double(r % 24) / 24));
        series[size_t(r * F + 1)] = float(r % 24 < 12 ? 1 : -1);
    }
    data::WindowSpec g;
    data::WindowStarts starts;
    for (int64_t s0 = 0; s0 + g.span() <= rows; ++s0) starts.push_back(s0);
    ForecastDataset d = ForecastDataset::upload(*be, series, F, g, {0, 1}, {starts, starts, starts}, {"a", "b"},
                                                {1.0, 1.0});
    d.rows_per_day = 24;
    const auto daily = evaluate_persistence(*be, d, starts, 100, {}, Persistence::SameTimeOfDay);
    EXPECT_EQ(daily.windows(), long(starts.size()));
    EXPECT_EQ(daily.mse(), 0.0);
    // Plain persistence, exactly: every lead time repeats the last input row (mutation testing: the second-to-last
    // passed `> 0.5`).
    double squares = 0;
    for (const int64_t s0 : starts.to_vector()) {
        const int64_t last = s0 + g.input_len - 1;
        for (int h = 0; h < g.horizon; ++h)
            for (int k = 0; k < F; ++k) {
                const double e = double(series[size_t(last * F + k)]) -
                                 double(series[size_t((last + g.out_offset + h) * F + k)]);
                squares += e * e;
            }
    }
    const double expected = squares / double(starts.size() * size_t(g.horizon) * F);
    EXPECT_GT(expected, 0.5);
    EXPECT_NEAR(evaluate_persistence(*be, d, starts, 100).mse(), expected, 1e-6 * expected);
    d.rows_per_day = 0;
    EXPECT_THROW(evaluate_persistence(*be, d, starts, 100, {}, Persistence::SameTimeOfDay), Error);
}

// Both persistence baselines repeat the target's own column, not the input column of the target's place among the
// targets: with column 1 the only target, column 0 (another variable) must not be read (mutation testing: reading
// input column k survived, every persistence test having its targets in columns 0 .. K-1).
TEST(ForecastTraining, PersistenceRepeatsTheTargetsOwnColumn) {
    auto be = make_backend("cpu");
    const int F = 2;
    const int64_t rows = 24 * 20;
    std::vector<float> series(size_t(rows * F));
    for (int64_t r = 0; r < rows; ++r) {
        series[size_t(r * F)] = float(3 + std::sin(2 * M_PI * double(r % 24) / 24));  // not the target
        series[size_t(r * F + 1)] = float(r % 24 < 12 ? 1 : -1);                       // the target: daily
    }
    data::WindowSpec g;
    data::WindowStarts starts;
    for (int64_t s0 = 0; s0 + g.span() <= rows; s0 += 5) starts.push_back(s0);
    ForecastDataset d = ForecastDataset::upload(*be, series, F, g, {1}, {starts, starts, starts}, {"b"}, {1.0});
    d.rows_per_day = 24;
    const auto daily = evaluate_persistence(*be, d, starts, 64, {}, Persistence::SameTimeOfDay);
    EXPECT_EQ(daily.windows(), long(starts.size()));
    EXPECT_EQ(daily.mse(0), 0.0);  // the target repeats every day
    double squares = 0;
    for (const int64_t s0 : starts.to_vector()) {
        const int64_t last = s0 + g.input_len - 1;
        for (int h = 0; h < g.horizon; ++h) {
            const double e =
                double(series[size_t(last * F + 1)]) - double(series[size_t((last + g.out_offset + h) * F + 1)]);
            squares += e * e;
        }
    }
    const double expected = squares / double(starts.size() * size_t(g.horizon));
    EXPECT_GT(expected, 0.5);
    EXPECT_NEAR(evaluate_persistence(*be, d, starts, 64).mse(0), expected, 1e-6 * expected);
}

// A dataset's target standard deviations are its targets' own, by column: SLP alone as the target gets SLP's std,
// not the first variable's, and the metrics' original units follow it (mutation testing: stds taken by the
// target's position survived, every dataset of the tests having its targets first).
TEST(ForecastTraining, TargetStdsAreTheTargetColumnsOwn) {
    auto be = make_backend("cpu");
    data::SyntheticConfig sc;
    sc.stations = 1;
    sc.years = 3;
    sc.start_year = 2021;
    sc.seed = 3;
    data::DatasetConfig dc;
    dc.window.input_len = 24;
    dc.window.horizon = 6;
    dc.targets = {"SLP"};
    dc.split = data::SplitSpec::years(2021, 2021, 2022, 2022, 2023, 2023);
    dc.stride = 97;
    const data::WindowedDataset ds = data::build_dataset(data::generate_synthetic(sc), dc);
    const auto slp = std::find(ds.data.vars.begin(), ds.data.vars.end(), "SLP");
    ASSERT_NE(slp, ds.data.vars.begin());  // not column 0, where position and column agree
    ASSERT_NE(slp, ds.data.vars.end());
    const size_t col = size_t(slp - ds.data.vars.begin());
    ASSERT_EQ(ds.target_cols, std::vector<int32_t>{int32_t(col)});
    const double sd = ds.stats.std[col];
    ASSERT_NE(sd, ds.stats.std[0]);
    const auto dev = ForecastDataset::from_windowed(*be, ds);
    EXPECT_EQ(dev.target_stds, std::vector<double>{sd});
    EXPECT_EQ(dev.target_means, std::vector<double>{ds.stats.mean[col]});  // the wind's components un-normalize by them
    EXPECT_EQ(ForecastDataset::training_replica(*be, ds).target_stds, std::vector<double>{sd});
    ASSERT_GT(dev.starts[1].size(), 0u);
    const auto m = evaluate_persistence(*be, dev, dev.starts[1], 64);
    EXPECT_GT(m.mse(0), 0.0);
    EXPECT_DOUBLE_EQ(m.mse_original(0), m.mse(0) * sd * sd);
}

// The report's one pass (the model and both baselines, batch i+1 queued before batch i is folded) gives the
// figures of three separate passes, whatever the batch sizes: the baselines' and the extreme-event counts to the
// bit, the model's within float rounding (the forward pass's matrix products round by batch shape).
TEST(ForecastTraining, OnePassEvaluationEqualsSeparatePassesAtAnyBatchSize) {
    auto be = make_backend("cpu");
    const auto ds = testing::station_windows(2, 24, 6, 5);
    const auto dev = ForecastDataset::from_windowed(*be, ds);
    ASSERT_FALSE(dev.extremes.empty());
    ASSERT_FALSE(same_time_of_day_sources(dev.window, dev.rows_per_day).empty());
    Forecaster model(be, {CellType::Gru, ds.num_vars(), 8, 1, false}, 6 * ds.num_targets(), 4);
    const auto& starts = dev.starts[2];
    ASSERT_GT(starts.size(), 100u);
    const auto model_alone = evaluate_forecaster(model, dev, starts, 64);
    const auto last_alone = evaluate_persistence(*be, dev, starts, 13);
    const auto daily_alone = evaluate_persistence(*be, dev, starts, 100, {}, Persistence::SameTimeOfDay);
    auto near = [](double a, double b) { return std::abs(a - b) <= 1e-6 * std::abs(b); };
    for (int batch : {1, 7, 1000}) {
        SCOPED_TRACE(batch);
        size_t calls = 0, last_done = 0;
        const ForecastEvaluation e = evaluate_with_baselines(&model, *be, dev, starts, batch, [&](size_t done, size_t n) {
            ++calls;
            EXPECT_GT(done, last_done);
            EXPECT_EQ(n, starts.size());
            last_done = done;
        });
        EXPECT_EQ(calls, (starts.size() + size_t(batch) - 1) / size_t(batch));
        EXPECT_EQ(last_done, starts.size());
        EXPECT_EQ(e.persistence.to_json(), last_alone.to_json());
        ASSERT_TRUE(e.same_time_of_day);
        EXPECT_EQ(e.same_time_of_day->to_json(), daily_alone.to_json());
        ASSERT_TRUE(e.model);
        const ForecastMetrics& m = *e.model;
        EXPECT_EQ(m.windows(), model_alone.windows());
        EXPECT_PRED2(near, m.mse(), model_alone.mse());
        EXPECT_PRED2(near, m.mae(), model_alone.mae());
        for (int k = 0; k < int(m.targets().size()); ++k)
            EXPECT_PRED2(near, m.mse_original(k), model_alone.mse_original(k));
    }
    EXPECT_NE(last_alone.mse(), daily_alone.mse()) << "equal baselines would hide a mix-up of their input steps";
    // Baselines only (no model), as `evaluate_persistence` does.
    const ForecastEvaluation b = evaluate_with_baselines(nullptr, *be, dev, starts, 50);
    EXPECT_FALSE(b.model);
    EXPECT_EQ(b.persistence.to_json(), last_alone.to_json());
}

// Station by station (eval --per-station, train's stations.csv): every window is counted at its own station, and
// the window-weighted means of the stations' errors are the overall report's, the model's and persistence's; a
// station's RMSE in original units is its normalized error scaled by the variable's standard deviation.
TEST(ForecastTraining, StationScoresAddUpToTheOverallReport) {
    auto be = make_backend("cpu");
    const auto ds = testing::station_windows(3, 24, 6, 5);
    const auto dev = ForecastDataset::from_windowed(*be, ds);
    Forecaster model(be, {CellType::Lstm, ds.num_vars(), 8, 1, false}, 6 * ds.num_targets(), 4);
    const auto& starts = dev.starts[2];
    StationScores scores(ds.data, ds.target_names, dev.target_stds, dev.window.horizon);
    std::map<int, long> windows_at;  // station index -> windows, counted here from the start rows
    const ForecastEvaluation e = evaluate_with_baselines(&model, *be, dev, starts, 37, {}, [&](const EvaluatedBatch& b) {
        ASSERT_NE(b.persistence, nullptr);
        for (int64_t s : b.starts) ++windows_at[ds.data.station_of_row(s)];
        scores.add(b);
    });
    const auto rows = scores.rows();
    ASSERT_EQ(rows.size(), windows_at.size());
    ASSERT_GE(rows.size(), 2u) << "one station would not show a mix-up of stations";
    long windows = 0;
    double se = 0, ae = 0, pse = 0;
    size_t i = 0;
    for (const auto& [station, n] : windows_at) {
        const auto& r = rows[i++];
        EXPECT_EQ(r.station, ds.data.stations[size_t(station)].id);
        EXPECT_EQ(r.windows, n);
        windows += r.windows;
        se += r.mse * double(r.windows);
        ae += r.mae * double(r.windows);
        pse += r.persistence_mse * double(r.windows);
        EXPECT_NEAR(r.skill, 1 - r.mse / r.persistence_mse, 1e-12);
        double mean_square = 0;  // the stds-weighted RMSEs, back in normalized units, average to the MSE
        for (size_t k = 0; k < r.rmse.size(); ++k) mean_square += std::pow(r.rmse[k] / dev.target_stds[k], 2);
        EXPECT_NEAR(mean_square / double(r.rmse.size()), r.mse, 1e-9 * r.mse);
    }
    ASSERT_EQ(windows, e.model->windows());
    EXPECT_NEAR(se / double(windows), e.model->mse(), 1e-9 * e.model->mse());
    EXPECT_NEAR(ae / double(windows), e.model->mae(), 1e-9 * e.model->mae());
    EXPECT_NEAR(pse / double(windows), e.persistence.mse(), 1e-9 * e.persistence.mse());
    // Without the baseline's forecasts there is nothing to compare with: an error, not a zero.
    const std::vector<int64_t> one{starts[0]};
    std::vector<float> zeros(size_t(dev.window.horizon) * ds.target_cols.size());
    EXPECT_THROW(scores.add(EvaluatedBatch{one, zeros.data(), zeros.data(), nullptr}), Error);
}

TEST(ForecastTraining, ShortRunBeatsPersistenceOnValidation) {
    auto be = make_backend("cpu");
    const auto ds = small_dataset(6, 6, 3);
    const auto dev = ForecastDataset::from_windowed(*be, ds);
    Forecaster model(be, {CellType::Lstm, ds.num_vars(), 32, 1, false}, 6 * ds.num_targets(), 1);
    OptimizerConfig oc;
    oc.lr = 3e-3f;
    auto opt = make_optimizer(model.params(), oc);
    TrainOptions o;
    o.epochs = 6;
    o.batch = 128;
    o.max_batches = 40;
    o.patience = 0;
    o.clip = 1.0;
    o.out_dir = testing::temp_dir();
    ForecastTrainer t(model, *opt, dev, o);
    const auto hist = t.fit();
    const auto model_val = evaluate_forecaster(model, dev, dev.starts[1], 1024);
    const auto persist_val = evaluate_persistence(*be, dev, dev.starts[1], 1024);
    std::cout << "validation MSE: model " << model_val.mse() << ", persistence " << persist_val.mse()
              << " (first epoch " << hist.front().val_loss << ")\n";
    EXPECT_LT(model_val.mse(), persist_val.mse());
    EXPECT_LT(hist.back().val_loss, hist.front().val_loss);
}

// Trains one epoch of a small `cell` forecaster (horizon 4) on `ds` and expects a NumericError whose message
// names `step` ("epoch 1 step N/") and holds `cause`.
void expect_numeric_stop(const data::WindowedDataset& ds, CellType cell, const OptimizerConfig& oc, int batch,
                         uint64_t seed, int step, const std::string& cause, double clip = 0) {
    auto be = make_backend("cpu");
    const auto dev = ForecastDataset::from_windowed(*be, ds);
    Forecaster model(be, {cell, ds.num_vars(), 4, 1, false}, 4 * ds.num_targets(), 1);
    auto opt = make_optimizer(model.params(), oc);
    TrainOptions o;
    o.epochs = 1;
    o.batch = batch;
    o.seed = seed;
    o.clip = clip;
    o.out_dir = testing::temp_dir();
    ForecastTrainer t(model, *opt, dev, o);
    try {
        t.fit();
        FAIL() << "expected NumericError";
    } catch (const NumericError& e) {
        const std::string m = e.what();
        EXPECT_NE(m.find(fmt::format("epoch 1 step {}/", step)), std::string::npos) << m;
        EXPECT_NE(m.find(cause), std::string::npos) << m;
    }
}

// Puts an Inf into every window of the first pass's batch `index` (0-based) as the trainer's sampler draws it.
void poison_batch(data::WindowedDataset& ds, int batch, uint64_t seed, long index) {
    const data::BatchSampler sampler(ds.starts[0], batch, data::BatchSampler::Order::Shuffled, seed);
    ASSERT_GT(sampler.batches_per_epoch(), index);
    std::vector<int64_t> order;
    sampler.batch(1, index, order);  // the sampler's passes count from 1, its batches from 0
    for (int64_t s : order) ds.data.values[size_t(s + 3) * ds.num_vars() + 1] = std::numeric_limits<float>::infinity();
}

TEST(ForecastTraining, NanInDataStopsWithStepAndCause) {
    auto ds = small_dataset(2, 4, 11);
    // Corrupt a row inside the first training window: the trainer must stop naming the cause.
    for (int64_t s : ds.starts[0]) ds.data.values[size_t(s) * ds.num_vars()] = std::nanf("");
    expect_numeric_stop(ds, CellType::Lstm, OptimizerConfig{}, 16, TrainOptions{}.seed, 1, "NaN/Inf values");
}

// Steps are queued and their results read back in blocks of 32 (forecast_trainer.cpp): an Inf in the 41st
// batch, in the middle of the second block, still stops naming that step and its cause (here the loss stays
// finite — saturated gates — and the gradient norm is what goes bad).
TEST(ForecastTraining, NanInALaterBatchNamesThatStep) {
    auto ds = small_dataset(2, 4, 29);  // windows span 28 rows: none overlap, so one batch can be corrupted alone
    const int batch = 8, bad_step = 41;
    const uint64_t seed = 6;
    poison_batch(ds, batch, seed, bad_step - 1);
    expect_numeric_stop(ds, CellType::Gru, OptimizerConfig{}, batch, seed, bad_step, "NaN/Inf values");
}

// A run that goes bad in its second epoch keeps the first in history() (train writes log.csv and loss.svg from it
// before it exits with status 3): epochs of --steps-per-epoch 5 walk through the first pass, whose 8th batch is bad.
TEST(ForecastTraining, EpochsBeforeANumericStopStayInTheHistory) {
    auto ds = small_dataset(2, 4, 29);
    const int batch = 8, bad_batch = 7;  // 0-based: step 3 of epoch 2
    const uint64_t seed = 6;
    poison_batch(ds, batch, seed, bad_batch);
    auto be = make_backend("cpu");
    const auto dev = ForecastDataset::from_windowed(*be, ds);
    Forecaster model(be, {CellType::Gru, ds.num_vars(), 4, 1, false}, 4 * ds.num_targets(), 1);
    auto opt = make_optimizer(model.params(), OptimizerConfig{});
    TrainOptions o;
    o.epochs = 3;
    o.batch = batch;
    o.seed = seed;
    o.steps_per_epoch = 5;
    o.patience = 0;
    o.out_dir = testing::temp_dir();
    ForecastTrainer t(model, *opt, dev, o);
    try {
        t.fit();
        FAIL() << "expected NumericError";
    } catch (const NumericError& e) {
        EXPECT_NE(std::string(e.what()).find("epoch 2 step 3/5"), std::string::npos) << e.what();
    }
    ASSERT_EQ(t.history().size(), 1u);
    EXPECT_EQ(t.history()[0].epoch, 1);
    EXPECT_TRUE(std::isfinite(t.history()[0].train_loss));
}

// A learning rate that sends the parameters to infinity in one step: the run stops naming that step's update
// (known from the per-step parameter norm read back with the loss), before the next step or any checkpoint. The
// advice names --clip as a way out only where the run did not clip already.
TEST(ForecastTraining, DivergedParametersAreNamedAsTheCause) {
    OptimizerConfig oc;
    oc.name = "sgd";
    oc.lr = std::numeric_limits<float>::max();
    oc.weight_decay = 10;  // lr·(g + 10·p) overflows float for every weight with |p| > 0.1
    expect_numeric_stop(small_dataset(2, 4, 11), CellType::Lstm, oc, 16, TrainOptions{}.seed, 1,
                        "the parameters became NaN/Inf in the update of epoch 1 step 1/");
    expect_numeric_stop(small_dataset(2, 4, 11), CellType::Lstm, oc, 16, TrainOptions{}.seed, 1,
                        "training diverged (lower --lr or set --clip)");
    expect_numeric_stop(small_dataset(2, 4, 11), CellType::Lstm, oc, 16, TrainOptions{}.seed, 1,
                        "training diverged (lower --lr, or --clip (now 1))", 1.0);
}

// Once an unfinished last.safetensors of the run is in --out, a new run there needs --overwrite, and --resume would
// meet the same divergence at the same rate: the advice says so (it said only "lower --lr", and the refusal that
// followed said "add --resume").
TEST(ForecastTraining, DivergenceAdviceStartsOverWhenAnUnfinishedRunIsSaved) {
    EXPECT_EQ(detail::divergence_advice(0), "lower --lr or set --clip");
    EXPECT_EQ(detail::divergence_advice(0, false, true),
              "lower --lr or set --clip and start over with --overwrite (--resume would go on at this learning rate)");
    EXPECT_EQ(detail::divergence_advice(2, true, true),
              "lower --lr, or --clip (now 2) in a new run (--resume keeps the learning rate of the run it continues), "
              "started with --overwrite");
}

TEST(ForecastTraining, CheckpointKeepsWhatEvaluationNeeds) {
    auto be = make_backend("cpu");
    const auto ds = small_dataset(2, 4, 11);
    const auto dev = ForecastDataset::from_windowed(*be, ds);
    Forecaster model(be, {CellType::RnnTanh, ds.num_vars(), 4, 1, false}, 4 * ds.num_targets(), 1);
    OptimizerConfig oc;
    auto opt = make_optimizer(model.params(), oc);
    TrainOptions o;
    o.epochs = 1;
    o.batch = 16;
    o.max_batches = 2;
    o.out_dir = testing::temp_dir();
    o.extra = {{"dataset", ds.meta_json()}};
    ForecastTrainer(model, *opt, dev, o).fit();
    const Checkpoint c = read_checkpoint(o.out_dir + "/best.safetensors");
    EXPECT_FALSE(c.has_optimizer());
    EXPECT_TRUE(read_checkpoint(o.out_dir + "/last.safetensors").has_optimizer());
    const auto stats = data::NormStats::from_json(c.extra.at("dataset").at("stats"));
    EXPECT_EQ(stats.mean, ds.stats.mean);
    EXPECT_EQ(c.extra.at("trainer").at("epochs_done"), 1);
}

}  // namespace
}  // namespace fusedrnn
