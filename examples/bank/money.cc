#include "bank/money.h"

#include <cstdio>

namespace bank {

std::string FormatCents(int64_t cents) {
  const bool negative = cents < 0;
  // Unsigned so that INT64_MIN negates without overflow.
  const uint64_t magnitude = negative ? 0 - static_cast<uint64_t>(cents) : cents;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%s%llu.%02llu", negative ? "-" : "",
                static_cast<unsigned long long>(magnitude / 100),
                static_cast<unsigned long long>(magnitude % 100));
  return buf;
}

}  // namespace bank
