// The language-model commands as a user runs them (the built `fusedrnn` binary): --out checks and the run folder,
// Ctrl-C after training, text printed while it is generated, flags that do nothing in the chosen mode, the
// interactive session's errors and exit status, and the held-out <unk> share beside the perplexity.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "fusedrnn/kernels/cpu/simd.h"
#include "fusedrnn/models/checkpoint.h"
#include "fusedrnn/models/lm_trainer.h"
#include "fusedrnn/tests/cli_support.h"

namespace fusedrnn {
namespace {

using testing::CliResult;
using testing::run_cli;

std::string tiny_text(const std::string& dir) {
    const std::string path = dir + "/tiny.txt";
    std::ofstream(path) << "the cat sat on a mat . the dog lay on the log . the cat sat on a mat .\n";
    return path;
}

// A text whose one epoch at --batch 1 lasts seconds: a signal sent when training starts arrives within it.
std::string long_text(const std::string& dir) {
    const std::string path = dir + "/long.txt";
    std::ofstream out(path);
    for (int i = 0; i < 20000; ++i) out << "the cat sat on a mat . the dog lay on the log .\n";
    return path;
}

std::vector<std::string> lm_train(const std::string& text, const std::string& out, std::vector<std::string> more = {},
                                  int epochs = 2) {
    std::vector<std::string> a{"lm-train", "--text", text, "--heldout", "0", "--epochs", std::to_string(epochs),
                               "--hidden", "8", "--embedding", "4", "--backend", "cpu", "--out", out};
    a.insert(a.end(), more.begin(), more.end());
    return a;
}

// The same with another --heldout fraction.
std::vector<std::string> with_heldout(std::vector<std::string> args, const std::string& fraction) {
    *(std::find(args.begin(), args.end(), std::string("--heldout")) + 1) = fraction;
    return args;
}

bool has(const CliResult& r, const std::string& s) { return r.output.find(s) != std::string::npos; }
bool contains(const std::string& text, const std::string& s) { return text.find(s) != std::string::npos; }

// The CLI with stdout and stderr apart (run_cli merges them), reading `stdin_text` from a file (not a terminal).
struct SplitResult {
    int status = -1;
    std::string out, err;
};
SplitResult run_split(const std::vector<std::string>& args, const std::string& stdin_text) {
    const std::string dir = testing::temp_dir();
    std::ofstream(dir + "/in.txt") << stdin_text;
    std::string cmd = testing::quoted(FUSEDRNN_CLI_PATH);
    for (const auto& a : args) cmd += " " + testing::quoted(a);
    cmd += " < " + testing::quoted(dir + "/in.txt") + " > " + testing::quoted(dir + "/out.txt") + " 2> " +
           testing::quoted(dir + "/err.txt");
    SplitResult r;
    const int st = std::system(cmd.c_str());
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    r.out = testing::read_file_bytes(dir + "/out.txt");
    r.err = testing::read_file_bytes(dir + "/err.txt");
    return r;
}

// The header gives the file's own size (what ls -l shows), and the text's beside it where reading changed it (QA: a
// CRLF file of 20757 bytes was said to have 20001).

// With --max-chunks M the final pass over the training windows scores as many as M steps train on, evenly spaced
// (QA: 5 steps on War and Peace were followed by 65 s scoring all 602,992 windows), and says so; without it, all.
TEST(LmCli, TheFinalPassOfAShortRunScoresWhatItTrainsOn) {
    const std::string dir = testing::temp_dir(), text = long_text(dir);
    const CliResult r = run_cli(lm_train(text, dir + "/short", {"--max-chunks", "3", "--batch", "16"}, 1));
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("final     training windows (inference): loss "), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("(48 of 279997 windows, evenly spaced: as many as --max-chunks 3 trains on)"),
              std::string::npos) << r.output;
    const CliResult all = run_cli(lm_train(tiny_text(dir), dir + "/all", {}, 1));
    ASSERT_EQ(all.status, 0) << all.output;
    EXPECT_NE(all.output.find("accuracy"), std::string::npos) << all.output;
    EXPECT_NE(all.output.find("% (18 windows)"), std::string::npos) << all.output;
}
TEST(LmCli, TheHeaderGivesTheFilesSizeAndTheTexts) {
    const std::string dir = testing::temp_dir(), crlf = dir + "/crlf.txt";
    std::ofstream(crlf, std::ios::binary) << "\xEF\xBB\xBFthe cat sat on a mat .\r\nthe dog lay on the log .\r\n";
    const CliResult r = run_cli(lm_train(crlf, dir + "/run"));
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("crlf.txt: 53 bytes (48 as text, without its byte-order mark and the CR of 2 CRLF line "
                            "ends), 14 word tokens"),
              std::string::npos) << r.output;
    // Each change said only where it was made (QA: a CRLF file without a mark was read "without its byte-order
    // mark"); a file of fewer windows than a batch trains one step of them all (it said "1 step of 32").
    const std::string one_line = dir + "/one_line.txt";
    std::ofstream(one_line, std::ios::binary) << "the cat sat on a mat .\r\n";
    const CliResult o = run_cli(lm_train(one_line, dir + "/one_line"));
    ASSERT_EQ(o.status, 0) << o.output;
    EXPECT_NE(o.output.find("one_line.txt: 24 bytes (23 as text, without the CR of 1 CRLF line end)"),
              std::string::npos) << o.output;
    EXPECT_NE(o.output.find("; 1 step of all 4 windows per epoch"), std::string::npos) << o.output;
    const CliResult plain = run_cli(lm_train(tiny_text(dir), dir + "/plain"));
    EXPECT_NE(plain.output.find("tiny.txt: 71 bytes, 21 word tokens"), std::string::npos) << plain.output;
}

TEST(LmCli, EmptyOutIsRefused) {
    const std::string dir = testing::temp_dir();
    const CliResult r = run_cli(lm_train(tiny_text(dir), ""));
    EXPECT_NE(r.status, 0) << r.output;
    EXPECT_TRUE(has(r, "--out is empty")) << r.output;
    EXPECT_FALSE(has(r, "saved")) << r.output;
}

TEST(LmCli, AForecasterRunFolderIsNotMixedWithALanguageModel) {
    const std::string dir = testing::temp_dir(), out = dir + "/run";
    const CliResult f = run_cli(testing::tiny_train(out, 1));
    ASSERT_EQ(f.status, 0) << f.output;
    ASSERT_TRUE(std::filesystem::exists(out + "/metrics.json"));
    const CliResult r = run_cli(lm_train(tiny_text(dir), out));
    EXPECT_NE(r.status, 0) << r.output;
    EXPECT_TRUE(has(r, "holds a forecaster run of `fusedrnn train`")) << r.output;
    EXPECT_TRUE(has(r, "--overwrite")) << r.output;
    EXPECT_TRUE(std::filesystem::exists(out + "/metrics.json"));  // untouched
    const CliResult o = run_cli(lm_train(tiny_text(dir), out, {"--overwrite"}));
    ASSERT_EQ(o.status, 0) << o.output;
    for (const char* gone : {"metrics.json", "forecast.svg"})
        EXPECT_FALSE(std::filesystem::exists(out + "/" + gone)) << gone;
    EXPECT_TRUE(std::filesystem::exists(out + "/best.safetensors"));
}

