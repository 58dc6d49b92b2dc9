// safetensors checkpoints: round trips, byte-exact format, every corruption the reader must reject,
// and the atomic-write guarantees.
#include "fusedrnn/core/safetensors.h"
#include "fusedrnn/core/detail/temp_file.h"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "fusedrnn/core/error.h"
#include "fusedrnn/tests/test_support.h"

namespace fs = std::filesystem;
using namespace fusedrnn;
using fusedrnn::testing::temp_dir;

namespace {

std::string read_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_bytes(const std::string& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string u64_le(uint64_t n) {
    std::string s(8, '\0');
    for (int i = 0; i < 8; ++i) s[i] = static_cast<char>((n >> (8 * i)) & 0xff);
    return s;
}

// A file from a literal header and `data_bytes` bytes of data (the header is padded as the format asks).
std::string raw_file(std::string header, size_t data_bytes) {
    header.append((8 - header.size() % 8) % 8, ' ');
    return u64_le(header.size()) + header + std::string(data_bytes, '\x01');
}

std::vector<std::string> dir_entries(const std::string& dir) {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
}

// Reading `path` must throw fusedrnn::Error whose message names the file and contains `needle`.
void expect_read_error(const std::string& path, const std::string& needle) {
    try {
        (void)read_safetensors(path);
        ADD_FAILURE() << "reading " << path << " did not throw (expected '" << needle << "')";
    } catch (const Error& e) {
        const std::string msg = e.what();
        EXPECT_NE(msg.find(path), std::string::npos) << "message does not name the file: " << msg;
        EXPECT_NE(msg.find(needle), std::string::npos) << "expected '" << needle << "' in: " << msg;
    }
}

void expect_raw_rejected(const std::string& header, size_t data_bytes, const std::string& needle) {
    const std::string path = temp_dir() + "/bad.safetensors";
    write_bytes(path, raw_file(header, data_bytes));
    SCOPED_TRACE(header);
    expect_read_error(path, needle);
}

SafetensorsFile sample_file() {
    SafetensorsFile f;
    const std::vector<float> w = {1.5f, -2.25f, 3.0f, 0.125f, -0.0f, 1e-30f};
    const std::vector<double> b = {1.0 / 3.0, -2e300, 4.0, 5.5};
    const std::vector<int32_t> ids = {7, -8, 2147483647};
    const int64_t step = 1234567890123LL;
    f.add_f32("rnn.weight_ih_l0", {2, 3}, w.data());
    f.add_f64("rnn.bias_ih_l0", {4}, b.data());
    f.add_i32("vocab.ids", {3}, ids.data());
    f.add_i64("step", {}, &step);          // a scalar: empty shape, one element
    f.add_f32("empty", {0, 5}, nullptr);   // zero elements
    f.metadata["spec"] = R"({"cell":"lstm","hidden":6})";
    f.metadata["format"] = "pt";
    return f;
}

}  // namespace

TEST(Safetensors, RoundTripAllDtypesMetadataScalar) {
    const std::string path = temp_dir() + "/ckpt.safetensors";
    const SafetensorsFile in = sample_file();
    write_safetensors(path, in);
    const SafetensorsFile out = read_safetensors(path);

    EXPECT_EQ(out.metadata, in.metadata);
    EXPECT_EQ(out.source, path);
    ASSERT_EQ(out.tensors().size(), in.tensors().size());
    for (const auto& t : in.tensors()) {
        ASSERT_TRUE(out.has(t.name)) << t.name;
        const auto& r = out.at(t.name);
        EXPECT_EQ(r.dtype, t.dtype) << t.name;
        EXPECT_EQ(r.shape, t.shape) << t.name;
        EXPECT_EQ(r.bytes, t.bytes) << t.name;
    }
    EXPECT_EQ(out.get_f32("rnn.weight_ih_l0"), (std::vector<float>{1.5f, -2.25f, 3.0f, 0.125f, -0.0f, 1e-30f}));
    EXPECT_EQ(out.get_f64("rnn.bias_ih_l0"), (std::vector<double>{1.0 / 3.0, -2e300, 4.0, 5.5}));
    EXPECT_EQ(out.get_i32("vocab.ids"), (std::vector<int32_t>{7, -8, 2147483647}));
    EXPECT_EQ(out.get_i64("step"), (std::vector<int64_t>{1234567890123LL}));
    EXPECT_TRUE(out.get_f32("empty").empty());
    EXPECT_EQ(out.at("step").shape, Shape{});

    // 8-byte tensors are laid out first (alignment), insertion order kept within each size.
    EXPECT_EQ(out.names(),
              (std::vector<std::string>{"rnn.bias_ih_l0", "step", "rnn.weight_ih_l0", "vocab.ids", "empty"}));
    // Writing what was read reproduces the file byte for byte.
    const std::string again = temp_dir() + "/again.safetensors";
    write_safetensors(again, out);
    EXPECT_EQ(read_bytes(again), read_bytes(path));
}

TEST(Safetensors, EmptyFile) {
    const std::string path = temp_dir() + "/empty.safetensors";
    write_safetensors(path, SafetensorsFile{});
    EXPECT_EQ(read_bytes(path), u64_le(8) + "{}      ");
    const auto f = read_safetensors(path);
    EXPECT_TRUE(f.tensors().empty());
    EXPECT_TRUE(f.metadata.empty());
}

TEST(Safetensors, ByteExactAgainstHandBuiltFile) {
    SafetensorsFile f;
    const float a[2] = {1.0f, -2.0f};
    const int64_t b = 7;
    f.add_f32("a", {2}, a);
    f.add_i64("b", {}, &b);
    f.metadata["format"] = "pt";

    // What the reference implementation writes: compact JSON, __metadata__ first, keys dtype/shape/
    // data_offsets, 8-byte dtypes first, spaces to a multiple of 8, little-endian data.
    const std::string header =
        R"({"__metadata__":{"format":"pt"},"b":{"dtype":"I64","shape":[],"data_offsets":[0,8]},)"
        R"("a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})";
    ASSERT_EQ(header.size(), 138u);
    const std::string expected = u64_le(144) + header + std::string(6, ' ') +
                                 std::string("\x07\0\0\0\0\0\0\0", 8) +      // 7 as i64
                                 std::string("\0\0\x80\x3f", 4) +           // 1.0f
                                 std::string("\0\0\0\xc0", 4);              // -2.0f
    const std::string path = temp_dir() + "/exact.safetensors";
    write_safetensors(path, f);
    EXPECT_EQ(read_bytes(path), expected);

    // And the hand-built bytes read back to the same values.
    const std::string hand = temp_dir() + "/hand.safetensors";
    write_bytes(hand, expected);
    const auto r = read_safetensors(hand);
    EXPECT_EQ(r.get_f32("a"), (std::vector<float>{1.0f, -2.0f}));
    EXPECT_EQ(r.get_i64("b"), (std::vector<int64_t>{7}));
    EXPECT_EQ(r.metadata.at("format"), "pt");
}

