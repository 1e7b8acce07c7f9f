#include "cli/client/remote_client.h"

#include "cli/client/http_errors.h"
#include "cli/client/wire_json.h"

#include "triad/clock.h"
#include "triad/event_json.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <utility>

#include "server/http_client.h"

namespace triad::cli {
namespace {

// How long one wait for an SSE event may block before the stop flag and the deadline are looked
// at again.
constexpr int64_t kStopCheckMillis = 100;

// Builds "path?k=v&k=v" with percent-encoded values.
class Target {
 public:
  explicit Target(std::string path) : text_(std::move(path)) {}
  Target& Add(std::string_view key, std::string_view value) {
    text_ += separator_;
    separator_ = '&';
    text_ += key;
    text_ += '=';
    text_ += PercentEncode(value);
    return *this;
  }
  Target& Add(std::string_view key, int64_t value) { return Add(key, std::to_string(value)); }
  const std::string& str() const { return text_; }

 private:
  std::string text_;
  char separator_ = '?';
};

std::string ExpectedVersionJson(ExpectedVersion expected) {
  switch (expected.kind()) {
    case ExpectedVersion::Kind::kAny:
      return "\"any\"";
    case ExpectedVersion::Kind::kNoStream:
      return "\"no_stream\"";
    case ExpectedVersion::Kind::kExists:
      return "\"exists\"";
    case ExpectedVersion::Kind::kExact:
      break;
  }
  return std::to_string(expected.version());
}

// The filters of /events and /subscribe.
Target LogTarget(std::string path, const ReadAllOptions& options) {
  Target target(std::move(path));
  target.Add("from_position", options.from_position);
  for (const std::string& type : options.types) target.Add("type", type);
  for (const std::string& category : options.categories) target.Add("category", category);
  return target;
}

void AddFreshness(Target& target, const ReadOptions& options) {
  if (options.min_position > 0) target.Add("min_position", options.min_position);
  if (options.timeout_us > 0) target.Add("wait_ms", options.timeout_us / 1000);
}

Target QueryTarget(std::string_view collection, const FindRequest& request) {
  Target target("/collections/" + PercentEncode(collection) + "/docs");
  for (const std::string& where : request.where_args) target.Add("where", where);
  if (!request.query.order_by.empty()) {
    target.Add("order_by", request.query.order_by +
                               (request.query.order == SortOrder::kDescending ? ":desc" : ""));
  }
  if (request.query.allow_scan) target.Add("allow_scan", "true");
  AddFreshness(target, request.freshness);
  return target;
}

}  // namespace

std::string PercentEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if ((byte >= 'A' && byte <= 'Z') || (byte >= 'a' && byte <= 'z') ||
        (byte >= '0' && byte <= '9') || byte == '-' || byte == '_' || byte == '.' || byte == '~') {
      out += c;
    } else {
      out += '%';
      out += kHex[byte >> 4];
      out += kHex[byte & 0xF];
    }
  }
  return out;
}

RemoteClient::RemoteClient(std::string url, std::string token)
    : url_(std::move(url)), token_(std::move(token)) {}

RemoteClient::~RemoteClient() = default;

Result<server::ClientResponse> RemoteClient::Exchange(std::string_view method,
                                                      const std::string& target,
                                                      std::string_view body) {
  if (http_ == nullptr) {
    auto client = server::HttpClient::FromUrl(url_, {.bearer_token = token_});
    if (!client.ok()) return client.status().Annotate("--url " + url_);
    http_ = std::move(*client);
  }
  auto response = http_->Send(method, target, body);
  if (!response.ok()) return response.status().Annotate("server " + http_->Endpoint());
  return response;
}

Result<std::string> RemoteClient::Call(std::string_view method, const std::string& target,
                                       std::string_view body) {
  auto response = Exchange(method, target, body);
  if (!response.ok()) return response.status();
  if (response->status >= 400) return StatusOfErrorResponse(response->status, response->body);
  return std::move(response->body);
}

Result<AppendResult> RemoteClient::Append(std::string_view stream, ExpectedVersion expected,
                                          std::span<const NewEvent> events) {
  // data and metadata go as the JSON text given, so the server stores them byte for byte.
  std::string body = "{\"expected_version\":" + ExpectedVersionJson(expected) + ",\"events\":[";
  for (size_t i = 0; i < events.size(); ++i) {
    const NewEvent& event = events[i];
    if (i > 0) body += ',';
    body += '{';
    if (!event.id.empty()) {
      body += "\"id\":";
      AppendJsonString(body, event.id);
      body += ',';
    }
    body += "\"type\":";
    AppendJsonString(body, event.type);
    body += ",\"data\":" + (event.data.empty() ? std::string("{}") : event.data);
    body += ",\"metadata\":" + (event.metadata.empty() ? std::string("{}") : event.metadata);
    body += '}';
  }
  body += "]}";
  auto answer = Call("POST", "/streams/" + PercentEncode(stream), body);
  if (!answer.ok()) return answer.status();
  return DecodeAppendResult(*answer);
}