TEST(LmCli, OneRunAtATimeInAFolder) {
    const std::string dir = testing::temp_dir(), out = dir + "/run";
    std::filesystem::create_directories(out);
    const int fd = ::open((out + "/.fusedrnn.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);
    const CliResult r = run_cli(lm_train(tiny_text(dir), out));
    ::close(fd);
    EXPECT_NE(r.status, 0) << r.output;
    EXPECT_TRUE(has(r, "is in use by another fusedrnn run")) << r.output;
    EXPECT_FALSE(std::filesystem::exists(out + "/last.safetensors"));
}

// lm-train's resume says so too when the CPU kernels' instruction set (and so the rounding) changed, and not when
// only the thread count did (the CPU backend computes the same on any).
TEST(LmCli, ResumeUnderOtherArithmeticSaysSo) {
    if (cpu::simd::cpu_isa() == cpu::simd::Isa::Generic)
        GTEST_SKIP() << "this CPU has no instruction set above generic to resume under";
    const std::string dir = testing::temp_dir(), out = dir + "/run";
    const CliResult first = run_cli(lm_train(tiny_text(dir), out, {}, 1), "", "FUSEDRNN_CPU_ISA=generic ");
    ASSERT_EQ(first.status, 0) << first.output;
    const CliResult other = run_cli(lm_train(tiny_text(dir), out, {"--resume"}, 2), "", "OMP_NUM_THREADS=1 ");
    ASSERT_EQ(other.status, 0) << other.output;
    EXPECT_TRUE(has(other, "(float kernels generic, OpenBLAS ")) << other.output;
    EXPECT_TRUE(has(other, "), this run computes on cpu (float kernels ")) << other.output;
    EXPECT_TRUE(has(other, "may differ from an uninterrupted run by rounding")) << other.output;
    const CliResult same = run_cli(lm_train(tiny_text(dir), out, {"--resume"}, 3), "", "OMP_NUM_THREADS=2 ");
    ASSERT_EQ(same.status, 0) << same.output;
    EXPECT_FALSE(has(same, "differ from an uninterrupted run")) << same.output;
}

// A run refused on its input leaves no output folder of its own making.
TEST(LmCli, AFailedRunLeavesNoOutputFolderItMade) {
    const std::string dir = testing::temp_dir(), out = dir + "/made/run";
    const CliResult r = run_cli(lm_train(dir + "/no_such_text.txt", out));
    EXPECT_NE(r.status, 0) << r.output;
    EXPECT_TRUE(has(r, "does not exist")) << r.output;
    EXPECT_FALSE(std::filesystem::exists(dir + "/made")) << r.output;
}

// A new run into a finished run's folder moves that run's files to previous/ before it trains: stopped in its first
// epoch it leaves its own last.safetensors, not the old run's best.safetensors beside it, and the old run is kept.
TEST(LmCli, ANewRunStoppedEarlyLeavesNoOldBestCheckpoint) {
    const std::string dir = testing::temp_dir(), out = dir + "/run";
    const std::string text = long_text(dir);
    const CliResult first = run_cli(lm_train(text, out, {"--max-chunks", "2"}));
    ASSERT_EQ(first.status, 0) << first.output;
    const std::string old_best = testing::read_file_bytes(out + "/best.safetensors");
    const CliResult r = testing::run_then_signal(lm_train(text, out, {"--batch", "1"}, 1),
                                                 dir + "/log.txt", "optimizer ", SIGTERM);
    EXPECT_EQ(r.status, 130) << r.output;
    EXPECT_TRUE(has(r, "keeping the previous run in " + out + "/previous/ (best.safetensors, last.safetensors, "
                       "log.csv, loss.svg)")) << r.output;
    EXPECT_TRUE(std::filesystem::exists(out + "/last.safetensors")) << r.output;
    EXPECT_FALSE(std::filesystem::exists(out + "/best.safetensors")) << r.output;
    EXPECT_EQ(testing::read_file_bytes(out + "/previous/best.safetensors"), old_best);
}

// Files named as a run's but beside no checkpoint (a log.csv of the user's own) are no run to keep in previous/: moved
// there, the next run would delete them (QA). Refused, naming them, unless --overwrite.
TEST(LmCli, LooseFilesNamedAsARunsAreNotTakenForOne) {
    const std::string dir = testing::temp_dir(), out = dir + "/run";
    std::filesystem::create_directories(out);
    std::ofstream(out + "/log.csv") << "my own log\n";
    const CliResult r = run_cli(lm_train(tiny_text(dir), out));
    EXPECT_EQ(r.status, 2) << r.output;
    EXPECT_TRUE(has(r, "--out " + out + " holds log.csv but no checkpoint (best.safetensors, last.safetensors): not a "
                       "run of fusedrnn's to keep in previous/")) << r.output;
    EXPECT_EQ(testing::read_file_bytes(out + "/log.csv"), "my own log\n");
    EXPECT_FALSE(std::filesystem::exists(out + "/previous"));
    const CliResult o = run_cli(lm_train(tiny_text(dir), out, {"--overwrite"}));
    ASSERT_EQ(o.status, 0) << o.output;
    EXPECT_EQ(testing::read_file_bytes(out + "/previous/log.csv"), "my own log\n");
}

// One Ctrl-C / SIGTERM during the sample after the last epoch ends the sample and the run: exit 130, the files saved.
TEST(LmCli, StopDuringTheSampleExits130) {
    const std::string dir = testing::temp_dir(), out = dir + "/run";
    const CliResult r = testing::run_then_signal(lm_train(tiny_text(dir), out, {"--sample", "3000000"}, 1),
                                                 dir + "/log.txt", "epoch 1/1", SIGTERM);
    EXPECT_EQ(r.status, 130) << r.output.substr(0, 2000);
    EXPECT_TRUE(has(r, "[stopped]")) << r.output.substr(0, 2000);
    EXPECT_TRUE(std::filesystem::exists(out + "/log.csv"));
    // With an epoch still to come the run stops after the sample, before training a step of it: last.safetensors
    // holds the first epoch's end, with no epoch in progress.
    const std::string out2 = dir + "/run2";
    const CliResult two = testing::run_then_signal(lm_train(tiny_text(dir), out2, {"--sample", "3000000"}, 2),
                                                   dir + "/log2.txt", "epoch 1/2", SIGTERM);
    EXPECT_EQ(two.status, 130) << two.output.substr(0, 2000);
    EXPECT_TRUE(has(two, "stopped after epoch 1; saved " + out2 + "/last.safetensors")) << two.output.substr(0, 2000);
    const nlohmann::json training = read_checkpoint(out2 + "/last.safetensors").extra.at("training");
    EXPECT_EQ(training.at("history").size(), 1u);
    EXPECT_FALSE(training.contains("epoch_in_progress")) << training.dump();
}

// generate prints the text as it is drawn: a long --count shows its first words at once.
TEST(LmCli, GenerateStreamsItsOutput) {
    const std::string dir = testing::temp_dir(), out = dir + "/run";
    ASSERT_EQ(run_cli(lm_train(tiny_text(dir), out)).status, 0);
    const auto t0 = std::chrono::steady_clock::now();
    const CliResult r = testing::run_then_signal({"generate", "--checkpoint", out + "/last.safetensors", "--prompt",
                                                  "the dog lay", "--count", "100000000", "--backend", "cpu"},
                                                 dir + "/log.txt", "the dog lay ", SIGINT);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(60));
    EXPECT_TRUE(has(r, "the dog lay ")) << r.output.substr(0, 500);
}

TEST(LmCli, FlagsThatDoNothingAreReportedOrRefused) {
    const std::string dir = testing::temp_dir();
    const CliResult neg = run_cli(lm_train(tiny_text(dir), dir + "/a", {"--sample", "-1"}));
    EXPECT_NE(neg.status, 0) << neg.output;
    EXPECT_TRUE(has(neg, "--sample")) << neg.output;
    const CliResult w = run_cli(lm_train(tiny_text(dir), dir + "/b", {"--bptt", "9", "--streams", "2"}));
    ASSERT_EQ(w.status, 0) << w.output;
    EXPECT_TRUE(has(w, "warning: --bptt does nothing in window mode")) << w.output;
    EXPECT_TRUE(has(w, "warning: --streams does nothing in window mode")) << w.output;
    EXPECT_FALSE(has(w, "--max-chunks")) << w.output;
    const CliResult chunks = run_cli(lm_train(tiny_text(dir), dir + "/c", {"--max-chunks", "100", "--batch", "4"}));
    ASSERT_EQ(chunks.status, 0) << chunks.output;
    EXPECT_TRUE(has(chunks, "warning: --max-chunks 100 does nothing: an epoch over the whole training text is only 5 "
                            "steps\n")) << chunks.output;
    const CliResult p = run_cli({"perplexity", "--checkpoint", dir + "/b/last.safetensors", "--text",
                                 tiny_text(dir), "--streams", "4", "--backend", "cpu"});
    ASSERT_EQ(p.status, 0) << p.output;
    EXPECT_TRUE(has(p, "warning: --streams does nothing with a window-mode model")) << p.output;
    EXPECT_TRUE(has(p, ": 21 words (all in the model's vocabulary)")) << p.output;
    // A mode or tokenizer this engine does not know is named by its flag, as --cell is.
    const CliResult mode = run_cli(lm_train(tiny_text(dir), dir + "/m", {"--mode", "Window"}));
    EXPECT_TRUE(has(mode, "error: --mode: unknown language-model mode 'Window'")) << mode.output;
    const CliResult tok = run_cli(lm_train(tiny_text(dir), dir + "/t", {"--tokenizer", "Word"}));
    EXPECT_TRUE(has(tok, "error: --tokenizer: unknown tokenizer kind \"Word\"")) << tok.output;
}

// Sampling flags are checked as they are read, naming the flag; temperature 0 points at --greedy (what it would mean).
TEST(LmCli, SamplingFlagsAreCheckedNamingTheFlag) {
    const std::string ckpt = testing::temp_dir() + "/none.safetensors";  // never opened: the flags fail first
    const CliResult t = run_cli({"generate", "--checkpoint", ckpt, "--temperature", "0"});
    EXPECT_NE(t.status, 0) << t.output;
    EXPECT_TRUE(has(t, "--temperature")) << t.output;
    EXPECT_TRUE(has(t, "must be positive, got 0 (for the most likely token every time: --greedy)")) << t.output;
    const CliResult n = run_cli({"generate", "--checkpoint", ckpt, "--temperature", "nan"});
    EXPECT_NE(n.status, 0) << n.output;
    EXPECT_TRUE(has(n, "'nan' is out of range")) << n.output;
    const CliResult k = run_cli({"generate", "--checkpoint", ckpt, "--top-k", "0"});
    EXPECT_NE(k.status, 0) << k.output;
    EXPECT_TRUE(has(k, "--top-k")) << k.output;
    EXPECT_TRUE(has(k, "must be positive, got 0")) << k.output;
    for (const char* p : {"0", "1.5", "-0.2", "nan", "x"}) {
        const CliResult r = run_cli({"generate", "--checkpoint", ckpt, "--top-p", p});
        EXPECT_NE(r.status, 0) << p << ": " << r.output;
        EXPECT_TRUE(has(r, "--top-p")) << r.output;
    }
    EXPECT_TRUE(has(run_cli({"generate", "--checkpoint", ckpt, "--top-p", "0"}), "must be in (0, 1], got 0"));
}

// --top-p on a trained model: p = 1 is no nucleus (the same text as without it, seed for seed); a tiny p keeps only
// the most likely token, which is greedy decoding; --greedy with sampling flags says they do nothing.
TEST(LmCli, TopPOneIsPlainSamplingAndATinyTopPIsGreedy) {
    const std::string dir = testing::temp_dir(), out = dir + "/run";
    ASSERT_EQ(run_cli(lm_train(tiny_text(dir), out, {}, 30)).status, 0);
    const std::vector<std::string> base{"generate", "--checkpoint", out + "/last.safetensors", "--prompt",
                                        "the cat sat", "--count", "12", "--backend", "cpu", "--temperature", "3"};
    auto with = [&base](std::vector<std::string> extra) {
        std::vector<std::string> args = base;
        args.insert(args.end(), extra.begin(), extra.end());
        const CliResult r = run_cli(args);
        EXPECT_EQ(r.status, 0) << r.output;
        return r.output;
    };
    EXPECT_EQ(with({"--seed", "5", "--top-p", "1"}), with({"--seed", "5"}));
    const std::string greedy = with({"--greedy"});
    EXPECT_TRUE(has(CliResult{0, greedy}, "warning: --greedy takes the most likely token every time: --temperature "
                                          "does nothing"))
        << greedy;
    const std::string greedy_text = greedy.substr(greedy.find("the cat sat"));
    int sampled_differently = 0;  // at temperature 3 plain sampling strays from greedy: the tiny p is what holds it
    for (const char* seed : {"1", "2", "3"}) {
        EXPECT_EQ(with({"--seed", seed, "--top-p", "1e-9"}), greedy_text) << seed;
        sampled_differently += with({"--seed", seed}) != greedy_text;
    }
    EXPECT_GT(sampled_differently, 0);
    // A temperature below the smallest normal double (QA: 1e-308 was "out of range") is greedy as well.
    std::vector<std::string> cold = base;
    cold.back() = "1e-308";
    cold.insert(cold.end(), {"--seed", "4"});
    const CliResult c = run_cli(cold);
    EXPECT_EQ(c.status, 0) << c.output;
    EXPECT_EQ(c.output, greedy_text);
}

// --interactive from a pipe: answers on stdout, each bad prompt on stderr naming its input line, the session goes on
// after it, lines of only white space (U+00A0 and a form feed too) are skipped without a word, and the exit status
// tells the script that a prompt failed.
// stdout of the sessions below: the two good prompts' answers, one line each, nothing else.
bool answers(const std::string& out) {
    return std::count(out.begin(), out.end(), '\n') == 2 && out.rfind("the cat sat ", 0) == 0 &&
           contains(out, "\nthe dog lay");
}

TEST(LmCli, InteractiveReportsBadPromptsOnStderrByLineAndFailsTheExitStatus) {
    const std::string dir = testing::temp_dir(), out = dir + "/run";
    ASSERT_EQ(run_cli(lm_train(tiny_text(dir), out, {}, 30)).status, 0);
    const std::vector<std::string> args{"generate", "--checkpoint", out + "/last.safetensors", "--interactive",
                                        "--count", "2", "--greedy", "--backend", "cpu"};
    const SplitResult r = run_split(args, "the cat sat\n\n  \t\n\xc2\xa0\x0c\r\nzebra zebra zebra\nthe dog\n"
                                          "the dog lay\n");
    EXPECT_EQ(r.status, 2) << r.out << r.err;
    EXPECT_TRUE(answers(r.out)) << r.out << r.err;
    EXPECT_TRUE(contains(r.err, "error: stdin line 5: unknown word in the prompt: 'zebra'")) << r.err;
    EXPECT_TRUE(contains(r.err, "error: stdin line 6: the prompt 'the dog' has 2 words")) << r.err;
    EXPECT_TRUE(contains(r.err, "2 of 4 prompts failed (stdin lines 5, 6;")) << r.err;
    EXPECT_FALSE(contains(r.err, "the prompt is empty")) << r.err;  // the blank lines were no prompts
    // A line that is not UTF-8: its column, beside the stdin line (the prompt's own "line 1" would be a second one).
    // A byte-order mark before the first line (a file saved by Notepad) is dropped, as lm-train drops the text's.
    const SplitResult bom = run_split(args, "\xEF\xBB\xBFthe cat sat\n");
    EXPECT_EQ(bom.status, 0) << bom.err;
    // Every prompt failed: no "the other 0 were answered".
    const SplitResult none_ok = run_split(args, "zebra zebra zebra\n");
    EXPECT_TRUE(contains(none_ok.err, "1 of 1 prompt failed (stdin line 1; the errors are above)\n")) << none_ok.err;
    // UTF-16 without a byte-order mark: named as such, not as a binary file.
    const SplitResult wide = run_split(args, std::string("t\0h\0e\0 \0c\0a\0t\0 \0s\0a\0t\0\n", 23));
    EXPECT_TRUE(contains(wide.err, "looks like UTF-16 text without a byte-order mark")) << wide.err;
    const SplitResult bad = run_split(args, "the cat sat\nthe \xc3\x28 sat\n");
    EXPECT_TRUE(contains(bad.err, "error: stdin line 2: the prompt is not valid UTF-8: ")) << bad.err;
    EXPECT_TRUE(contains(bad.err, "at byte offset 4 (column 5)")) << bad.err;
    // Every prompt answered (blank lines between them): status 0, nothing on stderr.
    const SplitResult ok = run_split(args, "\nthe cat sat\n\n\nthe dog lay\n\n");
    EXPECT_EQ(ok.status, 0) << ok.err;
    EXPECT_TRUE(answers(ok.out)) << ok.out;
    EXPECT_EQ(ok.err, "");
    const SplitResult none = run_split(args, "");  // no input at all ends cleanly too
    EXPECT_EQ(none.status, 0) << none.err;
    EXPECT_EQ(none.out + none.err, "");
}

// A word-level model cut by --min-count: the share of held-out tokens that are <unk> is printed beside the held-out
// perplexity (each epoch and at the end) and recorded in log.csv and in the checkpoint's history.
TEST(LmCli, HeldOutUnknownShareIsReportedBesideThePerplexity) {
    const std::string dir = testing::temp_dir(), out = dir + "/run";
    std::string text;
    for (int i = 0; i < 8; ++i) text += "a b ";
    text += "a x b y\n";  // 20 tokens; the last 4 are held out and x, y (seen once) are <unk> with --min-count 2
    std::ofstream(dir + "/t.txt") << text;
    const CliResult r = run_cli(with_heldout(lm_train(dir + "/t.txt", out, {"--min-count", "2"}), "0.2"));
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_TRUE(has(r, "held-out  2 of the 4 held-out tokens (50.0%) are <unk>")) << r.output;
    EXPECT_TRUE(has(r, " oov 50.0% | grad-norm")) << r.output;
    EXPECT_TRUE(has(r, ", 50.0% of the held-out tokens <unk>")) << r.output;
    const std::string log = testing::read_file_bytes(out + "/log.csv");
    EXPECT_TRUE(contains(log, ",heldout_perplexity,heldout_oov,grad_norm,")) << log;
    EXPECT_TRUE(contains(log, ",0.500000,")) << log;
    const nlohmann::json history = read_checkpoint(out + "/last.safetensors").extra.at("training").at("history");
    ASSERT_EQ(history.size(), 2u);
    EXPECT_DOUBLE_EQ(history.at(1).at("heldout_oov").get<double>(), 0.5);

    // A character model: the vocabulary comes from the training part, and the held-out part of tiny.txt ends with
    // its only line break, so that character is <unk> there and the share is printed.
    const CliResult c = run_cli(with_heldout(lm_train(tiny_text(dir), dir + "/chars", {"--tokenizer", "char"}), "0.3"));
    ASSERT_EQ(c.status, 0) << c.output;
    EXPECT_TRUE(has(c, "vocabulary 16 (with <unk>) from the training part\n")) << c.output;
    EXPECT_TRUE(has(c, "held-out  1 of the 21 held-out tokens (4.8%) is <unk>, outside the training part's vocabulary "
                       "(1 never occurs in the training part)")) << c.output;
    EXPECT_TRUE(has(c, " oov 4.8% | grad-norm")) << c.output;
    const Checkpoint chars = read_checkpoint(dir + "/chars/last.safetensors");
    const auto tokens = chars.extra.at("tokenizer").at("tokens").get<std::vector<std::string>>();
    EXPECT_EQ(std::count(tokens.begin(), tokens.end(), "\n"), 0) << chars.extra.at("tokenizer").dump();
    // One whose held-out characters all occur in the training part: the share is 0 and not printed.
    std::ofstream(dir + "/abc.txt") << "abc abc abc abc abc abc abc abc abc abc";
    const CliResult a = run_cli(with_heldout(lm_train(dir + "/abc.txt", dir + "/abc", {"--tokenizer", "char"}), "0.3"));
    ASSERT_EQ(a.status, 0) << a.output;
    EXPECT_TRUE(has(a, "ppl ")) << a.output;
    EXPECT_FALSE(has(a, "oov")) << a.output;
}

// 20 words; with --heldout 0.2 the last 4 ("c zebra d a") are held out: "zebra" occurs only there, "c" and "d" once in
// the training part and once in the held-out part.
std::string split_text(const std::string& dir) {
    const std::string path = dir + "/split.txt";
    std::ofstream(path) << "a b a b a b a b a b a b a b c d c zebra d a\n";
    return path;
}

std::vector<std::string> vocabulary_of(const std::string& checkpoint) {
    return read_checkpoint(checkpoint).extra.at("tokenizer").at("tokens").get<std::vector<std::string>>();
}

// The vocabulary and its counts come from the training part only: a word seen only in the held-out part is <unk>
// there (so the held-out <unk> share is > 0 with --min-count 1), not in the vocabulary, and unknown to generate;
// --min-count counts the training part's occurrences; with --heldout 0 the vocabulary is the whole text's, as before.
TEST(LmCli, TheVocabularyComesFromTheTrainingPartOnly) {
    const std::string dir = testing::temp_dir(), text = split_text(dir);
    const CliResult r = run_cli(with_heldout(lm_train(text, dir + "/run"), "0.2"));
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_TRUE(has(r, " 20 word tokens, vocabulary 5 (with <unk>) from the training part\n")) << r.output;
    EXPECT_TRUE(has(r, "16 training / 4 held-out tokens")) << r.output;
    EXPECT_TRUE(has(r, "held-out  1 of the 4 held-out tokens (25.0%) is <unk>, outside the training part's vocabulary "
                       "(1 never occurs in the training part): the model never met <unk> in training (its "
                       "vocabulary is every word of its training text), so each costs a large loss")) << r.output;
    EXPECT_TRUE(has(r, " oov 25.0% | grad-norm")) << r.output;
    EXPECT_TRUE(has(r, ", 25.0% of the held-out tokens <unk>")) << r.output;
    EXPECT_TRUE(contains(testing::read_file_bytes(dir + "/run/log.csv"), ",0.250000,"));
    EXPECT_EQ(vocabulary_of(dir + "/run/last.safetensors"), (std::vector<std::string>{"<unk>", "a", "b", "c", "d"}));
    const CliResult g = run_cli({"generate", "--checkpoint", dir + "/run/last.safetensors", "--prompt", "c zebra d",
                                 "--backend", "cpu"});
    EXPECT_EQ(g.status, 2) << g.output;
    EXPECT_TRUE(has(g, "unknown word in the prompt: 'zebra'")) << g.output;

    const CliResult m = run_cli(with_heldout(lm_train(text, dir + "/min2", {"--min-count", "2"}), "0.2"));
    ASSERT_EQ(m.status, 0) << m.output;
    EXPECT_TRUE(has(m, "vocabulary 3 (with <unk>) from the training part\n")) << m.output;
    EXPECT_TRUE(has(m, "held-out  3 of the 4 held-out tokens (75.0%) are <unk>, outside the training part's vocabulary "
                       "(1 never occurs in the training part, 2 cut by --min-count 2): the model learned <unk> in "
                       "training and predicting it counts as a hit, so the loss and accuracy look better")) << m.output;
    EXPECT_EQ(vocabulary_of(dir + "/min2/last.safetensors"), (std::vector<std::string>{"<unk>", "a", "b"}));
    const CliResult none = run_cli(lm_train(text, dir + "/none", {"--min-count", "1000"}));
    EXPECT_EQ(none.status, 2) << none.output;
    const CliResult none_h = run_cli(with_heldout(lm_train(text, dir + "/none_h", {"--min-count", "1000"}), "0.2"));
    EXPECT_EQ(none_h.status, 2) << none_h.output;
    EXPECT_TRUE(has(none_h, "--min-count 1000: no word of the training part of " + text + " (its first 16 words) "
                            "occurs that often")) << none_h.output;

    const CliResult z = run_cli(lm_train(text, dir + "/all"));  // --heldout 0: the whole text, as before
    ASSERT_EQ(z.status, 0) << z.output;
    EXPECT_TRUE(has(z, " 20 word tokens, vocabulary 6 (with <unk>)\n")) << z.output;
    EXPECT_EQ(vocabulary_of(dir + "/all/last.safetensors"),
              (std::vector<std::string>{"<unk>", "a", "b", "c", "d", "zebra"}));
}

// One epoch of a run as an earlier version wrote it, into `out`: the model, settings and optimizer lm-train uses with
// lm_train()'s flags, over the vocabulary `tokenizer` builds from the whole text, its settings recorded as `info`.
void train_earlier_run(const std::string& text, const text::TokenizerOptions& tokenizer, double heldout,
                       const nlohmann::json& info, const std::string& out) {
    const std::string words = testing::read_file_bytes(text);
    LanguageModel lm = make_language_model(make_backend("cpu"), {CellType::Lstm, 4, 8, 1, false},
                                           text::Tokenizer::build(words, tokenizer), LmSettings{}, 0);
    OptimizerConfig oc;
    oc.lr = 0.01f;
    auto opt = make_optimizer(lm.model->params(), oc);
    LmTrainOptions o;
    o.epochs = 1;
    o.heldout = heldout;
    o.out_dir = out;
    o.info = info;
    LmTrainer(lm, *opt, lm.tokenizer.encode(words), o).fit();
}

// A run written before the vocabulary came from the training part (its vocabulary from the whole text, held-out
// words included, and no "vocabulary" entry in its settings) resumes with its own vocabulary and says where that
// came from; a new run into its folder takes the vocabulary from the training part.
TEST(LmCli, ARunWhoseVocabularyCameFromTheWholeTextResumesWithIt) {
    const std::string dir = testing::temp_dir(), text = split_text(dir);
    ASSERT_EQ(run_cli(with_heldout(lm_train(text, dir + "/new", {}, 1), "0.2")).status, 0);
    // The old run: the model, settings and optimizer lm-train uses with these flags, over the whole text's vocabulary.
    nlohmann::json info = read_checkpoint(dir + "/new/last.safetensors").extra.at("training").at("info");
    ASSERT_EQ(info.value("vocabulary", ""), "training part") << info.dump();
    info.erase("vocabulary");
    train_earlier_run(text, text::TokenizerOptions{}, 0.2, info, dir + "/old");
    const std::vector<std::string> whole{"<unk>", "a", "b", "c", "d", "zebra"};
    ASSERT_EQ(vocabulary_of(dir + "/old/last.safetensors"), whole);

    const CliResult r = run_cli(with_heldout(lm_train(text, dir + "/old", {"--resume"}, 2), "0.2"));
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_TRUE(has(r, "resumed from " + dir + "/old/last.safetensors after epoch 1")) << r.output;
    EXPECT_TRUE(has(r, " 20 word tokens, vocabulary 6 (with <unk>) from the whole text, held-out part included")) << r.output;
    EXPECT_FALSE(has(r, "(with <unk>) from the training part")) << r.output;
    EXPECT_TRUE(has(r, "held-out  0 of the 4 held-out tokens (0.0%) are <unk>, outside the vocabulary\n")) << r.output;
    EXPECT_TRUE(has(r, "epoch 2/2")) << r.output;
    EXPECT_EQ(vocabulary_of(dir + "/old/last.safetensors"), whole);
    EXPECT_FALSE(read_checkpoint(dir + "/old/last.safetensors").extra.at("training").at("info").contains("vocabulary"));
    // ... and again (the checkpoint it wrote is still of the old kind), also with other tokenizer flags refused.
    const CliResult again = run_cli(with_heldout(lm_train(text, dir + "/old", {"--resume"}, 3), "0.2"));
    ASSERT_EQ(again.status, 0) << again.output;
    EXPECT_TRUE(has(again, "epoch 3/3")) << again.output;
    const CliResult other = run_cli(with_heldout(lm_train(text, dir + "/old", {"--resume", "--min-count", "2"}, 4),
                                                 "0.2"));
    EXPECT_EQ(other.status, 2) << other.output;
    // A new run into the folder: the training part's vocabulary.
    const CliResult fresh = run_cli(with_heldout(lm_train(text, dir + "/old", {}, 1), "0.2"));
    ASSERT_EQ(fresh.status, 0) << fresh.output;
    EXPECT_TRUE(has(fresh, "vocabulary 5 (with <unk>) from the training part\n")) << fresh.output;
    EXPECT_EQ(vocabulary_of(dir + "/old/last.safetensors").size(), 5u);
}

// The same for characters (the review: a char vocabulary read back compared unequal to the flags' in splitting rules,
// which characters do not have, so the resume rebuilt it from the training part).
TEST(LmCli, ACharacterRunWhoseVocabularyCameFromTheWholeTextResumesWithIt) {
    const std::string dir = testing::temp_dir(), text = split_text(dir);
    const std::vector<std::string> chars{"--tokenizer", "char"};
    ASSERT_EQ(run_cli(with_heldout(lm_train(text, dir + "/new", chars, 1), "0.2")).status, 0);
    nlohmann::json info = read_checkpoint(dir + "/new/last.safetensors").extra.at("training").at("info");
    info.erase("vocabulary");
    text::TokenizerOptions by_char;
    by_char.kind = text::TokenizerKind::Char;
    train_earlier_run(text, by_char, 0.2, info, dir + "/old");
    const auto whole = vocabulary_of(dir + "/old/last.safetensors");
    ASSERT_NE(std::find(whole.begin(), whole.end(), "z"), whole.end());  // only in the held-out part
    auto resume = with_heldout(lm_train(text, dir + "/old", chars, 2), "0.2");
    resume.push_back("--resume");
    const CliResult r = run_cli(resume);
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_TRUE(has(r, "from the whole text, held-out part included")) << r.output;
    EXPECT_EQ(vocabulary_of(dir + "/old/last.safetensors"), whole);
}

// A word run from before 0.3.14 split by rules 1 ("5€" one word; word_split.h): --resume goes on splitting so, and
// generate and perplexity read its text as it learned it.
TEST(LmCli, AWordRunOfTheFirstSplittingRulesResumesWithThem) {
    const std::string dir = testing::temp_dir(), text = dir + "/costs.txt";
    std::ofstream(text) << "it costs 5€ . the cat sat on a mat . it costs 5€ , or x≤y .\n";
    ASSERT_EQ(run_cli(lm_train(text, dir + "/new", {}, 1)).status, 0);
    const nlohmann::json info = read_checkpoint(dir + "/new/last.safetensors").extra.at("training").at("info");
    text::TokenizerOptions rules_1;
    rules_1.word_rules = 1;
    train_earlier_run(text, rules_1, 0, info, dir + "/old");
    const auto old_words = vocabulary_of(dir + "/old/last.safetensors");
    ASSERT_NE(std::find(old_words.begin(), old_words.end(), "5€"), old_words.end());

    const CliResult r = run_cli(lm_train(text, dir + "/old", {"--resume"}, 2));
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_TRUE(has(r, "epoch 2/2")) << r.output;
    EXPECT_EQ(vocabulary_of(dir + "/old/last.safetensors"), old_words);
    const CliResult p = run_cli({"perplexity", "--checkpoint", dir + "/old/best.safetensors", "--text", text,
                                 "--backend", "cpu"});
    EXPECT_EQ(p.status, 0) << p.output;
    // "5€" and "x≤y" words it knows: 18 words, not rules 2's 24 with "5" and "x" unknown.
    EXPECT_TRUE(has(p, "costs.txt: 18 words (all in the model's vocabulary)")) << p.output;
    // A new run splits by rules 2: "5" "€".
    const auto new_words = vocabulary_of(dir + "/new/last.safetensors");
    EXPECT_NE(std::find(new_words.begin(), new_words.end(), "€"), new_words.end());
    EXPECT_EQ(std::find(new_words.begin(), new_words.end(), "5€"), new_words.end());
}

TEST(LmCli, PerplexityPrintsTheUnknownShareBesideThePerplexity) {
    const std::string dir = testing::temp_dir(), out = dir + "/run";
    ASSERT_EQ(run_cli(lm_train(tiny_text(dir), out)).status, 0);
    std::ofstream(dir + "/other.txt") << "the cat sat on zebra\n";  // 1 of 5 words unknown
    const CliResult p = run_cli({"perplexity", "--checkpoint", out + "/last.safetensors", "--text",
                                 dir + "/other.txt", "--backend", "cpu"});
    ASSERT_EQ(p.status, 0) << p.output;
    EXPECT_TRUE(has(p, "%, oov 20.00%\n")) << p.output;
    // What <unk> does to the figures depends on whether the model met it in training (QA: the message said it
    // flatters them for a model that gives <unk> almost no probability, where one unknown word cost 23 nats).
    EXPECT_TRUE(has(p, "1 = 20.0% not in the model's vocabulary, scored as <unk>: the model never met <unk> in "
                       "training")) << p.output;
    // --min-count 2 on a text whose every word occurs twice cuts nothing: the model never met <unk> (recorded by
    // lm-train, not guessed from the flags), so a prompt's unknown word is an error, not read as <unk>.
    std::ofstream(dir + "/twice.txt") << "the cat sat . the cat sat .\n";
    ASSERT_EQ(run_cli(lm_train(dir + "/twice.txt", dir + "/nocut", {"--min-count", "2", "--context", "2"})).status, 0);
    const CliResult n = run_cli({"perplexity", "--checkpoint", dir + "/nocut/last.safetensors", "--text",
                                 dir + "/other.txt", "--backend", "cpu"});
    EXPECT_TRUE(has(n, "the model never met <unk> in training")) << n.output;
    const CliResult g = run_cli({"generate", "--checkpoint", dir + "/nocut/last.safetensors", "--prompt", "the dog",
                                 "--backend", "cpu"});
    EXPECT_EQ(g.status, 2) << g.output;
    EXPECT_TRUE(has(g, "unknown word in the prompt: 'dog'")) << g.output;
    ASSERT_EQ(run_cli(lm_train(tiny_text(dir), dir + "/cut", {"--max-vocab", "4"})).status, 0);
    const CliResult c = run_cli({"perplexity", "--checkpoint", dir + "/cut/last.safetensors", "--text",
                                 dir + "/other.txt", "--backend", "cpu"});
    ASSERT_EQ(c.status, 0) << c.output;
    EXPECT_TRUE(has(c, "scored as <unk>: the model learned <unk> in training and predicting it counts as a hit"))
        << c.output;    EXPECT_FALSE(has(p, "combining mark")) << p.output;
    // A word spelt with a combining mark (decomposed text) is unknown though it looks known: said, as generate does.
    std::ofstream(dir + "/nfd.txt") << "the cat sat on a ma\xcc\x81t\n";  // "mát" as 'a' + U+0301
    const CliResult d = run_cli({"perplexity", "--checkpoint", out + "/last.safetensors", "--text", dir + "/nfd.txt",
                                 "--backend", "cpu"});
    ASSERT_EQ(d.status, 0) << d.output;
    EXPECT_TRUE(has(d, "warning: 1 of the 1 word not in the vocabulary holds a combining mark (U+0300...): the text is "
                       "decomposed (NFD)")) << d.output;
}

// Odd inputs are named by the flag or file a user gave, not by an internal field or "the text".
#ifndef FR_TEST_UNDER_ASAN
#define FR_TEST_UNDER_ASAN 0
#endif

// Host memory running out in stream mode names that mode's sizes (--streams, --bptt), not the window's --batch.
TEST(LmCli, OutOfHostMemoryInStreamModeNamesItsFlags) {
#if FR_TEST_UNDER_ASAN
    GTEST_SKIP() << "AddressSanitizer build: its shadow memory needs terabytes of address space, so the CLI "
                    "cannot start under this test's `ulimit -v` (checked in every normal build)";
#endif
    const std::string dir = testing::temp_dir();
    auto args = lm_train(long_text(dir), dir + "/run", {"--mode", "stream", "--streams", "20000", "--bptt", "4"}, 1);
    *(std::find(args.begin(), args.end(), std::string("--hidden")) + 1) = "4000";
    const CliResult r = run_cli(args, "", "ulimit -v 6000000; ");
    EXPECT_EQ(r.status, 2) << r.output;
    EXPECT_TRUE(has(r, "out of host memory allocating")) << r.output;
    EXPECT_TRUE(has(r, "--streams or --bptt")) << r.output;
    EXPECT_FALSE(has(r, "internal error")) << r.output;
}

TEST(LmCli, TooShortTextsAndAnEmptyVocabularyNameTheFileAndFlag) {
    const std::string dir = testing::temp_dir(), out = dir + "/run";
    ASSERT_EQ(run_cli(lm_train(tiny_text(dir), out)).status, 0);
    std::ofstream(dir + "/three.txt") << "the cat sat\n";
    const CliResult p = run_cli({"perplexity", "--checkpoint", out + "/last.safetensors", "--text",
                                 dir + "/three.txt", "--backend", "cpu"});
    EXPECT_EQ(p.status, 2) << p.output;
    EXPECT_TRUE(has(p, "three.txt has 3 words: too few to score with this model, which predicts each word from the 3 "
                       "before it: give at least 4")) << p.output;
    const CliResult m = run_cli(lm_train(tiny_text(dir), dir + "/m", {"--min-count", "1000"}));
    EXPECT_EQ(m.status, 2) << m.output;
    EXPECT_TRUE(has(m, "--min-count 1000: no word of")) << m.output;
    const CliResult v = run_cli(lm_train(tiny_text(dir), dir + "/v", {"--max-vocab", "1"}));
    EXPECT_EQ(v.status, 2) << v.output;
    EXPECT_TRUE(has(v, "--max-vocab must be 0 (no cap) or at least 2")) << v.output;
    // A text of one character, in either mode: the message names the file.
    std::ofstream(dir + "/one.txt") << "a";
    for (const char* mode : {"window", "stream"}) {
        const CliResult one = run_cli(lm_train(dir + "/one.txt", dir + "/one", {"--tokenizer", "char", "--mode", mode}));
        EXPECT_EQ(one.status, 2) << one.output;
        EXPECT_TRUE(has(one, "error: " + dir + "/one.txt: ")) << mode << one.output;
        EXPECT_TRUE(has(one, "1 token ") || has(one, "1 token:")) << mode << one.output;
    }
}

// `fusedrnn train` into a language-model run's folder is refused as lm-train into a forecaster's is (before, it
// replaced the run, unfinished or not, without a word); with --overwrite the language model's files go.
TEST(LmCli, ALanguageModelRunFolderIsNotTakenByAForecaster) {
    const std::string dir = testing::temp_dir(), out = dir + "/run";
    ASSERT_EQ(run_cli(lm_train(tiny_text(dir), out)).status, 0);
    const std::string before = testing::read_file_bytes(out + "/last.safetensors");
    const CliResult r = run_cli(testing::tiny_train(out, 1));
    EXPECT_EQ(r.status, 2) << r.output;
    EXPECT_TRUE(has(r, "holds a language-model run of `fusedrnn lm-train`")) << r.output;
    EXPECT_EQ(testing::read_file_bytes(out + "/last.safetensors"), before);
    std::vector<std::string> replace = testing::tiny_train(out, 1);
    replace.push_back("--overwrite");
    const CliResult o = run_cli(replace);
    ASSERT_EQ(o.status, 0) << o.output;
    EXPECT_TRUE(has(o, "keeping the previous run in " + out + "/previous/ (best.safetensors, last.safetensors, "
                       "log.csv, loss.svg)")) << o.output;
    EXPECT_TRUE(std::filesystem::exists(out + "/metrics.json"));
    EXPECT_EQ(testing::read_file_bytes(out + "/previous/last.safetensors"), before);
    // And back: lm-train with --overwrite over the forecaster moves its report too, the language model kept before
    // going; previous/ never holds two runs' files.
    const CliResult back = run_cli(lm_train(tiny_text(dir), out, {"--overwrite"}));
    ASSERT_EQ(back.status, 0) << back.output;
    EXPECT_TRUE(has(back, "metrics.json")) << back.output;
    EXPECT_TRUE(has(back, "; the run kept there before is gone")) << back.output;
    EXPECT_TRUE(std::filesystem::exists(out + "/previous/metrics.json"));
    EXPECT_FALSE(std::filesystem::exists(out + "/metrics.json"));
}

// --resume with --overwrite is a contradiction; a text that is one of the files the run writes would be overwritten.
TEST(LmCli, ResumeWithOverwriteAndATextAmongTheRunsFilesAreRefused) {
    const std::string dir = testing::temp_dir(), out = dir + "/run", text = tiny_text(dir);
    ASSERT_EQ(run_cli(lm_train(text, out)).status, 0);
    const CliResult both = run_cli(lm_train(text, out, {"--resume", "--overwrite"}));
    EXPECT_EQ(both.status, 2) << both.output;
    EXPECT_TRUE(has(both, "--overwrite starts it over: give one of them")) << both.output;
    std::filesystem::copy_file(text, out + "/log.csv", std::filesystem::copy_options::overwrite_existing);
    const CliResult inside = run_cli(lm_train(out + "/log.csv", out, {"--overwrite"}));
    EXPECT_EQ(inside.status, 2) << inside.output;
    EXPECT_TRUE(has(inside, "--text " + out + "/log.csv is the log.csv a run writes in --out")) << inside.output;
    EXPECT_EQ(testing::read_file_bytes(out + "/log.csv"), testing::read_file_bytes(text));
    // The same for the run kept in previous/, which a new run replaces.
    std::filesystem::create_directories(out + "/previous");
    std::filesystem::copy_file(text, out + "/previous/loss.svg", std::filesystem::copy_options::overwrite_existing);
    const CliResult kept = run_cli(lm_train(out + "/previous/loss.svg", out, {"--overwrite"}));
    EXPECT_EQ(kept.status, 2) << kept.output;
    EXPECT_TRUE(has(kept, "is the loss.svg of the run kept in " + out + "/previous/")) << kept.output;
    EXPECT_EQ(testing::read_file_bytes(out + "/previous/loss.svg"), testing::read_file_bytes(text));
}

// What lm-train accepts its checkpoint must load: a --bptt above the loader's bound is refused up front.
TEST(LmCli, SettingsACheckpointCouldNotHoldAreRefused) {
    const std::string dir = testing::temp_dir();
    const CliResult r = run_cli(lm_train(tiny_text(dir), dir + "/run", {"--mode", "stream", "--bptt", "16777217"}));
    EXPECT_EQ(r.status, 2) << r.output;
    EXPECT_TRUE(has(r, "bptt (--bptt) must be in [1, 16777216], got 16777217")) << r.output;
}

// The other mode's flags do nothing (lm-train warns), so they are neither checked nor compared on --resume.
TEST(LmCli, TheOtherModesFlagsNeitherFailNorBlockAResume) {
    const std::string dir = testing::temp_dir(), out = dir + "/run", text = tiny_text(dir);
    ASSERT_EQ(run_cli(lm_train(text, out, {"--mode", "stream", "--bptt", "4", "--streams", "2"}, 1)).status, 0);
    const CliResult r = run_cli(lm_train(text, out, {"--mode", "stream", "--bptt", "4", "--streams", "2", "--batch",
                                                     "16", "--context", "0", "--resume"}, 2));
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_TRUE(has(r, "warning: --batch does nothing in stream mode")) << r.output;
    EXPECT_TRUE(has(r, "warning: --context does nothing in stream mode")) << r.output;
    EXPECT_TRUE(has(r, "epoch 2/2")) << r.output;
}

// --interactive answers one line per prompt also for a character model: the newlines it draws are written as \n.
TEST(LmCli, InteractiveAnswersOfACharacterModelStayOneLineEach) {
    const std::string dir = testing::temp_dir(), out = dir + "/run", text = dir + "/lines.txt";
    {
        std::ofstream f(text);
        for (int i = 0; i < 200; ++i) f << "ab\n";
    }
    ASSERT_EQ(run_cli(lm_train(text, out, {"--tokenizer", "char", "--mode", "stream", "--bptt", "8", "--streams",
                                           "2"}, 3)).status, 0);
    const SplitResult r = run_split({"generate", "--checkpoint", out + "/last.safetensors", "--interactive", "--count",
                                     "60", "--seed", "1", "--backend", "cpu"}, "ab\nba\n");
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 2) << r.out;
    EXPECT_TRUE(contains(r.out, "\\n")) << r.out;
}

