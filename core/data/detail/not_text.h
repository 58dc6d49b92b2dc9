// fusedrnn::data, inside the station readers: telling a file that is no UTF-8 text by its first line.
#pragma once

#include <string>
#include <string_view>

namespace fusedrnn::data::csv_detail {

// What keeps a file whose first line is `line` from being UTF-8 text (an Excel workbook, an archive, UTF-16 or
// UTF-32 text, a binary file), as the end of a message after "the file "; empty when nothing does.
std::string not_text_why(std::string_view line);

}  // namespace fusedrnn::data::csv_detail
