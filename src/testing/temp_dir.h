// TempDir: a fresh temporary folder for one test, removed with everything in it when the object
// dies. Tests and benchmarks use it instead of building folder names from pids and test names.
//
//   class MyTest : public ::testing::Test {
//    protected:
//     TempDir dir_;                       // a new folder for each test
//     std::string Db() const { return dir_.File("store.db"); }
//   };
//
// Thread-safety: path() and File() may be called from any thread; the object is not copyable.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace triad::testing {

class TempDir {
 public:
  // Creates $TMPDIR/PREFIX-XXXXXX (mkdtemp: unique, mode 0700). Aborts the process if the folder
  // cannot be created: no test can run without it.
  explicit TempDir(std::string_view prefix = "triad");
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  // Removes the folder and everything in it; errors are ignored.
  ~TempDir();

  const std::filesystem::path& path() const { return path_; }
  // path() / name, as a string.
  std::string File(std::string_view name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace triad::testing
