// The opaque page cursor of a query: the sort key of the last row returned (its value of the
// order field, or NULL, and its id) plus a fingerprint of the query's filters and order, so that
// a cursor handed to another query is refused rather than silently misapplied.
#pragma once

#include "triad/result.h"

#include <cstdint>
#include <string>
#include <string_view>

namespace triad::internal::readmodel {

struct Cursor {
  enum class Kind : uint8_t {
    kId = 0,    // the query orders by id only
    kNull = 1,  // the last row's order field was missing or of another type
    kString = 2,
    kNumber = 3,
    kBool = 4,
  };
  uint64_t fingerprint = 0;
  Kind kind = Kind::kId;
  std::string text;      // kString
  double number = 0;     // kNumber
  bool boolean = false;  // kBool
  std::string id;
};

// URL-safe base64 (no padding) of the cursor's bytes.
std::string EncodeCursor(const Cursor& cursor);

// Errors: kInvalidArgument when `text` is not a cursor this code wrote.
Result<Cursor> DecodeCursor(std::string_view text);

// FNV-1a, 64 bits.
uint64_t Fingerprint(std::string_view bytes);

}  // namespace triad::internal::readmodel
