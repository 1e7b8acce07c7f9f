// EventStoreImpl: the EventStore over one Backend. Validation and the rules live here and in
// AppendQueue; storage lives in the Backend.
#pragma once

#include "store/append_queue.h"

#include "triad/event_store.h"

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>

namespace triad::internal {

class EventStoreImpl final : public EventStore {
 public:
  // `owned` is the backend when the store owns it (opened from a URI); `backend` is the one used.
  EventStoreImpl(const Options& options, std::unique_ptr<Backend> owned, Backend& backend,
                 Position head);
  ~EventStoreImpl() override;

  Result<AppendResult> Append(std::string_view stream, ExpectedVersion expected,
                              std::span<const NewEvent> events) override;
  Result<std::vector<RecordedEvent>> ReadStream(std::string_view stream,
                                                const ReadStreamOptions& options) override;
  Result<std::vector<RecordedEvent>> ReadAll(const ReadAllOptions& options) override;
  Result<int64_t> ScanAll(const ReadAllOptions& options, const EventVisitor& visit) override;
  Result<Position> HeadPosition() override;
  Result<Position> WaitForPosition(Position position, int64_t timeout_us) override;
  Result<StreamInfo> GetStreamInfo(std::string_view stream) override;
  Result<std::vector<StreamInfo>> ListStreams(const ListStreamsOptions& options) override;
  Status SaveSnapshot(const Snapshot& snapshot) override;
  Result<std::optional<Snapshot>> LoadSnapshot(std::string_view stream) override;
  Result<BackendStats> Stats() override;
  Result<CheckReport> Check() override;
  Status WriteHealth() override;
  std::string Describe() const override;
  uint64_t AddCommitListener(std::function<void(Position head)> listener) override;
  void RemoveCommitListener(uint64_t id) override;

 private:
  // Validates read-all options; returns them with from_position 0 mapped to 1.
  Result<ReadAllOptions> CheckReadAllOptions(const ReadAllOptions& options) const;
  // Called by the commit path with the new head; wakes WaitForPosition callers.
  void OnCommit(Position head);

  const Options options_;
  Clock& clock_;
  std::unique_ptr<Backend> owned_backend_;
  Backend& backend_;
  AppendQueue queue_;

  std::mutex head_mu_;
  std::condition_variable head_cv_;
  Position head_;  // guarded by head_mu_; the highest position known committed

  std::mutex listeners_mu_;  // held while listeners run, so removal waits for a running call
  uint64_t next_listener_id_ = 1;
  std::map<uint64_t, std::function<void(Position)>> listeners_;  // guarded by listeners_mu_
};

}  // namespace triad::internal
