// ParseFilterText and ParseOrderText: the query syntax of the HTTP API and of `triad find`.
#include "triad/query_text.h"

#include <gtest/gtest.h>

#include <string>
#include <variant>

namespace triad {
namespace {

TEST(QueryTextTest, ValuesAreJsonWhenTheyParseElseText) {
  auto f = ParseFilterText("balance:ge:10.5");
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->field, "balance");
  EXPECT_EQ(f->op, FilterOp::kGe);
  ASSERT_EQ(f->values.size(), 1U);
  EXPECT_EQ(std::get<double>(f->values[0]), 10.5);

  f = ParseFilterText("active:eq:true");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(std::get<bool>(f->values[0]), true);

  f = ParseFilterText(R"(code:eq:"42")");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(std::get<std::string>(f->values[0]), "42");

  // Everything after the second ':' is the value, colons included.
  f = ParseFilterText("address.city:prefix:a:b");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->field, "address.city");
  EXPECT_EQ(f->op, FilterOp::kPrefix);
  EXPECT_EQ(std::get<std::string>(f->values[0]), "a:b");

  f = ParseFilterText("owner:in:ada|7|bob");
  ASSERT_TRUE(f.ok());
  ASSERT_EQ(f->values.size(), 3U);
  EXPECT_EQ(std::get<std::string>(f->values[0]), "ada");
  EXPECT_EQ(std::get<double>(f->values[1]), 7.0);
  EXPECT_EQ(std::get<std::string>(f->values[2]), "bob");

  f = ParseFilterText("owner:eq:");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(std::get<std::string>(f->values[0]), "");
}

TEST(QueryTextTest, MalformedConditionsAreInvalidArguments) {
  const std::string suffix =
      " (expected field:op:value with op one of eq, ne, lt, le, gt, ge, in, prefix)";
  struct Case {
    const char* text;
    const char* why;
  };
  for (const Case& c :
       {Case{"owner", "not three ':'-separated parts"},
        Case{"owner:eq", "not three ':'-separated parts"}, Case{":eq:ada", "the field is empty"},
        Case{"owner:is:ada", "unknown op 'is'"},
        Case{"owner:eq:null",
             "null cannot be compared (a document without the field is absent "
             "from its index)"},
        Case{"owner:prefix:5", "prefix needs a string value"}}) {
    auto f = ParseFilterText(c.text, "--where");
    ASSERT_FALSE(f.ok()) << c.text;
    EXPECT_EQ(f.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(f.status().message(), "--where '" + std::string(c.text) + "': " + c.why + suffix);
  }
}

TEST(QueryTextTest, OrderBy) {
  auto o = ParseOrderText("balance", "--order-by");
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->first, "balance");
  EXPECT_EQ(o->second, SortOrder::kAscending);
  o = ParseOrderText("balance:desc", "--order-by");
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->second, SortOrder::kDescending);
  o = ParseOrderText("balance:asc", "--order-by");
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->second, SortOrder::kAscending);
  o = ParseOrderText("balance:up", "--order-by");
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.status().message(),
            "--order-by 'balance:up': the order must be asc or desc (field[:desc])");
  o = ParseOrderText(":desc", "--order-by");
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.status().message(), "--order-by ':desc': the field is empty");
}

}  // namespace
}  // namespace triad
