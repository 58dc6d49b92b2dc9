// The CSV station reader: a station's files read into one grid. How a file's records and columns are read is in
// detail/csv_records.cpp, what a line's cells hold in detail/csv_cells.cpp.
#include "fusedrnn/core/data/csv_reader.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

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

namespace {

// What a station's files share: one grid (its variables set by the first file), the station its lines name, its
// name and coordinates.
struct StationState {
    const std::vector<std::string>& paths;
    const std::string& id;
    const CsvFormat& format;
    ReadReport& report;
    std::unique_ptr<GridBuilder> grid;
    std::vector<std::string> vars, targets;
    std::string station_value, station_first;  // the station the first line names, and that line
    std::string station_name;
    StationMeta meta;
};

// One of the station's files, read line by line into the shared grid. A line is parsed whole first; a failure
// either throws or skips the line (counted in the report).
class CsvFileReading {
public:
    CsvFileReading(const std::string& path, StationState& st)
        : path_(path), st_(st), f_(st.format), reader_(path),
          header_(header_fields(reader_, path, f_.delimiter)), cols_(resolve_columns(header_, f_, path)) {
        if (!st_.grid) {
            st_.grid = std::make_unique<GridBuilder>(cols_.vars, f_.step, f_.rounding, f_.valid_ranges);
            st_.vars = cols_.vars;
            for (const auto& c : f_.targets) st_.targets.push_back(c.var_name());
        }
        FR_CHECK(cols_.vars == st_.vars, "{}: its variables ({}) are not those of {} ({}), another file of station "
                 "\"{}\": the files of one station must have the same columns", path, join_names(cols_.vars),
                 st_.paths.front(), join_names(st_.vars), printable(st_.id));
        values_.resize(cols_.vars.size());
        masked_ = cols_.mask < header_.size();
        const size_t calm_dir = var_index(f_.calm_direction), calm_speed = var_index(f_.calm_speed);
        if (calm_dir < cols_.vars.size() && calm_speed < cols_.vars.size()) calm_ = {calm_dir, calm_speed};
        time_label_ = cols_.time.size() == 1 ? column_label(header_, cols_.time[0])
                                             : "columns " + join_names(f_.time_columns);
        // A UTC offset that is not a whole number of steps (India's +5:30 on an hourly file) moves on-the-hour local
        // times off the UTC grid: say so, with the flag that snaps them.
        if (floor_mod(f_.utc_offset, f_.step) != 0)
            offset_hint_ = fmt::format(" (the UTC offset of {:g} h is not a whole number of {}-second steps, so the "
                                       "file's times fall between grid rows: snap them with --csv-round-times)",
                                       double(f_.utc_offset) / 3600, f_.step);
    }

    void read() {
        ReadReport& report = st_.report;
        st_.grid->begin_file(path_);
        ++report.files;
        const size_t rows_before = st_.grid->size();
        bool last_was_data = false;
        std::string_view line;
        while (reader_.next(line)) {
            last_was_data = !trim(line).empty();
            if (!last_was_data) {  // harmless, but counted
                ++report.blank_lines;
                continue;
            }
            ++report.lines;
            read_line(line);
        }
        report.note_end_of_file(reader_, last_was_data);
        // One year's file of a station with several that holds nothing (a failed download) is counted, as ISD-Lite's.
        if (st_.paths.size() > 1 && st_.grid->size() == rows_before) report.note_empty_file(path_);
    }

private:
    size_t var_index(const std::string& v) const {  // vars.size() when absent or empty
        return v.empty() ? cols_.vars.size()
                         : size_t(std::find(cols_.vars.begin(), cols_.vars.end(), v) - cols_.vars.begin());
    }

    bool on_grid(int64_t t) {
        if (st_.grid->accepts(t, why_)) return true;
        const std::optional<int64_t> previous =
            st_.grid->file_has_rows() ? std::optional<int64_t>(st_.grid->last_time()) : std::nullopt;
        why_ = time_label_ + ": " + why_ + (offset_hint_.empty() ? off_grid_hint(t, f_.step, previous) : offset_hint_);
        return false;
    }

