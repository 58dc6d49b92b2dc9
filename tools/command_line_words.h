// The words of a command line that CLI11 would misread or answer vaguely: an unknown command ("fusedrnn trian"), a
// mistyped flag ("--epoch"), a flag taken as the value of the flag before it ("--data --epochs 3"), a value that is
// not of its flag's type. Each is named, with the nearest right word where there is one.
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace fusedrnn::tools {

// False, after printing which word is no command and the commands there are, when the command words of `args` (the
// words after the program, or after `parent`) name no command of `app`.
bool known_command_words(const CLI::App& app, const std::vector<std::string>& args, const std::string& parent);

// The flags of the command being run nearest a mistyped one ("--epoch" -> "--epochs"), or "" when none is near.
// `app` is the top level; its commands on the command line (parsed) are walked.
std::string nearest_flag(const CLI::App* app, const std::string& typed);

// " (--epoch: did you mean --epochs?)" for each word of `words` that is a mistyped flag; `said` follows the word.
std::string near_misses(const CLI::App* app, const std::vector<std::string>& words, const std::string& said);

// Why a flag's value could not be read as its type, for CLI11's "Could not convert".
std::string unconverted_value_reason(const CLI::App* app, const std::string& flag, const std::string& value);

// The error for a flag that takes a value followed by another flag of its command ("--data --epochs 3": CLI11 gives
// the flag the next word whatever it is, so --data would be "--epochs" and "3" "not expected"), or for a value that
// is a number too close to zero for a double ("--clip 1e-400", read as 0), or "" when there is none. `args` are the
// words after the program, before parsing.
std::string misread_flag_value(const CLI::App& app, const std::vector<std::string>& args);

}  // namespace fusedrnn::tools
