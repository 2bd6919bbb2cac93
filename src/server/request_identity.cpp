#include "server/request_identity.h"

#include <vector>

#include <openssl/crypto.h>
#include <openssl/sha.h>

namespace spectrum::server {
namespace {

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

}  // namespace

std::optional<std::string_view> bearer_token(std::string_view authorization) noexcept {
  authorization = trim(authorization);
  constexpr std::string_view kScheme = "bearer ";
  if (authorization.size() <= kScheme.size()) return std::nullopt;
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    const char c = authorization[i];
    const char lower = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    if (lower != kScheme[i]) return std::nullopt;
  }
  const std::string_view token = trim(authorization.substr(kScheme.size()));
  if (token.empty()) return std::nullopt;
  return token;
}

bool token_matches(std::string_view presented, std::string_view expected) noexcept {
  unsigned char a[SHA256_DIGEST_LENGTH];
  unsigned char b[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(presented.data()), presented.size(), a);
  SHA256(reinterpret_cast<const unsigned char*>(expected.data()), expected.size(), b);
  return CRYPTO_memcmp(a, b, SHA256_DIGEST_LENGTH) == 0;
}

std::string client_address(std::string_view remote_addr, std::string_view x_forwarded_for, int trusted_hops) {
  if (trusted_hops <= 0 || x_forwarded_for.empty()) return std::string(remote_addr);
  std::vector<std::string_view> entries;
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = x_forwarded_for.find(',', start);
    entries.push_back(
        trim(x_forwarded_for.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start)));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  if (entries.size() < static_cast<std::size_t>(trusted_hops)) return std::string(remote_addr);
  const std::string_view client = entries[entries.size() - static_cast<std::size_t>(trusted_hops)];
  if (client.empty() || client.size() > 64) return std::string(remote_addr);
  return std::string(client);
}

}  // namespace spectrum::server