    // Thrown even under BadLines::Skip: every line of the other stations would be a bad line.
    void check_station() {
        const std::string_view st = trim(fields_[cols_.station]);
        if (st_.station_first.empty()) {
            st_.station_value.assign(st);
            st_.station_first = where_;
        }
        FR_CHECK(st == st_.station_value, "{}: {}: \"{}\" is another station than \"{}\" (from {}): {}", where_,
                 column_label(header_, cols_.station), printable(st), printable(st_.station_value), st_.station_first,
                 st_.paths.size() == 1 ? "the file holds several stations; give each station a file of its own"
                                       : "the files of one station name another station");
    }

    void read_line(std::string_view line) {
        ReadReport& report = st_.report;
        int64_t time = 0;
        MaskedCells masked_cells;
        const int64_t first_line = reader_.line_number();
        const bool split = split_record(reader_, line, f_.delimiter, fields_, why_, joined_, where_) &&
                           field_count_ok(fields_, header_, why_);
        if (split && passed_over(fields_, cols_.skip, f_)) {
            note_joined(first_line);
            ++report.passed_over_lines;
            if (report.passed_over_what.empty()) report.passed_over_what = f_.skip_what;
            return;
        }
        if (split) {
            const std::string units = unit_problem(fields_, header_, cols_.unit_checks, f_);
            FR_CHECK(units.empty(), "{}: {}", where_, units);
            if (cols_.station < header_.size()) check_station();
        }
        const bool ok = split && line_time(fields_, header_, cols_.time, f_, time, why_) && on_grid(time) &&
                        line_values(fields_, header_, cols_.selected, f_, values_.data(), masked_cells, code_like_,
                                    why_) &&
                        (!masked_ || mask_flags(fields_[cols_.mask], cols_.mask, header_, cols_.feature_vars,
                                                observed_, why_));
        if (!ok) {
            FR_CHECK(f_.on_bad_line == BadLines::Skip, "{}: {}", where_, why_);
            const int64_t record_lines = reader_.line_number() - first_line + 1;
            if (record_lines > 1 && (!split || used_field_spans_lines())) {
                // A quote that opened a field running on over the next lines, and no record came of it (still open
                // after 100 lines, or closed by another stray quote into a wrong number of fields or into a time or
                // value holding line breaks): only its first line is bad, and the lines it swallowed are read again
                // on their own (QA: one stray quote lost 100 lines). A record whose line breaks sit in a column that
                // may hold them (a notes column) but whose values fail loses its lines, counted below.
                std::vector<std::string> swallowed;
                for (size_t at = joined_.find('\n'); at != std::string::npos;) {
                    const size_t end = joined_.find('\n', at + 1);
                    swallowed.push_back(joined_.substr(at + 1, end - at - 1));  // npos - at - 1: to the end
                    at = end;
                }
                reader_.unread(std::move(swallowed), first_line + 1);
                ++report.skipped_lines;
                report.note(fmt::format("{}:{}: {}; {} read on {} own", reader_.path(), first_line, why_,
                                        record_lines == 2 ? std::string("the line after it is")
                                                          : fmt::format("the {} lines after it are", record_lines - 1),
                                        record_lines == 2 ? "its" : "their"));
                return;
            }
            // A bad record over several lines loses each of them: counted as the file's lines, which a user checks
            // against `wc -l`, not as one. Its first was counted as read.
            report.lines += record_lines - 1;
            report.skipped_lines += record_lines;
            report.note(where_ + ": " + why_);
            return;
        }
        note_joined(first_line);
        take_values(time, masked_cells);
    }

    // A record read from lines first_line.. the reader's: the lines beyond its first are counted as the file's, and
    // the record among those over several lines.
    void note_joined(int64_t first_line) {
        const int64_t extra = reader_.line_number() - first_line;
        if (extra <= 0) return;
        ReadReport& report = st_.report;
        report.lines += extra;
        report.joined_lines += extra;
        if (report.multiline_records++ == 0) report.multiline_first = where_;
    }

    // Whether a column the record is read from (its time, a variable, the mask) holds a line break: no time or value
    // does, so a quote opened it by mistake.
    bool used_field_spans_lines() const {
        const auto spans = [&](size_t c) { return c < fields_.size() && fields_[c].find('\n') != std::string::npos; };
        if (std::any_of(cols_.time.begin(), cols_.time.end(), spans) || (masked_ && spans(cols_.mask))) return true;
        return std::any_of(cols_.selected.begin(), cols_.selected.end(),
                           [&](const Selected& c) { return spans(c.index); });
    }

