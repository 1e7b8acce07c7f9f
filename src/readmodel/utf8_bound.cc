#include "readmodel/utf8_bound.h"

#include "util/utf8.h"

#include <cstdint>

namespace triad::internal::readmodel {
namespace {

constexpr uint32_t kMaxCodePoint = 0x10FFFF;

// The UTF-8 encoding of `c` (surrogates are encoded too, so that encodings of 0..U+10FFFF are
// strictly increasing byte-wise, which the binary search below relies on).
std::string Encode(uint32_t c) {
  std::string out;
  if (c < 0x80) {
    out.push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (c >> 6)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (c >> 12)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (c >> 18)));
    out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
  return out;
}

// Byte-wise comparison, as memcmp then length.
bool Less(std::string_view a, std::string_view b) { return a.compare(b) < 0; }

// The valid string that follows every string starting with `valid` (its last code point
// incremented, dropping trailing U+10FFFF), or nullopt when there is none.
std::optional<std::string> CodePointSuccessor(std::string valid) {
  while (!valid.empty()) {
    // Find the start of the last code point.
    size_t start = valid.size() - 1;
    while (start > 0 && (static_cast<unsigned char>(valid[start]) & 0xC0) == 0x80) --start;
    const std::string last = valid.substr(start);
    valid.resize(start);
    // Decode it.
    uint32_t c = 0;
    const auto b0 = static_cast<unsigned char>(last[0]);
    if (last.size() == 1) {
      c = b0;
    } else {
      c = b0 & (0xFF >> (last.size() + 1));
      for (size_t i = 1; i < last.size(); ++i) c = (c << 6) | (last[i] & 0x3F);
    }
    if (c == kMaxCodePoint) continue;
    ++c;
    if (c >= 0xD800 && c <= 0xDFFF) c = 0xE000;
    return valid + Encode(c);
  }
  return std::nullopt;
}

}  // namespace

bool IsValidUtf8(std::string_view bytes) {
  while (!bytes.empty()) {
    const size_t n = Utf8SequenceLength(bytes);
    if (n == 0) return false;
    bytes.remove_prefix(n);
  }
  return true;
}

std::optional<std::string> SmallestValidAtLeast(std::string_view bytes) {
  // The longest valid prefix V, then the rest R (which starts with no valid sequence).
  size_t valid = 0;
  while (valid < bytes.size()) {
    const size_t n = Utf8SequenceLength(bytes.substr(valid));
    if (n == 0) break;
    valid += n;
  }
  if (valid == bytes.size()) return std::string(bytes);
  const std::string_view rest = bytes.substr(valid);
  // The smallest code point whose encoding sorts above R: encodings increase with code points.
  uint32_t lo = 0;
  uint32_t hi = kMaxCodePoint + 1;
  while (lo < hi) {
    const uint32_t mid = lo + (hi - lo) / 2;
    if (Less(rest, Encode(mid))) {
      hi = mid;
    } else {
      lo = mid + 1;
    }
  }
  if (lo <= kMaxCodePoint) {
    if (lo >= 0xD800 && lo <= 0xDFFF) lo = 0xE000;
    return std::string(bytes.substr(0, valid)) + Encode(lo);
  }
  // R sorts above every code point: the answer follows every string starting with V.
  return CodePointSuccessor(std::string(bytes.substr(0, valid)));
}

}  // namespace triad::internal::readmodel
