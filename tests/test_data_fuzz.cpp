// Deterministic mutation fuzz of the station readers (core/data/): small real files from every format
// family of the shared data folder plus hand-made ones are mutated with a fixed seed (truncation at any
// byte, also inside a gzip stream; flipped, inserted and deleted bytes; duplicated, swapped and
// reversed lines; NUL and non-UTF-8 bytes; very long lines; CRLF and lone-CR line ends; blank lines;
// header-only and empty files; numbers such as 1e999, nan, inf, -0 and huge integers; impossible dates
// and hours) and read by every reader that takes them, strictly and with BadLines::Skip, directly and
// through the folder reader's format detection.
//
// The contract (docs/data.md; checked by tests/reader_contract.h): a reader either throws fusedrnn::Error
// naming the file (and file:line when the reason is one line), or returns data whose present values are
// all finite and whose report accounts for every line. Anything else — another exception type, a crash,
// an Inf in the data, a line neither kept nor counted — is a bug. Error messages and report examples must
// also be printable (no control bytes, valid UTF-8, bounded length). Failure messages print the seed and the mutations;
// FUSEDRNN_FUZZ_SEED / FUSEDRNN_FUZZ_MUTANTS change the seed and the number of mutants per file, and
// FUSEDRNN_FUZZ_MAX_REPORTED how many failures each reader shows. The DataFuzzFound tests pin the bugs
// this fuzz found.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <omp.h>
#include <zlib.h>

#include "fusedrnn/core/data/csv_presets.h"
#include "fusedrnn/core/data/csv_reader.h"
#include "fusedrnn/core/data/isd_lite.h"
#include "fusedrnn/core/data/station_folder.h"
#include "fusedrnn/core/data/text.h"
#include "fusedrnn/core/data/time.h"
#include "fusedrnn/core/error.h"
#include "fusedrnn/tests/reader_contract.h"
#include "fusedrnn/tests/test_support.h"

namespace ft = fusedrnn::testing;
using namespace fusedrnn::data;
using ft::show;
using Fuzzer = ft::ReaderUnderTest;
using ft::csv_reader;
using ft::folder_reader;
using ft::isd_reader;
namespace fs = std::filesystem;

namespace {

constexpr uint64_t kDefaultSeed = 20240611;
// Per seed file: ~790 mutants in all with the shared data (300 without), most read 4 ways; ~1 s.
constexpr int kDefaultMutants = 60;

uint64_t fuzz_seed() {
    const char* s = std::getenv("FUSEDRNN_FUZZ_SEED");
    return s ? std::strtoull(s, nullptr, 10) : kDefaultSeed;
}
int max_reported() {  // failures shown per reader; the rest are counted
    const char* s = std::getenv("FUSEDRNN_FUZZ_MAX_REPORTED");
    return s ? std::max(1, std::atoi(s)) : 8;
}
int fuzz_mutants() {
    const char* s = std::getenv("FUSEDRNN_FUZZ_MUTANTS");
    return s ? std::max(1, std::atoi(s)) : kDefaultMutants;
}

// splitmix64: the same stream on every platform and standard library (std::uniform_int_distribution
// is not), so a seed printed in a failure reproduces anywhere.
struct Rng {
    uint64_t state;
    uint64_t next() {
        uint64_t z = (state += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }
    size_t below(size_t n) { return n == 0 ? 0 : size_t(next() % n); }
    bool chance(int one_in) { return below(size_t(one_in)) == 0; }
    template <class T>
    const T& pick(const std::vector<T>& v) { return v[below(v.size())]; }
};

uint64_t hash_name(const std::string& s) {
    uint64_t h = 1469598103934665603ull;  // FNV-1a
    for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
    return h;
}

// ---- files ------------------------------------------------------------------------------------------

void write_bytes(const std::string& path, const std::string& bytes) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

std::string gunzip_file(const std::string& path) {
    gzFile gz = gzopen(path.c_str(), "rb");
    std::string out;
    if (!gz) return out;
    char buf[1 << 16];
    int n;
    while ((n = gzread(gz, buf, sizeof buf)) > 0) out.append(buf, size_t(n));
    gzclose(gz);
    return out;
}

std::string gzip_bytes(const std::string& text) {
    z_stream z{};
    deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);  // +16: gzip wrapper
    std::string out(deflateBound(&z, uLong(text.size())), '\0');
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
    z.avail_in = uInt(text.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = uInt(out.size());
    deflate(&z, Z_FINISH);
    out.resize(z.total_out);
    deflateEnd(&z);
    return out;
}

// The first `keep` data lines of `text` after its first `skip` lines (plus the header when it has one).
std::string head_lines(const std::string& text, size_t keep, bool header, size_t skip = 0) {
    std::istringstream in(text);
    std::string line, out;
    size_t n = 0;
    if (header && std::getline(in, line)) out += line + "\n";
    for (size_t i = 0; i < skip && std::getline(in, line); ++i) {
    }
    while (n < keep && std::getline(in, line)) {
        out += line + "\n";
        ++n;
    }
    return out;
}

// ---- mutations --------------------------------------------------------------------------------------

std::vector<std::string> split_lines(const std::string& s) {
    std::vector<std::string> lines;
    size_t b = 0;
    for (;;) {
        const size_t e = s.find('\n', b);
        if (e == std::string::npos) {
            lines.push_back(s.substr(b));  // "" after a final newline: join() restores it
            return lines;
        }
        lines.push_back(s.substr(b, e - b));
        b = e + 1;
    }
}

std::string join_lines(const std::vector<std::string>& lines) {
    std::string out;
    for (size_t i = 0; i < lines.size(); ++i) {
        if (i) out += '\n';
        out += lines[i];
    }
    return out;
}

const std::vector<std::string> kWeirdNumbers = {
    "1e999", "-1e999", "nan", "NaN", "-nan", "inf", "-inf", "Infinity", "-0", "-0.0", "+0", "1e300", "-1e300",
    "3.5e38", "-3.5e38", "1e39", "1e-400", "99999999999999999999", "-9223372036854775808", "9223372036854775807",
    "18446744073709551616", "0x1A", "1,5", "1.2.3", "--1", "+-1", "e5", ".", "-", "", " ", "NA", "-9999",
    "1e308", "4294967297", "2147483648", "-2147483649", "１２"};
// Date/time parts: out of range, off the hour grid, at the edges of the calendar, overflowing an int.
const std::vector<std::string> kWeirdDateParts = {"0",  "00", "24", "25", "13", "29", "30", "31", "32", "99",
                                                  "-1", "60", "53", "1969", "0000", "9999", "10000", "-999",
                                                  "99999999999", "4294967297", "4294967321", "-9223372036854775808"};
const std::vector<std::string> kWeirdDates = {"2021-02-30", "2019-02-29", "2020-02-29", "2014-13-01", "2014-00-10",
                                              "2014-04-31", "0000-01-01", "9999-12-31", "-001-01-01", "1970-01-01",
                                              "2014-1-1",   "14-01-01"};
const std::vector<std::string> kOddBytes = {"\xff", "\xc3", "\x80", "\xed\xa0\x80", "\xfe\xff", "\xc0\xaf",
                                            "\xef\xbb\xbf", std::string(1, '\0'), "\x1b[31m", "\r", "\"", "\t"};

struct Mutator {
    Rng& rng;
    bool header;       // the seed's first line is a header (mutate it less often)
    std::string& log;  // what was done, for failure messages

