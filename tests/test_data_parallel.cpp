// Data-parallel training (ForecastTrainer::add_replicas) on CPU ranks: R ranks on slices of each batch train
// the model that one rank trains on the whole batch (up to the order of the sums), the ranks stay identical to
// the bit, the threaded runner gives the same bits as the sequential one, a resumed run equals an
// uninterrupted one, and bad set-ups are refused with a clear error. The same code drives GPU ranks, where the
// gradient sum is NCCL's (not run here: no GPU).
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <functional>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "fusedrnn/core/data/dataset.h"
#include "fusedrnn/core/gradient_sum.h"
#include "fusedrnn/core/process_group.h"
#include "fusedrnn/models/data_parallel.h"
#include "fusedrnn/models/forecast_trainer.h"
#include "fusedrnn/tests/test_support.h"
#include "fusedrnn/tests/thread_process_group.h"

namespace fusedrnn {
namespace {

// R ranks, each with its own CPU backend, model, optimizer and copy of the dataset.
class DataParallel : public ::testing::Test {
protected:
    data::WindowedDataset ds = testing::station_windows(3, 24, 6, 23);
    CellType cell = CellType::Gru;
    int layers = 1;
    float dropout = 0;
    bool seq2seq = false;
    std::function<void(TrainOptions&)> tweak;
    std::vector<std::string> messages;  // the trainer's notes (resume, early stop)

    struct Result {
        std::vector<EpochRecord> history;
        std::vector<std::vector<float>> params;  // per rank
    };

    // Each rank's backend, data, model and optimizer. The models get different seeds: the trainer must start every
    // rank from rank 0's parameters. `scale_last_rank` multiplies the last rank's series (a rank with other data).
    struct Ranks {
        std::vector<std::shared_ptr<Backend<float>>> backends;
        std::vector<ForecastDataset> data;
        std::vector<std::unique_ptr<Forecaster>> models;
        std::vector<std::unique_ptr<Optimizer>> opts;
        std::vector<Replica> replicas() {
            std::vector<Replica> r;
            for (size_t k = 1; k < models.size(); ++k) r.push_back({models[k].get(), opts[k].get(), &data[k]});
            return r;
        }
    };
    Ranks make_ranks(int n, float scale_last_rank = 1) const {
        const RnnSpec spec{cell, ds.num_vars(), 8, layers, false};
        Ranks k;
        for (int r = 0; r < n; ++r) {
            const auto be = make_backend("cpu");
            k.backends.push_back(be);
            data::WindowedDataset scaled;
            if (scale_last_rank != 1 && r == n - 1) {
                scaled = ds;
                for (float& v : scaled.data.values) v *= scale_last_rank;
            }
            const data::WindowedDataset& d = scale_last_rank != 1 && r == n - 1 ? scaled : ds;
            k.data.push_back(r == 0 ? ForecastDataset::from_windowed(*be, d) : ForecastDataset::training_replica(*be, d));
            k.models.push_back(seq2seq ? std::make_unique<Forecaster>(be, spec, Seq2SeqShape{6, ds.target_cols}, 5 + r)
                                       : std::make_unique<Forecaster>(be, spec, 6 * ds.num_targets(), 5 + r));
            k.models.back()->set_dropout(dropout);
            k.opts.push_back(make_optimizer(k.models.back()->params(), OptimizerConfig{}));
        }
        return k;
    }

    TrainOptions options(const std::string& dir, bool resume, int polls_before_stop) const {
        TrainOptions o;
        o.epochs = 2;
        o.batch = 32;
        o.max_batches = 5;
        o.seed = 9;
        o.patience = 0;
        o.clip = 0.5;  // clipping reads the summed gradient's norm: the same on every rank
        o.out_dir = dir;
        o.resume = resume;
        o.checkpoint_seconds = 0;
        o.lr_decay = 0.8;
        o.extra = {{"dataset", ds.meta_json()}};
        o.stop_requested = testing::stop_at_poll(polls_before_stop);
        if (tweak) tweak(o);
        return o;
    }

