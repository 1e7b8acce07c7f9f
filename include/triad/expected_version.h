// ExpectedVersion: the optimistic concurrency check of an append.
//
//   store->Append("account-42", ExpectedVersion::NoStream(), events);   // create only
//   store->Append("account-42", ExpectedVersion::Exact(3), events);     // only if at version 3
//
// Thread-safety: a plain value.
#pragma once

#include "triad/event.h"
#include "triad/result.h"

#include <cstdint>
#include <string>
#include <string_view>

namespace triad {

class ExpectedVersion {
 public:
  enum class Kind {
    kAny,       // no check
    kNoStream,  // the stream must not exist
    kExists,    // the stream must exist
    kExact,     // the stream's version must equal version()
  };

  static ExpectedVersion Any() { return ExpectedVersion(Kind::kAny, 0); }
  static ExpectedVersion NoStream() { return ExpectedVersion(Kind::kNoStream, kNoStreamVersion); }
  static ExpectedVersion Exists() { return ExpectedVersion(Kind::kExists, 0); }
  // Exact(-1) is the same check as NoStream().
  static ExpectedVersion Exact(StreamVersion version) {
    return version < 0 ? NoStream() : ExpectedVersion(Kind::kExact, version);
  }

  // Parses "any", "no_stream", "exists", or a decimal version >= -1.
  // Errors: kInvalidArgument naming the text.
  static Result<ExpectedVersion> Parse(std::string_view text);

  Kind kind() const { return kind_; }
  // The exact version; meaningful only for kExact.
  StreamVersion version() const { return version_; }

  // True iff a stream currently at `current` (kNoStreamVersion: absent) passes the check.
  bool Matches(StreamVersion current) const;

  // "any", "no_stream", "exists" or the decimal version.
  std::string ToString() const;

  friend bool operator==(const ExpectedVersion&, const ExpectedVersion&) = default;

 private:
  ExpectedVersion(Kind kind, StreamVersion version) : kind_(kind), version_(version) {}

  Kind kind_;
  StreamVersion version_;
};

}  // namespace triad
