// Which browser origins may call the API. Unset means local development: loopback origins only.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace spectrum::server {

class CorsPolicy {
 public:
  // nullopt: local development (http(s)://localhost, 127.0.0.1 or [::1], any port). A list: exactly those
  // origins; "*" in the list allows any origin (public APIs only).
  explicit CorsPolicy(std::optional<std::vector<std::string>> allowed_origins) : allowed_(std::move(allowed_origins)) {}

  [[nodiscard]] bool allows(std::string_view origin) const;

  static constexpr std::string_view kAllowedMethods = "GET, POST, PUT, OPTIONS";
  static constexpr std::string_view kAllowedHeaders = "Content-Type, Authorization";
  static constexpr std::string_view kMaxAgeSeconds = "600";

 private:
  std::optional<std::vector<std::string>> allowed_;
};

}  // namespace spectrum::server
