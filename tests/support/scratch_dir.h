// One scratch folder per test process (<tmp>/spectrum-test-<pid>), removed when the tests end.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <string>

#include <gtest/gtest.h>

namespace spectrum::test {

inline std::filesystem::path scratch_dir() {
  static const std::filesystem::path dir = [] {
    auto d = std::filesystem::temp_directory_path() / ("spectrum-test-" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    return d;
  }();
  return dir;
}

class ScratchDirCleanup : public ::testing::Environment {
 public:
  void TearDown() override { std::filesystem::remove_all(scratch_dir()); }
};
inline const auto* const kScratchDirCleanup = ::testing::AddGlobalTestEnvironment(new ScratchDirCleanup);

}  // namespace spectrum::test
