#include "fusedrnn/core/data/norm_stats.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>

#include <fmt/format.h>

#include "fusedrnn/core/data/far_values.h"
#include "fusedrnn/core/data/text.h"
#include "fusedrnn/core/detail/json_error.h"
#include "fusedrnn/core/detail/json_fields.h"
#include "fusedrnn/core/error.h"

namespace fusedrnn::data {

NormStats NormStats::weather5k() {
    // From WEATHER-5K (taohan10200/WEATHER-5K, data_provider/station_dataset.py).
    NormStats s;
    s.vars = weather5k_vars();
    s.mean = {12.70852261, 6.52705582, 191.18867587, 3.36941836, 1014.85317029};
    s.std = {13.08167293, 12.13875438, 99.67403125, 2.65729403, 9.17480999};
    s.source = "weather5k (fixed global statistics)";
    return s;
}

namespace {
// Count, mean and sum of squared deviations; merged with Chan et al.'s pairwise formula so that
// per-station partials combine without the cancellation of a naive sum of squares.
struct Moments {
    int64_t n = 0;
    double mean = 0, m2 = 0;
    void merge(const Moments& o) {
        if (o.n == 0) return;
        if (n == 0) { *this = o; return; }
        const double delta = o.mean - mean;
        const int64_t total = n + o.n;
        mean += delta * double(o.n) / double(total);
        m2 += o.m2 + delta * delta * double(n) * double(o.n) / double(total);
        n = total;
    }
};


// The warning for a variable's far values, with the statistics they went into (a 3e38 makes a std of 1e37, under
// which every other value standardizes to about 0).
std::string far_values_warning(const FarValues& fv, const std::string& var, double mean, double sd) {
    const bool one = fv.count == 1;
    return fmt::format("{}: {} absurdly far from the bulk of its training values ({:g}..{:g}; {:g} times that "
                       "width beyond it is {:g}..{:g}){}: {:g} at station {}; with {}, {}'s mean is {:g} and its std "
                       "{:g}. If {} no {}, mask {} with --valid-range {} (or correct the file)",
                       var, counted(size_t(fv.count), "value lies", "values lie"), fv.bulk_low, fv.bulk_high,
                       kFarValuesReach, fv.low, fv.high, one ? "" : ", the farthest", double(fv.farthest), fv.where,
                       one ? "it" : "them", var, mean, sd, one ? "it is" : "they are",
                       one ? "measurement" : "measurements", one ? "it" : "them", valid_range_argument(var));
}
}  // namespace

NormStats NormStats::compute(const StationSet& set, const TimeRange& train, const NormStats* fixed) {
    const int F = set.num_vars();
    const int S = set.num_stations();
    FR_CHECK(F > 0 && S > 0, "normalization statistics: no station data");
    // Per variable: its index in `fixed`, or -1 when it is computed here.
    std::vector<int> fixed_index(size_t(F), -1);
    std::vector<std::string> fixed_names, computed_names;
    for (int v = 0; v < F; ++v) {
        const std::string& name = set.vars[size_t(v)];
        if (fixed) {
            const auto it = std::find(fixed->vars.begin(), fixed->vars.end(), name);
            if (it != fixed->vars.end()) fixed_index[size_t(v)] = int(it - fixed->vars.begin());
        }
        (fixed_index[size_t(v)] >= 0 ? fixed_names : computed_names).push_back(name);
    }
    // Per station: two passes (mean, then squared deviations) over its training rows.
    std::vector<Moments> partial(size_t(S) * size_t(F));
#pragma omp parallel for schedule(dynamic, 1)
    for (int s = 0; s < S; ++s) {
        const StationInfo& st = set.stations[size_t(s)];
        const RowRange rr = rows_in_range(st.start, st.rows, set.step, train);
        const int64_t r0 = rr.first, r1 = rr.last;
        if (r1 <= r0) continue;
        const float* base = set.values.data() + st.row_begin * F;
        for (int v = 0; v < F; ++v) {
            if (fixed_index[size_t(v)] >= 0) continue;
            int64_t n = 0;
            double sum = 0;
            for (int64_t r = r0; r < r1; ++r) {
                const float x = base[r * F + v];
                if (!is_missing(x)) { sum += x; ++n; }
            }
            if (n == 0) continue;
            const double m = sum / double(n);  // not `mean`: NormStats has that member
            double m2 = 0;
            for (int64_t r = r0; r < r1; ++r) {
                const float x = base[r * F + v];
                if (!is_missing(x)) m2 += (double(x) - m) * (double(x) - m);
            }
            partial[size_t(s) * size_t(F) + size_t(v)] = {n, m, m2};
        }
    }
    NormStats out;
    out.vars = set.vars;
    const std::string computed_source = "train " + train.str();
    out.source = fixed_names.empty()     ? computed_source
                 : computed_names.empty() ? fixed->source
                                          : fmt::format("{} for {}; {} for {}", fixed->source, join_names(fixed_names),
                                                        computed_source, join_names(computed_names));
    for (int v = 0; v < F; ++v) {
        if (const int f = fixed_index[size_t(v)]; f >= 0) {
            out.mean.push_back(fixed->mean[size_t(f)]);
            out.std.push_back(fixed->std[size_t(f)]);
            continue;
        }
        Moments m;
        for (int s = 0; s < S; ++s) m.merge(partial[size_t(s) * size_t(F) + size_t(v)]);  // fixed order
        FR_CHECK(m.n > 0, "normalization statistics: variable {} has no value in the training split {}",
                 set.vars[size_t(v)], train.str());
        double sd = std::sqrt(m.m2 / double(m.n));
        if (!(sd > 1e-12 * std::max(1.0, std::fabs(m.mean)))) {
            out.warnings.push_back(fmt::format("variable {} is constant ({}) in the training split; its std is set "
                                               "to 1", set.vars[size_t(v)], m.mean));
            sd = 1.0;
        }
        out.mean.push_back(m.mean);
        out.std.push_back(sd);
        out.counts.push_back(m.n);
    }
    if (!fixed_names.empty()) out.counts.clear();  // counts are of computed statistics, all or none
    std::vector<bool> computed(static_cast<size_t>(F));
    for (int v = 0; v < F; ++v) computed[size_t(v)] = fixed_index[size_t(v)] < 0;
    for (const FarValues& fv : find_far_values(set, train, computed))
        out.warnings.push_back(far_values_warning(fv, set.vars[size_t(fv.var)], out.mean[size_t(fv.var)],
                                                  out.std[size_t(fv.var)]));
    return out;
}

NormStats NormStats::select(const std::vector<std::string>& names) const {
    NormStats out;
    out.source = source;
    out.warnings = warnings;
    for (const auto& n : names) {
        auto it = std::find(vars.begin(), vars.end(), n);
        FR_CHECK(it != vars.end(), "normalization statistics ({}) have no variable \"{}\"; they cover: {}", source, n,
                 join_names(vars));
        const size_t i = size_t(it - vars.begin());
        out.vars.push_back(n);
        out.mean.push_back(mean[i]);
        out.std.push_back(std[i]);
        if (!counts.empty()) out.counts.push_back(counts[i]);
    }
    return out;
}

void NormStats::normalize(std::vector<float>& values) const {
    validate();
    const size_t F = vars.size();
    FR_CHECK(values.size() % F == 0, "normalize: {} values is not a multiple of {} variables", values.size(), F);
    std::vector<float> m(F), inv(F);
    for (size_t v = 0; v < F; ++v) {
        m[v] = float(mean[v]);
        inv[v] = float(1.0 / std[v]);
    }
    const int64_t rows = int64_t(values.size() / F);
    float* p = values.data();
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < rows; ++r)
        for (size_t v = 0; v < F; ++v) p[size_t(r) * F + v] = (p[size_t(r) * F + v] - m[v]) * inv[v];
}

