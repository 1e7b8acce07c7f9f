// EmbeddedClient: the Client over a store opened in this process (--data PATH|URI).
//
// The store is opened on first use, never created except by a successful Append(). The
// projection engine and consumer groups are opened lazily on the same store, so verbs that do
// not need them do not touch the read model or the group file (which is never created here). No
// projection handlers are registered here: stored projections are listed as unregistered,
// pause/resume/reset/promote act on their stored records, and what needs a handler to run (trigger,
// waiting for a rebuild, deploy) is refused with a hint to use --url against the server that runs
// them.
//
// Thread-safety: one thread at a time (see Client).
#pragma once

#include "cli/client/client.h"

#include <memory>
#include <string>

namespace triad::cli {

class EmbeddedClient final : public Client {
 public:
  // `store_uri` names the store; `env_var` is the environment variable that names it by default
  // (for the hint of a "does not exist" error). Opens nothing yet.
  EmbeddedClient(std::string store_uri, std::string env_var);
  ~EmbeddedClient() override;

  Result<AppendResult> Append(std::string_view stream, ExpectedVersion expected,
                              std::span<const NewEvent> events) override;
  Result<std::vector<RecordedEvent>> ReadStream(std::string_view stream,
                                                const ReadStreamOptions& options) override;
  Result<LogPage> ReadLog(const ReadAllOptions& options) override;
  Status Follow(const ReadAllOptions& from, const FollowControl& control,
                const FollowCallback& on_events) override;
  Result<std::vector<StreamInfo>> ListStreams(const ListStreamsOptions& options) override;
  Result<StoreStats> Stats() override;
  Result<StoreCheck> Check() override;
  Result<std::vector<ProjectionStatus>> ListProjections() override;
  Result<ProjectionStatus> GetProjection(std::string_view name, int32_t version) override;
  Result<ProjectionStatus> ActOnProjection(const ProjectionAction& action) override;
  Result<DocumentRead> GetDocument(std::string_view collection, std::string_view id,
                                   const GetOptions& options) override;
  Result<QueryPage> FindDocuments(std::string_view collection, const FindRequest& request) override;
  Result<CountResult> CountDocuments(std::string_view collection,
                                     const FindRequest& request) override;
  Result<std::vector<GroupInfo>> ListGroups() override;
  Result<GroupInfo> GetGroup(std::string_view name) override;
  Result<std::vector<ParkedMessage>> ListParked(std::string_view group, Position from_position,
                                                size_t limit) override;

 private:
  // Opens the store (create_if_missing as given) unless it is open. Errors: EventStore::Open's;
  // a missing store is kNotFound with a hint on how to name another.
  Result<EventStore*> Store(bool create_if_missing = false);
  // Opens the projection engine over the store unless it is open; nullptr when the store has no
  // read model yet (a reading verb must not create one).
  Result<ProjectionEngine*> Engine();
  // Opens the consumer groups beside the store unless they are open; nullptr when the store has
  // no group file yet (a listing must not create one).
  Result<ConsumerGroups*> Groups();

  std::string store_uri_;
  std::string env_var_;
  std::unique_ptr<EventStore> store_;
  // Declared after store_: destroyed first, as it reads the store.
  std::unique_ptr<ProjectionEngine> engine_;
  std::unique_ptr<ConsumerGroups> groups_;
};

}  // namespace triad::cli
