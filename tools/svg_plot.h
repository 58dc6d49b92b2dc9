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

// Writes an SVG line chart (axes with ticks, legend) to `path` atomically. Throws Error on failure.
void write_line_chart(const std::string& path, const std::string& title, const std::string& x_label,
                      const std::string& y_label, const std::vector<Series>& series);

}  // namespace fusedrnn::tools
