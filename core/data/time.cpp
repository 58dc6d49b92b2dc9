#include "fusedrnn/core/data/time.h"

#include <fmt/format.h>

#include "fusedrnn/core/data/text.h"
#include "fusedrnn/core/error.h"

namespace fusedrnn::data {

int64_t floor_div(int64_t a, int64_t b) {
    const int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

int64_t floor_mod(int64_t a, int64_t b) { return a - floor_div(a, b) * b; }

// Howard Hinnant's days_from_civil / civil_from_days (public-domain algorithms, era = 400 years),
// exact for every representable year, no tables, no time-zone database.
int64_t days_from_civil(int64_t year, int month, int day) {
    year -= month <= 2;
    const int64_t era = floor_div(year, 400);
    const int64_t yoe = year - era * 400;                                       // [0, 399]
    const int64_t doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;  // [0, 365]
    const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;                  // [0, 146096]
    return era * 146097 + doe - 719468;
}

void civil_from_days(int64_t days, int64_t& year, int& month, int& day) {
    days += 719468;
    const int64_t era = floor_div(days, 146097);
    const int64_t doe = days - era * 146097;
    const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const int64_t mp = (5 * doy + 2) / 153;
    day = int(doy - (153 * mp + 2) / 5 + 1);
    month = int(mp < 10 ? mp + 3 : mp - 9);
    year = yoe + era * 400 + (month <= 2);
}

static bool is_leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

bool valid_civil(const CivilTime& c) {
    static const int kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    // Four-digit years (what every station format writes). Without a bound, a year column holding
    // 99999999999 overflows days_from_civil / to_seconds (signed overflow: undefined behaviour).
    if (c.year < -9999 || c.year > 9999) return false;
    if (c.month < 1 || c.month > 12 || c.day < 1) return false;
    const int dim = kDays[c.month - 1] + (c.month == 2 && is_leap(c.year) ? 1 : 0);
    return c.day <= dim && c.hour >= 0 && c.hour < 24 && c.minute >= 0 && c.minute < 60 && c.second >= 0 &&
           c.second < 60;
}

int64_t to_seconds(const CivilTime& c) {
    return days_from_civil(c.year, c.month, c.day) * kSecondsPerDay + c.hour * 3600 + c.minute * 60 + c.second;
}

CivilTime to_civil(int64_t seconds) {
    CivilTime c;
    const int64_t days = floor_div(seconds, kSecondsPerDay);
    const int64_t rest = seconds - days * kSecondsPerDay;
    civil_from_days(days, c.year, c.month, c.day);
    c.hour = int(rest / 3600);
    c.minute = int(rest / 60 % 60);
    c.second = int(rest % 60);
    return c;
}

int64_t year_start(int64_t year) { return days_from_civil(year, 1, 1) * kSecondsPerDay; }

std::string format_time(int64_t seconds) {
    const CivilTime c = to_civil(seconds);
    return fmt::format("{:04d}-{:02d}-{:02d} {:02d}:{:02d}:{:02d}", c.year, c.month, c.day, c.hour, c.minute,
                       c.second);
}

namespace {

// Reads up to max_digits digits at text[pos]; at least one is required.
bool read_digits(std::string_view text, size_t& pos, int max_digits, int64_t& value) {
    const size_t begin = pos;
    value = 0;
    while (pos < text.size() && pos - begin < size_t(max_digits) && text[pos] >= '0' && text[pos] <= '9')
        value = value * 10 + (text[pos++] - '0');
    return pos > begin;
}

}  // namespace

std::string short_year_guess(int64_t year) {
    if (year >= kEarliestYear) return {};
    if (year >= 0 && year < 100) return "a two-digit year?";
    if (year >= 100 && year < 200) return fmt::format("years since 1900, as C's tm_year, for {}?", 1900 + year);
    return year < 0 ? "a sign before the year?" : "a year cut short?";
}

bool parse_time(std::string_view text, std::string_view format, int64_t& seconds, std::string& why) {
    text = trim(text);
    CivilTime c;
    size_t pos = 0;
    for (size_t i = 0; i < format.size(); ++i) {
        const char f = format[i];
        if (f != '%' || i + 1 == format.size()) {
            if (pos >= text.size() || text[pos] != f) {
                why = fmt::format("\"{}\" does not match the time format \"{}\" at character {}", printable(text),
                                  format, pos + 1);
                return false;
            }
            ++pos;
            continue;
        }
        const char spec = format[++i];
        if (spec == '%') {
            if (pos >= text.size() || text[pos] != '%') {
                why = fmt::format("\"{}\" does not match the time format \"{}\"", printable(text), format);
                return false;
            }
            ++pos;
            continue;
        }
        int64_t v = 0;
        bool negative = false;
        if (spec == 'Y' && pos < text.size() && text[pos] == '-') { negative = true; ++pos; }
        const int max_digits = spec == 'Y' ? 4 : 2;
        const size_t digits_at = pos;
        if (!read_digits(text, pos, max_digits, v)) {
            why = fmt::format("\"{}\" does not match the time format \"{}\": expected digits for %{} at character {}",
                              printable(text), format, spec, pos + 1);
            return false;
        }
        // %Y is all four digits, as in Python's strptime: "14-01-01" read as the year 14 made a station of year 0014,
        // and beside others of 2014 one 2,000 years away (QA).
        if (spec == 'Y' && pos - digits_at < 4) {
            why = fmt::format("\"{}\" does not match the time format \"{}\": %Y is a four-digit year, got \"{}\" at "
                              "character {}{}", printable(text), format, text.substr(digits_at, pos - digits_at),
                              digits_at + 1,
                              pos - digits_at == 2 ? " (a two-digit year? read it with %y in --csv-time-format, as "
                                                     "1969-2068)" : "");
            return false;
        }
        if (spec == 'Y' && (negative || v < kEarliestYear)) {
            why = fmt::format("\"{}\": the year {} is before any weather record ({} the year must be written in full)",
                              printable(text), text.substr(digits_at - negative, pos - digits_at + negative),
                              short_year_guess(negative ? -v : v));
            return false;
        }
        switch (spec) {
            case 'Y': c.year = v; break;
            case 'y': c.year = v < 69 ? 2000 + v : 1900 + v; break;  // POSIX's pivot
            case 'm': c.month = int(v); break;
            case 'd': c.day = int(v); break;
            case 'H': c.hour = int(v); break;
            case 'M': c.minute = int(v); break;
            case 'S': c.second = int(v); break;
            default:
                why = fmt::format("unsupported conversion %{} in time format \"{}\" (use %Y %y %m %d %H %M %S)",
                                  spec, format);
                return false;
        }
    }
    if (pos != text.size()) {
        why = fmt::format("\"{}\" has extra characters after the time format \"{}\"", printable(text), format);
        return false;
    }
    if (!valid_civil(c)) {
        why = fmt::format("\"{}\" is not a valid date and time", printable(text));
        return false;
    }
    seconds = to_seconds(c);
    return true;
}

bool check_time_format(std::string_view format, std::string& why) {
    std::string seen;
    for (size_t i = 0; i < format.size(); ++i) {
        if (format[i] != '%') continue;
        if (i + 1 == format.size()) {
            why = fmt::format("time format \"{}\" ends with a lone %", format);
            return false;
        }
        const char spec = format[++i];
        if (spec == '%') continue;
        if (std::string_view("YymdHMS").find(spec) == std::string_view::npos) {
            why = fmt::format("unsupported conversion %{} in time format \"{}\" (use %Y %y %m %d %H %M %S; per-row UTC "
                              "offsets such as %z are not read: convert the times to one offset, given with "
                              "--csv-utc-offset)", spec, format);
            return false;
        }
        if (seen.find(spec) != std::string::npos) {
            why = fmt::format("time format \"{}\" has %{} twice", format, spec);
            return false;
        }
        if ((spec == 'Y' || spec == 'y') && seen.find(spec == 'Y' ? 'y' : 'Y') != std::string::npos) {
            why = fmt::format("time format \"{}\" has both %Y and %y: give the year once", format);
            return false;
        }
        seen += spec;
    }
    for (const char needed : {'Y', 'm', 'd'})
        if (seen.find(needed) == std::string::npos && (needed != 'Y' || seen.find('y') == std::string::npos)) {
            why = fmt::format("time format \"{}\" has no %{} (a time needs year, month and day: %Y %m %d)", format,
                              needed);
            return false;
        }
    return true;
}

int64_t parse_date_arg(std::string_view text, const char* what) {
    text = trim(text);
    static const char* kFormats[] = {"%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M",
                                     "%Y-%m-%dT%H:%M",    "%Y-%m-%d",          "%Y-%m",
                                     "%Y"};
    std::string why;
    for (const char* f : kFormats) {
        int64_t t = 0;
        if (parse_time(text, f, t, why)) return t;
        // A date of the right form with a year written short is said as that (QA's recheck: "0014-01-01" was "not a
        // date; use YYYY-MM-DD ...").
        FR_CHECK(why.find("before any weather record") == std::string::npos, "{}: {}", what, why);
    }
    FR_FAIL("{}: \"{}\" is not a date; use YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DD HH:MM[:SS]", what, text);
}

}  // namespace fusedrnn::data
