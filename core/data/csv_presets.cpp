#include "fusedrnn/core/data/csv_presets.h"

#include <algorithm>

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

CsvFormat ncei_lcd_format() {
    CsvFormat f;
    f.name = "ncei-lcd";
    f.time_columns = {"DATE"};
    f.time_format = "%Y-%m-%dT%H:%M:%S";
    f.rounding = TimeRounding::Nearest;
    const double k = 5.0 / 9.0;             // °F -> °C
    const double mph = 0.44704;             // mph -> m/s (exact)
    const double inhg = 3386.389 / 100.0;   // inHg -> hPa (at 0 °C, as NOAA converts)
    f.features = {CsvColumn("HourlyDryBulbTemperature", "TMP", k, -32.0 * k),
                  CsvColumn("HourlyDewPointTemperature", "DEW", k, -32.0 * k),
                  CsvColumn("HourlyWindDirection", "WND_ANGLE"),   // degrees from north, calm "000" (as ISD's 0)
                  CsvColumn("HourlyWindSpeed", "WND_RATE", mph),
                  CsvColumn("HourlySeaLevelPressure", "SLP", inhg)};
    f.missing_tokens = {"", "M", "VRB"};    // M: missing; VRB: a variable wind direction, no single value
    f.suspect_suffix = "s";
    f.skip_column = "REPORT_TYPE";
    f.skip_values = {"SOD", "SOM"};
    f.skip_what = "daily and monthly summaries, REPORT_TYPE SOD and SOM";
    f.name_column = "NAME";                 // in the exports made with station details; older ones lack it
    f.name_required = false;
    f.latitude_column = "LATITUDE";
    f.longitude_column = "LONGITUDE";
    // The metric export (units=metric) has the same columns in °C, m/s and hPa: its pressures give it away. Inches of
    // mercury stay under 32 at sea level and near 20 at the highest US stations; hPa are over 500.
    const std::string metric =
        "is not a pressure in inches of mercury: the file looks like NCEI's metric LCD export (units=metric), and the "
        "ncei-lcd format reads the standard one (degrees F, mph, inHg), NCEI's default: download the data again with "
        "units=standard";
    f.unit_checks = {{"HourlySeaLevelPressure", 40, metric},
                     {"HourlyStationPressure", 40, metric},
                     {"HourlyAltimeterSetting", 40, metric}};
    f.valid_ranges = noaa_isd_ranges();     // compared after the conversion
    return f;
}

std::vector<std::string> csv_preset_names() {
    return {"weather5k", "jena", "beijing-multisite", "pm25-five-cities", "noaa-lcd", "ncei-lcd"};
}

CsvFormat csv_preset(const std::string& name) {
    if (name == "weather5k") return weather5k_format();
    if (name == "jena") return jena_format();
    if (name == "beijing-multisite" || name == "beijing") return beijing_multisite_format();
    if (name == "pm25-five-cities" || name == "pm25") return pm25_five_cities_format();
    if (name == "noaa-lcd" || name == "lcd") return noaa_lcd_format();
    if (name == "ncei-lcd") return ncei_lcd_format();
    FR_FAIL("unknown data format \"{}\"; known: auto, isd-lite, csv, {}", name, join_names(csv_preset_names()));
}

std::string detect_csv_preset(const std::vector<std::string>& header) {
    auto has = [&](const char* c) { return std::find(header.begin(), header.end(), c) != header.end(); };
    if (has("DATE") && has("TMP") && has("DEW") && has("WND_ANGLE") && has("WND_RATE") && has("SLP"))
        return "weather5k";
    if (has("Date Time") && has("T (degC)")) return "jena";
    if (has("year") && has("hour") && has("wd") && has("WSPM") && has("PRES")) return "beijing-multisite";
    if (has("year") && has("hour") && has("cbwd") && has("HUMI") && has("PRES")) return "pm25-five-cities";
    // NCEI's own export has REPORT_TYPE (and a hundred more columns); the reduced layout has only the data columns.
    if (has("DATE") && has("REPORT_TYPE") && has("HourlyDryBulbTemperature")) return "ncei-lcd";
    if (has("DATE") && has("HourlyDryBulbTemperature") && has("HourlyDewPointTemperature")) return "noaa-lcd";
    return "";
}

}  // namespace fusedrnn::data
