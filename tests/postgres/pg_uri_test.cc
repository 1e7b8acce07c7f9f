// Passwords in postgres:// URIs never leave the process: every form libpq accepts in a URI (the
// user-info part and the `password` parameter, percent-encoded or not, even under an encoded
// parameter name) is masked in the display form, in parse errors, and in libpq's own error text.
// Needs no PostgreSQL server.
#include "postgres/pg_uri.h"

#include "testing/test_util.h"

#include "triad/event_store.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace triad::internal::pg {
namespace {

bool Contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

// Parses `uri` and expects none of `secrets` in its display form, each of them in `secrets`.
PgTarget ParsedWithout(const std::string& uri, std::initializer_list<std::string_view> secrets) {
  auto target = ParsePostgresUri(uri);
  EXPECT_OK(target) << uri;
  if (!target.ok()) return {};
  for (std::string_view secret : secrets) {
    EXPECT_FALSE(Contains(target->display, secret)) << target->display;
    EXPECT_FALSE(Contains(RedactSecrets("text quoting " + std::string(secret), *target), secret));
  }
  return *target;
}

TEST(PgUriTest, MasksTheUserInfoPassword) {
  const PgTarget t = ParsedWithout("postgres://ada:s3cret-pw@db.example:5432/app", {"s3cret-pw"});
  EXPECT_EQ(t.display, "postgres://ada:***@db.example:5432/app");
  EXPECT_EQ(t.conninfo, "postgres://ada:s3cret-pw@db.example:5432/app");  // libpq needs it
}

TEST(PgUriTest, MasksAPercentEncodedUserInfoPasswordInBothForms) {
  const PgTarget t =
      ParsedWithout("postgresql://ada:p%40ss%3Aword@host/app", {"p%40ss%3Aword", "p@ss:word"});
  EXPECT_EQ(t.display, "postgresql://ada:***@host/app");
  // An unescaped '@' in the password: the user info ends at the last one.
  const PgTarget raw = ParsedWithout("postgres://ada:p@ss@host/app", {"p@ss"});
  EXPECT_EQ(raw.display, "postgres://ada:***@host/app");
}

TEST(PgUriTest, MasksThePasswordQueryParameter) {
  const PgTarget t = ParsedWithout(
      "postgres://ada@host/app?sslmode=disable&password=s3cret-pw&schema=app_1", {"s3cret-pw"});
  EXPECT_EQ(t.display, "postgres://ada@host/app?sslmode=disable&password=***&schema=app_1");
  EXPECT_EQ(t.schema, "app_1");
  EXPECT_EQ(t.conninfo, "postgres://ada@host/app?sslmode=disable&password=s3cret-pw");
}

TEST(PgUriTest, MasksAPercentEncodedPasswordParameterAndAnEncodedParameterName) {
  const PgTarget value =
      ParsedWithout("postgres:///app?password=s%2Fcr%26t%3D", {"s%2Fcr%26t%3D", "s/cr&t="});
  EXPECT_EQ(value.display, "postgres:///app?password=***");
  // libpq decodes parameter names too.
  const PgTarget name = ParsedWithout("postgres:///app?pass%77ord=s3cret-pw", {"s3cret-pw"});
  EXPECT_EQ(name.display, "postgres:///app?pass%77ord=***");
  // Both places at once.
  ParsedWithout("postgres://ada:first-pw@host/app?password=second-pw", {"first-pw", "second-pw"});
}

TEST(PgUriTest, LeavesAUriWithoutPasswordUnchanged) {
  const PgTarget t = ParsedWithout("postgres://ada@host:5432/app?application_name=x", {});
  EXPECT_EQ(t.display, "postgres://ada@host:5432/app?application_name=x");
  EXPECT_TRUE(t.secrets.empty());
}

TEST(PgUriTest, ParseErrorsMaskThePassword) {
  auto bad_schema = ParsePostgresUri("postgres://ada:s3cret-pw@host/app?password=other-pw&schema=");
  ASSERT_FALSE(bad_schema.ok());
  EXPECT_FALSE(Contains(bad_schema.status().message(), "s3cret-pw"));
  EXPECT_FALSE(Contains(bad_schema.status().message(), "other-pw"));
  EXPECT_TRUE(Contains(bad_schema.status().message(), "schema"));
  EXPECT_EQ(MaskUriPassword("mysql://ada:s3cret-pw@host/app"), "mysql://ada:***@host/app");
  auto other = EventStore::Open(Options{}, "mysql://ada:s3cret-pw@host/app?password=other-pw");
  ASSERT_FALSE(other.ok());
  EXPECT_FALSE(Contains(other.status().message(), "s3cret-pw")) << other.status().ToString();
  EXPECT_FALSE(Contains(other.status().message(), "other-pw")) << other.status().ToString();
}

TEST(PgUriTest, LibpqErrorTextQuotingThePasswordIsRedacted) {
  // libpq refuses the malformed escape before connecting, quoting the whole value.
  auto store = EventStore::Open(Options{}, "postgres://127.0.0.1:1/app?password=s3cret%zzpw");
  ASSERT_FALSE(store.ok());
  const std::string message = store.status().ToString();
  EXPECT_FALSE(Contains(message, "s3cret")) << message;
  EXPECT_TRUE(Contains(message, "***")) << message;
  auto userinfo = EventStore::Open(Options{}, "postgres://ada:s3cret%zzpw@127.0.0.1:1/app");
  ASSERT_FALSE(userinfo.ok());
  EXPECT_FALSE(Contains(userinfo.status().ToString(), "s3cret")) << userinfo.status().ToString();
}

}  // namespace
}  // namespace triad::internal::pg
