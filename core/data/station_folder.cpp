#include "fusedrnn/core/data/station_folder.h"

#include <algorithm>
#include <exception>
#include <filesystem>
#include <iterator>
#include <map>
#include <memory>
#include <system_error>

#include <fmt/format.h>

#include "fusedrnn/core/data/csv_presets.h"
#include "fusedrnn/core/data/isd_lite.h"
#include "fusedrnn/core/data/text.h"
#include "fusedrnn/core/error.h"

namespace fusedrnn::data {

namespace fs = std::filesystem;

namespace {

bool ends_with(const std::string& s, const char* suffix) {
    const size_t n = std::char_traits<char>::length(suffix);
    return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
}

// macOS's AppleDouble files ("._S1.csv", the metadata of S1.csv left on a drive it wrote, or in an archive made
// there) are no station files (fuzz QA: one stopped the run as a station that did not read).
bool is_csv_name(const std::string& name) {
    return (ends_with(name, ".csv") || ends_with(name, ".csv.gz")) && name.rfind("._", 0) != 0;
}
bool is_isd_history(const std::string& name) { return name.rfind("isd-history", 0) == 0; }

// Regular files of a folder (or the one file), sorted by name; `broken` gets the folder's symbolic links whose
// target does not exist or cannot be reached, and `special` its entries that are neither files nor folders (a FIFO, a
// device, a socket, or a link to one), so that they are reported rather than passed over in silence.
std::vector<fs::path> files_of(const std::string& path, std::vector<fs::path>& broken, std::vector<fs::path>& special,
                               std::vector<fs::path>& subfolders) {
    std::error_code ec;
    const fs::file_status st = fs::status(path, ec);
    FR_CHECK(!ec && fs::exists(st), "station data: \"{}\" does not exist", path);
    if (fs::is_regular_file(st)) return {fs::path(path)};
    FR_CHECK(fs::is_directory(st), "station data: \"{}\" is neither a file nor a folder", path);
    std::vector<fs::path> out;
    fs::directory_iterator it(path, ec);
    FR_CHECK(!ec, "station data: cannot read folder \"{}\": {}", path, ec.message());
    for (; it != fs::directory_iterator(); it.increment(ec)) {
        FR_CHECK(!ec, "station data: error listing folder \"{}\": {}", path, ec.message());
        std::error_code ec2;
        std::error_code ec5;
        if (it->is_regular_file(ec2)) {
            out.push_back(it->path());
        } else if (it->is_directory(ec5)) {
            subfolders.push_back(it->path());  // not searched: said, so stations there are not missed unawares
        } else {
            std::error_code ec3, ec4;
            if (it->is_symlink(ec3) && !fs::exists(it->path(), ec4)) broken.push_back(it->path());
            else special.push_back(it->path());
        }
    }
    std::sort(out.begin(), out.end());
    std::sort(broken.begin(), broken.end());
    std::sort(special.begin(), special.end());
    std::sort(subfolders.begin(), subfolders.end());
    return out;
}

// The station id of a CSV station file, as read_csv_station names it: the file name without ".gz" and the
// extension ("S1.csv.gz" -> "S1").
std::string csv_station_id(const fs::path& p) {
    fs::path name = p.filename();
    if (name.extension() == ".gz") name = name.stem();
    return name.stem().string();
}

// NCEI's LCD v2 files, one per station and year: "LCD_USW00014939_2023.csv" gives the station "USW00014939" and the
// year "2023".
bool lcd_v2_filename(const std::string& station_id, std::string& station, std::string& year) {
    const size_t sep = station_id.rfind('_');
    if (station_id.rfind("LCD_", 0) != 0 || sep == std::string::npos || sep <= 4 || station_id.size() - sep != 5)
        return false;
    year = station_id.substr(sep + 1);
    if (!std::all_of(year.begin(), year.end(), [](char c) { return c >= '0' && c <= '9'; })) return false;
    station = station_id.substr(4, sep - 4);
    return true;
}

// NCEI's LCD files come in two unit systems under the same column names: the pressures of the first files that have
// any tell which ("ncei-lcd" or "ncei-lcd-metric"). Where none has a pressure, an LCD v2 name says metric (v2 is
// metric throughout); anything else is taken as the legacy export's standard units.
std::string ncei_lcd_units(const std::vector<fs::path>& files) {
    // As the reading: a single file given is read whatever its extension.
    const auto station_file = [&](const fs::path& p) { return files.size() == 1 || is_csv_name(p.filename().string()); };
    int probed = 0;
    for (const auto& f : files) {
        if (!station_file(f)) continue;
        if (probed++ == 20) break;
        std::optional<bool> standard;
        try {
            standard = csv_units_match(f.string(), ncei_lcd_format(), 5000);
        } catch (const Error&) {
            continue;  // a file that cannot be read is named by the read proper
        }
        if (standard) return *standard ? "ncei-lcd" : "ncei-lcd-metric";
    }
    const auto first_csv = std::find_if(files.begin(), files.end(), station_file);
    std::string station, year;
    const bool v2 = first_csv != files.end() && lcd_v2_filename(csv_station_id(*first_csv), station, year);
    return v2 ? "ncei-lcd-metric" : "ncei-lcd";
}

// "S3.csv -> gone.csv" for messages about a symbolic link.
std::string link_label(const fs::path& p) {
    std::error_code ec;
    const fs::path target = fs::read_symlink(p, ec);
    return ec ? p.string() : fmt::format("{} -> {}", p.string(), printable(target.string()));
}

std::string names_of(const std::vector<fs::path>& files) {
    std::vector<std::string> names;
    for (const auto& f : files) names.push_back(f.filename().string());
    return names.empty() ? std::string("nothing") : join_names(names, 8);
}

CsvFormat csv_format_for(const std::string& format, const StationReadOptions& opts) {
    CsvFormat f = format == "csv" ? opts.csv : csv_preset(format);
    f.on_bad_line = opts.on_bad_line;
    f.drop_filled = opts.drop_filled;
    f.valid_ranges = with_overrides(with_overrides(opts.trained_ranges, f.valid_ranges), opts.valid_ranges);
    return f;
}

void check_range_names(const ValidRanges& ranges, const std::vector<std::string>& vars) {
    for (const auto& r : ranges)
        FR_CHECK(std::find(vars.begin(), vars.end(), r.var) != vars.end(),
                 "--valid-range: the data has no variable \"{}\" (its variables: {})", printable(r.var),
                 join_names(vars));
}

// The format of a folder's files under --format auto: ISD-Lite where any file is named like one, else the layout the
// first CSV file's header names (with the unit system of NCEI's LCD files, from their pressures).
std::string detect_format(const std::vector<fs::path>& files, const std::string& path,
                          const std::string& in_subfolders, std::string& detected_from) {
    if (std::any_of(files.begin(), files.end(),
                    [](const fs::path& p) { return isd_lite_filename(p.filename().string()); }))
        return "isd-lite";
    auto is_csv = [](const fs::path& p) { return is_csv_name(p.filename().string()); };
    auto first_csv = std::find_if(files.begin(), files.end(), is_csv);
    FR_CHECK(first_csv != files.end(),
             "station data: no station files in \"{}\" (looked for ISD-Lite USAF-WBAN-YEAR[.gz] and *.csv; "
             "found {}){}", path, names_of(files), in_subfolders);
    // The first file with a line names the layout: a 0-byte one (a failed download) says nothing, and the read
    // proper counts or refuses it.
    std::vector<std::string> header;
    for (auto it = first_csv; it != files.end(); it = std::find_if(std::next(it), files.end(), is_csv)) {
        try {
            header = read_csv_header(it->string());
        } catch (const NoDataLines&) {
            continue;
        }
        first_csv = it;
        break;
    }
    FR_CHECK(!header.empty(), "station data: every CSV file in \"{}\" is empty (0 bytes or only blank lines), starting "
             "with {}", path,
             first_csv->string());
    std::string format = detect_csv_preset(header);
    if (format == "ncei-lcd") format = ncei_lcd_units(files);
    detected_from = first_csv->string();
    // One "column" holding ';' or tabs: the file is not comma-separated.
    const bool other_delimiter = header.size() == 1 && header[0].find_first_of(";\t") != std::string::npos;
    // A first line of digits is data: a file without a header, or of another format (ISD-Lite renamed).
    const bool data_line = !other_delimiter && !header.empty() && !header[0].empty() &&
                           header[0][0] >= '0' && header[0][0] <= '9';
    // The reader takes one byte-order mark off; a second one hides the first column's name (QA's recheck: told to
    // pass the format).
    FR_CHECK(!format.empty() || header.empty() || header[0].rfind("\xEF\xBB\xBF", 0) != 0,
             "station data: {}: the first column's name, {}, begins with a second byte-order mark (\\uFEFF): remove "
             "it (e.g. sed -i '1s/^\\xEF\\xBB\\xBF//' FILE)", first_csv->string(), printable(header[0]));
    FR_CHECK(!format.empty(),
             "station data: {}: header not recognised as any known layout ({}); columns: {}.{} Pass the "
             "format explicitly (on the command line: --format, or --csv-time, --csv-columns, ... for a "
             "layout of your own)",
             first_csv->string(), join_names(csv_preset_names()), join_names(header),
             other_delimiter ? " The header has no commas: a different delimiter (--csv-delimiter)?"
             : data_line     ? " The first line starts with digits: it does not look like a header."
                             : "");
    return format;
}

// ISD-Lite: a station's yearly files (USAF-WBAN-YEAR[.gz]) merge into one series; isd-history.csv is the station
// list; anything else is ignored.
void group_isd_lite_files(const std::vector<fs::path>& files, StationFiles& out) {
    std::map<std::string, std::vector<std::string>> by_station;
    std::map<std::string, std::string> by_station_year;  // "USAF-WBAN-YEAR" -> the file giving it
    for (const auto& f : files) {
        const std::string name = f.filename().string();
        std::string id;
        if (isd_lite_filename(name, &id)) {
            // The yearly files of a station merge into one series; two files of the same year (plain and .gz)
            // would merge two versions of that year line by line.
            const std::string year_key = name.substr(0, 17);
            const auto [it, fresh] = by_station_year.emplace(year_key, f.string());
            FR_CHECK(fresh, "station data: two files for station {} year {}: {} and {} (keep one)", id,
                     name.substr(13, 4), it->second, f.string());
            by_station[id].push_back(f.string());
        } else if (is_isd_history(name)) {
            // The last one (in name order) is used; an earlier one is not.
            if (!out.station_list.empty()) out.ignored.push_back(out.station_list);
            out.station_list = f.string();
        } else {
            out.ignored.push_back(f.string());
        }
    }
    for (auto& [id, paths] : by_station) {
        out.station_ids.push_back(id);
        out.stations.push_back(std::move(paths));
    }
}

// CSV layouts: one file per station, named by it, except NCEI's LCD v2 yearly files (LCD_<station>_<year>.csv), which
// merge into one series per station.
void group_csv_files(const std::vector<fs::path>& files, const std::string& format, StationFiles& out) {
    if (format != "csv") (void)csv_preset(format);  // unknown names fail here, listing the known ones
    std::map<std::string, std::string> by_id;  // station id (LCD v2: and year) -> its file
    std::map<std::string, size_t> lcd_station;  // LCD v2 station -> its index in out.stations
    const bool lcd = format.rfind("ncei-lcd", 0) == 0;
    for (const auto& f : files) {
        // A single file given explicitly is read whatever its extension.
        if (files.size() == 1 || is_csv_name(f.filename().string())) {
            // "S1.csv" and "S1.csv.gz" would both be station S1: two stations under one name.
            const std::string id = csv_station_id(f);
            FR_CHECK(is_utf8(id), "{}: the station id \"{}\" (the file's name) is not valid UTF-8 text, which the "
                     "checkpoints and reports (JSON) hold: rename the file", printable(f.string(), 400), printable(id));
            std::string station, year;
            const bool yearly = lcd && lcd_v2_filename(id, station, year);
            const auto [it, fresh] = by_id.emplace(id, f.string());
            FR_CHECK(fresh, "station data: two files for station \"{}\"{}: {} and {} (keep one, or rename one)",
                     printable(yearly ? station : id), yearly ? " year " + year : std::string(), it->second,
                     f.string());
            // The yearly files of an LCD v2 station merge into one series, in year (name) order.
            if (yearly) {
                const auto [at, first] = lcd_station.emplace(station, out.stations.size());
                if (!first) {
                    out.stations[at->second].push_back(f.string());
                    continue;
                }
                out.station_ids.push_back(station);
                out.stations.push_back({f.string()});
                continue;
            }
            out.station_ids.push_back(id);
            out.stations.push_back({f.string()});
        } else {
            out.ignored.push_back(f.string());
        }
    }
    // An LCD v2 station beside a file named like it ("USW00014939.csv" and "LCD_USW00014939_2023.csv").
    std::map<std::string, size_t> first_of;
    for (size_t j = 0; j < out.station_ids.size(); ++j) {
        const auto [at, fresh] = first_of.emplace(out.station_ids[j], j);
        FR_CHECK(fresh, "station data: two sets of files for station \"{}\": {} and {} (keep one, or rename one)",
                 printable(out.station_ids[j]), join_names(out.stations[at->second], 4),
                 join_names(out.stations[j], 4));
    }
}

// --station: the stations named, in that order, each once.
void keep_only_stations(StationFiles& out, const std::vector<std::string>& only, const std::string& path) {
    StationFiles kept = out;
    kept.stations.clear();
    kept.station_ids.clear();
    for (const auto& id : only) {
        const auto it = std::find(out.station_ids.begin(), out.station_ids.end(), id);
        // An id holding a comma, typed unquoted, arrives cut into pieces, and one with spaces at its ends arrives
        // trimmed (the list flags' rules): say how to name it.
        const auto cut = std::find_if(out.station_ids.begin(), out.station_ids.end(), [&](const std::string& s) {
            if (s != id && trim(s) == id) return true;
            if (s.find(',') == std::string::npos) return false;
            for (size_t a = 0; a <= s.size();) {
                const size_t b = std::min(s.find(',', a), s.size());
                if (trim(std::string_view(s).substr(a, b - a)) == id) return true;
                a = b + 1;
            }
            return false;
        });
        const std::string way =
            cut == out.station_ids.end() ? std::string()
            : fmt::format("; there is \"{0}\": {1}, so name it in double quotes (--station '\"{0}\"')",
                          printable(*cut), cut->find(',') != std::string::npos
                                               ? "a comma separates ids"
                                               : "an id's spaces at its ends are trimmed unless quoted");
        FR_CHECK(it != out.station_ids.end(), "station data: no station \"{}\" in \"{}\" ({} station{}, e.g. {}){}",
                 printable(id), path, out.station_ids.size(), out.station_ids.size() == 1 ? "" : "s",
                 out.station_ids.front(), way);
        if (std::find(kept.station_ids.begin(), kept.station_ids.end(), id) != kept.station_ids.end()) continue;
        kept.station_ids.push_back(id);
        kept.stations.push_back(out.stations[size_t(it - out.station_ids.begin())]);
    }
    out = std::move(kept);
}

// A station with no data line among several: the error says how to read the others.
// A station file that does not read in the format detected from another file of the folder: said, with the format
// its own header looks like (fuzz QA: a folder of a weather5k and a noaa-lcd file said "feature column TMP not found"
// of the second, not that the format came from the first).
[[noreturn]] void rethrow_with_file_format(const std::exception_ptr& error, const StationFiles& files,
                                           const std::string& file) {
    if (files.detected_from.empty() || file == files.detected_from) std::rethrow_exception(error);
    std::string own;
    try {
        own = detect_csv_preset(read_csv_header(file));
        if (own == "ncei-lcd") own = "ncei-lcd or ncei-lcd-metric";
    } catch (const Error&) {
        std::rethrow_exception(error);  // its header does not read: the error says what is wrong with it
    }
    if (own == files.format) std::rethrow_exception(error);
    try {
        std::rethrow_exception(error);
    } catch (const Error& e) {
        throw Error(fmt::format("{}\n  (the folder's format, {}, was detected from {}; this file's header {}: a folder "
                                "is read in one format, so read the files of each format apart)",
                                e.what(), files.format, files.detected_from,
                                own.empty() ? std::string("is of no known layout") : "looks like " + own));
    }
}

[[noreturn]] void rethrow_with_way_out(const std::exception_ptr& no_data) {
    try {
        std::rethrow_exception(no_data);
    } catch (const NoDataLines& e) {
        throw NoDataLines(std::string(e.what()) + ": remove the file, or pass over such stations with --skip-bad-lines "
                          "(counted, and named in the read summary)");
    }
}

}  // namespace

ValidRanges format_valid_ranges(const std::string& format) {
    if (format.empty() || format == "auto" || format == "csv") return {};
    if (format == "isd-lite") return noaa_isd_ranges();
    return csv_preset(format).valid_ranges;
}

StationFiles list_station_files(const std::string& path, const StationReadOptions& opts) {
    std::vector<fs::path> broken, special, subfolders;
    const std::vector<fs::path> files = files_of(path, broken, special, subfolders);
    StationFiles out;
    for (const auto& d : subfolders) out.subfolders.push_back(d.string());
    // Said in the errors below: the stations may be one level down.
    const std::string in_subfolders =
        subfolders.empty() ? std::string()
                           : fmt::format("; subfolders are not searched (it has {}: {})", subfolders.size(),
                                         names_of(subfolders));
    std::string format = opts.format;
    // A symbolic link named like a station file whose target is gone, or a FIFO or device so named (fuzz QA: passed
    // over): that station would be missing without a word.
    const auto station_like = [&](const fs::path& p) {
        const std::string name = p.filename().string();
        return format == "isd-lite" ? isd_lite_filename(name)
               : format == "auto"   ? isd_lite_filename(name) || is_csv_name(name)
                                    : is_csv_name(name);
    };
    for (const auto& b : broken) {
        FR_CHECK(!station_like(b),
                 "station data: {} is a symbolic link to a file that does not exist (or cannot be reached); "
                 "restore its target or remove the link", link_label(b));
        out.ignored.push_back(b.string() + " (symbolic link to nothing)");
    }
    for (const auto& s : special) {
        FR_CHECK(!station_like(s),
                 "station data: {} is named like a station file but is no regular file (a FIFO, a device or a socket, "
                 "or a link to one); move it away, or put the station's data in a file", s.string());
        out.ignored.push_back(s.string() + " (not a regular file)");
    }
    if (format == "auto") format = detect_format(files, path, in_subfolders, out.detected_from);
    out.format = format;
    if (format == "isd-lite") group_isd_lite_files(files, out);
    else group_csv_files(files, format, out);
    FR_CHECK(!out.stations.empty(), "station data: no {} station files in \"{}\" (found {}){}", format, path,
             names_of(files), in_subfolders);
    if (!opts.only_stations.empty()) keep_only_stations(out, opts.only_stations, path);
    if (opts.max_stations > 0 && out.stations.size() > size_t(opts.max_stations)) {
        out.stations.resize(size_t(opts.max_stations));
        out.station_ids.resize(size_t(opts.max_stations));
    }
    return out;
}

StationData read_station_set(const std::string& path, const StationReadOptions& opts) {
    StationFiles files = list_station_files(path, opts);
    StationData data;
    data.format = files.format;
    data.ignored = files.ignored;
    data.subfolders = files.subfolders;
    data.station_list = files.station_list;

    const bool isd = files.format == "isd-lite";
    std::map<std::string, IsdStation> history;
    if (isd && !files.station_list.empty()) {
        IsdHistoryUnread unread;
        history = read_isd_history(files.station_list, &unread);
        const std::string unread_rows =
            unread.rows == 0 ? std::string()
                             : fmt::format("; {} not read, first {}", counted(size_t(unread.rows), "row", "rows"),
                                           unread.first);
        data.report.station_list = fmt::format("{} ({}{})", fs::path(files.station_list).filename().string(),
                                               counted(history.size(), "station", "stations"), unread_rows);
    }
    CsvFormat csv;
    if (!isd) csv = csv_format_for(files.format, opts);
    IsdLiteOptions isd_opts;
    isd_opts.on_bad_line = opts.on_bad_line;
    isd_opts.valid_ranges = with_overrides(with_overrides(opts.trained_ranges, noaa_isd_ranges()), opts.valid_ranges);

    // Read in chunks: parallel within a chunk, appended in order, so peak memory stays near the
    // final set's size even for thousands of stations.
    const int n = int(files.stations.size());
    const int chunk = 64;
    std::exception_ptr first_no_data;  // a station passed over for having no data line
    bool ranges_checked = false;
    for (int begin = 0; begin < n; begin += chunk) {
        const int end = std::min(n, begin + chunk);
        std::vector<StationSeries> series(size_t(end - begin));
        std::vector<ReadReport> reports(size_t(end - begin));
        std::vector<std::exception_ptr> errors(size_t(end - begin));
        std::vector<char> no_data(size_t(end - begin), 0);  // the station's files hold no data line (NoDataLines)
#pragma omp parallel for schedule(dynamic, 1)
        for (int i = begin; i < end; ++i) {
            const size_t k = size_t(i - begin);
            try {
                if (isd) {
                    series[k] = read_isd_lite_files(files.stations[size_t(i)], files.station_ids[size_t(i)],
                                                    reports[k], isd_opts);
                } else {
                    series[k] = read_csv_station_files(files.stations[size_t(i)], files.station_ids[size_t(i)], csv,
                                                       reports[k]);
                }
            } catch (const NoDataLines&) {
                no_data[k] = 1;
                errors[k] = std::current_exception();
            } catch (...) {
                errors[k] = std::current_exception();
            }
        }
        for (size_t k = 0; k < series.size(); ++k) {
            // One station's failed download must not stop the others when bad lines are skipped; the error stays for
            // when no station has data.
            if (no_data[k] && opts.on_bad_line == BadLines::Skip) {
                data.report.note_empty_station(join_names(files.stations[size_t(begin) + k], 4), reports[k]);
                if (!first_no_data) first_no_data = errors[k];
                continue;
            }
            if (no_data[k] && n > 1) rethrow_with_way_out(errors[k]);
            if (errors[k]) rethrow_with_file_format(errors[k], files, files.stations[size_t(begin) + k].front());
            StationSeries& s = series[k];
            if (isd) {
                auto it = history.find(s.id);
                if (it != history.end()) {
                    s.name = it->second.name;
                    s.meta = it->second.meta;
                }
            }
            // With a format that reads every column (Jena), a file whose header differs gives its station
            // other variables; append() would name only the station id, so name the files here.
            const size_t i = size_t(begin) + k;
            // Files with the same columns in another order: matched by name, put in the first file's order.
            const bool same_vars = data.set.stations.empty() || s.vars == data.set.vars || s.reorder_vars(data.set.vars);
            FR_CHECK(same_vars, "{}: variables [{}] differ from those of the stations before it [{}] (first: {}){}",
                     join_names(files.stations[i], 4), join_names(s.vars), join_names(data.set.vars),
                     files.stations[0].front(),
                     isd ? "" : ": name the columns to read from every file with --csv-columns (a custom layout), or "
                                "read the files apart");
            for (const auto& v : s.vars)
                FR_CHECK(is_utf8(v), "{}: the variable name \"{}\" (a header column) is not valid UTF-8 text, which "
                         "the checkpoints and reports (JSON) hold: convert the file to UTF-8 (iconv -f latin1 -t "
                         "utf-8)", join_names(files.stations[i], 4), printable(v));
            if (!is_utf8(s.name)) s.name = printable(s.name, s.name.size());  // shown only: no need to refuse it
            data.report.merge(reports[k]);
            data.set.append(std::move(s));
        }
        // A range for a variable the data lacks would check nothing: a typo (TPM for TMP) must not pass silently.
        // All stations have the same variables, so the first chunk with a station tells, before the rest is read.
        if (!ranges_checked && !data.set.stations.empty()) {
            check_range_names(opts.valid_ranges, data.set.vars);
            ranges_checked = true;
        }
        // The set's buffer would double as it grows, copying itself each time: at 4,097 of WEATHER-5K's 5,672
        // stations that is ~14 GB at once for ~10 GB of data (QA). Reserved from the mean station so far, with room
        // to spare: only what is filled is touched (resident), the rest is address space.
        if (end < n && data.set.values.capacity() < data.set.values.size() * size_t(n) / size_t(end)) {
            const double per_station = double(data.set.values.size()) / double(end);
            data.set.values.reserve(data.set.values.size() + size_t(1.25 * per_station * double(n - end)));
        }
        if (opts.on_progress) opts.on_progress(size_t(end), size_t(n));
    }
    if (data.set.stations.empty() && first_no_data) std::rethrow_exception(first_no_data);
    return data;
}

}  // namespace fusedrnn::data
