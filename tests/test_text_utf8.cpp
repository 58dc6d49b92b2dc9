// UTF-8 decoding/encoding, error offsets, binary detection, and Unicode lower-casing.
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

#include "fusedrnn/core/error.h"
#include "fusedrnn/core/text/unicode_case.h"
#include "fusedrnn/core/text/utf8.h"
#include "fusedrnn/tests/test_support.h"

using namespace fusedrnn;
using namespace fusedrnn::text;

namespace {

using ::fusedrnn::testing::error_of;

using ::fusedrnn::testing::read_file_bytes;

}  // namespace

TEST(TextUtf8, RoundTripsHandWrittenStrings) {
    const std::string samples[] = {
        "",
        "plain ASCII, with punctuation!",
        "Truyện Kiều",
        "naïve café",
        "Nguyễn Du: Trăm năm trong cõi người ta",
        "emoji 😀🐈‍⬛ and flags 🇻🇳",  // 4-byte sequences and a ZWJ sequence
        "Привет, мир; Γειά σου; 日本語",
        "\x7F edge \xC2\x80 \xDF\xBF \xE0\xA0\x80 \xEF\xBF\xBF \xF0\x90\x80\x80 \xF4\x8F\xBF\xBF",  // boundaries
    };
    for (const std::string& s : samples) {
        const std::u32string cps = decode_utf8(s);
        EXPECT_EQ(encode_utf8(cps), s);
        EXPECT_EQ(cps.size(), utf8_length(s)) << s;
    }
    EXPECT_EQ(decode_utf8("Truyện Kiều").size(), 11u);
    EXPECT_EQ(decode_utf8("😀"), std::u32string(1, char32_t(0x1F600)));
}

TEST(TextUtf8, DecomposedAndPrecomposedStayDistinct) {
    // "ệ" precomposed (U+1EC7) vs e + U+0323 + U+0302: no normalisation, both round-trip exactly.
    const std::string nfc = "\xE1\xBB\x87";
    const std::string nfd = "e\xCC\xA3\xCC\x82";
    EXPECT_EQ(decode_utf8(nfc), std::u32string({0x1EC7}));
    EXPECT_EQ(decode_utf8(nfd), std::u32string({'e', 0x323, 0x302}));
    EXPECT_EQ(encode_utf8(decode_utf8(nfd)), nfd);
}

TEST(TextUtf8, RoundTripsTruyenKieu) {
    FUSEDRNN_REQUIRE_DATA("truyen-kieu");
    const std::string bytes = read_file_bytes(fusedrnn::testing::data_dir() + "/truyen-kieu/truyenkieu.txt");
    ASSERT_EQ(bytes.size(), 133482u);
    const std::u32string cps = decode_utf8(bytes, "truyenkieu.txt");
    EXPECT_EQ(cps.size(), 101824u);  // per the data README
    EXPECT_EQ(encode_utf8(cps), bytes);
}

TEST(TextUtf8, InvalidSequencesNameTheirOffset) {
    struct Case {
        std::string bytes;
        size_t offset;
        const char* what;
    };
    const Case cases[] = {
        {"abc\x80zz", 3, "unexpected continuation byte (byte 0x80)"},
        {"ab\xC0\xAF", 2, "overlong 2-byte sequence (byte 0xC0)"},
        {"ab\xE0\x80\xAF", 2, "overlong sequence (byte 0xE0)"},
        {"ab\xF0\x80\x80\xAF", 2, "overlong sequence (byte 0xF0)"},
        {"x\xED\xA0\x80y", 1, "UTF-16 surrogate encoded in UTF-8 (byte 0xED)"},
        {"x\xF4\x90\x80\x80", 1, "code point above U+10FFFF (byte 0xF4)"},
        {"x\xF5\x80\x80\x80", 1, "byte that never occurs in UTF-8 (byte 0xF5)"},
        {"Kiều\xE1\xBB", 6, "sequence truncated by the end of the data (byte 0xE1)"},
        {"Ki\xE1\xBBu", 2, "sequence truncated, missing continuation byte (byte 0xE1)"},
    };
    for (const Case& c : cases) {
        const auto pr = find_utf8_problem(c.bytes);
        ASSERT_TRUE(pr.has_value()) << c.what;
        EXPECT_FALSE(pr->binary) << c.what;
        EXPECT_EQ(pr->offset, c.offset) << c.what;
        EXPECT_EQ(pr->what, c.what);
        const std::string msg = error_of([&] { decode_utf8(c.bytes, "prompt"); });
        EXPECT_NE(msg.find("prompt is not valid UTF-8"), std::string::npos) << msg;
        EXPECT_NE(msg.find("byte offset " + std::to_string(c.offset)), std::string::npos) << msg;
    }
}