TEST(Safetensors, ReadsUnpaddedHeaderAndIgnoresUnknownEntryKeys) {
    // Other writers need not pad; newer ones may add keys to an entry.
    const std::string header = R"({"x":{"dtype":"F64","shape":[1],"data_offsets":[0,8],"extra":1}})";
    const std::string path = temp_dir() + "/other.safetensors";
    const double v = 2.5;
    std::string bytes = u64_le(header.size()) + header + std::string(8, '\0');
    std::memcpy(bytes.data() + 8 + header.size(), &v, 8);
    write_bytes(path, bytes);
    EXPECT_EQ(read_safetensors(path).get_f64("x"), std::vector<double>{2.5});
}

TEST(Safetensors, ConversionsAndShapeChecks) {
    SafetensorsFile f;
    const double d[3] = {0.1, 0.2, 1e300};
    const int64_t big[2] = {5, int64_t(1) << 40};
    const int32_t small[2] = {-3, 4};
    f.add_f64("d", {3}, d);
    f.add_i64("big", {2}, big);
    f.add_i32("small", {1, 2}, small);

    EXPECT_EQ(f.get_f32("d")[0], 0.1f);  // F64 → F32 rounds
    EXPECT_EQ(f.get_i64("small"), (std::vector<int64_t>{-3, 4}));
    EXPECT_THROW(f.get_i32("big"), Error);  // 2^40 does not fit
    EXPECT_THROW(f.get_f32("small"), Error);
    EXPECT_THROW(f.get_i64("d"), Error);

    float out[3];
    f.copy_f32("d", {3}, out);
    EXPECT_EQ(out[1], 0.2f);
    try {
        f.copy_f32("d", {1, 3}, out);
        ADD_FAILURE() << "shape mismatch not detected";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("expected shape [1, 3], got [3]"), std::string::npos) << e.what();
    }
    try {
        (void)f.get_f64("nope");
        ADD_FAILURE() << "missing tensor not detected";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("'nope'"), std::string::npos) << e.what();
    }
}

