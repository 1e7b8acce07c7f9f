// Server configuration: file < environment < flags, strict keys, validation, auth safety.
#include "server/config.h"

#include "testing/temp_dir.h"
#include "testing/test_util.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <string>

namespace triad::server {
namespace {

EnvLookup FakeEnv(std::map<std::string, std::string> values) {
  return [values = std::move(values)](std::string_view name) -> std::optional<std::string> {
    auto it = values.find(std::string(name));
    if (it == values.end()) return std::nullopt;
    return it->second;
  };
}

class ConfigTest : public ::testing::Test {
 protected:
  std::string WriteConfig(const std::string& text) {
    const std::string path = dir_.File("config.json");
    std::ofstream(path) << text;
    return path;
  }
  triad::testing::TempDir dir_{"triad-config"};
};

TEST_F(ConfigTest, DefaultsMatchTheDocumentation) {
  auto config = ResolveConfig({}, FakeEnv({}));
  ASSERT_OK(config);
  EXPECT_EQ(config->listen, "127.0.0.1:7700");
  EXPECT_EQ(config->data, "./triad.db");
  EXPECT_EQ(config->scripts_dir, "./triad.db.scripts");
  EXPECT_EQ(config->groups, "sqlite:./triad.db.groups");
  EXPECT_EQ(config->io_threads, 1);
  EXPECT_EQ(config->worker_threads, 64);
  EXPECT_EQ(config->sse.heartbeat_ms, 15000);
  EXPECT_EQ(config->sse.max_lag_events, 100000);
  EXPECT_EQ(config->sse.write_timeout_ms, 10000);
  EXPECT_EQ(config->sse.batch_events, 500U);
  EXPECT_EQ(config->shutdown_timeout_ms, 10000);
  EXPECT_EQ(config->limits.max_body_bytes, 4U * 1024 * 1024);
  EXPECT_TRUE(config->tokens.empty());
}

TEST_F(ConfigTest, APostgresStoreKeepsItsScriptsInTheWorkingDirectory) {
  auto config = ResolveConfig({}, FakeEnv({{"TRIAD_DATA", "postgresql://app:secret@db/x"}}));
  ASSERT_OK(config);
  EXPECT_EQ(config->scripts_dir, "./triad.scripts");
  EXPECT_EQ(config->groups, "postgresql://app:secret@db/x");  // the store's own schema
  EXPECT_EQ(StorePathOf("sqlite:/var/t.db"), "/var/t.db");
  EXPECT_EQ(StorePathOf("/var/t.db"), "/var/t.db");
}

TEST_F(ConfigTest, FileThenEnvironmentThenFlagsEachWin) {
  const std::string path = WriteConfig(R"({
    "listen": "127.0.0.1:1111", "data": "file.db", "log_level": "debug",
    "scripts_dir": "file-scripts", "worker_threads": 3,
    "limits": {"max_body_bytes": 1000}, "sse": {"heartbeat_ms": 50}})");
  auto file_only = ResolveConfig({.config_file = path}, FakeEnv({}));
  ASSERT_OK(file_only);
  EXPECT_EQ(file_only->listen, "127.0.0.1:1111");
  EXPECT_EQ(file_only->data, "file.db");
  EXPECT_EQ(file_only->worker_threads, 3);
  EXPECT_EQ(file_only->limits.max_body_bytes, 1000U);
  EXPECT_EQ(file_only->limits.max_header_bytes, 16U * 1024);  // untouched default
  EXPECT_EQ(file_only->sse.heartbeat_ms, 50);

  auto env = FakeEnv({{"TRIAD_CONFIG", path},
                      {"TRIAD_LISTEN", "127.0.0.1:2222"},
                      {"TRIAD_DATA", "env.db"},
                      {"TRIAD_LOG_LEVEL", "warn"}});
  auto with_env = ResolveConfig({}, env);
  ASSERT_OK(with_env);
  EXPECT_EQ(with_env->listen, "127.0.0.1:2222");
  EXPECT_EQ(with_env->data, "env.db");
  EXPECT_EQ(with_env->log_level, "warn");
  EXPECT_EQ(with_env->scripts_dir, "file-scripts");

