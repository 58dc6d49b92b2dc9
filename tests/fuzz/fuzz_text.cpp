// Coverage-guided fuzz of the text path of the language models: tokenizers built from arbitrary bytes, and
// tokenizers read back from arbitrary JSON (checkpoint metadata). The first byte picks the options (kind,
// lower-casing, a size cap); the rest is the text, or the JSON when the top bit is set. Promises checked:
//   - building, encoding and reading JSON throw nothing but fusedrnn::Error (invalid UTF-8, bad fields);
//   - a character tokenizer without lower-casing or a cap round-trips its own corpus byte for byte;
//   - every id encode() returns is in the vocabulary, and decode() of them is valid UTF-8;
//   - the streaming decoder's pieces concatenate to decode();
//   - to_json() then from_json() gives a tokenizer that encodes the text to the same ids.
// Run by scripts/fuzz.sh.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>
#include <typeinfo>
#include <vector>

#include "fusedrnn/core/error.h"
#include "fusedrnn/core/text/tokenizer.h"
#include "fusedrnn/tests/reader_contract.h"

using namespace fusedrnn;
using namespace fusedrnn::text;

namespace {

[[noreturn]] void broken(const std::string& what) {
    std::fprintf(stderr, "text contract broken: %s\n", what.c_str());
    std::abort();
}

// round_trip: decode(encode(text)) must give `text` back.
void check_tokenizer(const Tokenizer& tok, std::string_view text, bool round_trip) {
    const std::vector<int32_t> ids = tok.encode(text);
    for (int32_t id : ids)
        if (id < 0 || id >= tok.size()) broken("encode returned id " + std::to_string(id) + " of " + std::to_string(tok.size()));
    const std::string decoded = tok.decode(ids);
    if (!testing::valid_utf8(decoded)) broken("decode gave invalid UTF-8: " + testing::show(decoded, 200));
    if (round_trip && decoded != text)
        broken("a character tokenizer does not round-trip its corpus: " + testing::show(std::string(text), 200) +
               " -> " + testing::show(decoded, 200));
    StreamDecoder stream(tok);
    std::string pieces;
    for (int32_t id : ids) pieces += stream.next(id);
    if (pieces != decoded) broken("streamed pieces " + testing::show(pieces, 200) + " != decode " + testing::show(decoded, 200));
    const Tokenizer back = Tokenizer::from_json(tok.to_json());
    if (back.encode(text) != ids) broken("the tokenizer read back from its JSON encodes differently");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    const uint8_t flags = data[0];
    const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
    TokenizerOptions o;
    o.kind = (flags & 1) ? TokenizerKind::Word : TokenizerKind::Char;
    o.lowercase = (flags & 2) != 0;
    o.max_size = (flags & 4) ? 2 + (flags >> 3 & 7) : 0;
    o.min_count = (flags & 64) ? 2 : 1;
    try {
        if (flags & 128) {
            const Tokenizer tok = Tokenizer::from_json(rest);
            // Whatever it holds, it must tokenize its own tokens' text without failing.
            std::string text;
            for (int32_t id = 1; id < tok.size() && id < 64; ++id) text += tok.token_text(id) + " ";
            check_tokenizer(tok, text, false);
        } else {
            const Tokenizer tok = Tokenizer::build(rest, o);
            const bool exact = o.kind == TokenizerKind::Char && !o.lowercase && o.max_size == 0 && o.min_count == 1;
            check_tokenizer(tok, rest, exact);
        }
    } catch (const Error&) {
    } catch (const std::exception& e) {
        broken(std::string("non-fusedrnn exception ") + typeid(e).name() + ": " + e.what());
    }
    return 0;
}
