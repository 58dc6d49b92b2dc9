// `fusedrnn generate` and `fusedrnn perplexity`: using a checkpoint written by `fusedrnn lm-train`.
// generate --interactive reads prompts line by line from stdin (a terminal or a pipe) until EOF and
// answers each; a bad prompt (unknown words, wrong length) is reported and the session goes on.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <unistd.h>

#include <fmt/format.h>

#include "core/backend.h"
#include "core/text/sampling.h"
#include "models/lm_corpus.h"
#include "models/lm_eval.h"
#include "models/lm_generate.h"
#include "tools/cli_checks.h"
#include "tools/lm_commands.h"

namespace fusedrnn::tools {
namespace {

struct GenerateFlags {
    std::string checkpoint, prompt, backend = "auto";
    bool has_prompt = false, interactive = false, greedy = false;
    int count = 10;
    double temperature = 1.0;
    std::optional<int> top_k;
    uint64_t seed = 0;
};

// Prints the prompt and its continuation as the tokens are drawn (flushed a few times a second and at the end), so
// a pipe or a terminal sees the text grow and Ctrl-C keeps what was printed; memory stays flat for any --count.
void print_continuation(LanguageModel& lm, LmGenerator& gen, const std::string& prompt, int count,
                        text::Sampler& sampler) {
    const std::vector<int32_t> ids = gen.encode_prompt(prompt);
    text::StreamDecoder decoder(lm.tokenizer);
    std::string pending;
    for (int32_t id : ids) pending += decoder.next(id);
    using Clock = std::chrono::steady_clock;
    auto last_flush = Clock::now();
    const auto flush = [&] {
        std::fwrite(pending.data(), 1, pending.size(), stdout);
        std::fflush(stdout);
        pending.clear();
        last_flush = Clock::now();
    };
    flush();
    gen.generate_ids(ids, count, sampler, [&](int32_t id) {
        pending += decoder.next(id);
        if (pending.size() >= 1 << 16 || Clock::now() - last_flush >= std::chrono::milliseconds(100)) flush();
        return true;
    });
    pending += "\n";
    flush();
}

void run_generate(const GenerateFlags& f) {
    FR_CHECK(f.has_prompt || f.interactive, "generate: give --prompt TEXT, or --interactive to read prompts from stdin");
    FR_CHECK(f.count >= 0, "--count must be >= 0, got {}", f.count);
    text::SamplingOptions so;
    so.greedy = f.greedy;
    so.temperature = f.temperature;
    so.top_k = f.top_k;
    text::Sampler sampler(so, f.seed);  // validates the options before the checkpoint is read
    LanguageModel lm = load_language_model(f.checkpoint, make_backend(f.backend));
    LmGenerator gen(lm);
    if (f.has_prompt) print_continuation(lm, gen, f.prompt, f.count, sampler);
    if (!f.interactive) return;

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
    for (;;) {
        if (tty) { std::fputs("> ", stderr); std::fflush(stderr); }
        if (!std::getline(std::cin, line)) break;
        if (!line.empty() && line.back() == '\r') line.pop_back();  // prompts piped from Windows files
        if (line.find_first_not_of(" \t") == std::string::npos) continue;
        try {
            print_continuation(lm, gen, line, f.count, sampler);
        } catch (const Error& e) {
            fmt::print("error: {}\n", e.what());  // on stdout too, so a piped session reads in order
        }
        std::fflush(stdout);
    }
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
        fmt::print("warning: --streams does nothing with a window-mode model (it is for stream-mode models)\n");
    if (!window_model && f.batch_given)
        fmt::print("warning: --batch does nothing with a stream-mode model (it is for window-mode models)\n");
    const EncodedText enc = encode_text_file(f.text, lm.tokenizer);
    const LmEval e = evaluate_language_model(lm, enc.tokens, f.batch, f.streams);
    const bool window = lm.settings.mode == LmMode::Window;
    fmt::print("{}: {} {} ({} = {:.1f}% not in the model's vocabulary, scored as <unk>{})\n", f.text,
               enc.tokens.size(), lm.unit_name(enc.tokens.size() != 1), enc.unknown,
               enc.tokens.empty() ? 0.0 : 100.0 * double(enc.unknown) / double(enc.tokens.size()),
               enc.unknown > 0 ? ": predicting <unk> for one counts as a hit, so the loss and accuracy look better "
                                 "than on a text the model knows every word of"
                               : "");
    fmt::print("mode {}: {} predictions, {}\n", to_string(lm.settings.mode), e.predictions,
               window ? fmt::format("each from the {} tokens before it", lm.settings.context)
                      : fmt::format("{} read in chunks of {} with the state carried",
                                    f.streams == 1 ? std::string("1 stream") : fmt::format("{} streams", f.streams),
                                    lm.settings.bptt));
    fmt::print("loss {:.4f} nats/token ({:.4f} bits), perplexity {:.3f}, accuracy {:.2f}%\n", e.loss,
               e.loss / std::log(2.0), e.perplexity(), 100 * e.accuracy);
}

}  // namespace

void register_generate(CLI::App& app) {
    auto* cmd = app.add_subcommand("generate", "Continue a prompt with a language model checkpoint");
    auto f = std::make_shared<GenerateFlags>();
    cmd->add_option("--checkpoint", f->checkpoint, "Checkpoint written by lm-train")->required();
    cmd->add_option("--prompt", f->prompt, "Text to continue (window mode: exactly --context tokens)");
    cmd->add_option("--count", f->count, "Tokens to generate")->capture_default_str();
    cmd->add_flag("--greedy", f->greedy, "Always take the most likely token");
    cmd->add_option("--temperature", f->temperature, "< 1 sharper, > 1 more varied")->capture_default_str();
    cmd->add_option("--top-k", f->top_k, "Sample only among the k most likely tokens");
    cmd->add_option("--seed", f->seed, "Sampling seed (same seed, same text)")->capture_default_str();
    cmd->add_flag("--interactive", f->interactive, "Read prompts line by line from stdin until EOF");
    cmd->add_option("--backend", f->backend, "auto, cpu, cuda, cudnn")->capture_default_str();
    cmd->callback([f, cmd] {
        f->has_prompt = cmd->count("--prompt") > 0;
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
