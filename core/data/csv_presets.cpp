#include "fusedrnn/core/data/csv_presets.h"

#include <algorithm>
#include <limits>

#include "fusedrnn/core/data/text.h"
#include "fusedrnn/core/data/time.h"
#include "fusedrnn/core/error.h"

namespace fusedrnn::data {

CsvFormat weather5k_format() {
    CsvFormat f;
    f.name = "weather5k";
    f.time_columns = {"DATE"};
    f.time_format = "%Y-%m-%d %H:%M:%S";
    for (const auto& v : weather5k_vars()) f.features.emplace_back(v);
    f.mask_column = "MASK";  // when the files have it: flags in the order TMP, DEW, WND_ANGLE, WND_RATE, SLP
    f.latitude_column = "LATITUDE";  // the station's coordinates, on every line of its file
    f.longitude_column = "LONGITUDE";
    f.valid_ranges = noaa_isd_ranges();
    return f;
}

CsvFormat jena_format() {
    CsvFormat f;
    f.name = "jena";
    f.time_columns = {"Date Time"};
    f.time_format = "%d.%m.%Y %H:%M:%S";
    f.step = 600;
    f.features = {};  // all 14 columns
    f.targets = {CsvColumn("T (degC)")};
    f.sentinels = {-9999.0, -9999.99};
    return f;
}

CsvFormat beijing_multisite_format() {
    CsvFormat f;
    f.name = "beijing-multisite";
    f.time_columns = {"year", "month", "day", "hour"};
    f.utc_offset = 8 * kSecondsPerHour;
    f.features = {CsvColumn("TEMP", "TMP"), CsvColumn("DEWP", "DEW"),
                  CsvColumn("wd", "WND_ANGLE", 1, 0, ValueKind::Compass), CsvColumn("WSPM", "WND_RATE"),
                  CsvColumn("PRES", "SLP")};
    f.name_column = "station";
    // PRES behaves like station pressure, read as SLP: NOAA's sea-level limits (860 hPa up) hold for these sites on
    // the plain (means 1008-1012 hPa); a station high up would need a wider range (--valid-range SLP=500:1090).
    f.valid_ranges = noaa_isd_ranges();
    return f;
}

CsvFormat pm25_five_cities_format() {
    CsvFormat f;
    f.name = "pm25-five-cities";
    f.time_columns = {"year", "month", "day", "hour"};
    f.utc_offset = 8 * kSecondsPerHour;
    f.features = {CsvColumn("TEMP", "TMP"), CsvColumn("DEWP", "DEW"), CsvColumn("PRES", "SLP"),
                  CsvColumn("HUMI", "RH")};
    // Guangzhou's file writes -9999 for DEWP and HUMI on a few lines (2013-12-14): missing, not data (the range check
    // catches such a DEWP, but HUMI has no range).
    f.sentinels = {-9999.0};
    f.valid_ranges = noaa_isd_ranges();  // PRES behaves like sea-level pressure (Chengdu, ~500 m up: 1014.6 hPa)
    return f;
}

CsvFormat noaa_lcd_format() {
    CsvFormat f;
    f.name = "noaa-lcd";
    f.time_columns = {"DATE"};
    f.time_format = "%Y-%m-%d %H:%M:%S";
    f.rounding = TimeRounding::Nearest;
    const double k = 5.0 / 9.0;  // °F -> °C
    f.features = {CsvColumn("HourlyDryBulbTemperature", "TMP", k, -32.0 * k),
                  CsvColumn("HourlyDewPointTemperature", "DEW", k, -32.0 * k),
                  CsvColumn("HourlyRelativeHumidity", "RH")};
    f.valid_ranges = noaa_isd_ranges();  // compared in °C, after the conversion (no SLP or wind here)
    return f;
}

namespace {

// NCEI's LCD export in either unit system: the same columns, in °F, mph and inHg (the legacy export's standard units)
// or in °C, m/s and hPa (LCD v2, which NCEI serves since 2024, and the legacy export downloaded with units=metric).
// The pressures tell them apart: inches of mercury stay under 32 at sea level and near 20 at the highest US stations,
// hPa are over 500; each format refuses the other's at its first pressure, saying which format reads it.
CsvFormat ncei_lcd(bool metric) {
    constexpr double kNoBound = std::numeric_limits<double>::infinity();
    CsvFormat f;
    f.name = metric ? "ncei-lcd-metric" : "ncei-lcd";
    f.time_columns = {"DATE"};
    f.time_format = "%Y-%m-%dT%H:%M:%S";
    f.rounding = TimeRounding::Nearest;
    const double k = metric ? 1.0 : 5.0 / 9.0;              // °F -> °C
    const double mph = metric ? 1.0 : 0.44704;              // mph -> m/s (exact)
    const double inhg = metric ? 1.0 : 3386.389 / 100.0;    // inHg -> hPa (at 0 °C, as NOAA converts)
    f.features = {CsvColumn("HourlyDryBulbTemperature", "TMP", k, metric ? 0.0 : -32.0 * k),
                  CsvColumn("HourlyDewPointTemperature", "DEW", k, metric ? 0.0 : -32.0 * k),
                  CsvColumn("HourlyWindDirection", "WND_ANGLE"),   // degrees from north, calm 0 (as ISD's)
                  CsvColumn("HourlyWindSpeed", "WND_RATE", mph),
                  CsvColumn("HourlySeaLevelPressure", "SLP", inhg)};
    f.missing_tokens = {"", "M", "VRB"};    // M: missing; VRB: a variable wind direction, no single value
    f.suspect_suffix = "s";
    f.skip_column = "REPORT_TYPE";
    f.skip_values = {"SOD", "SOM"};
    f.skip_what = "daily and monthly summaries, REPORT_TYPE SOD and SOM";
    f.calm_direction = "WND_ANGLE";          // LCD v2 writes calm as an empty direction with speed 0
    f.calm_speed = "WND_RATE";
    f.station_column = "STATION";           // an order of several stations may come as one file
    f.name_column = "NAME";                 // in the exports made with station details; older ones lack it
    f.name_required = false;
    f.latitude_column = "LATITUDE";
    f.longitude_column = "LONGITUDE";
    const std::string why =
        metric ? "is a pressure in inches of mercury, not hPa: the file is in the standard units of NCEI's legacy "
                 "LCD export (degrees F, mph, inHg): read it with --format ncei-lcd"
               : "is not a pressure in inches of mercury: the file is in metric units (NCEI's LCD v2 files, or a "
                 "legacy export downloaded with units=metric): read it with --format ncei-lcd-metric";
    for (const char* column : {"HourlySeaLevelPressure", "HourlyStationPressure", "HourlyAltimeterSetting"})
        f.unit_checks.push_back({column, metric ? 100.0 : -kNoBound, metric ? kNoBound : 40.0, why});
    f.valid_ranges = noaa_isd_ranges();     // compared after the conversion
    return f;
}

}  // namespace

CsvFormat ncei_lcd_format() { return ncei_lcd(false); }
CsvFormat ncei_lcd_metric_format() { return ncei_lcd(true); }

std::vector<std::string> csv_preset_names() {
    return {"weather5k", "jena", "beijing-multisite", "pm25-five-cities", "noaa-lcd", "ncei-lcd", "ncei-lcd-metric"};
}

CsvFormat csv_preset(const std::string& name) {
    if (name == "weather5k") return weather5k_format();
    if (name == "jena") return jena_format();
    if (name == "beijing-multisite" || name == "beijing") return beijing_multisite_format();
    if (name == "pm25-five-cities" || name == "pm25") return pm25_five_cities_format();
    if (name == "noaa-lcd" || name == "lcd") return noaa_lcd_format();
    if (name == "ncei-lcd") return ncei_lcd_format();
    if (name == "ncei-lcd-metric") return ncei_lcd_metric_format();
    FR_FAIL("unknown data format \"{}\"; known: auto, isd-lite, csv, {}", name, join_names(csv_preset_names()));
}

std::string detect_csv_preset(const std::vector<std::string>& header) {
    auto has = [&](const char* c) { return std::find(header.begin(), header.end(), c) != header.end(); };
    if (has("DATE") && has("TMP") && has("DEW") && has("WND_ANGLE") && has("WND_RATE") && has("SLP"))
        return "weather5k";
    if (has("Date Time") && has("T (degC)")) return "jena";
    if (has("year") && has("hour") && has("wd") && has("WSPM") && has("PRES")) return "beijing-multisite";
    if (has("year") && has("hour") && has("cbwd") && has("HUMI") && has("PRES")) return "pm25-five-cities";
    // NCEI's own export has REPORT_TYPE and the five variables' columns (and a hundred more); the reduced layout has
    // only temperatures and humidity. Which unit system it is in, the data tells (station_folder.cpp).
    if (has("DATE") && has("REPORT_TYPE") && has("HourlyDryBulbTemperature") && has("HourlyDewPointTemperature") &&
        has("HourlyWindDirection") && has("HourlyWindSpeed") && has("HourlySeaLevelPressure"))
        return "ncei-lcd";
    if (has("DATE") && has("HourlyDryBulbTemperature") && has("HourlyDewPointTemperature")) return "noaa-lcd";
    return "";
}

}  // namespace fusedrnn::data
