#include "server/scripted_projections.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <system_error>
#include <tuple>
#include <unistd.h>

namespace triad::server {
namespace {

namespace fs = std::filesystem;

Status ErrnoError(const std::string& what, const std::string& path) {
  return UnavailableError(what + " " + path + ": " +
                          std::error_code(errno, std::generic_category()).message());
}

// Writes all of `text` to `fd`.
bool WriteAll(int fd, std::string_view text) {
  while (!text.empty()) {
    const ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    text.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

Status SyncDirectory(const std::string& directory) {
  const int fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("cannot open folder", directory);
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return ErrnoError("cannot fsync folder", directory);
  return Status::OK();
}

// A crash leaves either the old file or the new one, never a torn one: the text goes to a
// temporary file that is synced before the rename, and the folder is synced after it so that
// the rename itself survives.
Status WriteFileAtomically(const std::string& directory, const std::string& file,
                           std::string_view text) {
  const std::string path = (fs::path(directory) / file).string();
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoError("cannot create", tmp);
  const bool written = WriteAll(fd, text) && ::fsync(fd) == 0;
  const int saved_errno = errno;
  ::close(fd);
  if (!written) {
    errno = saved_errno;
    Status s = ErrnoError("cannot write", tmp);
    ::unlink(tmp.c_str());
    return s;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    Status s = ErrnoError("cannot rename into", path);
    ::unlink(tmp.c_str());
    return s;
  }
  return SyncDirectory(directory);
}

Result<std::string> ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return UnavailableError("cannot read " + path.string());
  std::ostringstream text;
  text << in.rdbuf();
  if (!in.good() && !in.eof()) return UnavailableError("cannot read " + path.string());
  return text.str();
}

// "NAME@VERSION.lua" -> (NAME, VERSION); "NAME.lua" -> (NAME, 0: the script's version).
Result<std::pair<std::string, int32_t>> ParseFileName(const std::string& file) {
  const std::string stem = file.substr(0, file.size() - 4);
  const size_t at = stem.rfind('@');
  if (at == std::string::npos) return std::make_pair(stem, int32_t{0});
  int32_t version = 0;
  const char* first = stem.data() + at + 1;
  const char* last = stem.data() + stem.size();
  const auto [end, ec] = std::from_chars(first, last, version);
  if (ec != std::errc() || end != last || version < 1) {
    return InvalidArgumentError(file + ": the version after '@' must be an integer >= 1");
  }
  return std::make_pair(stem.substr(0, at), version);
}

std::string FileName(std::string_view name, int32_t version) {
  return std::string(name) + "@" + std::to_string(version) + ".lua";
}

}  // namespace

ScriptedProjections::ScriptedProjections(ProjectionEngine* engine, std::string directory,
                                         LuaLimits limits)
    : engine_(engine), directory_(std::move(directory)), limits_(limits) {}

Status ScriptedProjections::LoadDirectory() {
  if (directory_.empty()) return Status::OK();
  std::error_code ec;
  fs::create_directories(directory_, ec);
  if (ec) return UnavailableError("cannot create folder " + directory_ + ": " + ec.message());
  struct Script {
    std::string name;
    int32_t version = 0;
    std::string file;
    std::string source;
    ProjectionDefinition definition;
  };
  std::vector<Script> scripts;
  fs::directory_iterator it(directory_, ec);
  if (ec) return UnavailableError("cannot read folder " + directory_ + ": " + ec.message());
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) return UnavailableError("cannot read folder " + directory_ + ": " + ec.message());
    const std::string file = it->path().filename().string();
    if (file.size() <= 4 || !file.ends_with(".lua") || !it->is_regular_file()) continue;
    Result<std::pair<std::string, int32_t>> parsed = ParseFileName(file);
    if (!parsed.ok()) return parsed.status();
    Result<std::string> source = ReadFile(it->path());
    if (!source.ok()) return source.status();
    Result<ProjectionDefinition> def =
        CompileLuaProjection(parsed->first, parsed->second, *source, limits_);
    if (!def.ok()) return def.status().Annotate(it->path().string());
    scripts.push_back({.name = parsed->first,
                       .version = def->version,
                       .file = file,
                       .source = *std::move(source),
                       .definition = *std::move(def)});
  }
  std::sort(scripts.begin(), scripts.end(), [](const Script& a, const Script& b) {
    return std::tie(a.name, a.version) < std::tie(b.name, b.version);
  });
  for (size_t i = 1; i < scripts.size(); ++i) {
    if (scripts[i].name == scripts[i - 1].name && scripts[i].version == scripts[i - 1].version) {
      return InvalidArgumentError(scripts[i - 1].file + " and " + scripts[i].file + " both are " +
                                  ProjectionKeyString(scripts[i].name, scripts[i].version));
    }
  }
  // Versions retired by a promote stay in the folder for reference; the promoted version serves.
  Result<std::vector<ProjectionStatus>> statuses = engine_->ListStatus();
  if (!statuses.ok()) return statuses.status().Annotate("loading the scripts of " + directory_);
  std::set<std::pair<std::string, int32_t>> retired;
  for (const ProjectionStatus& status : *statuses) {
    if (status.state == ProjectionState::kRetired) retired.emplace(status.name, status.version);
  }
  std::lock_guard<std::mutex> lock(mutex_);
  for (Script& script : scripts) {
    if (retired.contains({script.name, script.version})) {
      sources_[{script.name, script.version}] = std::move(script.source);
      continue;
    }
    if (Status s = engine_->Register(std::move(script.definition)); !s.ok()) {
      return s.Annotate((fs::path(directory_) / script.file).string());
    }
    sources_[{script.name, script.version}] = std::move(script.source);
  }
  return Status::OK();
}

