// Language-model datasets: fixed-context windows with a held-out split, and [T, N] stream chunks
// for truncated BPTT.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include "fusedrnn/core/error.h"
#include "fusedrnn/core/text/streams.h"
#include "fusedrnn/core/text/text_file.h"
#include "fusedrnn/core/text/tokenizer.h"
#include "fusedrnn/core/text/windows.h"
#include "fusedrnn/tests/test_support.h"

using namespace fusedrnn;
using namespace fusedrnn::text;

namespace {

// Token i has id i + offset: every value names its own position, so layouts are easy to check.
std::vector<int32_t> iota_tokens(size_t n, int32_t offset = 0) {
    std::vector<int32_t> v(n);
    std::iota(v.begin(), v.end(), offset);
    return v;
}

}  // namespace

// ---- windows --------------------------------------------------------------------------------------

TEST(TextWindows, EveryPositionGivesOneWindow) {
    const Windows w = make_windows(iota_tokens(10, 100), 3);
    EXPECT_EQ(w.context, 3);
    ASSERT_EQ(w.count, 7u);
    ASSERT_EQ(w.inputs.size(), 7u * 3u);
    ASSERT_EQ(w.targets.size(), 7u);
    for (size_t i = 0; i < w.count; ++i) {
        for (size_t t = 0; t < 3; ++t) EXPECT_EQ(w.inputs[i * 3 + t], int32_t(100 + i + t));
        EXPECT_EQ(w.targets[i], int32_t(100 + i + 3));
    }
    const Windows one = make_windows(iota_tokens(2), 1);
    EXPECT_EQ(one.count, 1u);
    EXPECT_THROW(make_windows(iota_tokens(3), 3), Error);
    EXPECT_THROW(make_windows(iota_tokens(3), 0), Error);
}

TEST(TextWindows, HeldOutIsTheLastFractionAndWindowsDoNotCrossIt) {
    const std::vector<int32_t> tokens = iota_tokens(100);
    const HeldoutSplit s = split_heldout(tokens, 0.1);
    EXPECT_EQ(s.train, iota_tokens(90));
    EXPECT_EQ(s.heldout, iota_tokens(10, 90));
    EXPECT_TRUE(split_heldout(tokens, 0.0).heldout.empty());
    EXPECT_EQ(split_heldout(tokens, 0.25).heldout.size(), 25u);

    const WindowDataset d = make_window_dataset(tokens, 3, 0.1);
    EXPECT_EQ(d.train.count, 87u);
    EXPECT_EQ(d.heldout.count, 7u);
    for (int32_t v : d.train.inputs) EXPECT_LT(v, 90);
    for (int32_t v : d.train.targets) EXPECT_LT(v, 90);
    for (int32_t v : d.heldout.inputs) EXPECT_GE(v, 90);
    EXPECT_EQ(d.heldout.targets.front(), 93);
    EXPECT_EQ(d.heldout.targets.back(), 99);

    const WindowDataset all = make_window_dataset(tokens, 3, 0.0);
    EXPECT_EQ(all.train.count, 97u);
    EXPECT_EQ(all.heldout.count, 0u);
}

TEST(TextWindows, ClearErrorsForBadSplits) {
    const std::vector<int32_t> tokens = iota_tokens(30);
    EXPECT_THROW(split_heldout(tokens, 1.0), Error);
    EXPECT_THROW(split_heldout(tokens, -0.1), Error);
    EXPECT_THROW(split_heldout(tokens, std::nan("")), Error);
    try {
        make_window_dataset(tokens, 3, 0.1);  // 3 held-out tokens, a window needs 4
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("held-out 10% of the text is 3 tokens"), std::string::npos) << e.what();
    }
    try {
        make_window_dataset(iota_tokens(8), 5, 0.5);  // 4 training tokens
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("held-out 50%"), std::string::npos) << e.what();
    }
    try {
        make_window_dataset(iota_tokens(8), 5, 0.25);  // 6 training tokens, 2 held out
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("held-out"), std::string::npos) << e.what();
    }
    try {
        make_window_dataset(iota_tokens(4), 5, 0.0);
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("training part of the text has 4 tokens"), std::string::npos) << e.what();
    }
}

TEST(TextWindows, GatherIsTimeMajor) {
    const Windows w = make_windows(iota_tokens(20, 1000), 4);
    const std::vector<size_t> idx = {5, 0, 15};
    std::vector<int32_t> in(4 * idx.size(), -1), tgt(idx.size(), -1);
    gather_windows(w, idx.data(), idx.size(), in.data(), tgt.data());
    for (size_t b = 0; b < idx.size(); ++b) {
        for (size_t t = 0; t < 4; ++t) EXPECT_EQ(in[t * idx.size() + b], int32_t(1000 + idx[b] + t));
        EXPECT_EQ(tgt[b], int32_t(1000 + idx[b] + 4));
    }
    const size_t bad = w.count;
    EXPECT_THROW(gather_windows(w, &bad, 1, in.data(), tgt.data()), Error);
}

TEST(TextWindows, AesopThreeWordsToNext) {
    FUSEDRNN_REQUIRE_DATA("aesop");
    const std::string text = load_text_file(fusedrnn::testing::data_dir() + "/aesop/belling_the_cat.txt");
    TokenizerOptions o;
    o.kind = TokenizerKind::Word;
    const Tokenizer tok = Tokenizer::build(text, o);
    const WindowDataset d = make_window_dataset(tok.encode(text), 3, 0.0);
    EXPECT_EQ(d.train.count, 204u - 3u);
    const std::vector<int32_t> prompt = tok.encode("had a general");
    size_t hits = 0;
    for (size_t i = 0; i < d.train.count; ++i)
        if (std::equal(prompt.begin(), prompt.end(), d.train.inputs.begin() + std::ptrdiff_t(i * 3))) {
            ++hits;
            EXPECT_EQ(tok.token_text(d.train.targets[i]), "council");
        }
    EXPECT_EQ(hits, 1u);
}