TEST(TextUtf8, ErrorGivesLineAndColumnInCodePoints) {
    // Line 3, after "Kiều " (5 code points, 7 bytes): column 6.
    const std::string s = "one\ntwo\nKiều \xFF rest";
    const auto pr = find_utf8_problem(s);
    ASSERT_TRUE(pr.has_value());
    EXPECT_EQ(pr->offset, 8u + 7u);
    EXPECT_EQ(pr->line, 3u);
    EXPECT_EQ(pr->column, 6u);
    const std::string msg = error_of([&] { decode_utf8(s, "corpus.txt"); });
    EXPECT_NE(msg.find("line 3, column 6"), std::string::npos) << msg;
}

TEST(TextUtf8, DetectsBinaryData) {
    // A NUL byte anywhere, even in otherwise valid text.
    std::string with_nul = "hello world";
    with_nul[5] = '\0';
    auto pr = find_utf8_problem(with_nul);
    ASSERT_TRUE(pr.has_value());
    EXPECT_TRUE(pr->binary);
    EXPECT_EQ(pr->offset, 5u);
    EXPECT_NE(error_of([&] { decode_utf8(with_nul, "data.bin"); }).find("data.bin looks like a binary file"),
              std::string::npos);

    // UTF-16 with a byte-order mark.
    const std::string utf16("\xFF\xFEh\0i\0", 6);
    pr = find_utf8_problem(utf16);
    ASSERT_TRUE(pr.has_value());
    EXPECT_TRUE(pr->binary);
    EXPECT_EQ(pr->encoding, "UTF-16");
    EXPECT_NE(pr->what.find("UTF-16"), std::string::npos);
    // Said as text in another encoding, not as a binary file (QA: a prompt starting with a UTF-16 BOM "looked like a
    // binary file").
    try {
        check_utf8_text(utf16, "the prompt");
        ADD_FAILURE() << "expected an error";
    } catch (const fusedrnn::Error& e) {
        EXPECT_NE(std::string(e.what()).find("the prompt is UTF-16 text (it starts with a byte-order mark), not UTF-8"),
                  std::string::npos) << e.what();
    }

    // UTF-32, whose little-endian mark begins with UTF-16's (QA: called UTF-16, and iconv -f UTF-16 made it worse),
    // with a mark or without one.
    const auto error_for = [&](const std::string& bytes) { return error_of([&] { check_utf8_text(bytes, "f.txt"); }); };
    EXPECT_NE(error_for(std::string("\xFF\xFE\0\0h\0\0\0i\0\0\0", 12))
                  .find("f.txt is UTF-32 text (it starts with a byte-order mark), not UTF-8: convert it to UTF-8 (e.g. "
                        "`iconv -f UTF-32 -t UTF-8`)"), std::string::npos);
    EXPECT_NE(error_for(std::string("\0\0\xFE\xFF\0\0\0h\0\0\0i", 12)).find("f.txt is UTF-32 text"), std::string::npos);
    std::string le, be;
    for (char c : std::string("the cat sat on the mat\n")) {
        le += std::string(1, c) + std::string(3, '\0');
        be += std::string(3, '\0') + std::string(1, c);
    }
    EXPECT_NE(error_for(le).find("f.txt looks like UTF-32LE text without a byte-order mark (NUL bytes in a pattern of "
                                 "four), not UTF-8: convert it to UTF-8 (e.g. `iconv -f UTF-32LE -t UTF-8`)"),
              std::string::npos) << error_for(le);
    // Not mostly Latin (QA: Vietnamese was "binary"): "Trăm năm trong cõi người ta" and its letters U+1Exx.
    const std::u32string viet =
        U"Tr\u0103m n\u0103m trong c\u00f5i ng\u01b0\u1eddi ta, ch\u1eef t\u00e0i ch\u1eef m\u1ec7nh\n";
    std::string viet32, viet16;
    for (int rep = 0; rep < 4; ++rep)
        for (char32_t c : viet) {
            for (int b = 0; b < 4; ++b) viet32 += char((c >> (8 * b)) & 0xFF);
            for (int b = 0; b < 2; ++b) viet16 += char((c >> (8 * b)) & 0xFF);
        }
    EXPECT_NE(error_for(viet32).find("looks like UTF-32LE text"), std::string::npos) << error_for(viet32);
    EXPECT_NE(error_for(viet16).find("looks like UTF-16 text"), std::string::npos) << error_for(viet16);
    // A byte-order mark and nothing else is no text (QA: told to convert it, which gave an empty file).
    EXPECT_NE(error_for(std::string("\xFF\xFE\0\0", 4)).find("f.txt has no text (only a UTF-32 byte-order mark)"),
              std::string::npos);
    EXPECT_NE(error_for("\xFE\xFF").find("f.txt has no text (only a UTF-16 byte-order mark)"), std::string::npos);
    EXPECT_NE(error_for(be).find("`iconv -f UTF-32BE -t UTF-8`"), std::string::npos) << error_for(be);
    std::string utf16le;
    for (char c : std::string("the cat sat on the mat\n")) utf16le += std::string(1, c) + std::string(1, '\0');
    EXPECT_NE(error_for(utf16le).find("looks like UTF-16 text without a byte-order mark"), std::string::npos);

    // Random high bytes without NUL (e.g. compressed data): mostly invalid sequences.
    std::mt19937_64 rng(fusedrnn::testing::test_seed());
    std::string noise(4096, ' ');
    for (char& c : noise) c = char(0x80 + rng() % 0x80);
    pr = find_utf8_problem(noise);
    ASSERT_TRUE(pr.has_value());
    EXPECT_TRUE(pr->binary);
    EXPECT_NE(error_of([&] { decode_utf8(noise, "model.gz"); }).find("looks like a binary file"), std::string::npos);

    // One stray Latin-1 byte in a page of text is invalid UTF-8, not "binary".
    std::string latin1(2000, 'a');
    latin1[1500] = char(0xE9);
    pr = find_utf8_problem(latin1);
    ASSERT_TRUE(pr.has_value());
    EXPECT_FALSE(pr->binary);
    EXPECT_EQ(pr->offset, 1500u);
}

