// fusedrnn::data — calendar arithmetic for station series.
// Times are int64 seconds since 1970-01-01 00:00:00 UTC on the proleptic Gregorian calendar, with no
// leap seconds (what every station format here means by a timestamp). Hourly series therefore have
// times that are multiples of 3600; "hours since epoch" is time / 3600.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace fusedrnn::data {

constexpr int64_t kSecondsPerHour = 3600;
constexpr int64_t kSecondsPerDay = 86400;

// Floor division and modulo (the remainder has the sign of b), correct for times before 1970.
int64_t floor_div(int64_t a, int64_t b);
int64_t floor_mod(int64_t a, int64_t b);

// Days since 1970-01-01 of a civil date (month 1-12, day 1-31; not validated) and back.
int64_t days_from_civil(int64_t year, int month, int day);
void civil_from_days(int64_t days, int64_t& year, int& month, int& day);

struct CivilTime {
    int64_t year = 1970;
    int month = 1, day = 1, hour = 0, minute = 0, second = 0;
};
// Whether the fields name a real instant (year -9999..9999, day within its month, leap years,
// hour < 24, ...).
bool valid_civil(const CivilTime& c);
int64_t to_seconds(const CivilTime& c);     // fields are not validated: call valid_civil first
CivilTime to_civil(int64_t seconds);
int64_t year_start(int64_t year);           // seconds at <year>-01-01 00:00:00
// "2014-01-01 00:00:00" (UTC), for messages and logs.
std::string format_time(int64_t seconds);

// The earliest year a station file may hold. Instrument records begin in the 17th century, so an earlier year is a
// date written short (QA: "0014" or 14 for 2014, 114 for years since 1900), which would put its station centuries
// away from the others, not an observation.
constexpr int64_t kEarliestYear = 1000;
// Under kEarliestYear, a guess at how the year was written ("a two-digit year?"), for the error; else "".
std::string short_year_guess(int64_t year);

// Parses `text` against a strftime-like `format`: %Y (4 digits, optional leading '-'; from kEarliestYear on), %y
// (2 digits: 69-99 are 1969-1999, 00-68 2000-2068), %m %d %H %M %S (1-2 digits), %% and literal characters (which
// must match exactly). The whole text must be consumed (surrounding spaces are ignored). On failure returns false and
// puts the reason in `why`.
bool parse_time(std::string_view text, std::string_view format, int64_t& seconds, std::string& why);
// Whether `format` is one parse_time can read times with: only %Y or %y, %m %d %H %M %S (and %%), each at most
// once, with year, month and day among them. Checked before any file is read, so a bad format is named as the format, not as
// a mismatch of the first line (or, with a repeated %Y, as a silent wrong year).
bool check_time_format(std::string_view format, std::string& why);

// Parses a date or date-time for configuration strings: "2022", "2022-07", "2022-07-15",
// "2022-07-15 06:00", "2022-07-15 06:00:00" (also with 'T'). Throws fusedrnn::Error naming `what`.
int64_t parse_date_arg(std::string_view text, const char* what);

}  // namespace fusedrnn::data
