#include "server/request_target.h"

#include <optional>

namespace triad::server {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> PercentDecode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      const int high = HexValue(text[i + 1]);
      const int low = HexValue(text[i + 2]);
      if (high < 0 || low < 0) return std::nullopt;
      out.push_back(static_cast<char>(high * 16 + low));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace

Result<DecodedTarget> DecodeTarget(std::string_view target) {
  const size_t question = target.find('?');
  std::string_view raw_path = target.substr(0, question);
  if (!raw_path.starts_with('/')) {
    return InvalidArgumentError("request target '" + std::string(target.substr(0, 100)) +
                                "' does not start with '/'");
  }
  DecodedTarget out;
  auto path = PercentDecode(raw_path, /*plus_is_space=*/false);
  if (!path || path->find('\0') != std::string::npos) {
    return InvalidArgumentError("path '" + std::string(raw_path.substr(0, 100)) +
                                "' is not valid percent-encoding");
  }
  out.path = std::move(*path);
  if (question == std::string_view::npos) return out;
  std::string_view rest = target.substr(question + 1);
  while (!rest.empty()) {
    const size_t amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    if (pair.empty()) continue;
    const size_t equals = pair.find('=');
    std::string_view raw_name = pair.substr(0, equals);
    std::string_view raw_value =
        equals == std::string_view::npos ? std::string_view() : pair.substr(equals + 1);
    auto name = PercentDecode(raw_name, true);
    auto value = PercentDecode(raw_value, true);
    if (!name || !value) {
      return InvalidArgumentError("query parameter '" + std::string(pair.substr(0, 100)) +
                                  "' is not valid percent-encoding");
    }
    out.query.emplace_back(std::move(*name), std::move(*value));
  }
  return out;
}

}  // namespace triad::server
