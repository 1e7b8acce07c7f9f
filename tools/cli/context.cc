#include "cli/context.h"

namespace triad::cli {

bool Context::color() const {
  const char* no_color = io.getenv ? io.getenv("NO_COLOR") : nullptr;
  return io.stdout_is_tty && !global.json && (no_color == nullptr || *no_color == '\0');
}

bool Context::stop_requested() const {
  return io.stop_requested != nullptr && io.stop_requested->load(std::memory_order_relaxed);
}

std::string Context::StoreUri() const {
  if (!global.data.empty()) return global.data;
  const char* env = io.getenv ? io.getenv(kStoreEnvVar) : nullptr;
  if (env != nullptr && *env != '\0') return env;
  return kDefaultStorePath;
}

Result<std::unique_ptr<EventStore>> OpenStore(const Context& ctx, const Options& options) {
  auto store = EventStore::Open(options, ctx.StoreUri());
  if (!store.ok() && store.status().code() == StatusCode::kNotFound) {
    return Status(StatusCode::kNotFound, store.status().message() +
                                             " (`triad append` creates it; --data PATH or $" +
                                             kStoreEnvVar + " names another)");
  }
  return store;
}

Result<std::unique_ptr<EventStore>> OpenExistingStore(const Context& ctx) {
  Options options;
  options.create_if_missing = false;
  return OpenStore(ctx, options);
}

}  // namespace triad::cli
