// The PostgreSQL server the test suites may use, and throwaway schemas on it.
//
// TRIAD_TEST_POSTGRES holds a postgres:// URL (scripts/test.sh starts a throwaway cluster with
// scripts/pg-cluster.sh and sets it). When it is unset, the PostgreSQL variants of the suites are
// not instantiated; when TRIAD_REQUIRE_POSTGRES=1 as well, pg_environment_test fails instead, so
// CI cannot pass without them.
//
// Thread-safety: all functions may be called from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace triad::testing {

// TRIAD_TEST_POSTGRES, or nullopt when unset or empty.
std::optional<std::string> PostgresTestUrl();

// A postgres:// URI naming a schema that does not exist yet on the test server (the store
// creates it on open), unique per process and call; `label` makes it recognisable.
// REQUIRES: PostgresTestUrl().
std::string FreshPostgresUri(std::string_view label);

// Drops the schema `uri` names and everything in it; errors are ignored (best effort cleanup).
void DropPostgresSchema(std::string_view uri);

// `uri` with libpq's application_name set to `name`: the sessions it opens can then be told
// apart in pg_stat_activity, so that a test ends only its own (the server is shared). The
// server keeps its first 63 bytes: make names unique within those.
std::string WithApplicationName(std::string_view uri, std::string_view name);

// Ends (pg_terminate_backend) every session of `uri`'s server whose application_name is
// `name`, as an administrator or a failover would. Returns how many; -1 when the query failed.
int64_t TerminatePostgresSessions(std::string_view uri, std::string_view name);

}  // namespace triad::testing