// Output that cannot be written fails the command (`generate > out.txt` on a full disk is no success).
TEST(LmCli, AnUnwritableStdoutFailsTheCommand) {
    if (!std::filesystem::exists("/dev/full")) GTEST_SKIP() << "this system has no /dev/full";
    const std::string dir = testing::temp_dir(), out = dir + "/run";
    ASSERT_EQ(run_cli(lm_train(tiny_text(dir), out)).status, 0);
    const std::string cmd = testing::quoted(FUSEDRNN_CLI_PATH) + " generate --checkpoint " +
                            testing::quoted(out + "/last.safetensors") + " --prompt 'the cat sat' --backend cpu" +
                            " > /dev/full 2> " + testing::quoted(dir + "/err.txt");
    const int st = std::system(cmd.c_str());
    EXPECT_EQ(WIFEXITED(st) ? WEXITSTATUS(st) : -1, 2);
    const std::string err = testing::read_file_bytes(dir + "/err.txt");
    EXPECT_TRUE(contains(err, "writing to standard output failed: No space left on device")) << err;
    // --interactive stops at the first answer it cannot write, rather than answering every line into the void (a
    // prompt's own error lets it go on; this does not).
    std::ofstream(dir + "/prompts.txt") << "the cat sat\nthe dog lay\n";
    const std::string interactive = testing::quoted(FUSEDRNN_CLI_PATH) + " generate --checkpoint " +
                                    testing::quoted(out + "/last.safetensors") + " --interactive --backend cpu < " +
                                    testing::quoted(dir + "/prompts.txt") + " > /dev/full 2> " +
                                    testing::quoted(dir + "/err2.txt");
    const int st2 = std::system(interactive.c_str());
    EXPECT_EQ(WIFEXITED(st2) ? WEXITSTATUS(st2) : -1, 2);
    const std::string err2 = testing::read_file_bytes(dir + "/err2.txt");
    EXPECT_TRUE(contains(err2, "writing to standard output failed: No space left on device")) << err2;
    EXPECT_FALSE(contains(err2, "stdin line")) << err2;
}

