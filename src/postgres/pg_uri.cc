#include "postgres/pg_uri.h"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace triad::internal::pg {
namespace {

constexpr std::string_view kMask = "***";

// Splits "a=1&b=2" into its parameters, keeping their text as written.
std::vector<std::string> SplitQuery(std::string_view query) {
  std::vector<std::string> out;
  while (!query.empty()) {
    const size_t amp = query.find('&');
    std::string_view part = query.substr(0, amp);
    if (!part.empty()) out.emplace_back(part);
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return out;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// `text` percent-decoded as libpq decodes URI parts; nullopt when an escape is malformed (libpq
// then refuses the URI).
std::optional<std::string> PercentDecoded(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    if (i + 2 >= text.size()) return std::nullopt;
    const int high = HexValue(text[i + 1]);
    const int low = HexValue(text[i + 2]);
    if (high < 0 || low < 0) return std::nullopt;
    out += static_cast<char>(high * 16 + low);
    i += 2;
  }
  return out;
}

// Where the password of the user-info part of `uri` is: [begin, end), or nullopt.
std::optional<std::pair<size_t, size_t>> UserInfoPassword(std::string_view uri) {
  const size_t scheme_end = uri.find("://");
  if (scheme_end == std::string_view::npos) return std::nullopt;
  const size_t authority = scheme_end + 3;
  // The authority ends at the first '/', '?' or '#'; the user info at its last '@' (a password
  // may hold an unescaped '@', which libpq tolerates).
  const size_t authority_end = uri.find_first_of("/?#", authority);
  const std::string_view auth =
      uri.substr(authority, authority_end == std::string_view::npos ? std::string_view::npos
                                                                    : authority_end - authority);
  const size_t at = auth.rfind('@');
  if (at == std::string_view::npos) return std::nullopt;
  const size_t colon = auth.find(':');
  if (colon == std::string_view::npos || colon > at) return std::nullopt;
  return std::pair(authority + colon + 1, authority + at);
}

// Whether the query parameter `param` ("name=value") sets the password.
bool IsPasswordParam(std::string_view param) {
  const size_t eq = param.find('=');
  const std::string_view name = param.substr(0, eq);
  const auto decoded = PercentDecoded(name);
  return decoded.value_or(std::string(name)) == "password";
}

// Adds `raw` and its decoded form to `secrets` (once each, empty ones left out).
void AddSecret(std::string_view raw, std::vector<std::string>& secrets) {
  auto add = [&](const std::string& s) {
    if (s.empty()) return;
    for (const std::string& have : secrets) {
      if (have == s) return;
    }
    secrets.push_back(s);
  };
  add(std::string(raw));
  if (auto decoded = PercentDecoded(raw)) add(*decoded);
}

// The masked URI; collects the passwords into `secrets` when given.
std::string Mask(std::string_view uri, std::vector<std::string>* secrets) {
  std::string out;
  const size_t question = uri.find('?');
  const std::string_view base = uri.substr(0, question);
  if (auto password = UserInfoPassword(base)) {
    const std::string_view raw = base.substr(password->first, password->second - password->first);
    if (secrets != nullptr) AddSecret(raw, *secrets);
    out = std::string(base.substr(0, password->first)) + std::string(kMask) +
          std::string(base.substr(password->second));
  } else {
    out = std::string(base);
  }
  if (question == std::string_view::npos) return out;
  out += '?';
  std::string_view query = uri.substr(question + 1);
  // The parameters as written (empty ones and their '&' kept), a password's value masked.
  bool first = true;
  while (true) {
    const size_t amp = query.find('&');
    const std::string_view param = query.substr(0, amp);
    if (!first) out += '&';
    first = false;
    if (IsPasswordParam(param)) {
      const size_t eq = param.find('=');
      if (eq != std::string_view::npos) {
        if (secrets != nullptr) AddSecret(param.substr(eq + 1), *secrets);
        out += std::string(param.substr(0, eq + 1)) + std::string(kMask);
      } else {
        out += param;
      }
    } else {
      out += param;
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return out;
}

}  // namespace

bool IsPostgresUri(std::string_view uri) {
  return uri.starts_with("postgres://") || uri.starts_with("postgresql://");
}

std::string MaskUriPassword(std::string_view uri) { return Mask(uri, nullptr); }

std::string RedactSecrets(std::string_view text, const PgTarget& target) {
  std::string out(text);
  // Longest first, so that a secret containing another is masked whole.
  std::vector<std::string> secrets = target.secrets;
  std::sort(secrets.begin(), secrets.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  for (const std::string& secret : secrets) {
    size_t at = 0;
    while ((at = out.find(secret, at)) != std::string::npos) {
      out.replace(at, secret.size(), kMask);
      at += kMask.size();
    }
  }
  return out;
}

Result<PgTarget> ParsePostgresUri(std::string_view uri) {
  if (!IsPostgresUri(uri)) {
    return InvalidArgumentError("'" + MaskUriPassword(uri) + "' is not a postgres:// URI");
  }
  PgTarget target;
  target.display = Mask(uri, &target.secrets);
  const size_t question = uri.find('?');
  std::string base(uri.substr(0, question));
  std::string kept;
  if (question != std::string_view::npos) {
    for (const std::string& param : SplitQuery(uri.substr(question + 1))) {
      if (param.starts_with("schema=")) {
        target.schema = param.substr(7);
        continue;
      }
      kept += kept.empty() ? "?" : "&";
      kept += param;
    }
  }
  if (target.schema.empty() || target.schema.size() > 63) {
    return InvalidArgumentError("the schema parameter of '" + target.display +
                                "' must have 1 to 63 bytes");
  }
  target.conninfo = base + kept;
  return target;
}

}  // namespace triad::internal::pg
