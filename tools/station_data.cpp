#include "fusedrnn/tools/station_data.h"

#include <algorithm>
#include <exception>
#include <filesystem>
#include <iterator>
#include <limits>
#include <functional>
#include <map>
#include <stdexcept>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "fusedrnn/core/data/station_folder.h"
#include "fusedrnn/core/data/text.h"
#include "fusedrnn/core/detail/json_fields.h"
#include "fusedrnn/core/error.h"
#include "fusedrnn/core/data/synthetic.h"
#include "fusedrnn/tools/cli_checks.h"
#include "fusedrnn/tools/progress.h"

namespace fusedrnn::tools {

nlohmann::json DataOptions::to_json() const {
    if (synthetic())
        return {{"source", "synthetic"}, {"stations", syn_stations}, {"years", syn_years},
                {"start_year", syn_start_year}, {"seed", syn_seed}, {"gaps", syn_gaps}};
    nlohmann::json j = {{"source", "files"}, {"path", path}, {"format", effective_format()},
                        {"skip_bad_lines", skip_bad_lines}, {"max_stations", max_stations},
                        {"drop_filled", drop_filled}, {"valid_ranges", valid_ranges}};
    if (effective_format() == "csv") j["csv"] = csv.to_json();
    return j;
}

namespace {

// j[key], a whole number in [lo, hi], named "data.<key>" in messages; `absent` where the key is not there.
int whole_or(const nlohmann::json& j, const char* key, int lo, int hi, int absent) {
    return j.contains(key) ? int(fusedrnn::detail::json_whole(j, key, fmt::format("data.{}", key), lo, hi)) : absent;
}

// The seed takes all of uint64 (--seed), which json_whole's int64 does not.
uint64_t seed_or(const nlohmann::json& j, uint64_t absent) {
    if (!j.contains("seed")) return absent;
    const nlohmann::json& v = j.at("seed");
    FR_CHECK(v.is_number_unsigned(), "data.seed is {}, not a whole number in [0, 2^64)", data::printable(v.dump()));
    return v.get<uint64_t>();
}

}  // namespace

DataOptions DataOptions::from_json(const nlohmann::json& j) {
    DataOptions o;
    constexpr int kMaxInt = std::numeric_limits<int>::max();
    if (j.value("source", "") == "synthetic") {
        o.syn_stations = whole_or(j, "stations", 1, kMaxInt, o.syn_stations);
        o.syn_years = whole_or(j, "years", 1, kMaxInt, o.syn_years);
        o.syn_start_year = whole_or(j, "start_year", std::numeric_limits<int>::min(), kMaxInt, o.syn_start_year);
        o.syn_seed = seed_or(j, o.syn_seed);
        o.syn_gaps = j.value("gaps", o.syn_gaps);
    } else {
        o.path = j.value("path", "");
        o.format = j.value("format", "auto");
        o.skip_bad_lines = j.value("skip_bad_lines", false);
        o.max_stations = whole_or(j, "max_stations", 0, kMaxInt, 0);
        o.drop_filled = j.value("drop_filled", false);
        if (j.contains("valid_ranges"))  // absent before --valid-range existed
            o.valid_ranges = fusedrnn::detail::json_strings(j, "valid_ranges", "data.valid_ranges");
        if (o.format == "csv") o.csv = CsvOptions::from_json(j.at("csv"));
    }
    return o;
}

std::string DataOptions::describe() const {
    if (synthetic())
        return fmt::format("synthetic: {} x {} from {} (seed {}, gaps {:.0f}%)",
                           data::counted(size_t(syn_stations), "station", "stations"),
                           data::counted(size_t(syn_years), "year", "years"), syn_start_year, syn_seed, 100 * syn_gaps);
    return fmt::format("{} (format {}{}{})", path, effective_format(), drop_filled ? ", filled-in values dropped" : "",
                       valid_ranges.empty() ? "" : fmt::format(", valid ranges {}", fmt::join(valid_ranges, ",")));
}

namespace {

// Checked as the command line is parsed, so a bad range stops the command before any data is read.
const CLI::Validator kValidRange(
    [](std::string& text) {
        data::ValidRange r;
        std::string why;
        return data::parse_valid_range(text, r, why) ? std::string() : why;
    },
    "NAME=LO:HI");

// The flag that sets `key` of DataOptions::to_json() ("csv.time_format" -> --csv-time-format).
std::string flag_of(const std::string& key) {
    if (key == "path") return "--data";
    if (key == "valid_ranges") return "--valid-range";
    std::string flag = "--" + key;
    std::replace(flag.begin(), flag.end(), '.', '-');
    std::replace(flag.begin(), flag.end(), '_', '-');
    return flag;
}

// The data flags go into checkpoints and reports, which are JSON and hold only UTF-8: a Latin-1 path or column name
// is refused before any data is read, not when the first checkpoint is written after an epoch of training.
void check_flags_are_utf8(const nlohmann::json& j, const std::string& key) {
    if (j.is_string()) {
        const auto& text = j.get_ref<const std::string&>();
        const std::string flag = flag_of(key);
        FR_CHECK(data::is_utf8(text), "{} \"{}\": not valid UTF-8 text, which the checkpoints and reports (JSON) "
                 "hold: {}", flag, data::printable(text, 400),
                 flag == "--data" ? "rename the file or folder"
                                  : "convert the station files to UTF-8 (iconv -f latin1 -t utf-8) and give their names "
                                    "as they read then");
    } else if (j.is_structured()) {
        for (const auto& [k, v] : j.items()) check_flags_are_utf8(v, j.is_object() ? (key.empty() ? k : key + "." + k)
                                                                                   : key);
    }
}

}  // namespace

data::ValidRanges parse_valid_ranges(const std::vector<std::string>& specs) {
    data::ValidRanges out;
    for (size_t i = 0; i < specs.size(); ++i) {
        data::ValidRange r;
        std::string why;
        FR_CHECK(data::parse_valid_range(specs[i], r, why), "--valid-range: {}", why);
        for (size_t j = 0; j < i; ++j)
            FR_CHECK(out[j].var != r.var, "--valid-range: {} is given twice ({} and {})", r.var, specs[j], specs[i]);
        out.push_back(r);
    }
    return out;
}

void add_data_options(CLI::App* cmd, DataOptions& o, DataDefaults defaults) {
    const bool checkpoint = defaults == DataDefaults::Checkpoint;
    // QA: eval's and predict's help said "default: built-in synthetic stations, 16 of them", while they read the
    // checkpoint's data, and one --synthetic-* flag changes only that property of its synthetic stations.
    const auto shown = [checkpoint](CLI::Option* option) { return checkpoint ? option : option->capture_default_str(); };
    const std::string synthetic = checkpoint ? " (default: that of the checkpoint's synthetic stations)" : "";
    CLI::Option* files = cmd->add_option(
        "--data", o.path,
        checkpoint ? "Station files: a folder or one file (default: the data the checkpoint was trained on, its files "
                     "or its synthetic stations, of which a --synthetic-* flag changes only its own property)"
                   : "Station files: a folder or one file (default: built-in synthetic stations)");
    shown(cmd->add_option("--format", o.format,
                          std::string("Station file format: auto, isd-lite, weather5k, jena, beijing-multisite, "
                                      "pm25-five-cities, noaa-lcd, ncei-lcd (NCEI's own LCD export, standard units), "
                                      "ncei-lcd-metric (LCD v2 and metric exports), or csv (any layout, described by "
                                      "the --csv-* flags)") +
                              (checkpoint ? " (default for --data files: the checkpoint's format and CSV layout "
                                            "when it was trained on files, else auto)"
                                          : "")));
    add_csv_options(cmd, o.csv, o.csv_given);
    cmd->add_flag("--skip-bad-lines", o.skip_bad_lines,
                  "Skip (and count) malformed lines instead of stopping at the first one");
    cmd->add_flag("--drop-filled", o.drop_filled,
                  "Treat values the files' observation mask marks as filled in (WEATHER-5K's MASK column, "
                  "--csv-mask-column) as missing: windows touching them are not used");
    add_list_option(cmd, "--valid-range", o.valid_ranges,
                    "Valid range of a variable, NAME=LO:HI (inclusive; LO or HI may be empty), comma-separated or "
                    "repeated: values outside are masked as missing and counted. Replaces the format's own range "
                    "(isd-lite, weather5k, noaa-lcd, ncei-lcd(-metric), beijing-multisite and pm25-five-cities check TMP, DEW, WND_*, "
                    "SLP against NOAA's limits) or adds one (e.g. RH=0:100; a name holding a comma in double quotes: "
                    "'\"temp, C\"=-60:60')", &kValidRange);
    shown(cmd->add_option("--max-stations", o.max_stations,
                          checkpoint ? "Read only the first N stations (0 = all; default: the checkpoint's N for its "
                                       "own data, all of --data's)"
                                     : "Read only the first N stations (0 = all)"))
        ->check(kNonNegative);
    shown(cmd->add_option("--synthetic-stations", o.syn_stations, "Synthetic data: number of stations" + synthetic))
        ->check(kPositive)
        ->excludes(files);
    shown(cmd->add_option("--synthetic-years", o.syn_years, "Synthetic data: whole years per station" + synthetic))
        ->check(in_range(1, 200))
        ->excludes(files);
    // The span must stay within 1000..9999 too (four-digit years in station files): generate_synthetic checks it.
    shown(cmd->add_option("--synthetic-start-year", o.syn_start_year, "Synthetic data: first year" + synthetic))
        ->check(in_range(data::kMinSyntheticYear, data::kMaxSyntheticYear))
        ->excludes(files);
    shown(cmd->add_option("--synthetic-seed", o.syn_seed, "Synthetic data: generator seed" + synthetic))
        ->check(kSeed)
        ->excludes(files);
    shown(cmd->add_option("--synthetic-gaps", o.syn_gaps,
                          "Synthetic data: fraction of missing values (outages overlap: at 0.5 about a third are "
                          "missing)" + synthetic))
        ->check(in_range(0, data::kMaxSyntheticGaps))
        ->excludes(files);
}

namespace {

const char* const kSyntheticFlags[] = {"--synthetic-stations", "--synthetic-years", "--synthetic-start-year",
                                       "--synthetic-seed", "--synthetic-gaps"};

bool any_synthetic_flag(const CLI::App* cmd) {
    return std::any_of(std::begin(kSyntheticFlags), std::end(kSyntheticFlags),
                       [cmd](const char* flag) { return cmd->count(flag) > 0; });
}

// `from` for every synthetic-data flag the command line used, `base` for the others.
void take_synthetic_flags(const CLI::App* cmd, DataOptions& base, const DataOptions& from) {
    if (cmd->count("--synthetic-stations")) base.syn_stations = from.syn_stations;
    if (cmd->count("--synthetic-years")) base.syn_years = from.syn_years;
    if (cmd->count("--synthetic-start-year")) base.syn_start_year = from.syn_start_year;
    if (cmd->count("--synthetic-seed")) base.syn_seed = from.syn_seed;
    if (cmd->count("--synthetic-gaps")) base.syn_gaps = from.syn_gaps;
}

// The --valid-range specs `stored` (a checkpoint's) with each of `given` replacing the one for its variable, or added.
std::vector<std::string> merged_ranges(const std::vector<std::string>& stored, const std::vector<std::string>& given) {
    const data::ValidRanges now = parse_valid_ranges(given);
    std::vector<std::string> out;
    for (const std::string& spec : stored) {
        data::ValidRange r;
        std::string why;
        const bool replaced = data::parse_valid_range(spec, r, why) &&
                              std::any_of(now.begin(), now.end(), [&](const data::ValidRange& g) { return g.var == r.var; });
        if (!replaced) out.push_back(spec);
    }
    out.insert(out.end(), given.begin(), given.end());
    return out;
}

// Says which of the training format's ranges filled in for the format read now (StationReadOptions::trained_ranges):
// a range the user did not give must not mask values unannounced.
void log_trained_ranges(const DataOptions& o, const data::StationReadOptions& ro, const data::StationData& d) {
    const data::ValidRanges own = data::format_valid_ranges(d.format);
    const auto names = [](const data::ValidRanges& rs, const std::string& var) {
        return std::any_of(rs.begin(), rs.end(), [&](const data::ValidRange& r) { return r.var == var; });
    };
    std::vector<std::string> filled;
    for (const data::ValidRange& r : ro.trained_ranges)
        if (std::find(d.set.vars.begin(), d.set.vars.end(), r.var) != d.set.vars.end() && !names(own, r.var) &&
            !names(ro.valid_ranges, r.var))
            filled.push_back(fmt::format("{} {}", r.var, data::range_text(r)));
    if (filled.empty()) return;
    log_line(fmt::format("  valid ranges of the model's training data ({} format), which the {} format lacks: {} "
                         "(values outside are read as missing; --valid-range NAME=LO:HI replaces one)",
                         o.trained_format, d.format, fmt::join(filled, ", ")));
}

}  // namespace

DataOptions data_for_checkpoint(const CLI::App* cmd, const DataOptions& given, const DataOptions& from_checkpoint) {
    // The checkpoint's ranges, which its model was trained with, each replaced by a range given now for its variable
    // (QA: one given for DEW dropped a stored TMP range, and a 50 °C went to the model).
    const std::vector<std::string> ranges = merged_ranges(from_checkpoint.valid_ranges, given.valid_ranges);
    DataOptions d;
    if (cmd->count("--data")) {  // other files
        d = given;
        if (!from_checkpoint.synthetic()) {
            // Read as the checkpoint's files were unless the command line says otherwise.
            if (!cmd->count("--format") && !given.csv_given) d.format = from_checkpoint.format;
            if (!cmd->count("--drop-filled")) d.drop_filled = from_checkpoint.drop_filled;
            d.valid_ranges = ranges;
        }
    } else if (any_synthetic_flag(cmd)) {  // other synthetic stations: each flag changes only itself
        d = from_checkpoint.synthetic() ? from_checkpoint : DataOptions();
        take_synthetic_flags(cmd, d, given);
        // Station-file flags stay, so reading refuses them with synthetic data.
        d.csv_given = given.csv_given;
        d.drop_filled = given.drop_filled;
        d.valid_ranges = given.valid_ranges;
    } else {  // the checkpoint's own data, read with the reading flags given now
        d = from_checkpoint;
        d.valid_ranges = ranges;
        if (cmd->count("--drop-filled")) d.drop_filled = given.drop_filled;
        if (cmd->count("--skip-bad-lines")) d.skip_bad_lines = given.skip_bad_lines;
        if (cmd->count("--max-stations")) d.max_stations = given.max_stations;
        if (cmd->count("--format")) d.format = given.format;
        if (given.csv_given) d.csv_given = true;  // refused by reading unless the data is files in a CSV layout
    }
    // Files read in another format than the model's training data (--format, --csv-*) keep that format's valid
    // ranges where the new one has none: a custom layout has none of its own, and would take a 95 °C temperature the
    // training read masked.
    // Synthetic stations are WEATHER-5K-shaped (data synth writes them in its layout): its ranges.
    if (!d.synthetic())
        d.trained_format = from_checkpoint.synthetic() ? "weather5k" : from_checkpoint.effective_format();
    // A CSV layout: the checkpoint's, with only the --csv-* flags given now changed (a flag given alone must not
    // drop the rest of the layout: a sentinel read as a number, say).
    if (!d.synthetic() && d.effective_format() == "csv")
        d.csv = from_checkpoint.effective_format() == "csv" ? csv_with_flags_given(cmd, from_checkpoint.csv, given.csv)
                                                            : given.csv;
    return d;
}

std::string clock_of_times(const DataOptions& o, const std::string& format_read) {
    if (o.synthetic()) return "UTC";
    if (format_read == "noaa-lcd" || format_read.rfind("ncei-lcd", 0) == 0)
        return fmt::format("local standard time, as {} files give it", format_read);
    if (format_read == "jena") return "the file's own clock, as jena files give it";
    if (format_read == "csv")
        return o.csv.utc_offset_hours != 0
                   ? "UTC (the files' times less --csv-utc-offset)"
                   : "the files' own clock, taken as UTC (--csv-utc-offset converts another)";
    return "UTC";  // isd-lite, weather5k; beijing-multisite and pm25-five-cities converted from Beijing time
}

std::string converted_units(const std::string& format) {
    if (format == "noaa-lcd") return "the files' units but TMP and DEW in °C (converted from °F)";
    if (format == "ncei-lcd") return "°C, m/s and hPa (converted from the files' °F, mph and inHg)";
    return "";
}

std::string converted_unit(const std::string& format, const std::string& variable) {
    const bool noaa = format == "noaa-lcd", ncei = format == "ncei-lcd";
    if ((noaa || ncei) && (variable == "TMP" || variable == "DEW")) return "°C, converted from °F";
    // --wind uv's components come from the converted speed (QA's recheck: WND_U was "original units").
    if (ncei && (variable == "WND_RATE" || variable == "WND_U" || variable == "WND_V"))
        return "m/s, converted from mph";
    if (ncei && variable == "SLP") return "hPa, converted from inHg";
    return "";
}

std::string converted_units_of(const std::string& format, const std::vector<std::string>& targets) {
    std::vector<std::pair<std::string, std::vector<std::string>>> groups;  // unit -> its targets, in target order
    bool others = false;
    for (const std::string& t : targets) {
        const std::string unit = converted_unit(format, t);
        if (unit.empty()) {
            others = true;
            continue;
        }
        auto it = std::find_if(groups.begin(), groups.end(), [&](const auto& g) { return g.first == unit; });
        if (it == groups.end()) groups.push_back({unit, {t}});
        else it->second.push_back(t);
    }
    std::vector<std::string> parts;
    for (const auto& [unit, vars] : groups)
        parts.push_back(fmt::format("{} in {}", vars.size() == 1 ? vars[0]
                                    : fmt::format("{} and {}", fmt::join(vars.begin(), vars.end() - 1, ", "),
                                                  vars.back()), unit));
    if (!parts.empty() && others) parts.push_back("the others as in the files");
    return fmt::format("{}", fmt::join(parts, "; "));
}

namespace {

// How the station files of `o` are read (station data options: load_stations; no progress).
data::StationReadOptions station_read_options(const DataOptions& o) {
    data::StationReadOptions ro;
    ro.format = o.effective_format();
    if (ro.format == "csv") ro.csv = o.csv.format();
    ro.on_bad_line = o.skip_bad_lines ? data::BadLines::Skip : data::BadLines::Error;
    ro.drop_filled = o.drop_filled;
    ro.valid_ranges = parse_valid_ranges(o.valid_ranges);
    ro.trained_ranges = data::format_valid_ranges(o.trained_format);
    ro.max_stations = o.max_stations;
    ro.only_stations = o.only_stations;
    return ro;
}

}  // namespace

data::StationSet load_stations_for_checkpoint(const CLI::App* cmd, const DataOptions& given,
                                              const DataOptions& from_checkpoint, ReadLabels* labels,
                                              const std::function<void(data::StationSet&)>& fits_model) {
    DataOptions d = data_for_checkpoint(cmd, given, from_checkpoint);
    d.only_stations = given.only_stations;
    if (!d.synthetic() && d.effective_format() == "csv" && from_checkpoint.effective_format() == "csv" &&
        given.csv_given) {
        std::vector<std::string> flags;
        (void)csv_with_flags_given(cmd, from_checkpoint.csv, given.csv, &flags);
        log_line(fmt::format("CSV layout: the checkpoint's, with {} as given now", fmt::join(flags, ", ")));
    }
    // The checkpoint's own data is named as training named it: a relative path is relative to where training ran.
    std::error_code ec;
    FR_CHECK(d.synthetic() || cmd->count("--data") || std::filesystem::exists(d.path, ec),
             "the checkpoint was trained on station data at {}, which does not exist from here{}: give --data",
             d.path,
             std::filesystem::path(d.path).is_relative() ? " (a path relative to the folder training ran in)" : "");
    const bool format_taken_over = !d.synthetic() && !given.synthetic() && !cmd->count("--format") && !given.csv_given &&
                                   d.effective_format() != "auto";
    try {
        std::string format_read;
        data::StationSet set = load_stations(d, &format_read);
        if (labels) *labels = {clock_of_times(d, format_read), converted_units(format_read), format_read};
        return set;
    } catch (const Interrupted&) {
        throw;
    } catch (const Error& e) {
        if (!format_taken_over) throw;
        // The format is named as a possible cause only where it may be one: when the files, looked at afresh, are
        // of another format than the checkpoint's (or of none recognised). A missing path, a bad number in files of
        // the right format, are their own messages.
        std::string detected;
        if (std::filesystem::exists(d.path, ec)) {
            try {
                data::StationReadOptions probe;
                probe.format = "auto";
                detected = data::list_station_files(d.path, probe).format;
            } catch (const Error&) {
                detected = "?";
            }
        }
        // Unrecognised is no hint where nothing could be recognised: a custom layout (--format csv) is never
        // detected, and an empty folder holds no files to look at.
        const bool nothing_to_detect =
            detected == "?" && (d.effective_format() == "csv" ||
                                (std::filesystem::is_directory(d.path, ec) &&
                                 std::filesystem::directory_iterator(d.path, ec) == std::filesystem::directory_iterator()));
        if (detected.empty() || detected == d.effective_format() || nothing_to_detect) throw;
        // A format is suggested only where it reads the files (QA: files in the checkpoint's own csv layout with a
        // bad time were told "they look like weather5k", which fails the same way): on this error path only. Where
        // they read into what the model does not take (QA: ISD-Lite files under a model of a custom csv were told
        // "give --format isd-lite", whose variables then were not the model's), that is said instead.
        std::string misfit;
        if (detected != "?") {
            const std::exception_ptr original = std::current_exception();
            DataOptions other = d;
            other.format = detected;
            other.csv_given = false;
            data::StationData read_so;
            try {
                read_so = data::read_station_set(other.path, station_read_options(other));
            } catch (const Interrupted&) {
                throw;
            } catch (const Error&) {
                std::rethrow_exception(original);
            }
            try {
                if (fits_model) fits_model(read_so.set);
            } catch (const Error& unfit) {
                misfit = message_for_user(unfit.what());
            }
        }
        throw Error(fmt::format("{}\n  (read as {}, the format the checkpoint was trained on; {})", e.what(),
                                d.effective_format(),
                                detected == "?" ? std::string("their format is not recognised either: give --format "
                                                              "auto, or these files' format, to read them otherwise")
                                : misfit.empty() ? fmt::format("they look like {}: give --format {} to read them so",
                                                               detected, detected)
                                                 : fmt::format("they look like {}, but read so, {}", detected, misfit)));
    }
}

nlohmann::json read_report_json(const data::ReadReport& r) {
    nlohmann::json ranges = nlohmann::json::array();
    for (const auto& o : r.out_of_range)
        ranges.push_back({{"variable", o.var}, {"range", o.range}, {"count", o.count}, {"first", o.first}});
    return {{"files", r.files},
            {"lines", r.lines},
            {"blank_lines", r.blank_lines},
            {"records", r.records},
            {"skipped_lines", r.skipped_lines},
            {"duplicate_times", r.duplicate_times},
            {"rounded_times", r.rounded_times},
            {"code_like_values", r.code_like_values},
            {"unterminated_files", r.unterminated_files},
            {"empty_files", r.empty_files},
            {"empty_stations", r.empty_stations},
            {"stray_stations", r.stray_stations},
            {"missing_values", r.missing_values},
            {"gap_rows", r.gap_rows},
            {"filled_kept", r.filled_kept},
            {"filled_dropped", r.filled_dropped},
            {"suspect_values", r.suspect_values},
            {"calm_directions", r.calm_directions},
            {"passed_over_lines", r.passed_over_lines},
            {"multiline_records", r.multiline_records},
            {"joined_lines", r.joined_lines},
            {"out_of_range", ranges},
            {"examples", r.examples}};
}


data::SplitSpec split_from_flag(const std::string& split, const DataOptions& data) {
    if (split != "auto") return naming_source("--split", [&] { return data::SplitSpec::parse(split); });
    if (data.synthetic()) {
        const int first = data.syn_start_year, last = first + data.syn_years - 1;
        FR_CHECK(data.syn_years >= 3, "--synthetic-years must be >= 3 for the automatic split by year "
                 "(train, validation, test); or give --split");
        return data::SplitSpec::years(first, last - 2, last - 1, last - 1, last, last);
    }
    return data::SplitSpec::fractions(0.7, 0.15);
}

data::StationSet load_stations(const DataOptions& o, std::string* format_read, data::ReadReport* report) {
    if (o.synthetic()) {
        FR_CHECK(!o.csv_given, "the --csv-* flags describe station files: give them with --data");
        FR_CHECK(!o.drop_filled, "--drop-filled applies to station files with an observation mask: give them with --data");
        FR_CHECK(o.valid_ranges.empty(), "--valid-range applies to station files: give them with --data (the synthetic "
                 "stations are plausible by construction)");
        // Taken for nothing otherwise (QA: --max-stations 1 trained on every synthetic station without a word).
        FR_CHECK(o.max_stations == 0, "--max-stations picks among station files: give it with --data "
                 "(--synthetic-stations sets how many synthetic stations there are)");
        FR_CHECK(!o.skip_bad_lines, "--skip-bad-lines applies to station files: give it with --data (the synthetic "
                 "stations have no lines to skip)");
        FR_CHECK(o.format == "auto", "--format {} names the layout of station files: give it with --data", o.format);
        data::SyntheticConfig c;
        c.stations = o.syn_stations;
        c.years = o.syn_years;
        c.start_year = o.syn_start_year;
        c.seed = o.syn_seed;
        c.gap_fraction = o.syn_gaps;
        data::StationSet set = data::generate_synthetic(c, CountProgress("generating synthetic stations", "stations"));
        log_line(fmt::format("data: {}", o.describe()));
        return set;
    }
    FR_CHECK(!o.csv_given || o.format == "auto" || o.format == "csv",
             "the --csv-* flags describe a custom layout (--format csv), but --format is '{}'", o.format);
    check_flags_are_utf8(o.to_json(), "");
    data::StationReadOptions ro = station_read_options(o);
    ro.on_progress = CountProgress("reading " + o.path, "stations");
    data::StationData d = data::read_station_set(o.path, ro);
    if (format_read) *format_read = d.format;
    if (report) *report = d.report;
    log_line(fmt::format("data: {} ({} format): {}; {}", o.path, d.format,
                         data::counted(size_t(d.set.num_stations()), "station", "stations"), d.report.summary()));
    for (const auto& e : d.report.examples) log_line("  " + e);
    log_trained_ranges(o, ro, d);
    if (!d.ignored.empty())
        log_line(fmt::format("  ignored {} that {} no {} station file{} (e.g. {})",
                             data::counted(d.ignored.size(), "file", "files"), d.ignored.size() == 1 ? "is" : "are",
                             d.format, d.ignored.size() == 1 ? "" : "s", d.ignored.front()));
    if (!d.subfolders.empty())
        log_line(fmt::format("  not searched: {} (e.g. {}); station files are read from the folder given only",
                             data::counted(d.subfolders.size(), "subfolder", "subfolders"), d.subfolders.front()));
    return std::move(d.set);
}

}  // namespace fusedrnn::tools
