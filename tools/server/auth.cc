#include "server/auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <set>
#include <utility>

namespace triad::server {
namespace {

bool IsLoopback(std::string_view host) {
  return host == "localhost" || host == "::1" || host == "[::1]" || host.starts_with("127.");
}

}  // namespace

Authenticator::Authenticator(std::vector<TokenConfig> tokens) : tokens_(std::move(tokens)) {
  digests_.reserve(tokens_.size());
  for (const TokenConfig& token : tokens_) digests_.push_back(DigestOf(token.token));
}

std::optional<Authenticator::Digest> Authenticator::DigestOf(std::string_view token) {
  Digest digest{};
  unsigned int size = 0;
  if (EVP_Digest(token.data(), token.size(), digest.data(), &size, EVP_sha256(), nullptr) != 1 ||
      size != digest.size()) {
    return std::nullopt;
  }
  return digest;
}

Role Authenticator::RoleOf(std::optional<std::string_view> authorization) const {
  if (tokens_.empty()) return Role::kAdmin;
  if (!authorization) return Role::kNone;
  constexpr std::string_view kBearer = "Bearer ";
  if (!authorization->starts_with(kBearer)) return Role::kNone;
  // Digests have one length, so the comparison's time depends on neither token's length; every
  // token is compared, whether or not an earlier one matched.
  const std::optional<Digest> presented = DigestOf(authorization->substr(kBearer.size()));
  if (!presented) return Role::kNone;
  Role role = Role::kNone;
  for (size_t i = 0; i < tokens_.size(); ++i) {
    if (digests_[i] &&
        CRYPTO_memcmp(digests_[i]->data(), presented->data(), presented->size()) == 0) {
      role = tokens_[i].role;
    }
  }
  return role;
}

Status CheckAuthConfig(const std::vector<TokenConfig>& tokens, std::string_view listen_host) {
  std::set<std::string_view> seen;
  for (size_t i = 0; i < tokens.size(); ++i) {
    const TokenConfig& token = tokens[i];
    const std::string who =
        token.name.empty() ? "#" + std::to_string(i + 1) : "'" + token.name + "'";
    if (token.token.empty()) return InvalidArgumentError("token " + who + " is empty");
    if (token.role == Role::kNone) {
      return InvalidArgumentError("token " + who + " has role 'none'; use read, write or admin");
    }
    if (!seen.insert(token.token).second) {
      return InvalidArgumentError("token " + who + " is configured twice");
    }
  }
  if (tokens.empty() && !IsLoopback(listen_host)) {
    return InvalidArgumentError("listen address '" + std::string(listen_host) +
                                "' is not loopback and no tokens are configured: every caller "
                                "would be an admin; configure tokens (docs/operations.md)");
  }
  return Status::OK();
}

}  // namespace triad::server
