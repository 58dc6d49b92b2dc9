// WindowStarts: the run form of a split's window starts reads back exactly the sequence it was given,
// however it was built (one by one, from a vector, or joined from pieces), and stays small for the long
// unbroken stretches real station data has.
#include <algorithm>
#include <cstdint>
#include <iostream>
#include <random>
#include <vector>

#include "fusedrnn/core/data/dataset.h"
#include "fusedrnn/core/data/synthetic.h"
#include "fusedrnn/core/data/window_starts.h"
#include "fusedrnn/core/error.h"
#include "fusedrnn/tests/test_support.h"

namespace fusedrnn::data {
namespace {

// Increasing starts in stretches of random length and step (1 or a stride), with singletons between.
std::vector<int64_t> random_starts(std::mt19937_64& rng, size_t n) {
    std::vector<int64_t> v;
    int64_t row = int64_t(rng() % 100);
    while (v.size() < n) {
        const int64_t step = rng() % 3 == 0 ? 1 + int64_t(rng() % 24) : 1;
        const size_t len = 1 + size_t(rng() % (rng() % 2 ? 3 : 500));
        for (size_t i = 0; i < len && v.size() < n; ++i, row += step) v.push_back(row);
        row += int64_t(rng() % 50);  // a gap (possibly none: the next stretch may continue this one)
    }
    return v;
}

TEST(WindowStarts, ReadsBackTheSequenceHoweverBuilt) {
    std::mt19937_64 rng(testing::test_seed());
    for (int trial = 0; trial < 20; ++trial) {
        const auto v = random_starts(rng, 1 + rng() % 5000);
        WindowStarts pushed;
        for (int64_t s : v) pushed.push_back(s);
        const WindowStarts converted = WindowStarts::from_vector(v);
        WindowStarts joined;  // from pieces cut at random points (as stations are joined)
        for (size_t i = 0; i < v.size();) {
            const size_t len = std::min(v.size() - i, size_t(1 + rng() % 700));
            joined.append(WindowStarts::from_vector(std::vector<int64_t>(v.begin() + long(i), v.begin() + long(i + len))));
            i += len;
        }
        for (const WindowStarts* w : std::vector<const WindowStarts*>{&pushed, &converted, &joined}) {
            ASSERT_EQ(w->size(), v.size());
            EXPECT_EQ(w->to_vector(), v);
            for (size_t i = 0; i < v.size(); i += 1 + rng() % 7) ASSERT_EQ((*w)[i], v[i]) << i;
            EXPECT_EQ(w->front(), v.front());
            EXPECT_EQ(w->back(), v.back());
            EXPECT_EQ(std::vector<int64_t>(w->begin(), w->end()), v);
            for (int k = 0; k < 20; ++k) {  // ranges across run boundaries
                const size_t i = rng() % v.size(), n = rng() % (v.size() - i + 1);
                std::vector<int64_t> out(n);
                w->copy_to(i, n, out.data());
                ASSERT_EQ(out, std::vector<int64_t>(v.begin() + long(i), v.begin() + long(i + n))) << i << "+" << n;
            }
        }
        // One canonical form: the three builds are equal, runs and all.
        EXPECT_EQ(pushed, converted);
        EXPECT_EQ(pushed, joined);
        EXPECT_EQ(pushed.num_runs(), joined.num_runs());
    }
}

TEST(WindowStarts, StretchesCostOneRunEach) {
    WindowStarts w;
    for (int64_t s = 0; s < 1000000; ++s) w.push_back(s);
    for (int64_t s = 2000000; s < 3000000; s += 24) w.push_back(s);  // stride 24
    w.push_back(5000000);
    EXPECT_EQ(w.size(), 1000000u + 41667u + 1u);
    EXPECT_EQ(w.num_runs(), 3u);
    EXPECT_EQ(w[1000000], 2000000);
    EXPECT_EQ(w[1041666], 2999984);  // 2000000 + 24·41666
    EXPECT_EQ(w.back(), 5000000);
}

TEST(WindowStarts, MisuseIsAnError) {
    WindowStarts w = WindowStarts::from_vector({3, 5, 7});
    EXPECT_THROW(w.push_back(7), Error);   // not increasing
    EXPECT_THROW(w.push_back(2), Error);
    EXPECT_THROW(w[3], Error);             // past the end
    std::vector<int64_t> out(4);
    EXPECT_THROW(w.copy_to(1, 3, out.data()), Error);
    EXPECT_THROW(w.append(WindowStarts::from_vector({6, 9})), Error);
    EXPECT_THROW(WindowStarts::from_vector({1, 2, 2}), Error);
    EXPECT_THROW(WindowStarts()[0], Error);
    EXPECT_EQ(w.to_vector(), (std::vector<int64_t>{3, 5, 7}));  // unchanged by the failed calls
}

// On synthetic stations (gaps included) the run form is a small fraction of one int64 per window.
TEST(WindowStarts, DatasetStartsAreCompact) {
    SyntheticConfig sc;
    sc.stations = 6;
    sc.years = 3;
    sc.start_year = 2021;
    DatasetConfig dc;
    dc.split = SplitSpec::years(2021, 2021, 2022, 2022, 2023, 2023);
    const auto ds = build_dataset(generate_synthetic(sc), dc);
    for (int k = 0; k < kNumSplits; ++k) {
        const auto& w = ds.windows(Split(k));
        ASSERT_GT(w.size(), 10000u);
        std::cout << split_name(Split(k)) << ": " << w.size() << " windows in " << w.num_runs() << " runs, "
                  << w.memory_bytes() << " bytes\n";
        EXPECT_LT(double(w.memory_bytes()), 0.1 * 8.0 * double(w.size()));
    }
}

}  // namespace
}  // namespace fusedrnn::data
