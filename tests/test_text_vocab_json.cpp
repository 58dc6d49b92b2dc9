// Tokenizer/vocabulary serialisation to JSON (checkpoint metadata) and its validation on load.
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fusedrnn/core/error.h"
#include "fusedrnn/core/text/tokenizer.h"
#include "fusedrnn/tests/test_support.h"

using namespace fusedrnn;
using namespace fusedrnn::text;
using nlohmann::json;

namespace {

using ::fusedrnn::testing::error_of;

Tokenizer word_tokenizer() {
    TokenizerOptions o;
    o.kind = TokenizerKind::Word;
    o.lowercase = true;
    o.min_count = 1;
    o.max_size = 50;
    return Tokenizer::build("Long ago, the mice had a general council. Trăm năm 😀!", o);
}

Tokenizer char_tokenizer() {
    TokenizerOptions o;
    o.kind = TokenizerKind::Char;
    return Tokenizer::build("Truyện Kiều, naïve café 😀\n", o);
}

void expect_same(const Tokenizer& a, const Tokenizer& b) {
    EXPECT_EQ(a.kind(), b.kind());
    EXPECT_EQ(a.options().lowercase, b.options().lowercase);
    EXPECT_EQ(a.options().min_count, b.options().min_count);
    EXPECT_EQ(a.options().max_size, b.options().max_size);
    EXPECT_EQ(a.vocab().tokens(), b.vocab().tokens());
}

// The JSON of `t` with one edit applied.
template <class Edit>
std::string edited(const Tokenizer& t, Edit&& edit) {
    json j = json::parse(t.to_json());
    edit(j);
    return j.dump();
}

}  // namespace

TEST(TextVocabJson, RoundTripsWordAndCharTokenizers) {
    for (const Tokenizer& t : {word_tokenizer(), char_tokenizer()}) {
        const std::string s = t.to_json();
        const Tokenizer back = Tokenizer::from_json(s);
        expect_same(t, back);
        EXPECT_EQ(back.to_json(), s);  // stable: serialising again gives the same bytes
        const std::string probe = t.kind() == TokenizerKind::Word ? "the mice had a zebra. Trăm" : "Kiều café 😀 x";
        EXPECT_EQ(back.encode(probe), t.encode(probe));
        EXPECT_EQ(back.unknown_tokens(probe), t.unknown_tokens(probe));
    }
}

// A word vocabulary written before 0.3.14 (version 1) splits by rules 1 still: "5€" one word, as it learned it.
TEST(TextVocabJson, VersionOneWordVocabularySplitsByItsOwnRules) {
    TokenizerOptions o;
    o.word_rules = 1;
    const Tokenizer old = Tokenizer::build("it costs 5€ or x≤y", o);
    const json j = json::parse(old.to_json());
    EXPECT_EQ(j.at("version"), 1);
    EXPECT_FALSE(j.contains("word_rules"));
    const Tokenizer back = Tokenizer::from_json(old.to_json());
    EXPECT_EQ(back.options().word_rules, 1);
    EXPECT_EQ(back.split("5€ x≤y"), (std::vector<std::string>{"5€", "x≤y"}));
    EXPECT_TRUE(back.unknown_tokens("it costs 5€").empty());
    EXPECT_EQ(Tokenizer::build("5€", {}).split("5€ x≤y"),
              (std::vector<std::string>{"5", "€", "x", "≤", "y"}));
}

TEST(TextVocabJson, HasTheDocumentedFields) {
    const json j = json::parse(word_tokenizer().to_json());
    EXPECT_EQ(j.at("format"), "fusedrnn.tokenizer");
    EXPECT_EQ(j.at("version"), 2);  // a word vocabulary splitting by rules 2
    EXPECT_EQ(j.at("word_rules"), 2);
    EXPECT_EQ(j.at("kind"), "word");
    EXPECT_EQ(j.at("lowercase"), true);
    EXPECT_EQ(j.at("min_count"), 1);
    EXPECT_EQ(j.at("max_size"), 50);
    EXPECT_EQ(j.at("unk"), "<unk>");
    EXPECT_EQ(j.at("tokens").at(0), "<unk>");
    // Multi-byte tokens are stored as UTF-8 text and come back intact.
    const json c = json::parse(char_tokenizer().to_json());
    EXPECT_EQ(c.at("version"), 1);  // characters: as every build wrote them
    EXPECT_FALSE(c.contains("word_rules"));
    bool has_emoji = false;
    for (const auto& tok : c.at("tokens")) has_emoji |= tok == "😀";
    EXPECT_TRUE(has_emoji);
}