TEST(Safetensors, AddRejectsBadTensors) {
    SafetensorsFile f;
    const float x = 1;
    f.add_f32("x", {1}, &x);
    EXPECT_THROW(f.add_f32("x", {1}, &x), Error);
    EXPECT_THROW(f.add_f32("", {1}, &x), Error);
    EXPECT_THROW(f.add_f32("__metadata__", {1}, &x), Error);
    EXPECT_THROW(f.add("y", "BF16", {1}, &x), Error);
    EXPECT_THROW(f.add_f32("z", {-1}, &x), Error);
    EXPECT_THROW(f.add_f32("w", {2}, nullptr), Error);
    EXPECT_EQ(f.names(), std::vector<std::string>{"x"});
}

// ---- corruption: write a valid file, then damage it --------------------------------------------

TEST(SafetensorsCorrupt, MissingFileAndDirectory) {
    const std::string dir = temp_dir();
    expect_read_error(dir + "/absent.safetensors", "No such file");
    expect_read_error(dir, "not a regular file");
}

TEST(SafetensorsCorrupt, ShorterThanEightBytes) {
    const std::string path = temp_dir() + "/short.safetensors";
    write_safetensors(path, sample_file());
    fs::resize_file(path, 5);
    expect_read_error(path, "shorter than the 8-byte header length");
    fs::resize_file(path, 0);
    expect_read_error(path, "shorter than");
}

// A file of zeros (QA: an all-zero last.safetensors was "header is not valid JSON at byte 8").
TEST(SafetensorsCorrupt, AllZeroFileIsNamedAsSuch) {
    const std::string path = temp_dir() + "/zeros.safetensors";
    write_bytes(path, std::string(4096, '\0'));
    expect_read_error(path, "header length 0 (its first bytes are zeros: the file is damaged or was never written)");
}

TEST(SafetensorsCorrupt, HeaderLengthLargerThanFileOrLimit) {
    const std::string path = temp_dir() + "/len.safetensors";
    write_safetensors(path, sample_file());
    std::string bytes = read_bytes(path);
    const std::string original = bytes;

    bytes.replace(0, 8, u64_le(bytes.size()));  // one more than what follows the length
    write_bytes(path, bytes);
    expect_read_error(path, "larger than the");

    bytes.replace(0, 8, u64_le(200'000'000));
    write_bytes(path, bytes);
    expect_read_error(path, "100 MB");

    bytes.replace(0, 8, u64_le(~uint64_t(0)));
    write_bytes(path, bytes);
    expect_read_error(path, "100 MB");

    // A text file given as a checkpoint: its first 8 bytes make an absurd length, and the message says what it is not.
    const std::string text = temp_dir() + "/notes.safetensors";
    write_bytes(text, "these are my notes, not a checkpoint\n");
    expect_read_error(text, "(it is not a safetensors file, or its start is damaged)");

    // A shorter length cuts the JSON in the middle.
    bytes = original;
    bytes.replace(0, 8, u64_le(16));
    write_bytes(path, bytes);
    expect_read_error(path, "the file is damaged: its header is not valid JSON at byte");
}

