#include "fusedrnn/core/data/far_values.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include <fmt/format.h>

#include "fusedrnn/core/data/text.h"
#include "fusedrnn/core/data/time.h"
#include "fusedrnn/core/error.h"

namespace fusedrnn::data {

namespace {

// Where one value of a station was read, when its reader kept it: the station's lowest and highest values'.
std::string origin_of(const StationInfo& st, const std::string& var, float value) {
    for (const ValueOrigin& o : st.extremes)
        if (o.var == var && o.value == value) return o.where;
    return {};
}

// Rows between sampled training rows: one, or a stride coprime with the day's 24 hours and 144 ten-minute rows, so
// that the sample does not fall on one hour of the day (and miss the diurnal cycle's spread).
int64_t sample_stride(int64_t rows) {
    if (rows <= kFarValuesSample) return 1;
    int64_t stride = (rows + kFarValuesSample - 1) / kFarValuesSample;
    while (stride % 2 == 0 || stride % 3 == 0) ++stride;
    return stride;
}

int64_t training_rows(const StationSet& set, const TimeRange& train) {
    int64_t n = 0;
    for (const StationInfo& st : set.stations) n += rows_in_range(st.start, st.rows, set.step, train).size();
    return n;
}

// The present training values of variable v in every stride-th training row, stations in order.
std::vector<float> sample_values(const StationSet& set, const TimeRange& train, int v, int64_t stride) {
    const int F = set.num_vars();
    std::vector<float> out;
    int64_t seen = 0;  // training rows before this station's
    for (const StationInfo& st : set.stations) {
        const RowRange rr = rows_in_range(st.start, st.rows, set.step, train);
        const float* base = set.values.data() + st.row_begin * F;
        for (int64_t r = rr.first + (stride - seen % stride) % stride; r < rr.last; r += stride)
            if (!is_missing(base[r * F + v])) out.push_back(base[r * F + v]);
        seen += rr.size();
    }
    return out;
}

// The p-quantile of `values` (nearest rank; reorders them).
double quantile(std::vector<float>& values, double p) {
    const auto k = long(p * double(values.size() - 1) + 0.5);
    std::nth_element(values.begin(), values.begin() + k, values.end());
    return values[size_t(k)];
}

// The bulk of the sample and the fences drawn from it into `fv`; false when the sample is empty or is one value. The
// bulk is the interquartile range; for a variable that is mostly one value (rain, mostly 0), that value with the
// quartiles of its other values, so that a rare shower is not measured against a width of zero.
bool set_fences(std::vector<float> sample, FarValues& fv) {
    if (sample.empty()) return false;
    fv.bulk_low = quantile(sample, 0.25);
    fv.bulk_high = quantile(sample, 0.75);
    if (!(fv.bulk_high > fv.bulk_low)) {
        const float usual = float(fv.bulk_low);
        sample.erase(std::remove(sample.begin(), sample.end(), usual), sample.end());
        if (sample.empty()) return false;
        fv.bulk_low = std::min(double(usual), quantile(sample, 0.25));
        fv.bulk_high = std::max(double(usual), quantile(sample, 0.75));
    }
    const double width = fv.bulk_high - fv.bulk_low;
    fv.low = fv.bulk_low - kFarValuesReach * width;
    fv.high = fv.bulk_high + kFarValuesReach * width;
    return true;
}

double distance_outside(const FarValues& fv, float x) {
    return x < fv.low ? fv.low - x : x > fv.high ? x - fv.high : 0;
}

// Counts the training values outside the fences, keeping the farthest; stations in parallel, merged in order.
void count_far(const StationSet& set, const TimeRange& train, FarValues& fv) {
    const int F = set.num_vars();
    const int S = set.num_stations();
    struct Local {
        int64_t count = 0, row = -1;  // row: the farthest's, in the station
        double distance = 0;
    };
    std::vector<Local> local(static_cast<size_t>(S));
#pragma omp parallel for schedule(dynamic, 1)
    for (int s = 0; s < S; ++s) {
        const StationInfo& st = set.stations[size_t(s)];
        const RowRange rr = rows_in_range(st.start, st.rows, set.step, train);
        const float* base = set.values.data() + st.row_begin * F;
        Local& l = local[size_t(s)];
        for (int64_t r = rr.first; r < rr.last; ++r) {
            const double d = distance_outside(fv, base[r * F + fv.var]);  // NaN (missing) is never outside
            if (!(d > 0)) continue;
            ++l.count;
            if (d > l.distance) { l.distance = d; l.row = r; }
        }
    }
    double farthest = 0;
    for (int s = 0; s < S; ++s) {
        const Local& l = local[size_t(s)];
        fv.count += l.count;
        if (l.count == 0 || !(l.distance > farthest)) continue;
        const StationInfo& st = set.stations[size_t(s)];
        farthest = l.distance;
        fv.farthest = set.values[size_t((st.row_begin + l.row) * F + fv.var)];
        fv.where = fmt::format("{} at {}", st.id, format_time(st.start + l.row * set.step));
        // Read from a file, the farthest value is the station's lowest or highest, whose file:line the reader kept
        // (of several rows with that value, the earliest).
        const std::string origin = origin_of(st, set.vars[size_t(fv.var)], fv.farthest);
        if (!origin.empty()) fv.where += fmt::format(" ({})", origin);
    }
}

}  // namespace

std::string valid_range_argument(const std::string& var) {
    const std::string arg = csv_field(var) + "=LO:HI";
    const bool plain = std::all_of(arg.begin(), arg.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || std::strchr("_.:=-+/", c) != nullptr;
    });
    if (plain) return arg;
    std::string quoted = "'";
    for (char c : arg) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return quoted + "'";
}