    void note(const std::string& s) { log += (log.empty() ? "" : "; ") + s; }

    size_t any_line(const std::vector<std::string>& lines) {
        const size_t n = lines.size();
        if (header && n > 1 && !rng.chance(6)) return 1 + rng.below(n - 1);
        return rng.below(n);
    }

    // Runs of digits (`digits_only`) or of number characters containing a digit in `line`.
    std::vector<std::pair<size_t, size_t>> runs(const std::string& line, bool digits_only) {
        auto in_run = [&](char c) {
            return (c >= '0' && c <= '9') || (!digits_only && (c == '.' || c == '-' || c == '+' || c == 'e'));
        };
        std::vector<std::pair<size_t, size_t>> out;
        for (size_t i = 0; i < line.size();) {
            if (!in_run(line[i])) { ++i; continue; }
            size_t j = i;
            bool digit = false;
            while (j < line.size() && in_run(line[j])) digit |= (line[j] >= '0' && line[j] <= '9'), ++j;
            if (digit) out.emplace_back(i, j - i);
            i = j;
        }
        return out;
    }

    void replace_run(std::string& s, bool digits_only, const std::vector<std::string>& tokens, bool keep_width) {
        std::vector<std::string> lines = split_lines(s);
        const size_t li = any_line(lines);
        const auto r = runs(lines[li], digits_only);
        if (r.empty()) return;
        const auto [at, len] = r[rng.below(r.size())];
        std::string tok = rng.pick(tokens);
        if (keep_width) {  // fixed-width formats: right-align in the same columns
            tok = tok.size() >= len ? tok.substr(tok.size() - len) : std::string(len - tok.size(), ' ') + tok;
        }
        note(fmt::format("line {} run@{} \"{}\" -> \"{}\"", li + 1, at, show(lines[li].substr(at, len)), show(tok)));
        lines[li].replace(at, len, tok);
        s = join_lines(lines);
    }

