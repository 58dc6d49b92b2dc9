// fusedrnn::data, inside the station readers: telling a file that is no UTF-8 text by its first line.
#pragma once

#include <string>
#include <string_view>

namespace fusedrnn::data::csv_detail {

// What keeps a file whose first line is `line` from being UTF-8 text (an Excel workbook, an archive, UTF-16 or
// UTF-32 text, a binary file), as the end of a message after "the file "; empty when nothing does.
std::string not_text_why(std::string_view line);

// What the carriage returns left in a file's first line (LineReader takes one off a line's end) say of its line ends,
// as the end of a message after the file's name: CR CR LF (each line's last field would keep one), or CR alone
// (classic Mac: `unterminated` when the line ran to the end of the file, the whole file one line); empty when
// neither (no CR, or one inside the line: the caller names it).
std::string line_end_why(std::string_view line, bool unterminated);

}  // namespace fusedrnn::data::csv_detail