  auto with_flags = ResolveConfig(
      {.listen = "127.0.0.1:0", .data = "flag.db", .log_level = "error", .worker_threads = 5}, env);
  ASSERT_OK(with_flags);
  EXPECT_EQ(with_flags->listen, "127.0.0.1:0");
  EXPECT_EQ(with_flags->data, "flag.db");
  EXPECT_EQ(with_flags->log_level, "error");
  EXPECT_EQ(with_flags->worker_threads, 5);
}

TEST_F(ConfigTest, TheConsumerGroupsLocationComesFromTheFileOrTheEnvironment) {
  const std::string path = WriteConfig(R"({"data": "file.db", "groups": "sqlite:elsewhere.db"})");
  auto file_only = ResolveConfig({.config_file = path}, FakeEnv({}));
  ASSERT_OK(file_only);
  EXPECT_EQ(file_only->groups, "sqlite:elsewhere.db");
  auto with_env = ResolveConfig({.config_file = path}, FakeEnv({{"TRIAD_GROUPS", "memory:"}}));
  ASSERT_OK(with_env);
  EXPECT_EQ(with_env->groups, "memory:");
}

TEST_F(ConfigTest, UnknownKeysAreErrorsNamingThem) {
  auto top = ResolveConfig({.config_file = WriteConfig(R"({"listen":"127.0.0.1:1","colour":1})")},
                           FakeEnv({}));
  EXPECT_ERROR_CODE(top, kInvalidArgument);
  EXPECT_NE(top.status().message().find("colour"), std::string::npos) << top.status().message();
  auto nested =
      ResolveConfig({.config_file = WriteConfig(R"({"limits":{"max_bodybytes":1}})")}, FakeEnv({}));
  EXPECT_ERROR_CODE(nested, kInvalidArgument);
  EXPECT_NE(nested.status().message().find("limits.max_bodybytes"), std::string::npos);
}

TEST_F(ConfigTest, BadValuesAreErrorsNamingTheKey) {
  auto negative =
      ResolveConfig({.config_file = WriteConfig(R"({"sse":{"heartbeat_ms":-1}})")}, FakeEnv({}));
  EXPECT_ERROR_CODE(negative, kInvalidArgument);
  EXPECT_NE(negative.status().message().find("sse.heartbeat_ms"), std::string::npos);
  EXPECT_ERROR_CODE(ResolveConfig({.config_file = WriteConfig("{not json")}, FakeEnv({})),
                    kInvalidArgument);
  EXPECT_ERROR_CODE(ResolveConfig({.config_file = dir_.File("missing.json")}, FakeEnv({})),
                    kNotFound);
  EXPECT_ERROR_CODE(ResolveConfig({.listen = "nohostport"}, FakeEnv({})), kInvalidArgument);
  EXPECT_ERROR_CODE(ResolveConfig({.log_level = "loud"}, FakeEnv({})), kInvalidArgument);
  EXPECT_ERROR_CODE(ResolveConfig({.io_threads = 0}, FakeEnv({})), kInvalidArgument);
  auto bad_role = ResolveConfig(
      {.config_file = WriteConfig(R"({"tokens":[{"name":"a","token":"t","role":"root"}]})")},
      FakeEnv({}));
  EXPECT_ERROR_CODE(bad_role, kInvalidArgument);
  EXPECT_NE(bad_role.status().message().find("tokens[0].role"), std::string::npos);
}

TEST_F(ConfigTest, NonLoopbackListenNeedsTokens) {
  auto open = ResolveConfig({.listen = "0.0.0.0:7700"}, FakeEnv({}));
  EXPECT_ERROR_CODE(open, kInvalidArgument);
  EXPECT_NE(open.status().message().find("0.0.0.0"), std::string::npos);
  auto guarded = ResolveConfig(
      {.config_file = WriteConfig(
           R"({"listen":"0.0.0.0:7700","tokens":[{"name":"ops","token":"s3cret","role":"admin"}]})")},
      FakeEnv({}));
  ASSERT_OK(guarded);
  ASSERT_EQ(guarded->tokens.size(), 1U);
  EXPECT_EQ(guarded->tokens[0].role, Role::kAdmin);
}

TEST(AuthenticatorTest, RolesFromBearerTokens) {
  Authenticator open({});
  EXPECT_EQ(open.RoleOf(std::nullopt), Role::kAdmin);
  Authenticator auth({{"r", "read-token", Role::kRead}, {"w", "write-token", Role::kWrite}});
  EXPECT_EQ(auth.RoleOf(std::nullopt), Role::kNone);
  EXPECT_EQ(auth.RoleOf("Bearer read-token"), Role::kRead);
  EXPECT_EQ(auth.RoleOf("Bearer write-token"), Role::kWrite);
  EXPECT_EQ(auth.RoleOf("Bearer write-toke"), Role::kNone);
  EXPECT_EQ(auth.RoleOf("Basic write-token"), Role::kNone);
  EXPECT_ERROR_CODE(CheckAuthConfig({{"a", "", Role::kRead}}, "127.0.0.1"), kInvalidArgument);
  EXPECT_ERROR_CODE(CheckAuthConfig({{"a", "x", Role::kRead}, {"b", "x", Role::kAdmin}}, "::1"),
                    kInvalidArgument);
}

}  // namespace
}  // namespace triad::server