TEST(SafetensorsCorrupt, InvalidJson) {
    const std::string path = temp_dir() + "/json.safetensors";
    write_safetensors(path, sample_file());
    std::string bytes = read_bytes(path);
    bytes[8] = '[';  // the opening brace of the header
    write_bytes(path, bytes);
    expect_read_error(path, "the file is damaged: its header is not valid JSON at byte");

    expect_raw_rejected(R"({"a": )", 0, "not valid JSON at byte 16 (");  // the end of the padded header
    expect_raw_rejected("{\"a\xff\": 1}", 0, "not valid JSON at byte 11 (");  // not UTF-8
    expect_raw_rejected(R"([1, 2])", 0, "not an object");
    expect_raw_rejected(R"("text")", 0, "not an object");
}

// A flipped bit in a metadata string makes the header invalid UTF-8: the message says where, with a short printable
// excerpt, not the kilobyte of metadata the JSON parser read since the string began (with the invalid byte in it).
TEST(SafetensorsCorrupt, InvalidJsonIsShownAsAPlaceAndAShortPrintableExcerpt) {
    const std::string path = temp_dir() + "/flipped.safetensors";
    SafetensorsFile f = sample_file();
    f.metadata["spec"] = std::string(2000, 'x');
    write_safetensors(path, f);
    std::string bytes = read_bytes(path);
    const size_t at = bytes.find(std::string(2000, 'x')) + 1500;
    bytes[at] = static_cast<char>(bytes[at] ^ 0x80);
    write_bytes(path, bytes);
    try {
        (void)read_safetensors(path);
        ADD_FAILURE() << "a header with an invalid UTF-8 byte was read";
    } catch (const Error& e) {
        const std::string msg = e.what();
        EXPECT_NE(msg.find(path + "': the file is damaged: its header is not valid JSON at byte " +
                           std::to_string(at) + " ("), std::string::npos) << msg;
        EXPECT_NE(msg.find("ill-formed UTF-8 byte"), std::string::npos) << msg;
        EXPECT_NE(msg.find("xxxx\\xf8xxxx"), std::string::npos) << msg;  // the byte itself, as \xNN
        EXPECT_LT(msg.size(), 400u) << msg;
        for (unsigned char c : msg) EXPECT_TRUE(c >= 0x20 && c < 0x7f) << "raw byte " << int(c) << " in: " << msg;
    }
}

// nlohmann stops at a NUL byte as at the end of its input: a header damaged into NULs after a complete JSON object
// (its padding, or more) must not read as valid.
TEST(SafetensorsCorrupt, NulByteInTheHeader) {
    const std::string path = temp_dir() + "/nul.safetensors";
    write_bytes(path, raw_file(std::string("{}") + '\0' + "garbage", 0));
    expect_read_error(path, "the file is damaged: its header holds a NUL byte at byte 10 (near '{}\\x00garbage");
}

TEST(SafetensorsCorrupt, EntriesThatAreNotObjectsOrLackFields) {
    expect_raw_rejected(R"({"a": 5})", 0, "entry 'a' is a JSON number, not an object");
    expect_raw_rejected(R"({"a": [0, 4]})", 0, "not an object");
    expect_raw_rejected(R"({"a": {"shape": [1], "data_offsets": [0, 4]}})", 4, "has no \"dtype\"");
    expect_raw_rejected(R"({"a": {"dtype": "F32", "data_offsets": [0, 4]}})", 4, "has no \"shape\"");
    expect_raw_rejected(R"({"a": {"dtype": "F32", "shape": [1]}})", 4, "has no \"data_offsets\"");
    expect_raw_rejected(R"({"a": {"dtype": 3, "shape": [1], "data_offsets": [0, 4]}})", 4, "dtype is not a string");
}

TEST(SafetensorsCorrupt, UnknownDtype) {
    const std::string path = temp_dir() + "/dtype.safetensors";
    SafetensorsFile f;
    const float x[2] = {1, 2};
    f.add_f32("x", {2}, x);
    write_safetensors(path, f);
    std::string bytes = read_bytes(path);
    const size_t at = bytes.find("\"F32\"");
    ASSERT_NE(at, std::string::npos);
    bytes.replace(at, 5, "\"F17\"");
    write_bytes(path, bytes);
    expect_read_error(path, "unsupported dtype 'F17'");
    expect_raw_rejected(R"({"a": {"dtype": "BF16", "shape": [2], "data_offsets": [0, 4]}})", 4,
                        "unsupported dtype 'BF16'");
}

