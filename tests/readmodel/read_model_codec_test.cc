// The read-model store's small codecs: sources JSON, cursors, field paths, prefix bounds at the
// edges of byte order.
#include "testing/test_util.h"

#include "triad/read_model_backend.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "readmodel/cursor.h"
#include "readmodel/json_text.h"
#include "readmodel/names.h"

namespace triad::testing {
namespace {

using internal::readmodel::Cursor;
using internal::readmodel::DecodeCursor;
using internal::readmodel::DecodeSources;
using internal::readmodel::EncodeCursor;
using internal::readmodel::EncodeSources;
using internal::readmodel::ValidateFieldPath;

TEST(SourcesCodec, RoundTripsAndDecodesEscapes) {
  const std::map<std::string, StreamVersion, std::less<>> sources{
      {"account-1", 3}, {"q\"x\\y\n\x01", -1}, {"日本", 1LL << 40}};
  auto decoded = DecodeSources(EncodeSources(sources));
  ASSERT_OK(decoded);
  EXPECT_EQ(*decoded, sources);
  // Escapes another writer may use: \u with a surrogate pair, \/ and spaces.
  decoded = DecodeSources(R"( { "\u65e5\ud83d\ude00" : 2 , "a\/b":0 } )");
  ASSERT_OK(decoded);
  EXPECT_EQ(decoded->at("日\xF0\x9F\x98\x80"), 2);
  EXPECT_EQ(decoded->at("a/b"), 0);
  for (const char* bad : {"", "{", "[]", R"({"a":})", R"({"a":1,})", R"({"a":"1"})", R"({"a":1} x)",
                          R"({"\q":1})", R"({"\ud83dx":1})", R"({"\udc00":1})"}) {
    EXPECT_ERROR_CODE(DecodeSources(bad), kDataLoss) << bad;
  }
}

TEST(CursorCodec, RoundTripsEveryKindAndRefusesGarbage) {
  for (const Cursor& c : std::vector<Cursor>{
           {.fingerprint = 1, .kind = Cursor::Kind::kId, .id = "a"},
           {.fingerprint = ~0ULL, .kind = Cursor::Kind::kNull, .id = "x\xFFy"},
           {.fingerprint = 7,
           .kind = Cursor::Kind::kString,
           .text = std::string("a\0b", 3),
           .id = "i"},
           {.fingerprint = 7, .kind = Cursor::Kind::kNumber, .number = -0.5, .id = "i"},
           {.fingerprint = 7, .kind = Cursor::Kind::kBool, .boolean = true, .id = "i"}}) {
    const std::string text = EncodeCursor(c);
    EXPECT_EQ(
        text.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
        std::string::npos);
    auto back = DecodeCursor(text);
    ASSERT_OK(back);
    EXPECT_EQ(back->fingerprint, c.fingerprint);
    EXPECT_EQ(back->kind, c.kind);
    EXPECT_EQ(back->text, c.text);
    EXPECT_EQ(back->number, c.number);
    EXPECT_EQ(back->boolean, c.boolean);
    EXPECT_EQ(back->id, c.id);
    EXPECT_ERROR_CODE(DecodeCursor(text.substr(0, 5)), kInvalidArgument);
    EXPECT_ERROR_CODE(DecodeCursor(text + "="), kInvalidArgument);
  }
  EXPECT_ERROR_CODE(DecodeCursor("zzzzzzzzzzzzzzzzzzzz"), kInvalidArgument);
}

TEST(FieldPath, Validation) {
  for (const char* ok : {"a", "a.b", "A_1.b2.c_", "0"}) EXPECT_OK(ValidateFieldPath(ok)) << ok;
  // Built with append rather than operator+ on temporaries, which GCC 12 at -O1 misreads as an
  // out-of-bounds copy (-Warray-bounds).
  std::string longest(64, 'x');
  longest.append(".").append(64, 'y');
  EXPECT_OK(ValidateFieldPath(longest));
  for (const std::string& bad : {std::string(""), std::string("."), std::string("a..b"),
                                 std::string("a.b."), std::string("a-b"), std::string("a$"),
                                 std::string("é"), std::string(65, 'x'), std::string("a\0b", 3)}) {
    EXPECT_ERROR_CODE(ValidateFieldPath(bad), kInvalidArgument) << bad;
  }
}

// Prefix filters are index ranges [p, successor(p)); check the edges of byte order.
TEST(PrefixFilter, EdgesOfByteOrder) {
  auto rm = OpenReadModelBackend({}, "memory:");
  ASSERT_OK(rm);
  const std::string c = "p@1/c";
  auto txn = (*rm)->BeginWrite();
  ASSERT_OK(txn);
  ASSERT_OK((*txn)->EnsureCollection(c, {.name = "c", .indexes = {{"s", IndexType::kString}}}));
  const std::vector<std::string> values = {"", "a", "ab", "a\x7f", "b", "日本", "日", "\xC3\xBF"};
  for (size_t i = 0; i < values.size(); ++i) {
    ASSERT_OK((*txn)->Put(c, Document{.id = "d" + std::to_string(i),
                                      .body = R"({"s":")" + values[i] + R"("})",
                                      .meta = {}}));
  }
  ASSERT_OK((*txn)->Put(c, Document{.id = "n", .body = R"({"s":1})", .meta = {}}));
  ASSERT_OK((*txn)->Commit());
  auto count = [&](const std::string& prefix) -> int64_t {
    Query q{.filters = {{.field = "s", .op = FilterOp::kPrefix, .values = {prefix}}}};
    auto r = (*rm)->Count(c, q, "p", 1);
    EXPECT_OK(r);
    return r.ok() ? r->count : -1;
  };
  EXPECT_EQ(count(""), 8);  // every string, not the number
  EXPECT_EQ(count("a"), 3);
  EXPECT_EQ(count("a\x7f"), 1);
  EXPECT_EQ(count("\xE6\x97"), 2);  // the first two bytes of 日
  EXPECT_EQ(count("\xC3"), 1);
  EXPECT_EQ(count("\xC3\xBF"), 1);
  EXPECT_EQ(count("\xFF"), 0);
  EXPECT_EQ(count("a\xFF"), 0);
  EXPECT_EQ(count("\xFF\xFF"), 0);
}

}  // namespace
}  // namespace triad::testing
