// RemoteClient: the Client over a Triad server's HTTP API (--url URL, docs/http-api.md), through
// the blocking keep-alive client of server/http_client.h (one connection, opened on first use).
//
// Error answers become the Status the embedded store would have returned (http_errors.h), so
// verbs exit with the same codes either way. A bearer token, when given, is sent with every
// request. `stats` and `check` are refused (the server offers GET /metrics instead).
//
// Thread-safety: one thread at a time (see Client).
#pragma once

#include "cli/client/client.h"

#include <memory>
#include <string>

namespace triad::server {
class HttpClient;
struct ClientResponse;
}  // namespace triad::server

namespace triad::cli {

class RemoteClient final : public Client {
 public:
  // Talks to the server at `url` ("http://host:port[/base]"), sending `token` as
  // `Authorization: Bearer` when not empty. Connects on first use.
  RemoteClient(std::string url, std::string token);
  ~RemoteClient() override;

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
  // The answer to `method target` whatever its HTTP status. Errors: transport failures.
  Result<server::ClientResponse> Exchange(std::string_view method, const std::string& target,
                                          std::string_view body = {});
  // The body of a successful (2xx) answer to `method target`, else the Status of the error.
  Result<std::string> Call(std::string_view method, const std::string& target,
                           std::string_view body = {});

  std::string url_;
  std::string token_;
  std::unique_ptr<server::HttpClient> http_;
};

// `text` percent-encoded for a path segment or a query value (RFC 3986 unreserved characters
// are kept).
std::string PercentEncode(std::string_view text);

}  // namespace triad::cli
