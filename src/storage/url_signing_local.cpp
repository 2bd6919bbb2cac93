#include "storage/url_signing_local.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "storage/credentials_crypto.h"
#include "storage/percent_encoding.h"

namespace spectrum::storage {
namespace {

std::string_view method_name(HttpMethod method) {
  return method == HttpMethod::kPut ? "PUT" : "GET";
}

Error denied(std::string message) {
  return make_error(ErrorCode::kPermissionDenied, std::move(message));
}

}  // namespace

std::string LocalUrlSigner::signature(HttpMethod method, std::string_view name, std::int64_t expires_unix_s,
                                      std::string_view content_type) const {
  std::string to_sign;
  to_sign.append(method_name(method)).append("\n");
  to_sign.append(name).append("\n");
  to_sign.append(std::to_string(expires_unix_s)).append("\n");
  to_sign.append(content_type);
  return hex_encode(hmac_sha256(secret_, to_sign));
}

std::string LocalUrlSigner::signed_path(HttpMethod method, std::string_view name, std::int64_t expires_unix_s,
                                        std::string_view content_type) const {
  return "/files/" + percent_encode_object_name(name) + "?expires=" + std::to_string(expires_unix_s) +
         "&signature=" + signature(method, name, expires_unix_s, content_type);
}

Status LocalUrlSigner::verify(HttpMethod method, std::string_view name, std::string_view expires,
                              std::string_view signature_hex, std::string_view content_type,
                              std::chrono::system_clock::time_point now) const {
  std::int64_t expires_unix_s = 0;
  const auto [end, ec] = std::from_chars(expires.data(), expires.data() + expires.size(), expires_unix_s);
  if (expires.empty() || ec != std::errc{} || end != expires.data() + expires.size()) {
    return denied("signed URL has no valid expiry");
  }
  const std::string expected = signature(method, name, expires_unix_s, content_type);
  // Same length first (the length of a hex SHA-256 is public), then a constant-time comparison.
  if (signature_hex.size() != expected.size() ||
      CRYPTO_memcmp(signature_hex.data(), expected.data(), expected.size()) != 0) {
    return denied("signed URL signature does not match");
  }
  const auto now_unix_s = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  if (now_unix_s > expires_unix_s) return denied("signed URL has expired");
  return {};
}

Expected<std::string> load_or_create_signing_secret(const std::filesystem::path& key_file) {
  std::error_code ec;
  if (std::filesystem::exists(key_file, ec)) {
    std::ifstream in(key_file, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    std::string secret = text.str();
    while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
    if (!in.good() && !in.eof()) return make_error(ErrorCode::kIoError, "cannot read " + key_file.string());
    if (secret.size() < kMinSigningSecretBytes) {
      return make_error(ErrorCode::kInvalidArgument, "signing key file " + key_file.string() +
                                                         " holds fewer than 32 bytes; delete it to regenerate");
    }
    return secret;
  }
  std::array<unsigned char, 32> random{};
  if (RAND_bytes(random.data(), static_cast<int>(random.size())) != 1) {
    return make_error(ErrorCode::kInternal, "no randomness available for the signing key");
  }
  const std::string secret = hex_encode({reinterpret_cast<const char*>(random.data()), random.size()});
  std::filesystem::create_directories(key_file.parent_path(), ec);
  // O_EXCL: two processes starting at once on the same data directory must not overwrite each other's key.
  const int fd = ::open(key_file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, S_IRUSR | S_IWUSR);
  if (fd < 0) {
    if (errno == EEXIST) return load_or_create_signing_secret(key_file);
    return make_error(ErrorCode::kIoError, "cannot create " + key_file.string() + ": " + std::strerror(errno));
  }
  const std::string line = secret + "\n";
  const bool written = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (!written || !synced) {
    std::filesystem::remove(key_file, ec);
    return make_error(ErrorCode::kIoError, "cannot write " + key_file.string());
  }
  return secret;
}

std::string percent_encode_object_name(std::string_view name) {
  return percent_encode(name, /*keep_slash=*/true);
}

}  // namespace spectrum::storage
