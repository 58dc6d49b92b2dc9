#include "fusedrnn/tools/csv_options.h"

#include <algorithm>
#include <iterator>
#include <cmath>
#include <map>
#include <stdexcept>

#include "fusedrnn/core/data/time.h"
#include "fusedrnn/core/error.h"
#include "fusedrnn/tools/cli_checks.h"

namespace fusedrnn::tools {

data::CsvFormat CsvOptions::format() const {
    data::CsvFormat f;
    f.name = "csv";
    FR_CHECK(time.size() == 1 || (time.size() >= 4 && time.size() <= 6),
             "--csv-time: give one column (parsed with --csv-time-format) or year,month,day,hour[,minute[,second]] "
             "columns; got {} names", time.size());
    f.time_columns = time;
    if (time.size() == 1) {
        std::string why;
        FR_CHECK(data::check_time_format(time_format, why), "--csv-time-format: {}", why);
    }
    f.time_format = time_format;
    const double step_s = step_minutes * 60;
    FR_CHECK(std::isfinite(step_s) && step_s >= 1 && std::fabs(step_s - std::round(step_s)) < 1e-9,
             "--csv-step-minutes must be a positive whole number of seconds, got {}", step_minutes);
    // A station series has a row a year at the least; 1e12 minutes (fuzz QA: taken) is a typo.
    FR_CHECK(step_minutes <= 366 * 24 * 60, "--csv-step-minutes must be at most 527040 (366 days), got {}",
             step_minutes);
    f.step = int64_t(std::llround(step_s));
    f.rounding = round_times ? data::TimeRounding::Nearest : data::TimeRounding::Exact;
    for (const auto& c : columns) {
        const size_t eq = c.find('=');
        const std::string name = c.substr(0, eq), as = eq == std::string::npos ? "" : c.substr(eq + 1);
        FR_CHECK(!name.empty() && (eq == std::string::npos || !as.empty()),
                 "--csv-columns: '{}' is not NAME or NAME=VARIABLE", c);
        f.features.emplace_back(name, as);
    }
    f.missing_tokens = {"", "NA"};
    for (const auto& m : missing)
        if (std::find(f.missing_tokens.begin(), f.missing_tokens.end(), m) == f.missing_tokens.end())
            f.missing_tokens.push_back(m);
    for (const double v : sentinels)
        FR_CHECK(std::isfinite(v), "--csv-sentinel {}: a sentinel is a number a file writes for a missing value; for "
                 "a text such as NaN use --csv-missing", v);
    f.sentinels = sentinels;
    FR_CHECK(delimiter.size() == 1 || delimiter == "\\t" || delimiter == "tab",
             "--csv-delimiter must be one character (or 'tab'), got '{}'", delimiter);
    f.delimiter = delimiter.size() == 1 ? delimiter[0] : '\t';
    FR_CHECK(!decimal_comma || f.delimiter != ',', "--csv-decimal-comma: a comma cannot both mark decimals and "
             "separate fields; give the file's delimiter too (usually --csv-delimiter ';')");
    f.decimal_mark = decimal_comma ? ',' : '.';
    FR_CHECK(std::isfinite(utc_offset_hours) && std::fabs(utc_offset_hours) <= 14,
             "--csv-utc-offset must be within ±14 hours, got {}", utc_offset_hours);
    f.utc_offset = int64_t(std::llround(utc_offset_hours * 3600));
    f.mask_column = mask_column;
    f.mask_required = true;  // named on the command line: a file without it is an error
    return f;
}

nlohmann::json CsvOptions::to_json() const {
    return {{"time", time},           {"time_format", time_format}, {"columns", columns},
            {"step_minutes", step_minutes}, {"round_times", round_times}, {"missing", missing},
            {"sentinels", sentinels}, {"delimiter", delimiter},     {"utc_offset_hours", utc_offset_hours},
            {"mask_column", mask_column}, {"decimal_comma", decimal_comma}};
}

CsvOptions CsvOptions::from_json(const nlohmann::json& j) {
    CsvOptions o;
    try {
        o.time = j.at("time").get<std::vector<std::string>>();
        o.time_format = j.at("time_format").get<std::string>();
        o.columns = j.at("columns").get<std::vector<std::string>>();
        o.step_minutes = j.at("step_minutes").get<double>();
        o.round_times = j.at("round_times").get<bool>();
        o.missing = j.at("missing").get<std::vector<std::string>>();
        o.sentinels = j.at("sentinels").get<std::vector<double>>();
        o.delimiter = j.at("delimiter").get<std::string>();
        o.utc_offset_hours = j.at("utc_offset_hours").get<double>();
        o.mask_column = j.value("mask_column", "");  // absent in checkpoints from before it existed
        o.decimal_comma = j.value("decimal_comma", false);  // the same (before 0.3)
    } catch (const nlohmann::json::exception& e) {
        FR_FAIL("CSV layout in the checkpoint: {}", e.what());
    }
    return o;
}

namespace {

// Each --csv-* flag and the member it sets (add_csv_options defines them; csv_with_flags_given takes them over).
struct CsvFlag {
    const char* name;
    void (*take)(CsvOptions& to, const CsvOptions& from);
};
const CsvFlag kCsvFlags[] = {
    {"--csv-time", [](CsvOptions& t, const CsvOptions& f) { t.time = f.time; }},
    {"--csv-time-format", [](CsvOptions& t, const CsvOptions& f) { t.time_format = f.time_format; }},
    {"--csv-columns", [](CsvOptions& t, const CsvOptions& f) { t.columns = f.columns; }},
    {"--csv-step-minutes", [](CsvOptions& t, const CsvOptions& f) { t.step_minutes = f.step_minutes; }},
    {"--csv-round-times", [](CsvOptions& t, const CsvOptions& f) { t.round_times = f.round_times; }},
    {"--csv-missing", [](CsvOptions& t, const CsvOptions& f) { t.missing = f.missing; }},
    {"--csv-sentinel", [](CsvOptions& t, const CsvOptions& f) { t.sentinels = f.sentinels; }},
    {"--csv-delimiter", [](CsvOptions& t, const CsvOptions& f) { t.delimiter = f.delimiter; }},
    {"--csv-decimal-comma", [](CsvOptions& t, const CsvOptions& f) { t.decimal_comma = f.decimal_comma; }},
    {"--csv-utc-offset", [](CsvOptions& t, const CsvOptions& f) { t.utc_offset_hours = f.utc_offset_hours; }},
    {"--csv-mask-column", [](CsvOptions& t, const CsvOptions& f) { t.mask_column = f.mask_column; }},
};

}  // namespace

CsvOptions csv_with_flags_given(const CLI::App* cmd, CsvOptions base, const CsvOptions& given,
                                std::vector<std::string>* flags_used) {
    for (const CsvFlag& flag : kCsvFlags) {
        if (cmd->count(flag.name) == 0) continue;
        flag.take(base, given);
        if (flags_used) flags_used->push_back(flag.name);
    }
    return base;
}

void add_csv_options(CLI::App* cmd, CsvOptions& o, bool& given) {
    const std::string g = "CSV layout (--format csv)";
    auto mark = [&given](const std::string&) { given = true; };
    add_list_option(cmd, "--csv-time", o.time, "Time column, or year,month,day,hour[,minute[,second]] columns")
        ->default_str("DATE")->group(g)->each(mark);
    cmd->add_option("--csv-time-format", o.time_format, "Format of a single time column (%Y %m %d %H %M %S)")
        ->capture_default_str()->group(g)->each(mark);
    add_list_option(cmd, "--csv-columns", o.columns,
                    "Feature columns, NAME or NAME=VARIABLE, comma-separated (default: all; a name holding a comma in "
                    "double quotes: '\"temp, C\",RH')")
        ->group(g)->each(mark);
    cmd->add_option("--csv-step-minutes", o.step_minutes, "Grid step of the series in minutes")
        ->capture_default_str()->group(g)->each(mark);
    cmd->add_flag("--csv-round-times", o.round_times, "Snap times to the nearest grid step (default: off-grid rows are bad lines)")
        ->group(g)->each(mark);
    cmd->add_option("--csv-missing", o.missing, "More cell texts meaning missing, comma-separated (empty cells and NA always are)")
        ->delimiter(',')->transform(kTrimmed)->group(g)->each(mark);
    cmd->add_option("--csv-sentinel", o.sentinels, "Numbers meaning missing (e.g. -9999), comma-separated")
        ->delimiter(',')->transform(kTrimmed)->group(g)->each(mark);
    cmd->add_option("--csv-delimiter", o.delimiter, "Field delimiter: one character, or 'tab'")
        ->capture_default_str()->group(g)->each(mark);
    cmd->add_flag("--csv-decimal-comma", o.decimal_comma,
                  "Numbers are written with a decimal comma (12,5), as in much of Europe; needs --csv-delimiter, "
                  "usually ';'")
        ->group(g)->each(mark);
    cmd->add_option("--csv-utc-offset", o.utc_offset_hours, "Hours the file's clock is ahead of UTC (Beijing: 8)")
        ->capture_default_str()->group(g)->each(mark);
    cmd->add_option("--csv-mask-column", o.mask_column,
                    "Column of per-line observation flags, one 0/1 per feature column (\"[1 1 0]\"; 0 = filled in)")
        ->group(g)->each(mark);
    // Every flag of the group must be one csv_with_flags_given can take over, or eval would drop it.
    for (const CLI::Option* opt : cmd->get_options([&g](const CLI::Option* op) { return op->get_group() == g; }))
        FR_CHECK(std::any_of(std::begin(kCsvFlags), std::end(kCsvFlags),
                             [opt](const CsvFlag& f) { return opt->get_name() == f.name; }),
                 "add_csv_options: {} is missing from kCsvFlags", opt->get_name());
}

}  // namespace fusedrnn::tools
