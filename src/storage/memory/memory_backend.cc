#include "storage/memory/memory_backend.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>

namespace triad::internal {
namespace {

struct StreamData {
  std::vector<Position> positions;  // positions of the stream's events, by version
  int64_t last_recorded_at_us = 0;
};

// Everything stored. Guarded by MemoryBackend::mu_.
struct State {
  std::vector<RecordedEvent> log;  // log[p - 1] is position p
  std::map<std::string, StreamData, std::less<>> streams;
  std::unordered_map<std::string, Position> ids;
  std::map<std::string, Snapshot, std::less<>> snapshots;
};

bool MatchesFilter(const RecordedEvent& e, const ReadAllOptions& o) {
  if (!o.types.empty() && std::find(o.types.begin(), o.types.end(), e.type) == o.types.end()) {
    return false;
  }
  if (!o.categories.empty()) {
    const std::string_view category = CategoryOf(e.stream);
    return std::find(o.categories.begin(), o.categories.end(), category) != o.categories.end();
  }
  return true;
}

StreamInfo InfoOf(const std::string& name, const StreamData& s) {
  return StreamInfo{.name = name,
                    .category = std::string(CategoryOf(name)),
                    .version = static_cast<StreamVersion>(s.positions.size()) - 1,
                    .first_position = s.positions.front(),
                    .last_position = s.positions.back(),
                    .event_count = static_cast<int64_t>(s.positions.size()),
                    .last_recorded_at_us = s.last_recorded_at_us};
}

class MemoryBackend;

class MemoryTransaction final : public WriteTransaction {
 public:
  MemoryTransaction(MemoryBackend& backend, State& state, std::shared_mutex& mu)
      : backend_(backend), state_(state), mu_(mu) {
    std::shared_lock lock(mu_);
    base_head_ = static_cast<Position>(state_.log.size());
  }
  ~MemoryTransaction() override;

  Result<StreamVersion> CurrentVersion(std::string_view stream) override {
    std::string key(stream);
    if (auto it = staged_versions_.find(key); it != staged_versions_.end()) return it->second;
    std::shared_lock lock(mu_);
    auto it = state_.streams.find(stream);
    if (it == state_.streams.end()) return kNoStreamVersion;
    return static_cast<StreamVersion>(it->second.positions.size()) - 1;
  }

  Result<std::optional<RecordedEvent>> FindEvent(std::string_view id) override {
    for (const RecordedEvent& e : staged_) {
      if (e.id == id) return std::optional<RecordedEvent>(e);
    }
    std::shared_lock lock(mu_);
    auto it = state_.ids.find(std::string(id));
    if (it == state_.ids.end()) return std::optional<RecordedEvent>();
    return std::optional<RecordedEvent>(state_.log[it->second - 1]);
  }

  Result<Position> Insert(std::string_view stream, StreamVersion first_version,
                          std::span<const PreparedEvent> events, int64_t recorded_at_us) override {
    for (const PreparedEvent& e : events) {
      auto found = FindEvent(e.id);
      if (!found.ok()) return found.status();
      if (*found) return AlreadyExistsError("event id " + e.id + " is already stored");
    }
    const Position first_position = base_head_ + static_cast<Position>(staged_.size()) + 1;
    StreamVersion version = first_version;
    for (const PreparedEvent& e : events) {
      staged_.push_back(RecordedEvent{
          .id = e.id,
          .stream = std::string(stream),
          .version = version++,
          .position = base_head_ + static_cast<Position>(staged_.size()) + 1,
          .type = e.type,
          .data = e.data,
          .metadata = e.metadata,
          .correlation_id = e.correlation_id,
          .causation_id = e.causation_id,
          .recorded_at_us = recorded_at_us,
      });
    }
    staged_versions_[std::string(stream)] = version - 1;
    return first_position;
  }

  Status Savepoint() override {
    savepoint_ = staged_.size();
    saved_versions_ = staged_versions_;
    return Status::OK();
  }
  Status RollbackToSavepoint() override {
    staged_.resize(savepoint_);
    staged_versions_ = saved_versions_;
    return Status::OK();
  }
  Status ReleaseSavepoint() override { return Status::OK(); }

  Status Commit() override {
    std::unique_lock lock(mu_);
    for (RecordedEvent& e : staged_) {
      state_.ids[e.id] = e.position;
      StreamData& s = state_.streams[e.stream];
      s.positions.push_back(e.position);
      s.last_recorded_at_us = e.recorded_at_us;
      state_.log.push_back(std::move(e));
    }
    staged_.clear();
    return Status::OK();
  }