Result<std::vector<RecordedEvent>> RemoteClient::ReadStream(std::string_view stream,
                                                            const ReadStreamOptions& options) {
  Target target("/streams/" + PercentEncode(stream));
  if (options.from_version) target.Add("from_version", *options.from_version);
  target.Add("limit", static_cast<int64_t>(options.limit));
  target.Add("direction", options.direction == ReadDirection::kBackward ? "backward" : "forward");
  auto answer = Call("GET", target.str());
  if (!answer.ok()) return answer.status();
  return DecodeEvents(*answer);
}

Result<LogPage> RemoteClient::ReadLog(const ReadAllOptions& options) {
  Target target = LogTarget("/events", options);
  target.Add("limit", static_cast<int64_t>(options.limit));
  auto answer = Call("GET", target.str());
  if (!answer.ok()) return answer.status();
  auto events = DecodeEvents(*answer);
  if (!events.ok()) return events.status();
  auto head = DecodeHeadPosition(*answer);
  if (!head.ok()) return head.status();
  return LogPage{.events = std::move(*events), .head_position = *head};
}

Status RemoteClient::Follow(const ReadAllOptions& from, const FollowControl& control,
                            const FollowCallback& on_events) {
  auto url = server::ParseUrl(url_);
  if (!url.ok()) return url.status().Annotate("--url");
  ReadAllOptions read = from;
  read.from_position = std::max<Position>(1, read.from_position);
  const std::string target = LogTarget("/subscribe", read).str();
  Clock& clock = *RealClock();
  std::optional<std::string> last_event_id;
  while (true) {
    // A server that disconnects a lagging subscriber says so first; reconnecting with
    // Last-Event-ID resumes without gaps or duplicates.
    auto stream = server::SseStream::Open(*url, target, last_event_id, {.bearer_token = token_});
    if (!stream.ok()) return stream.status().Annotate("GET /subscribe");
    bool reconnect = false;
    while (!reconnect) {
      if (control.stop_requested && control.stop_requested()) return Status::OK();
      const int64_t now = clock.NowMicros();
      if (now >= control.deadline_us) return Status::OK();
      const int64_t wait_ms =
          std::min<int64_t>(kStopCheckMillis, (control.deadline_us - now + 999) / 1000);
      auto next = (*stream)->Next(wait_ms);
      if (!next.ok()) {
        if (next.status().code() == StatusCode::kDeadlineExceeded) continue;
        return next.status().Annotate("GET /subscribe");
      }
      if (next->heartbeat) continue;
      if (next->event == "disconnect") {
        reconnect = true;
        continue;
      }
      if (next->event != "event") continue;
      auto event = DecodeEvent(next->data);
      if (!event.ok()) return event.status();
      last_event_id = std::to_string(event->position);
      if (!on_events(std::span<const RecordedEvent>(&*event, 1))) return Status::OK();
    }
  }
}

Result<std::vector<StreamInfo>> RemoteClient::ListStreams(const ListStreamsOptions& options) {
  Target target("/streams");
  if (!options.prefix.empty()) target.Add("prefix", options.prefix);
  if (!options.category.empty()) target.Add("category", options.category);
  if (!options.after.empty()) target.Add("after", options.after);
  target.Add("limit", static_cast<int64_t>(options.limit));
  auto answer = Call("GET", target.str());
  if (!answer.ok()) return answer.status();
  return DecodeStreams(*answer);
}

Result<StoreStats> RemoteClient::Stats() {
  return FailedPreconditionError(
      "stats needs --data PATH (it reads the store's files); over --url use GET /metrics on the "
      "server");
}

Result<StoreCheck> RemoteClient::Check() {
  return FailedPreconditionError(
      "check needs --data PATH (it reads the store's files); run it on the server's host");
}

Result<std::vector<ProjectionStatus>> RemoteClient::ListProjections() {
  auto answer = Call("GET", "/projections");
  if (!answer.ok()) return answer.status();
  return DecodeProjections(*answer);
}

