// Queries against a brute-force evaluator of the documented semantics (docs/queries.md):
// seeded random documents (mixed and wrong types, missing fields, duplicates, unicode, nested
// paths) and seeded random queries (every op, every order, random limits). Paging with cursors
// to the end must give exactly the brute-force list, and Count its size. The same queries with
// allow_scan on a collection without indexes must agree too.
#include "triad/document.h"
#include "triad/read_model_backend.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "read_model_factory.h"

namespace triad::testing {
namespace {

using nlohmann::json;

const std::string kIndexed = "p@1/indexed";
const std::string kPlain = "p@1/plain";

struct FieldDef {
  std::string path;
  IndexType type;
};

const std::vector<FieldDef> kFields = {{"s", IndexType::kString},
                                       {"n", IndexType::kNumber},
                                       {"b", IndexType::kBool},
                                       {"nested.city", IndexType::kString},
                                       {"nested.score", IndexType::kNumber}};

const std::vector<std::string> kStrings = {
    "",   "a",    "ab", "abc",  "b",    "B", "é",
    "éa", "日本", "日", "z\"q", "a\\b", "ÿ", "\xF0\x9F\x98\x80x",
    "zz", "a b"};
const std::vector<double> kNumbers = {-3, -1.5, -0.0, 0, 0.5, 1, 2, 2.0, 7.25, 1000, -1e6, 3.5};

// A random JSON value of any type (a "wrong type" for most fields).
json AnyValue(std::mt19937_64& rng) {
  switch (rng() % 6) {
    case 0:
      return kStrings[rng() % kStrings.size()];
    case 1:
      return kNumbers[rng() % kNumbers.size()];
    case 2:
      return rng() % 2 == 0;
    case 3:
      return nullptr;
    case 4:
      return json::array({1, "x"});
    default:
      return json::object({{"k", 1}});
  }
}

// A value of `type`, usually; sometimes a wrong type, null, or nothing (missing).
std::optional<json> FieldValueFor(IndexType type, std::mt19937_64& rng) {
  const auto roll = rng() % 10;
  if (roll == 0) return std::nullopt;
  if (roll == 1) return AnyValue(rng);
  switch (type) {
    case IndexType::kString:
      return json(kStrings[rng() % kStrings.size()]);
    case IndexType::kNumber:
      return json(kNumbers[rng() % kNumbers.size()]);
    case IndexType::kBool:
      return json(rng() % 2 == 0);
  }
  return std::nullopt;
}

json RandomBody(std::mt19937_64& rng) {
  json body = json::object();
  for (const char* f : {"s", "n", "b"}) {
    const FieldDef& def = *std::find_if(kFields.begin(), kFields.end(),
                                        [&](const FieldDef& d) { return d.path == f; });
    if (auto v = FieldValueFor(def.type, rng)) body[f] = *v;
  }
  const auto nested = rng() % 8;
  if (nested == 0) {
    body["nested"] = "not an object";
  } else if (nested > 1) {
    json inner = json::object();
    if (auto v = FieldValueFor(IndexType::kString, rng)) inner["city"] = *v;
    if (auto v = FieldValueFor(IndexType::kNumber, rng)) inner["score"] = *v;
    body["nested"] = inner;
  }
  if (rng() % 3 == 0) body["extra"] = AnyValue(rng);
  return body;
}

// The field's value as `type`, per the documented semantics; nullopt when missing or of another
// type.
std::optional<FieldValue> Extract(const json& body, const std::string& path, IndexType type) {
  const json* node = &body;
  size_t start = 0;
  while (true) {
    const size_t dot = path.find('.', start);
    const std::string key = path.substr(start, dot - start);
    if (!node->is_object() || !node->contains(key)) return std::nullopt;
    node = &(*node)[key];
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  switch (type) {
    case IndexType::kString:
      if (node->is_string()) return FieldValue(node->get<std::string>());
      break;
    case IndexType::kNumber:
      if (node->is_number()) return FieldValue(node->get<double>());
      break;
    case IndexType::kBool:
      if (node->is_boolean()) return FieldValue(node->get<bool>());
      break;
  }
  return std::nullopt;
}

// -1, 0, 1 comparing two values of the same alternative.
int Compare(const FieldValue& a, const FieldValue& b) {
  if (const auto* s = std::get_if<std::string>(&a)) {
    const int c = s->compare(std::get<std::string>(b));
    return c < 0 ? -1 : (c > 0 ? 1 : 0);
  }
  if (const auto* d = std::get_if<double>(&a)) {
    const double e = std::get<double>(b);
    return *d < e ? -1 : (*d > e ? 1 : 0);
  }
  const bool x = std::get<bool>(a);
  const bool y = std::get<bool>(b);
  return x == y ? 0 : (x ? 1 : -1);
}

IndexType TypeOf(const std::string& path) {
  for (const FieldDef& d : kFields) {
    if (d.path == path) return d.type;
  }
  return IndexType::kString;
}

bool Matches(const json& body, const Filter& f) {
  const auto v = Extract(body, f.field, TypeOf(f.field));
  if (!v) return false;
  const int c = Compare(*v, f.values[0]);
  switch (f.op) {
    case FilterOp::kEq:
      return c == 0;
    case FilterOp::kNe:
      return c != 0;
    case FilterOp::kLt:
      return c < 0;
    case FilterOp::kLe:
      return c <= 0;
    case FilterOp::kGt:
      return c > 0;
    case FilterOp::kGe:
      return c >= 0;
    case FilterOp::kIn:
      return std::any_of(f.values.begin(), f.values.end(),
                         [&](const FieldValue& x) { return Compare(*v, x) == 0; });
    case FilterOp::kPrefix:
      return std::get<std::string>(*v).starts_with(std::get<std::string>(f.values[0]));
  }
  return false;
}

struct Row {
  std::string id;
  json body;
};

std::vector<std::string> BruteForce(const std::vector<Row>& rows, const Query& q) {
  std::vector<const Row*> hits;
  for (const Row& r : rows) {
    if (std::all_of(q.filters.begin(), q.filters.end(),
                    [&](const Filter& f) { return Matches(r.body, f); })) {
      hits.push_back(&r);
    }
  }
  // Ascending: missing values first, then by value; ties by id. Descending: the reverse.
  auto less = [&](const Row* a, const Row* b) {
    if (!q.order_by.empty()) {
      const auto va = Extract(a->body, q.order_by, TypeOf(q.order_by));
      const auto vb = Extract(b->body, q.order_by, TypeOf(q.order_by));
      if (va.has_value() != vb.has_value()) return !va.has_value();
      if (va) {
        const int c = Compare(*va, *vb);
        if (c != 0) return c < 0;
      }
    }
    return a->id < b->id;
  };
  std::sort(hits.begin(), hits.end(), less);
  if (q.order == SortOrder::kDescending) std::reverse(hits.begin(), hits.end());
  std::vector<std::string> ids;
  for (const Row* r : hits) ids.push_back(r->id);
  return ids;
}

FieldValue RandomValue(IndexType type, std::mt19937_64& rng) {
  switch (type) {
    case IndexType::kString: {
      std::string s = kStrings[rng() % kStrings.size()];
      if (rng() % 4 == 0 && !s.empty()) s.pop_back();  // often a prefix of stored strings
      return s;
    }
    case IndexType::kNumber:
      return rng() % 5 == 0 ? static_cast<double>(static_cast<int>(rng() % 20) - 10) / 4
                            : kNumbers[rng() % kNumbers.size()];
    case IndexType::kBool:
      return rng() % 2 == 0;
  }
  return false;
}

Query RandomQuery(std::mt19937_64& rng) {
  Query q;
  const size_t nfilters = rng() % 4;  // 0-3
  for (size_t i = 0; i < nfilters; ++i) {
    const FieldDef& def = kFields[rng() % kFields.size()];
    Filter f{.field = def.path, .op = static_cast<FilterOp>(rng() % 8), .values = {}};
    if (f.op == FilterOp::kPrefix && def.type != IndexType::kString) f.op = FilterOp::kGe;
    const size_t nvalues = f.op == FilterOp::kIn ? 1 + rng() % 5 : 1;
    for (size_t k = 0; k < nvalues; ++k) f.values.push_back(RandomValue(def.type, rng));
    q.filters.push_back(std::move(f));
  }
  if (rng() % 3 != 0) q.order_by = kFields[rng() % kFields.size()].path;
  q.order = rng() % 2 == 0 ? SortOrder::kAscending : SortOrder::kDescending;
  static const size_t kLimits[] = {1, 2, 3, 7, 20, 100, 10000};
  q.limit = kLimits[rng() % 7];
  return q;
}

std::string Describe(const Query& q) {
  std::string out;
  for (const Filter& f : q.filters) {
    out += f.field + " " + std::string(FilterOpName(f.op)) + " [";
    for (const FieldValue& v : f.values) {
      if (const auto* s = std::get_if<std::string>(&v)) out += "'" + *s + "' ";
      if (const auto* d = std::get_if<double>(&v)) out += std::to_string(*d) + " ";
      if (const auto* b = std::get_if<bool>(&v)) out += *b ? "true " : "false ";
    }
    out += "]; ";
  }
  return out + "order_by " + q.order_by + (q.order == SortOrder::kDescending ? " desc" : " asc") +
         " limit " + std::to_string(q.limit);
}

class QueryProperty : public ReadModelTest {
 protected:
  // Writes `count` random documents to both collections, then rewrites and deletes some, so
  // that index maintenance on update and delete is exercised too.
  void Populate(std::mt19937_64& rng, int count) {
    auto txn = rm().BeginWrite();
    ASSERT_OK(txn);
    std::vector<IndexSpec> indexes;
    for (const FieldDef& d : kFields) indexes.push_back({d.path, d.type});
    ASSERT_OK((*txn)->EnsureCollection(kIndexed, {.name = "indexed", .indexes = indexes}));
    ASSERT_OK((*txn)->EnsureCollection(kPlain, {.name = "plain", .indexes = {}}));
    std::map<std::string, json> docs;
    for (int i = 0; i < count; ++i) {
      // Ids with shared prefixes and varying lengths so that id order is not insertion order.
      docs["d" + std::to_string(rng() % (count * 4))] = RandomBody(rng);
    }
    int n = 0;
    for (auto it = docs.begin(); it != docs.end();) {
      ++n;
      if (n % 7 == 0) {
        it->second = RandomBody(rng);  // rewritten below, after a first version was stored
      }
      ++it;
    }
    for (const auto& [id, body] : docs) {
      // Some bodies are sent with \u escapes: stored text differs, values do not.
      const std::string text = rng() % 4 == 0 ? body.dump(-1, ' ', true) : body.dump();
      for (const std::string& c : {kIndexed, kPlain}) {
        ASSERT_OK((*txn)->Put(c, Document{.id = id, .body = text, .meta = {}}));
      }
    }
    ASSERT_OK((*txn)->Commit());
    txn = rm().BeginWrite();
    ASSERT_OK(txn);
    n = 0;
    for (auto it = docs.begin(); it != docs.end();) {
      ++n;
      if (n % 11 == 0) {
        for (const std::string& c : {kIndexed, kPlain}) ASSERT_OK((*txn)->Delete(c, it->first));
        it = docs.erase(it);
        continue;
      }
      if (n % 5 == 0) {
        it->second = RandomBody(rng);
        for (const std::string& c : {kIndexed, kPlain}) {
          ASSERT_OK(
              (*txn)->Put(c, Document{.id = it->first, .body = it->second.dump(), .meta = {}}));
        }
      }
      ++it;
    }
    ASSERT_OK((*txn)->Commit());
    for (auto& [id, body] : docs) rows_.push_back(Row{id, body});
  }

  // Pages through `q` on `collection`; the ids in order, or the first error.
  Result<std::vector<std::string>> PageAll(const std::string& collection, Query q) {
    std::vector<std::string> ids;
    for (size_t pages = 0; pages <= rows_.size() + 1; ++pages) {
      auto page = rm().Find(collection, q, "p", 1);
      if (!page.ok()) return page.status();
      if (page->documents.size() > q.limit) return InternalError("page over the limit");
      for (const Document& d : page->documents) ids.push_back(d.id);
      if (page->next_cursor.empty()) return ids;
      if (page->documents.size() != q.limit) return InternalError("short page with a cursor");
      q.after = page->next_cursor;
    }
    return InternalError("paging did not end");
  }

  std::vector<Row> rows_;
};

TEST_P(QueryProperty, RandomQueriesMatchBruteForce) {
  const char* seed_env = std::getenv("RM_SEED");
  std::mt19937_64 rng(seed_env ? std::stoull(seed_env) : 20261128);
  Populate(rng, 300);
  ASSERT_GT(rows_.size(), 150u);
  int nonempty = 0;
  for (int iter = 0; iter < 200; ++iter) {
    const Query q = RandomQuery(rng);
    SCOPED_TRACE("query " + std::to_string(iter) + ": " + Describe(q));
    const auto expected = BruteForce(rows_, q);
    nonempty += expected.empty() ? 0 : 1;
    auto got = PageAll(kIndexed, q);
    ASSERT_OK(got);
    ASSERT_EQ(*got, expected);
    auto count = rm().Count(kIndexed, q, "p", 1);
    ASSERT_OK(count);
    EXPECT_EQ(count->count, static_cast<int64_t>(expected.size()));

    // Without indexes: refused, naming a field, unless allow_scan.
    if (!q.filters.empty() || !q.order_by.empty()) {
      auto refused = rm().Find(kPlain, q, "p", 1);
      ASSERT_ERROR_CODE(refused, kInvalidArgument);
      EXPECT_NE(refused.status().message().find("allow_scan"), std::string::npos);
    }
    Query scan = q;
    scan.allow_scan = true;
    const bool typed_order =
        q.order_by.empty() || std::any_of(q.filters.begin(), q.filters.end(),
                                          [&](const Filter& f) { return f.field == q.order_by; });
    auto scanned = PageAll(kPlain, scan);
    if (typed_order) {
      ASSERT_OK(scanned);
      EXPECT_EQ(*scanned, expected);
    } else {
      EXPECT_ERROR_CODE(scanned, kInvalidArgument);  // nothing gives the order field's type
    }
  }
  // The generator is useful only if many queries match something.
  EXPECT_GT(nonempty, 80);
}

TEST_P(QueryProperty, UnindexedFilterIsRefusedNamingTheField) {
  std::mt19937_64 rng(7);
  Populate(rng, 50);
  Query q{.filters = {{.field = "extra", .op = FilterOp::kEq, .values = {std::string("a")}}}};
  auto refused = rm().Find(kIndexed, q, "p", 1);
  ASSERT_ERROR_CODE(refused, kInvalidArgument);
  EXPECT_NE(refused.status().message().find("'extra'"), std::string::npos)
      << refused.status().message();
  EXPECT_ERROR_CODE(rm().Count(kIndexed, q, "p", 1), kInvalidArgument);
  Query order{.order_by = "extra"};
  refused = rm().Find(kIndexed, order, "p", 1);
  ASSERT_ERROR_CODE(refused, kInvalidArgument);
  EXPECT_NE(refused.status().message().find("'extra'"), std::string::npos);

  // With allow_scan, the same semantics on the unindexed field.
  q.allow_scan = true;
  q.limit = 10000;
  auto page = rm().Find(kIndexed, q, "p", 1);
  ASSERT_OK(page);
  std::vector<std::string> expected;
  for (const Row& r : rows_) {
    if (r.body.contains("extra") && r.body["extra"] == "a") expected.push_back(r.id);
  }
  std::vector<std::string> ids;
  for (const Document& d : page->documents) ids.push_back(d.id);
  EXPECT_EQ(ids, expected);
}

TEST_P(QueryProperty, BadQueriesAreRefused) {
  std::mt19937_64 rng(11);
  Populate(rng, 40);
  auto filter = [](std::string field, FilterOp op, std::vector<FieldValue> values) {
    return Query{.filters = {{.field = std::move(field), .op = op, .values = std::move(values)}}};
  };
  // Wrong value types for the index.
  EXPECT_ERROR_CODE(rm().Find(kIndexed, filter("n", FilterOp::kEq, {std::string("1")}), "p", 1),
                    kInvalidArgument);
  EXPECT_ERROR_CODE(rm().Find(kIndexed, filter("s", FilterOp::kLt, {1.0}), "p", 1),
                    kInvalidArgument);
  EXPECT_ERROR_CODE(rm().Find(kIndexed, filter("b", FilterOp::kEq, {1.0}), "p", 1),
                    kInvalidArgument);
  EXPECT_ERROR_CODE(
      rm().Find(kIndexed, filter("n", FilterOp::kIn, {1.0, std::string("x")}), "p", 1),
      kInvalidArgument);
  EXPECT_ERROR_CODE(rm().Find(kIndexed, filter("n", FilterOp::kPrefix, {1.0}), "p", 1),
                    kInvalidArgument);
  EXPECT_ERROR_CODE(
      rm().Find(kIndexed, filter("n", FilterOp::kEq, {std::numeric_limits<double>::quiet_NaN()}),
                "p", 1),
      kInvalidArgument);
  // Arity.
  EXPECT_ERROR_CODE(rm().Find(kIndexed, filter("n", FilterOp::kIn, {}), "p", 1), kInvalidArgument);
  EXPECT_ERROR_CODE(rm().Find(kIndexed, filter("n", FilterOp::kEq, {1.0, 2.0}), "p", 1),
                    kInvalidArgument);
  std::vector<FieldValue> many(1001, FieldValue(1.0));
  EXPECT_ERROR_CODE(rm().Find(kIndexed, filter("n", FilterOp::kIn, many), "p", 1),
                    kInvalidArgument);
  many.resize(1000);
  EXPECT_OK(rm().Find(kIndexed, filter("n", FilterOp::kIn, many), "p", 1));
  // Bad field path.
  EXPECT_ERROR_CODE(rm().Find(kIndexed, filter("n'--", FilterOp::kEq, {1.0}), "p", 1),
                    kInvalidArgument);
  // Limits.
  Query q;
  q.limit = 0;
  EXPECT_ERROR_CODE(rm().Find(kIndexed, q, "p", 1), kInvalidArgument);
  q.limit = 10001;
  EXPECT_ERROR_CODE(rm().Find(kIndexed, q, "p", 1), kInvalidArgument);
  q.limit = 10000;
  EXPECT_OK(rm().Find(kIndexed, q, "p", 1));
  // Count ignores limit, order and cursor.
  q.limit = 0;
  q.after = "garbage";
  auto count = rm().Count(kIndexed, q, "p", 1);
  ASSERT_OK(count);
  EXPECT_EQ(count->count, static_cast<int64_t>(rows_.size()));

  // Cursors: malformed, or from another query.
  Query a = filter("n", FilterOp::kGe, {0.0});
  a.order_by = "n";
  a.limit = 1;
  auto first = rm().Find(kIndexed, a, "p", 1);
  ASSERT_OK(first);
  ASSERT_FALSE(first->next_cursor.empty());
  for (const std::string& bad : {std::string("!!"), std::string("AAAA"),
                                 first->next_cursor.substr(0, first->next_cursor.size() / 2)}) {
    Query b = a;
    b.after = bad;
    EXPECT_ERROR_CODE(rm().Find(kIndexed, b, "p", 1), kInvalidArgument) << bad;
  }
  Query other = a;
  other.filters[0].values[0] = 1.0;
  other.after = first->next_cursor;
  EXPECT_ERROR_CODE(rm().Find(kIndexed, other, "p", 1), kInvalidArgument);
  other = a;
  other.order = SortOrder::kDescending;
  other.after = first->next_cursor;
  EXPECT_ERROR_CODE(rm().Find(kIndexed, other, "p", 1), kInvalidArgument);
  other = a;
  other.order_by.clear();
  other.after = first->next_cursor;
  EXPECT_ERROR_CODE(rm().Find(kIndexed, other, "p", 1), kInvalidArgument);
  // The same query with another limit may continue.
  Query same = a;
  same.limit = 5;
  same.after = first->next_cursor;
  EXPECT_OK(rm().Find(kIndexed, same, "p", 1));
}

INSTANTIATE_TEST_SUITE_P(Backends, QueryProperty, ::testing::ValuesIn(AllReadModelBackends()),
                         ReadModelName);

}  // namespace
}  // namespace triad::testing
