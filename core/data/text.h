// fusedrnn::data — small text helpers shared by the readers: CSV field splitting and strict number
// parsing. They report failure by return value; the readers add file:line:column to the message.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace fusedrnn::data {

std::string_view trim(std::string_view s);  // strips spaces and tabs at both ends

// Parses a whole field as a number ("12", "-3.5", "+70.9", "1e3"; surrounding spaces allowed).
// "nan"/"inf" parse (as non-finite values): callers decide what non-finite input means.
bool parse_number(std::string_view s, double& out);
// Parses a whole field as a decimal integer (surrounding spaces and a sign allowed).
bool parse_int(std::string_view s, long long& out);

// Splits one CSV record into fields, RFC 4180 style: fields may be quoted with '"', a quote inside a
// quoted field is doubled (""). Quotes are removed. Returns false, with the reason in `why`, for an
// unterminated quote (kUnterminatedQuote: the record may go on on the next line, which a reader joins with
// "\n" and splits again) or text after a closing quote.
bool split_csv(std::string_view line, char delimiter, std::vector<std::string>& fields, std::string& why);
inline constexpr const char* kUnterminatedQuote = "unterminated quoted field";

// One field written so that split_csv reads it back as `s`: quoted (with quotes doubled) when it holds the
// delimiter or a quote, as it is otherwise. Names taken from a file's header ("temp, C") stay one column.
std::string csv_field(std::string_view s, char delimiter = ',');

// 16-point compass name ("N", "NNE", ..., "NNW"; case-insensitive) to degrees from north
// (NNE = 22.5, ..., NNW = 337.5, N = 360 as ISD writes north, its 0 being calm). Returns false for anything else.
bool parse_compass(std::string_view s, double& degrees);

// Text taken from a file, made fit for an error message: control bytes (NUL, CR, ESC, ...) and bytes that are not
// valid UTF-8 are written as \xNN, characters that show as nothing or as a plain space (a byte-order mark, a no-break
// or zero-width space, a direction mark, C1 controls) as \uXXXX, and text longer than `max_bytes` is cut with its
// length noted. Messages go to terminals, logs and JSON, and a reader's input may be any bytes — a NUL would silently
// end what(), an invalid byte would break a JSON writer, a 2 MB "field" would bury the message.
std::string printable(std::string_view s, size_t max_bytes = 80);

// Whether `s` is well-formed UTF-8 (RFC 3629). Names a reader takes from files (station ids from file names, variables
// from headers) go into checkpoints and reports, which are JSON and hold only UTF-8: a Latin-1 "T\xb0C" is refused as
// it is read, not when the first checkpoint is written.
bool is_utf8(std::string_view s);

// "a, b, c" (for messages listing available names), each name through printable(); at most
// `max_names` names and about 1,500 bytes, then "... (N in all)".
std::string join_names(const std::vector<std::string>& names, size_t max_names = 64);
// Names as a list flag takes them back (tools/cli_checks.h): comma-separated, a name holding a comma or a quote in
// double quotes ("TMP,\"DEW, C\",SLP"), so the list reads one way.
std::string csv_list(const std::vector<std::string>& names);
// csv_list of the names through printable(), for messages: a no-break space ending a header's "TMP" shows (QA).
std::string shown_csv_list(const std::vector<std::string>& names);

// A number for a message, as a person would type it: the fewest digits that read back to it, as a float when it is
// one (a float flag stored as a double, 0.1f, shows as 0.1, not 0.10000000149011612), else as a double (so that two
// different values never print alike).
std::string shortest_text(double v);

// A figure for a report with `decimals` places ("2.4114"), or, from a million up (a diverged loss, its perplexity),
// in four significant digits with an exponent ("5.925e+28") rather than thirty digits of a fixed-point number.
std::string figure(double v, int decimals);

// "1 file", "3 files": a count with its noun in the number it takes.
std::string counted(size_t n, std::string_view one, std::string_view many);

}  // namespace fusedrnn::data
