// Who is calling: the bearer token check and the client address used for rate limiting.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace spectrum::server {

// The token of an "Authorization: Bearer <token>" header; nullopt for any other form.
std::optional<std::string_view> bearer_token(std::string_view authorization) noexcept;

// Compares SHA-256 digests in constant time, so neither the content nor the length of the expected
// token leaks through response timing.
bool token_matches(std::string_view presented, std::string_view expected) noexcept;

// The client address for rate limiting. With `trusted_hops` proxies in front (each appending the
// address it saw to X-Forwarded-For), the client is the trusted_hops-th entry from the right: entries
// further left were written by the client and may be forged. Too few entries means the request did not
// come through the proxies, so the socket address is used. trusted_hops == 0 ignores the header.
std::string client_address(std::string_view remote_addr, std::string_view x_forwarded_for, int trusted_hops);

}  // namespace spectrum::server
