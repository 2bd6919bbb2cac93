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
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

namespace spectrum::storage {
namespace {

std::string to_hex(const unsigned char* data, std::size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(size * 2, '0');
  for (std::size_t i = 0; i < size; ++i) {
    out[2 * i] = kDigits[data[i] >> 4];
    out[2 * i + 1] = kDigits[data[i] & 0x0F];
  }
  return out;
}

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
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int mac_size = 0;
  HMAC(EVP_sha256(), secret_.data(), static_cast<int>(secret_.size()),
       reinterpret_cast<const unsigned char*>(to_sign.data()), to_sign.size(), mac.data(), &mac_size);
  return to_hex(mac.data(), mac_size);
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
  const std::string secret = to_hex(random.data(), random.size());
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
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(name.size());
  for (const char ch : name) {
    const auto c = static_cast<unsigned char>(ch);
    const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                            c == '.' || c == '_' || c == '~' || c == '/';
    if (unreserved) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kDigits[c >> 4]);
      out.push_back(kDigits[c & 0x0F]);
    }
  }
  return out;
}

}  // namespace spectrum::storage
