#include "fusedrnn/core/data/station_series.h"

#include <algorithm>

#include "fusedrnn/core/data/text.h"
#include "fusedrnn/core/error.h"

namespace fusedrnn::data {

const std::vector<std::string>& weather5k_vars() {
    static const std::vector<std::string> vars = {"TMP", "DEW", "WND_ANGLE", "WND_RATE", "SLP"};
    return vars;
}

static int find_var(const std::vector<std::string>& vars, const std::string& name, const std::string& owner) {
    for (size_t i = 0; i < vars.size(); ++i)
        if (vars[i] == name) return int(i);
    FR_FAIL("{}: no variable \"{}\"; available: {}", owner, name, join_names(vars));
}

int StationSeries::var_index(const std::string& var) const { return find_var(vars, var, "station " + id); }

std::vector<int64_t> StationSeries::present_counts() const {
    std::vector<int64_t> n(vars.size(), 0);
    const size_t F = vars.size();
    for (size_t i = 0; i < values.size(); ++i)
        if (!is_missing(values[i])) ++n[i % F];
    return n;
}

int StationSet::var_index(const std::string& name) const { return find_var(vars, name, "station data"); }

int StationSet::station_of_row(int64_t row) const {
    FR_CHECK(row >= 0 && row < rows(), "row {} outside the station data ({} rows)", row, rows());
    auto it = std::upper_bound(stations.begin(), stations.end(), row,
                               [](int64_t r, const StationInfo& s) { return r < s.row_begin; });
    return int(it - stations.begin()) - 1;
}

int64_t StationSet::begin_time() const {
    FR_CHECK(!stations.empty(), "no stations");
    int64_t t = stations.front().start;
    for (const auto& s : stations) t = std::min(t, s.start);
    return t;
}

int64_t StationSet::end_time() const {
    FR_CHECK(!stations.empty(), "no stations");
    int64_t t = stations.front().end_time(step);
    for (const auto& s : stations) t = std::max(t, s.end_time(step));
    return t;
}

void StationSet::append(StationSeries&& s) {
    FR_CHECK(!s.vars.empty(), "station {}: no variables", s.id);
    FR_CHECK(s.values.size() % s.vars.size() == 0, "station {}: {} values is not a multiple of {} variables", s.id,
             s.values.size(), s.vars.size());
    if (stations.empty() && vars.empty()) {
        vars = s.vars;
        targets = s.targets;
        step = s.step;
    }
    FR_CHECK(s.vars == vars, "station {}: variables [{}] differ from the other stations' [{}]", s.id,
             join_names(s.vars), join_names(vars));
    FR_CHECK(s.step == step, "station {}: time step {} s differs from the other stations' {} s", s.id, s.step, step);
    StationInfo info;
    info.id = s.id;
    info.name = s.name.empty() ? s.id : s.name;
    info.row_begin = rows();
    info.rows = s.rows();
    info.start = s.start;
    info.meta = s.meta;
    info.extremes = std::move(s.extremes);
    if (values.empty() && values.capacity() < s.values.size()) values = std::move(s.values);
    else values.insert(values.end(), s.values.begin(), s.values.end());
    s.values.clear();
    s.values.shrink_to_fit();
    stations.push_back(std::move(info));
}

StationSet StationSet::from_series(std::vector<StationSeries>&& series) {
    StationSet set;
    size_t total = 0;
    for (const auto& s : series) total += s.values.size();
    set.values.reserve(total);
    for (auto& s : series) set.append(std::move(s));
    series.clear();
    return set;
}

StationSeries StationSet::station(int s) const {
    FR_CHECK(s >= 0 && s < num_stations(), "station index {} outside [0, {})", s, num_stations());
    const StationInfo& info = stations[size_t(s)];
    StationSeries out;
    out.id = info.id;
    out.name = info.name;
    out.vars = vars;
    out.targets = targets;
    out.start = info.start;
    out.step = step;
    out.meta = info.meta;
    out.extremes = info.extremes;
    const size_t F = vars.size();
    out.values.assign(values.begin() + info.row_begin * int64_t(F), values.begin() + info.row_end() * int64_t(F));
    return out;
}

bool StationSeries::reorder_vars(const std::vector<std::string>& order) {
    if (order.size() != vars.size()) return false;
    std::vector<size_t> from(order.size());  // from[k]: this series' column of order[k]
    std::vector<bool> used(vars.size(), false);
    for (size_t k = 0; k < order.size(); ++k) {
        const auto it = std::find(vars.begin(), vars.end(), order[k]);
        if (it == vars.end() || used[size_t(it - vars.begin())]) return false;
        from[k] = size_t(it - vars.begin());
        used[from[k]] = true;
    }
    const size_t F = vars.size();
    std::vector<float> moved(values.size());
    for (size_t r = 0; r < values.size() / F; ++r)
        for (size_t k = 0; k < F; ++k) moved[r * F + k] = values[r * F + from[k]];
    values = std::move(moved);
    vars = order;
    return true;
}

}  // namespace fusedrnn::data
