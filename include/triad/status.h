// Status: the outcome of a fallible Triad operation.
//
// Every fallible call in the public API returns a Status or a Result<T> (see result.h); no
// exception crosses the API. A Status is either OK or carries a StatusCode, a human-readable
// message naming what was wrong, and, for a version conflict, the stream's current version.
//
//   triad::Status s = store->SaveSnapshot(snapshot);
//   if (!s.ok()) std::cerr << s.ToString() << "\n";
//
// Thread-safety: a Status is an immutable value; distinct objects may be used from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace triad {

// The typed error codes, a subset of absl's canonical codes. Callers branch on the code, never on
// the message text.
enum class StatusCode {
  kOk = 0,
  // The caller's input is malformed: bad JSON, bad stream name, a limit exceeded. Nothing stored
  // changed. Do not retry unchanged.
  kInvalidArgument,
  // The stream, snapshot or file asked for does not exist.
  kNotFound,
  // An event id is already stored with other content (promise 4).
  kAlreadyExists,
  // Optimistic concurrency conflict: the expected version did not match. Status::current_version()
  // carries the stream's version. Retry at a higher level after reloading.
  kAborted,
  // The store is not in a state that allows the call (closed, read-only).
  kFailedPrecondition,
  // A transient failure (a busy database, a lost connection). The same call may succeed later.
  kUnavailable,
  // A deadline passed before the awaited condition held.
  kDeadlineExceeded,
  // The operation was cancelled (for example, the store is shutting down).
  kCancelled,
  // A resource limit was hit (disk full, too many waiters).
  kResourceExhausted,
  // Stored data is unreadable or violates an invariant.
  kDataLoss,
  // A bug or an unexpected failure inside Triad or a library it calls.
  kInternal,
};

// Returns the stable snake_case name of `code`, e.g. "invalid_argument". Used in JSON errors.
std::string_view StatusCodeName(StatusCode code);

// Status is OK or an error with a code and a message. Copyable and cheap to move.
class [[nodiscard]] Status {
 public:
  // Creates an OK status.
  Status() = default;
  // Creates a status with `code` and `message`. A kOk code ignores the message.
  Status(StatusCode code, std::string message);

  static Status OK() { return Status(); }

  // True iff the operation succeeded.
  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  // The message; empty for OK.
  const std::string& message() const { return message_; }

  // For kAborted conflicts: the stream's version when the append was refused (-1: no stream).
  // Empty for every other status.
  const std::optional<int64_t>& current_version() const { return current_version_; }
  // Returns a copy of this status carrying `version` as its current version.
  Status WithCurrentVersion(int64_t version) const;

  // Returns a copy whose message is "`context`: message". OK stays OK.
  Status Annotate(std::string_view context) const;

  // "OK" or "<code name>: <message>".
  std::string ToString() const;

  // Marks the status as inspected; a no-op kept for call sites that deliberately drop a status.
  void IgnoreError() const {}

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
  std::optional<int64_t> current_version_;
};

// Convenience constructors, one per error code.
Status InvalidArgumentError(std::string message);
Status NotFoundError(std::string message);
Status AlreadyExistsError(std::string message);
Status AbortedError(std::string message);
Status FailedPreconditionError(std::string message);
Status UnavailableError(std::string message);
Status DeadlineExceededError(std::string message);
Status CancelledError(std::string message);
Status ResourceExhaustedError(std::string message);
Status DataLossError(std::string message);
Status InternalError(std::string message);

}  // namespace triad
