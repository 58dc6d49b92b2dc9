#include "fusedrnn/tests/reader_contract.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <typeinfo>

#include <fmt/format.h>

#include "fusedrnn/core/data/csv_presets.h"
#include "fusedrnn/core/data/csv_reader.h"
#include "fusedrnn/core/data/isd_lite.h"
#include "fusedrnn/core/data/station_folder.h"
#include "fusedrnn/core/error.h"

namespace fusedrnn::testing {

using namespace fusedrnn::data;
namespace fs = std::filesystem;

namespace {

// The lines the report's examples name: "file:12: why" one, "file:60-159: why" (a record over several lines) 100.
int64_t lines_in_examples(const std::vector<std::string>& examples) {
    static const std::regex where(R"(:([0-9]+)(-([0-9]+))?: )");
    int64_t n = 0;
    for (const auto& e : examples) {
        std::smatch m;
        if (!std::regex_search(e, m, where)) continue;
        n += m[3].matched ? std::stoll(m[3].str()) - std::stoll(m[1].str()) + 1 : 1;
    }
    return n;
}

// Reasons that concern one line: they must come as "file:line" and BadLines::Skip must skip them.
const char* const kLineReasons[] = {"is not a number", "is not an integer", "fields, the header has",
                                    "ISD-Lite lines have", "not a valid date", "does not match the time format",
                                    "not on the", "non-finite", "compass direction", "unterminated quoted",
                                    "after a closing quote", "extra characters after", "out of range"};

// A phrase that also occurs in the file may be the file's own text quoted in the message (a column named "not on
// the grid"), so it does not count.
bool is_line_reason(const std::string& msg, const std::string& file_text) {
    return std::any_of(std::begin(kLineReasons), std::end(kLineReasons), [&](const char* r) {
        return msg.find(r) != std::string::npos && file_text.find(r) == std::string::npos;
    });
}

// Line numbers that follow "name:" in `msg`. The first is the message's own location (a message starts with where);
// a later "name:N" that the file itself holds is a quoted field (a value "1jena.csv:52/30" of a 12-line file), not a
// line the reader names.
std::vector<long long> lines_named(const std::string& msg, const std::string& name, const std::string& file_text) {
    std::vector<long long> out;
    bool first = true;
    for (size_t at = msg.find(name + ":"); at != std::string::npos; at = msg.find(name + ":", at + 1)) {
        size_t p = at + name.size() + 1, q = p;
        while (q < msg.size() && q - p < 12 && msg[q] >= '0' && msg[q] <= '9') ++q;
        if (q == p) continue;
        const bool quoted = !first && file_text.find(msg.substr(at, q - at)) != std::string::npos;
        first = false;
        if (!quoted) out.push_back(std::stoll(msg.substr(p, q - p)));
    }
    return out;
}

}  // namespace

std::string show(const std::string& s, size_t max) {
    std::string out;
    for (unsigned char c : s.substr(0, max)) {
        if (c >= 0x20 && c < 0x7f) out += char(c);
        else out += fmt::format("\\x{:02x}", c);
    }
    return s.size() > max ? out + fmt::format("...({} bytes)", s.size()) : out;
}

bool valid_utf8(const std::string& s) {
    for (size_t i = 0; i < s.size();) {
        const unsigned char c = static_cast<unsigned char>(s[i]);
        const size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (n == 0 || i + n > s.size()) return false;
        uint32_t cp = n == 1 ? c : n == 2 ? (c & 0x1Fu) : n == 3 ? (c & 0x0Fu) : (c & 0x07u);
        for (size_t k = 1; k < n; ++k) {
            const unsigned char b = static_cast<unsigned char>(s[i + k]);
            if ((b >> 6) != 2) return false;
            cp = (cp << 6) | (b & 0x3Fu);
        }
        const uint32_t min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < min_cp[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
        i += n;
    }
    return true;
}

std::string message_problem(const std::string& msg, const std::string& name, long long max_line,
                            const std::string& file_text) {
    if (msg.find(name) == std::string::npos) return "does not name the file";
    if (msg.size() > 4096) return fmt::format("is {} bytes long", msg.size());
    if (!valid_utf8(msg)) return "is not valid UTF-8";
    for (unsigned char c : msg)
        if (c < 0x20 || c == 0x7f) return fmt::format("holds control byte 0x{:02x}", c);
    const std::vector<long long> named = lines_named(msg, name, file_text);
    for (long long l : named)
        if (l < 1 || l > max_line) return fmt::format("names line {} of a file of {} lines", l, max_line);
    if (is_line_reason(msg, file_text) && named.empty()) return "gives a line-level reason without file:line";
    return "";
}

void ReaderUnderTest::fail(const std::string& tag, const std::string& what) {
    ++failures;
    if (on_failure) on_failure(family + " " + tag + ": " + what);
}

// One read in one mode; whether it returned data (else it threw fusedrnn::Error).
bool ReaderUnderTest::run(const std::string& tag, const std::string& path, BadLines mode, long long max_line,
                          ReadOutcome& out) {
    const std::string name = fs::path(path).filename().string();
    const std::string how = mode == BadLines::Skip ? "[skip-bad-lines]" : "[strict]";
    try {
        read(path, mode, out);
    } catch (const fusedrnn::Error& e) {
        const std::string msg = e.what();
        (mode == BadLines::Skip ? skip_errors : strict_errors) += 1;
        const std::string problem = message_problem(msg, name, max_line, file_text_);
        if (!problem.empty()) fail(tag, how + " error message " + problem + ": " + show(msg, 300));
        // Header and gzip-stream errors are about the file, whatever the line they are found at; so is a file whose
        // every line was skipped, which quotes the first one's reason.
        const bool file_level = msg.find("header") != std::string::npos || msg.find("gzip") != std::string::npos ||
                                msg.find(": no data lines (all ") != std::string::npos ||
                                msg.find(": no valid lines in ") != std::string::npos;
        if (mode == BadLines::Skip && skip_skips_lines && is_line_reason(msg, file_text_) && !file_level)
            fail(tag, how + " threw for a line instead of skipping it: " + show(msg, 300));
        return false;
    } catch (const std::exception& e) {
        fail(tag, how + " threw a non-fusedrnn exception (" + typeid(e).name() + "): " + e.what());
        return false;
    } catch (...) {
        fail(tag, how + " threw a non-std exception");
        return false;
    }
    check_outcome(tag + " " + how, name, mode, max_line, out);
    (mode == BadLines::Skip ? skip_read : strict_read) += 1;
    if (mode == BadLines::Skip) lines_skipped += out.report.skipped_lines;
    return true;
}

void ReaderUnderTest::check_outcome(const std::string& tag, const std::string& name, BadLines mode,
                                    long long max_line, const ReadOutcome& out) {
    const ReadReport& r = out.report;
    for (size_t i = 0; i < out.values.size(); ++i) {
        if (std::isinf(out.values[i])) {
            fail(tag, fmt::format("value {} is {} (present values must be finite)", i, out.values[i]));
            break;
        }
    }
    // Every data line is a row, a duplicate, a counted skip or passed over (not an observation: LCD summaries);
    // every grid row is a record or a gap.
    if (r.lines != r.records + r.skipped_lines + r.duplicate_times + r.passed_over_lines + r.joined_lines)
        fail(tag, fmt::format("lines {} != records {} + skipped {} + duplicates {} + passed over {} + joined {}",
                              r.lines, r.records, r.skipped_lines, r.duplicate_times, r.passed_over_lines,
                              r.joined_lines));
    if (out.rows != r.records + r.gap_rows)
        fail(tag, fmt::format("rows {} != records {} + gap rows {}", out.rows, r.records, r.gap_rows));
    if (mode == BadLines::Error && r.skipped_lines != 0)
        fail(tag, fmt::format("strict read skipped {} lines", r.skipped_lines));
    // One example per skip or duplicate, the first ten; a skipped record over several lines is one, naming its lines
    // ("a.csv:60-159: ..."), each of them a skipped line, unless a stray quote made it (then it names its first line
    // alone, the one skipped, and the lines after it are read again on their own).
    if (r.examples.size() < ReadReport::kMaxExamples &&
        lines_in_examples(r.examples) != r.skipped_lines + r.duplicate_times)
        fail(tag, fmt::format("{} examples naming {} lines for {} skipped lines and duplicates", r.examples.size(),
                              lines_in_examples(r.examples), r.skipped_lines + r.duplicate_times));
    if (r.examples.size() > ReadReport::kMaxExamples ||
        (r.examples.size() == ReadReport::kMaxExamples && r.skipped_lines + r.duplicate_times < 10))
        fail(tag, fmt::format("{} examples for {} skipped lines and duplicates", r.examples.size(),
                              r.skipped_lines + r.duplicate_times));
    for (const auto& e : r.examples) {
        const std::string problem = message_problem(e, name, max_line, file_text_);
        if (!problem.empty()) fail(tag, "report example " + problem + ": " + show(e, 300));
    }
}

void ReaderUnderTest::check(const std::string& tag, const std::string& path, long long max_line) {
    std::ifstream in(path, std::ios::binary);
    file_text_.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    ReadOutcome strict, skip;
    const bool strict_ok = run(tag, path, BadLines::Error, max_line, strict);
    if (!has_skip) return;
    const bool skip_ok = run(tag, path, BadLines::Skip, max_line, skip);
    if (strict_ok && !skip_ok) fail(tag, "strict read succeeded but skip-bad-lines threw");
    if (strict_ok && skip_ok) {
        const bool same = strict.values.size() == skip.values.size() &&
                          std::equal(strict.values.begin(), strict.values.end(), skip.values.begin(),
                                     [](float a, float b) { return a == b || (std::isnan(a) && std::isnan(b)); });
        if (!same || skip.report.skipped_lines != 0) fail(tag, "strict and skip-bad-lines reads differ");
    }
}

void add_series(const StationSeries& s, ReadOutcome& out) {
    out.values.insert(out.values.end(), s.values.begin(), s.values.end());
    out.rows += s.rows();
}

ReaderUnderTest isd_reader() {
    return {"read_isd_lite", [](const std::string& path, BadLines mode, ReadOutcome& out) {
                IsdLiteOptions o;
                o.on_bad_line = mode;
                add_series(read_isd_lite(path, out.report, o), out);
            }};
}

ReaderUnderTest csv_reader(const std::string& preset) {
    return {"read_csv_station(" + preset + ")", [preset](const std::string& path, BadLines mode, ReadOutcome& out) {
                CsvFormat f = csv_preset(preset);
                f.on_bad_line = mode;
                add_series(read_csv_station(path, f, out.report), out);
            }};
}

ReaderUnderTest folder_reader() {
    return {"read_station_set(auto)", [](const std::string& path, BadLines mode, ReadOutcome& out) {
                StationReadOptions o;
                o.on_bad_line = mode;
                StationData d = read_station_set(fs::path(path).parent_path().string(), o);
                out.report = d.report;
                out.values = std::move(d.set.values);
                out.rows = d.set.rows();
            }};
}

}  // namespace fusedrnn::testing