    Result train(int ranks, const std::string& dir, RankRunner::Threads threads = RankRunner::Threads::Auto,
                 bool resume = false, int polls_before_stop = -1) {
        Ranks k = make_ranks(ranks);
        ForecastTrainer t(*k.models[0], *k.opts[0], k.data[0], options(dir, resume, polls_before_stop));
        t.add_replicas(k.replicas(), threads);
        t.on_message = [this](const std::string& m) { messages.push_back(m); };
        EXPECT_EQ(t.ranks(), ranks);
        EXPECT_EQ(t.gradient_sum_name(), ranks > 1 ? "host" : "none");
        Result res;
        res.history = t.fit();
        for (auto& m : k.models) res.params.push_back(m->params().values_to_host());
        return res;
    }

    // `processes` processes of `local_ranks` ranks each (threads standing for processes: tests/thread_process_group.h),
    // sharing `dir` as processes share a filesystem. `stop_process` alone is asked to stop, at its poll
    // `polls_before_stop`; `per_process` may give a process other options.
    struct ProcessRun {
        std::vector<Result> results;              // per process (its ranks' parameters)
        std::vector<std::exception_ptr> errors;   // per process
    };
    ProcessRun train_processes(int processes, int local_ranks, const std::string& dir, bool resume = false,
                               int stop_process = -1, int polls_before_stop = -1,
                               const std::function<void(int, TrainOptions&)>& per_process = {}) {
        testing::ThreadProcesses threads(processes);
        ProcessRun run;
        run.results.resize(size_t(processes));
        run.errors = threads.run([&](int p, ProcessGroup& group) {
            Ranks k = make_ranks(local_ranks);
            TrainOptions o = options(dir, resume, p == stop_process ? polls_before_stop : -1);
            if (per_process) per_process(p, o);
            ForecastTrainer t(*k.models[0], *k.opts[0], k.data[0], o);
            t.set_up_data_parallel(k.replicas(), &group);
            EXPECT_EQ(t.ranks(), processes * local_ranks);
            if (p == 0) t.on_message = [this](const std::string& m) { messages.push_back(m); };
            Result& res = run.results[size_t(p)];
            res.history = t.fit();
            for (auto& m : k.models) res.params.push_back(m->params().values_to_host());
        });
        return run;
    }

    static void expect_no_errors(const ProcessRun& run) {
        for (size_t p = 0; p < run.errors.size(); ++p)
            if (run.errors[p]) {
                try {
                    std::rethrow_exception(run.errors[p]);
                } catch (const std::exception& e) {
                    ADD_FAILURE() << "process " << p << ": " << e.what();
                }
            }
    }

    static std::string error_text(const std::exception_ptr& e) {
        if (!e) return "(no error)";
        try {
            std::rethrow_exception(e);
        } catch (const Interrupted& i) {
            return std::string("Interrupted: ") + i.what();
        } catch (const std::exception& x) {
            return x.what();
        }
    }

    // Every rank of every process holds `expected`, and every process has its history.
    static void expect_processes_trained(const ProcessRun& run, const Result& expected) {
        expect_no_errors(run);
        for (size_t p = 0; p < run.results.size(); ++p) {
            SCOPED_TRACE("process " + std::to_string(p));
            for (const auto& params : run.results[p].params) EXPECT_EQ(params, expected.params[0]);
            testing::expect_same_history(run.results[p].history, expected.history);
        }
    }

    // The stop-request polls of the first epoch: its 5 steps, then one per round of validation batches of 32 (a
    // batch per rank).
    int polls_in_first_epoch(int ranks) const {
        const size_t val_windows = ForecastDataset::from_windowed(*make_backend("cpu"), ds).starts[1].size();
        const size_t batches = (val_windows + 31) / 32;
        return int(5 + (batches + size_t(ranks) - 1) / size_t(ranks));
    }

    static void expect_close(const Result& a, const Result& b, double tol) {
        ASSERT_EQ(a.history.size(), b.history.size());
        for (size_t e = 0; e < a.history.size(); ++e) {
            EXPECT_NEAR(a.history[e].train_loss, b.history[e].train_loss, tol * std::abs(b.history[e].train_loss));
            EXPECT_NEAR(a.history[e].val_loss, b.history[e].val_loss, tol * std::abs(b.history[e].val_loss));
            EXPECT_NEAR(a.history[e].grad_norm, b.history[e].grad_norm, tol * std::abs(b.history[e].grad_norm));
        }
        ASSERT_EQ(a.params[0].size(), b.params[0].size());
        EXPECT_LT(largest_difference(a.params[0], b.params[0]), tol) << "largest parameter difference";
    }

