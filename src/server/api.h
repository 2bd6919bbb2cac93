// The API's handlers and the checks around them, as plain functions over our own request and response
// types: no socket, no HTTP library. server.cpp registers each one as a route of the edge.
#pragma once

#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>

#include "server/admission.h"
#include "server/config.h"
#include "server/cors.h"
#include "server/http_message.h"
#include "server/master_job.h"
#include "server/metrics.h"
#include "server/rate_limiter.h"
#include "server/storage_factory.h"

namespace spectrum::server {

class Api {
 public:
  Api(ServerConfig config, StorageBackend backend);

  // Checks before routing, in order: CORS preflight (204), shutting down (503 on /api/), the rate limit
  // (429; downloads of results have their own, looser one), the token (401). nullopt: go on.
  std::optional<HttpResponse> screen(const HttpRequest& request);
  // Headers every answer carries (CORS, nosniff), then the access log line and the request metrics.
  void finish(const HttpRequest& request, HttpResponse& response, std::chrono::duration<double> latency);

  HttpResponse health(const HttpRequest& request) const;
  HttpResponse metrics(const HttpRequest& request) const;
  // Blocks for the whole job. With "Accept: text/event-stream" the job's stages stream as server-sent events
  // instead, ending with a `result` event that carries the plain answer's body (docs/api.md).
  HttpResponse master_audio(const HttpRequest& request);
  // POST /api/master-album: 2 to 30 stored tracks mastered as one album (docs/api.md). Blocks for the whole job.
  HttpResponse master_album(const HttpRequest& request);
  HttpResponse upload_url(const HttpRequest& request) const;
  static HttpResponse web_asset(const HttpRequest& request);
  // The platform presets (mastering/presets.h), so the page and other clients never hard-code them.
  static HttpResponse presets(const HttpRequest& request);

  // Shutdown: refuse new jobs; after the grace period, ask running ones to stop.
  JobAdmission& admission() { return admission_; }
  void cancel_running_jobs() { cancel_jobs_ = true; }

  [[nodiscard]] const ServerConfig& config() const { return config_; }
  [[nodiscard]] const StorageBackend& backend() const { return backend_; }

 private:
  using Clock = std::chrono::steady_clock;
  static bool wants_event_stream(const HttpRequest& request);
  // A job slot (the caller then holds it and must release it), or the 503 that says why not. Blocks while queued.
  std::optional<HttpResponse> admit();
  [[nodiscard]] MasterJobOptions job_options(JobEventCallback on_event) const;
  // Runs an admitted job and builds the plain answer: 200 with the result, or the job's error.
  HttpResponse run_job(const HttpRequest& request, const MasterJobRequest& job, Clock::time_point started,
                       JobEventCallback on_event);

  // A URL from the storage backend, completed from the request when it is root-relative (local storage).
  std::string absolute_url(const HttpRequest& request, const std::string& url) const;
  void remember_job_time(double seconds);
  int retry_after_capacity_s();

  const ServerConfig config_;
  StorageBackend backend_;
  CorsPolicy cors_;
  RateLimiter api_limiter_;
  RateLimiter download_limiter_;
  JobAdmission admission_;
  Metrics metrics_;
  std::atomic<bool> cancel_jobs_{false};
  std::mutex job_time_mutex_;
  double mean_job_s_ = 0.0;  // moving average, for Retry-After hints
};

}  // namespace spectrum::server
