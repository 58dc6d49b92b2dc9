// The command-line words CLI11 would misread or answer vaguely (command_line_words.h).
#include "fusedrnn/tools/command_line_words.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstdio>
#include <regex>
#include <utility>

#include <fmt/format.h>

namespace fusedrnn::tools {

namespace {

size_t edit_distance(const std::string& a, const std::string& b) {
    std::vector<size_t> row(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (size_t i = 1; i <= a.size(); ++i) {
        size_t diagonal = row[0];
        row[0] = i;
        for (size_t j = 1; j <= b.size(); ++j) {
            const size_t above = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
            diagonal = above;
        }
    }
    return row[b.size()];
}

// The option a word names ("--data", "-o", "--epochs=3"), in the command that `chain` ends with or a command above it.
const CLI::Option* option_named(const std::vector<const CLI::App*>& chain, const std::string& word) {
    if (word.size() < 2 || word[0] != '-' || std::isdigit(static_cast<unsigned char>(word[1])) || word[1] == '.')
        return nullptr;
    const std::string name = word.substr(0, word.find('='));
    for (auto a = chain.rbegin(); a != chain.rend(); ++a)
        if (const CLI::Option* o = (*a)->get_option_no_throw(name)) return o;
    return nullptr;
}

}  // namespace

std::string misread_flag_value(const CLI::App& app, const std::vector<std::string>& args) {
    std::vector<const CLI::App*> chain{&app};
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& word = args[i];
        if (word == "--") break;  // what follows is positional
        if (word.empty() || word[0] != '-') {
            // A command word, while the words so far were commands; any other word is a value.
            if (i + 1 == chain.size()) {
                const auto subs =
                    chain.back()->get_subcommands([&](const CLI::App* s) { return s->get_name() == word; });
                if (!subs.empty()) chain.push_back(subs.front());
            }
            continue;
        }
        const CLI::Option* takes = option_named(chain, word);
        if (takes == nullptr || takes->get_items_expected_min() < 1) continue;
        const size_t eq = word.find('=');
        if (eq == std::string::npos && i + 1 == args.size()) continue;
        const std::string name = word.substr(0, eq);
        const std::string value = eq == std::string::npos ? args[i + 1] : word.substr(eq + 1);
        // A number that a double cannot hold apart from 0 ("1e-400"): strtod, and so CLI11, reads it as 0, and a flag
        // without a range check took it so (QA's recheck: --clip 1e-400 trained with clipping off).
        errno = 0;
        char* end = nullptr;
        const double v = std::strtod(value.c_str(), &end);
        if (!value.empty() && end != nullptr && *end == '\0' && errno == ERANGE && v == 0)
            return fmt::format("{}: '{}' is too close to zero for a double", name, value);
        if (eq != std::string::npos) continue;
        const std::string& next = args[i + 1];
        if (option_named(chain, next) == nullptr) continue;
        return fmt::format("{0} was given no value: the word after it, {1}, is a flag ({0} VALUE {1} ...; for the "
                           "value \"{1}\" itself: {0}={1})",
                           word, next.substr(0, next.find('=')));
    }
    return {};
}

// CLI11 answers an unknown command word ("fusedrnn trian") with "A subcommand is required": name the word, the
// nearest command and the list instead. `args` are the words after the program (and after the parent command).
bool known_command_words(const CLI::App& app, const std::vector<std::string>& args, const std::string& parent) {
    if (args.empty() || args[0].empty() || args[0][0] == '-') return true;
    std::vector<std::string> names;
    for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
        if (sub->get_name() == args[0])
            return known_command_words(*sub, std::vector<std::string>(args.begin() + 1, args.end()),
                                       parent + " " + args[0]);
        names.push_back(sub->get_name());
    }
    if (names.empty()) return true;  // a command without subcommands: its words are its own to judge
    std::string nearest;
    size_t best = 3;  // suggest only a near miss
    for (const auto& n : names)
        if (const size_t d = edit_distance(args[0], n); d < best) best = d, nearest = n;
    std::string list;
    for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
    std::fprintf(stderr, "fusedrnn: error: unknown command '%s%s'%s; the commands are: %s (%s --help)\n",
                 (parent.empty() ? "" : parent.substr(1) + " ").c_str(), args[0].c_str(),
                 nearest.empty() ? "" : (" (did you mean '" + nearest + "'?)").c_str(), list.c_str(),
                 ("fusedrnn" + parent).c_str());
    return false;
}

