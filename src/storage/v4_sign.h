// V4 signed URLs for Google Cloud Storage (GOOG4-RSA-SHA256), built the way GCS verifies them:
// canonical request -> string to sign -> RSA-SHA256 signature, hex-encoded into the query string.
// Checked byte for byte against Google's conformance vectors (tests/storage/gcs_v4_conformance_test.cpp).
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "storage/credentials_crypto.h"
#include "storage/percent_encoding.h"  // percent_encode: callers build object paths and query values with it

namespace spectrum::storage {

inline constexpr std::chrono::seconds kMaxV4Expiry{7 * 24 * 3600};  // GCS refuses longer V4 signatures
inline constexpr std::string_view kDefaultStorageHost = "storage.googleapis.com";

enum class UrlStyle {
  kPathStyle,            // https://host/bucket/object
  kVirtualHosted,        // https://bucket.host/object
  kBucketBoundHostname,  // https://host/object, where host is a CNAME bound to the bucket
};

struct V4SignRequest {
  std::string method = "GET";
  std::string bucket;
  std::string object;  // empty signs the bucket itself (e.g. a list)
  std::chrono::system_clock::time_point timestamp;
  std::chrono::seconds expires{3600};
  std::string scheme = "https";
  std::string authority = std::string(kDefaultStorageHost);  // host[:port]; the port never enters the host header
  UrlStyle url_style = UrlStyle::kPathStyle;
  std::vector<std::pair<std::string, std::string>> headers;           // signed; the holder must send them
  std::vector<std::pair<std::string, std::string>> query_parameters;  // signed extra query parameters
};

struct V4SignedUrl {
  std::string url;
  std::string canonical_request;  // kept for tests and debugging; contains no secret
  std::string string_to_sign;
};

// kInvalidArgument for an empty bucket or method, or an expiry outside 1 s .. 7 days.
Expected<V4SignedUrl> sign_v4_url(const V4SignRequest& request, BlobSigner& signer);

// "host:port", "http://host:port" or "https://host" -> scheme and authority. A bare authority takes
// `default_scheme`, as STORAGE_EMULATOR_HOST without a scheme means plain http in the official clients.
struct Endpoint {
  std::string scheme;
  std::string authority;
};
Endpoint parse_endpoint(std::string_view url_or_authority, std::string_view default_scheme);

// "2019-02-01T09:00:00Z" (also with fractional seconds, or "20190201T090000Z"). Only UTC is accepted.
Expected<std::chrono::system_clock::time_point> parse_iso8601_utc(std::string_view text);
// "20190201T090000Z"
std::string format_goog_date_time(std::chrono::system_clock::time_point time);

}  // namespace spectrum::storage
