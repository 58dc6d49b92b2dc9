#include "fusedrnn/models/forecast_dataset.h"

#include <algorithm>
#include <utility>

#include "fusedrnn/core/error.h"
#include "fusedrnn/models/layers.h"

namespace fusedrnn {

ForecastDataset ForecastDataset::upload(Backend<float>& be, std::vector<float> series, int F,
                                        const data::WindowSpec& g, std::vector<int32_t> target_cols,
                                        std::array<data::WindowStarts, 3> starts,
                                        std::vector<std::string> target_names, std::vector<double> target_stds) {
    FR_CHECK(F > 0 && series.size() % size_t(F) == 0, "dataset: {} values is not a whole number of {}-variable rows",
             series.size(), F);
    g.validate();
    FR_CHECK(!target_cols.empty() && target_cols.size() == target_names.size() &&
                 target_names.size() == target_stds.size(),
             "dataset: {} target columns, {} names, {} stds", target_cols.size(), target_names.size(),
             target_stds.size());
    for (int32_t c : target_cols) FR_CHECK(c >= 0 && c < F, "target column {} outside [0, {})", c, F);
    const int64_t rows = int64_t(series.size() / size_t(F));
    for (const auto& split : starts)  // increasing: the first and last bound them all
        if (!split.empty())
            for (int64_t s : {split.front(), split.back()})
                FR_CHECK(s >= 0 && s + g.span() <= rows, "window start {} (span {}) outside the {} rows", s, g.span(),
                         rows);
    ForecastDataset d;
    try {
        d.series = be.from_host(std::move(series), {rows, F});
    } catch (const OutOfDeviceMemory& e) {
        // The series stays on the device for the whole run (batches are gathered there), so say how big it is.
        throw OutOfDeviceMemory(fmt::format(
            "dataset: the normalized series ({} rows x {} variables, {:.2f} GiB) is kept on the GPU for the whole run "
            "and does not fit: {}. Train on fewer stations or years, or with --backend cpu",
            rows, F, double(rows) * F * sizeof(float) / double(1 << 30), e.what()));
    }
    d.F = F;
    d.window = g;
    d.target_cols = std::move(target_cols);
    d.target_cols_dev = be.empty_i32({long(d.target_cols.size())});
    be.copy_from_host(d.target_cols_dev.data(), d.target_cols.data(), d.target_cols.size() * sizeof(int32_t));
    d.starts = std::move(starts);
    d.target_names = std::move(target_names);
    d.target_stds = std::move(target_stds);
    return d;
}

namespace {
std::vector<double> target_stds_of(const data::WindowedDataset& ds) {
    std::vector<double> stds;
    for (int32_t c : ds.target_cols) stds.push_back(ds.stats.std[size_t(c)]);
    return stds;
}

std::vector<double> target_means_of(const data::WindowedDataset& ds) {
    std::vector<double> means;
    for (int32_t c : ds.target_cols) means.push_back(ds.stats.mean[size_t(c)]);
    return means;
}

int64_t rows_per_day_of(const data::WindowedDataset& ds) {
    return ds.data.step > 0 && 86400 % ds.data.step == 0 ? 86400 / ds.data.step : 0;
}
}  // namespace

ForecastDataset ForecastDataset::from_windowed(Backend<float>& be, data::WindowedDataset&& ds,
                                               const std::optional<data::TimeRange>& thresholds_from) {
    auto stds = target_stds_of(ds);
    auto means = target_means_of(ds);
    const int64_t per_day = rows_per_day_of(ds);
    // Before the series moves out.
    data::ExtremeThresholds extremes = data::compute_extreme_thresholds(ds, thresholds_from.value_or(ds.ranges[0]));
    ForecastDataset d = upload(be, std::move(ds.data.values), ds.num_vars(), ds.window, ds.target_cols,
                               {std::move(ds.starts[0]), std::move(ds.starts[1]), std::move(ds.starts[2])},
                               ds.target_names, std::move(stds));
    d.target_means = std::move(means);
    d.rows_per_day = per_day;
    d.extremes = std::move(extremes);
    return d;
}

ForecastDataset ForecastDataset::from_windowed(Backend<float>& be, const data::WindowedDataset& ds) {
    ForecastDataset d = upload(be, ds.data.values, ds.num_vars(), ds.window, ds.target_cols,
                               {ds.starts[0], ds.starts[1], ds.starts[2]}, ds.target_names, target_stds_of(ds));
    d.target_means = target_means_of(ds);
    d.rows_per_day = rows_per_day_of(ds);
    d.extremes = data::compute_extreme_thresholds(ds, ds.ranges[0]);
    return d;
}

ForecastDataset ForecastDataset::training_replica(Backend<float>& be, const data::WindowedDataset& ds) {
    return upload(be, ds.data.values, ds.num_vars(), ds.window, ds.target_cols, {ds.starts[0], {}, {}},
                  ds.target_names, target_stds_of(ds));
}

data::WindowStarts evenly_spaced_subset(const data::WindowStarts& starts, size_t n) {
    if (n == 0 || starts.size() <= n) return starts;
    data::WindowStarts kept;
    for (size_t i = 0; i < n; ++i) kept.push_back(starts[size_t(double(i) * double(starts.size()) / double(n))]);
    return kept;
}

void ForecastDataset::limit_evaluation(size_t max_windows) {
    for (size_t split : {size_t(1), size_t(2)}) starts[split] = evenly_spaced_subset(starts[split], max_windows);
}

// ---- batches ---------------------------------------------------------------------------------------------

void gather_batch(Backend<float>& be, const ForecastDataset& d, const int64_t* starts, int B,
                  Tensor<int64_t>& starts_dev, Tensor<float>& x, Tensor<float>& y) {
    const data::WindowSpec& g = d.window;
    const int K = int(d.target_cols.size());
    // The gather kernel reads rows start .. start + span - 1 unchecked: a start outside the series reads past it.
    FR_CHECK(B > 0 && starts != nullptr, "gather_batch: {} window starts{}", B, starts ? "" : " (null)");
    const int64_t rows = int64_t(d.series.numel() / size_t(d.F)), last_start = rows - g.span();
    for (int b = 0; b < B; ++b)
        FR_CHECK(starts[b] >= 0 && starts[b] <= last_start, "gather_batch: window start {} (batch position {}) is "
                 "outside the series: a window of {} rows starts at 0 .. {}", starts[b], b, g.span(), last_start);
    if (starts_dev.empty() || starts_dev.numel() < size_t(B)) starts_dev = be.empty_i64({B});
    be.copy_from_host_async(starts_dev.data(), starts, size_t(B) * sizeof(int64_t));  // the only per-step upload
    ensure_shape(be, x, {g.input_len, B, d.F});
    ensure_shape(be, y, {B, long(g.horizon) * K});
    be.gather_windows(d.series.data(), d.F, starts_dev.data(), B, g, d.target_cols_dev.data(), K, x.data(), y.data());
}

void gather_batch_range(Backend<float>& be, const ForecastDataset& d, const data::WindowStarts& starts, size_t first,
                        int B, std::vector<int64_t>& host, Tensor<int64_t>& starts_dev, Tensor<float>& x,
                        Tensor<float>& y) {
    host.resize(size_t(B));
    starts.copy_to(first, size_t(B), host.data());
    gather_batch(be, d, host.data(), B, starts_dev, x, y);
}

}  // namespace fusedrnn
