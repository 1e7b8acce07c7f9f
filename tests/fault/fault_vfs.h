// FaultVfs: an sqlite3_vfs that forwards to the process's default VFS and can simulate a full
// disk, after SQLite's own src/test_vfs.c and test_devsym.c.
//
// While the disk is "full", every write that would make a file longer fails with SQLITE_FULL, as
// a real ENOSPC would; writes inside a file's current size still succeed, as they do on a real
// full file system (no new blocks are needed). Everything else is forwarded unchanged.
//
//   FaultVfs& vfs = FaultVfs::Install();   // before the store opens its connections
//   vfs.SetDiskFull(true);
//   ... appends fail with kUnavailable ("database or disk is full") ...
//   vfs.SetDiskFull(false);                // space was freed
//
// Install() registers the VFS as the default one for the whole process, so every connection
// opened afterwards goes through it; use it only in a test binary of its own.
//
// Thread-safety: SetDiskFull() and the counters may be used from any thread while SQLite runs.
#pragma once

#include <atomic>
#include <cstdint>

namespace triad::testing {

class FaultVfs {
 public:
  // Registers the VFS as the process default on first call; returns the one instance.
  static FaultVfs& Install();

  // Turns the simulated full disk on or off.
  void SetDiskFull(bool full) { disk_full_.store(full); }
  bool disk_full() const { return disk_full_.load(); }

  // Writes refused with SQLITE_FULL so far.
  int64_t full_errors() const { return full_errors_.load(); }

  // Used by the VFS callbacks.
  void CountFullError() { full_errors_.fetch_add(1); }

 private:
  FaultVfs() = default;

  std::atomic<bool> disk_full_{false};
  std::atomic<int64_t> full_errors_{0};
};

}  // namespace triad::testing
