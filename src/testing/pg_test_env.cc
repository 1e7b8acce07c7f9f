#include "testing/pg_test_env.h"

#include <atomic>
#include <cctype>
#include <cstdlib>
#include <string>
#include <unistd.h>

#include "postgres/pg_connection.h"
#include "postgres/pg_uri.h"

namespace triad::testing {

std::optional<std::string> PostgresTestUrl() {
  // Read while tests start; nothing in the test binaries sets environment variables.
  const char* url = std::getenv("TRIAD_TEST_POSTGRES");  // NOLINT(concurrency-mt-unsafe)
  if (url == nullptr || *url == '\0') return std::nullopt;
  return std::string(url);
}

std::string FreshPostgresUri(std::string_view label) {
  static std::atomic<int> counter{0};
  std::string schema = "t" + std::to_string(::getpid()) + "_" + std::to_string(++counter) + "_";
  for (char c : label) {
    if (schema.size() >= 63) break;
    schema +=
        std::isalnum(static_cast<unsigned char>(c)) ? static_cast<char>(std::tolower(c)) : '_';
  }
  const std::string base = PostgresTestUrl().value_or("postgresql:///postgres");
  return base + (base.find('?') == std::string::npos ? "?" : "&") + "schema=" + schema;
}

void DropPostgresSchema(std::string_view uri) {
  auto target = internal::pg::ParsePostgresUri(uri);
  if (!target.ok()) return;
  auto conn = internal::pg::PgConnection::Open(
      internal::pg::PgTarget{
          .conninfo = target->conninfo, .schema = "public", .display = target->display},
      /*create_schema=*/false);
  if (!conn.ok()) return;
  (*conn)
      ->Exec("DROP SCHEMA IF EXISTS " + internal::pg::QuoteIdentifier(target->schema) + " CASCADE")
      .IgnoreError();
}

std::string WithApplicationName(std::string_view uri, std::string_view name) {
  const std::string base(uri);
  return base + (base.find('?') == std::string::npos ? "?" : "&") +
         "application_name=" + std::string(name);
}

int64_t TerminatePostgresSessions(std::string_view uri, std::string_view name) {
  auto target = internal::pg::ParsePostgresUri(uri);
  if (!target.ok()) return -1;
  auto conn = internal::pg::PgConnection::Open(
      internal::pg::PgTarget{
          .conninfo = target->conninfo, .schema = "public", .display = target->display},
      /*create_schema=*/false);
  if (!conn.ok()) return -1;
  auto killed = (*conn)->Query(
      // The server keeps the first 63 bytes of a name (NAMEDATALEN - 1).
      "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
      "WHERE application_name = left($1, 63) "
      "AND pid <> pg_backend_pid()",  // this session may carry the name too
      internal::pg::PgParams().Text(name));
  return killed.ok() ? killed->Int(0, 0) : -1;
}

}  // namespace triad::testing
