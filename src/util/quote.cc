#include "util/quote.h"

#include <cstdio>

namespace triad::internal {

std::string Quote(std::string_view text) {
  constexpr size_t kMaxBytes = 60;
  std::string out = "'";
  for (size_t i = 0; i < text.size() && i < kMaxBytes; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  if (text.size() > kMaxBytes) out += "...";
  return out + "'";
}

}  // namespace triad::internal
