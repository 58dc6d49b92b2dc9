// fusedrnn (internal, not installed) — JSON parse errors fit for a person: where the text broke and why, with the
// bytes around that place made printable.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace fusedrnn::detail {

// "at byte N (<reason>; near '<excerpt>')" for a failed nlohmann::json::parse(text): N counts from `first_byte` (where
// `text` starts in its file, so that the number matches a hex dump of the file), the excerpt is a few dozen bytes up
// to and just past the error through data::printable(). nlohmann's own message quotes everything read since the
// broken token began, raw: for a damaged string in a checkpoint's metadata that is a kilobyte, invalid bytes included.
// An exception other than a parse error is described by its message alone, made printable and bounded.
std::string json_parse_problem(const nlohmann::json::exception& e, std::string_view text, uint64_t first_byte = 0);

// What a failed read of a parsed document (json.at("x"), get<double>()) says, in words: "its field 'train_loss' is
// missing", "a value is a string where a number belongs"; another message without nlohmann's "[json.exception...]"
// prefix. The library names no path to the field (that needs JSON_DIAGNOSTICS): the caller says which block it read.
std::string json_access_problem(const nlohmann::json::exception& e);

// The bytes of `text` shown around byte `at` (a few dozen up to it, a few past it), through data::printable().
std::string excerpt_around(std::string_view text, size_t at);

}  // namespace fusedrnn::detail
