#include "storage/v4_sign.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <map>

#include "common/text.h"
#include "common/utc_time.h"

namespace spectrum::storage {
namespace {

// Canonical header values: trimmed, with each run of spaces or tabs folded into one space.
std::string canonical_header_value(std::string_view value) {
  std::string out;
  bool in_space = false;
  for (const char c : value) {
    if (c == ' ' || c == '\t') {
      in_space = true;
      continue;
    }
    if (in_space && !out.empty()) out.push_back(' ');
    in_space = false;
    out.push_back(c);
  }
  return out;
}

std::string strip_port(std::string_view authority) {
  if (!authority.empty() && authority.front() == '[') {  // IPv6 literal
    const auto close = authority.find(']');
    return std::string(authority.substr(0, close == std::string_view::npos ? authority.size() : close + 1));
  }
  return std::string(authority.substr(0, authority.find(':')));
}

std::string date_of(std::string_view goog_date_time) {
  return std::string(goog_date_time.substr(0, 8));
}

}  // namespace

Endpoint parse_endpoint(std::string_view url_or_authority, std::string_view default_scheme) {
  Endpoint endpoint{std::string(default_scheme), ""};
  std::string_view rest = url_or_authority;
  if (const auto sep = rest.find("://"); sep != std::string_view::npos) {
    endpoint.scheme = ascii_lower(rest.substr(0, sep));
    rest.remove_prefix(sep + 3);
  }
  rest = rest.substr(0, rest.find('/'));
  endpoint.authority = std::string(rest);
  return endpoint;
}

Expected<std::chrono::system_clock::time_point> parse_iso8601_utc(std::string_view text) {
  const std::string s(text);
  int year = 0;
  int month = 0;
  int day = 0;
  int hour = 0;
  int minute = 0;
  int second = 0;
  int consumed = 0;
  bool parsed =
      std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &year, &month, &day, &hour, &minute, &second, &consumed) == 6;
  if (!parsed) {
    parsed =
        std::sscanf(s.c_str(), "%4d%2d%2dT%2d%2d%2d%n", &year, &month, &day, &hour, &minute, &second, &consumed) == 6;
  }
  std::string_view tail = text.substr(parsed ? static_cast<std::size_t>(consumed) : text.size());
  if (!tail.empty() && tail.front() == '.') {  // fractional seconds: ignored, signatures are per second
    tail.remove_prefix(1);
    while (!tail.empty() && std::isdigit(static_cast<unsigned char>(tail.front())) != 0) tail.remove_prefix(1);
  }
  const std::chrono::year_month_day date{std::chrono::year{year}, std::chrono::month{static_cast<unsigned>(month)},
                                         std::chrono::day{static_cast<unsigned>(day)}};
  if (!parsed || (tail != "Z" && tail != "+00:00") || !date.ok() || hour > 23 || minute > 59 || second > 60 ||
      hour < 0 || minute < 0 || second < 0) {
    return make_error(ErrorCode::kInvalidArgument,
                      "timestamp \"" + s + "\" is not ISO 8601 UTC (e.g. 2019-02-01T09:00:00Z)");
  }
  return std::chrono::system_clock::time_point{std::chrono::sys_days{date} + std::chrono::hours{hour} +
                                               std::chrono::minutes{minute} + std::chrono::seconds{second}};
}

std::string format_goog_date_time(std::chrono::system_clock::time_point time) {
  return iso8601_basic_utc(time);
}

Expected<V4SignedUrl> sign_v4_url(const V4SignRequest& request, BlobSigner& signer) {
  if (request.bucket.empty()) return make_error(ErrorCode::kInvalidArgument, "signing needs a bucket");
  if (request.method.empty()) return make_error(ErrorCode::kInvalidArgument, "signing needs an HTTP method");
  if (request.expires < std::chrono::seconds{1} || request.expires > kMaxV4Expiry) {
    return make_error(ErrorCode::kInvalidArgument,
                      "signed URL duration must be between 1 s and 604800 s (7 days), got " +
                          std::to_string(request.expires.count()) + " s");
  }

  // Where the request goes: the URL's authority and the resource path the signature covers.
  std::string authority = request.authority;
  // (Built with append: GCC 12 reports a false -Wrestrict on `"/" + std::string` here.)
  std::string path(1, '/');
  const std::string encoded_object = percent_encode(request.object, /*keep_slash=*/true);
  switch (request.url_style) {
    case UrlStyle::kPathStyle:
      path.append(percent_encode(request.bucket, false));
      if (!request.object.empty()) path.append(1, '/').append(encoded_object);
      break;
    case UrlStyle::kVirtualHosted:
      authority = request.bucket + "." + request.authority;
      path.append(encoded_object);
      break;
    case UrlStyle::kBucketBoundHostname:
      path.append(encoded_object);
      break;
  }

  // Signed headers: lower-case names, sorted; host is always signed.
  std::map<std::string, std::string> headers;
  for (const auto& [name, value] : request.headers) {
    std::string key = ascii_lower(name);
    if (key == "host") continue;
    std::string canonical = canonical_header_value(value);
    auto [it, inserted] = headers.emplace(std::move(key), canonical);
    if (!inserted) it->second += "," + canonical;
  }
  headers["host"] = strip_port(authority);
  std::string signed_headers;
  std::string canonical_headers;
  for (const auto& [name, value] : headers) {
    if (!signed_headers.empty()) signed_headers.push_back(';');
    signed_headers += name;
    canonical_headers.append(name).append(":").append(value).append("\n");
  }
  const auto content_sha = headers.find("x-goog-content-sha256");
  const std::string payload = content_sha != headers.end() ? content_sha->second : "UNSIGNED-PAYLOAD";

  const std::string date_time = format_goog_date_time(request.timestamp);
  const std::string scope = date_of(date_time) + "/auto/storage/goog4_request";

  // Query parameters sorted by their encoded names, as the canonical query string requires.
  std::vector<std::pair<std::string, std::string>> query{
      {"X-Goog-Algorithm", "GOOG4-RSA-SHA256"},
      {"X-Goog-Credential", percent_encode(signer.client_email() + "/" + scope, false)},
      {"X-Goog-Date", date_time},
      {"X-Goog-Expires", std::to_string(request.expires.count())},
      {"X-Goog-SignedHeaders", percent_encode(signed_headers, false)},
  };
  for (const auto& [name, value] : request.query_parameters) {
    query.emplace_back(percent_encode(name, false), percent_encode(value, false));
  }
  std::sort(query.begin(), query.end());
  std::string canonical_query;
  for (const auto& [name, value] : query) {
    if (!canonical_query.empty()) canonical_query.push_back('&');
    canonical_query.append(name).append("=").append(value);
  }

  V4SignedUrl out;
  out.canonical_request = request.method + "\n" + path + "\n" + canonical_query + "\n" + canonical_headers + "\n" +
                          signed_headers + "\n" + payload;
  out.string_to_sign = "GOOG4-RSA-SHA256\n" + date_time + "\n" + scope + "\n" + sha256_hex(out.canonical_request);
  auto signature = signer.sign(out.string_to_sign);
  if (!signature) return std::move(signature).error();
  out.url =
      request.scheme + "://" + authority + path + "?" + canonical_query + "&X-Goog-Signature=" + hex_encode(*signature);
  return out;
}

}  // namespace spectrum::storage
