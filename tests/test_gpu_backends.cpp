// The GPU backends on a real GPU: the shared suites linked in — the recurrent stack, `cuda` vs `cudnn` vs `cpu`
// (gpu_rnn_suite.cpp: GpuRnnSmall.*, GpuRnnLarge.*), and the dense ops vs `cpu` (gpu_dense_suite.cpp:
// GpuDense.*) — on this process's `cuda` and `cudnn` backends, and here the tests that need the real device:
// registration and out-of-memory (GpuMemory.*), and data-parallel training over GPU ranks (GpuDataParallel.*).
// Skips (with a message) where no GPU is present.
//
// GpuRnnSmall.* and GpuDense.* are small enough for compute-sanitizer (scripts/gpu_check.sh runs memcheck and
// racecheck on them); GpuRnnLarge.* covers batch 1024 and hidden 512; GpuMemory.* has the expected-failure
// allocation test (excluded under the sanitizer, which reports the failed cudaMalloc).
#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "fusedrnn/core/backend.h"
#include "fusedrnn/core/error.h"
#include "fusedrnn/core/gradient_sum.h"
#include "fusedrnn/models/forecast_trainer.h"
#include "fusedrnn/tests/gpu_suites.h"
#include "fusedrnn/tests/gpu_test_buffers.h"
#include "fusedrnn/tests/test_support.h"