TEST(TextUtf8, EncodeRejectsNonScalarValues) {
    EXPECT_THROW(encode_utf8(char32_t(0xD800)), Error);
    EXPECT_THROW(encode_utf8(char32_t(0x110000)), Error);
    EXPECT_EQ(encode_utf8(char32_t(0x10FFFF)), "\xF4\x8F\xBF\xBF");
}

TEST(TextUtf8, LowerCasingCoversVietnameseGreekCyrillic) {
    EXPECT_EQ(to_lower_utf8("TRUYỆN KIỀU"), "truyện kiều");
    EXPECT_EQ(to_lower_utf8("ĐƯỢC ƠN Ở"), "được ơn ở");
    EXPECT_EQ(to_lower_utf8("NAÏVE CAFÉ ŒUVRE Ÿ"), "naïve café œuvre ÿ");
    EXPECT_EQ(to_lower_utf8("ΓΕΙΆ ΣΟΥ"), "γειά σου");
    EXPECT_EQ(to_lower_utf8("ПРИВЕТ ЁЖ"), "привет ёж");
    EXPECT_EQ(to_lower_utf8("× ÷ 😀 日本"), "× ÷ 😀 日本");  // no case: unchanged
    // Decomposed text: base letters lower-case, combining marks are kept.
    EXPECT_EQ(to_lower_utf8("E\xCC\xA3\xCC\x82"), "e\xCC\xA3\xCC\x82");
    // Every Vietnamese capital with a tone mark maps to its small form, one code point to one.
    for (char32_t c = 0x1EA0; c <= 0x1EF8; c += 2) EXPECT_EQ(to_lower(c), c + 1);
}

TEST(TextUtf8, LowerCasingTheWholePoemIsStableAndKeepsLength) {
    FUSEDRNN_REQUIRE_DATA("truyen-kieu");
    const std::string bytes = read_file_bytes(fusedrnn::testing::data_dir() + "/truyen-kieu/truyenkieu.txt");
    const std::string lower = to_lower_utf8(bytes);
    EXPECT_EQ(utf8_length(lower), utf8_length(bytes));
    EXPECT_EQ(to_lower_utf8(lower), lower);
    EXPECT_EQ(lower.find("Tr"), std::string::npos);
    EXPECT_NE(lower.find("trăm năm trong cõi người ta"), std::string::npos);
}
