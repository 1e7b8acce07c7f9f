// readmodel/utf8_bound.h: for every byte string B and every valid string v, v >= B iff
// v >= SmallestValidAtLeast(B), checked exhaustively against a set of valid strings.
#include "readmodel/utf8_bound.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace triad::testing {
namespace {

using internal::readmodel::IsValidUtf8;
using internal::readmodel::SmallestValidAtLeast;

TEST(Utf8Bound, Validity) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("a\xC3\xA9\xE6\x97\xA5\xF0\x9F\x98\x80"));
  EXPECT_FALSE(IsValidUtf8("\xC3"));              // cut inside a character
  EXPECT_FALSE(IsValidUtf8("\xC0\x80"));          // overlong
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xFF"));
}

TEST(Utf8Bound, SmallestValidAtLeast) {
  EXPECT_EQ(SmallestValidAtLeast("abc"), "abc");
  EXPECT_EQ(SmallestValidAtLeast("a\xC3"), "a\xC3\x80");  // U+00C0
  EXPECT_EQ(SmallestValidAtLeast("\xE6\x97"), "\xE6\x97\x80");
  EXPECT_EQ(SmallestValidAtLeast("\xC0"), "\xC2\x80");          // no C0/C1 leads
  EXPECT_EQ(SmallestValidAtLeast("\xED\xA0"), "\xEE\x80\x80");  // past the surrogates
  EXPECT_EQ(SmallestValidAtLeast("a\xFF"), "b");                // above every code point
  EXPECT_EQ(SmallestValidAtLeast("\xFF"), std::nullopt);
}

TEST(Utf8Bound, PreservesComparisonsWithValidStrings) {
  const std::vector<std::string> valid = {"",
                                          "a",
                                          "a\x7F",
                                          "a\xC2\x80",
                                          "a\xC3\xA9",
                                          "b",
                                          "\xC3\xBF",
                                          "\xE6\x97\xA5",
                                          "\xEE\x80\x80",
                                          "\xF0\x9F\x98\x80",
                                          "\xF4\x8F\xBF\xBF"};
  const std::vector<std::string> bounds = {"a\xC3",        "a\x80",    "\xC3",     "\xE6\x97",
                                           "\xED\xA0\x80", "\xF4\x90", "\xF0\x9F", "a\xFF",
                                           "\xFF",         "b\xC0"};
  for (const std::string& b : bounds) {
    const auto bound = SmallestValidAtLeast(b);
    if (bound) {
      EXPECT_TRUE(IsValidUtf8(*bound));
    }
    for (const std::string& v : valid) {
      const bool at_least = v.compare(b) >= 0;
      EXPECT_EQ(at_least, bound.has_value() && v.compare(*bound) >= 0) << v << " vs " << b;
    }
  }
}

}  // namespace
}  // namespace triad::testing
