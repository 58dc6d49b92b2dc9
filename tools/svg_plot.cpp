#include "fusedrnn/tools/svg_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "fusedrnn/core/error.h"
#include "fusedrnn/tools/atomic_write.h"

namespace fusedrnn::tools {
namespace {

// "Nice" tick step (1, 2 or 5 × 10^k) giving about `n` ticks over `span`.
double tick_step(double span, int n) {
    const double raw = span / n;
    const double mag = std::pow(10.0, std::floor(std::log10(raw)));
    for (double m : {1.0, 2.0, 5.0, 10.0})
        if (raw <= m * mag) return m * mag;
    return 10 * mag;
}

std::string escape(const std::string& s) {
    std::string o;
    for (char c : s) {
        if (c == '<') o += "&lt;";
        else if (c == '>') o += "&gt;";
        else if (c == '&') o += "&amp;";
        else o += c;
    }
    return o;
}

}  // namespace

void write_line_chart(const std::string& path, const std::string& title, const std::string& x_label,
                      const std::string& y_label, const std::vector<Series>& series, YScale scale) {
    const double W = 720, H = 440, L = 70, R = 20, T = 40, B = 55;
    double lo = INFINITY, hi = -INFINITY;
    for (const auto& s : series)
        for (double y : s.y)
            if (std::isfinite(y)) lo = std::min(lo, y), hi = std::max(hi, y);
    const bool log_y = scale == YScale::LogWhenWide && lo > 0 && hi >= 100 * lo;
    // The value as plotted: its decimal logarithm on a log scale (ticks and ranges are of that).
    const auto ty = [log_y](double y) { return log_y ? std::log10(y) : y; };
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    for (const auto& s : series)
        for (size_t i = 0; i < s.x.size(); ++i) {
            if (!std::isfinite(s.y[i])) continue;
            x0 = std::min(x0, s.x[i]); x1 = std::max(x1, s.x[i]);
            y0 = std::min(y0, ty(s.y[i])); y1 = std::max(y1, ty(s.y[i]));
        }
    if (!std::isfinite(x0)) { x0 = 0; x1 = 1; y0 = 0; y1 = 1; }
    if (x1 <= x0) x1 = x0 + 1;
    if (y1 <= y0) { y1 = y0 + 1e-3 + std::abs(y0) * 0.05; y0 -= 1e-3; }
    const double pad = (y1 - y0) * 0.05;
    y0 -= pad; y1 += pad;
    auto px = [&](double x) { return L + (x - x0) / (x1 - x0) * (W - L - R); };
    auto py = [&](double y) { return H - B - (y - y0) / (y1 - y0) * (H - T - B); };

    std::string svg = fmt::format(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" font-family=\"sans-serif\" "
        "font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        "<text x=\"{}\" y=\"24\" font-size=\"15\" text-anchor=\"middle\">{}</text>\n",
        W, H, W / 2, escape(title));
    // On a log scale the ticks are whole decades (1, 10, 100, or every second one ...), written alike: all plainly
    // while they lie within [0.001, 10000], else all as powers of ten (QA's recheck: "100 | 1000 | 1e+04").
    const double ys = log_y ? std::max(1.0, std::round(tick_step(y1 - y0, 6))) : tick_step(y1 - y0, 6);
    const bool powers = log_y && (y0 < -3.0 || y1 > 4.0);
    const auto tick_label = [&](double v) {
        if (!log_y) return fmt::format("{:.4g}", v);
        return powers ? fmt::format("1e{}", std::llround(v)) : fmt::format("{:g}", std::pow(10.0, v));
    };
    // Ticks at whole multiples of the step, counted with an integer: nothing accumulates along the axis, and the
    // count is small (the ranges are finite and at least a few steps wide, see above).
    for (long long k = std::llround(std::ceil(y0 / ys)); double(k) * ys <= y1; ++k) {
        const double v = double(k) * ys;
        svg += fmt::format("<line x1=\"{}\" x2=\"{}\" y1=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#ddd\"/>"
                           "<text x=\"{}\" y=\"{:.1f}\" text-anchor=\"end\">{}</text>\n",
                           L, W - R, py(v), py(v), L - 6, py(v) + 4, tick_label(v));
    }
    const double xs = std::max(1.0, tick_step(x1 - x0, 8));
    for (long long k = std::llround(std::ceil(x0 / xs)); double(k) * xs <= x1; ++k) {
        const double v = double(k) * xs;
        svg += fmt::format("<line x1=\"{:.1f}\" x2=\"{:.1f}\" y1=\"{}\" y2=\"{}\" stroke=\"#eee\"/>"
                           "<text x=\"{:.1f}\" y=\"{}\" text-anchor=\"middle\">{:g}</text>\n",
                           px(v), px(v), T, H - B, px(v), H - B + 16, v);
    }
    svg += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#333\"/>\n", L, T,
                       W - L - R, H - T - B);
    svg += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", (L + W - R) / 2, H - 14,
                       escape(x_label));
    svg += fmt::format("<text transform=\"translate(18,{}) rotate(-90)\" text-anchor=\"middle\">{}</text>\n",
                       (T + H - B) / 2, escape(log_y ? y_label + " (log scale)" : y_label));
    for (size_t k = 0; k < series.size(); ++k) {
        const auto& s = series[k];
        std::string pts;
        for (size_t i = 0; i < s.x.size(); ++i)
            if (std::isfinite(s.y[i])) pts += fmt::format("{:.1f},{:.1f} ", px(s.x[i]), py(ty(s.y[i])));
        svg += fmt::format("<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"{}\" points=\"{}\"/>\n", s.color,
                           s.markers ? 2 : 1.5, pts);
        for (size_t i = 0; i < s.x.size() && s.markers; ++i)
            if (std::isfinite(s.y[i]))
                svg += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"2.5\" fill=\"{}\"/>", px(s.x[i]),
                                   py(ty(s.y[i])), s.color);
        svg += "\n";
    }
    // The legend last, on a white box, so no line runs through it.
    svg += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"150\" height=\"{}\" fill=\"white\" fill-opacity=\"0.85\"/>\n",
                       W - R - 156, T + 4, 18 * double(series.size()) + 6);
    for (size_t k = 0; k < series.size(); ++k) {
        const auto& s = series[k];
        const double ly = T + 16 + 18 * double(k);
        svg += fmt::format("<line x1=\"{}\" x2=\"{}\" y1=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"2\"/>"
                           "<text x=\"{}\" y=\"{}\">{}</text>\n",
                           W - R - 150, W - R - 126, ly, ly, s.color, W - R - 120, ly + 4, escape(s.label));
    }
    svg += "</svg>\n";
    write_file_atomically(path, svg);
}

}  // namespace fusedrnn::tools
