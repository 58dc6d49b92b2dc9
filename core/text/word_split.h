// fusedrnn — splitting text into words and punctuation, and joining them back for display.
//
// Splitting rules (on code points, so every script and NFD text work):
// - Unicode white space (and U+FEFF, U+200B) separates tokens and is dropped.
// - Each punctuation mark is a token of its own: "cat." → "cat" "."; "..." → "." "." ".".
//   Punctuation = ASCII punctuation and symbols, Latin-1 punctuation (¡ « » ¿ · ...), General
//   Punctuation (dashes, curly quotes, …), CJK and full-width punctuation; and, in rules 2 (the
//   default since 0.3.14), the currency signs (€ ₫ ₹ ...), arrows, mathematical operators (≤ ∑ ...)
//   and ™ ℠ ℗ № ℃ ℉, so "5€" is "5" "€" as "$5" is "$" "5". Rules 1 kept those inside words ("5€",
//   "x≤y"): word vocabularies record their rules, so models trained before split as they learned.
// - Except inside a word, where a mark joins two word characters: an apostrophe (' or ’) or a
//   hyphen between letters ("don't", "mouse's", "well-known"), and '.' or ',' between digits
//   ("3.14", "1,000"). A leading or trailing one is still split off ("'tis" → "'" "tis").
// - Everything else (letters, digits, combining marks, emoji, ...) is a word character.
//
// Joining (decode) is for people reading generated text, not an exact inverse (splitting drops
// white space): tokens are separated by one space, except that closing marks (. , ; : ! ? ) ] } …
// ” » %) attach to the token before, opening marks (( [ { “ ‘ « ¿ ¡) and prefix signs ($ # £ ¥, and the
// currency block's € ₫ ₹ ... except after a number: "5€", "€5") to
// the token after, dashes and slashes to both, and straight quotes (" and a lone ') alternate between
// opening and closing. Abbreviations come back spaced ("e. g."): telling them from a sentence's end
// would need the tokens after, which text printed as it is generated does not have.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace fusedrnn::text {

// The splitting rules split_words follows unless told otherwise (see above).
constexpr int kWordSplitRules = 2;

bool is_space(char32_t cp);
bool is_punctuation(char32_t cp, int rules = kWordSplitRules);

// Surface tokens of valid UTF-8 `text` (no lower-casing; see the rules above). `source` names the
// text in UTF-8 errors; `rules`: 1 or 2.
std::vector<std::string> split_words(std::string_view text, std::string_view source = "text",
                                     int rules = kWordSplitRules);

// Join word/punctuation tokens into readable text (see the rules above).
std::string join_words(const std::vector<std::string>& tokens);

// join_words one token at a time (for text printed while it is generated): the pieces append() returns,
// concatenated, are join_words of the tokens.
class WordJoiner {
public:
    std::string append(const std::string& token);  // the token, with the space before it when one belongs there

private:
    bool glue_next_ = true;                 // no space before the first token
    bool quote_open_[2] = {false, false};   // '"' and '\'' each alternate open/close
    bool after_number_ = false;             // the last token ended in a digit (a currency sign after it joins it)
};

}  // namespace fusedrnn::text
