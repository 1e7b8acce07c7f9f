// GoogleTest helpers for Status and Result<T>.
#pragma once

#include "triad/result.h"
#include "triad/status.h"

#include <gtest/gtest.h>

namespace triad::testing {

inline ::testing::AssertionResult IsOk(const Status& s) {
  if (s.ok()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << s.ToString();
}
template <typename T>
::testing::AssertionResult IsOk(const Result<T>& r) {
  return IsOk(r.status());
}

inline Status StatusOf(const Status& s) { return s; }
template <typename T>
Status StatusOf(const Result<T>& r) {
  return r.status();
}

}  // namespace triad::testing

#define ASSERT_OK(expr) ASSERT_TRUE(::triad::testing::IsOk(expr))
#define EXPECT_OK(expr) EXPECT_TRUE(::triad::testing::IsOk(expr))
// Asserts that `expr` (a Status or Result) failed with `code` (a StatusCode enumerator name).
#define ASSERT_ERROR_CODE(expr, code_enum)                                           \
  ASSERT_EQ(::triad::testing::StatusOf(expr).code(), ::triad::StatusCode::code_enum) \
      << ::triad::testing::StatusOf(expr).ToString()
#define EXPECT_ERROR_CODE(expr, code_enum)                                           \
  EXPECT_EQ(::triad::testing::StatusOf(expr).code(), ::triad::StatusCode::code_enum) \
      << ::triad::testing::StatusOf(expr).ToString()
