#include "raw_probe.h"

#include <algorithm>
#include <cerrno>
#include <fcntl.h>
#include <unistd.h>
#include <vector>

#include "bench_util.h"

namespace triad::bench {
namespace {

void WriteAll(int fd, const char* data, size_t size, size_t offset) {
  while (size > 0) {
    const ssize_t n = pwrite(fd, data, size, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) Die(std::string("probe pwrite: ") + ErrnoText(errno));
    data += n;
    size -= static_cast<size_t>(n);
    offset += static_cast<size_t>(n);
  }
}

}  // namespace

GroupCommitFile::GroupCommitFile(const std::string& path, size_t ring_bytes)
    : ring_bytes_(ring_bytes) {
  fd_ = open(path.c_str(), O_CREAT | O_RDWR | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) Die("probe open " + path + ": " + ErrnoText(errno));
  const std::vector<char> zeros(1 << 20, 0);
  for (size_t at = 0; at < ring_bytes_; at += zeros.size()) {
    WriteAll(fd_, zeros.data(), std::min(zeros.size(), ring_bytes_ - at), at);
  }
  if (fsync(fd_) != 0) Die(std::string("probe fsync: ") + ErrnoText(errno));
}

GroupCommitFile::~GroupCommitFile() { close(fd_); }

int64_t GroupCommitFile::syncs() const {
  std::lock_guard lock(mu_);
  return syncs_;
}

void GroupCommitFile::Append(std::string_view record) {
  Writer self;
  self.record = record;
  std::unique_lock lock(mu_);
  writers_.push_back(&self);
  while (!self.done && writers_.front() != &self) self.cv.wait(lock);
  if (self.done) return;

  // Lead: take everything queued. Triad caps a group at 20,000 events; 64 writers never reach it.
  size_t group = 0;
  buffer_.clear();
  for (Writer* w : writers_) {
    buffer_.append(w->record);
    ++group;
  }
  lock.unlock();

  if (offset_ + buffer_.size() > ring_bytes_) offset_ = 0;
  WriteAll(fd_, buffer_.data(), buffer_.size(), offset_);
  offset_ += buffer_.size();
  if (fdatasync(fd_) != 0) Die(std::string("probe fdatasync: ") + ErrnoText(errno));

  lock.lock();
  ++syncs_;
  for (size_t i = 0; i < group; ++i) {
    Writer* w = writers_.front();
    writers_.pop_front();
    w->done = true;
    if (w != &self) w->cv.notify_one();
  }
  if (!writers_.empty()) writers_.front()->cv.notify_one();
}

}  // namespace triad::bench