    void text_op(std::string& s) {
        switch (rng.below(22)) {
            case 0: {
                const size_t at = rng.below(s.size() + 1);
                note(fmt::format("truncate at byte {} of {}", at, s.size()));
                s.resize(at);
                break;
            }
            case 1: {
                if (s.empty()) break;
                const size_t at = rng.below(s.size());
                const char was = s[at];
                s[at] = rng.chance(2) ? char(s[at] ^ char(1 << rng.below(8))) : char(rng.below(256));
                note(fmt::format("byte {} 0x{:02x} -> 0x{:02x}", at, uint8_t(was), uint8_t(s[at])));
                break;
            }
            case 2: {
                const size_t at = rng.below(s.size() + 1), n = 1 + rng.below(4);
                std::string ins;
                for (size_t i = 0; i < n; ++i) ins += char(rng.below(256));
                note(fmt::format("insert \"{}\" at byte {}", show(ins), at));
                s.insert(at, ins);
                break;
            }
            case 3: {
                if (s.empty()) break;
                const size_t at = rng.below(s.size()), n = std::min(s.size() - at, 1 + rng.below(12));
                note(fmt::format("delete {} bytes at {}", n, at));
                s.erase(at, n);
                break;
            }
            case 4: {
                std::vector<std::string> lines = split_lines(s);
                const size_t li = any_line(lines), to = any_line(lines);
                note(fmt::format("duplicate line {} before line {}", li + 1, to + 1));
                lines.insert(lines.begin() + std::ptrdiff_t(to), lines[li]);
                s = join_lines(lines);
                break;
            }
            case 5: {
                std::vector<std::string> lines = split_lines(s);
                const size_t a = any_line(lines), b = any_line(lines);
                note(fmt::format("swap lines {} and {}", a + 1, b + 1));
                std::swap(lines[a], lines[b]);
                s = join_lines(lines);
                break;
            }
            case 6: {
                const size_t at = rng.below(s.size() + 1);
                note(fmt::format("NUL at byte {}", at));
                s.insert(at, 1, '\0');
                break;
            }
            case 7: {
                // Mostly lines of tens of KB; one in eight longer than LineReader's 1 MiB buffer.
                const size_t n = rng.chance(8) ? (size_t(3) << 19) + rng.below(1 << 19) : 1000 + rng.below(60000);
                static const char kChars[] = "0123456789,. -e";
                std::string longline(n, '1');
                for (auto& c : longline) c = kChars[rng.below(sizeof kChars - 1)];
                std::vector<std::string> lines = split_lines(s);
                const size_t li = any_line(lines);
                if (rng.chance(2)) {
                    note(fmt::format("append {} bytes to line {}", n, li + 1));
                    lines[li] += longline;
                } else {
                    note(fmt::format("insert a {}-byte line before line {}", n, li + 1));
                    lines.insert(lines.begin() + std::ptrdiff_t(li), longline);
                }
                s = join_lines(lines);
                break;
            }
            case 8: {
                const std::string& b = rng.pick(kOddBytes);
                const size_t at = rng.below(s.size() + 1);
                note(fmt::format("insert \"{}\" at byte {}", show(b), at));
                s.insert(at, b);
                break;
            }
            case 9: {
                std::string out;
                for (char c : s) out += c == '\n' ? std::string("\r\n") : std::string(1, c);
                note("CRLF line ends");
                s = out;
                break;
            }
            case 10: {
                std::string out;
                for (char c : s) out += c == '\n' ? '\r' : c;
                note("lone CR line ends");
                s = out;
                break;
            }
            case 11: {
                static const std::vector<std::string> kBlank = {"", " ", "\t", " \t ", ",,,", ",", "\r"};
                std::vector<std::string> lines = split_lines(s);
                const size_t li = any_line(lines);
                const std::string& b = rng.pick(kBlank);
                note(fmt::format("insert line \"{}\" before line {}", show(b), li + 1));
                lines.insert(lines.begin() + std::ptrdiff_t(li), b);
                s = join_lines(lines);
                break;
            }
            case 12: {
                static const std::vector<std::string> kShort = {"", "\n", " \n", "\xef\xbb\xbf", "\n\n\n"};
                const size_t keep = rng.below(3);  // 0, the header only, or header + one line
                std::vector<std::string> lines = split_lines(s);
                lines.resize(std::min(lines.size(), keep));
                s = join_lines(lines) + (rng.chance(2) ? "\n" : "");
                if (keep == 0) s = rng.pick(kShort);
                note(fmt::format("keep only {} line(s): \"{}\"", keep, show(s)));
                break;
            }
            case 13:
            case 14:
                replace_run(s, false, kWeirdNumbers, false);
                break;
            case 15:
                replace_run(s, false, kWeirdNumbers, true);
                break;
            case 16:
                replace_run(s, true, kWeirdDateParts, false);
                break;
            case 17:
                replace_run(s, true, kWeirdDateParts, true);
                break;
            case 18: {
                std::vector<std::string> lines = split_lines(s);
                const size_t li = any_line(lines);
                std::string& l = lines[li];
                // A YYYY-MM-DD date (CSV) or "YYYY MM DD" (ISD-Lite, same width) replaced by an odd one.
                for (size_t i = 0; i + 10 <= l.size(); ++i) {
                    const bool dash = l[i + 4] == '-' && l[i + 7] == '-';
                    const bool isd = i == 0 && l[4] == ' ' && l[7] == ' ';
                    if (!dash && !isd) continue;
                    std::string d = rng.pick(kWeirdDates);
                    if (isd) {
                        std::replace(d.begin(), d.end(), '-', ' ');
                        d = (d + "          ").substr(0, 10);
                    }
                    note(fmt::format("line {} date \"{}\" -> \"{}\"", li + 1, l.substr(i, 10), d));
                    l.replace(i, 10, d);
                    break;
                }
                s = join_lines(lines);
                break;
            }
            case 19: {
                std::vector<std::string> lines = split_lines(s);
                note("reverse the data lines");
                std::reverse(lines.begin() + (header && !lines.empty() ? 1 : 0), lines.end());
                s = join_lines(lines);
                break;
            }
            case 20: {
                // Drop or add a field: cut the line at a delimiter, or double one.
                std::vector<std::string> lines = split_lines(s);
                const size_t li = any_line(lines);
                std::string& l = lines[li];
                const size_t at = l.find_first_of(", ", rng.below(l.size() + 1));
                if (at == std::string::npos) break;
                if (rng.chance(2)) {
                    note(fmt::format("line {} cut at byte {}", li + 1, at));
                    l.resize(at);
                } else {
                    note(fmt::format("line {} doubled delimiter at byte {}", li + 1, at));
                    l.insert(at, 1, l[at]);
                }
                s = join_lines(lines);
                break;
            }
            default: {
                // Several small changes at once: flips across the whole file.
                const size_t n = 2 + rng.below(6);
                note(fmt::format("{} random byte flips", n));
                for (size_t i = 0; i < n && !s.empty(); ++i) s[rng.below(s.size())] = char(rng.below(256));
                break;
            }
        }
    }

