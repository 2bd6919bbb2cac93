// The HTTP service: cpp-httplib wrapped once, here. Checks that apply before routing (CORS, draining,
// rate limit, authentication, body size) run in one pre-routing step; handlers are thin and never throw,
// and an exception handler is the last safety net, answering a JSON 500 with no internal detail.
#pragma once

#include <atomic>
#include <memory>

#include "common/status.h"
#include "server/config.h"
#include "server/storage_factory.h"

namespace spectrum::server {

class HttpService {
 public:
  HttpService(ServerConfig config, StorageBackend backend);
  ~HttpService();
  HttpService(const HttpService&) = delete;
  HttpService& operator=(const HttpService&) = delete;

  // Binds config.host:config.port (0 picks a free port) and returns the port actually bound.
  Expected<int> bind();
  // Serves until shutdown; returns once every accepted request has been answered.
  bool listen();

  // Stops accepting work: queued jobs fail with 503, new connections are refused, running jobs go on.
  void begin_shutdown();
  // Waits up to the grace period for running jobs, then cancels the rest. Returns true if all finished in time.
  bool finish_running_jobs();

  [[nodiscard]] int jobs_running() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// The whole life of `spectrum-master serve`: storage, bind, port file, signals, serve, graceful shutdown.
// Returns the process exit code (0 after a clean SIGTERM/SIGINT shutdown).
int run_server(const ServerConfig& config);

}  // namespace spectrum::server
