// PgSchemaTest: the fixture of the tests that talk to PostgreSQL directly. Each test gets a
// fresh schema on the test server (dropped afterwards) and an application_name of its own, so
// that it can end its own sessions only (testing::TerminatePostgresSessions); without
// TRIAD_TEST_POSTGRES the test is skipped.
#pragma once

#include "testing/pg_test_env.h"
#include "testing/test_util.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <unistd.h>

#include "postgres/pg_connection.h"
#include "postgres/pg_uri.h"

namespace triad::testing {

class PgSchemaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!PostgresTestUrl()) GTEST_SKIP() << "TRIAD_TEST_POSTGRES is not set";
    const std::string test = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    app_ = "triad-test-" + std::to_string(::getpid()) + "-" + test;
    uri_ = WithApplicationName(FreshPostgresUri(test), app_);
  }
  void TearDown() override {
    if (!uri_.empty()) DropPostgresSchema(uri_);
  }

  // A raw connection to the test schema (created if missing); nullptr after a test failure.
  std::unique_ptr<internal::pg::PgConnection> Raw() {
    auto target = internal::pg::ParsePostgresUri(uri_);
    EXPECT_OK(target);
    if (!target.ok()) return nullptr;
    auto conn = internal::pg::PgConnection::Open(*target, /*create_schema=*/true);
    EXPECT_OK(conn);
    return conn.ok() ? std::move(*conn) : nullptr;
  }

  // This test's application_name and the URI of its schema (carrying that name).
  std::string app_;
  std::string uri_;
};

}  // namespace triad::testing