Result<ProjectionStatus> RemoteClient::GetProjection(std::string_view name, int32_t version) {
  auto answer = Call("GET", "/projections/" + PercentEncode(name));
  if (!answer.ok()) return answer.status();
  auto versions = DecodeProjections(*answer);
  if (!versions.ok()) return versions.status();
  // Version 0: the serving one, as the engine's GetStatus (the newest when none serves).
  const ProjectionStatus* found = nullptr;
  for (const ProjectionStatus& status : *versions) {
    if (version == 0 ? (found == nullptr || (status.serving && !found->serving) ||
                        (status.serving == found->serving && status.version > found->version))
                     : status.version == version) {
      found = &status;
    }
  }
  if (found == nullptr) {
    return NotFoundError("no projection '" + std::string(name) + "' version " +
                         std::to_string(version));
  }
  return *found;
}

Result<ProjectionStatus> RemoteClient::ActOnProjection(const ProjectionAction& action) {
  const std::string path = "/projections/" + PercentEncode(action.name);
  if (action.kind == ProjectionActionKind::kDeploy) {
    nlohmann::json body = {{"source", action.source}};
    if (action.version > 0) body["version"] = action.version;
    auto answer = Call("PUT", path, body.dump());
    if (!answer.ok()) return answer.status();
    const nlohmann::json deployed =
        nlohmann::json::parse(*answer, nullptr, /*allow_exceptions=*/false);
    const int32_t version = deployed.is_object() && deployed.contains("version") &&
                                    deployed["version"].is_number_integer()
                                ? deployed["version"].get<int32_t>()
                                : 0;
    return GetProjection(action.name, version);
  }
  Target target(path + "/" + std::string(ProjectionActionName(action.kind)));
  if (action.version > 0) target.Add("version", action.version);
  std::string body;
  if (action.kind == ProjectionActionKind::kTrigger && action.up_to) {
    body = "{\"up_to\":" + std::to_string(*action.up_to) + "}";
  }
  auto answer = Call("POST", target.str(), body);
  if (!answer.ok()) return answer.status();
  return DecodeProjection(*answer);
}

Result<DocumentRead> RemoteClient::GetDocument(std::string_view collection, std::string_view id,
                                               const GetOptions& options) {
  Target target("/collections/" + PercentEncode(collection) + "/docs/" + PercentEncode(id));
  AddFreshness(target, options);
  if (options.fresh) target.Add("fresh", "true");
  auto response = Exchange("GET", target.str());
  if (!response.ok()) return response.status();
  if (response->status == 404) {
    // A missing document is an answer, not an error (the embedded engine's contract): the server
    // says so with the position it is as of; a 404 without one is an unknown collection.
    const nlohmann::json json =
        nlohmann::json::parse(response->body, nullptr, /*allow_exceptions=*/false);
    const nlohmann::json as_of = json.is_object() && json.contains("error") &&
                                         json["error"].is_object() &&
                                         json["error"].contains("as_of")
                                     ? json["error"]["as_of"]
                                     : nlohmann::json();
    if (as_of.is_number_integer())
      return DocumentRead{.document = {}, .as_of = as_of.get<int64_t>()};
  }
  if (response->status >= 400) return StatusOfErrorResponse(response->status, response->body);
  return DecodeDocumentRead(response->body, id);
}

Result<QueryPage> RemoteClient::FindDocuments(std::string_view collection,
                                              const FindRequest& request) {
  Target target = QueryTarget(collection, request);
  target.Add("limit", static_cast<int64_t>(request.query.limit));
  if (!request.query.after.empty()) target.Add("after", request.query.after);
  auto answer = Call("GET", target.str());
  if (!answer.ok()) return answer.status();
  return DecodeQueryPage(*answer);
}

Result<CountResult> RemoteClient::CountDocuments(std::string_view collection,
                                                 const FindRequest& request) {
  Target target = QueryTarget(collection, request);
  target.Add("count", "true");
  auto answer = Call("GET", target.str());
  if (!answer.ok()) return answer.status();
  return DecodeCount(*answer);
}

Result<std::vector<GroupInfo>> RemoteClient::ListGroups() {
  auto answer = Call("GET", "/groups");
  if (!answer.ok()) return answer.status();
  return DecodeGroups(*answer);
}

Result<GroupInfo> RemoteClient::GetGroup(std::string_view name) {
  auto answer = Call("GET", "/groups/" + PercentEncode(name));
  if (!answer.ok()) return answer.status();
  return DecodeGroup(*answer);
}

Result<std::vector<ParkedMessage>> RemoteClient::ListParked(std::string_view group,
                                                            Position from_position, size_t limit) {
  Target target("/groups/" + PercentEncode(group) + "/parked");
  target.Add("from_position", from_position);
  target.Add("limit", static_cast<int64_t>(limit));
  auto answer = Call("GET", target.str());
  if (!answer.ok()) return answer.status();
  return DecodeParked(*answer);
}

}  // namespace triad::cli
