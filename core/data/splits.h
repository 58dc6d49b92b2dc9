// fusedrnn::data — train / validation / test splits by time.
// Splits are time ranges [begin, end) in UTC seconds shared by all stations, so no validation or
// test hour is ever seen in training at any station (no leakage through correlated neighbours).
// A window belongs to a split only if every row it spans lies in that split's range (windows.h).
#pragma once

#include <array>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace fusedrnn::data {

enum class Split { Train = 0, Val = 1, Test = 2 };
constexpr int kNumSplits = 3;
const char* split_name(Split s);  // "train", "val", "test"

constexpr int64_t kTimeMin = std::numeric_limits<int64_t>::min();  // open range ends
constexpr int64_t kTimeMax = std::numeric_limits<int64_t>::max();

struct TimeRange {
    int64_t begin = 0, end = 0;  // [begin, end), UTC seconds
    bool contains(int64_t t) const { return t >= begin && t < end; }
    bool empty() const { return end <= begin; }
    bool overlaps(const TimeRange& o) const { return !empty() && !o.empty() && begin < o.end && o.begin < end; }
    std::string str() const;  // "[2014-01-01 00:00:00, 2022-01-01 00:00:00)"
};

using SplitRanges = std::array<TimeRange, kNumSplits>;

// Rows [first, last) of a series (row r at start + r·step, `rows` rows) whose times lie in `range`.
struct RowRange {
    int64_t first = 0, last = 0;
    int64_t size() const { return last > first ? last - first : 0; }
};
RowRange rows_in_range(int64_t start, int64_t rows, int64_t step, const TimeRange& range);

struct SplitSpec {
    enum class Kind {
        Ranges,     // explicit time ranges (years or dates)
        Fractions,  // the first train_fraction of the data's time span, then val_fraction, test = rest
    };
    Kind kind = Kind::Ranges;
    SplitRanges ranges{};
    double train_fraction = 0.7, val_fraction = 0.15;

    // WEATHER-5K: train 2014-2021, validation 2022, test 2023.
    static SplitSpec weather5k();
    // Whole calendar years, inclusive: years(2014, 2021, 2022, 2022, 2023, 2023).
    static SplitSpec years(int train_first, int train_last, int val_first, int val_last, int test_first,
                           int test_last);
    // Cut points: train [train_begin, val_begin), val [val_begin, test_begin), test [test_begin, test_end).
    // kTimeMin / kTimeMax leave the outer ends open.
    static SplitSpec dates(int64_t train_begin, int64_t val_begin, int64_t test_begin, int64_t test_end = kTimeMax);
    static SplitSpec fractions(double train, double val);
    // From a command-line string:
    //   "weather5k"
    //   "years:2014-2021,2022,2023"            (each part a year or first-last)
    //   "dates:2014-01-01,2022-01-01,2023-01-01[,2024-01-01]"  (an empty first part = from the start)
    //   "fraction:0.7,0.15"                    (test = the rest)
    // Throws fusedrnn::Error showing the accepted forms.
    static SplitSpec parse(const std::string& text);
    // The parse() form: years: for whole years, dates: for cut points; ranges set otherwise (through the API) listed.
    std::string str() const;

    // Concrete ranges for data covering [data_begin, data_end) on a grid of `step` seconds.
    // Fraction cut points are rounded to the nearest grid row. Throws when ranges overlap or are reversed.
    SplitRanges resolve(int64_t data_begin, int64_t data_end, int64_t step) const;

    nlohmann::json to_json() const;
    // `where` names the object in messages ("dataset.split.train.begin is 1.5, not a whole number in [...]").
    static SplitSpec from_json(const nlohmann::json& j, std::string_view where = "split");
};

}  // namespace fusedrnn::data
