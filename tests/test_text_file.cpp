// Loading text files: clear errors for missing, empty, binary and invalid files; BOM and CRLF handling.
#include <fstream>
#include <string>

#include "fusedrnn/core/error.h"
#include "fusedrnn/core/text/text_file.h"
#include "fusedrnn/tests/test_support.h"

using namespace fusedrnn;
using namespace fusedrnn::text;

namespace {

std::string write_file(const std::string& name, const std::string& bytes) {
    static const std::string dir = fusedrnn::testing::temp_dir();
    const std::string path = dir + "/" + name;
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
}

using ::fusedrnn::testing::error_of;

#define EXPECT_ERROR_CONTAINS(expr, text)                                            \
    do {                                                                             \
        const std::string msg_ = error_of([&] { (void)(expr); });                    \
        EXPECT_NE(msg_.find(text), std::string::npos) << "message: " << msg_;        \
    } while (0)

}  // namespace

TEST(TextFile, LoadsUtf8Text) {
    const std::string s = "Truyện Kiều\nnaïve café 😀\n";
    EXPECT_EQ(load_text_file(write_file("ok.txt", s)), s);
}

TEST(TextFile, MissingDirectoryEmptyAndBlank) {
    const std::string missing = fusedrnn::testing::temp_dir() + "/nope.txt";
    EXPECT_ERROR_CONTAINS(load_text_file(missing), "text file '" + missing + "' does not exist");
    EXPECT_ERROR_CONTAINS(load_text_file(fusedrnn::testing::temp_dir()), "is a directory");
    EXPECT_ERROR_CONTAINS(load_text_file(write_file("empty.txt", "")), "is empty");
    EXPECT_ERROR_CONTAINS(load_text_file(write_file("blank.txt", " \n\t\r\n")), "has no text (only white space)");
    EXPECT_ERROR_CONTAINS(load_text_file(write_file("bom.txt", "\xEF\xBB\xBF\n")), "has no text");
    EXPECT_ERROR_CONTAINS(load_text_file(write_file("nbsp.txt", "\xC2\xA0\xE3\x80\x80\n")), "has no text");
}

TEST(TextFile, BinaryFilesAreCalledBinary) {
    std::string nul = "some header";
    nul += std::string("\0\x01\x02", 3);
    const std::string p = write_file("data.bin", nul);
    EXPECT_ERROR_CONTAINS(load_text_file(p), "text file '" + p + "' looks like a binary file");
    EXPECT_ERROR_CONTAINS(load_text_file(p), "NUL byte at byte offset 11");
    EXPECT_ERROR_CONTAINS(load_text_file(write_file("utf16.txt", std::string("\xFF\xFEh\0i\0", 6))), "UTF-16");
    std::string noise;
    for (int i = 0; i < 1000; ++i) noise.push_back(char(0x80 | ((i * 37) & 0x7F)));
    EXPECT_ERROR_CONTAINS(load_text_file(write_file("noise.dat", noise)), "looks like a binary file");
}

// A device without an end is read up to its first NUL, not until memory runs out.
TEST(TextFile, EndlessDeviceStopsAtTheFirstNul) {
    EXPECT_ERROR_CONTAINS(load_text_file("/dev/zero"), "text file '/dev/zero' looks like a binary file");
}

TEST(TextFile, RealCompressedFileIsBinary) {
    FUSEDRNN_REQUIRE_DATA("isd-lite");
    EXPECT_ERROR_CONTAINS(load_text_file(fusedrnn::testing::data_dir() + "/isd-lite/071690-99999-2017.gz"),
                          "looks like a binary file");
}

TEST(TextFile, InvalidUtf8NamesOffsetLineAndColumn) {
    const std::string p = write_file("latin1.txt", "first line\ncaf\xE9 au lait\n");
    EXPECT_ERROR_CONTAINS(load_text_file(p), "text file '" + p + "' is not valid UTF-8");
    EXPECT_ERROR_CONTAINS(load_text_file(p), "byte offset 14 (line 2, column 4)");
    // Offsets are those of the file on disk, before the BOM is stripped.
    EXPECT_ERROR_CONTAINS(load_text_file(write_file("bom_bad.txt", "\xEF\xBB\xBF" "ab\x80")), "byte offset 5");
}

TEST(TextFile, ByteOrderMarkAndLineEnds) {
    const std::string raw = "\xEF\xBB\xBF" "one\r\ntwo\rthree\r\n";
    const std::string p = write_file("crlf.txt", raw);
    EXPECT_EQ(load_text_file(p), "one\ntwo\rthree\n");  // lone CR kept: only CRLF pairs are line ends
    TextFileOptions keep;
    keep.strip_bom = false;
    keep.normalize_newlines = false;
    EXPECT_EQ(load_text_file(p, keep), raw);
}

TEST(TextFile, SharedCorporaLoad) {
    FUSEDRNN_REQUIRE_DATA("tinyshakespeare");
    const std::string s = load_text_file(fusedrnn::testing::data_dir() + "/tinyshakespeare/input.txt");
    EXPECT_EQ(s.size(), 1115394u);  // plain ASCII, LF: unchanged
    EXPECT_EQ(s.compare(0, 14, "First Citizen:"), 0);
}