    // Mutations of a gzip stream itself (the text inside is intact).
    void gzip_op(std::string& gz) {
        switch (rng.below(5)) {
            case 0:
            case 1: {
                const size_t at = rng.below(gz.size() + 1);
                note(fmt::format("gzip truncated at byte {} of {}", at, gz.size()));
                gz.resize(at);
                break;
            }
            case 2: {
                const size_t at = rng.below(gz.size());
                gz[at] = char(gz[at] ^ char(1 << rng.below(8)));
                note(fmt::format("gzip bit flip at byte {} of {}", at, gz.size()));
                break;
            }
            case 3: {
                const size_t at = rng.below(gz.size());
                note(fmt::format("gzip bytes {}.. of {} zeroed", at, gz.size()));
                for (size_t i = at; i < std::min(gz.size(), at + 16); ++i) gz[i] = 0;
                break;
            }
            default: {
                // The last tail with its NUL byte (a plain literal would stop before it).
                static const std::vector<std::string> kTail = {"garbage", std::string(1, '\x1f'), "\x1f\x8b",
                                                               std::string("\x1f\x8b\x08\x00", 4)};
                const std::string& t = rng.pick(kTail);
                note(fmt::format("gzip + trailing \"{}\"", show(t)));
                gz += t;
                break;
            }
        }
    }
};

// One file to mutate: its text (uncompressed), the name its mutants are written under, whether they
// are gzip-compressed, and whether its first line is a header.
struct SeedFile {
    std::string label;
    std::string text;
    std::string file_name;
    bool gzip = false;
    bool header = true;
    std::string companion_name, companion_text;  // a fixed file written beside the mutants