    static double largest_difference(const std::vector<float>& p, const std::vector<float>& q) {
        double worst = 0;
        for (size_t i = 0; i < p.size() && i < q.size(); ++i) worst = std::max(worst, double(std::abs(p[i] - q[i])));
        return worst;
    }

    // 2 and 4 ranks, each on its slice of every batch, train the model `one` rank trained on the whole batches.
    // Each rank draws its rows of the mask the whole batch draws on one rank (the masks are keyed by the row within
    // the whole batch), so dropout leaves the ranks training the one-rank model. Without that, the losses would differ
    // by far more than rounding: dropout 0.3 changes the run (checked against dropout 0).
    void expect_dropout_ranks_train_like_one() {
        layers = 2;
        const Result plain = train(1, testing::temp_dir());
        dropout = 0.3f;
        const Result one = train(1, testing::temp_dir());
        EXPECT_GT(largest_difference(one.params[0], plain.params[0]), 100 * 2e-5)
            << "dropout should change the parameters far more than the ranks' rounding";
        expect_ranks_train_like(one);
    }

    void expect_ranks_train_like(const Result& one) {
        for (int ranks : {2, 4}) {
            SCOPED_TRACE(ranks);
            const Result many = train(ranks, testing::temp_dir());
            expect_ranks_identical(many);
            // Float sums in another order: equal to ~1e-7 per step, a few steps of Adam amplify that a little.
            expect_close(many, one, 2e-5);
        }
    }

