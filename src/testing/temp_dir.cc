#include "testing/temp_dir.h"

#include <cstdio>
#include <cstdlib>
#include <system_error>

namespace triad::testing {

TempDir::TempDir(std::string_view prefix) {
  std::error_code ec;
  std::filesystem::path parent = std::filesystem::temp_directory_path(ec);
  if (ec) parent = "/tmp";
  std::string pattern = (parent / (std::string(prefix) + "-XXXXXX")).string();
  if (mkdtemp(pattern.data()) == nullptr) {
    std::perror(("TempDir: mkdtemp " + pattern).c_str());
    std::abort();
  }
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

}  // namespace triad::testing
