// Forecasting end to end on synthetic stations: resume equals an uninterrupted run (bit-identical on
// the CPU backend), a short run beats persistence on validation, and the trainer stops with a clear
// error on NaN.
#include <algorithm>
#include <cstring>
#include <filesystem>

#include "core/data/dataset.h"
#include "core/data/synthetic.h"
#include "models/checkpoint.h"
#include "models/forecast_trainer.h"
#include "tests/test_support.h"

namespace fusedrnn {
namespace {

data::WindowedDataset small_dataset(int stations, int horizon, int64_t stride) {
    data::SyntheticConfig sc;
    sc.stations = stations;
    sc.years = 3;
    sc.start_year = 2021;
    sc.seed = 3;
    data::DatasetConfig dc;
    dc.window.input_len = 24;
    dc.window.horizon = horizon;
    dc.split = data::SplitSpec::years(2021, 2021, 2022, 2022, 2023, 2023);
    dc.stride = stride;
    return data::build_dataset(data::generate_synthetic(sc), dc);
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

TEST(ForecastTraining, NanInDataStopsWithStepAndCause) {
    auto be = make_backend("cpu");
    auto ds = small_dataset(2, 4, 11);
    // Corrupt a row inside the first training window: the trainer must stop naming the cause.
    for (int64_t s : ds.starts[0]) ds.data.values[size_t(s) * ds.num_vars()] = std::nanf("");
    const auto dev = ForecastDataset::from_windowed(*be, ds);
    Forecaster model(be, {CellType::Lstm, ds.num_vars(), 4, 1, false}, 4 * ds.num_targets(), 1);
    OptimizerConfig oc;
    auto opt = make_optimizer(model.params(), oc);
    TrainOptions o;
    o.epochs = 1;
    o.batch = 16;
    o.out_dir = testing::temp_dir();
    ForecastTrainer t(model, *opt, dev, o);
    try {
        t.fit();
        FAIL() << "expected NumericError";
    } catch (const NumericError& e) {
        const std::string m = e.what();
        EXPECT_NE(m.find("epoch 1 step 1/"), std::string::npos) << m;
        EXPECT_NE(m.find("NaN/Inf values"), std::string::npos) << m;
    }
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
