// `triad serve` out of file descriptors: a child server under RLIMIT_NOFILE 128 with 200 idle
// connections (more than it can hold) must still serve a new client promptly (it closes the
// longest-idle connections), must not spin accepting (its CPU time over an idle stretch stays
// low), and logs the episode once.
#include "testing/process_cpu.h"
#include "testing/temp_dir.h"
#include "testing/test_util.h"

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include "server/http_client.h"
#include "support/raw_connection.h"
#include "support/server_process.h"

namespace triad::server {
namespace {

using testing::RawConnection;
using testing::ServerProcess;
using testing::ServerProcessOptions;
using triad::testing::TempDir;

// utime + stime of `pid` in seconds; -1 when unreadable.
double CpuSeconds(pid_t pid) {
  const auto cpu = triad::testing::ProcessCpuTime(pid);
  return cpu ? static_cast<double>(cpu->count()) / 1000.0 : -1;
}

TEST(FdExhaustionTest, IdleConnectionsBeyondTheFdLimitNeitherBlockNewClientsNorSpin) {
  TempDir dir;
  ServerProcessOptions options{
      .data = dir.File("store.db"), .log_file = dir.File("server.log"), .max_open_files = 128};
  auto server = ServerProcess::Start(options);
  ASSERT_OK(server);
  std::vector<std::unique_ptr<RawConnection>> idle;
  for (int i = 0; i < 200; ++i) {
    auto connection = RawConnection::Open((*server)->port());
    ASSERT_OK(connection);
    idle.push_back(std::move(*connection));
  }
  // A full accept queue may refuse a connection for a moment: retry those (only) for 5 s.
  const auto start = std::chrono::steady_clock::now();
  Result<ClientResponse> ping = UnavailableError("not tried");
  while (std::chrono::steady_clock::now() - start < std::chrono::seconds(5)) {
    auto client = HttpClient::Connect("127.0.0.1", (*server)->port(),
                                      {.connect_timeout_ms = 5'000, .request_timeout_ms = 5'000});
    ASSERT_OK(client);
    ping = (*client)->Send("GET", "/ping");
    if (ping.ok() || ping.status().message().find("refused") == std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_OK(ping);
  EXPECT_EQ(ping->status, 200);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 5.0);

  // Idle now (the connections still open, nothing sent): no busy accept loop.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const double before = CpuSeconds((*server)->pid());
  std::this_thread::sleep_for(std::chrono::seconds(2));
  const double used = CpuSeconds((*server)->pid()) - before;
  ASSERT_GE(before, 0);
  EXPECT_LT(used, 0.5) << "CPU seconds over 2 idle seconds";

  const std::string log = (*server)->Output();
  size_t warnings = 0;
  for (size_t at = log.find("file descriptor limit"); at != std::string::npos;
       at = log.find("file descriptor limit", at + 1)) {
    ++warnings;
  }
  EXPECT_EQ(warnings, 1U) << log.substr(0, 2000);
}

}  // namespace
}  // namespace triad::server
