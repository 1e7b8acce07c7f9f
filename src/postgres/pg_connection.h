// PgConnection: a thin RAII wrapper over one libpq connection, shared by the PostgreSQL event
// store and the PostgreSQL read model.
//
// Parameters go in binary format (a text value is its bytes, so string_views need no NUL and no
// copy; integers are 8-byte big-endian int8) with explicit types; results come back as text.
// Every error becomes a Status carrying the SQLSTATE: unique_violation → kAlreadyExists,
// serialization/deadlock failures → kAborted, a lost or refused connection → kUnavailable,
// anything else → kInternal.
//
// Thread-safety: none; a connection is used by one thread at a time (pools hand them out).
#pragma once

#include "triad/result.h"
#include "triad/status.h"

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "postgres/pg_uri.h"

struct pg_conn;
struct pg_result;

namespace triad::internal::pg {

// The SQLSTATE of unique_violation.
inline constexpr std::string_view kUniqueViolation = "23505";

// Parameters of one statement, in order ($1, $2, ...). Holds views: the strings passed to
// Text() must outlive the call that uses the parameters.
class PgParams {
 public:
  PgParams& Text(std::string_view value);
  // Empty text is sent as NULL.
  PgParams& TextOrNull(std::string_view value);
  PgParams& Int(int64_t value);
  PgParams& Int4(int32_t value);
  PgParams& Bool(bool value);
  // A float8 parameter (the read model's number index values).
  PgParams& Float8(double value);
  PgParams& Null();
  // A text[] parameter (for `= ANY($n)` and `unnest`). With `empty_is_null`, empty strings are
  // sent as NULL elements. The array is copied.
  PgParams& TextArray(std::span<const std::string_view> values, bool empty_is_null = false);
  // An int8[] parameter. The array is copied.
  PgParams& IntArray(std::span<const int64_t> values);
  size_t size() const { return params_.size(); }

 private:
  friend class PgConnection;
  struct Param {
    uint32_t type_oid;
    const char* data;  // nullptr: NULL, or an integer stored in ints_
    int length;
    int int_index;  // index into ints_, or -1
  };
  std::vector<Param> params_;
  std::vector<uint64_t> ints_;     // big-endian bytes of integer parameters
  std::deque<std::string> owned_;  // encoded arrays; a deque keeps their addresses stable
};

// A statement's result; owns the PGresult.
class PgResult {
 public:
  PgResult() = default;
  explicit PgResult(pg_result* result);
  PgResult(PgResult&& other) noexcept;
  PgResult& operator=(PgResult&& other) noexcept;
  PgResult(const PgResult&) = delete;
  PgResult& operator=(const PgResult&) = delete;
  ~PgResult();

  int rows() const;
  bool IsNull(int row, int col) const;
  // The value as text; empty for NULL. Valid while this result lives.
  std::string_view Text(int row, int col) const;
  // The value parsed as an integer (0 for NULL); booleans read as 1/0.
  int64_t Int(int row, int col) const;
  bool Bool(int row, int col) const { return Text(row, col) == "t"; }
  // Rows a command changed (INSERT/UPDATE/DELETE), from the command tag.
  int64_t AffectedRows() const;

 private:
  pg_result* result_ = nullptr;
};

// Builds the Status for a failed statement or connection: `context` says what was being done.
Status PgErrorStatus(const pg_conn* conn, const pg_result* result, std::string_view context);

class PgConnection {
 public:
  // Connects to `target` and makes its schema the search path (creating the schema when
  // `create_schema`). Errors: kUnavailable (server unreachable, authentication refused),
  // kNotFound (the schema is missing and !create_schema).
  static Result<std::unique_ptr<PgConnection>> Open(const PgTarget& target, bool create_schema);

  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;
  ~PgConnection();

  // Runs one or more statements with no parameters (simple query protocol).
  Status Exec(std::string_view sql);
  // Like Exec(), returning the last statement's result (e.g. "BEGIN; SELECT ..." in one round
  // trip).
  Result<PgResult> ExecLast(std::string_view sql);

  // Runs one statement with `params` (extended protocol, unnamed statement).
  Result<PgResult> Query(std::string_view sql, const PgParams& params = PgParams());

  // Like Query(), but prepares `sql` once per connection under `name` and reuses it. `name`
  // must always be used with the same text.
  Result<PgResult> QueryPrepared(const std::string& name, std::string_view sql,
                                 const PgParams& params);

  // Whether the connection can still be used: connected (no statement failed with kUnavailable),
  // and not left inside a failed or open transaction by an error. Pools drop connections that
  // are not healthy.
  bool Healthy() const;

  // The SQLSTATE of the last failed statement, or empty.
  const std::string& last_sqlstate() const { return last_sqlstate_; }

  pg_conn* raw() { return conn_; }

 private:
  explicit PgConnection(pg_conn* conn) : conn_(conn) {}
  Result<PgResult> Check(pg_result* result, std::string_view context);

  pg_conn* conn_;
  std::unordered_set<std::string> prepared_;
  std::string last_sqlstate_;
  bool broken_ = false;  // a statement failed for want of a connection
};

// `name` as a quoted SQL identifier ("a""b").
std::string QuoteIdentifier(std::string_view name);

}  // namespace triad::internal::pg
