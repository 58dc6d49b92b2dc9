#include "fusedrnn/core/data/isd_lite.h"

#include <cmath>
#include <filesystem>
#include <memory>
#include <string_view>

#include <fmt/format.h>

#include "fusedrnn/core/data/detail/not_text.h"
#include "fusedrnn/core/data/grid_builder.h"
#include "fusedrnn/core/data/line_reader.h"
#include "fusedrnn/core/data/text.h"
#include "fusedrnn/core/data/time.h"
#include "fusedrnn/core/error.h"

namespace fusedrnn::data {

namespace {

constexpr size_t kLineLength = 61;
constexpr long long kSentinel = -9999;

// One fixed-width field: 1-based first column, width, name, scale to physical units.
struct Field {
    int col;
    int width;
    const char* name;
};
constexpr Field kYear{1, 4, "year"}, kMonth{6, 2, "month"}, kDay{9, 2, "day"}, kHour{12, 2, "hour"};
// Data fields in file order: TMP, DEW, SLP, WND_ANGLE, WND_RATE (sky cover and precipitation unused).
constexpr Field kTmp{14, 6, "air temperature"}, kDew{20, 6, "dew point"}, kSlp{26, 6, "sea-level pressure"},
    kDir{32, 6, "wind direction"}, kSpd{38, 6, "wind speed"};
// Not read into the series, but part of the layout: a line whose other fields are integers and these are not has
// lost its alignment somewhere.
constexpr Field kSky{44, 6, "sky condition"}, kPrecip1{50, 6, "1-hour precipitation"},
    kPrecip6{56, 6, "6-hour precipitation"};

// Parses one line; on failure returns false with the reason (columns named) in `why`. `file_year` (the YEAR of a
// file named USAF-WBAN-YEAR, else 0) is the only year its lines may have.
bool parse_line(std::string_view line, long long file_year, int64_t& time, float out[5], int64_t& missing,
                std::string& why) {
    if (line.size() < kLineLength) {
        why = fmt::format("line has {} characters, ISD-Lite lines have {} (truncated?)", line.size(), kLineLength);
        return false;
    }
    auto field = [&](const Field& f, long long& v) {
        const std::string_view text = line.substr(size_t(f.col - 1), size_t(f.width));
        if (parse_int(text, v)) return true;
        why = fmt::format("columns {}-{} ({}): \"{}\" is not an integer", f.col, f.col + f.width - 1, f.name,
                          printable(text));
        return false;
    };
    if (line.size() > kLineLength && !trim(line.substr(kLineLength)).empty()) {
        why = fmt::format("text after column {} (\"{}\"): ISD-Lite lines have {} characters", kLineLength,
                          printable(line.substr(kLineLength)), kLineLength);
        return false;
    }
    long long y, mo, d, h, unused;
    if (!field(kYear, y) || !field(kMonth, mo) || !field(kDay, d) || !field(kHour, h)) return false;
    if (!field(kSky, unused) || !field(kPrecip1, unused) || !field(kPrecip6, unused)) return false;
    if (y < kEarliestYear) {  // a file not named USAF-WBAN-YEAR has no year to hold its lines to
        why = fmt::format("columns 1-4 (year): {:04d} is before any weather record ({} ISD-Lite years have four "
                          "digits)", y, short_year_guess(y));
        return false;
    }
    CivilTime c;
    c.year = y;
    c.month = int(mo);
    c.day = int(d);
    c.hour = int(h);
    if (!valid_civil(c)) {
        why = fmt::format("columns 1-13: {:04d}-{:02d}-{:02d} hour {:02d} is not a valid date and hour", y, mo, d, h);
        return false;
    }
    // A line of another year would stretch the station's grid by the years between (thousands of empty rows).
    if (file_year != 0 && y != file_year) {
        why = fmt::format("columns 1-4 (year): {:04d}, but the file name (USAF-WBAN-YEAR) says {:04d}", y, file_year);
        return false;
    }
    time = to_seconds(c);
    // Output order TMP, DEW, WND_ANGLE, WND_RATE, SLP, with the file's scale factors: tenths are divided by 10 in
    // double, so "31" gives the float nearest 3.1 (times 0.1f gave the next float up, 3.1000001).
    const Field* fields[5] = {&kTmp, &kDew, &kDir, &kSpd, &kSlp};
    const double divisor[5] = {10.0, 10.0, 1.0, 10.0, 10.0};
    for (int k = 0; k < 5; ++k) {
        long long v;
        if (!field(*fields[k], v)) return false;
        if (v == kSentinel) {
            out[k] = kMissing;
            ++missing;
        } else {
            out[k] = float(double(v) / divisor[k]);
        }
    }
    return true;
}

// The YEAR of a file named USAF-WBAN-YEAR[.gz], else 0.
long long year_of_file(const std::string& path) {
    const std::string name = std::filesystem::path(path).filename().string();
    if (!isd_lite_filename(name)) return 0;
    long long year = 0;
    return parse_int(std::string_view(name).substr(13, 4), year) ? year : 0;
}

void read_into(const std::string& path, GridBuilder& grid, ReadReport& report, const IsdLiteOptions& opts) {
    const long long file_year = year_of_file(path);
    LineReader reader(path);
    grid.begin_file(path);
    ++report.files;
    std::string_view line;
    std::string why;
    float values[5];
    bool last_was_data = false;
    int64_t data_lines = 0;
    while (reader.next(line)) {
        last_was_data = !trim(line).empty();
        if (!last_was_data) {  // harmless, but counted
            ++report.blank_lines;
            continue;
        }
        ++report.lines;
        ++data_lines;
        // A file that is no text (an archive, a binary file) is that, not a line of bad columns, even under
        // --skip-bad-lines (fuzz QA: a bzip2'd file was "text after column 61").
        if (reader.line_number() == 1) {
            if (const std::string not_text = csv_detail::not_text_why(line); !not_text.empty())
                FR_FAIL("{}: the file {}", path, not_text);
            // And line ends the lines cannot be read by (QA's recheck: "text after column 61 ("\x0d")").
            if (const std::string ends = csv_detail::line_end_why(line, reader.last_line_unterminated()); !ends.empty())
                FR_FAIL("{}: {}", path, ends);
        }
        int64_t time = 0, missing = 0;
        if (!parse_line(line, file_year, time, values, missing, why)) {
            FR_CHECK(opts.on_bad_line == BadLines::Skip, "{}: {}", reader.where(), why);
            ++report.skipped_lines;
            report.note(reader.where() + ": " + why);
            continue;
        }
        report.missing_values += missing;
        grid.mask_out_of_range(values, reader.line_number());
        grid.add(time, values, reader.line_number(), report);
    }
    report.note_end_of_file(reader, last_was_data);
    if (data_lines == 0) report.note_empty_file(path);
}

std::string stem_id(const std::string& path) {
    std::string name = std::filesystem::path(path).filename().string();
    std::string id;
    if (isd_lite_filename(name, &id)) return id;
    if (name.size() > 3 && name.compare(name.size() - 3, 3, ".gz") == 0) name.resize(name.size() - 3);
    return name;
}

}  // namespace

bool isd_lite_filename(const std::string& filename, std::string* station_id) {
    // USAF(6)-WBAN(5)-YEAR(4)[.gz]; USAF ids may contain letters (e.g. "A00023"), WBAN are digits.
    std::string_view n(filename);
    if (n.size() >= 3 && n.substr(n.size() - 3) == ".gz") n.remove_suffix(3);
    if (n.size() != 17 || n[6] != '-' || n[12] != '-') return false;
    for (size_t i = 0; i < 17; ++i) {
        if (i == 6 || i == 12) continue;
        const char ch = n[i];
        const bool ok = (ch >= '0' && ch <= '9') || (i < 6 && ch >= 'A' && ch <= 'Z');
        if (!ok) return false;
    }
    if (station_id) *station_id = std::string(n.substr(0, 12));
    return true;
}

StationSeries read_isd_lite(const std::string& path, ReadReport& report, const IsdLiteOptions& opts) {
    return read_isd_lite_files({path}, stem_id(path), report, opts);
}

StationSeries read_isd_lite_files(const std::vector<std::string>& paths, const std::string& station_id,
                                  ReadReport& report, const IsdLiteOptions& opts) {
    FR_CHECK(!paths.empty(), "station {}: no ISD-Lite files given", station_id);
    GridBuilder grid(weather5k_vars(), kSecondsPerHour, TimeRounding::Exact, opts.valid_ranges);
    const int64_t skipped_before = report.skipped_lines;
    const size_t examples_before = report.examples.size();
    for (const auto& p : paths) read_into(p, grid, report, opts);
    if (grid.size() == 0)
        throw NoDataLines(detail::located(__FILE__, __LINE__, fmt::format(
            "station {}: no valid lines in {}{}", station_id, join_names(paths, 4),
            report.all_skipped_note(skipped_before, examples_before))));
    return grid.build(station_id, station_id, report);
}

std::map<std::string, IsdStation> read_isd_history(const std::string& path, IsdHistoryUnread* unread) {
    LineReader reader(path);
    std::string_view line;
    std::vector<std::string> fields;
    std::string why;
    FR_CHECK(reader.next(line), "{}: empty file (expected NOAA's isd-history.csv header)", path);
    FR_CHECK(split_csv(line, ',', fields, why), "{}: {}", reader.where(), why);
    const std::vector<std::string> header = fields;
    auto col = [&](const char* name) {
        for (size_t i = 0; i < header.size(); ++i) {
            if (header[i] != name) continue;
            for (size_t j = i + 1; j < header.size(); ++j)
                FR_CHECK(header[j] != name, "{}: column \"{}\" appears twice in the header (columns {} and {})", path,
                         name, i + 1, j + 1);
            return i;
        }
        FR_FAIL("{}: no column \"{}\"; available: {}", path, name, join_names(header));
    };
    const size_t c_usaf = col("USAF"), c_wban = col("WBAN"), c_name = col("STATION NAME"), c_ctry = col("CTRY"),
                 c_lat = col("LAT"), c_lon = col("LON"), c_elev = col("ELEV(M)");
    std::map<std::string, IsdStation> out;
    while (reader.next(line)) {
        if (trim(line).empty()) continue;
        // A row that does not split into the header's fields names no station surely: passed over, counted (QA's
        // recheck: one such row of a station not in the data stopped the read).
        why.clear();
        if (!split_csv(line, ',', fields, why) || fields.size() != header.size()) {
            if (unread && unread->rows++ == 0)
                unread->first = fmt::format("{}: {}", reader.where(),
                                            why.empty() ? fmt::format("{} fields, the header has {}", fields.size(),
                                                                      header.size())
                                                        : why);
            continue;
        }
        IsdStation st;
        st.name = printable(fields[c_name]);  // it ends up in messages and reports
        if (!fields[c_ctry].empty()) st.name += " (" + printable(fields[c_ctry]) + ")";
        // Empty location fields mean "unknown" in NOAA's list, and so does one that is no number: the list is names
        // and places of 29,000 stations, of which one field must not stop the read of the data (fuzz QA: a LAT of
        // "12,5" on a station not in the data did).
        auto num = [&](size_t c, double& v) {
            if (!parse_number(fields[c], v)) v = std::nan("");
        };
        num(c_lat, st.meta.latitude);
        num(c_lon, st.meta.longitude);
        num(c_elev, st.meta.elevation);
        // As WEATHER-5K's LATITUDE/LONGITUDE columns: a coordinate out of range is unknown (it would shift local solar
        // time by hours), not a place.
        if (!(std::fabs(st.meta.latitude) <= 90)) st.meta.latitude = std::nan("");
        if (!(std::fabs(st.meta.longitude) <= 360)) st.meta.longitude = std::nan("");
        out.emplace(fields[c_usaf] + "-" + fields[c_wban], std::move(st));  // a station listed twice: its first row
    }
    return out;
}

}  // namespace fusedrnn::data
