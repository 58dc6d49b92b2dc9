// The CSV station reader: a station's files read into one grid. How a file's records and columns are read is in
// detail/csv_records.cpp, what a line's cells hold in detail/csv_cells.cpp.
#include "fusedrnn/core/data/csv_reader.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <memory>
#include <string_view>

#include <fmt/format.h>

#include "fusedrnn/core/data/detail/csv_cells.h"
#include "fusedrnn/core/data/detail/csv_records.h"
#include "fusedrnn/core/data/grid_builder.h"
#include "fusedrnn/core/data/line_reader.h"
#include "fusedrnn/core/data/text.h"
#include "fusedrnn/core/data/time.h"
#include "fusedrnn/core/error.h"

namespace fusedrnn::data {

namespace {

std::string file_stem(const std::string& path) {
    std::filesystem::path p(path);
    if (p.extension() == ".gz") p = p.stem();
    return p.stem().string();
}

}  // namespace

using namespace csv_detail;  // the reader's own parts


std::optional<bool> csv_units_match(const std::string& path, const CsvFormat& format, int max_records) {
    LineReader reader(path);
    const std::vector<std::string> header = header_fields(reader, path, format.delimiter);
    const std::vector<size_t> idx = unit_check_columns(header, format, path);
    std::string_view line;
    std::vector<std::string> fields;
    std::string why, joined, where;
    for (int n = 0; n < max_records && reader.next(line); ++n) {
        if (!split_record(reader, line, format.delimiter, fields, why, joined, where) || fields.size() != header.size())
            continue;  // the read proper names it
        if (!unit_problem(fields, header, idx, format).empty()) return false;
        for (size_t k = 0; k < idx.size(); ++k) {
            double v = 0;
            if (idx[k] < header.size() && (parse_number(trim(fields[idx[k]]), v) ||
                                           suspect_number(trim(fields[idx[k]]), format, v)))
                return true;  // a number within the checks: the units match
        }
    }
    return std::nullopt;
}

std::vector<std::string> read_csv_header(const std::string& path, char delimiter) {
    LineReader reader(path);
    return header_fields(reader, path, delimiter);
}

StationSeries read_csv_station(const std::string& path, const CsvFormat& format, ReadReport& report) {
    return read_csv_station_files({path}, file_stem(path), format, report);
}

StationSeries read_csv_station_files(const std::vector<std::string>& paths, const std::string& id,
                                     const CsvFormat& format, ReadReport& report) {
    FR_CHECK(!paths.empty(), "read_csv_station_files: no files for station \"{}\"", printable(id));
    FR_CHECK(!format.time_columns.empty() && format.time_columns.size() <= 6,
             "{} format: time_columns must name 1 to 6 columns (a date-time, or year, month, day, hour[, minute[, "
             "second]])", format.name);
    FR_CHECK(format.time_columns.size() == 1 || format.time_columns.size() >= 3,
             "{} format: with several time columns give at least year, month, day", format.name);
    // What the station's files share: one grid (its variables set by the first file), the station its lines name,
    // its name and coordinates.
    std::unique_ptr<GridBuilder> grid;
    std::vector<std::string> station_vars, targets;
    std::string station_value, station_first;  // the station the first line names, and that line
    std::string station_name;
    StationMeta meta;
    for (const std::string& path : paths) {
        LineReader reader(path);
        std::string_view line;
        std::vector<std::string> fields;
        std::string why;
        const std::vector<std::string> header = header_fields(reader, path, format.delimiter);

        const FileColumns cols = resolve_columns(header, format, path);
        const std::vector<std::string>& vars = cols.vars;
        const std::vector<Selected>& sel = cols.selected;
        if (!grid) {
            grid = std::make_unique<GridBuilder>(vars, format.step, format.rounding, format.valid_ranges);
            station_vars = vars;
            for (const auto& c : format.targets) targets.push_back(c.var_name());
        }
        FR_CHECK(vars == station_vars, "{}: its variables ({}) are not those of {} ({}), another file of station "
                 "\"{}\": the files of one station must have the same columns", path, join_names(vars), paths.front(),
                 join_names(station_vars), printable(id));
        grid->begin_file(path);
        ++report.files;
        const size_t rows_before = grid->size();
        std::vector<float> values(vars.size());
        std::vector<char> code_like;  // per selected cell of the line: a number that looks like a missing-value code
        std::vector<bool> observed;
        const bool masked = cols.mask < header.size();
        const auto var_index = [&](const std::string& v) {
            return size_t(std::find(vars.begin(), vars.end(), v) - vars.begin());  // vars.size() when absent
        };
        const size_t calm_dir = format.calm_direction.empty() ? vars.size() : var_index(format.calm_direction);
        const size_t calm_speed = format.calm_speed.empty() ? vars.size() : var_index(format.calm_speed);
        const bool calm_rule = calm_dir < vars.size() && calm_speed < vars.size();
        const std::string time_label = cols.time.size() == 1 ? column_label(header, cols.time[0])
                                                            : "columns " + join_names(format.time_columns);
        // A UTC offset that is not a whole number of steps (India's +5:30 on an hourly file) moves on-the-hour local
        // times off the UTC grid: say so, with the flag that snaps them.
        const std::string offset_hint =
            floor_mod(format.utc_offset, format.step) == 0
                ? std::string()
                : fmt::format(" (the UTC offset of {:g} h is not a whole number of {}-second steps, so the file's "
                              "times fall between grid rows: snap them with --csv-round-times)",
                              double(format.utc_offset) / 3600, format.step);
        auto on_grid = [&](int64_t t) {
            if (grid->accepts(t, why)) return true;
            why = time_label + ": " + why + (offset_hint.empty() ? off_grid_hint(t, format.step) : offset_hint);
            return false;
        };

        bool last_was_data = false;
        std::string joined, where;  // a record over several lines (a quoted line break), and its lines for messages
        while (reader.next(line)) {
            last_was_data = !trim(line).empty();
            if (!last_was_data) {  // harmless, but counted
                ++report.blank_lines;
                continue;
            }
            ++report.lines;
            // Parse the whole line first; a failure either throws or skips the line (counted).
            int64_t time = 0;
            MaskedCells masked_cells;
            const bool split = split_record(reader, line, format.delimiter, fields, why, joined, where) &&
                               field_count_ok(fields, header, why);
            if (split && passed_over(fields, cols.skip, format)) {
                ++report.passed_over_lines;
                if (report.passed_over_what.empty()) report.passed_over_what = format.skip_what;
                continue;
            }
            if (split) {
                const std::string units = unit_problem(fields, header, cols.unit_checks, format);
                FR_CHECK(units.empty(), "{}: {}", where, units);
            }
            if (split && cols.station < header.size()) {
                // Thrown even under BadLines::Skip: every line of the other stations would be a bad line.
                const std::string_view st = trim(fields[cols.station]);
                if (station_first.empty()) {
                    station_value.assign(st);
                    station_first = where;
                }
                FR_CHECK(st == station_value, "{}: {}: \"{}\" is another station than \"{}\" (from {}): {}", where,
                         column_label(header, cols.station), printable(st), printable(station_value), station_first,
                         paths.size() == 1 ? "the file holds several stations; give each station a file of its own"
                                           : "the files of one station name another station");
            }
            const bool ok = split && line_time(fields, header, cols.time, format, time, why) && on_grid(time) &&
                            line_values(fields, header, sel, format, values.data(), masked_cells, code_like, why) &&
                            (!masked || mask_flags(fields[cols.mask], cols.mask, header, cols.feature_vars, observed, why));
            if (!ok) {
                FR_CHECK(format.on_bad_line == BadLines::Skip, "{}: {}", where, why);
                ++report.skipped_lines;
                report.note(where + ": " + why);
                continue;
            }
            // The name goes into messages and reports: made printable like any text from a file.
            if (station_name.empty() && cols.name < header.size()) station_name = printable(trim(fields[cols.name]));
            take_coordinate(fields, cols.latitude, 90, meta.latitude);
            take_coordinate(fields, cols.longitude, 360, meta.longitude);
            // A calm written as no direction with speed 0 (LCD v2): the direction ISD-Lite gives a calm.
            if (calm_rule && std::isnan(values[calm_dir]) && values[calm_speed] == 0.0f &&
                is_missing_cell(fields[sel[calm_dir].index], format)) {
                values[calm_dir] = 0.0f;
                --masked_cells.missing;
                ++report.calm_directions;
            }
            report.missing_values += masked_cells.missing;
            report.suspect_values += masked_cells.suspect;
            grid->mask_out_of_range(values.data(), reader.line_number());
            for (size_t k = 0; k < sel.size(); ++k)  // those a valid range masked are counted there
                if (code_like[k] && !std::isnan(values[k])) {
                    if (report.code_like_values++ == 0)
                        report.code_like_first = fmt::format("{}: {}: {}", where, column_label(header, sel[k].index),
                                                             printable(trim(fields[sel[k].index])));
                }
            const FilledValues filled = masked ? apply_mask(observed, format.drop_filled, values.data())
                                                      : FilledValues{};
            grid->add(time, values.data(), reader.line_number(), report, filled);
        }
        report.note_end_of_file(reader, last_was_data);
        // One year's file of a station with several that holds nothing (a failed download) is counted, as ISD-Lite's.
        if (paths.size() > 1 && grid->size() == rows_before) report.note_empty_file(path);
    }
    FR_CHECK(grid->size() > 0, "{}: no data lines{}", paths.size() == 1 ? paths.front() : join_names(paths, 4),
             report.skipped_lines > 0 ? " (all were skipped as malformed)" : "");
    StationSeries s = grid->build(id, station_name.empty() ? id : station_name, report);
    s.targets = targets;
    s.meta = meta;
    return s;
}

}  // namespace fusedrnn::data