    static void expect_ranks_identical(const Result& r) {
        for (size_t k = 1; k < r.params.size(); ++k)
            EXPECT_EQ(0, std::memcmp(r.params[k].data(), r.params[0].data(), r.params[0].size() * sizeof(float)))
                << "rank " << k << " differs from rank 0";
    }
};

TEST_F(DataParallel, RanksOnSlicesOfTheBatchTrainLikeOneRankOnTheWholeBatch) {
    expect_ranks_train_like(train(1, testing::temp_dir()));
}

TEST_F(DataParallel, Seq2SeqLstmWithTeacherForcingTrainsLikeOneRank) {
    cell = CellType::Lstm;
    seq2seq = true;
    tweak = [](TrainOptions& o) { o.teacher_forcing = 0.5; };  // every rank must draw the same lead times
    const Result one = train(1, testing::temp_dir());
    const Result two = train(2, testing::temp_dir());
    expect_ranks_identical(two);
    expect_close(two, one, 2e-5);
}

TEST_F(DataParallel, DropoutRanksDrawTheMasksOfOneRank) { expect_dropout_ranks_train_like_one(); }

// The same for an encoder-decoder, whose decoder masks between its layers at every lead time.
TEST_F(DataParallel, Seq2SeqDropoutRanksDrawTheMasksOfOneRank) {
    cell = CellType::Lstm;
    seq2seq = true;
    tweak = [](TrainOptions& o) { o.teacher_forcing = 0.5; };
    expect_dropout_ranks_train_like_one();
}

// On a GPU each rank runs on a thread of its own; the result must not depend on that.
TEST_F(DataParallel, ThreadedRanksGiveTheSameBitsAsSequentialOnes) {
    tweak = [](TrainOptions& o) { o.batch = 30; };
    const Result sequential = train(3, testing::temp_dir(), RankRunner::Threads::None);
    const Result threaded = train(3, testing::temp_dir(), RankRunner::Threads::Always);
    expect_ranks_identical(threaded);
    EXPECT_EQ(threaded.params, sequential.params);
    testing::expect_same_history(threaded.history, sequential.history);
}

TEST_F(DataParallel, ResumeMidEpochEqualsAnUninterruptedRun) {
    const Result full = train(2, testing::temp_dir());
    const std::string dir = testing::temp_dir();
    EXPECT_THROW(train(2, dir, RankRunner::Threads::Auto, false, polls_in_first_epoch(2) + 2), Interrupted);  // epoch 2
    const Result resumed = train(2, dir, RankRunner::Threads::Auto, true);
    expect_ranks_identical(resumed);
    EXPECT_EQ(resumed.params, full.params);  // bit-identical on the CPU
    testing::expect_same_history(resumed.history, full.history);
}

TEST_F(DataParallel, ResumeWithDropoutEqualsAnUninterruptedRun) {
    layers = 2;
    dropout = 0.25f;
    const Result full = train(2, testing::temp_dir());
    const std::string dir = testing::temp_dir();
    EXPECT_THROW(train(2, dir, RankRunner::Threads::Auto, false, polls_in_first_epoch(2) + 2), Interrupted);  // epoch 2
    const Result resumed = train(2, dir, RankRunner::Threads::Auto, true);
    EXPECT_EQ(resumed.params, full.params);  // the resumed steps draw the masks of the uninterrupted ones
    testing::expect_same_history(resumed.history, full.history);
}

// A run may go on with another number of ranks (a machine with fewer GPUs): the same batches and schedule, so the
// same run up to rounding, and a note says so.
TEST_F(DataParallel, ResumingWithAnotherNumberOfRanksContinuesTheSameRun) {
    const Result full = train(2, testing::temp_dir());
    const std::string dir = testing::temp_dir();
    EXPECT_THROW(train(2, dir, RankRunner::Threads::Auto, false, polls_in_first_epoch(2) + 2), Interrupted);
    messages.clear();
    const Result resumed = train(1, dir, RankRunner::Threads::Auto, true);
    expect_close(resumed, full, 2e-5);
    ASSERT_FALSE(messages.empty());
    EXPECT_NE(messages[0].find("was trained on 2 data-parallel ranks, this run has 1: the same batches"),
              std::string::npos) << messages[0];
}

// Several processes (mpirun -np P; here threads standing for them) with their ranks train the run that as many ranks
// in one process train, to the bit: the gradient sum, the step losses and the validation losses are gathered across
// the processes and added in global rank order.
TEST_F(DataParallel, ProcessesTrainAsTheirRanksInOneProcessToTheBit) {
    expect_processes_trained(train_processes(2, 1, testing::temp_dir()), train(2, testing::temp_dir()));
    expect_processes_trained(train_processes(2, 2, testing::temp_dir()), train(4, testing::temp_dir()));
}

TEST_F(DataParallel, ProcessesWithDropoutTrainAsTheirRanksInOneProcess) {
    layers = 2;
    dropout = 0.3f;
    expect_processes_trained(train_processes(2, 1, testing::temp_dir()), train(2, testing::temp_dir()));
}

// A stop asked of one process only (mpirun forwards Ctrl-C to all, but a scheduler may signal one) stops every
// process at the same step; process 0 saves, and the processes resume to the uninterrupted run.
TEST_F(DataParallel, AStopAskedOfOneProcessStopsThemAllAtOneStepAndTheyResume) {
    const Result full = train(2, testing::temp_dir());
    const std::string dir = testing::temp_dir();
    const ProcessRun stopped = train_processes(2, 1, dir, false, 1, polls_in_first_epoch(2) + 2);  // in epoch 2
    const std::string e0 = error_text(stopped.errors[0]), e1 = error_text(stopped.errors[1]);
    EXPECT_EQ(e0.rfind("Interrupted: stopped at epoch 2, step 2/5; saved " + dir + "/last.safetensors", 0), 0u) << e0;
    EXPECT_EQ(e1.rfind("Interrupted: stopped at epoch 2, step 2/5; process 0 saved " + dir, 0), 0u) << e1;
    messages.clear();
    expect_processes_trained(train_processes(2, 1, dir, true), full);
    ASSERT_FALSE(messages.empty());
    EXPECT_NE(messages[0].find("resumed from " + dir + "/last.safetensors in epoch 2 at step 2/5"), std::string::npos)
        << messages[0];
}

// Processes started with other flags would train other runs, or wait forever at a collective: every process stops
// at the start, naming what differs.
TEST_F(DataParallel, ProcessesStartedWithOtherOptionsStopNamingTheDifference) {
    const ProcessRun run = train_processes(2, 1, testing::temp_dir(), false, -1, -1, [](int p, TrainOptions& o) {
        if (p == 1) o.seed = 10;
    });
    for (const auto& e : run.errors)
        EXPECT_NE(error_text(e).find("process 1 has 'seed 10' where process 0 has 'seed 9'"), std::string::npos)
            << error_text(e);
    const ProcessRun batch = train_processes(2, 1, testing::temp_dir(), false, -1, -1, [](int p, TrainOptions& o) {
        if (p == 1) o.batch = 64;
    });
    EXPECT_NE(error_text(batch.errors[0]).find("'batch 64' where process 0 has 'batch 32'"), std::string::npos)
        << error_text(batch.errors[0]);
}

// Validation batches go round the ranks (batch b on rank b % R) and their losses are summed in batch order: the
// mean is one rank's to the bit. A rank holding other values changes it, so the ranks do share the batches.
TEST_F(DataParallel, ValidationIsSharedAmongTheRanksAndEqualsOneRanksToTheBit) {
    auto mean_validation_loss = [&](int ranks, float scale_last_rank) {
        Ranks k = make_ranks(ranks, scale_last_rank);
        TrainOptions o;
        o.batch = 24;  // 1, 2 and 4 ranks divide it
        o.out_dir = testing::temp_dir();
        ForecastTrainer t(*k.models[0], *k.opts[0], k.data[0], o);
        t.add_replicas(k.replicas());
        return t.loss_on(k.data[0].starts[1]);  // starts every rank from rank 0's parameters
    };
    const size_t batches = (ForecastDataset::from_windowed(*make_backend("cpu"), ds).starts[1].size() + 23) / 24;
    ASSERT_NE(batches % 4, 0u) << "the last round should leave a rank idle; batches " << batches;
    const double one = mean_validation_loss(1, 1);
    EXPECT_EQ(mean_validation_loss(2, 1), one);
    EXPECT_EQ(mean_validation_loss(4, 1), one);
    EXPECT_NE(mean_validation_loss(4, 0.5f), one);
}

TEST_F(DataParallel, ABatchThatDoesNotSplitEvenlyIsRefused) {
    tweak = [](TrainOptions& o) { o.batch = 30; };
    try {
        train(4, testing::temp_dir());
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("--batch 30 does not split evenly over 4"), std::string::npos) << e.what();
    }
}

TEST_F(DataParallel, AReplicaOfAnotherModelIsRefused) {
    auto be = make_backend("cpu"), be1 = make_backend("cpu");
    const auto d0 = ForecastDataset::from_windowed(*be, ds);
    const auto d1 = ForecastDataset::from_windowed(*be1, ds);
    Forecaster m0(be, RnnSpec{CellType::Gru, ds.num_vars(), 8, 1, false}, 6 * ds.num_targets(), 1);
    Forecaster m1(be1, RnnSpec{CellType::Gru, ds.num_vars(), 16, 1, false}, 6 * ds.num_targets(), 1);
    auto o0 = make_optimizer(m0.params(), OptimizerConfig{});
    auto o1 = make_optimizer(m1.params(), OptimizerConfig{});
    TrainOptions o;
    o.batch = 32;
    o.out_dir = testing::temp_dir();
    ForecastTrainer t(m0, *o0, d0, o);
    try {
        t.add_replicas({{&m1, o1.get(), &d1}});
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("rank 1 holds a different model"), std::string::npos) << e.what();
    }
}