TEST(SafetensorsCorrupt, BadShapes) {
    expect_raw_rejected(R"({"a": {"dtype": "F32", "shape": [-1, 2], "data_offsets": [0, 8]}})", 8,
                        "negative dimension");
    expect_raw_rejected(R"({"a": {"dtype": "F32", "shape": [1.5], "data_offsets": [0, 4]}})", 4,
                        "non-integer dimension");
    expect_raw_rejected(R"({"a": {"dtype": "F32", "shape": "2", "data_offsets": [0, 8]}})", 8,
                        "shape is not an array");
    // 2^62 · 2^62 elements overflow 64 bits: must not wrap around to a small byte count.
    expect_raw_rejected(
        R"({"a": {"dtype": "F32", "shape": [4611686018427387904, 4611686018427387904], "data_offsets": [0, 0]}})",
        0, "needs too many bytes");
}

TEST(SafetensorsCorrupt, ShapeByteCountMismatch) {
    const std::string path = temp_dir() + "/count.safetensors";
    SafetensorsFile f;
    const float x[6] = {1, 2, 3, 4, 5, 6};
    f.add_f32("x", {2, 3}, x);
    write_safetensors(path, f);
    std::string bytes = read_bytes(path);
    const size_t at = bytes.find("[2,3]");
    ASSERT_NE(at, std::string::npos);
    bytes.replace(at, 5, "[2,4]");
    write_bytes(path, bytes);
    expect_read_error(path, "shape [2, 4] of F32 needs 32 bytes but data_offsets [0, 24] hold 24");
    expect_raw_rejected(R"({"a": {"dtype": "F64", "shape": [], "data_offsets": [0, 4]}})", 4, "needs 8 bytes");
}

TEST(SafetensorsCorrupt, BadDataOffsets) {
    const std::string f32x2 = R"("dtype": "F32", "shape": [2])";
    auto entry = [&](const char* name, int b, int e) {
        return fmt::format(R"("{}": {{{}, "data_offsets": [{}, {}]}})", name, f32x2, b, e);
    };
    expect_raw_rejected("{" + entry("a", 0, 8) + ", " + entry("b", 4, 12) + "}", 12, "overlap");
    expect_raw_rejected("{" + entry("a", 0, 8) + ", " + entry("b", 0, 8) + "}", 8, "overlap");
    expect_raw_rejected("{" + entry("a", 0, 8) + ", " + entry("b", 12, 20) + "}", 20, "gap");
    expect_raw_rejected("{" + entry("a", 8, 16) + "}", 16, "do not start at 0");
    expect_raw_rejected("{" + entry("a", 0, 8) + "}", 12, "do not cover the data section");
    expect_raw_rejected("{}", 3, "do not cover the data section");
    expect_raw_rejected(R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [8, 0]}})", 8, "end before");
    expect_raw_rejected(R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0]}})", 8, "two non-negative");
    expect_raw_rejected(R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [-8, 0]}})", 8, "two non-negative");
}

TEST(SafetensorsCorrupt, TrailingBytesAfterTheData) {
    const std::string path = temp_dir() + "/trail.safetensors";
    write_safetensors(path, sample_file());
    write_bytes(path, read_bytes(path) + "xyz");
    expect_read_error(path, "3 bytes after the last tensor");
}

TEST(SafetensorsCorrupt, DuplicateNames) {
    const std::string e = R"({"dtype": "F32", "shape": [1], "data_offsets": [0, 4]})";
    expect_raw_rejected("{\"a\": " + e + ", \"a\": " + e + "}", 4, "duplicate key 'a'");
    expect_raw_rejected(R"({"__metadata__": {"k": "1", "k": "2"}})", 0, "duplicate key 'k'");
}

TEST(SafetensorsCorrupt, MetadataThatIsNotStrings) {
    expect_raw_rejected(R"({"__metadata__": {"step": 5}})", 0, "metadata value for key 'step' is a JSON number");
    expect_raw_rejected(R"({"__metadata__": {"spec": {"cell": "lstm"}}})", 0, "not a string");
    expect_raw_rejected(R"({"__metadata__": ["a"]})", 0, "__metadata__ is a JSON array, not an object");
}

