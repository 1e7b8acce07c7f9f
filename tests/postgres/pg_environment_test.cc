// Whether the PostgreSQL suites can run. With TRIAD_REQUIRE_POSTGRES=1 (scripts/test.sh, hence
// CI) a missing or unreachable server fails here instead of silently skipping every PostgreSQL
// variant of the suites.
#include "testing/pg_test_env.h"
#include "testing/test_util.h"

#include "triad/event_store.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

namespace triad::testing {
namespace {

TEST(PostgresEnvironmentTest, TheTestServerIsThereWhenRequired) {
  const char* required = std::getenv("TRIAD_REQUIRE_POSTGRES");
  const bool must = required != nullptr && std::string(required) == "1";
  if (!PostgresTestUrl()) {
    if (must) FAIL() << "TRIAD_REQUIRE_POSTGRES=1 but TRIAD_TEST_POSTGRES is not set";
    GTEST_SKIP() << "TRIAD_TEST_POSTGRES is not set";
  }
  const std::string uri = FreshPostgresUri("environment");
  auto store = EventStore::Open(Options{}, uri);
  ASSERT_OK(store) << "TRIAD_TEST_POSTGRES=" << *PostgresTestUrl();
  NewEvent event{.type = "Pinged"};
  auto appended = (*store)->Append("ping-1", ExpectedVersion::NoStream(), {&event, 1});
  ASSERT_OK(appended);
  EXPECT_EQ(appended->first_position, 1);
  store->reset();
  DropPostgresSchema(uri);
}

}  // namespace
}  // namespace triad::testing