TEST(GradientSum, HostSumIsInRankOrderAndTheSameOnEveryRank) {
    std::vector<std::shared_ptr<Backend<float>>> owners;
    std::vector<Backend<float>*> backends;
    std::vector<Tensor<float>> bufs;
    // Values whose float sum depends on the order: 1e8 + 1 - 1e8 + 1 is 1 in this order (not 2).
    const std::vector<std::vector<float>> values{{1e8f, 3}, {1, 4}, {-1e8f, 5}, {1, 6}};
    for (const auto& v : values) {
        owners.push_back(make_backend("cpu"));
        backends.push_back(owners.back().get());
        bufs.push_back(owners.back()->from_host(v, {2}));
    }
    std::string why;
    auto sum = make_gradient_sum(backends, &why);
    EXPECT_EQ(sum->name(), "host");
    EXPECT_EQ(why, "");  // CPU ranks: the host sum is the only kind, not a fallback
    std::vector<float*> ptrs;
    for (auto& b : bufs) ptrs.push_back(b.data());
    sum->sum(ptrs, 2);
    const float expect0 = ((1e8f + 1.0f) + -1e8f) + 1.0f;
    for (size_t r = 0; r < bufs.size(); ++r) {
        const auto h = owners[r]->to_host(bufs[r]);
        EXPECT_EQ(h[0], expect0) << "rank " << r;
        EXPECT_EQ(h[1], 18.0f) << "rank " << r;
    }
}

