#include "postgres/pg_connection.h"

#include <bit>
#include <charconv>
#include <cstring>
#include <libpq-fe.h>
#include <string>
#include <utility>

namespace triad::internal::pg {
namespace {

// Type OIDs of the parameter types we send (pg_type.dat).
constexpr uint32_t kBoolOid = 16;
constexpr uint32_t kInt8Oid = 20;
constexpr uint32_t kInt4Oid = 23;
constexpr uint32_t kFloat8Oid = 701;
constexpr uint32_t kTextOid = 25;
constexpr uint32_t kTextArrayOid = 1009;
constexpr uint32_t kInt8ArrayOid = 1016;

void PutInt32(std::string& out, int32_t value) {
  const uint32_t be = __builtin_bswap32(static_cast<uint32_t>(value));
  out.append(reinterpret_cast<const char*>(&be), 4);
}

// The header of a one-dimensional array in PostgreSQL's binary format (array_send).
std::string ArrayHeader(size_t n, bool has_null, uint32_t element_oid) {
  std::string out;
  PutInt32(out, 1);  // dimensions
  PutInt32(out, has_null ? 1 : 0);
  PutInt32(out, static_cast<int32_t>(element_oid));
  PutInt32(out, static_cast<int32_t>(n));
  PutInt32(out, 1);  // lower bound
  return out;
}

StatusCode CodeOfSqlState(std::string_view state) {
  if (state == kUniqueViolation) return StatusCode::kAlreadyExists;
  // serialization_failure, deadlock_detected, lock_not_available
  if (state == "40001" || state == "40P01" || state == "55P03") return StatusCode::kAborted;
  // connection_exception class, admin_shutdown, crash_shutdown, cannot_connect_now,
  // too_many_connections
  if (state.starts_with("08") || state == "57P01" || state == "57P02" || state == "57P03" ||
      state == "53300") {
    return StatusCode::kUnavailable;
  }
  if (state == "53100") return StatusCode::kUnavailable;         // disk_full: retry when freed
  if (state == "25006") return StatusCode::kFailedPrecondition;  // read_only_sql_transaction
  if (state == "22021" || state == "22P02") return StatusCode::kInvalidArgument;
  return StatusCode::kInternal;
}

std::string Trimmed(const char* text) {
  std::string s = text == nullptr ? "" : text;
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

PgParams& PgParams::Text(std::string_view value) {
  // libpq reads a null pointer as SQL NULL; an empty string must still be a value.
  const char* data = value.data() == nullptr ? "" : value.data();
  params_.push_back(Param{kTextOid, data, static_cast<int>(value.size()), -1});
  return *this;
}

PgParams& PgParams::TextOrNull(std::string_view value) {
  return value.empty() ? Null() : Text(value);
}

PgParams& PgParams::Int(int64_t value) {
  ints_.push_back(__builtin_bswap64(static_cast<uint64_t>(value)));
  params_.push_back(Param{kInt8Oid, nullptr, 8, static_cast<int>(ints_.size() - 1)});
  return *this;
}

PgParams& PgParams::Int4(int32_t value) {
  // Stored in the low-address half of an 8-byte slot, big-endian.
  const uint32_t be = __builtin_bswap32(static_cast<uint32_t>(value));
  uint64_t slot = 0;
  std::memcpy(&slot, &be, sizeof be);
  ints_.push_back(slot);
  params_.push_back(Param{kInt4Oid, nullptr, 4, static_cast<int>(ints_.size() - 1)});
  return *this;
}

PgParams& PgParams::Bool(bool value) {
  static constexpr char kTrue = 1;
  static constexpr char kFalse = 0;
  params_.push_back(Param{kBoolOid, value ? &kTrue : &kFalse, 1, -1});
  return *this;
}

PgParams& PgParams::Float8(double value) {
  // float8send: the IEEE bits, big-endian, like an int8.
  ints_.push_back(__builtin_bswap64(std::bit_cast<uint64_t>(value)));
  params_.push_back(Param{kFloat8Oid, nullptr, 8, static_cast<int>(ints_.size() - 1)});
  return *this;
}

PgParams& PgParams::TextArray(std::span<const std::string_view> values, bool empty_is_null) {
  bool has_null = false;
  size_t bytes = 20;
  for (std::string_view v : values) {
    has_null |= empty_is_null && v.empty();
    bytes += 4 + v.size();
  }
  std::string& out = owned_.emplace_back(ArrayHeader(values.size(), has_null, kTextOid));
  out.reserve(bytes);
  for (std::string_view v : values) {
    if (empty_is_null && v.empty()) {
      PutInt32(out, -1);
      continue;
    }
    PutInt32(out, static_cast<int32_t>(v.size()));
    out.append(v);
  }
  params_.push_back(Param{kTextArrayOid, out.data(), static_cast<int>(out.size()), -1});
  return *this;
}

PgParams& PgParams::IntArray(std::span<const int64_t> values) {
  std::string& out = owned_.emplace_back(ArrayHeader(values.size(), false, kInt8Oid));
  out.reserve(20 + values.size() * 12);
  for (int64_t v : values) {
    PutInt32(out, 8);
    const uint64_t be = __builtin_bswap64(static_cast<uint64_t>(v));
    out.append(reinterpret_cast<const char*>(&be), 8);
  }
  params_.push_back(Param{kInt8ArrayOid, out.data(), static_cast<int>(out.size()), -1});
  return *this;
}

PgParams& PgParams::Null() {
  params_.push_back(Param{kTextOid, nullptr, 0, -1});
  return *this;
}

PgResult::PgResult(pg_result* result) : result_(result) {}
PgResult::PgResult(PgResult&& other) noexcept : result_(std::exchange(other.result_, nullptr)) {}
PgResult& PgResult::operator=(PgResult&& other) noexcept {
  if (this != &other) {
    if (result_ != nullptr) PQclear(result_);
    result_ = std::exchange(other.result_, nullptr);
  }
  return *this;
}
PgResult::~PgResult() {
  if (result_ != nullptr) PQclear(result_);
}

int PgResult::rows() const { return result_ == nullptr ? 0 : PQntuples(result_); }

bool PgResult::IsNull(int row, int col) const { return PQgetisnull(result_, row, col) != 0; }

std::string_view PgResult::Text(int row, int col) const {
  return {PQgetvalue(result_, row, col), static_cast<size_t>(PQgetlength(result_, row, col))};
}

int64_t PgResult::Int(int row, int col) const {
  const std::string_view text = Text(row, col);
  if (text == "t") return 1;
  int64_t value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value);
  return value;
}

int64_t PgResult::AffectedRows() const {
  const char* tuples = result_ == nullptr ? nullptr : PQcmdTuples(result_);
  if (tuples == nullptr || *tuples == '\0') return 0;
  int64_t value = 0;
  std::from_chars(tuples, tuples + std::strlen(tuples), value);
  return value;
}

Status PgErrorStatus(const pg_conn* conn, const pg_result* result, std::string_view context) {
  std::string state;
  std::string message;
  if (result != nullptr) {
    if (const char* s = PQresultErrorField(result, PG_DIAG_SQLSTATE)) state = s;
    message = Trimmed(PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY));
    if (const char* detail = PQresultErrorField(result, PG_DIAG_MESSAGE_DETAIL)) {
      message += " (" + Trimmed(detail) + ")";
    }
  }
  if (message.empty()) message = Trimmed(PQerrorMessage(conn));
  // No SQLSTATE: libpq itself failed, i.e. the connection (the server closed it, the network
  // broke, or it was never established).
  const StatusCode code = state.empty() ? StatusCode::kUnavailable : CodeOfSqlState(state);
  std::string text = "postgres: " + std::string(context) + ": " + message;
  if (!state.empty()) text += " [SQLSTATE " + state + "]";
  return Status(code, std::move(text));
}

Result<std::unique_ptr<PgConnection>> PgConnection::Open(const PgTarget& target,
                                                         bool create_schema) {
  pg_conn* raw = PQconnectdb(target.conninfo.c_str());
  if (raw == nullptr) return ResourceExhaustedError("postgres: out of memory connecting");
  std::unique_ptr<PgConnection> conn(new PgConnection(raw));
  if (PQstatus(raw) != CONNECTION_OK) {
    // libpq's text may quote parts of the conninfo (a malformed URI, a bad parameter value).
    return UnavailableError("postgres: cannot connect to " + target.display + ": " +
                            RedactSecrets(Trimmed(PQerrorMessage(raw)), target));
  }
  const std::string schema = QuoteIdentifier(target.schema);
  // Notices (e.g. "schema already exists, skipping") would go to stderr otherwise.
  PQsetNoticeProcessor(
      raw, [](void*, const char*) {}, nullptr);
  if (create_schema) {
    auto exists = conn->Query("SELECT 1 FROM pg_namespace WHERE nspname = $1",
                              PgParams().Text(target.schema));
    if (!exists.ok()) return exists.status();
    if (exists->rows() == 0) {
      // Two nodes may create it at once; IF NOT EXISTS can still race on the catalog's unique
      // index, so a unique violation means the other one won.
      Status s = conn->Exec("CREATE SCHEMA IF NOT EXISTS " + schema);
      if (!s.ok() && s.code() != StatusCode::kAlreadyExists) return s;
    }
  } else {
    auto exists = conn->Query("SELECT 1 FROM pg_namespace WHERE nspname = $1",
                              PgParams().Text(target.schema));
    if (!exists.ok()) return exists.status();
    if (exists->rows() == 0) {
      return NotFoundError("postgres: schema '" + target.schema + "' does not exist in " +
                           target.display);
    }
  }
  if (Status s = conn->Exec("SET search_path TO " + schema); !s.ok()) return s;
  return conn;
}

PgConnection::~PgConnection() { PQfinish(conn_); }

Result<PgResult> PgConnection::Check(pg_result* result, std::string_view context) {
  const ExecStatusType status = result == nullptr ? PGRES_FATAL_ERROR : PQresultStatus(result);
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
    last_sqlstate_.clear();
    return PgResult(result);
  }
  PgResult owned(result);
  const char* state = result == nullptr ? nullptr : PQresultErrorField(result, PG_DIAG_SQLSTATE);
  last_sqlstate_ = state == nullptr ? "" : state;
  Status error = PgErrorStatus(conn_, result, context);
  if (error.code() == StatusCode::kUnavailable) broken_ = true;
  return error;
}

