// ConsumerGroups::Open: where the group state lives, and loading it.
#include "triad/consumer_groups.h"

#include <memory>
#include <string>
#include <string_view>

#include "groups/consumer_groups_impl.h"
#include "groups/group_file.h"

namespace triad {
namespace {

// The group file for `options.uri`, or beside the store when it is empty.
Result<std::string> GroupFilePath(const EventStore& store, const ConsumerGroupsOptions& options) {
  std::string uri = options.uri;
  if (uri.empty()) {
    const std::string store_uri = store.Describe();
    if (store_uri == "memory:" || store_uri == "memory") {
      uri = "memory:";
    } else if (store_uri.starts_with("sqlite:")) {
      uri = store_uri + ".groups";
    } else {
      return InvalidArgumentError("no default consumer-group location beside store '" + store_uri +
                                  "'; set ConsumerGroupsOptions::uri");
    }
  }
  if (uri == "memory:" || uri == "memory") return std::string(":memory:");
  std::string_view path = uri;
  if (path.starts_with("sqlite:")) {
    path.remove_prefix(7);
    if (path.starts_with("//")) path.remove_prefix(2);
  } else if (path.find("://") != std::string_view::npos) {
    return InvalidArgumentError("unsupported consumer-group URI '" + uri +
                                "'; use sqlite:PATH, a file path, or memory:");
  }
  if (path.empty() || path == ":memory:") {
    return InvalidArgumentError("consumer-group URI '" + uri + "' has no path");
  }
  return std::string(path);
}

}  // namespace

Result<std::unique_ptr<ConsumerGroups>> ConsumerGroups::Open(EventStore* store,
                                                             const ConsumerGroupsOptions& options) {
  if (store == nullptr) return InvalidArgumentError("ConsumerGroups::Open needs a store");
  auto path = GroupFilePath(*store, options);
  if (!path.ok()) return path.status();
  auto file = internal::groups::GroupFile::Open(*path);
  if (!file.ok()) return file.status();
  const std::string describe = *path == ":memory:" ? "memory:" : "sqlite:" + *path;
  Clock* clock = options.clock != nullptr ? options.clock : RealClock();
  auto groups = std::make_unique<internal::groups::ConsumerGroupsImpl>(store, clock,
                                                                       std::move(*file), describe);
  if (Status s = groups->Start(); !s.ok()) return s.Annotate("opening consumer groups");
  return std::unique_ptr<ConsumerGroups>(std::move(groups));
}

}  // namespace triad
