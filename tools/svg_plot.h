// A small SVG line-chart writer for loss curves and forecast plots (no plotting dependency needed for a chart).
#pragma once

#include <string>
#include <vector>

namespace fusedrnn::tools {

struct Series {
    std::string label;
    std::vector<double> x, y;
    std::string color;  // CSS colour
    bool markers = true;  // a dot at every point (off for dense series: hundreds of points)
};

// Linear, or for values of any sign; LogWhenWide: a log scale where every value is positive and they span two
// decades or more (a loss curve with one diverged epoch of 1e16 flattened the rest to a line at zero), the axis
// label then saying "(log scale)".
enum class YScale { Linear, LogWhenWide };

// Writes an SVG line chart (axes with ticks, legend) to `path` atomically. Throws Error on failure.
void write_line_chart(const std::string& path, const std::string& title, const std::string& x_label,
                      const std::string& y_label, const std::vector<Series>& series, YScale scale = YScale::Linear);

}  // namespace fusedrnn::tools
