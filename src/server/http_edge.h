// The HTTP edge: the only code that knows the HTTP library (Boost.Beast over Asio). One event-loop thread
// owns every connection, so a slow or idle client costs a socket and a timer, never a thread; handlers that
// wait run on a bounded worker pool. Everything a client controls is bounded: header bytes and fields, the
// request target, the time to send the headers, idle keep-alive time, body stalls, open connections in
// total and per address, and body sizes by route.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "common/status.h"
#include "server/http_message.h"

namespace spectrum::server {

struct EdgeLimits {
  std::size_t max_header_bytes = std::size_t{64} * 1024;  // request line and header fields together; beyond: 431
  std::size_t max_header_fields = 100;                    // beyond: 431
  std::size_t max_target_bytes = std::size_t{8} * 1024;   // beyond: 414
  std::chrono::milliseconds header_timeout{10'000};       // to receive a request's whole header block
  std::chrono::milliseconds idle_timeout{5'000};          // an idle keep-alive connection is closed after this
  std::chrono::milliseconds body_timeout{30'000};         // a body that makes no progress this long: 408
  std::chrono::milliseconds write_timeout{30'000};        // a client that reads nothing this long is dropped
  int max_connections = 1000;                             // beyond either, a new connection is closed at once
  int max_connections_per_address = 256;
  int max_requests_per_connection = 100;
  int worker_threads = 8;  // for blocking routes
  int worker_queue = 32;   // blocking requests that may wait for a worker; beyond: 503
};

// What a streamed route answers to a request's headers: an answer now, or a sink for the body.
using BodyOpening = std::variant<HttpResponse, std::unique_ptr<BodySink>>;

struct Route {
  std::string method;
  std::string path;  // the exact path, or a prefix when `prefix` is set
  bool prefix = false;
  bool blocking = false;                                   // waits on storage or the engine: runs on a worker thread
  std::uint64_t max_body_bytes = 0;                        // buffered routes: a longer body gets 413 before it is read
  std::function<HttpResponse(const HttpRequest&)> handle;  // buffered: the body is in request.body
  std::function<BodyOpening(const HttpRequest&)> open_body;  // set: the body streams to a sink
};

struct EdgeHooks {
  // After the headers, before routing and before any body byte is read; an answer ends the request.
  std::function<std::optional<HttpResponse>(const HttpRequest&)> screen;
  // Every answer passes here just before it is sent: common headers, access log, metrics.
  std::function<void(const HttpRequest&, HttpResponse&, std::chrono::duration<double> latency)> finish;
};

class HttpEdge {
 public:
  HttpEdge(EdgeLimits limits, std::vector<Route> routes, EdgeHooks hooks);
  ~HttpEdge();
  HttpEdge(const HttpEdge&) = delete;
  HttpEdge& operator=(const HttpEdge&) = delete;

  // Binds host:port (0 picks a free port) and returns the port actually bound.
  Expected<int> bind(const std::string& host, int port);
  // Serves on the calling thread until stop(), or until stop_accepting() and the last connection closes.
  void run();
  // Closes the listener and every connection that has no request in flight; requests in flight are
  // answered, then their connections close. Thread-safe.
  void stop_accepting();
  // Closes everything now. Thread-safe.
  void stop();

  [[nodiscard]] int open_connections() const;
  [[nodiscard]] int effective_max_connections() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace spectrum::server