TEST(SafetensorsCorrupt, TruncatedData) {
    const std::string path = temp_dir() + "/trunc.safetensors";
    write_safetensors(path, sample_file());
    const auto size = fs::file_size(path);
    fs::resize_file(path, size - 1);
    expect_read_error(path, "truncated data");
    // Cut right after the header: every tensor is missing.
    std::string bytes = read_bytes(path);
    uint64_t n = 0;
    std::memcpy(&n, bytes.data(), 8);
    fs::resize_file(path, 8 + n);
    expect_read_error(path, "truncated data");
}

// ---- atomic writes -----------------------------------------------------------------------------

TEST(SafetensorsWrite, LeavesNoTemporaryFilesAndReplacesTheOldFile) {
    const std::string dir = temp_dir();
    const std::string path = dir + "/model.safetensors";
    write_safetensors(path, sample_file());
    SafetensorsFile second;
    const double v = 42;
    second.add_f64("v", {1}, &v);
    write_safetensors(path, second);
    EXPECT_EQ(dir_entries(dir), std::vector<std::string>{"model.safetensors"});
    EXPECT_EQ(read_safetensors(path).names(), std::vector<std::string>{"v"});

    // A bare file name writes into the working directory.
    const auto cwd = fs::current_path();
    fs::current_path(dir);
    write_safetensors("bare.safetensors", second);
    fs::current_path(cwd);
    EXPECT_EQ(dir_entries(dir), (std::vector<std::string>{"bare.safetensors", "model.safetensors"}));
}

TEST(SafetensorsWrite, NonexistentFolderThrowsNamingThePath) {
    const std::string path = temp_dir() + "/no/such/folder/model.safetensors";
    try {
        write_safetensors(path, sample_file());
        ADD_FAILURE() << "writing into a missing folder did not throw";
    } catch (const Error& e) {
        const std::string msg = e.what();
        EXPECT_NE(msg.find(path), std::string::npos) << msg;
        EXPECT_NE(msg.find("No such file or directory"), std::string::npos) << msg;
    }
}

// A new file replaces the old one by a rename, never by writing into it: a hard link to the old file (a backup made
// with `cp -l`, or a reader holding it open) still holds the old bytes, whole (mutation testing: writing in place with
// O_TRUNC passed every test but for a message's wording).
TEST(SafetensorsWrite, ReplacesTheFileRatherThanWritingIntoIt) {
    const std::string dir = temp_dir();
    const std::string path = dir + "/model.safetensors", link = dir + "/backup.safetensors";
    write_safetensors(path, sample_file());
    const std::string before = read_bytes(path);
    fs::create_hard_link(path, link);
    SafetensorsFile other;
    const float x[3] = {7, 8, 9};
    other.add_f32("w", {3}, x);
    write_safetensors(path, other);
    EXPECT_EQ(read_bytes(link), before);
    EXPECT_NE(read_bytes(path), before);
    EXPECT_EQ(fs::hard_link_count(path), 1u);
}

TEST(SafetensorsWrite, FailureKeepsTheOldFileAndCleansUp) {
    const std::string dir = temp_dir();
    const std::string path = dir + "/model.safetensors";
    write_safetensors(path, sample_file());
    const std::string before = read_bytes(path);

    // Fails while building the header (a name that is not UTF-8): nothing may be touched.
    SafetensorsFile bad;
    const float x = 1;
    bad.add_f32("bad\xff", {1}, &x);
    try {
        write_safetensors(path, bad);
        ADD_FAILURE() << "invalid UTF-8 name was written";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    }
    EXPECT_EQ(read_bytes(path), before);
    EXPECT_EQ(dir_entries(dir), std::vector<std::string>{"model.safetensors"});

    // Fails at the rename (the target is a non-empty folder): the temporary file must be removed.
    const std::string folder = dir + "/taken";
    fs::create_directories(folder + "/inside");
    try {
        write_safetensors(folder, sample_file());
        ADD_FAILURE() << "renaming over a non-empty folder did not throw";
    } catch (const Error& e) {
        const std::string msg = e.what();
        EXPECT_NE(msg.find(folder), std::string::npos) << msg;
        EXPECT_NE(msg.find("rename"), std::string::npos) << msg;
    }
    EXPECT_EQ(dir_entries(dir), (std::vector<std::string>{"model.safetensors", "taken"}));
    EXPECT_EQ(read_bytes(path), before);
}