// The flags of the command being run nearest a mistyped one ("--epoch" -> "--epochs"; "--top-P" -> "--top-p or
// --top-k"... the equally near, in the order listed), or "" when none is a near miss: within 2 edits, or 3 for a flag
// of over 12 letters, letters of either case and underscores read as hyphens. The names PyTorch scripts and the course
// use for the same settings ("--batch_size", "--learning-rate") lead to ours. --help and -h are never offered (every
// one-letter word is one edit from -h). `app` is the top level; its commands on the command line are walked.
std::string nearest_flag(const CLI::App* app, const std::string& typed) {
    std::string word = typed.substr(0, typed.find('='));  // "--epoch=3"
    std::replace(word.begin(), word.end(), '_', '-');
    std::transform(word.begin(), word.end(), word.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    static const std::vector<std::pair<std::string, std::string>> kOtherNames = {
        {"--batch-size", "--batch"},       {"--learning-rate", "--lr"},       {"--hidden-size", "--hidden"},
        {"--hidden-dim", "--hidden"},      {"--num-layers", "--layers"},      {"--seq-len", "--input-len"},
        {"--input-length", "--input-len"}, {"--lookback", "--input-len"},     {"--pred-len", "--horizon"},
        {"--output-len", "--horizon"},     {"--num-epochs", "--epochs"},      {"--max-epochs", "--epochs"},
        {"--device", "--backend"},         {"--model", "--cell"},             {"--model", "--checkpoint"},
        {"--ckpt", "--checkpoint"},        {"--checkpoint-path", "--checkpoint"}, {"--output", "--out"},
        {"--output-dir", "--out"},         {"--outdir", "--out"},             {"--out-dir", "--out"},
        {"--save-dir", "--out"},           {"--checkpoint-dir", "--out"},     {"--early-stopping", "--patience"},
        {"--grad-clip", "--clip"},         {"--clip-grad-norm", "--clip"},    {"--optim", "--optimizer"},
        {"--steps", "--steps-per-epoch"},  {"--csv-valid-range", "--valid-range"}, {"--out-len", "--horizon"},
        {"--hidden-layers", "--layers"},   {"--data-format", "--format"},    {"--data-split", "--split"}};
    std::vector<std::string> names;
    std::vector<const CLI::App*> todo{app};
    while (!todo.empty()) {
        const CLI::App* a = todo.back();
        todo.pop_back();
        for (const CLI::Option* o : a->get_options()) {
            for (const auto& l : o->get_lnames())
                if (l != "help") names.push_back("--" + l);
            for (const auto& n : o->get_snames())
                if (n != "h") names.push_back("-" + n);
        }
        for (const CLI::App* sub : a->get_subcommands()) todo.push_back(sub);  // those on the command line
    }
    for (const auto& [other, ours] : kOtherNames)
        if (word == other && std::find(names.begin(), names.end(), ours) != names.end()) return ours;
    // A flag that ends with the word, a word of two parts or more, after a hyphen: the word without its prefix
    // ("--step-minutes" and "--utc-offset" are --csv-step-minutes and --csv-utc-offset; QA's recheck: they were --step
    // and --out-offset). A word of one part ("--epoch") is left to the nearness below (not --steps-per-epoch).
    if (word.size() > 4 && word.find('-', 2) != std::string::npos) {
        std::vector<std::string> ending;
        for (const auto& n : names)
            if (n.size() > word.size() && n.compare(n.size() - word.size() + 2, word.size() - 2, word, 2) == 0 &&
                n[n.size() - word.size() + 1] == '-' && std::find(ending.begin(), ending.end(), n) == ending.end())
                ending.push_back(n);
        if (ending.size() == 1) return ending.front();
    }
    std::vector<std::string> nearest;
    // Under this many edits; "-o" is near every short flag.
    const size_t limit = word.size() > 12 ? 4 : std::min<size_t>(3, word.size() - 1);
    size_t best = limit;
    for (const auto& n : names) {
        const size_t d = edit_distance(word, n);
        if (d >= limit || n == typed) continue;
        if (d < best) best = d, nearest.clear();
        if (d == best && std::find(nearest.begin(), nearest.end(), n) == nearest.end()) nearest.push_back(n);
    }
    // None near: a flag the word begins with, up to a hyphen, the longest ("--csv-time-column" -> "--csv-time",
    // "--data-dir" -> "--data"; QA: no guess for the first).
    if (nearest.empty()) {
        std::string longest;
        for (const auto& n : names)
            if (n.size() > 2 && n.size() > longest.size() && word.size() > n.size() && word.rfind(n, 0) == 0 &&
                word[n.size()] == '-')
                longest = n;
        if (!longest.empty()) nearest.push_back(longest);
    }
    std::string out;
    for (size_t i = 0; i < nearest.size(); ++i)
        out += (i == 0 ? "" : i + 1 == nearest.size() ? " or " : ", ") + nearest[i];
    return out;
}

// " (--epoch: did you mean --epochs?)" for each word of `words` that is a mistyped flag; `said` follows the word. A
// word that reads as a number ("-5", a value of the flag before it) is none.
std::string near_misses(const CLI::App* app, const std::vector<std::string>& words, const std::string& said) {
    std::string out;
    for (const auto& x : words) {
        if (x.size() < 2 || x[0] != '-' || std::isdigit(static_cast<unsigned char>(x[1])) || x[1] == '.') continue;
        if (const std::string near = nearest_flag(app, x); !near.empty())
            out += " (" + x.substr(0, x.find('=')) + said + ": did you mean " + near + "?)";
    }
    return out;
}

// Why a flag's value could not be read as its type, for CLI11's "Could not convert" (the option is looked up in
// the parsed (sub)commands for its type: a whole-number flag says so, or that the number is out of its range).
std::string unconverted_value_reason(const CLI::App* app, const std::string& flag, const std::string& value) {
    std::string type;
    std::vector<const CLI::App*> todo{app};
    while (!todo.empty() && type.empty()) {
        const CLI::App* a = todo.back();
        todo.pop_back();
        if (const CLI::Option* o = a->get_option_no_throw(flag))  // "INT:> 0": the type, then its checks
            type = o->get_type_name().substr(0, o->get_type_name().find(':'));
        for (const CLI::App* sub : a->get_subcommands()) todo.push_back(sub);
    }
    const std::string quoted = "'" + value + "'";
    if (type != "INT" && type != "UINT")
        return quoted + " is not a value it takes" + (type.empty() ? "" : " (" + type + ")");
    static const std::regex digits(R"(^[+-]?[0-9]+$)");
    return quoted + (std::regex_match(value, digits) ? " is out of range" : " is not a whole number");
}

}  // namespace fusedrnn::tools
