#include "server/http_message.h"

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>

#include "common/text.h"

namespace spectrum::server {

std::string HttpRequest::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (iequals(key, name)) return value;
  }
  return "";
}

bool HttpRequest::has_header(std::string_view name) const {
  return std::any_of(headers.begin(), headers.end(), [&](const auto& h) { return iequals(h.first, name); });
}

std::string HttpRequest::query_value(std::string_view name) const {
  const auto it = query.find(std::string(name));
  return it == query.end() ? "" : it->second;
}

bool HttpRequest::has_body_framing() const {
  return has_header("Content-Length") || ascii_lower(header("Transfer-Encoding")).find("chunked") != std::string::npos;
}

std::optional<std::uint64_t> HttpRequest::content_length() const {
  const std::string text = header("Content-Length");
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

void HttpResponse::set_header(std::string name, std::string value) {
  erase_header(name);
  headers.emplace_back(std::move(name), std::move(value));
}

std::string HttpResponse::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (iequals(key, name)) return value;
  }
  return "";
}

void HttpResponse::erase_header(std::string_view name) {
  std::erase_if(headers, [&](const auto& h) { return iequals(h.first, name); });
}

bool is_header_safe(std::string_view text) noexcept {
  return std::all_of(text.begin(), text.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u >= 0x20 && u < 0x7F;
  });
}

HttpResponse json_response(int status, const nlohmann::json& body) {
  HttpResponse response;
  response.status = status;
  response.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  response.set_header("Content-Type", "application/json");
  return response;
}

HttpResponse error_response(int status, std::string_view message) {
  return json_response(status, nlohmann::json{{"success", false}, {"error", message}});
}

}  // namespace spectrum::server
