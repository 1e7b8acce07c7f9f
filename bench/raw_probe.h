// GroupCommitFile: the raw baseline of the durable append rows. The same group commit as Triad's
// AppendQueue (leveldb DBImpl::Write), stripped to the I/O: concurrent writers queue records; the
// writer at the front leads, gathers everything queued, writes it with one pwrite() and one
// fdatasync(), then wakes the writers it took.
//
// It is the ceiling for a durable append on this machine and filesystem: no validation, no
// indexes, no SQL, just the bytes of each event made durable in batches.
//
// The file is a ring written from offset 0 after being filled and synced once, so that
// fdatasync() never has to persist a new file size. That matches SQLite's WAL, which after its
// first checkpoint rewrites the same file from the start; a probe that grew its file on every
// commit would pay an extra metadata flush per sync and flatter Triad.
//
// Thread-safety: Append() may be called from any number of threads.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>

namespace triad::bench {

class GroupCommitFile {
 public:
  // Creates `path` and fills `ring_bytes` of it with zeros, synced. Dies on I/O errors.
  GroupCommitFile(const std::string& path, size_t ring_bytes);
  ~GroupCommitFile();
  GroupCommitFile(const GroupCommitFile&) = delete;
  GroupCommitFile& operator=(const GroupCommitFile&) = delete;

  // Returns once `record` is on stable storage. Dies on I/O errors.
  // REQUIRES: record.size() <= ring_bytes.
  void Append(std::string_view record);

  // Group commits done so far (fdatasync calls).
  int64_t syncs() const;

 private:
  struct Writer {
    std::string_view record;
    bool done = false;
    std::condition_variable cv;
  };

  int fd_ = -1;
  const size_t ring_bytes_;
  size_t offset_ = 0;   // only the leader touches it
  std::string buffer_;  // only the leader touches it

  mutable std::mutex mu_;
  std::deque<Writer*> writers_;  // guarded by mu_; front is the leader
  int64_t syncs_ = 0;            // guarded by mu_
};

}  // namespace triad::bench
