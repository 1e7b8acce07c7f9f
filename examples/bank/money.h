// Money amounts of the bank example: integer cents, never floating point, so that sums are exact.
//
// Thread-safety: free functions on values.
#pragma once

#include <cstdint>
#include <string>

namespace bank {

// The largest amount one deposit or withdrawal may move: 1,000,000,000.00.
inline constexpr int64_t kMaxAmountCents = 100'000'000'000;
// The largest balance an account may hold: 1,000,000,000,000.00. Keeps every sum far from
// int64 overflow.
inline constexpr int64_t kMaxBalanceCents = 100'000'000'000'000;

// "1234.05" for 123405; "-0.50" for -50.
std::string FormatCents(int64_t cents);

}  // namespace bank