namespace fusedrnn {
namespace {

using namespace gpu_test;

#define FR_REQUIRE_GPU()                                                                                   \
    do {                                                                                                   \
        if (!::fusedrnn::gpu_available())                                                                  \
            GTEST_SKIP() << "no CUDA GPU in this process (no device/driver, or a build without "              \
                            "-DFUSEDRNN_CUDA=ON): the GPU tests run on the GPU machine via scripts/gpu_check.sh"; \
    } while (0)

// ---- memory and registration --------------------------------------------------------------------

TEST(GpuMemory, BackendsRegistered) {
    FR_REQUIRE_GPU();
    const auto names = available_backends();
    EXPECT_NE(std::find(names.begin(), names.end(), "cuda"), names.end());
    EXPECT_NE(std::find(names.begin(), names.end(), "cudnn"), names.end());
    EXPECT_EQ(make_backend("auto")->name(), "cuda");
    EXPECT_EQ(make_backend("cudnn")->device().type, DeviceType::CUDA);
    // The library that ran, next to the header it was built against (figures measured against cuDNN quote it).
    const std::string details = make_backend("cudnn")->details();
    EXPECT_EQ(details.rfind("cuDNN 9.", 0), 0u) << details;
    EXPECT_NE(details.find("(built against 9."), std::string::npos) << details;
    EXPECT_NE(details.find("), algo "), std::string::npos) << details;
}

TEST(GpuMemory, AbsurdAllocationThrows) {
    FR_REQUIRE_GPU();
    auto be = make_backend("cuda");
    try {
        be->allocate(size_t(1) << 52);  // 4 PiB
        FAIL() << "expected fusedrnn::OutOfDeviceMemory";
    } catch (const OutOfDeviceMemory& e) {
        EXPECT_NE(std::string(e.what()).find("out of GPU memory"), std::string::npos) << e.what();
    }
    // The backend (and the CUDA context) still work afterwards.
    std::vector<float> v(1000, 3.f);
    DevArray d = upload(*be, v);
    EXPECT_DOUBLE_EQ(be->sum_squares(v.size(), d.data()), 9000.0);
    EXPECT_THROW(make_backend("cuda")->empty({long(1) << 30, long(1) << 22}), Error);
}

// ---- data parallelism ---------------------------------------------------------------------------

// One GPU rank: NCCL when this build has it (a one-rank all-reduce leaves the buffer as it is), else the host sum
// with the reason. Either way the sum of one rank is the identity.
TEST(GpuDataParallel, GradientSumOfOneGpuRank) {
    FR_REQUIRE_GPU();
    auto be = make_backend("cuda");
    const std::vector<float> v{1.5f, -2.f, 3.25f};
    DevArray d = upload(*be, v);
    std::string why;
    auto sum = make_gradient_sum({be.get()}, &why);
    if (sum->name() == "nccl") {
        EXPECT_EQ(why, "");
    } else {
        EXPECT_EQ(sum->name(), "host");
        EXPECT_NE(why.find("no NCCL"), std::string::npos) << why;
        std::printf("note: %s; data parallelism over GPUs sums through host memory\n", why.c_str());
    }
    sum->sum({d.data()}, v.size());
    std::vector<float> back(v.size());
    be->copy_to_host(back.data(), d.data(), back.size() * sizeof(float));
    EXPECT_EQ(back, v);
}

// While an NCCL sum exists the host's waits poll the stream (cudaStreamQuery) for the sum's watch, which looks for a
// dead or hung peer (cuda/nccl_gradient_sum.cpp). ~15 ms of queued work makes the first polls find the stream busy:
// the wait must still return once the work is done, with its results, and leave no "not ready" status behind for the
// next launch's error check to report.
TEST(GpuDataParallel, WaitsPolledForTheNcclWatchEndWithTheWorkAndLeaveNoError) {
    FR_REQUIRE_GPU();
    auto be = make_backend("cuda");
    auto sum = make_gradient_sum({be.get()});
    if (sum->name() != "nccl") {  // not a skip: gpu_check.sh takes any skip on the GPU machine for a missing GPU
        std::printf("note: this build has no NCCL: nothing watches the waits, nothing to check here\n");
        return;
    }
    const size_t n = size_t(64) << 20;  // 256 MB
    const std::shared_ptr<Storage> big = be->allocate(n * sizeof(float));
    float* x = static_cast<float*>(big->data());
    be->fill(n, x, 1.0f);
    for (int i = 0; i < 100; ++i) be->scale(n, x, 1.0f);
    DevArray g = upload(*be, {1.5f, -2.f});
    sum->sum({g.data()}, 2);
    be->synchronize();
    be->scale(n, x, 3.0f);  // launched after a polled wait: its launch check must see no leftover status
    float last = 0;
    be->copy_to_host(&last, x + n - 1, sizeof last);
    EXPECT_EQ(last, 3.0f);
    std::vector<float> back(2);
    be->copy_to_host(back.data(), g.data(), back.size() * sizeof(float));
    EXPECT_EQ(back, (std::vector<float>{1.5f, -2.f}));
}

// Two ranks on one GPU (two backends, two streams, each driven by its own thread; the host sum, since NCCL
// wants one rank per device) train what two CPU ranks train, up to float rounding, and stay identical.
TEST(GpuDataParallel, TwoRanksOnOneGpuTrainLikeTwoCpuRanks) {
    FR_REQUIRE_GPU();
    const data::WindowedDataset ds = testing::station_windows(4, 24, 6, 13, 5);
    struct Run {
        std::vector<EpochRecord> history;
        std::vector<std::vector<float>> params;
        std::string sum, why_not_nccl;
    };
    auto train = [&](const std::string& backend) {
        std::vector<std::shared_ptr<Backend<float>>> bes;
        std::vector<ForecastDataset> data;
        std::vector<std::unique_ptr<Forecaster>> models;
        std::vector<std::unique_ptr<Optimizer>> opts;
        for (int r = 0; r < 2; ++r) {
            bes.push_back(make_backend(backend));
            data.push_back(ForecastDataset::from_windowed(*bes.back(), ds));
            models.push_back(std::make_unique<Forecaster>(
                bes.back(), RnnSpec{CellType::Lstm, ds.num_vars(), 32, 2, false}, 6 * ds.num_targets(), 7));
            opts.push_back(make_optimizer(models.back()->params(), OptimizerConfig{}));
        }
        TrainOptions o;
        o.epochs = 2;
        o.batch = 128;
        o.max_batches = 6;
        o.clip = 1.0;
        o.patience = 0;
        o.seed = 3;
        o.out_dir = testing::temp_dir();
        ForecastTrainer t(*models[0], *opts[0], data[0], o);
        t.add_replicas({{models[1].get(), opts[1].get(), &data[1]}});
        Run r;
        r.history = t.fit();
        for (auto& m : models) r.params.push_back(m->params().values_to_host());
        r.sum = t.gradient_sum_name();
        r.why_not_nccl = t.why_not_nccl();
        return r;
    };
    const Run gpu = train("cuda"), cpu = train("cpu");
    EXPECT_EQ(gpu.sum, "host");
    EXPECT_NE(gpu.why_not_nccl.find("two ranks share a GPU"), std::string::npos) << gpu.why_not_nccl;
    EXPECT_EQ(gpu.params[1], gpu.params[0]);  // the ranks agree to the bit
    ASSERT_EQ(gpu.history.size(), cpu.history.size());
    for (size_t e = 0; e < cpu.history.size(); ++e) {
        EXPECT_NEAR(gpu.history[e].train_loss, cpu.history[e].train_loss, 1e-4 * cpu.history[e].train_loss) << e;
        EXPECT_NEAR(gpu.history[e].val_loss, cpu.history[e].val_loss, 1e-4 * cpu.history[e].val_loss) << e;
    }
    EXPECT_LT(testing::rel_error(gpu.params[0], cpu.params[0]), 1e-3);
}

}  // namespace

// The shared suites run on the real device's backends.
GpuUnderTest gpu_under_test() {
    if (!gpu_available()) return {};
    return GpuUnderTest{make_backend("cuda"), make_backend("cudnn"), false};
}

}  // namespace fusedrnn
