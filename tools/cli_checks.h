// Validators for numeric flags whose messages say what is wanted. CLI11's PositiveNumber and NonNegativeNumber
// say "Value 0 not in range 0.000000 to 179769313486231570814527..." (a 309-digit number), also for "abc".
#pragma once

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "fusedrnn/core/error.h"
#include "fusedrnn/core/rnn_spec.h"
#include "fusedrnn/models/optimizer.h"

namespace fusedrnn::tools {

namespace detail {

// The flag's value as a number, or an explanation of why it is not one.
inline std::string read_number(const std::string& text, double& value) {
    const char* begin = text.c_str();
    char* end = nullptr;
    errno = 0;
    value = std::strtod(begin, &end);
    if (text.empty() || end == begin || *end != '\0') return "'" + text + "' is not a number";
    // strtod says ERANGE for a number below 2.2e-308 too, which it holds (subnormal, QA: --temperature 1e-308) or
    // takes for 0: only the latter is refused, as what was typed is not 0.
    if (errno == ERANGE && value == 0) return "'" + text + "' is too close to zero for a double";
    if ((errno == ERANGE && std::fabs(value) == HUGE_VAL) || !std::isfinite(value))
        return "'" + text + "' is out of range";
    return {};
}

}  // namespace detail

inline const CLI::Validator kPositive(
    [](std::string& text) {
        double v = 0;
        std::string why = detail::read_number(text, v);
        if (why.empty() && !(v > 0)) why = "must be positive, got " + text;
        return why;
    },
    "> 0");

// A number in [lo, hi] (or [lo, hi) with `hi_open`), said in those words (CLI11's Range prints "0.000000 to
// 1.000000" and lets NaN through).
inline CLI::Validator in_range(double lo, double hi, bool hi_open = false) {
    return CLI::Validator(
        [lo, hi, hi_open](std::string& text) {
            double v = 0;
            std::string why = detail::read_number(text, v);
            if (why.empty() && !(v >= lo && (hi_open ? v < hi : v <= hi)))
                why = fmt::format("must be in [{:g}, {:g}{}, got {}", lo, hi, hi_open ? ")" : "]", text);
            return why;
        },
        fmt::format("[{:g}, {:g}{}", lo, hi, hi_open ? ")" : "]"));
}

// A validator from a library check that throws Error for a bad value: its message, as the command line shows them.
template <class Check>
CLI::Validator library_check(Check check) {
    return CLI::Validator(
        [check](std::string& text) {
            try {
                check(text);
                return std::string();
            } catch (const Error& e) {
                return message_for_user(e.what());
            }
        },
        "");
}

// A recurrent cell's name (core/rnn_spec.h: parse_cell, with its aliases), checked as the flags are read.
inline const CLI::Validator kCellName = library_check([](const std::string& name) { (void)parse_cell(name); });

// An optimizer's name (models/optimizer.h), checked as the flags are read.
inline const CLI::Validator kOptimizerName = library_check([](const std::string& name) {
    OptimizerConfig c;
    c.name = name;
    check_optimizer_config(c);
});

inline const CLI::Validator kNonNegative(
    [](std::string& text) {
        double v = 0;
        std::string why = detail::read_number(text, v);
        if (why.empty() && !(v >= 0)) why = "must be 0 or more, got " + text;
        return why;
    },
    ">= 0");

// A share in (0, 1] (nucleus sampling's p): 0 would keep no token, and CLI11's Range would allow it.
inline const CLI::Validator kShareAboveZero(
    [](std::string& text) {
        double v = 0;
        std::string why = detail::read_number(text, v);
        if (why.empty() && !(v > 0 && v <= 1)) why = "must be in (0, 1], got " + text;
        return why;
    },
    "(0, 1]");

namespace detail {
// A number a float holds (1e39 would become inf on the way in), positive or, with `zero_too`, 0 or more.
inline CLI::Validator float_value(bool zero_too) {
    return CLI::Validator(
        [zero_too](std::string& text) {
            double v = 0;
            std::string why = read_number(text, v);
            if (why.empty() && !(zero_too ? v >= 0 : v > 0))
                why = (zero_too ? "must be 0 or more, got " : "must be positive, got ") + text;
            if (why.empty() && v > double(std::numeric_limits<float>::max()))
                why = "'" + text + "' is beyond a float's range";
            if (why.empty() && v > 0 && float(v) == 0.0f)  // --lr 1e-50 would train with 0
                why = "'" + text + "' is too close to zero for a float";
            return why;
        },
        zero_too ? ">= 0" : "> 0");
}
}  // namespace detail

// An output folder's name as the messages join it to file names: without the separators at its end ("runs/x/" is
// "runs/x"; QA: "wrote 1 station file to sy1//", "saved lmx//last.safetensors"). The root stays "/".
inline const CLI::Validator kFolderName(
    [](std::string& text) {
        while (text.size() > 1 && text.back() == '/') text.pop_back();
        return std::string();
    },
    "");

// A positive value a float holds (a learning rate).
inline const CLI::Validator kPositiveFloat = detail::float_value(false);
// A value >= 0 a float holds (a weight decay).
inline const CLI::Validator kNonNegativeFloat = detail::float_value(true);

// A seed: a whole number that fits 64 bits (CLI11 would clamp 99999999999999999999 to 2^64 - 1 without a word).
inline const CLI::Validator kSeed(
    [](std::string& text) {
        const char* begin = text.c_str();
        char* end = nullptr;
        errno = 0;
        (void)std::strtoull(begin, &end, 10);
        if (text.empty() || end == begin || *end != '\0' || text[0] == '-' || text[0] == '+')
            return "'" + text + "' is not a whole number >= 0";
        if (errno == ERANGE) return "'" + text + "' does not fit 64 bits (at most 18446744073709551615)";
        return std::string();
    },
    "0 .. 2^64-1");

// For list flags (comma-separated names): "TMP, DEW" means TMP and DEW, not " DEW". Only the ends are trimmed —
// column names may hold spaces inside ("T (degC)").
inline const CLI::Validator kTrimmed(
    [](std::string& text) {
        const size_t first = text.find_first_not_of(" \t"), last = text.find_last_not_of(" \t");
        text = first == std::string::npos ? std::string() : text.substr(first, last - first + 1);
        return std::string();
    },
    "");

// Splits a list flag's word at commas outside double quotes, dropping the quotes ("" inside them is one quote):
// '"temp, C",RH' and '"temp, C"=-60:60' name a column holding a comma. Each item is trimmed at its ends, but what
// stands inside quotes is kept as written: '" A "' is a station id with a space at each end. Returns false, with
// `why`, for a quote left open.
inline bool split_list_word(const std::string& word, std::vector<std::string>& items, std::string& why) {
    std::string item;
    std::vector<bool> kept;  // per character of `item`: from inside quotes (not trimmed)
    const auto finish = [&] {
        size_t first = 0, last = item.size();
        while (first < last && !kept[first] && (item[first] == ' ' || item[first] == '\t')) ++first;
        while (last > first && !kept[last - 1] && (item[last - 1] == ' ' || item[last - 1] == '\t')) --last;
        items.push_back(item.substr(first, last - first));
        item.clear();
        kept.clear();
    };
    bool quoted = false;
    for (size_t i = 0; i < word.size(); ++i) {
        const char c = word[i];
        if (c == '"') {
            if (quoted && i + 1 < word.size() && word[i + 1] == '"') {
                item += '"';
                kept.push_back(true);
                ++i;
            } else {
                quoted = !quoted;
            }
        } else if (c == ',' && !quoted) {
            finish();
        } else {
            item += c;
            kept.push_back(quoted);
        }
    }
    if (quoted) {
        why = "a double quote is not closed in '" + word + "'";
        return false;
    }
    finish();
    return true;
}

// A list flag of names (--targets, --csv-columns, --csv-time, --valid-range), comma-separated or as separate words,
// split by split_list_word (CLI11's delimiter(',') splits inside quotes too, so a column named "temp, C" could not
// be named at all). `check`, when given, validates each item.
inline CLI::Option* add_list_option(CLI::App* cmd, const std::string& name, std::vector<std::string>& target,
                                    const std::string& help, const CLI::Validator* check = nullptr) {
    return cmd->add_option_function<std::vector<std::string>>(
        name,
        [name, &target, check](const std::vector<std::string>& words) {
            std::vector<std::string> items;
            std::string why;
            for (const std::string& word : words)
                if (!split_list_word(word, items, why)) throw CLI::ValidationError(name, why);
            if (check)
                for (std::string& item : items)
                    if (const std::string error = (*check)(item); !error.empty())
                        throw CLI::ValidationError(name, error);
            target = items;
        },
        help);
}

}  // namespace fusedrnn::tools