// A resume with other flags names every one that differs at once, by its flag (not by the vocabulary size or the
// model's field names that follow from them).
TEST(LmCli, AResumeWithOtherFlagsNamesThemAllByTheirFlags) {
    const std::string dir = testing::temp_dir(), out = dir + "/run";
    ASSERT_EQ(run_cli(lm_train(tiny_text(dir), out)).status, 0);
    const CliResult r = run_cli(lm_train(tiny_text(dir), out,
                                         {"--resume", "--tokenizer", "char", "--layers", "2", "--cell", "gru",
                                          "--lr", "0.02", "--dropout", "0.1", "--lr-decay", "0.5", "--max-chunks",
                                          "3"},
                                         3));
    EXPECT_EQ(r.status, 2) << r.output;
    for (const char* item : {"--lr: 0.01 saved, 0.02 now", "--lr-decay: 1 saved, 0.5 now", "--max-chunks: 0 saved, 3 now", "--tokenizer: \"word\" saved, \"char\" now",
                             "--cell: \"lstm\" saved, \"gru\" now", "--layers: 1 saved, 2 now",
                             "--dropout: 0 saved, 0.1 now"})
        EXPECT_TRUE(contains(r.output, item)) << item << "\n" << r.output;
    EXPECT_FALSE(contains(r.output, "outputs: ")) << r.output;  // the vocabulary size, which follows from --tokenizer
    // A setting recorded only when not its default shows the default, not "none", where it is absent.
    ASSERT_EQ(run_cli(lm_train(tiny_text(dir), dir + "/w", {"--optimizer", "adamw"})).status, 0);
    const CliResult w = run_cli(lm_train(tiny_text(dir), dir + "/w", {"--optimizer", "adamw", "--weight-decay", "0",
                                                                      "--resume"}, 3));
    EXPECT_TRUE(contains(w.output, "--weight-decay: 0.01 saved, 0 now")) << w.output;
    // Another --heldout takes the vocabulary from another part: said as what follows from it (QA: a bare ", the
    // vocabulary" read as one more flag).
    ASSERT_EQ(run_cli(with_heldout(lm_train(long_text(dir), dir + "/h", {"--max-chunks", "2"}, 1), "0.1")).status, 0);
    const CliResult h = run_cli(with_heldout(lm_train(long_text(dir), dir + "/h", {"--max-chunks", "2", "--resume"}, 2),
                                             "0.2"));
    EXPECT_TRUE(contains(h.output, "--heldout: 0.1 saved, 0.2 now")) << h.output;
}

