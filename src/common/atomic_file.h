// Writes a file so that the destination either keeps its old content or gets the complete new one.
// The data goes to a temporary file beside the destination (same directory, so rename(2) is atomic);
// commit() flushes it to disk and renames it over the destination.
#pragma once

#include <filesystem>

#include "common/status.h"

namespace spectrum {

class AtomicFile {
 public:
  // Creates `<dir>/.<name>.tmp-XXXXXX` beside `destination`. Nothing is created at `destination` itself.
  // Errors: kNotFound (the directory does not exist), kPermissionDenied, kIoError.
  static Expected<AtomicFile> create(const std::filesystem::path& destination);

  AtomicFile(AtomicFile&& other) noexcept;
  AtomicFile& operator=(AtomicFile&& other) noexcept;
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  // Removes the temporary file unless commit() succeeded.
  ~AtomicFile();

  // Where to write. The file exists (empty) from create() on; writers may truncate and rewrite it.
  [[nodiscard]] const std::filesystem::path& temp_path() const noexcept { return temp_path_; }
  [[nodiscard]] const std::filesystem::path& destination() const noexcept { return destination_; }
  [[nodiscard]] bool committed() const noexcept { return committed_; }

  // fsyncs the temporary file, renames it over the destination (replacing any existing file) and fsyncs
  // the directory so the rename survives a crash. On failure the temporary file is removed.
  Status commit();

 private:
  AtomicFile(std::filesystem::path destination, std::filesystem::path temp_path, int fd) noexcept;
  void discard() noexcept;

  std::filesystem::path destination_;
  std::filesystem::path temp_path_;
  int fd_ = -1;  // kept open so commit() can fsync the same inode the writer filled
  bool committed_ = false;
};

}  // namespace spectrum
