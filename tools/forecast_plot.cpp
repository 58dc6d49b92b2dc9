#include "fusedrnn/tools/forecast_plot.h"

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "fusedrnn/core/data/time.h"
#include "fusedrnn/models/forecast_evaluation.h"
#include "fusedrnn/tools/svg_plot.h"

namespace fusedrnn::tools {

PlotWindows choose_plot_windows(const data::WindowStarts& test, const data::WindowedDataset& ds, int days) {
    const size_t wanted = size_t(std::max<int64_t>(1, int64_t(days) * 86400 / (ds.data.step * ds.stride)));
    // At most this many windows are looked at (a few stations' worth), so a huge test split costs nothing.
    const size_t scan = std::min(test.size(), std::max<size_t>(wanted * 64, 100000));
    size_t best_first = 0, best_len = 0, first = 0;
    int station = -1;
    for (size_t i = 0; i < scan; ++i) {
        const int s = ds.data.station_of_row(test[i]);
        if (i == 0 || s != station || test[i] != test[i - 1] + ds.stride) {  // a new run: another station, a gap
            first = i;
            station = s;
        }
        if (i + 1 - first > best_len) {
            best_first = first;
            best_len = i + 1 - first;
            if (best_len == wanted) break;
        }
    }
    PlotWindows w;
    if (best_len == 0) return w;
    const data::StationInfo& st = ds.data.stations[size_t(ds.data.station_of_row(test[best_first]))];
    w.station = st.name == st.id ? st.id : fmt::format("{} ({})", st.id, st.name);
    w.starts.resize(best_len);
    test.copy_to(best_first, best_len, w.starts.data());
    return w;
}

void write_forecast_plot(const std::string& path, const PlotWindows& windows, Forecaster& model,
                         const ForecastDataset& data, const data::WindowedDataset& ds, const std::string& split,
                         const std::string& unit) {
    if (windows.starts.empty()) return;
    const data::WindowSpec& g = ds.window;
    const size_t K = ds.target_cols.size(), H = size_t(g.horizon);
    const int col = ds.target_cols[0];
    const int64_t last_input = int64_t(g.input_len - 1) * g.in_step;
    const int64_t lead_first = g.out_offset, lead_last = g.out_offset + int64_t(H - 1) * g.out_step;
    std::map<int64_t, double> observed, first, last;  // by time, original units
    const ForecastSink sink = [&](const EvaluatedBatch& batch) {
        for (size_t b = 0; b < batch.starts.size(); ++b) {
            const int64_t issued = ds.time_of_row(batch.starts[b] + last_input);
            const float* f = batch.forecast + b * H * K;
            const float* y = batch.truth + b * H * K;
            for (size_t h = 0; h < H; ++h)
                observed[issued + (g.out_offset + int64_t(h) * g.out_step) * ds.data.step] =
                    ds.stats.denormalize(col, y[h * K]);
            first[issued + lead_first * ds.data.step] = ds.stats.denormalize(col, f[0]);
            last[issued + lead_last * ds.data.step] = ds.stats.denormalize(col, f[(H - 1) * K]);
        }
    };
    data::WindowStarts starts;
    for (int64_t s : windows.starts) starts.push_back(s);
    evaluate_with_baselines(&model, model.backend(), data, starts, 4096, {}, sink);

    const int64_t t0 = observed.begin()->first;
    auto series = [&](const std::map<int64_t, double>& points, std::string label, std::string color) {
        Series s{std::move(label), {}, {}, std::move(color), false};
        for (const auto& [t, v] : points) {
            s.x.push_back(double(t - t0) / 86400.0);
            s.y.push_back(v);
        }
        return s;
    };
    auto lead_label = [&](int64_t lead) {
        return fmt::format("forecast +{:g} h", double(lead * ds.data.step) / 3600.0);
    };
    std::vector<Series> lines{series(observed, "observed", "#222222"), series(first, lead_label(lead_first), "#1f77b4")};
    if (lead_last != lead_first) lines.push_back(series(last, lead_label(lead_last), "#ff7f0e"));
    write_line_chart(path, fmt::format("{} at {}: observed and forecast", ds.target_names[0], windows.station),
                     fmt::format("days since {} ({} windows)", data::format_time(t0), split),
                     fmt::format("{} ({})", ds.target_names[0], unit.empty() ? "original units" : unit), lines);
}

}  // namespace fusedrnn::tools
