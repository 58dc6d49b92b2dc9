// `fusedrnn generate` and `fusedrnn perplexity`: using a checkpoint written by `fusedrnn lm-train`.
// generate --interactive reads prompts line by line from stdin (a terminal or a pipe) until EOF and
// answers each on stdout; a bad prompt (unknown words, wrong length) is reported on stderr with its line
// number and the session goes on. Piped input learns of failures by the exit status (run_interactive).
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <unistd.h>

#include <fmt/format.h>

#include "fusedrnn/core/backend.h"
#include "fusedrnn/core/data/text.h"
#include "fusedrnn/core/text/sampling.h"
#include "fusedrnn/core/text/text_file.h"
#include "fusedrnn/core/text/utf8.h"
#include "fusedrnn/core/text/word_split.h"
#include "fusedrnn/models/lm_corpus.h"
#include "fusedrnn/models/lm_eval.h"
#include "fusedrnn/models/lm_generate.h"
#include "fusedrnn/tools/cli_checks.h"
#include "fusedrnn/tools/lm_commands.h"

namespace fusedrnn::tools {
namespace {

struct GenerateFlags {
    std::string checkpoint, prompt, backend = "auto";
    bool has_prompt = false, interactive = false, greedy = false;
    int count = 10;
    double temperature = 1.0;
    std::optional<int> top_k;
    std::optional<double> top_p;
    uint64_t seed = 0;
    std::vector<std::string> sampling_flags_given;  // --temperature, --top-k, --top-p, --seed as typed

};

// An answer of --interactive kept to one line: a character model's newlines (and carriage returns) written as \n
// (\r), and a backslash as \\, so a script reading the answers line by line gets one per prompt.
std::string one_line(const std::string& text) {
    std::string out;
    for (const char c : text) {
        if (c == '\n') out += "\\n";
        else if (c == '\r') out += "\\r";
        else if (c == '\\') out += "\\\\";
        else out += c;
    }
    return out;
}

// Standard output failed (a full disk, a closed pipe's EIO): the end of the command, even in --interactive, which
// goes on after a prompt's own error. Generating on would only compute text nobody receives.
class OutputFailed : public Error {
public:
    using Error::Error;
};

// Prints the prompt and its continuation as the tokens are drawn (flushed a few times a second and at the end), so
// a pipe or a terminal sees the text grow and Ctrl-C keeps what was printed; memory stays flat for any --count.
// `escaped`: on one line (one_line).
void print_continuation(LanguageModel& lm, LmGenerator& gen, const std::string& prompt, int count,
                        text::Sampler& sampler, bool escaped) {
    const std::vector<int32_t> ids = gen.encode_prompt(prompt);
    text::StreamDecoder decoder(lm.tokenizer);
    std::string pending;
    const auto add = [&](const std::string& piece) { pending += escaped ? one_line(piece) : piece; };
    for (int32_t id : ids) add(decoder.next(id));
    using Clock = std::chrono::steady_clock;
    auto last_flush = Clock::now();
    const auto flush = [&] {
        errno = 0;
        if (std::fwrite(pending.data(), 1, pending.size(), stdout) != pending.size() || std::fflush(stdout) != 0)
            throw OutputFailed(fmt::format("writing to standard output failed: {}",
                                           std::strerror(errno != 0 ? errno : EIO)));
        pending.clear();
        last_flush = Clock::now();
    };
    flush();
    try {
        gen.generate_ids(ids, count, sampler, [&](int32_t id) {
            add(decoder.next(id));
            if (pending.size() >= 1 << 16 || Clock::now() - last_flush >= std::chrono::milliseconds(100)) flush();
            return true;
        });
    } catch (const OutputFailed&) {
        throw;
    } catch (const Error&) {
        pending += "\n";  // end the half-written line, so the error and the next answer start on their own
        flush();
        throw;
    }
    pending += "\n";
    flush();
}

// A line of nothing but white space (any Unicode space: a pasted U+00A0 or a form feed too) is no prompt: skipped
// without a word, as a shell skips an empty command line. Invalid UTF-8 is not blank; encode_prompt names the byte.
bool blank_line(const std::string& line) {
    if (line.find_first_not_of(" \t") == std::string::npos) return true;
    if (text::find_utf8_problem(line)) return false;
    for (const char32_t c : text::decode_utf8(line, "stdin"))
        if (!text::is_space(c)) return false;
    return true;
}

std::string line_list(const std::vector<size_t>& lines) {
    std::string s;
    const size_t show = std::min<size_t>(lines.size(), 20);
    for (size_t i = 0; i < show; ++i) s += fmt::format("{}{}", i ? ", " : "", lines[i]);
    if (lines.size() > show) s += fmt::format(" and {} more", lines.size() - show);
    return s;
}

// --interactive: a REPL must not die on a typo, so a prompt that fails is reported on stderr as
// "error: stdin line N: ..." (stdout keeps only the answers) and the next line is read. At a terminal that is all;
// from a pipe or file a script cannot watch, so the session ends with exit status 2 when any prompt failed.
void run_interactive(LanguageModel& lm, LmGenerator& gen, const GenerateFlags& f, text::Sampler& sampler) {
    const bool tty = ::isatty(fileno(stdin)) != 0;
    if (tty) {
        const std::string need = lm.settings.mode == LmMode::Window
                                     ? fmt::format("{} {}", lm.settings.context, lm.unit_name(lm.settings.context != 1))
                                     : "some text";
        fmt::print(stderr, "Type {} and press Enter for the next {} {}; Ctrl-D ends.\n", need, f.count,
                   lm.unit_name(f.count != 1));
    }
    // One sampler for the whole session: a seed and the same lines reproduce the same answers.
    std::string line;
    size_t line_no = 0, prompts = 0;
    std::vector<size_t> failed;
    gen.on_warning = [&line_no](const std::string& m) {
        std::fflush(stdout);  // the answers before it come first where both streams go to one place
        fmt::print(stderr, "warning: stdin line {}: {}\n", line_no, m);
    };
    for (;;) {
        if (tty) { std::fputs("> ", stderr); std::fflush(stderr); }
        if (!std::getline(std::cin, line)) break;
        ++line_no;
        if (!line.empty() && line.back() == '\r') line.pop_back();  // prompts piped from Windows files
        // A byte-order mark opens a file saved by Notepad: dropped, as lm-train drops the training text's.
        if (line_no == 1 && line.compare(0, 3, "\xEF\xBB\xBF") == 0) line.erase(0, 3);
        if (blank_line(line)) continue;
        ++prompts;
        try {
            print_continuation(lm, gen, line, f.count, sampler, /*escaped=*/true);
        } catch (const OutputFailed&) {
            throw;
        } catch (const Error& e) {
            std::fflush(stdout);  // the answers before it come first where both streams go to one place
            fmt::print(stderr, "error: stdin line {}: {}\n", line_no, message_for_user(e.what()));
            std::fflush(stderr);
            failed.push_back(line_no);
        }
    }
    if (tty) std::fputs("\n", stderr);  // Ctrl-D leaves the cursor after "> ": the shell's prompt gets a line of its own
    FR_CHECK(!std::cin.bad() && !std::ferror(stdin), "--interactive: reading the prompts from stdin failed after line {}",
             line_no);
    if (!tty && !failed.empty())
        FR_FAIL("--interactive: {} of {} prompt{} failed (stdin line{} {}; the errors are above){}",
                failed.size(), prompts, prompts == 1 ? "" : "s", failed.size() == 1 ? "" : "s", line_list(failed),
                prompts == failed.size() ? std::string()
                : fmt::format("; the other {} {} answered", prompts - failed.size(),
                              prompts - failed.size() == 1 ? "was" : "were"));
}

void run_generate(const GenerateFlags& f) {
    FR_CHECK(f.has_prompt || f.interactive, "generate: give --prompt TEXT, or --interactive to read prompts from stdin");
    FR_CHECK(f.count >= 0, "--count must be >= 0, got {}", f.count);
    if (f.greedy && !f.sampling_flags_given.empty())
        fmt::print(stderr, "warning: --greedy takes the most likely token every time: {} {} nothing\n",
                   fmt::join(f.sampling_flags_given, ", "), f.sampling_flags_given.size() == 1 ? "does" : "do");
    text::SamplingOptions so;
    so.greedy = f.greedy;
    so.temperature = f.temperature;
    so.top_k = f.top_k;
    so.top_p = f.top_p;
    text::Sampler sampler(so, f.seed);  // validates the options before the checkpoint is read
    LanguageModel lm = load_language_model(f.checkpoint, make_backend(f.backend));
    LmGenerator gen(lm);
    gen.on_warning = [](const std::string& m) { fmt::print(stderr, "warning: {}\n", m); };
    // Line ends as the training text had them (lm-train reads CRLF as LF; --interactive drops a line's CR).
    // A byte-order mark in front (a prompt pasted from a file saved by Notepad) is dropped, as lm-train drops the text's.
    if (f.has_prompt) {
        const std::string prompt = text::crlf_to_lf(f.prompt);
        print_continuation(lm, gen, prompt.compare(0, 3, "\xEF\xBB\xBF") == 0 ? prompt.substr(3) : prompt, f.count,
                           sampler, /*escaped=*/false);
    }
    if (!f.interactive) return;

    run_interactive(lm, gen, f, sampler);
}

struct PerplexityFlags {
    std::string checkpoint, text, backend = "auto";
    int batch = 256, streams = 1;
    bool batch_given = false, streams_given = false;
};

void run_perplexity(const PerplexityFlags& f) {
    LanguageModel lm = load_language_model(f.checkpoint, make_backend(f.backend));
    const bool window_model = lm.settings.mode == LmMode::Window;
    if (window_model && f.streams_given)
        fmt::print(stderr,
                   "warning: --streams does nothing with a window-mode model (it is for stream-mode models)\n");
    if (!window_model && f.batch_given)
        fmt::print(stderr, "warning: --batch does nothing with a stream-mode model (it is for window-mode models)\n");
    const EncodedText enc = encode_text_file(f.text, lm.tokenizer);
    const bool window = lm.settings.mode == LmMode::Window;
    // Too short a text is named here, with the file and the model's needs, rather than by the window or stream
    // layout deep inside the evaluation ("the text has 3 tokens ...").
    const size_t need = window ? size_t(lm.settings.context) + 1 : 2 * size_t(f.streams);
    FR_CHECK(enc.tokens.size() >= need, "{} has {} {}: too few to score with this model, {}", f.text,
             enc.tokens.size(), lm.unit_name(enc.tokens.size() != 1),
             window ? fmt::format("which predicts each {} from the {} before it: give at least {}", lm.unit_name(false),
                                  lm.settings.context, need)
                    : fmt::format("read as {} stream{} of at least 2 {}: give at least {}{}", f.streams,
                                  f.streams == 1 ? "" : "s", lm.unit_name(true), need,
                                  f.streams > 1 ? ", or fewer --streams" : ""));
    const LmEval e = [&] {
        try {
            return evaluate_language_model(lm, enc.tokens, f.batch, f.streams);
        } catch (const OutOfHostMemory& ex) {  // the batch of windows, or of streams, the flags set
            FR_FAIL("scoring {} with {}: {}. Use a smaller {}, or a machine with more memory", f.text,
                    window ? fmt::format("batches of {} windows", f.batch) : fmt::format("{} streams", f.streams),
                    ex.what(), window ? "--batch" : "--streams");
        }
    }();
    // "all in the model's vocabulary", not "(0 = 0.0% not in ...)" (QA).
    fmt::print("{}: {} {} ({})\n", f.text, enc.tokens.size(), lm.unit_name(enc.tokens.size() != 1),
               enc.unknown == 0
                   ? std::string("all in the model's vocabulary")
                   : fmt::format("{} = {:.1f}% not in the model's vocabulary, scored as <unk>: {}", enc.unknown,
                                 100.0 * double(enc.unknown) / double(enc.tokens.size()), lm.unk_scoring_effect()));
    // As generate says of a prompt: words with a combining mark are decomposed text, unknown to a vocabulary read
    // from precomposed text, though they look the same.
    // And the other way round: a model trained on decomposed text does not know the precomposed spelling.
    const auto& vocab = lm.tokenizer.vocab().tokens();
    const bool decomposed_vocab = enc.unknown_non_ascii > enc.unknown_decomposed &&
                                  std::any_of(vocab.begin(), vocab.end(), [](const std::string& t) {
                                      return text::has_combining_mark(t);
                                  });
    if (decomposed_vocab)
        fmt::print(stderr, "warning: the model's vocabulary holds decomposed words (NFD: with combining marks, "
                   "U+0300...): where this text spells them precomposed (NFC) they are unknown to it, though they "
                   "look the same; normalize the text to NFD, as its training text was\n");
    if (enc.unknown_decomposed > 0)
        fmt::print(stderr, "warning: {} of the {} {} not in the vocabulary {} a combining mark (U+0300...): the text "
                   "is decomposed (NFD); normalize it to NFC (precomposed characters), as most text is\n",
                   enc.unknown_decomposed, enc.unknown, lm.unit_name(enc.unknown != 1),
                   enc.unknown_decomposed == 1 ? "holds" : "hold");
    fmt::print("mode {}: {} prediction{}, {}\n", to_string(lm.settings.mode), e.predictions,
               e.predictions == 1 ? "" : "s",
               window ? fmt::format("each from the {} before it",
                                    data::counted(size_t(lm.settings.context), "token", "tokens"))
                      : fmt::format("{} read in chunks of {} with the state carried",
                                    f.streams == 1 ? std::string("1 stream") : fmt::format("{} streams", f.streams),
                                    lm.settings.bptt));
    // The <unk> share again beside the perplexity it moves, so a script reading this one line has both.
    fmt::print("loss {:.4f} nats/token ({:.4f} bits), perplexity {:.3f}, accuracy {:.2f}%, oov {:.2f}%\n", e.loss,
               e.loss / std::log(2.0), e.perplexity(), 100 * e.accuracy,
               enc.tokens.empty() ? 0.0 : 100.0 * double(enc.unknown) / double(enc.tokens.size()));
}

}  // namespace

void register_generate(CLI::App& app) {
    auto* cmd = app.add_subcommand("generate", "Continue a prompt with a language model checkpoint");
    auto f = std::make_shared<GenerateFlags>();
    cmd->add_option("--checkpoint", f->checkpoint, "Checkpoint written by lm-train")->required();
    cmd->add_option("--prompt", f->prompt, "Text to continue (window mode: exactly --context tokens)");
    cmd->add_option("--count", f->count, "Tokens to generate")->capture_default_str();
    cmd->add_flag("--greedy", f->greedy, "Always take the most likely token");
    // Temperature 0 would be greedy decoding, which has its own flag: the message says so.
    const CLI::Validator temperature_check(
        [](std::string& text) {
            std::string why = kPositive(text);
            if (why.rfind("must be positive", 0) == 0) why += " (for the most likely token every time: --greedy)";
            return why;
        },
        "> 0");
    cmd->add_option("--temperature", f->temperature, "< 1 sharper, > 1 more varied")
        ->capture_default_str()
        ->check(temperature_check);
    cmd->add_option("--top-k", f->top_k, "Sample only among the k most likely tokens")->check(kPositive);
    cmd->add_option("--top-p", f->top_p,
                    "Nucleus sampling: only among the most likely tokens that together hold probability p (after "
                    "--temperature and --top-k)")
        ->check(kShareAboveZero);
    cmd->add_option("--seed", f->seed, "Sampling seed (same seed, same text)")->capture_default_str()->check(kSeed);
    cmd->add_flag("--interactive", f->interactive, "Read prompts line by line from stdin until EOF");
    cmd->add_option("--backend", f->backend, "auto, cpu, cuda, cudnn")->capture_default_str();
    cmd->callback([f, cmd] {
        f->has_prompt = cmd->count("--prompt") > 0;
        for (const char* flag : {"--temperature", "--top-k", "--top-p", "--seed"})
            if (cmd->count(flag) > 0) f->sampling_flags_given.emplace_back(flag);
        run_generate(*f);
    });
}

void register_perplexity(CLI::App& app) {
    auto* cmd = app.add_subcommand("perplexity", "Loss, perplexity and accuracy of a language model on a text file");
    auto f = std::make_shared<PerplexityFlags>();
    cmd->add_option("--checkpoint", f->checkpoint, "Checkpoint written by lm-train")->required();
    cmd->add_option("--text", f->text, "UTF-8 text file to score")->required();
    cmd->add_option("--batch", f->batch, "window mode: windows per batch")->capture_default_str()
        ->check(kPositive);
    cmd->add_option("--streams", f->streams, "stream mode: parallel streams (1 = the text as one sequence; more is "
                    "faster, each starting from a zero state)")->capture_default_str()->check(kPositive);
    cmd->add_option("--backend", f->backend, "auto, cpu, cuda, cudnn")->capture_default_str();
    cmd->callback([f, cmd] {
        f->batch_given = cmd->count("--batch") > 0;
        f->streams_given = cmd->count("--streams") > 0;
        run_perplexity(*f);
    });
}

}  // namespace fusedrnn::tools
