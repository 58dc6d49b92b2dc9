// The forecast CSV of `predict` and `eval --forecasts`: one row per issued forecast and lead time, in original
// units,
//   station,issued_at,lead,time,<target>...[,WND_ANGLE[,WND_RATE]][,<target>_observed...[,WND_ANGLE_observed...]]
// issued_at is the time of the window's last input row, lead the rows ahead of it, time = issued_at + lead rows.
// A model of the wind's components (`train --wind uv|uv+speed`) also gets the direction they make (degrees, 0 for a
// calm) and, unless the speed is a target of its own, their speed: the columns a model of the direction has. A
// forecast WND_ANGLE is written as the direction it is, in [0, 360) (a model regressing the number gives -58.7 or
// 400.6 at times: 301.3 and 40.6), and a forecast WND_RATE below zero as 0, a speed having no sign; observed values
// stay as read (360 for a north wind in some files). The report scores the numbers as the model gave them.
// Written through a temp file and renamed at the end (tools/atomic_write.h), row by row, so eval can write
// millions of rows without holding them.
#pragma once

#include <cstdint>
#include <iterator>
#include <string>
#include <vector>

#include "fusedrnn/core/data/dataset.h"
#include "fusedrnn/core/data/norm_stats.h"
#include "fusedrnn/core/data/windows.h"
#include "fusedrnn/models/forecast_evaluation.h"
#include "fusedrnn/tools/atomic_write.h"

namespace fusedrnn::tools {

class ForecastCsv {
public:
    // targets: the predicted variables' names; target_cols: their columns in `stats`; with_observed adds the
    // observed value of each target beside the forecasts.
    ForecastCsv(const std::string& path, std::vector<std::string> targets, std::vector<int32_t> target_cols,
                const data::NormStats& stats, const data::WindowSpec& window, int64_t step, bool with_observed);

    // One window's rows: forecast and observed (null unless with_observed) are [horizon·K] normalized, lead-major.
    void add(const std::string& station, int64_t issued_at, const float* forecast, const float* observed = nullptr);
    size_t rows() const { return rows_; }
    void commit() { file_.commit(); }  // renames the finished file into place

private:
    AtomicFile file_;
    std::vector<int32_t> cols_;
    data::NormStats stats_;
    data::WindowSpec window_;
    int64_t step_;
    bool observed_;
    std::vector<int> decimals_;  // per target: 3, more for a variable of small spread (see the constructor)
    int direction_ = -1;             // the target WND_ANGLE (-1: none)
    int speed_ = -1;                 // the target WND_RATE (-1: none)
    int wind_u_ = -1, wind_v_ = -1;  // the targets WND_U and WND_V, when both are (-1: none)
    bool wind_speed_ = false;        // write the speed the components make (WND_RATE is not a target)
    // The derived wind columns of one lead time: direction and (wind_speed_) speed from the values [K] normalized.
    void add_wind(std::back_insert_iterator<std::string> out, const float* values) const;
    size_t rows_ = 0;
    std::string lines_;  // one window's rows, reused (formatting, not writing, is the cost: QA measured 15k windows/s)
};

// An evaluation sink (models/forecast_evaluation.h) that adds every window of `ds` it is given to `csv`, forecast and
// observed, named by its station and issue time. ds may have lent its series and window lists to the device.
ForecastSink forecast_csv_sink(ForecastCsv& csv, const data::WindowedDataset& ds);

}  // namespace fusedrnn::tools