Status PgConnection::Exec(std::string_view sql) { return ExecLast(sql).status(); }

Result<PgResult> PgConnection::ExecLast(std::string_view sql) {
  const std::string text(sql);
  pg_result* result = PQexec(conn_, text.c_str());
  // PQexec returns only the last statement's result; an earlier failure stops the batch and is
  // the last result.
  return Check(result, sql.substr(0, 80));
}

namespace {

// The arrays PQexecParams/PQexecPrepared take, built from a parameter list.
struct ParamArrays {
  ParamArrays(const auto& list, const std::vector<uint64_t>& ints) {
    const size_t n = list.size();
    types.resize(n);
    values.resize(n);
    lengths.resize(n);
    formats.assign(n, 1);
    for (size_t i = 0; i < n; ++i) {
      types[i] = list[i].type_oid;
      lengths[i] = list[i].length;
      values[i] = list[i].int_index >= 0
                      ? reinterpret_cast<const char*>(&ints[static_cast<size_t>(list[i].int_index)])
                      : list[i].data;
    }
  }
  std::vector<Oid> types;
  std::vector<const char*> values;
  std::vector<int> lengths;
  std::vector<int> formats;
};

}  // namespace

Result<PgResult> PgConnection::Query(std::string_view sql, const PgParams& params) {
  const std::string text(sql);
  ParamArrays a(params.params_, params.ints_);
  pg_result* result =
      PQexecParams(conn_, text.c_str(), static_cast<int>(a.values.size()), a.types.data(),
                   a.values.data(), a.lengths.data(), a.formats.data(), 0);
  return Check(result, sql.substr(0, 80));
}

Result<PgResult> PgConnection::QueryPrepared(const std::string& name, std::string_view sql,
                                             const PgParams& params) {
  ParamArrays a(params.params_, params.ints_);
  if (!prepared_.contains(name)) {
    const std::string text(sql);
    pg_result* prepared = PQprepare(conn_, name.c_str(), text.c_str(),
                                    static_cast<int>(a.types.size()), a.types.data());
    auto checked = Check(prepared, sql.substr(0, 80));
    if (!checked.ok()) return checked.status();
    prepared_.insert(name);
  }
  pg_result* result = PQexecPrepared(conn_, name.c_str(), static_cast<int>(a.values.size()),
                                     a.values.data(), a.lengths.data(), a.formats.data(), 0);
  return Check(result, sql.substr(0, 80));
}

bool PgConnection::Healthy() const {
  return !broken_ && PQstatus(conn_) == CONNECTION_OK && PQtransactionStatus(conn_) == PQTRANS_IDLE;
}

std::string QuoteIdentifier(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

}  // namespace triad::internal::pg
