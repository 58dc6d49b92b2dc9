#include "fusedrnn/core/data/wind_components.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include <fmt/format.h>

#include "fusedrnn/core/data/text.h"
#include "fusedrnn/core/error.h"

namespace fusedrnn::data {

namespace {
constexpr double kRadiansPerDegree = 3.14159265358979323846 / 180.0;

bool has(const std::vector<std::string>& names, const char* name) {
    return std::find(names.begin(), names.end(), name) != names.end();
}

// The names after conversion: WND_ANGLE becomes WND_U, WND_V; WND_RATE goes unless the speed is kept.
std::vector<std::string> converted_names(const std::vector<std::string>& names, bool keep_speed) {
    std::vector<std::string> out;
    for (const std::string& n : names) {
        if (n == kWindDirection) {
            out.push_back(kWindU);
            out.push_back(kWindV);
        } else if (n != kWindSpeed || keep_speed) {
            out.push_back(n);
        }
    }
    return out;
}
}  // namespace

const char* wind_form_name(WindForm form) {
    switch (form) {
        case WindForm::Angle: return "angle";
        case WindForm::Uv: return "uv";
        case WindForm::UvSpeed: return "uv+speed";
    }
    return "?";
}

WindForm parse_wind_form(const std::string& name) {
    for (WindForm f : {WindForm::Angle, WindForm::Uv, WindForm::UvSpeed})
        if (name == wind_form_name(f)) return f;
    FR_FAIL("unknown wind form \"{}\" (angle, uv or uv+speed)", name);
}

void wind_components(double direction_degrees, double speed, double& u, double& v) {
    if (speed == 0) {  // a calm: no direction to speak of
        u = v = 0;
        return;
    }
    u = -speed * std::sin(direction_degrees * kRadiansPerDegree);
    v = -speed * std::cos(direction_degrees * kRadiansPerDegree);
}

double wind_direction(double u, double v) {
    if (u == 0 && v == 0) return 0;
    const double d = std::atan2(-u, -v) / kRadiansPerDegree;  // (-180, 180]
    const double turned = d < 0 ? d + 360 : d;
    return turned < 360 ? turned : 0;  // a hair below 0 rounds to 360 when turned
}

double wind_direction_or_calm(double u, double v) {
    return std::hypot(u, v) < kCalmSpeed ? 0.0 : wind_direction(u, v);
}

void convert_wind(StationSet& set, WindForm form) {
    if (form == WindForm::Angle) return;
    const bool keep_speed = form == WindForm::UvSpeed;
    const bool has_u = has(set.vars, kWindU), has_v = has(set.vars, kWindV),
               has_angle = has(set.vars, kWindDirection), has_speed = has(set.vars, kWindSpeed);
    // Already in this form (eval and predict convert before the dataset is built, which converts again).
    if (has_u && has_v && !has_angle && has_speed == keep_speed) return;
    FR_CHECK(!has_u && !has_v, "--wind {} writes {} and {}, but the data already has {}: rename that column, or leave "
             "--wind at angle (the data's variables: {})", wind_form_name(form), kWindU, kWindV,
             has_u ? kWindU : kWindV, join_names(set.vars));
    FR_CHECK(has_angle && has_speed, "--wind {} replaces {} by {} and {}, but the data's variables are {}",
             wind_form_name(form),
             keep_speed ? fmt::format("{} (keeping {})", kWindDirection, kWindSpeed)
                        : fmt::format("{} and {}", kWindDirection, kWindSpeed),
             kWindU, kWindV, join_names(set.vars));
    const size_t F = set.vars.size(), a = size_t(set.var_index(kWindDirection)), s = size_t(set.var_index(kWindSpeed));
    const std::vector<std::string> vars = converted_names(set.vars, keep_speed);
    const size_t G = vars.size();
    std::vector<float> out(set.values.size() / F * G);
    for (size_t r = 0; r < set.values.size() / F; ++r) {
        const float* in = set.values.data() + r * F;
        float* row = out.data() + r * G;
        const float direction = in[a], speed = in[s];
        float u = kMissing, v = kMissing;
        // A calm needs no direction: (0, 0) even where the direction is missing.
        if (!is_missing(speed) && (!is_missing(direction) || speed == 0)) {
            double du = 0, dv = 0;
            wind_components(direction, speed, du, dv);
            u = float(du);
            v = float(dv);
        }
        size_t g = 0;
        for (size_t f = 0; f < F; ++f) {
            if (f == a) {
                row[g++] = u;
                row[g++] = v;
            } else if (f != s || keep_speed) {
                row[g++] = in[f];
            }
        }
    }
    set.values = std::move(out);
    set.vars = vars;
    set.targets = converted_names(set.targets, keep_speed);
}

}  // namespace fusedrnn::data
