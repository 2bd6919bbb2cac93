// The one place libcurl is used: a small blocking HTTP client for the GCS JSON API, the token endpoints
// and IAM. Transport failures and HTTP statuses become ErrorCodes here, once
// (404 -> kNotFound, 401/403 -> kPermissionDenied, 408/504/timeouts -> kTimeout,
// 429/5xx/connection errors -> kUnavailable). Messages name the method, host and path, never the query
// string (signed URLs) or headers (tokens).
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace spectrum::storage {

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  std::string body;                  // sent unless body_file is set
  // Streams the body from a file region instead (uploads never load the file into memory).
  std::optional<std::filesystem::path> body_file;
  std::uint64_t body_offset = 0;
  std::uint64_t body_length = 0;
  // When set, a 2xx response body streams into this file instead of `HttpResponse::body`.
  std::FILE* response_sink = nullptr;
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds timeout{0};    // whole request; 0 = none (large transfers), the stall guard still applies
  std::chrono::seconds stall_timeout{30};  // abort when no byte moves for this long
};

struct HttpResponse {
  long status = 0;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // names in lower case

  [[nodiscard]] std::string header(std::string_view lower_case_name) const;
  [[nodiscard]] bool ok() const noexcept { return status >= 200 && status < 300; }
};

// A transport failure (no HTTP answer) is an Error; any HTTP answer, even 500, is a response.
// Thread-safe: each thread reuses its own curl handle (and so its connections).
Expected<HttpResponse> http_send(const HttpRequest& request);

// The ErrorCode for a non-2xx status; `what` says what was attempted (e.g. "GET bucket/object").
Error http_status_error(long status, std::string_view what, std::string_view body = {});
ErrorCode error_code_for_http_status(long status) noexcept;

// "https://host/path?query" -> "host/path": safe to log.
std::string redact_url(std::string_view url);

}  // namespace spectrum::storage
