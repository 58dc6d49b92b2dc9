// fusedrnn::data — CsvFormat presets for the station layouts fusedrnn knows (docs/data.md). Those that carry TMP,
// DEW, WND_ANGLE, WND_RATE or SLP check them against NOAA's documented limits (noaa_isd_ranges()); Jena has none.
#pragma once

#include <string>
#include <vector>

#include "fusedrnn/core/data/csv_reader.h"

namespace fusedrnn::data {

// WEATHER-5K per-station CSV: DATE ("2014-01-01 00:00:00", UTC, hourly) and TMP, DEW, WND_ANGLE,
// WND_RATE, SLP (any column order; other columns ignored). A MASK column ("[1 1 0 1 1]", 1 = observed, the
// flags taken in the order TMP, DEW, WND_ANGLE, WND_RATE, SLP) is read when present: the released series
// are gap-filled, and the filled values are counted, or masked as missing with drop_filled.
CsvFormat weather5k_format();
// Jena climate (MPI-BGC): "Date Time" as "01.01.2009 00:10:00", 10-minute rows, 14 numeric columns
// all used as features, target "T (degC)"; -9999 (the file's wind-speed error value) is missing.
CsvFormat jena_format();
// UCI Beijing Multi-Site Air-Quality: year, month, day, hour in Beijing time (UTC+8, converted to
// UTC). TEMP, DEWP, wd (compass), WSPM, PRES read as TMP, DEW, WND_ANGLE, WND_RATE, SLP — note PRES
// is station pressure, not sea-level. Station name from the "station" column.
CsvFormat beijing_multisite_format();
// UCI PM2.5 Data of Five Chinese Cities: year, month, day, hour (UTC+8). TEMP, DEWP, PRES, HUMI as
// TMP, DEW, SLP, RH (its wind columns are a categorical direction and a cumulated speed: not used); -9999 is missing.
CsvFormat pm25_five_cities_format();
// NOAA LCD hourly CSV: DATE in local standard time (kept as is: the file gives no offset) at hh:51-
// hh:56, rounded to the nearest hour; HourlyDryBulbTemperature and HourlyDewPointTemperature (°F,
// converted to °C) as TMP and DEW, HourlyRelativeHumidity as RH. Duplicate hours keep the first report.
CsvFormat noaa_lcd_format();
// NCEI's own LCD export (Climate Data Online, standard units), every column as NCEI writes it: DATE as
// "2014-01-01T00:53:00" in local standard time, rounded to the nearest hour as noaa-lcd's; the WEATHER-5K variables
// from HourlyDryBulbTemperature, HourlyDewPointTemperature (°F -> °C), HourlyWindDirection (degrees), HourlyWindSpeed
// (mph -> m/s) and HourlySeaLevelPressure (inHg -> hPa). Daily and monthly summary lines (REPORT_TYPE SOD, SOM) are
// passed over and counted; "M" and a variable wind direction ("VRB") are missing; a value flagged suspect ("23s") is
// masked and counted. Several stations in one file are an error naming the line. A metric file (pressures in hPa) is
// refused, naming the line and ncei-lcd-metric.
CsvFormat ncei_lcd_format();
// The same in metric units: LCD v2 files (NCEI's product since 2024) and legacy exports downloaded with units=metric;
// °C, m/s and hPa read as they are. A file in inches of mercury is refused, naming ncei-lcd.
CsvFormat ncei_lcd_metric_format();

// Preset by name: "weather5k", "jena", "beijing-multisite", "pm25-five-cities", "noaa-lcd", "ncei-lcd",
// "ncei-lcd-metric". Throws fusedrnn::Error listing the names.
CsvFormat csv_preset(const std::string& name);
std::vector<std::string> csv_preset_names();

// Guesses the preset from a header (column names); "" when none matches.
std::string detect_csv_preset(const std::vector<std::string>& header);

}  // namespace fusedrnn::data