 private:
  MemoryBackend& backend_;
  State& state_;
  std::shared_mutex& mu_;
  Position base_head_ = 0;
  std::vector<RecordedEvent> staged_;
  std::unordered_map<std::string, StreamVersion> staged_versions_;
  size_t savepoint_ = 0;
  std::unordered_map<std::string, StreamVersion> saved_versions_;
};

class MemoryBackend final : public Backend {
 public:
  Result<std::unique_ptr<WriteTransaction>> BeginWrite() override {
    std::lock_guard lock(writer_mu_);
    if (writer_open_) return FailedPreconditionError("a write transaction is already open");
    writer_open_ = true;
    return std::unique_ptr<WriteTransaction>(new MemoryTransaction(*this, state_, mu_));
  }

  void EndWrite() {
    std::lock_guard lock(writer_mu_);
    writer_open_ = false;
  }

  Result<std::vector<RecordedEvent>> ReadStream(std::string_view stream,
                                                const ReadStreamOptions& o) override {
    std::shared_lock lock(mu_);
    std::vector<RecordedEvent> out;
    auto it = state_.streams.find(stream);
    if (it == state_.streams.end() || o.limit == 0) return out;
    const auto& positions = it->second.positions;
    const auto count = static_cast<StreamVersion>(positions.size());
    if (o.direction == ReadDirection::kForward) {
      for (StreamVersion v = o.from_version.value_or(0); v < count && out.size() < o.limit; ++v) {
        out.push_back(state_.log[positions[v] - 1]);
      }
    } else {
      for (StreamVersion v = std::min(o.from_version.value_or(count - 1), count - 1);
           v >= 0 && out.size() < o.limit; --v) {
        out.push_back(state_.log[positions[v] - 1]);
      }
    }
    return out;
  }

  Result<std::vector<RecordedEvent>> ReadAll(const ReadAllOptions& o) override {
    std::shared_lock lock(mu_);
    std::vector<RecordedEvent> out;
    for (Position p = std::max<Position>(1, o.from_position);
         p <= static_cast<Position>(state_.log.size()) && out.size() < o.limit; ++p) {
      const RecordedEvent& e = state_.log[p - 1];
      if (MatchesFilter(e, o)) out.push_back(e);
    }
    return out;
  }

  Result<Position> HeadPosition() override {
    std::shared_lock lock(mu_);
    return static_cast<Position>(state_.log.size());
  }

  Result<std::optional<StreamInfo>> GetStreamInfo(std::string_view stream) override {
    std::shared_lock lock(mu_);
    auto it = state_.streams.find(stream);
    if (it == state_.streams.end()) return std::optional<StreamInfo>();
    return std::optional<StreamInfo>(InfoOf(it->first, it->second));
  }

  Result<std::vector<StreamInfo>> ListStreams(const ListStreamsOptions& o) override {
    std::shared_lock lock(mu_);
    std::vector<StreamInfo> out;
    auto it = o.after.empty() ? state_.streams.begin() : state_.streams.upper_bound(o.after);
    for (; it != state_.streams.end() && out.size() < o.limit; ++it) {
      if (!o.prefix.empty() && !it->first.starts_with(o.prefix)) continue;
      if (!o.category.empty() && CategoryOf(it->first) != o.category) continue;
      out.push_back(InfoOf(it->first, it->second));
    }
    return out;
  }

  Status SaveSnapshot(const Snapshot& snapshot) override {
    std::unique_lock lock(mu_);
    auto [it, inserted] = state_.snapshots.try_emplace(snapshot.stream, snapshot);
    // A slower writer must not replace a newer snapshot with an older one (same schema only:
    // a new schema version always replaces).
    if (!inserted && (snapshot.version >= it->second.version ||
                      snapshot.schema_version != it->second.schema_version)) {
      it->second = snapshot;
    }
    return Status::OK();
  }

  Result<std::optional<Snapshot>> LoadSnapshot(std::string_view stream) override {
    std::shared_lock lock(mu_);
    auto it = state_.snapshots.find(stream);
    if (it == state_.snapshots.end()) return std::optional<Snapshot>();
    return std::optional<Snapshot>(it->second);
  }

  Result<BackendStats> Stats() override {
    std::shared_lock lock(mu_);
    return BackendStats{.head_position = static_cast<Position>(state_.log.size()),
                        .event_count = static_cast<int64_t>(state_.log.size()),
                        .stream_count = static_cast<int64_t>(state_.streams.size()),
                        .snapshot_count = static_cast<int64_t>(state_.snapshots.size()),
                        .storage_bytes = 0};
  }

  Result<std::vector<std::string>> CheckStorage() override { return std::vector<std::string>(); }

  std::string Describe() const override { return "memory:"; }

 private:
  std::shared_mutex mu_;
  State state_;
  std::mutex writer_mu_;
  bool writer_open_ = false;
};

MemoryTransaction::~MemoryTransaction() { backend_.EndWrite(); }

}  // namespace

std::unique_ptr<Backend> NewMemoryBackend() { return std::make_unique<MemoryBackend>(); }

}  // namespace triad::internal