// ---- streams --------------------------------------------------------------------------------------

TEST(TextStreams, BatchifyLayoutAndShapes) {
    // 103 tokens, 4 streams: 25 each, 3 dropped; 24 steps in chunks of 5 → 5 chunks, the last of 4.
    const StreamBatches sb(iota_tokens(103), 4, 5);
    EXPECT_EQ(sb.streams(), 4);
    EXPECT_EQ(sb.bptt(), 5);
    EXPECT_EQ(sb.stream_length(), 25u);
    EXPECT_EQ(sb.dropped_tokens(), 3u);
    ASSERT_EQ(sb.num_chunks(), 5u);
    ASSERT_EQ(sb.data().size(), 100u);
    for (size_t t = 0; t < 25; ++t)
        for (size_t n = 0; n < 4; ++n) EXPECT_EQ(sb.data()[t * 4 + n], int32_t(n * 25 + t));
    for (size_t c = 0; c < 4; ++c) EXPECT_EQ(sb.chunk_steps(c), 5);
    EXPECT_EQ(sb.chunk_steps(4), 4);
    EXPECT_EQ(sb.num_targets(), 24u * 4u);
    EXPECT_THROW(sb.chunk(5), Error);

    const StreamChunk ch = sb.chunk(1);
    EXPECT_EQ(ch.steps, 5);
    EXPECT_EQ(ch.streams, 4);
    ASSERT_EQ(ch.inputs.size(), 20u);
    ASSERT_EQ(ch.targets.size(), 20u);
    for (size_t t = 0; t < 5; ++t)
        for (size_t n = 0; n < 4; ++n) {
            EXPECT_EQ(ch.inputs[t * 4 + n], int32_t(n * 25 + 5 + t));
            EXPECT_EQ(ch.targets[t * 4 + n], int32_t(n * 25 + 5 + t + 1));
        }
}

TEST(TextStreams, ConsecutiveChunksContinueEachStream) {
    const size_t N = 3;
    const StreamBatches sb(iota_tokens(3 * 41 + 2), int(N), 7);
    // Walking the chunks in order, each column reads its stream contiguously, every position of the
    // stream after the first is predicted exactly once, and chunk c+1 starts where chunk c stopped.
    std::vector<std::vector<int32_t>> seen_inputs(N), seen_targets(N);
    for (size_t c = 0; c < sb.num_chunks(); ++c) {
        const StreamChunk ch = sb.chunk(c);
        for (int t = 0; t < ch.steps; ++t)
            for (size_t n = 0; n < N; ++n) {
                seen_inputs[n].push_back(ch.inputs[size_t(t) * N + n]);
                seen_targets[n].push_back(ch.targets[size_t(t) * N + n]);
            }
        if (c + 1 < sb.num_chunks()) {
            const StreamChunk next = sb.chunk(c + 1);
            for (size_t n = 0; n < N; ++n)
                EXPECT_EQ(next.inputs[n], ch.targets[size_t(ch.steps - 1) * N + n]);
        }
    }
    for (size_t n = 0; n < N; ++n) {
        EXPECT_EQ(seen_inputs[n], iota_tokens(40, int32_t(n * 41)));
        EXPECT_EQ(seen_targets[n], iota_tokens(40, int32_t(n * 41 + 1)));
    }
}

TEST(TextStreams, DropLastAndChunkInto) {
    const StreamBatches sb(iota_tokens(52), 2, 5, /*drop_last=*/true);  // 26 per stream, 25 steps
    EXPECT_EQ(sb.num_chunks(), 5u);
    const StreamBatches sb2(iota_tokens(54), 2, 5, true);  // 27 per stream, 26 steps: 5 full chunks
    EXPECT_EQ(sb2.num_chunks(), 5u);
    for (size_t c = 0; c < sb2.num_chunks(); ++c) EXPECT_EQ(sb2.chunk_steps(c), 5);
    std::vector<int32_t> in(10, -1), tgt(10, -1);
    sb2.chunk_into(4, in.data(), tgt.data());
    EXPECT_EQ(in, sb2.chunk(4).inputs);
    EXPECT_EQ(tgt, sb2.chunk(4).targets);
}

TEST(TextStreams, RejectsBadArguments) {
    EXPECT_THROW(StreamBatches(iota_tokens(10), 0, 5), Error);
    EXPECT_THROW(StreamBatches(iota_tokens(10), 2, 0), Error);
    EXPECT_THROW(StreamBatches(iota_tokens(9), 5, 5), Error);   // 1 token per stream
    EXPECT_THROW(StreamBatches(iota_tokens(10), 2, 5, true), Error);  // 4 steps < one full chunk
    EXPECT_NO_THROW(StreamBatches(iota_tokens(10), 2, 5, false));
    EXPECT_NO_THROW(StreamBatches(iota_tokens(10), 5, 5));   // 2 tokens per stream: one step
    // The flag that sets the streams is named, and a count of one is not plural.
    try {
        StreamBatches(iota_tokens(9), 5, 5);
        FAIL() << "expected an error";
    } catch (const Error& e) {
        const std::string m = e.what();
        EXPECT_NE(m.find("9 tokens split into 5 streams give 1 token per stream"), std::string::npos) << m;
        EXPECT_NE(m.find("lower --streams"), std::string::npos) << m;
    }
}