void NormStats::validate() const {
    FR_CHECK(!vars.empty(), "normalization statistics: no variables");
    FR_CHECK(mean.size() == vars.size() && std.size() == vars.size(),
             "normalization statistics: {} variables but {} means and {} stds", vars.size(), mean.size(), std.size());
    for (size_t v = 0; v < vars.size(); ++v) {
        // The series are floats: a mean or std outside float's range would turn every value into an infinity
        // (or a zero) that looked like bad data, not like the bad statistics they came from.
        constexpr double kFloatMax = std::numeric_limits<float>::max(), kFloatMin = std::numeric_limits<float>::min();
        FR_CHECK(std::isfinite(mean[v]) && std::abs(mean[v]) <= kFloatMax,
                 "normalization statistics: mean of {} is {} (must be finite, within float range)", vars[v], mean[v]);
        FR_CHECK(std::isfinite(std[v]) && std[v] >= kFloatMin && std[v] <= kFloatMax,
                 "normalization statistics: std of {} is {} (must be > 0, within float range)", vars[v], std[v]);
    }
}

nlohmann::json NormStats::to_json() const {
    nlohmann::json j;
    j["vars"] = vars;
    j["mean"] = mean;
    j["std"] = std;
    j["source"] = source;
    if (!counts.empty()) j["counts"] = counts;
    if (!warnings.empty()) j["warnings"] = warnings;
    return j;
}

NormStats NormStats::from_json(const nlohmann::json& j, std::string_view where) {
    NormStats s;
    try {
        s.vars = detail::json_strings(j, "vars", fmt::format("{}.vars", where));
        s.mean = j.at("mean").get<std::vector<double>>();
        s.std = j.at("std").get<std::vector<double>>();
        s.source = j.value("source", std::string("json"));
        if (j.contains("counts"))
            s.counts = detail::json_wholes(j, "counts", fmt::format("{}.counts", where), 0, std::numeric_limits<int64_t>::max());
        if (j.contains("warnings")) s.warnings = j.at("warnings").get<std::vector<std::string>>();
    } catch (const nlohmann::json::exception& e) {
        FR_FAIL("normalization statistics JSON: {}", detail::json_access_problem(e));
    }
    s.validate();
    return s;
}

}  // namespace fusedrnn::data
