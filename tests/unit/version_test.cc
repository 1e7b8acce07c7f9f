// The library's version: one definition (include/triad/version.h), the same at compile and run
// time.
#include "triad/version.h"

#include <gtest/gtest.h>

#include <string>

namespace triad {
namespace {

TEST(VersionTest, TheLinkedLibraryReportsTheVersionOfItsHeaders) {
  EXPECT_STREQ(Version(), TRIAD_VERSION_STRING);
  const std::string composed = std::to_string(TRIAD_VERSION_MAJOR) + "." +
                               std::to_string(TRIAD_VERSION_MINOR) + "." +
                               std::to_string(TRIAD_VERSION_PATCH);
  EXPECT_EQ(composed, TRIAD_VERSION_STRING);
}

}  // namespace
}  // namespace triad
