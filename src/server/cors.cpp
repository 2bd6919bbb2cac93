#include "server/cors.h"

#include <algorithm>

namespace spectrum::server {
namespace {

bool is_loopback_origin(std::string_view origin) {
  for (const std::string_view scheme : {"http://", "https://"}) {
    if (origin.substr(0, scheme.size()) != scheme) continue;
    std::string_view host_port = origin.substr(scheme.size());
    for (const std::string_view host : {"localhost", "127.0.0.1", "[::1]"}) {
      if (host_port.substr(0, host.size()) != host) continue;
      const std::string_view rest = host_port.substr(host.size());
      if (rest.empty()) return true;
      if (rest.front() != ':' || rest.size() < 2 || rest.size() > 6) continue;
      if (std::all_of(rest.begin() + 1, rest.end(), [](char c) { return c >= '0' && c <= '9'; })) return true;
    }
  }
  return false;
}

}  // namespace

bool CorsPolicy::allows(std::string_view origin) const {
  if (origin.empty()) return false;
  if (!allowed_) return is_loopback_origin(origin);
  return std::any_of(allowed_->begin(), allowed_->end(),
                     [&](const std::string& allowed) { return allowed == "*" || allowed == origin; });
}

}  // namespace spectrum::server
