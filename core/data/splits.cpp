#include "fusedrnn/core/data/splits.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "fusedrnn/core/data/text.h"
#include "fusedrnn/core/data/time.h"
#include "fusedrnn/core/detail/json_error.h"
#include "fusedrnn/core/detail/json_fields.h"
#include "fusedrnn/core/error.h"

namespace fusedrnn::data {

namespace {

const char* kForms =
    "\"weather5k\", \"years:2014-2021,2022,2023\", \"dates:2014-01-01,2022-01-01,2023-01-01[,2024-01-01]\" or "
    "\"fraction:0.7,0.15\"";

std::string time_str(int64_t t) {
    if (t == kTimeMin) return "start";
    if (t == kTimeMax) return "end";
    return format_time(t);
}

std::vector<std::string> split_on(const std::string& s, char sep) {
    std::vector<std::string> parts;
    size_t pos = 0;
    for (;;) {
        const size_t next = s.find(sep, pos);
        parts.emplace_back(trim(std::string_view(s).substr(pos, next == std::string::npos ? std::string::npos
                                                                                         : next - pos)));
        if (next == std::string::npos) break;
        pos = next + 1;
    }
    return parts;
}

void check_ranges(const SplitRanges& r) {
    for (int i = 0; i < kNumSplits; ++i) {
        FR_CHECK(r[size_t(i)].begin <= r[size_t(i)].end, "split {}: begins at {} after it ends at {}",
                 split_name(Split(i)), time_str(r[size_t(i)].begin), time_str(r[size_t(i)].end));
        for (int j = i + 1; j < kNumSplits; ++j) {
            FR_CHECK(!r[size_t(i)].overlaps(r[size_t(j)]), "splits {} {} and {} {} overlap", split_name(Split(i)),
                     r[size_t(i)].str(), split_name(Split(j)), r[size_t(j)].str());
            // In time order: a forecaster validated or tested on times before those it learned from is scored on a
            // past it has, in effect, seen the future of (and a typo such as years:2014-2021,2022,023 would test on
            // year 23).
            FR_CHECK(r[size_t(i)].empty() || r[size_t(j)].empty() || r[size_t(i)].end <= r[size_t(j)].begin,
                     "split {} {} comes before {} {}: train, validation and test must follow each other in time",
                     split_name(Split(j)), r[size_t(j)].str(), split_name(Split(i)), r[size_t(i)].str());
        }
    }
}

// Whether t is the first second of a year a years: split can begin or end at (1 .. 10000, the end of 9999); its year
// in `year`.
bool year_boundary(int64_t t, int64_t& year) {
    if (t == kTimeMin || t == kTimeMax) return false;
    const CivilTime c = to_civil(t);
    year = c.year;
    return c.year >= 1 && c.year <= 10000 && year_start(c.year) == t;
}

}  // namespace

const char* split_name(Split s) {
    switch (s) {
        case Split::Train: return "train";
        case Split::Val: return "val";
        case Split::Test: return "test";
    }
    return "?";
}

RowRange rows_in_range(int64_t start, int64_t rows, int64_t step, const TimeRange& range) {
    // First row at or after a time t: ceil((t - start) / step), clamped to [0, rows]. The clamps come
    // first so that open ends (kTimeMin / kTimeMax) never overflow.
    auto first_at_or_after = [&](int64_t t) -> int64_t {
        if (t <= start) return 0;
        if (t >= start + rows * step) return rows;
        return (t - start + step - 1) / step;
    };
    RowRange r;
    r.first = first_at_or_after(range.begin);
    r.last = std::max(r.first, first_at_or_after(range.end));
    return r;
}

std::string TimeRange::str() const { return fmt::format("[{}, {})", time_str(begin), time_str(end)); }

SplitSpec SplitSpec::weather5k() { return years(2014, 2021, 2022, 2022, 2023, 2023); }

SplitSpec SplitSpec::years(int train_first, int train_last, int val_first, int val_last, int test_first,
                           int test_last) {
    SplitSpec s;
    s.kind = Kind::Ranges;
    s.ranges[0] = {year_start(train_first), year_start(int64_t(train_last) + 1)};
    s.ranges[1] = {year_start(val_first), year_start(int64_t(val_last) + 1)};
    s.ranges[2] = {year_start(test_first), year_start(int64_t(test_last) + 1)};
    check_ranges(s.ranges);
    return s;
}

SplitSpec SplitSpec::dates(int64_t train_begin, int64_t val_begin, int64_t test_begin, int64_t test_end) {
    SplitSpec s;
    s.kind = Kind::Ranges;
    s.ranges[0] = {train_begin, val_begin};
    s.ranges[1] = {val_begin, test_begin};
    s.ranges[2] = {test_begin, test_end};
    check_ranges(s.ranges);
    return s;
}

SplitSpec SplitSpec::fractions(double train, double val) {
    FR_CHECK(train > 0 && val >= 0 && train + val <= 1.0 + 1e-12,
             "split fractions: need train > 0, val >= 0 and train + val at most 1 (the test split is the rest); got "
             "{} and {} (sum {})", train, val, train + val);
    SplitSpec s;
    s.kind = Kind::Fractions;
    s.train_fraction = train;
    s.val_fraction = val;
    return s;
}

SplitSpec SplitSpec::parse(const std::string& text) {
    const std::string t(trim(text));
    if (t == "weather5k") return weather5k();
    const size_t colon = t.find(':');
    FR_CHECK(colon != std::string::npos, "split \"{}\": expected {}", text, kForms);
    const std::string kind = t.substr(0, colon);
    const std::vector<std::string> parts = split_on(t.substr(colon + 1), ',');
    if (kind == "years") {
        FR_CHECK(parts.size() == 3, "split \"{}\": years needs three parts (train, val, test), e.g. {}", text,
                 "years:2014-2021,2022,2023");
        int first[3], last[3];
        for (int i = 0; i < 3; ++i) {
            const std::string& p = parts[size_t(i)];
            const size_t dash = p.find('-', 1);
            long long a = 0, b = 0;
            const bool ok = dash == std::string::npos
                                ? parse_int(p, a) && (b = a, true)
                                : parse_int(p.substr(0, dash), a) && parse_int(p.substr(dash + 1), b);
            // A year before any weather record is one written short (QA's recheck: years:14,15,16 split at 0014).
            FR_CHECK(!ok || a >= kEarliestYear, "split \"{}\": {} is not a full year ({} write the year in full, as "
                     "2014)", text, a, short_year_guess(a));
            FR_CHECK(ok && a <= b && b <= 9999,
                     "split \"{}\": \"{}\" is not a year ({}-9999) or a year range first-last", text, p,
                     kEarliestYear);
            first[i] = int(a);
            last[i] = int(b);
        }
        return years(first[0], last[0], first[1], last[1], first[2], last[2]);
    }
    if (kind == "dates") {
        FR_CHECK(parts.size() == 3 || parts.size() == 4,
                 "split \"{}\": dates needs train-begin,val-begin,test-begin[,test-end]", text);
        const int64_t a = parts[0].empty() ? kTimeMin : parse_date_arg(parts[0], "split train begin");
        const int64_t b = parse_date_arg(parts[1], "split val begin");
        const int64_t c = parse_date_arg(parts[2], "split test begin");
        const int64_t d = parts.size() == 4 && !parts[3].empty() ? parse_date_arg(parts[3], "split test end") : kTimeMax;
        return dates(a, b, c, d);
    }
    if (kind == "fraction" || kind == "fractions") {
        FR_CHECK(parts.size() == 2, "split \"{}\": fraction needs train,val (test = the rest), e.g. fraction:0.7,0.15",
                 text);
        double a = 0, b = 0;
        FR_CHECK(parse_number(parts[0], a) && parse_number(parts[1], b), "split \"{}\": fractions must be numbers",
                 text);
        return fractions(a, b);
    }
    FR_FAIL("split \"{}\": unknown kind \"{}\"; expected {}", text, kind, kForms);
}

std::string SplitSpec::str() const {
    if (kind == Kind::Fractions) return fmt::format("fraction:{},{}", train_fraction, val_fraction);
    // Whole years (what years: makes, gaps between the splits included): that form.
    int64_t first[kNumSplits], end[kNumSplits];
    bool years_form = true;
    for (int i = 0; i < kNumSplits; ++i)
        years_form = years_form && year_boundary(ranges[size_t(i)].begin, first[i]) &&
                     year_boundary(ranges[size_t(i)].end, end[i]) && end[i] > first[i];
    if (years_form) {
        auto y = [](int64_t a, int64_t e) { return e == a + 1 ? fmt::format("{}", a) : fmt::format("{}-{}", a, e - 1); };
        return fmt::format("years:{},{},{}", y(first[0], end[0]), y(first[1], end[1]), y(first[2], end[2]));
    }
    // Cut points, when each split ends where the next begins (what dates: makes).
    auto d = [](int64_t t) {
        if (t == kTimeMin || t == kTimeMax) return std::string();
        return format_time(t);
    };
    // An open test end is left out, as one writes it (QA: "dates:,A,B," read oddly).
    if (ranges[0].end == ranges[1].begin && ranges[1].end == ranges[2].begin)
        return fmt::format("dates:{},{},{}{}", d(ranges[0].begin), d(ranges[1].begin), d(ranges[2].begin),
                           ranges[2].end == kTimeMax ? std::string() : "," + d(ranges[2].end));
    // Anything else (written through the API or a checkpoint): the ranges themselves.
    return fmt::format("train {}, val {}, test {}", ranges[0].str(), ranges[1].str(), ranges[2].str());
}

SplitRanges SplitSpec::resolve(int64_t data_begin, int64_t data_end, int64_t step) const {
    if (kind == Kind::Ranges) {
        check_ranges(ranges);
        return ranges;
    }
    FR_CHECK(data_end > data_begin && step > 0, "split: empty data span");
    const int64_t rows = (data_end - data_begin) / step;
    // Nearest row, so 0.7 + 0.2 of 1000 rows cuts at row 900 despite 0.7 + 0.2 < 0.9 in binary.
    const int64_t a = data_begin + std::llround(double(rows) * train_fraction) * step;
    const int64_t b = data_begin + std::llround(double(rows) * (train_fraction + val_fraction)) * step;
    SplitRanges r;
    r[0] = {data_begin, a};
    r[1] = {a, b};
    r[2] = {b, data_end};
    return r;
}

nlohmann::json SplitSpec::to_json() const {
    nlohmann::json j;
    if (kind == Kind::Fractions) {
        j["kind"] = "fractions";
        j["train"] = train_fraction;
        j["val"] = val_fraction;
    } else {
        j["kind"] = "ranges";
        // Open ends are written as null (JSON has no int64 sentinels that survive every reader).
        for (int i = 0; i < kNumSplits; ++i) {
            const TimeRange& r = ranges[size_t(i)];
            nlohmann::json e;
            e["begin"] = r.begin == kTimeMin ? nlohmann::json(nullptr) : nlohmann::json(r.begin);
            e["end"] = r.end == kTimeMax ? nlohmann::json(nullptr) : nlohmann::json(r.end);
            e["text"] = r.str();
            j[split_name(Split(i))] = e;
        }
    }
    return j;
}

SplitSpec SplitSpec::from_json(const nlohmann::json& j, std::string_view where) {
    try {
        const std::string kind = j.at("kind").get<std::string>();
        if (kind == "fractions") return fractions(j.at("train").get<double>(), j.at("val").get<double>());
        FR_CHECK(kind == "ranges", "split JSON: unknown kind \"{}\"", kind);
        SplitSpec s;
        s.kind = Kind::Ranges;
        for (int i = 0; i < kNumSplits; ++i) {
            const nlohmann::json& e = j.at(split_name(Split(i)));
            // null: open-ended; else seconds since the epoch.
            const auto time = [&](const char* key, int64_t open) {
                return e.at(key).is_null() ? open : detail::json_whole(e, key, fmt::format("{}.{}.{}", where,
                                                      split_name(Split(i)), key), kTimeMin, kTimeMax);
            };
            s.ranges[size_t(i)].begin = time("begin", kTimeMin);
            s.ranges[size_t(i)].end = time("end", kTimeMax);
        }
        check_ranges(s.ranges);
        return s;
    } catch (const nlohmann::json::exception& e) {
        FR_FAIL("split JSON: {}", detail::json_access_problem(e));
    }
}

}  // namespace fusedrnn::data