    SeedFile(std::string l, std::string t, std::string f, bool gz = false, bool h = true, std::string cn = "",
             std::string ct = "")
        : label(std::move(l)), text(std::move(t)), file_name(std::move(f)), gzip(gz), header(h),
          companion_name(std::move(cn)), companion_text(std::move(ct)) {}
};

// Writes `mutants` mutants of each seed into `dir`/file_name and checks every reader in `fuzzers` on
// each (all readers of a family see the same bytes).
void fuzz(const std::vector<SeedFile>& seeds, std::vector<Fuzzer>& fuzzers, const std::string& dir) {
    // One OpenMP thread: the folder reader opens a parallel region per read, and with thousands of tiny
    // ones idle workers spin in libgomp and take the CPU from the reading thread on a shared machine
    // (the folders here hold one or two files, so nothing is lost).
    omp_set_num_threads(1);
    for (Fuzzer& f : fuzzers)
        f.on_failure = [&f](const std::string& failure) {
            if (f.failures <= max_reported()) ADD_FAILURE() << failure;
        };
    const uint64_t seed = fuzz_seed();
    const int mutants = fuzz_mutants();
    for (size_t si = 0; si < seeds.size(); ++si) {
        const SeedFile& sf = seeds[si];
        ASSERT_FALSE(sf.text.empty()) << sf.label << ": empty seed file";
        // A folder per seed file, so that the folder reader sees this mutant and nothing else.
        const std::string sub = dir + "/" + std::to_string(si);
        fs::create_directories(sub);
        if (!sf.companion_name.empty()) write_bytes(sub + "/" + sf.companion_name, sf.companion_text);
        const std::string path = sub + "/" + sf.file_name;
        for (int k = 0; k < mutants; ++k) {
            Rng rng{seed ^ hash_name(sf.label) ^ (uint64_t(k) * 0x9E3779B97F4A7C15ull)};
            std::string log, text = sf.text;
            Mutator m{rng, sf.header, log};
            const bool gz_level = sf.gzip && rng.chance(2);
            const size_t ops = gz_level ? rng.below(2) : 1 + rng.below(3);
            for (size_t i = 0; i < ops; ++i) m.text_op(text);
            std::string bytes = sf.gzip ? gzip_bytes(text) : text;
            if (gz_level) m.gzip_op(bytes);
            write_bytes(path, bytes);
            const long long max_line = std::max<long long>(
                1, (long long)std::count(text.begin(), text.end(), '\n') + 1 +
                       (long long)std::count(text.begin(), text.end(), '\r'));
            const std::string tag = fmt::format("{} mutant #{} (FUSEDRNN_FUZZ_SEED={}): {}", sf.label, k, seed,
                                                log.empty() ? "no change" : log);
            for (Fuzzer& f : fuzzers) f.check(tag, path, max_line);
        }
    }
    for (const Fuzzer& f : fuzzers)
        if (f.failures > max_reported())
            ADD_FAILURE() << f.family << ": " << f.failures - max_reported() << " more failures not shown";
    // What the mutants did, to see that the fuzz reaches both outcomes of every reader.
    for (const Fuzzer& f : fuzzers)
        std::cout << "[ fuzz     ] " << f.family << ": strict " << f.strict_read << " read / " << f.strict_errors
                  << " errors; skip-bad-lines " << f.skip_read << " read (" << f.lines_skipped << " lines skipped) / "
                  << f.skip_errors << " errors\n";
}

// Hand-made ISD-Lite lines: hourly with gaps, sentinels, a calm hour, a trace of precipitation.
std::string handmade_isd() {
    std::string s;
    for (int h = 0; h < 40; ++h) {
        if (h % 7 == 3) continue;  // an absent hour
        const int tmp = -32 + 3 * h, dew = h % 5 == 0 ? -9999 : -40 + h, slp = h % 9 == 0 ? -9999 : 10120 - h;
        s += fmt::format("2017 01 {:02d} {:02d} {:5d} {:5d} {:5d} {:5d} {:5d} {:5d} {:5d} {:5d}\n", 1 + h / 24,
                         h % 24, tmp, dew, slp, h % 6 == 0 ? 0 : (h * 10) % 360 + 10, h % 6 == 0 ? 0 : 5 * h, 9,
                         h % 4 == 0 ? -1 : 0, -9999);
    }
    return s;
}

std::string handmade_weather5k() {
    std::string s = "DATE,TMP,DEW,WND_ANGLE,WND_RATE,SLP,MASK\n";
    for (int h = 0; h < 36; ++h) {
        if (h == 11) continue;
        s += fmt::format("2014-01-{:02d} {:02d}:00:00,{:.1f},{:.1f},{},{:.1f},{},\"[1 1 1 1 {}]\"\n", 1 + h / 24,
                         h % 24, 0.1 * h - 2, -0.2 * h - 5, (h * 20) % 360, 0.3 * h,
                         h % 8 == 5 ? std::string() : fmt::format("{:.1f}", 1013.0 - 0.1 * h), h % 8 == 5 ? 0 : 1);
    }
    return s;
}

std::string data_file(const std::string& rel) { return ft::data_dir() + "/" + rel; }

}  // namespace

// ---- the fuzz, one family per test ----------------------------------------------------------------------

TEST(DataFuzz, IsdLiteHandMade) {
    const std::string dir = ft::temp_dir();
    std::vector<Fuzzer> f = {isd_reader(), folder_reader()};
    // The .gz mutants sit beside a valid file of the next year: the folder reader merges the two.
    std::string next_year = handmade_isd();
    for (size_t at = 0; at < next_year.size(); at = next_year.find('\n', at) + 1) next_year.replace(at, 4, "2018");
    fuzz({{"isd-handmade", handmade_isd(), "010010-99999-2017", false, false},
          {"isd-handmade.gz", handmade_isd(), "071690-99999-2017.gz", true, false, "071690-99999-2018",
           next_year}},
         f, dir);
}

TEST(DataFuzz, IsdLiteReal) {
    FUSEDRNN_REQUIRE_DATA("isd-lite");
    const std::string dir = ft::temp_dir();
    std::vector<Fuzzer> f = {isd_reader(), folder_reader()};
    const std::string plain = ft::read_file_bytes(data_file("isd-lite/010014-99999-2016"));
    const std::string gz = gunzip_file(data_file("isd-lite/318010-99999-2016.gz"));
    fuzz({{"isd-lite/010014-99999-2016[:48]", head_lines(plain, 48, false), "010014-99999-2016", false, false},
          {"isd-lite/318010-99999-2016.gz[:48]", head_lines(gz, 48, false), "318010-99999-2016.gz", true, false},
          {"isd-lite/642820-99999-2014", ft::read_file_bytes(data_file("isd-lite/642820-99999-2014")), "642820-99999-2014",
           false, false}},
         f, dir);
}

// A whole real .gz station-year (29 KB compressed), truncated or corrupted inside the stream.
TEST(DataFuzz, IsdLiteRealGzipStream) {
    FUSEDRNN_REQUIRE_DATA("isd-lite");
    const std::string dir = ft::temp_dir();
    const std::string orig = ft::read_file_bytes(data_file("isd-lite/317540-99999-2016.gz"));
    const std::string text = gunzip_file(data_file("isd-lite/317540-99999-2016.gz"));
    ASSERT_FALSE(orig.empty());
    const long long max_line = (long long)std::count(text.begin(), text.end(), '\n') + 1;
    std::vector<Fuzzer> f = {isd_reader()};
    const uint64_t seed = fuzz_seed();
    Rng rng{seed ^ hash_name("317540.gz")};
    for (int k = 0; k < 12; ++k) {
        std::string bytes = orig, log;
        Mutator m{rng, false, log};
        m.gzip_op(bytes);
        write_bytes(dir + "/317540-99999-2016.gz", bytes);
        const std::string tag = fmt::format("isd-lite/317540-99999-2016.gz #{} (FUSEDRNN_FUZZ_SEED={}): {}", k, seed,
                                            log);
        f[0].check(tag, dir + "/317540-99999-2016.gz", max_line);
    }
}

TEST(DataFuzz, IsdHistory) {
    FUSEDRNN_REQUIRE_DATA("isd-lite");
    const std::string dir = ft::temp_dir();
    const std::string text = head_lines(ft::read_file_bytes(data_file("isd-lite/isd-history.csv.txt")), 40, true, 2000);
    Fuzzer history{"read_isd_history", [](const std::string& path, BadLines, ft::ReadOutcome&) { read_isd_history(path); }};
    history.has_skip = false;
    std::vector<Fuzzer> f = {history};
    fuzz({{"isd-lite/isd-history.csv.txt[2000:2040]", text, "isd-history.csv.txt"}}, f, dir);
    // The folder read must report a bad history file by name too.
    // The history is metadata, read strictly whatever the station files' policy.
    Fuzzer folder = folder_reader();
    folder.family = "read_station_set(isd-lite + history)";
    folder.skip_skips_lines = false;
    std::vector<Fuzzer> g = {folder};
    fuzz({{"isd-history beside a station", text, "isd-history.csv.txt", false, true, "010010-99999-2017",
           handmade_isd()}},
         g, ft::temp_dir());
}

TEST(DataFuzz, Weather5kHandMade) {
    const std::string dir = ft::temp_dir();
    std::vector<Fuzzer> f = {csv_reader("weather5k"), folder_reader()};
    fuzz({{"weather5k-handmade", handmade_weather5k(), "station.csv"},
          {"weather5k-handmade.csv.gz", handmade_weather5k(), "station.csv.gz", true}},
         f, dir);
}

TEST(DataFuzz, NceiLcdFixture) {
    const std::string dir = ft::temp_dir();
    std::vector<Fuzzer> f = {csv_reader("ncei-lcd"), folder_reader()};
    const std::string text = ft::read_file_bytes(ft::source_dir() + "/tests/fixtures/stations/ncei_lcd_sample.csv");
    fuzz({{"fixtures/ncei_lcd_sample.csv", text, "72505394728.csv"}}, f, dir);
}

TEST(DataFuzz, JenaFixture) {
    const std::string dir = ft::temp_dir();
    std::vector<Fuzzer> f = {csv_reader("jena"), folder_reader()};
    const std::string text = ft::read_file_bytes(ft::source_dir() + "/tests/fixtures/stations/jena_sample.csv");
    // Jena reads every column: a mangled header gives this station other variables than its neighbour's.
    fuzz({{"fixtures/jena_sample.csv", text, "jena.csv", false, true, "jena_2.csv", text}}, f, dir);
}

TEST(DataFuzz, BeijingMultisite) {
    FUSEDRNN_REQUIRE_DATA("beijing-multisite");
    const std::string dir = ft::temp_dir();
    std::vector<Fuzzer> f = {csv_reader("beijing-multisite"), folder_reader()};
    const std::string text =
        ft::read_file_bytes(data_file("beijing-multisite/PRSA_Data_Aotizhongxin_20130301-20170228.csv"));
    fuzz({{"beijing-multisite/Aotizhongxin[:40]", head_lines(text, 40, true), "PRSA_Data_Aotizhongxin.csv"}}, f,
         dir);
}

TEST(DataFuzz, Pm25FiveCities) {
    FUSEDRNN_REQUIRE_DATA("pm25-five-cities");
    const std::string dir = ft::temp_dir();
    std::vector<Fuzzer> f = {csv_reader("pm25-five-cities"), folder_reader()};
    const std::string text = ft::read_file_bytes(data_file("pm25-five-cities/ChengduPM20100101_20151231.csv"));
    // From row 30,000 on: past the early stretch where everything is NA.
    fuzz({{"pm25-five-cities/Chengdu[30000:30040]", head_lines(text, 40, true, 30000), "ChengduPM.csv"}}, f, dir);
}

TEST(DataFuzz, NoaaLcd) {
    FUSEDRNN_REQUIRE_DATA("noaa-lcd-10yr");
    const std::string dir = ft::temp_dir();
    std::vector<Fuzzer> f = {csv_reader("noaa-lcd"), folder_reader()};
    const std::string text = ft::read_file_bytes(
        data_file("noaa-lcd-10yr/723273 - 10yr (2013-2022) - SMYRNA, Tennessee, United States.csv"));
    // Smyrna has several reports in many hours: duplicates and rounding from the start.
    fuzz({{"noaa-lcd-10yr/723273 SMYRNA[:40]", head_lines(text, 40, true), "723273 - SMYRNA, Tennessee.csv"}}, f,
         dir);
}

// ---- the bugs this fuzz found, pinned as fixed cases ----------------------------------------------------

namespace {

std::string write_in(const std::string& dir, const std::string& name, const std::string& text) {
    write_bytes(dir + "/" + name, text);
    return dir + "/" + name;
}

const char* kW5kHeader = "DATE,TMP,DEW,WND_ANGLE,WND_RATE,SLP\n2014-01-01 00:00:00,1,2,3,4,1000\n";

}  // namespace

// The contract's own check, found by fuzz_station_reader: a field quoted in a message may look like a location
// ("1jena.csv:52/30" in a 12-line jena.csv); only the message's own location, which comes first, is held to the
// file's line count, and a "name:N" the file does not hold is the reader's and is checked too.
TEST(DataFuzzFound, QuotedFieldThatLooksLikeALocationIsNotALine) {
    const std::string file = "header\n1,1jena.csv:52/30\n";
    const std::string quoted = "/d/jena.csv:2: column 2 (\"wd\"): \"1jena.csv:52/30\" is not a number";
    EXPECT_EQ(ft::message_problem(quoted, "jena.csv", 2, file), "") << quoted;
    EXPECT_NE(ft::message_problem("/d/jena.csv:52: a bad line", "jena.csv", 2, file), "");
    EXPECT_NE(ft::message_problem("/d/jena.csv:2: see also jena.csv:9", "jena.csv", 2, file), "");
}

// A finite number that overflows a float once stored (or scaled) was let through as Inf.
TEST(DataFuzzFound, FloatOverflowIsAnError) {
    const std::string dir = ft::temp_dir();
    const std::string p = write_in(dir, "big.csv", std::string(kW5kHeader) + "2014-01-01 01:00:00,1e39,2,3,4,1000\n");
    const std::string msg = ft::error_of([&] { ReadReport r; read_csv_station(p, weather5k_format(), r); });
    EXPECT_NE(msg.find("big.csv:3: column 2 (\"TMP\"): value \"1e39\" is out of range"), std::string::npos) << msg;
    CsvFormat skip = weather5k_format();
    skip.on_bad_line = BadLines::Skip;
    ReadReport r;
    const StationSeries s = read_csv_station(p, skip, r);
    EXPECT_EQ(r.skipped_lines, 1);
    EXPECT_EQ(s.rows(), 1);
    // NOAA LCD scales °F by 5/9: 1e308 is a finite double but no float.
    const std::string lcd = write_in(dir, "lcd.csv",
                                     "DATE,HourlyDewPointTemperature,HourlyDryBulbTemperature,HourlyRelativeHumidity\n"
                                     "2012-01-01 00:53:00,30,1e308,41.0\n");
    EXPECT_NE(ft::error_of([&] { ReadReport r2; read_csv_station(lcd, noaa_lcd_format(), r2); }).find("lcd.csv:2"),
              std::string::npos);
}

// An off-grid time threw from GridBuilder::add even under BadLines::Skip.
TEST(DataFuzzFound, OffGridTimeIsSkippedUnderSkip) {
    const std::string dir = ft::temp_dir();
    const std::string p = write_in(dir, "grid.csv", std::string(kW5kHeader) + "2014-01-01 01:30:00,1,2,3,4,1000\n" +
                                                        "2014-01-01 02:00:00,1,2,3,4,1001\n");
    const std::string msg = ft::error_of([&] { ReadReport r; read_csv_station(p, weather5k_format(), r); });
    EXPECT_NE(msg.find("grid.csv:3: column 1 (\"DATE\"): time 2014-01-01 01:30:00 is not on the 3600-second grid"),
              std::string::npos) << msg;
    CsvFormat skip = weather5k_format();
    skip.on_bad_line = BadLines::Skip;
    ReadReport r;
    const StationSeries s = read_csv_station(p, skip, r);
    EXPECT_EQ(r.skipped_lines, 1);
    EXPECT_EQ(r.records, 2);
    EXPECT_EQ(s.rows(), 3);
}

// Integer time columns: a huge year overflowed the calendar arithmetic (undefined behaviour, then an
// arbitrary time), a month of 2^32 + 1 wrapped to January when narrowed to int.
TEST(DataFuzzFound, HugeTimeColumnsAreErrors) {
    const std::string dir = ft::temp_dir();
    const std::string head = "No,year,month,day,hour,season,PM_US Post,DEWP,HUMI,PRES,TEMP,cbwd,Iws,precipitation,"
                             "Iprec\n1,2010,1,1,0,4,NA,-21,43,1021,-11,NW,1.79,0,0\n";
    for (const char* line : {"2,9223372036854775807,1,1,1,4,NA,-21,47,1020,-12,NW,4.92,0,0\n",
                             "2,2010,4294967297,1,1,4,NA,-21,47,1020,-12,NW,4.92,0,0\n",
                             "2,2010,1,1,4294967297,4,NA,-21,47,1020,-12,NW,4.92,0,0\n",
                             "2,10000,1,1,1,4,NA,-21,47,1020,-12,NW,4.92,0,0\n"}) {
        const std::string p = write_in(dir, "pm.csv", head + line);
        const std::string msg = ft::error_of([&] { ReadReport r; read_csv_station(p, pm25_five_cities_format(), r); });
        EXPECT_NE(msg.find("pm.csv:3: column"), std::string::npos) << line << msg;
    }
    CivilTime c;
    c.year = 10000;
    EXPECT_FALSE(valid_civil(c));
    c.year = -9999;
    EXPECT_TRUE(valid_civil(c));
}

// Error messages and report examples echoed file bytes: a NUL cut what() short, invalid UTF-8 broke
// JSON writers, a 2 MB field became a 2 MB message.
TEST(DataFuzzFound, MessagesArePrintable) {
    EXPECT_EQ(printable(std::string("a\0b\xff\xc3\xa9\r", 7)), "a\\x00b\\xff\xc3\xa9\\x0d");
    EXPECT_EQ(printable("\xed\xa0\x80"), "\\xed\\xa0\\x80");  // a UTF-16 surrogate is not UTF-8
    EXPECT_EQ(printable(std::string(100, 'x'), 10), "xxxxxxxxxx... (100 bytes)");
    EXPECT_TRUE(is_utf8("T\xc2\xb0" "C \xe2\x82\xac \xf0\x9f\x8c\xa7 \x01"));
    for (const char* bad : {"T\xb0" "C", "\xed\xa0\x80", "\xc0\xaf", "\xe2\x82", "\xf4\x90\x80\x80"})
        EXPECT_FALSE(is_utf8(bad)) << printable(bad);
    // Numbers in messages: a float flag stored as a double shows as typed; two doubles never show alike.
    EXPECT_EQ(shortest_text(double(0.1f)), "0.1");
    EXPECT_EQ(shortest_text(double(0.010000001f)), "0.010000001");
    EXPECT_EQ(shortest_text(0.1), "0.1");
    EXPECT_EQ(shortest_text(0.30000000000000004), "0.30000000000000004");
    EXPECT_EQ(shortest_text(2), "2");
    const std::string dir = ft::temp_dir();
    const std::string p =
        write_in(dir, "nul.csv", std::string(kW5kHeader) + "2014-01-01 01:00:00,1" + std::string(1, '\0') +
                                     "\xff,2,3,4,1000\n2014-01-01 02:00:00," + std::string(100000, '7') + "x,2,3,4,1\n");
    const std::string msg = ft::error_of([&] { ReadReport r; read_csv_station(p, weather5k_format(), r); });
    EXPECT_NE(msg.find("\"1\\x00\\xff\" is not a number"), std::string::npos) << msg;
    CsvFormat skip = weather5k_format();
    skip.on_bad_line = BadLines::Skip;
    ReadReport r;
    read_csv_station(p, skip, r);
    ASSERT_EQ(r.examples.size(), 2u);
    EXPECT_LT(r.examples[1].size(), 300u) << r.examples[1].substr(0, 300);
    EXPECT_NE(r.examples[1].find("(100001 bytes)"), std::string::npos) << r.examples[1].substr(0, 300);
}

// A folder of Jena files (every column read) where one header differs named only the station id.
TEST(DataFuzzFound, FolderVariableMismatchNamesTheFile) {
    const std::string dir = ft::temp_dir();
    const std::string text = ft::read_file_bytes(ft::source_dir() + "/tests/fixtures/stations/jena_sample.csv");
    write_in(dir, "a.csv", text);
    std::string other = text;
    other.replace(other.find("wd (deg)"), 8, "wd (rad)");
    write_in(dir, "b.csv", other);
    const std::string msg = ft::error_of([&] { read_station_set(dir); });
    EXPECT_NE(msg.find("b.csv: variables"), std::string::npos) << msg;
    EXPECT_NE(msg.find("wd (rad)"), std::string::npos) << msg;
}

// A year typo (1016 for 2016) made a 1,000-year grid of gaps (8.8 M rows) instead of an error; the
// error now names the line of the first and the last observation.
TEST(DataFuzzFound, CenturiesOfGapsAreAnError) {
    const std::string dir = ft::temp_dir();
    const char* text = "2016 01 01 00    27    13  9972   190    20     5 -9999     0\n"
                       "1016 01 01 01    26    12  9974   170    10 -9999 -9999 -9999\n";
    // A file not named USAF-WBAN-YEAR has no year to hold its lines to: the span check catches the typo.
    const std::string p = write_in(dir, "jan-mayen.isd", text);
    const std::string msg = ft::error_of([&] { ReadReport r; read_isd_lite(p, r); });
    EXPECT_NE(msg.find("jan-mayen.isd:2"), std::string::npos) << msg;
    EXPECT_NE(msg.find("over 200 years"), std::string::npos) << msg;
    // Named USAF-WBAN-YEAR, the line is already wrong for its file.
    const std::string q = write_in(dir, "010010-99999-2016", text);
    const std::string msg2 = ft::error_of([&] { ReadReport r; read_isd_lite(q, r); });
    EXPECT_NE(msg2.find("010010-99999-2016:2: columns 1-4 (year): 1016, but the file name"), std::string::npos) << msg2;
    // A year before any weather record, on every line, is a year written short: no span check would catch it.
    const std::string r =
        write_in(dir, "short-year.isd", "0016 01 01 00    27    13  9972   190    20     5 -9999     0\n");
    const std::string msg3 = ft::error_of([&] { ReadReport rep; read_isd_lite(r, rep); });
    EXPECT_NE(msg3.find("short-year.isd:1: columns 1-4 (year): 0016 is before any weather record (a two-digit year?"),
              std::string::npos) << msg3;
    // Skipped, the station has no line left: the first one's reason is given (QA's recheck: "no valid lines" alone).
    IsdLiteOptions skip;
    skip.on_bad_line = BadLines::Skip;
    const std::string msg4 = ft::error_of([&] { ReadReport rep; read_isd_lite(r, rep, skip); });
    EXPECT_NE(msg4.find("no valid lines in " + r + " (all 1 were skipped as malformed; the first: " + r +
                        ":1: columns 1-4 (year): 0016"), std::string::npos) << msg4;
}