// A run whose training loss grew huge but finite: with an earlier epoch still sound it says best.safetensors is of
// use (exit 0); with neither checkpoint sound it fails as a NaN loss does (exit 3, after training to its end). Neither
// says "later epochs fitted the text more closely", and the figures are readable, not thirty-digit numbers.
TEST(LmCli, ARunThatDivergedToFiniteLossesSaysWhichCheckpointIsOfUse) {
    const std::string dir = testing::temp_dir();
    // One step per epoch: epoch 1's loss is measured before its update, epoch 2's after it.
    const CliResult late = run_cli(lm_train(tiny_text(dir), dir + "/late", {"--optimizer", "sgd", "--lr", "1e30"}, 3));
    EXPECT_EQ(late.status, 0) << late.output;
    EXPECT_TRUE(has(late, "warning   the training diverged: the training loss of epoch 3 is ")) << late.output;
    EXPECT_TRUE(has(late, "e+28 nats per token, above the 2.40 of a uniform guess over the vocabulary of 11; "
                          "last.safetensors is of little use, best.safetensors (epoch 1, training loss 2.4")) << late.output;
    EXPECT_TRUE(has(late, "lower --lr, or --clip (now 5)")) << late.output;
    EXPECT_FALSE(has(late, "0000000000")) << late.output;
    std::ofstream longer(dir + "/t50.txt");
    for (int i = 0; i < 50; ++i) longer << "the cat sat on a mat . the dog lay on the log . the cat sat on a mat .\n";
    longer.close();
    const CliResult all = run_cli(with_heldout(lm_train(dir + "/t50.txt", dir + "/all", {"--optimizer", "sgd", "--lr",
                                                                                          "1e30"}, 2), "0.2"));
    EXPECT_EQ(all.status, 3) << all.output;
    EXPECT_TRUE(has(all, "fusedrnn: error: the training diverged: the training loss of epoch 2 is ")) << all.output;
    EXPECT_TRUE(has(all, "the checkpoints were written but are of little use")) << all.output;
    EXPECT_FALSE(has(all, "fitted the training text more closely")) << all.output;
    EXPECT_FALSE(has(all, "stopped")) << all.output;
}

