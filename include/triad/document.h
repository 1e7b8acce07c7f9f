// Documents, collections, indexes and queries of the read-model store (the cache).
//
// A projection writes JSON documents into named collections, keyed by id. Each document carries
// `_meta` (docs/queries.md): the projection `name@version` that wrote it, the `position` of the
// last event applied to it, and `sources`, the version vector {stream: version} of the streams
// whose events built it. Collections declare indexes on JSON fields; queries filter (AND), order
// and page on indexed fields only, unless the caller explicitly allows a full scan.
//
// Thread-safety: all types here are plain values.
#pragma once

#include "triad/event.h"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace triad {

// The `_meta` member of a document.
struct DocumentMeta {
  // "name@version" of the projection that wrote the document.
  std::string projection;
  // Position of the last event applied to the document.
  Position position = 0;
  // For each stream whose events changed the document, the version of the last such event.
  // Empty when the projection does not record sources (ProjectionDefinition::record_sources).
  std::map<std::string, StreamVersion, std::less<>> sources;
};

// A stored document.
struct Document {
  std::string id;
  // The document's JSON object text, without `_meta`.
  std::string body;
  DocumentMeta meta;
};

// The document as served: `body` with `"_meta": {"id", "projection", "position", "sources"}`
// added as its last member. REQUIRES: `document.body` is a JSON object.
std::string DocumentToJson(const Document& document);

// `meta` as the JSON object `{"projection":..,"position":..,"sources":{..}}`.
std::string DocumentMetaToJson(const DocumentMeta& meta);

// The type of an index. A document whose field is missing or holds another JSON type is absent
// from the index: no filter on that field matches it, and it sorts before every value (after
// every value in descending order).
enum class IndexType {
  kString,
  // JSON numbers, compared as IEEE doubles (integers beyond 2^53 lose precision).
  kNumber,
  // JSON true / false; false < true.
  kBool,
};

// "string", "number", "bool".
std::string_view IndexTypeName(IndexType type);

// An index on one field. `field` is a dotted path of object members from the document root,
// e.g. "owner" or "address.city"; each segment is 1-64 characters of [A-Za-z0-9_].
struct IndexSpec {
  std::string field;
  IndexType type = IndexType::kString;
};

// A collection a projection writes, with its indexes. `name`: 1-64 characters of [a-z0-9_-],
// starting with a letter.
struct CollectionSpec {
  std::string name;
  std::vector<IndexSpec> indexes;
};

// A value compared with an indexed field. Its alternative must match the index type
// (std::string for kString, double for kNumber, bool for kBool), else the query is refused with
// kInvalidArgument.
using FieldValue = std::variant<std::string, double, bool>;

enum class FilterOp {
  kEq,
  kNe,
  kLt,
  kLe,
  kGt,
  kGe,
  // `values` holds 1 to 1,000 candidates; matches any of them.
  kIn,
  // String fields only: the value starts with values[0] (byte-wise).
  kPrefix,
};

// "eq", "ne", "lt", "le", "gt", "ge", "in", "prefix".
std::string_view FilterOpName(FilterOp op);

// One condition on a field. `values` has exactly one element except for kIn.
struct Filter {
  std::string field;
  FilterOp op = FilterOp::kEq;
  std::vector<FieldValue> values;
};

enum class SortOrder { kAscending, kDescending };

// A query on one collection. Filters combine with AND. Every filtered or ordered field needs an
// index, else the query fails with kInvalidArgument naming the missing index, unless allow_scan.
struct Query {
  std::vector<Filter> filters;
  // An indexed field to order by; ties are broken by id. Empty: order by id.
  std::string order_by;
  SortOrder order = SortOrder::kAscending;
  // Documents per page, 1 to 10,000. Default: 100.
  size_t limit = 100;
  // The `next_cursor` of the previous page; empty for the first page. A cursor is valid only
  // with the same filters and order.
  std::string after;
  // Evaluate filters on fields without an index by reading every document of the collection.
  bool allow_scan = false;
};

// One page of query results.
struct QueryPage {
  std::vector<Document> documents;
  // Pass as Query::after to get the next page; empty when this is the last page.
  std::string next_cursor;
  // The checkpoint of the projection that serves the collection, read in the same snapshot as
  // the documents: the answer includes every matching event at or below this position.
  Position as_of = 0;
};

// The answer to a count.
struct CountResult {
  int64_t count = 0;
  Position as_of = 0;
};

}  // namespace triad