// How long the other ranks or processes may keep a training step waiting before the run is given up as hung (the
// NCCL watch, cuda/nccl_gradient_sum.cpp, tested on the emulated NCCL; the MPI collectives, tools/mpi_world.cpp,
// tested under mpirun): 600 s unless set, and a bad value is an error that names the variable, not a silent default.
TEST(ProcessGroup, PeerTimeoutFromTheEnvironment) {
    {
        const testing::ScopedEnv unset("FUSEDRNN_PEER_TIMEOUT_S", "");
        EXPECT_EQ(peer_timeout_seconds(), 600.0);
    }
    for (const auto& [text, seconds] : std::vector<std::pair<const char*, double>>{{"30", 30}, {"0.5", 0.5},
                                                                                   {"1e4", 1e4}}) {
        const testing::ScopedEnv set("FUSEDRNN_PEER_TIMEOUT_S", text);
        EXPECT_EQ(peer_timeout_seconds(), seconds) << text;
    }
    for (const char* bad : {"0", "-1", "abc", "5s", " ", "inf", "nan", "1e999"}) {
        const testing::ScopedEnv set("FUSEDRNN_PEER_TIMEOUT_S", bad);
        const std::string e = testing::error_of([] { (void)peer_timeout_seconds(); });
        EXPECT_NE(e.find(fmt::format("FUSEDRNN_PEER_TIMEOUT_S='{}': expected a number of seconds > 0", bad)),
                  std::string::npos)
            << e;
    }
}

TEST(RankRunner, RunsEveryRankOnItsOwnThreadAndRethrowsTheLowestRanksError) {
    std::vector<std::shared_ptr<Backend<float>>> owners;
    std::vector<Backend<float>*> backends;
    for (int r = 0; r < 4; ++r) {
        owners.push_back(make_backend("cpu"));
        backends.push_back(owners.back().get());
    }
    RankRunner threaded(backends, RankRunner::Threads::Always);
    EXPECT_TRUE(threaded.threaded());
    EXPECT_FALSE(RankRunner(backends).threaded());  // CPU ranks: no threads unless asked
    for (int round = 0; round < 200; ++round) {     // many rounds: a lost wake-up or a race would show
        std::vector<std::thread::id> ids(4);
        std::atomic<int> calls{0};
        threaded.run([&](int r) {
            ids[size_t(r)] = std::this_thread::get_id();
            ++calls;
        });
        ASSERT_EQ(calls.load(), 4);
        EXPECT_EQ(ids[0], std::this_thread::get_id());  // rank 0 on the caller's thread
        EXPECT_EQ(std::set<std::thread::id>(ids.begin(), ids.end()).size(), 4u);
    }
    std::atomic<int> finished{0};
    try {
        threaded.run([&](int r) {
            if (r >= 2) throw std::runtime_error("rank " + std::to_string(r));
            ++finished;
        });
        FAIL() << "expected an error";
    } catch (const std::runtime_error& e) {
        EXPECT_STREQ(e.what(), "rank 2");
    }
    EXPECT_EQ(finished.load(), 2);
    std::atomic<int> after{0};  // still usable after an error
    threaded.run([&](int) { ++after; });
    EXPECT_EQ(after.load(), 4);
}

}  // namespace
}  // namespace fusedrnn
