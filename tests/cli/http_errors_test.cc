// StatusOfErrorResponse on canned server answers: the CLI must exit with the same code over
// --url as over --data.
#include "cli/client/http_errors.h"

#include "cli/exit_codes.h"

#include <gtest/gtest.h>

namespace triad::cli {
namespace {

TEST(HttpErrorsTest, WrongExpectedVersionIsAbortedWithTheCurrentVersion) {
  const Status s = StatusOfErrorResponse(
      409, R"({"error":{"code":"wrong_expected_version","message":"stream 'a-1' is at version )"
           R"(3, expected 1","current_version":3}})");
  EXPECT_EQ(s.code(), StatusCode::kAborted);
  EXPECT_EQ(s.message(), "stream 'a-1' is at version 3, expected 1");
  ASSERT_TRUE(s.current_version().has_value());
  EXPECT_EQ(*s.current_version(), 3);
  EXPECT_EQ(ExitCodeFor(s.code()), kExitConflict);
}

TEST(HttpErrorsTest, CodesMapAsTheEmbeddedStoreWould) {
  struct Case {
    int http;
    const char* code;
    StatusCode want;
    int exit;
  };
  const Case cases[] = {
      {404, "not_found", StatusCode::kNotFound, kExitNotFound},
      {400, "invalid_json", StatusCode::kInvalidArgument, kExitUsage},
      {400, "invalid_argument", StatusCode::kInvalidArgument, kExitUsage},
      {400, "too_many_events", StatusCode::kInvalidArgument, kExitUsage},
      {413, "body_too_large", StatusCode::kInvalidArgument, kExitUsage},
      {409, "already_exists", StatusCode::kAlreadyExists, kExitConflict},
      {409, "failed_precondition", StatusCode::kFailedPrecondition, kExitFailure},
      {408, "deadline_exceeded", StatusCode::kDeadlineExceeded, kExitFailure},
      {429, "resource_exhausted", StatusCode::kResourceExhausted, kExitFailure},
      {503, "too_many_subscribers", StatusCode::kResourceExhausted, kExitFailure},
      {503, "shutting_down", StatusCode::kUnavailable, kExitFailure},
      {500, "internal", StatusCode::kInternal, kExitFailure},
      {405, "method_not_allowed", StatusCode::kFailedPrecondition, kExitFailure},
      // An unknown code falls back to the HTTP status.
      {404, "no_such_thing", StatusCode::kNotFound, kExitNotFound},
      {400, "brand_new", StatusCode::kInvalidArgument, kExitUsage},
  };
  for (const Case& c : cases) {
    const Status s = StatusOfErrorResponse(
        c.http, std::string(R"({"error":{"code":")") + c.code + R"(","message":"why"}})");
    EXPECT_EQ(s.code(), c.want) << c.code;
    EXPECT_EQ(s.message(), "why") << c.code;
    EXPECT_EQ(ExitCodeFor(s.code()), c.exit) << c.code;
    EXPECT_FALSE(s.current_version().has_value()) << c.code;
  }
}

TEST(HttpErrorsTest, UnauthorizedSaysHowToPassAToken) {
  const Status s = StatusOfErrorResponse(
      401, R"({"error":{"code":"unauthorized","message":"a bearer token is required"}})");
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(),
            "a bearer token is required (HTTP 401 unauthorized; pass a token with --token or "
            "$TRIAD_TOKEN)");
}

TEST(HttpErrorsTest, ABodyThatIsNotAnErrorObjectFallsBackToTheStatus) {
  Status s = StatusOfErrorResponse(502, "<html>\nBad Gateway</html>");
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_EQ(s.message(), "server answered HTTP 502: <html> Bad Gateway</html>");
  s = StatusOfErrorResponse(404, "");
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "server answered HTTP 404");
  s = StatusOfErrorResponse(500, R"({"error":"flat"})");
  EXPECT_EQ(s.code(), StatusCode::kInternal);
  EXPECT_EQ(s.message(), R"(server answered HTTP 500: {"error":"flat"})");
  s = StatusOfErrorResponse(400, std::string(300, 'x'));
  EXPECT_EQ(s.message(), "server answered HTTP 400: " + std::string(200, 'x') + "...");
}

}  // namespace
}  // namespace triad::cli
