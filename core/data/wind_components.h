// fusedrnn — wind as its two components instead of a direction and a speed.
//
// WEATHER-5K regresses wind direction as a number of degrees, so 350° and 10° lie 340 apart and a model trained on
// MSE hedges towards the mean direction (the README's tables: it loses to persistence round the compass). The
// components carry the same information without the seam at north: the wind's eastward and northward velocity,
//   WND_U = -speed * sin(direction),  WND_V = -speed * cos(direction)
// (direction: degrees clockwise from north that the wind blows from, so wind from the north has WND_V = -speed), in
// the speed's unit. A calm (speed 0) is (0, 0) whatever its direction says; either value missing leaves both
// missing.
#pragma once

#include <string>

#include "fusedrnn/core/data/station_series.h"

namespace fusedrnn::data {

inline constexpr const char* kWindSpeed = "WND_RATE";
inline constexpr const char* kWindU = "WND_U";
inline constexpr const char* kWindV = "WND_V";

// How a dataset holds the wind (`train --wind`): as read (WND_ANGLE, WND_RATE; WEATHER-5K's), as its components in
// their place (WND_U, WND_V), or as the components in the direction's place with the speed kept (WND_U, WND_V,
// WND_RATE: a model trained on the components alone learns their mean, which shrinks the speed it implies when
// the direction is uncertain).
enum class WindForm { Angle, Uv, UvSpeed };
const char* wind_form_name(WindForm form);            // "angle", "uv", "uv+speed"
WindForm parse_wind_form(const std::string& name);    // throws naming the forms

// Converts the set's wind to `form`, in place: WND_ANGLE's column becomes WND_U and WND_V follows it; WND_RATE's
// column goes (uv) or stays (uv+speed). Suggested targets are renamed alike. A set already in that form (WND_U and
// WND_V, no WND_ANGLE, WND_RATE exactly when uv+speed) is left as it is, as is any set for WindForm::Angle. Throws
// naming the set's variables when it lacks WND_ANGLE or WND_RATE, or already has WND_U or WND_V beside them.
void convert_wind(StationSet& set, WindForm form);

// The components of wind `speed` from `direction_degrees`, and back (the direction in [0, 360), 0 for a calm: the
// direction the readers give a calm).
void wind_components(double direction_degrees, double speed, double& u, double& v);
double wind_direction(double u, double v);

// Components that come back from normalization hold a float leftover (~1e-7) where they were (0, 0), which points
// anywhere: below half the 0.1 m/s stations report in, a wind is a calm, and its direction 0 (north).
inline constexpr double kCalmSpeed = 0.05;
double wind_direction_or_calm(double u, double v);

}  // namespace fusedrnn::data
