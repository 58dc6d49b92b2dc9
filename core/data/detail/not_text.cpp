#include "fusedrnn/core/data/detail/not_text.h"

#include <algorithm>

#include <fmt/format.h>

namespace fusedrnn::data::csv_detail {

namespace {

// Whether the NUL bytes of `line` are those of UTF-16 text: every other byte (the high byte of each ASCII
// character), at one parity only.
bool utf16_pattern(std::string_view line) {
    size_t nul[2] = {0, 0}, all[2] = {0, 0};
    for (size_t i = 0; i < line.size(); ++i) {
        ++all[i % 2];
        nul[i % 2] += line[i] == '\0';
    }
    return (nul[0] == 0) != (nul[1] == 0) && 2 * std::max(nul[0], nul[1]) >= all[nul[0] == 0 ? 1 : 0];
}

// "utf-32le" or "utf-32be" when `line` reads like UTF-32 text without a byte-order mark (four bytes a character: one
// of the four places never NUL, the other three almost always, below U+0100 as Latin letters and digits are), else
// nullptr.
const char* utf32_pattern(std::string_view line) {
    size_t nul[4] = {0, 0, 0, 0};
    for (size_t i = 0; i < line.size(); ++i) nul[i % 4] += line[i] == '\0';
    const size_t chars = line.size() / 4;
    if (chars < 2) return nullptr;
    const auto mostly = [&](size_t z) { return z * 10 >= chars * 9; };
    if (nul[0] == 0 && mostly(nul[1]) && mostly(nul[2]) && mostly(nul[3])) return "utf-32le";
    if (nul[3] == 0 && mostly(nul[0]) && mostly(nul[1]) && mostly(nul[2])) return "utf-32be";
    return nullptr;
}

// What keeps a file whose first line is `line` from being UTF-8 text, as a message's end; empty when nothing does.
// Office files first: a workbook renamed (or saved by mistake) to .csv is the binary file users meet most.
}  // namespace

std::string not_text_why(std::string_view line) {
    const auto starts = [&](std::string_view magic) { return line.substr(0, magic.size()) == magic; };
    // Compressed otherwise than with gzip, which the readers read (fuzz QA: a bzip2'd ISD-Lite file was "text after
    // column 61").
    const bool bzip2 = starts("BZh") && line.substr(4, 6) == "1AY&SY";  // "BZh", the block size, a block's magic
    if (bzip2 || starts("\xFD" "7zXZ") || starts("\x28\xB5\x2F\xFD") || starts("7z\xBC\xAF"))
        return "is not a text file (it starts with the signature of a bzip2, xz, zstd or 7z archive: decompress it; "
               "gzip files are read as they are)";
    if (starts("PK\x03\x04") || starts("PK\x05\x06"))
        return "is not a text file (it starts with a ZIP signature: a .zip archive, or an Excel .xlsx workbook? unzip "
               "it, or save the workbook as CSV)";
    if (starts("\xD0\xCF\x11\xE0"))
        return "is not a text file (it starts with an OLE2 signature: an Excel .xls workbook? save it as CSV)";
    // UTF-32's marks before UTF-16's: the little-endian one begins with UTF-16LE's (FF FE).
    if (starts(std::string_view("\xFF\xFE\0\0", 4)) || starts(std::string_view("\0\0\xFE\xFF", 4)))
        return "is UTF-32 text, not UTF-8: convert it (iconv -f utf-32 -t utf-8)";
    if (const char* order = utf32_pattern(line))
        return fmt::format("is UTF-32 text, not UTF-8: convert it (iconv -f {} -t utf-8)", order);
    // Without a mark, iconv's "utf-16" takes the bytes as little-endian (glibc): the order is named (QA's recheck).
    const char* utf16 = starts("\xFF\xFE") || starts("\xFE\xFF") ? "utf-16"
                        : line.find('\0') != std::string_view::npos && utf16_pattern(line)
                            ? (line[0] == '\0' ? "utf-16be" : "utf-16le")
                            : nullptr;
    if (utf16)
        return fmt::format("is UTF-16 text (Excel's \"Unicode Text\"), not UTF-8: save it as CSV UTF-8, or convert it "
                           "(iconv -f {} -t utf-8)", utf16);
    if (line.find('\0') != std::string_view::npos)
        return "is not a text file (its first line holds NUL bytes: a program, an image or an archive?)";
    return "";
}

std::string line_end_why(std::string_view line, bool unterminated) {
    const size_t cr = line.find('\r');
    if (cr == std::string_view::npos) return "";
    if (line.find_first_not_of('\r', cr) == std::string_view::npos)
        return "the lines end in more than one carriage return (CR CR LF: line ends converted to Windows' twice?), "
               "which would stay in each line's last field: convert them (sed 's/\\r*$//')";
    if (unterminated || std::count(line.begin(), line.end(), '\r') >= 2)
        return "the lines end in a carriage return alone (classic Mac line ends), so the whole file reads as one "
               "line: convert them (tr '\\r' '\\n')";
    return "";
}

}  // namespace fusedrnn::data::csv_detail