    void take_values(int64_t time, MaskedCells masked_cells) {
        ReadReport& report = st_.report;
        // The name goes into messages and reports: made printable like any text from a file.
        if (st_.station_name.empty() && cols_.name < header_.size())
            st_.station_name = printable(trim(fields_[cols_.name]));
        take_coordinate(fields_, cols_.latitude, 90, st_.meta.latitude);
        take_coordinate(fields_, cols_.longitude, 360, st_.meta.longitude);
        // A calm written as no direction with speed 0 (LCD v2): the direction ISD-Lite gives a calm.
        if (calm_ && std::isnan(values_[calm_->direction]) && values_[calm_->speed] == 0.0f &&
            is_missing_cell(fields_[cols_.selected[calm_->direction].index], f_)) {
            values_[calm_->direction] = 0.0f;
            --masked_cells.missing;
            ++report.calm_directions;
        }
        report.missing_values += masked_cells.missing;
        report.suspect_values += masked_cells.suspect;
        st_.grid->mask_out_of_range(values_.data(), reader_.line_number());
        for (size_t k = 0; k < cols_.selected.size(); ++k)  // those a valid range masked are counted there
            if (code_like_[k] && !std::isnan(values_[k]) && report.code_like_values++ == 0)
                report.code_like_first = fmt::format("{}: {}: {}", where_, column_label(header_, cols_.selected[k].index),
                                                     printable(trim(fields_[cols_.selected[k].index])));
        const FilledValues filled = masked_ ? apply_mask(observed_, f_.drop_filled, values_.data()) : FilledValues{};
        st_.grid->add(time, values_.data(), reader_.line_number(), report, filled);
    }

    struct CalmColumns {
        size_t direction, speed;
    };

    const std::string& path_;
    StationState& st_;
    const CsvFormat& f_;
    LineReader reader_;
    const std::vector<std::string> header_;
    const FileColumns cols_;
    bool masked_ = false;               // a column of observed flags masks the features (cols_.mask)
    std::optional<CalmColumns> calm_;   // where a calm is written as no direction with speed 0
    std::string time_label_, offset_hint_;
    // The line in hand: its fields, a record over several lines (a quoted line break) and its lines for messages,
    // why it fails; its values, which of its selected cells look like missing-value codes, its observed flags.
    std::vector<std::string> fields_;
    std::string joined_, where_, why_;
    std::vector<float> values_;
    std::vector<char> code_like_;
    std::vector<bool> observed_;
};

}  // namespace

StationSeries read_csv_station_files(const std::vector<std::string>& paths, const std::string& id,
                                     const CsvFormat& format, ReadReport& report) {
    FR_CHECK(!paths.empty(), "read_csv_station_files: no files for station \"{}\"", printable(id));
    FR_CHECK(!format.time_columns.empty() && format.time_columns.size() <= 6,
             "{} format: time_columns must name 1 to 6 columns (a date-time, or year, month, day, hour[, minute[, "
             "second]])", format.name);
    FR_CHECK(format.time_columns.size() == 1 || format.time_columns.size() >= 3,
             "{} format: with several time columns give at least year, month, day", format.name);
    StationState st{paths, id, format, report, {}, {}, {}, {}, {}, {}, {}};
    const int64_t skipped_before = report.skipped_lines;
    const size_t examples_before = report.examples.size();
    for (const std::string& path : paths) {
        std::optional<CsvFileReading> file;
        try {
            file.emplace(path, st);
        } catch (const NoDataLines&) {
            // A 0-byte year among a station's several (a failed download) is counted like a header-only one; the
            // station's other years are still read. A 0-byte station is a file read too (QA: a header-only one was
            // counted in the summary's "N files" when passed over, a 0-byte one not).
            ++report.files;
            if (paths.size() == 1) throw;
            report.note_empty_file(path);
            continue;
        }
        file->read();
    }
    if (!st.grid || st.grid->size() == 0)
        throw NoDataLines(detail::located(__FILE__, __LINE__, fmt::format(
            "{}: no data lines{}", paths.size() == 1 ? paths.front() : join_names(paths, 4),
            report.all_skipped_note(skipped_before, examples_before))));
    StationSeries s = st.grid->build(id, st.station_name.empty() ? id : st.station_name, report);
    s.targets = std::move(st.targets);
    s.meta = st.meta;
    return s;
}

}  // namespace fusedrnn::data
