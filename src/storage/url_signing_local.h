// Signed URLs for the local backend: /files/<object>?expires=<unix seconds>&signature=<hex HMAC-SHA256>.
// The service serves these URLs itself, so the same secret signs and verifies; nothing here knows HTTP.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "common/status.h"
#include "storage/storage.h"

namespace spectrum::storage {

// The minimum secret length accepted from the environment (bytes); shorter secrets are guessable.
inline constexpr std::size_t kMinSigningSecretBytes = 32;

class LocalUrlSigner {
 public:
  explicit LocalUrlSigner(std::string secret) : secret_(std::move(secret)) {}

  // Lower-case hex HMAC-SHA256 over "<METHOD>\n<object>\n<expires>\n<content type>".
  [[nodiscard]] std::string signature(HttpMethod method, std::string_view name, std::int64_t expires_unix_s,
                                      std::string_view content_type) const;

  // The path and query of a signed URL: "/files/<percent-encoded object>?expires=...&signature=...".
  [[nodiscard]] std::string signed_path(HttpMethod method, std::string_view name, std::int64_t expires_unix_s,
                                        std::string_view content_type) const;

  // kPermissionDenied when the signature does not match (compared in constant time), the expiry is not
  // a number, or it has passed. `expires` and `signature` are the raw query values.
  [[nodiscard]] Status verify(HttpMethod method, std::string_view name, std::string_view expires,
                              std::string_view signature, std::string_view content_type,
                              std::chrono::system_clock::time_point now) const;

 private:
  std::string secret_;
};

// Reads the secret kept at `key_file`, or creates it (32 random bytes, hex, mode 0600) on first start.
Expected<std::string> load_or_create_signing_secret(const std::filesystem::path& key_file);

// Percent-encodes an object name for a URL path: unreserved characters and '/' stay as they are.
std::string percent_encode_object_name(std::string_view name);

}  // namespace spectrum::storage