// The hook a caller checks its right to write in (the CLI: its output folder's lock) runs once the new file is whole
// beside the old one and before it replaces it; an Error from it leaves the old file and no temporary one.
TEST(SafetensorsWrite, BeforeRenameRunsOnTheWrittenFileAndItsErrorKeepsTheOldOne) {
    const std::string dir = temp_dir();
    const std::string path = dir + "/model.safetensors";
    write_safetensors(path, sample_file());
    const std::string before = read_bytes(path);
    SafetensorsFile other;
    const float x[3] = {7, 8, 9};
    other.add_f32("w", {3}, x);
    std::vector<std::string> seen;
    write_safetensors(path, other, [&] {
        seen = dir_entries(dir);
        EXPECT_EQ(read_bytes(path), before) << "not replaced yet";
        for (const auto& name : seen) {
            if (name == "model.safetensors") continue;
            EXPECT_EQ(read_safetensors(dir + "/" + name).names(), other.names());
        }
    });
    ASSERT_EQ(seen.size(), 2u) << "the old file and the whole new one beside it";
    EXPECT_EQ(read_safetensors(path).names(), other.names());

    const std::string now = read_bytes(path);
    EXPECT_THROW(write_safetensors(path, sample_file(), [] { FR_FAIL("the folder is another run's now"); }), Error);
    EXPECT_EQ(read_bytes(path), now);
    EXPECT_EQ(dir_entries(dir), std::vector<std::string>{"model.safetensors"});
}

// A handler ending the process (remove_temp_files_for_exit) leaves no temp file of a thread creating one as it runs:
// that thread's file is waited for and removed, and none is made after (QA: 1 SIGTERM in 15-40 of data synth left an
// empty one). In forked children, each with a thread making temp files without pause while the main thread ends it.
TEST(SafetensorsWrite, NoThreadMakesATempFileAfterTheRemovalForExit) {
    const std::string dir = temp_dir();
    for (int trial = 0; trial < 100; ++trial) {
        const pid_t child = ::fork();
        ASSERT_GE(child, 0);
        if (child == 0) {
            std::thread writer([&] {
                for (;;) {
                    std::string tmp;
                    int slot = -1;
                    const int fd = detail::create_temp_beside(dir + "/s.csv", tmp, "station file", &slot);
                    ::close(fd);
                    ::unlink(tmp.c_str());
                    detail::unregister_temp_file(slot);
                }
            });
            std::this_thread::sleep_for(std::chrono::microseconds(200 + 37 * trial));
            detail::remove_temp_files_for_exit();
            ::_exit(0);  // as the handler's raise ends the process, the writer with it
        }
        int status = 0;
        ASSERT_EQ(::waitpid(child, &status, 0), child);
        ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
        ASSERT_EQ(dir_entries(dir), std::vector<std::string>{}) << "trial " << trial;
    }
}

// The temporary file is registered for removal on a signal while it is being written (the CLI's handler, on a second
// Ctrl-C during a checkpoint save, removes it rather than leave a file as large as the model): removing the registered
// files just before the rename leaves the old file and no temporary one, and the write fails naming the rename.
TEST(SafetensorsWrite, ItsTemporaryFileIsRegisteredForRemovalOnASignal) {
    const std::string dir = temp_dir();
    const std::string path = dir + "/model.safetensors";
    write_safetensors(path, sample_file());
    const std::string before = read_bytes(path);
    try {
        write_safetensors(path, sample_file(), [] { detail::remove_registered_temp_files(); });
        ADD_FAILURE() << "the temporary file was not registered: it survived and was renamed";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("rename"), std::string::npos) << e.what();
    }
    EXPECT_EQ(read_bytes(path), before);
    EXPECT_EQ(dir_entries(dir), std::vector<std::string>{"model.safetensors"});
}
