// Our own HTTP request and response: what the handlers see. Only the edge (http_edge.cpp) knows the HTTP
// library; handlers are plain functions from an HttpRequest to an HttpResponse and are tested without a socket.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace spectrum::server {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method;                        // "GET", "POST", ...
  std::string path;                          // percent-decoded, without the query
  std::map<std::string, std::string> query;  // percent-decoded; a repeated key keeps its first value
  HeaderList headers;                        // names as sent; look them up with header()
  std::string body;                          // the whole body, for routes that buffer it
  std::string remote_addr;
  std::string local_addr;
  int local_port = 0;

  // The value of the first header of this name (case-insensitive), or "" when there is none.
  [[nodiscard]] std::string header(std::string_view name) const;
  [[nodiscard]] bool has_header(std::string_view name) const;
  [[nodiscard]] std::string query_value(std::string_view name) const;
  // Whether the request says how long its body is (Content-Length or chunked); without either it has none.
  [[nodiscard]] bool has_body_framing() const;
  // Content-Length when present and a plain decimal number.
  [[nodiscard]] std::optional<std::uint64_t> content_length() const;
};

// Where a streamed response's body goes, piece by piece (see HttpResponse::stream). Thread-safe.
class StreamWriter {
 public:
  virtual ~StreamWriter() = default;
  // Sends `bytes` as soon as the connection can; false once the client is gone (the rest can be skipped).
  virtual bool write(std::string_view bytes) = 0;
};

struct HttpResponse {
  int status = 200;
  HeaderList headers;
  std::string body;
  std::filesystem::path file;  // when set, the body is this file's content (streamed) instead of `body`
  bool close = false;          // close the connection after this answer (e.g. when a body is left unread)
  // Set (by a blocking route): the body is produced while it is sent, as for server-sent events. The edge sends
  // the status and headers with chunked encoding, then calls this on the route's worker thread; each write()
  // goes out at once, and returning ends the body. While nothing is written for `heartbeat_interval`, the edge
  // writes `heartbeat`, so idle proxies keep the connection open.
  std::function<void(StreamWriter&)> stream;
  std::string heartbeat;
  std::chrono::milliseconds heartbeat_interval{10'000};

  void set_header(std::string name, std::string value);  // replaces any header of the same name
  [[nodiscard]] std::string header(std::string_view name) const;
  void erase_header(std::string_view name);
};

// Printable ASCII only: text a client sent that may be copied into a response header.
bool is_header_safe(std::string_view text) noexcept;

// {"success": false, "error": message}, the one error shape of the API.
HttpResponse error_response(int status, std::string_view message);
// A JSON body (invalid UTF-8 replaced, never thrown on).
HttpResponse json_response(int status, const nlohmann::json& body);

// A request body that the edge streams to a route as it arrives (uploads). Destroying a sink that was not
// finished discards everything it received: a body cut short stores nothing.
class BodySink {
 public:
  virtual ~BodySink() = default;
  // The next piece of the body. An answer ends the request early (over a limit, a write error); the rest of
  // the body is not read and the connection closes.
  virtual std::optional<HttpResponse> write(std::string_view bytes) = 0;
  // The whole body arrived (the byte count of Content-Length, or the chunked terminator).
  virtual HttpResponse finish() = 0;
};

}  // namespace spectrum::server
