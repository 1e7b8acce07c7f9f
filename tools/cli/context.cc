#include "cli/context.h"

#include "cli/client/embedded_client.h"
#include "cli/client/remote_client.h"

namespace triad::cli {

bool Context::color() const {
  const char* no_color = io.getenv ? io.getenv("NO_COLOR") : nullptr;
  return io.stdout_is_tty && !global.json && (no_color == nullptr || *no_color == '\0');
}

bool Context::stop_requested() const {
  return io.stop_requested != nullptr && io.stop_requested->load(std::memory_order_relaxed);
}

std::string Context::Env(const char* name) const {
  const char* value = io.getenv ? io.getenv(name) : nullptr;
  return value == nullptr ? std::string() : std::string(value);
}

std::string Context::ServerUrl() const {
  if (!global.url.empty()) return global.url;
  // An explicit --data names the store, whatever the environment says about a server.
  if (!global.data.empty()) return "";
  return Env(kUrlEnvVar);
}

std::string Context::StoreUri() const {
  if (!global.data.empty()) return global.data;
  std::string env = Env(kStoreEnvVar);
  if (!env.empty()) return env;
  return kDefaultStorePath;
}

Status Context::CheckGlobalOptions() const {
  if (!global.url.empty() && !global.data.empty()) {
    return InvalidArgumentError(
        "--url and --data are exclusive: --url URL talks to a server, --data PATH opens a store "
        "in this process; give one");
  }
  return Status::OK();
}

Result<Client*> Context::client() {
  if (opened_client != nullptr) return opened_client.get();
  if (Status ok = CheckGlobalOptions(); !ok.ok()) return ok;
  const std::string url = ServerUrl();
  if (!url.empty()) {
    std::string token = global.token.empty() ? Env(kTokenEnvVar) : global.token;
    opened_client = std::make_unique<RemoteClient>(url, std::move(token));
  } else {
    opened_client = std::make_unique<EmbeddedClient>(StoreUri(), kStoreEnvVar);
  }
  return opened_client.get();
}

}  // namespace triad::cli