Result<ScriptedProjections::Deployed> ScriptedProjections::Deploy(std::string_view name,
                                                                  std::string_view source,
                                                                  std::optional<int32_t> version) {
  std::lock_guard<std::mutex> lock(mutex_);
  const std::string key(name);
  // The newest version deployed or loaded under this name (0: none).
  int32_t newest = 0;
  for (auto it = sources_.lower_bound({key, 0}); it != sources_.end() && it->first.first == key;
       ++it) {
    newest = it->first.second;
  }
  int32_t target = 1;
  if (!version.has_value()) {
    if (newest > 0 && sources_.at({key, newest}) == source) {
      return Deployed{.name = key, .version = newest, .created = false};
    }
    if (newest >= kMaxDeployedVersion) {
      return InvalidArgumentError(
          key + " is at version " + std::to_string(newest) + ", the highest a deploy accepts (" +
          std::to_string(kMaxDeployedVersion) + "): deploy the script under another name");
    }
    target = newest + 1;
  } else {
    target = *version;
    if (target < 1 || target > kMaxDeployedVersion) {
      return InvalidArgumentError("version must be between 1 and " +
                                  std::to_string(kMaxDeployedVersion) + ", got " +
                                  std::to_string(target));
    }
    if (auto it = sources_.find({key, target}); it != sources_.end()) {
      if (it->second == source) return Deployed{.name = key, .version = target, .created = false};
      return InvalidArgumentError(ProjectionKeyString(name, target) +
                                  " is already deployed with another source; deploy it as a new "
                                  "version");
    }
    if (target < newest) {
      return InvalidArgumentError("version " + std::to_string(target) +
                                  " is lower than the newest deployed version of " + key + ", " +
                                  std::to_string(newest));
    }
  }
  // Compiled before anything is written: a script that does not compile leaves no file.
  Result<ProjectionDefinition> def = CompileLuaProjection(name, target, source, limits_);
  if (!def.ok()) return def.status();
  const std::string file = FileName(name, target);
  if (!directory_.empty()) {
    std::error_code ec;
    fs::create_directories(directory_, ec);
    if (ec) return UnavailableError("cannot create folder " + directory_ + ": " + ec.message());
    if (Status s = WriteFileAtomically(directory_, file, source); !s.ok()) return s;
  }
  if (Status s = engine_->Register(*std::move(def)); !s.ok()) {
    // Not left behind to fail again at the next start.
    if (!directory_.empty()) {
      std::error_code ec;
      fs::remove(fs::path(directory_) / file, ec);
    }
    return s;
  }
  sources_[{key, target}] = std::string(source);
  return Deployed{.name = key, .version = target, .created = true};
}

std::optional<std::string> ScriptedProjections::Source(std::string_view name,
                                                       int32_t version) const {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto it = sources_.find({std::string(name), version});
  if (it == sources_.end()) return std::nullopt;
  return it->second;
}

std::vector<std::pair<std::string, int32_t>> ScriptedProjections::List() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::pair<std::string, int32_t>> out;
  out.reserve(sources_.size());
  for (const auto& [key, source] : sources_) out.push_back(key);
  return out;
}

}  // namespace triad::server