TEST(TextVocabJson, MissingOrMistypedFieldsAreNamed) {
    const Tokenizer t = word_tokenizer();
    for (const char* name :
         {"format", "version", "kind", "lowercase", "min_count", "max_size", "unk", "tokens", "word_rules"}) {
        const std::string msg = error_of([&] { Tokenizer::from_json(edited(t, [&](json& j) { j.erase(name); })); });
        EXPECT_NE(msg.find(std::string("missing field \"") + name + "\""), std::string::npos) << msg;
    }
    std::string msg = error_of([&] { Tokenizer::from_json(edited(t, [](json& j) { j["lowercase"] = "yes"; })); });
    EXPECT_NE(msg.find("\"lowercase\" must be true or false"), std::string::npos) << msg;
    msg = error_of([&] { Tokenizer::from_json(edited(t, [](json& j) { j["min_count"] = 1.5; })); });
    EXPECT_NE(msg.find("\"min_count\" must be an integer"), std::string::npos) << msg;
    msg = error_of([&] { Tokenizer::from_json(edited(t, [](json& j) { j["tokens"] = "the"; })); });
    EXPECT_NE(msg.find("\"tokens\" must be an array"), std::string::npos) << msg;
    msg = error_of([&] { Tokenizer::from_json(edited(t, [](json& j) { j["tokens"][3] = 7; })); });
    EXPECT_NE(msg.find("tokens[3] must be a string"), std::string::npos) << msg;
}

TEST(TextVocabJson, RejectsBadValues) {
    const Tokenizer w = word_tokenizer();
    const Tokenizer c = char_tokenizer();
    struct Case {
        std::string json;
        const char* expect;
    };
    const Case cases[] = {
        {"", "does not parse"},
        {"{\"format\": ", "does not parse"},
        {"[1, 2]", "expected an object"},
        {edited(w, [](json& j) { j["format"] = "other.vocab"; }), "format is \"other.vocab\""},
        {edited(w, [](json& j) { j["version"] = 3; }), "version 3 is not supported (this build reads 1 to 2)"},
        {edited(w, [](json& j) { j["word_rules"] = 1; }), "word_rules 1 with kind \"word\""},
        {edited(w, [](json& j) { j["version"] = 1; }), "version 1 has no word_rules"},
        {edited(c, [](json& j) { j["version"] = 2; j["word_rules"] = 2; }), "word_rules 2 with kind \"char\""},
        {edited(w, [](json& j) { j["kind"] = "bpe"; }), "unknown tokenizer kind \"bpe\""},
        {edited(w, [](json& j) { j["unk"] = "[UNK]"; }), "unk is \"[UNK]\""},
        {edited(w, [](json& j) { j["min_count"] = 0; }), "min_count must be >= 1"},
        {edited(w, [](json& j) { j["max_size"] = -3; }), "max_size must be >= 0"},
        {edited(w, [](json& j) { j["tokens"] = json::array({"<unk>"}); }), "needs <unk> and at least one more"},
        {edited(w, [](json& j) { j["tokens"][0] = "the"; j["tokens"][1] = "<unk>"; }), "token 0 must be \"<unk>\""},
        {edited(w, [](json& j) { j["tokens"][5] = j["tokens"][2]; }), "duplicate token"},
        {edited(w, [](json& j) { j["tokens"][2] = ""; }), "token 2 is empty"},
        {edited(w, [](json& j) { j["tokens"][2] = "two words"; }), "contains white space"},
        {edited(c, [](json& j) { j["tokens"][2] = "ab"; }), "is not a single character"},
        // A char vocabulary passed off as a word one is fine structurally; the reverse is not.
        {edited(w, [](json& j) { j["kind"] = "char"; j["version"] = 1; j.erase("word_rules"); }),
         "is not a single character"},
    };
    for (const Case& k : cases) {
        const std::string msg = error_of([&] { Tokenizer::from_json(k.json); });
        EXPECT_NE(msg.find(k.expect), std::string::npos) << "expected \"" << k.expect << "\" in: " << msg;
    }
}

TEST(TextVocabJson, RejectsInvalidUtf8InTokens) {
    // A corrupted byte inside a token: the JSON parser itself refuses invalid UTF-8; what matters is
    // a fusedrnn::Error with a message, not a crash or a vocabulary with a broken token.
    const std::string good = char_tokenizer().to_json();
    const size_t at = good.find("\"a\"");
    ASSERT_NE(at, std::string::npos);
    std::string bad = good;
    bad.replace(at, 3, "\"\xC3\"");
    const std::string msg = error_of([&] { Tokenizer::from_json(bad); });
    EXPECT_NE(msg.find("UTF-8"), std::string::npos) << msg;
}
