// Bearer-token authentication: maps an `Authorization` header to the caller's Role.
//
// With no tokens configured, every caller is an admin; the server only allows that on a loopback
// listen address (CheckListenSafety), so an open server is never reachable from the network.
// With tokens, a missing or unknown token is Role::kNone (only GET /health and GET /ping).
//
// Thread-safety: immutable after construction; RoleOf() is safe from any thread.
#pragma once

#include "triad/status.h"

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "server/http_types.h"

namespace triad::server {

// One configured token.
struct TokenConfig {
  // Who holds it, for logs (never the token itself).
  std::string name;
  std::string token;
  Role role = Role::kRead;
};

class Authenticator {
 public:
  explicit Authenticator(std::vector<TokenConfig> tokens);

  // The role of the caller presenting `authorization` (the header's value, nullopt when absent).
  // The SHA-256 digest of the presented token is compared with every configured token's digest
  // in constant time, so response timing reveals neither how much of a guess was right nor the
  // length of a configured token.
  Role RoleOf(std::optional<std::string_view> authorization) const;

  // True when tokens are configured.
  bool enabled() const { return !tokens_.empty(); }

 private:
  using Digest = std::array<unsigned char, 32>;
  // nullopt only if OpenSSL fails, and then nothing matches.
  static std::optional<Digest> DigestOf(std::string_view token);

  std::vector<TokenConfig> tokens_;
  // tokens_[i]'s digest at index i.
  std::vector<std::optional<Digest>> digests_;
};

// Checks that tokens are well-formed (non-empty, role above none, unique) and that a server
// without tokens listens only on a loopback address (127.0.0.0/8, ::1, localhost).
// Errors: kInvalidArgument naming the token (by name) or the listen address.
Status CheckAuthConfig(const std::vector<TokenConfig>& tokens, std::string_view listen_host);

}  // namespace triad::server
