// Object storage as the service sees it: one interface, with a local-disk backend (the embedded default)
// and a Google Cloud Storage backend. Retry and logging wrap a backend as decorators, never live inside it.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "common/status.h"

namespace spectrum::storage {

struct ObjectInfo {
  std::uint64_t size_bytes = 0;
  std::string content_type;
};

enum class HttpMethod { kGet, kPut };

struct SignedUrl {
  std::string url;
  std::chrono::system_clock::time_point expires_at;
};

class Storage {
 public:
  virtual ~Storage() = default;

  // Size and content type, without reading the object. kNotFound when absent.
  virtual Expected<ObjectInfo> stat(std::string_view name) = 0;

  // Streams the object into `destination` (a local file, replaced atomically). kNotFound when absent.
  virtual Status download(std::string_view name, const std::filesystem::path& destination) = 0;

  // Stores the local file `source` as the object; readers see the whole object or none of it.
  virtual Status upload(const std::filesystem::path& source, std::string_view name, std::string_view content_type) = 0;

  virtual Status remove(std::string_view name) = 0;

  // A URL that lets its holder GET (download) or PUT (upload) the object until it expires.
  // For kPut a non-empty content_type is part of what is signed.
  virtual Expected<SignedUrl> sign_url(std::string_view name, HttpMethod method, std::chrono::seconds ttl,
                                       std::string_view content_type) = 0;
};

// Each '/'-separated segment of an object name is at most this long (object_name.cpp says why).
inline constexpr std::size_t kMaxObjectSegmentBytes = 200;

// The object-name rules every backend enforces (kInvalidArgument, naming the problem): no empty name,
// no name over 1024 bytes or with a segment over kMaxObjectSegmentBytes, no absolute name, no empty, "." or ".."
// segment, no backslash, NUL or other
// control character.
Status validate_object_name(std::string_view name);

}  // namespace spectrum::storage