// A damaged tokenizer in the checkpoint a run resumes from is named as damage, not as flags that differ from it.
TEST(LmCli, ResumeFromADamagedTokenizerSaysSo) {
    const std::string dir = testing::temp_dir(), out = dir + "/run";
    ASSERT_EQ(run_cli(lm_train(tiny_text(dir), out)).status, 0);
    SafetensorsFile f = read_safetensors(out + "/last.safetensors");
    nlohmann::json extra = nlohmann::json::parse(f.metadata.at("fusedrnn.extra"));
    extra["tokenizer"]["kind"] = "bogus";
    f.metadata["fusedrnn.extra"] = extra.dump();
    f.metadata.erase("fusedrnn.metadata_checksum");
    write_safetensors(out + "/last.safetensors", f);
    const CliResult r = run_cli(lm_train(tiny_text(dir), out, {"--resume"}, 3));
    EXPECT_EQ(r.status, 2) << r.output;
    EXPECT_TRUE(has(r, "--resume: " + out + "/last.safetensors is damaged: the tokenizer stored in it is invalid: "
                       "unknown tokenizer kind \"bogus\"")) << r.output;
    EXPECT_FALSE(has(r, "other settings")) << r.output;
    // A vocabulary that the same text and flags do not give (two tokens swapped), and a model description whose
    // vocabulary is of the wrong kind: damage too.
    const auto damaged = [&](const std::function<void(SafetensorsFile&)>& edit) {
        ASSERT_EQ(run_cli(lm_train(tiny_text(dir), out, {"--overwrite"})).status, 0);
        SafetensorsFile g = read_safetensors(out + "/last.safetensors");
        edit(g);
        g.metadata.erase("fusedrnn.metadata_checksum");
        write_safetensors(out + "/last.safetensors", g);
    };
    damaged([](SafetensorsFile& g) {
        nlohmann::json x = nlohmann::json::parse(g.metadata.at("fusedrnn.extra"));
        std::swap(x["tokenizer"]["tokens"][1], x["tokenizer"]["tokens"][2]);
        g.metadata["fusedrnn.extra"] = x.dump();
    });
    const CliResult swapped = run_cli(lm_train(tiny_text(dir), out, {"--resume"}, 3));
    EXPECT_TRUE(has(swapped, "is damaged: its vocabulary is not the one this text and these flags give")) << swapped.output;
    damaged([](SafetensorsFile& g) {
        nlohmann::json m = nlohmann::json::parse(g.metadata.at("fusedrnn.model"));
        m["vocab"] = std::to_string(m.at("vocab").get<int>());
        g.metadata["fusedrnn.model"] = m.dump();
    });
    const CliResult typed = run_cli(lm_train(tiny_text(dir), out, {"--resume"}, 3));
    EXPECT_EQ(typed.status, 2) << typed.output;
    EXPECT_FALSE(has(typed, "other settings")) << typed.output;
    EXPECT_TRUE(has(typed, "vocab")) << typed.output;
    // A file that cannot be read at all: the commands that may still use best.safetensors are the language model's.
    std::filesystem::resize_file(out + "/last.safetensors", 100);
    const CliResult cut = run_cli(lm_train(tiny_text(dir), out, {"--resume"}, 3));
    EXPECT_EQ(cut.status, 2) << cut.output;
    EXPECT_TRUE(has(cut, "best.safetensors beside it may still serve generate and perplexity")) << cut.output;
}

