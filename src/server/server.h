// The HTTP service: the API's handlers (api.h) and the signed local files (signed_files.h) registered as routes
// of the edge (http_edge.h), and the life of the process around them: bind, signals, a drain that fits the
// grace period.
#pragma once

#include <chrono>
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
  // Serves on the calling thread until shut_down() has finished.
  void serve();
  // Stops accepting, refuses new and queued jobs (503), lets running jobs go on until shortly before
  // `deadline`, cancels the rest (503), and closes every connection by `deadline`.
  void shut_down(std::chrono::steady_clock::time_point deadline);

  [[nodiscard]] int jobs_running();
  [[nodiscard]] int max_connections() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// The whole life of `spectrum-master serve`: storage, bind, port file, signals, serve, graceful shutdown.
// Returns the process exit code (0 after a clean SIGTERM/SIGINT shutdown).
int run_server(const ServerConfig& config);

}  // namespace spectrum::server