void check_values_standardize(const StationSet& set, const NormStats& stats) {
    stats.validate();
    const size_t F = size_t(set.num_vars());
    FR_CHECK(stats.vars.size() == F, "standardizing: {} statistics for {} variables", stats.vars.size(), F);
    std::vector<float> mean(F), inv(F);
    for (size_t v = 0; v < F; ++v) {
        mean[v] = float(stats.mean[v]);
        inv[v] = float(1.0 / stats.std[v]);
    }
    const int64_t S = set.num_stations();
    std::vector<int64_t> first(size_t(S), -1);  // per station, its first such value's index in set.values
#pragma omp parallel for schedule(dynamic)
    for (int64_t s = 0; s < S; ++s) {
        const StationInfo& st = set.stations[size_t(s)];
        // Row by row, as normalize computes (no division per value: a pass over WEATHER-5K's 2.5G values).
        const float* row = set.values.data() + size_t(st.row_begin) * F;
        for (int64_t r = 0; r < st.rows && first[size_t(s)] < 0; ++r, row += F)
            for (size_t v = 0; v < F; ++v)
                if (std::isinf((row[v] - mean[v]) * inv[v]) && std::isfinite(row[v])) {
                    first[size_t(s)] = (st.row_begin + r) * int64_t(F) + int64_t(v);
                    break;
                }
    }
    for (int64_t s = 0; s < S; ++s) {
        if (first[size_t(s)] < 0) continue;
        const StationInfo& st = set.stations[size_t(s)];
        const size_t i = size_t(first[size_t(s)]), v = i % F;
        const int64_t row = int64_t(i / F) - st.row_begin;
        const float value = set.values[i];
        const std::string where = origin_of(st, set.vars[v], value);
        FR_FAIL("station {}: {} {} at {}{} is {:.2g} standard deviations from the training mean {:.6g} (std {:.6g}): "
                "beyond what a float holds once standardized, so no model can take it. A unit mix-up, or a damaged "
                "line? Correct it, or mask such values as missing with --valid-range {}",
                st.id, set.vars[v], shortest_text(value), format_time(st.start + row * set.step),
                where.empty() ? std::string() : " (" + where + ")",
                std::fabs((double(value) - stats.mean[v]) / stats.std[v]), stats.mean[v], stats.std[v],
                valid_range_argument(set.vars[v]));
    }
}

std::vector<FarValues> find_far_values(const StationSet& set, const TimeRange& train, const std::vector<bool>& check) {
    std::vector<FarValues> out;
    const int64_t stride = sample_stride(training_rows(set, train));
    for (int v = 0; v < set.num_vars(); ++v) {
        if (!check[size_t(v)]) continue;
        FarValues fv;
        fv.var = v;
        if (!set_fences(sample_values(set, train, v, stride), fv)) continue;
        count_far(set, train, fv);
        if (fv.count > 0) out.push_back(fv);
    }
    return out;
}

}  // namespace fusedrnn::data
