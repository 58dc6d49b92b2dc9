// The CPU backend's gather_windows against the data pipeline's reference gather, on synthetic windows.
#include <array>
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "fusedrnn/core/backend.h"
#include "fusedrnn/core/data/dataset.h"
#include "fusedrnn/core/data/gather.h"
#include "fusedrnn/core/data/sampler.h"
#include "fusedrnn/core/data/synthetic.h"
#include "fusedrnn/tests/test_support.h"

namespace fusedrnn {
namespace {

TEST(GatherCpu, MatchesTheReferenceOnSampledBatches) {
    data::SyntheticConfig sc;
    sc.stations = 3;
    sc.years = 1;
    data::DatasetConfig dc;
    dc.window.input_len = 12;
    dc.window.in_step = 2;
    dc.window.horizon = 5;
    dc.window.out_offset = 3;
    dc.window.out_step = 2;
    dc.targets = {"SLP", "TMP"};
    dc.split = data::SplitSpec::fractions(0.6, 0.2);
    const auto ds = data::build_dataset(data::generate_synthetic(sc), dc);
    auto be = make_backend("cpu");
    const int B = 37, F = ds.num_vars(), K = ds.num_targets();
    const data::BatchSampler sampler(ds.starts[0], B, data::BatchSampler::Order::Shuffled, 4);
    std::vector<int64_t> starts;
    for (int b = 0; b < 3; ++b) {
        sampler.batch(2, b, starts);
        const auto& w = ds.window;
        std::vector<float> x(size_t(w.input_len) * B * F), y(size_t(B) * w.horizon * K), xr(x.size()), yr(y.size());
        be->gather_windows(ds.series(), F, starts.data(), B, w, ds.target_cols.data(), K, x.data(), y.data());
        data::gather_windows_reference(ds.series(), ds.rows(), F, starts.data(), B, w, ds.target_cols.data(), K,
                                       xr.data(), yr.data());
        EXPECT_EQ(x, xr);
        EXPECT_EQ(y, yr);
        for (float v : x) ASSERT_TRUE(std::isfinite(v));  // valid windows never read a missing value
    }
}

}  // namespace
}  // namespace fusedrnn
