// The server's Lua projections: the ones loaded from the scripts folder at start and the ones
// deployed over HTTP (PUT /projections/{name}), which are saved into that folder so that they
// are loaded again after a restart.
//
// Files: DIR/NAME@VERSION.lua (written by Deploy) or DIR/NAME.lua (hand-written; its version is
// the script's `version` field, default 1). Deploy writes the file atomically (temporary file,
// fsync, rename, fsync of the folder) before registering the projection.
//
// Thread-safety: every method is safe to call concurrently.
#pragma once

#include "triad/lua_projection.h"
#include "triad/projection_engine.h"
#include "triad/result.h"
#include "triad/status.h"

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace triad::server {

// The highest version Deploy accepts, whether given or computed ("the newest + 1"), so that the
// next version of a name always exists.
inline constexpr int32_t kMaxDeployedVersion = 1'000'000;

class ScriptedProjections {
 public:
  // `engine` is non-owning and must outlive this object. `directory` empty: no folder (deployed
  // scripts live only as long as the process).
  ScriptedProjections(ProjectionEngine* engine, std::string directory, LuaLimits limits);

  // Creates the folder if missing, then compiles and registers every script in it, in name
  // order, newest version last. A script whose version the read-model store holds as retired
  // (replaced by a promoted version) is kept for reference (Source, List) but not registered.
  // Errors: the first script that fails, its file named in the message (kInvalidArgument), the
  // engine's errors, or kUnavailable when the folder cannot be read.
  Status LoadDirectory();

  struct Deployed {
    std::string name;
    int32_t version = 1;
    // False when the same source was already deployed as this version (nothing changed).
    bool created = true;
  };

  // Compiles `source` as projection `name`. `version` absent: the next version (1 for a new
  // name; the newest version again when its source is identical, else newest + 1). A version
  // other than the newest builds beside the serving one (blue/green; promote it with
  // ProjectionEngine::Promote). Errors: kInvalidArgument (compile errors with line numbers, a
  // version lower than the newest, the same version with another source, a version above
  // kMaxDeployedVersion), kUnavailable (the file could not be written), the engine's Register
  // errors.
  Result<Deployed> Deploy(std::string_view name, std::string_view source,
                          std::optional<int32_t> version);

  // The source of a deployed or loaded version; nullopt when the name/version is not scripted.
  std::optional<std::string> Source(std::string_view name, int32_t version) const;

  // (name, version) of every scripted projection, in order.
  std::vector<std::pair<std::string, int32_t>> List() const;

 private:
  ProjectionEngine* engine_;
  std::string directory_;
  LuaLimits limits_;
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, int32_t>, std::string> sources_;
};

}  // namespace triad::server