// A prompt pasted from a Windows file ends its lines with CRLF: read as LF, as lm-train reads the training text.
TEST(LmCli, APromptsWindowsLineEndsAreReadAsTheTextsWere) {
    const std::string dir = testing::temp_dir(), out = dir + "/run";
    const CliResult t = run_cli(lm_train(tiny_text(dir), out, {"--tokenizer", "char", "--mode", "stream"}));
    ASSERT_EQ(t.status, 0) << t.output;
    // 71 characters in 32 streams: a stream holds 2, so a chunk is 1 step, and the header says so.
    EXPECT_TRUE(contains(t.output, "stream: 32 streams × chunks of 1 step;")) << t.output;
    EXPECT_TRUE(contains(t.output, "warning: each of the 32 streams holds 2 tokens of the training text, so a chunk is "
                                   "1 step, not --bptt 64")) << t.output;
    const CliResult r = run_cli({"generate", "--checkpoint", out + "/last.safetensors", "--prompt", "the cat.\r\n",
                                 "--count", "3", "--backend", "cpu"});
    EXPECT_EQ(r.status, 0) << r.output;
    EXPECT_TRUE(contains(r.output, "the cat.\n")) << r.output;
}

// A prompt word the vocabulary left out (--min-count) was <unk> in training: the model has learned what follows <unk>,
// so the word is read as <unk>, with a warning naming it and the reason. A word of no training text is still refused.
TEST(LmCli, APromptWordCutByMinCountIsReadAsUnkWithAWarning) {
    const std::string dir = testing::temp_dir(), out = dir + "/run";
    ASSERT_EQ(run_cli(lm_train(tiny_text(dir), out, {"--min-count", "2"})).status, 0);
    const CliResult r = run_cli({"generate", "--checkpoint", out + "/last.safetensors", "--prompt", "the dog sat",
                                 "--count", "2", "--backend", "cpu"});
    EXPECT_EQ(r.status, 0) << r.output;
    EXPECT_TRUE(has(r, "warning: word in the prompt read as <unk>, as in training: 'dog'")) << r.output;
    EXPECT_TRUE(has(r, "of its training text that occur at least 2 times there (--min-count 2)")) << r.output;
    EXPECT_TRUE(has(r, "the <unk> sat")) << r.output;
    // A word known in another case is said so here too (QA's recheck: only the error gave the hint).
    const CliResult cased = run_cli({"generate", "--checkpoint", out + "/last.safetensors", "--prompt", "The cat sat",
                                     "--count", "2", "--backend", "cpu"});
    EXPECT_EQ(cased.status, 0) << cased.output;
    EXPECT_TRUE(has(cased, "(--min-count 2); the model tells case apart: 'the' (not 'The') is in its vocabulary"))
        << cased.output;
    const CliResult in = run_cli({"generate", "--checkpoint", out + "/last.safetensors", "--interactive", "--count",
                                  "2", "--backend", "cpu"},
                                 "the cat sat\nthe dog sat\n");
    EXPECT_EQ(in.status, 0) << in.output;
    EXPECT_TRUE(has(in, "warning: stdin line 2: word in the prompt read as <unk>, as in training: 'dog'")) << in.output;
    // Without a cut vocabulary, <unk> was never seen in training: an unknown word is an error.
    const std::string full = dir + "/full";
    ASSERT_EQ(run_cli(lm_train(tiny_text(dir), full)).status, 0);
    const CliResult u = run_cli({"generate", "--checkpoint", full + "/last.safetensors", "--prompt", "the zebra sat",
                                 "--backend", "cpu"});
    EXPECT_EQ(u.status, 2) << u.output;
    EXPECT_TRUE(has(u, "unknown word in the prompt: 'zebra'")) << u.output;
}

}  // namespace
}  // namespace fusedrnn
