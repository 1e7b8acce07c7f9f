// ConsumerGroups::Open: where the group state lives, and loading it.
#include "triad/consumer_groups.h"

#include <memory>
#include <string>
#include <string_view>

#include "groups/consumer_groups_impl.h"
#include "groups/group_file.h"
#include "postgres/pg_group_store.h"
#include "postgres/pg_uri.h"

namespace triad {
namespace {

// The path of "sqlite:PATH" or "sqlite://PATH"; anything else unchanged.
std::string_view WithoutSqliteScheme(std::string_view uri) {
  if (uri.starts_with("sqlite:")) {
    uri.remove_prefix(7);
    if (uri.starts_with("//")) uri.remove_prefix(2);
  }
  return uri;
}

// The group file for `options.uri`, or beside the store when it is empty.
Result<std::string> GroupFilePath(const EventStore& store, const ConsumerGroupsOptions& options) {
  std::string uri = options.uri;
  if (uri.empty()) {
    const std::string store_uri = store.Describe();
    if (store_uri == "memory:" || store_uri == "memory" || store_uri.starts_with("sqlite:")) {
      uri = DefaultConsumerGroupsUri(store_uri);
    } else {
      return InvalidArgumentError("no default consumer-group location beside store '" + store_uri +
                                  "'; set ConsumerGroupsOptions::uri (for a PostgreSQL store, its "
                                  "postgres:// URI)");
    }
  }
  if (uri == "memory:" || uri == "memory") return std::string(":memory:");
  const std::string_view path = WithoutSqliteScheme(uri);
  if (path.find("://") != std::string_view::npos) {
    return InvalidArgumentError("unsupported consumer-group URI '" + uri +
                                "'; use sqlite:PATH, a file path, postgres://…, or memory:");
  }
  if (path.empty() || path == ":memory:") {
    return InvalidArgumentError("consumer-group URI '" + uri + "' has no path");
  }
  return std::string(path);
}

}  // namespace

std::string DefaultConsumerGroupsUri(std::string_view event_store_uri) {
  if (event_store_uri == "memory:" || event_store_uri == "memory") return "memory:";
  if (internal::pg::IsPostgresUri(event_store_uri)) return std::string(event_store_uri);
  return "sqlite:" + std::string(WithoutSqliteScheme(event_store_uri)) + ".groups";
}

Result<std::unique_ptr<ConsumerGroups>> ConsumerGroups::Open(EventStore* store,
                                                             const ConsumerGroupsOptions& options) {
  if (store == nullptr) return InvalidArgumentError("ConsumerGroups::Open needs a store");
  Clock* clock = options.clock != nullptr ? options.clock : RealClock();
  std::unique_ptr<internal::groups::GroupStorage> storage;
  std::string describe;
  if (internal::pg::IsPostgresUri(options.uri)) {
    // Shared by every node on this database: state and locks live in PostgreSQL.
    auto target = internal::pg::ParsePostgresUri(options.uri);
    if (!target.ok()) return target.status();
    auto shared = internal::pg::OpenPgGroupStore(options.uri, options.create_if_missing);
    if (!shared.ok()) return shared.status();
    storage = std::move(*shared);
    describe = target->display;
  } else {
    auto path = GroupFilePath(*store, options);
    if (!path.ok()) return path.status();
    auto file = internal::groups::GroupFile::Open(*path, options.create_if_missing);
    if (!file.ok()) return file.status();
    storage = std::move(*file);
    describe = *path == ":memory:" ? "memory:" : "sqlite:" + *path;
  }
  auto groups = std::make_unique<internal::groups::ConsumerGroupsImpl>(
      store, clock, std::move(storage), describe);
  if (Status s = groups->Start(); !s.ok()) return s.Annotate("opening consumer groups");
  return std::unique_ptr<ConsumerGroups>(std::move(groups));
}

}  // namespace triad
