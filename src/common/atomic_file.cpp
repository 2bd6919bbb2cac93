#include "common/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

namespace spectrum {
namespace {

ErrorCode code_for_errno(int err) noexcept {
  switch (err) {
    case ENOENT:
    case ENOTDIR:
      return ErrorCode::kNotFound;
    case EACCES:
    case EPERM:
    case EROFS:
      return ErrorCode::kPermissionDenied;
    default:
      return ErrorCode::kIoError;
  }
}

Error errno_error(int err, const std::string& what) {
  return make_error(code_for_errno(err), what + ": " + std::strerror(err));
}

// mkstemp creates files with mode 0600; a finished output should look like any other new file
// (0666 minus the umask), or keep the mode of the file it replaces. umask(2) cannot be read without
// changing it (a race with other threads), so read it from /proc.
mode_t mode_for_new_file(const std::filesystem::path& destination) {
  struct stat existing {};
  if (::stat(destination.c_str(), &existing) == 0) return existing.st_mode & 07777;
  mode_t mask = 022;
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("Umask:", 0) == 0) {
      mask = static_cast<mode_t>(std::strtoul(line.c_str() + 6, nullptr, 8) & 0777);
      break;
    }
  }
  return static_cast<mode_t>(0666 & ~mask);
}

}  // namespace

Expected<AtomicFile> AtomicFile::create(const std::filesystem::path& destination) {
  if (destination.empty() || !destination.has_filename()) {
    return make_error(ErrorCode::kInvalidArgument, "output path has no file name: '" + destination.string() + "'");
  }
  const std::filesystem::path dir = destination.parent_path();
  std::string temp_name = ".";  // built with += : GCC 12 warns falsely (-Wrestrict) on "." + std::string
  temp_name += destination.filename().string();
  temp_name += ".tmp-XXXXXX";
  const std::string pattern = ((dir.empty() ? std::filesystem::path(".") : dir) / temp_name).string();
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  const int fd = ::mkostemp(buffer.data(), O_CLOEXEC);
  if (fd < 0) return errno_error(errno, "cannot create a file beside " + destination.string());
  std::filesystem::path temp_path(buffer.data());
  if (::fchmod(fd, mode_for_new_file(destination)) != 0) {
    const int err = errno;
    ::close(fd);
    ::unlink(temp_path.c_str());
    return errno_error(err, "cannot set the mode of a temporary file for " + destination.string());
  }
  return AtomicFile(destination, std::move(temp_path), fd);
}

AtomicFile::AtomicFile(std::filesystem::path destination, std::filesystem::path temp_path, int fd) noexcept
    : destination_(std::move(destination)), temp_path_(std::move(temp_path)), fd_(fd) {}

AtomicFile::AtomicFile(AtomicFile&& other) noexcept
    : destination_(std::move(other.destination_)),
      temp_path_(std::move(other.temp_path_)),
      fd_(std::exchange(other.fd_, -1)),
      committed_(std::exchange(other.committed_, true)) {
  other.temp_path_.clear();
}

AtomicFile& AtomicFile::operator=(AtomicFile&& other) noexcept {
  if (this != &other) {
    discard();
    destination_ = std::move(other.destination_);
    temp_path_ = std::move(other.temp_path_);
    fd_ = std::exchange(other.fd_, -1);
    committed_ = std::exchange(other.committed_, true);
    other.temp_path_.clear();
  }
  return *this;
}

AtomicFile::~AtomicFile() {
  discard();
}

void AtomicFile::discard() noexcept {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  if (!committed_ && !temp_path_.empty()) ::unlink(temp_path_.c_str());
  temp_path_.clear();
}

Status AtomicFile::commit() {
  if (committed_ || temp_path_.empty()) {
    return make_error(ErrorCode::kInternal, "AtomicFile::commit called twice or after a move");
  }
  // The writer may have closed and reopened the path; fsync through our descriptor covers the same inode.
  if (::fsync(fd_) != 0) {
    const int err = errno;
    discard();
    return errno_error(err, "cannot flush " + destination_.string());
  }
  ::close(fd_);
  fd_ = -1;
  if (::rename(temp_path_.c_str(), destination_.c_str()) != 0) {
    const int err = errno;
    discard();
    return errno_error(err, "cannot write " + destination_.string());
  }
  committed_ = true;
  temp_path_.clear();
  // Make the rename itself durable. A failure here leaves a complete file in place, so it is not an error.
  const std::filesystem::path dir = destination_.parent_path().empty() ? "." : destination_.parent_path();
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
  return {};
}

}  // namespace spectrum
