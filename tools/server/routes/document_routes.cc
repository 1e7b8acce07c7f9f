#include "server/routes/document_routes.h"

#include "triad/projection_engine.h"
#include "triad/query_text.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "server/json_body.h"

namespace triad::server {
namespace {

constexpr int64_t kMaxPosition = std::numeric_limits<int64_t>::max();
// How long a read with min_position waits when wait_ms is not given.
constexpr int64_t kDefaultWaitMs = 5000;
// Reads min_position and wait_ms into `options`.
Status ReadFreshness(const HttpRequest& request, const Limits& limits, ReadOptions& options) {
  auto min_position = QueryInt(request, "min_position", 0, kMaxPosition);
  if (!min_position.ok()) return min_position.status();
  auto wait_ms = QueryInt(request, "wait_ms", 0, limits.max_wait_ms);
  if (!wait_ms.ok()) return wait_ms.status();
  options.min_position = min_position->value_or(0);
  options.timeout_us = wait_ms->value_or(kDefaultWaitMs) * 1000;
  return Status::OK();
}

// A read that waited for min_position and did not get it: when the transport parks waits, the
// read checked once (timeout 0) and the request is parked instead of answered.
bool ParkRead(const HttpRequest& request, const ReadOptions& asked, const Status& read) {
  return read.code() == StatusCode::kDeadlineExceeded && asked.min_position > 0 &&
         ShouldPark(request, asked.timeout_us);
}

// `asked` with the wait this thread may block for (none when the transport parks waits).
template <typename Options>
Options Blocking(const HttpRequest& request, Options asked) {
  asked.timeout_us = BlockingWaitUs(request, asked.timeout_us);
  return asked;
}

HttpResponse GetDocument(ServerContext& context, const HttpRequest& request) {
  GetOptions options;
  if (Status s = ReadFreshness(request, context.limits, options); !s.ok()) {
    return ErrorFromStatus(s);
  }
  auto fresh = QueryBool(request, "fresh");
  if (!fresh.ok()) return ErrorFromStatus(fresh.status());
  options.fresh = fresh->value_or(false);
  const std::string_view id = request.Param("id");
  auto read = context.engine->Get(request.Param("collection"), id, Blocking(request, options));
  if (!read.ok()) {
    if (ParkRead(request, options, read.status())) return WaitResponse(options.timeout_us);
    return ErrorFromStatus(read.status());
  }
  if (!read->document.has_value()) {
    const nlohmann::json details = {{"as_of", read->as_of}};
    return ErrorResponse(404, "not_found",
                         "no document '" + std::string(id) + "' in collection '" +
                             std::string(request.Param("collection")) + "'",
                         &details);
  }
  HttpResponse response;
  response.body = "{\"document\":" + DocumentToJson(*read->document) +
                  ",\"as_of\":" + std::to_string(read->as_of) + "}";
  return response;
}

Status ReadOrder(const HttpRequest& request, Query& query) {
  const auto order_by = request.Query("order_by");
  if (!order_by.has_value()) return Status::OK();
  auto order = ParseOrderText(*order_by, "order_by");
  if (!order.ok()) return order.status();
  query.order_by = std::move(order->first);
  query.order = order->second;
  return Status::OK();
}

HttpResponse FindDocuments(ServerContext& context, const HttpRequest& request) {
  ReadOptions options;
  if (Status s = ReadFreshness(request, context.limits, options); !s.ok()) {
    return ErrorFromStatus(s);
  }
  Query query;
  for (std::string_view where : request.QueryAll("where")) {
    auto filter = ParseFilterText(where, "where");
    if (!filter.ok()) return ErrorFromStatus(filter.status());
    query.filters.push_back(*std::move(filter));
  }
  if (Status s = ReadOrder(request, query); !s.ok()) return ErrorFromStatus(s);
  auto limit = QueryInt(request, "limit", 1, context.limits.max_read_limit);
  if (!limit.ok()) return ErrorFromStatus(limit.status());
  query.limit = static_cast<size_t>(limit->value_or(100));
  query.after = std::string(request.Query("after").value_or(""));
  auto allow_scan = QueryBool(request, "allow_scan");
  if (!allow_scan.ok()) return ErrorFromStatus(allow_scan.status());
  query.allow_scan = allow_scan->value_or(false);
  auto count = QueryBool(request, "count");
  if (!count.ok()) return ErrorFromStatus(count.status());
  const std::string_view collection = request.Param("collection");

  if (count->value_or(false)) {
    auto counted = context.engine->Count(collection, query, Blocking(request, options));
    if (!counted.ok()) {
      if (ParkRead(request, options, counted.status())) return WaitResponse(options.timeout_us);
      return ErrorFromStatus(counted.status());
    }
    return JsonResponse(200, {{"count", counted->count}, {"as_of", counted->as_of}});
  }
  auto page = context.engine->Find(collection, query, Blocking(request, options));
  if (!page.ok()) {
    if (ParkRead(request, options, page.status())) return WaitResponse(options.timeout_us);
    return ErrorFromStatus(page.status());
  }
  std::string body = "{\"documents\":[";
  for (size_t i = 0; i < page->documents.size(); ++i) {
    if (i > 0) body += ',';
    body += DocumentToJson(page->documents[i]);
  }
  body += "],\"next_after\":";
  if (page->next_cursor.empty()) {
    body += "null";
  } else {
    body += nlohmann::json(page->next_cursor).dump();
  }
  body += ",\"as_of\":" + std::to_string(page->as_of) + "}";
  HttpResponse response;
  response.body = std::move(body);
  return response;
}

Result<std::vector<IndexSpec>> ReadIndexes(const nlohmann::json& body) {
  std::vector<IndexSpec> indexes;
  auto it = body.find("indexes");
  if (it == body.end()) return indexes;
  const Status bad(StatusCode::kInvalidArgument,
                   "'indexes' must be an array of {\"path\": string, \"type\": "
                   "\"string\"|\"number\"|\"bool\"}");
  if (!it->is_array()) return bad;
  for (const auto& index : *it) {
    if (!index.is_object() || index.size() != 2 || !index.contains("path") ||
        !index.contains("type") || !index["path"].is_string() || !index["type"].is_string()) {
      return bad;
    }
    const std::string type = index["type"].get<std::string>();
    IndexSpec spec{.field = index["path"].get<std::string>(), .type = IndexType::kString};
    if (type == "number") {
      spec.type = IndexType::kNumber;
    } else if (type == "bool") {
      spec.type = IndexType::kBool;
    } else if (type != "string") {
      return bad;
    }
    indexes.push_back(std::move(spec));
  }
  return indexes;
}

Result<ClientBatch::Upsert> ReadUpsert(const nlohmann::json& item) {
  if (!item.is_object()) {
    return Status(StatusCode::kInvalidArgument, "each of 'upserts' must be an object");
  }
  for (const auto& member : item.items()) {
    const std::string& key = member.key();
    if (key != "id" && key != "document" && key != "position" && key != "sources") {
      return Status(StatusCode::kInvalidArgument,
                    "unknown field '" + key +
                        "' in an upsert (known: id, document, position, "
                        "sources)");
    }
  }
  ClientBatch::Upsert upsert;
  auto id = OptionalString(item, "id");
  if (!id.ok()) return id.status();
  if (!id->has_value()) return Status(StatusCode::kInvalidArgument, "an upsert has no 'id'");
  upsert.id = **id;
  auto document = item.find("document");
  if (document == item.end() || !document->is_object()) {
    return Status(StatusCode::kInvalidArgument,
                  "upsert '" + upsert.id + "': 'document' must be a JSON object");
  }
  upsert.body = document->dump();
  auto position = OptionalInt(item, "position", 0, kMaxPosition);
  if (!position.ok()) return position.status();
  upsert.position = position->value_or(0);
  if (auto sources = item.find("sources"); sources != item.end()) {
    if (!sources->is_object()) {
      return Status(StatusCode::kInvalidArgument,
                    "upsert '" + upsert.id + "': 'sources' must be an object of stream: version");
    }
    for (const auto& [stream, version] : sources->items()) {
      if (!version.is_number_integer() || version.get<int64_t>() < 0) {
        return Status(StatusCode::kInvalidArgument, "upsert '" + upsert.id + "': sources['" +
                                                        stream +
                                                        "'] must be a stream version (>= 0)");
      }
      upsert.sources.emplace(stream, version.get<int64_t>());
    }
  }
  return upsert;
}

Result<ClientBatch> ReadBatch(const HttpRequest& request, const nlohmann::json& body) {
  ClientBatch batch;
  batch.collection = std::string(request.Param("collection"));
  auto projection = OptionalString(body, "projection");
  if (!projection.ok()) return projection.status();
  if (!projection->has_value()) {
    return Status(StatusCode::kInvalidArgument, "'projection' (the client projection) is required");
  }
  batch.projection = **projection;
  auto version = OptionalInt(body, "version", 1, std::numeric_limits<int32_t>::max());
  if (!version.ok()) return version.status();
  batch.version = static_cast<int32_t>(version->value_or(1));
  auto expected = OptionalInt(body, "expected_checkpoint", 0, kMaxPosition);
  if (!expected.ok()) return expected.status();
  auto checkpoint = OptionalInt(body, "checkpoint", 0, kMaxPosition);
  if (!checkpoint.ok()) return checkpoint.status();
  if (!expected->has_value() || !checkpoint->has_value()) {
    return Status(StatusCode::kInvalidArgument,
                  "'expected_checkpoint' and 'checkpoint' are required");
  }
  batch.expected_checkpoint = **expected;
  batch.checkpoint = **checkpoint;
  auto indexes = ReadIndexes(body);
  if (!indexes.ok()) return indexes.status();
  batch.indexes = *std::move(indexes);
  if (auto upserts = body.find("upserts"); upserts != body.end()) {
    if (!upserts->is_array()) {
      return Status(StatusCode::kInvalidArgument, "'upserts' must be an array");
    }
    for (const auto& item : *upserts) {
      auto upsert = ReadUpsert(item);
      if (!upsert.ok()) return upsert.status();
      batch.upserts.push_back(*std::move(upsert));
    }
  }
  auto deletes = OptionalStringArray(body, "deletes");
  if (!deletes.ok()) return deletes.status();
  batch.deletes = deletes->value_or(std::vector<std::string>());
  return batch;
}

HttpResponse ApplyBatch(ServerContext& context, const HttpRequest& request) {
  auto body = ParseObjectBody(request, {"projection", "version", "expected_checkpoint",
                                        "checkpoint", "indexes", "upserts", "deletes"});
  if (!body.ok()) return BodyErrorResponse(body.status());
  auto batch = ReadBatch(request, *body);
  if (!batch.ok()) return ErrorFromStatus(batch.status());
  auto applied = context.engine->ApplyClientBatch(*batch);
  if (!applied.ok()) {
    if (applied.status().code() != StatusCode::kFailedPrecondition) {
      return ErrorFromStatus(applied.status());
    }
    // A stale expected_checkpoint: tell the client where to resume.
    auto stored = context.engine->GetStatus(batch->projection, batch->version);
    nlohmann::json details = nlohmann::json::object();
    if (stored.ok()) details["checkpoint"] = stored->checkpoint;
    return ErrorResponse(409, "failed_precondition", applied.status().message(), &details);
  }
  return JsonResponse(200, {{"projection", batch->projection},
                            {"version", batch->version},
                            {"checkpoint", applied->checkpoint},
                            {"upserts", batch->upserts.size()},
                            {"deletes", batch->deletes.size()}});
}

}  // namespace

void RegisterDocumentRoutes(Router& router, ServerContext& context) {
  ServerContext* c = &context;
  router.Add("GET", "/collections/{collection}/docs/{id}", Role::kRead, "get_document",
             [c](HttpRequest& r) { return GetDocument(*c, r); });
  router.Add("GET", "/collections/{collection}/docs", Role::kRead, "find_documents",
             [c](HttpRequest& r) { return FindDocuments(*c, r); });
  router.Add("POST", "/collections/{collection}/batch", Role::kWrite, "client_batch",
             [c](HttpRequest& r) { return ApplyBatch(*c, r); });
}

}  // namespace triad::server
