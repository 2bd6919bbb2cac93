// The local backend's signed URLs, served by this service: GET /files/<object> streams an object, PUT stores
// one. An upload is whole or nothing: it streams to a temporary file, and only a body that arrived complete
// (and matches its Content-MD5, when one is sent) is synced and renamed over the object.
#pragma once

#include <cstdint>

#include "server/http_edge.h"
#include "server/http_message.h"
#include "storage/local_storage.h"

namespace spectrum::server {

inline constexpr std::string_view kFilesPrefix = "/files/";

class SignedFiles {
 public:
  SignedFiles(storage::LocalStorage& local, std::uint64_t max_input_bytes)
      : local_(local), max_input_bytes_(max_input_bytes) {}

  [[nodiscard]] HttpResponse get(const HttpRequest& request) const;
  // 400 hostile name, 403 bad signature, 411 no length, 413 over max-input-bytes, 400 bad Content-MD5;
  // otherwise a sink that stores the body when it is complete.
  [[nodiscard]] BodyOpening put(const HttpRequest& request) const;

 private:
  storage::LocalStorage& local_;
  const std::uint64_t max_input_bytes_;
};

}  // namespace spectrum::server
