#include "server/server.h"

#include <signal.h>  // NOLINT(modernize-deprecated-headers): POSIX sigset_t, sigtimedwait, pthread_sigmask

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <functional>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "common/utc_time.h"
#include "mastering/settings.h"
#include "server/admission.h"
#include "server/api_error.h"
#include "server/cors.h"
#include "server/json_log.h"
#include "server/master_job.h"
#include "server/metrics.h"
#include "server/rate_limiter.h"
#include "server/request_identity.h"
#include "server/task_queue.h"
#include "server/uuid.h"
#include "storage/content_type.h"
#include "web_assets.h"

namespace spectrum::server {
namespace {

// How loud a response's log line is: ERROR is for faults. A 503 (at capacity, shutting down) is the service
// working as designed, so it is a WARNING; other statuses under 500 keep the caller's level.
Severity status_severity(int status, Severity below_500) {
  if (status == 503) return Severity::kWarning;
  return status >= 500 ? Severity::kError : below_500;
}

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr const char* kServiceName = "spectrum-mastering-backend";
constexpr const char* kVersion = "0.1.0";
constexpr int kShutdownRetryAfterS = 10;

thread_local Clock::time_point t_request_start{};

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

void send_json(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

void send_error(httplib::Response& res, int status, const std::string& message) {
  send_json(res, status, json{{"success", false}, {"error", message}});
}

// Reads a request body into memory, refusing more than `max_bytes`.
enum class BodyRead { kOk, kTooLarge, kFailed };
BodyRead read_body(const httplib::ContentReader& reader, std::uint64_t max_bytes, std::string& body) {
  bool too_large = false;
  const bool ok = reader([&](const char* data, std::size_t size) {
    if (body.size() + size > max_bytes) {
      too_large = true;
      return false;
    }
    body.append(data, size);
    return true;
  });
  if (too_large) return BodyRead::kTooLarge;
  return ok ? BodyRead::kOk : BodyRead::kFailed;
}

// A Host header we are willing to copy into URLs: host name or address characters and a port only.
bool is_plain_host(std::string_view host) {
  if (host.empty() || host.size() > 255) return false;
  return std::all_of(host.begin(), host.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
           c == ':' || c == '[' || c == ']';
  });
}

bool is_header_safe(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u >= 0x20 && u < 0x7F;
  });
}

}  // namespace

class HttpService::Impl {
 public:
  Impl(ServerConfig config, StorageBackend backend)
      : config_(std::move(config)),
        backend_(std::move(backend)),
        cors_(config_.allowed_origins),
        limiter_(config_.rate_limit_per_minute, config_.rate_limit_burst),
        admission_(config_.max_jobs, config_.max_queue) {
    const auto threads = static_cast<std::size_t>(config_.http_threads);
    server_.new_task_queue = [threads] { return new BoundedTaskQueue(threads, threads * 4); };
    server_.set_tcp_nodelay(true);  // small JSON answers must not wait for delayed ACKs
    server_.set_keep_alive_max_count(100);
    server_.set_keep_alive_timeout(2);
    server_.set_read_timeout(30);
    server_.set_write_timeout(30);
    server_.set_payload_max_length(static_cast<std::size_t>(std::max(config_.max_input_bytes, config_.max_body_bytes)));
    install();
  }

  httplib::Server server_;
  ServerConfig config_;
  StorageBackend backend_;
  CorsPolicy cors_;
  RateLimiter limiter_;
  JobAdmission admission_;
  Metrics metrics_;
  std::atomic<bool> cancel_jobs_{false};
  std::mutex job_time_mutex_;
  double mean_job_s_ = 0.0;  // moving average, for Retry-After hints

  void install() {
    server_.set_pre_routing_handler(
        [this](const httplib::Request& req, httplib::Response& res) { return before_routing(req, res); });
    server_.set_exception_handler(
        [](const httplib::Request& req, httplib::Response& res, const std::exception_ptr& ep) {
          std::string what = "unknown exception";
          try {
            if (ep) std::rethrow_exception(ep);
          } catch (const std::exception& e) {
            what = e.what();
          } catch (...) {
          }
          log_json(Severity::kError, "unhandled exception in a handler", {{"detail", what}, {"path", req.path}});
          res.headers.erase("Content-Disposition");
          send_error(res, 500, "internal error");
        });
    server_.set_error_handler(httplib::Server::HandlerWithResponse([](const httplib::Request&, httplib::Response& res) {
      if (!res.body.empty() || res.content_length_ > 0) return httplib::Server::HandlerResponse::Unhandled;
      send_error(res, res.status, default_message(res.status));
      return httplib::Server::HandlerResponse::Handled;
    }));
    server_.set_logger([this](const httplib::Request& req, const httplib::Response& res) { log_access(req, res); });

    server_.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
      send_json(res, 200,
                {{"status", "healthy"}, {"service", kServiceName}, {"version", kVersion}, {"storage", backend_.name}});
    });
    server_.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      const Metrics::Gauges gauges{admission_.running(), admission_.waiting(), config_.max_jobs, config_.max_queue};
      res.set_content(metrics_.render(gauges), "text/plain; version=0.0.4");
    });

    post_json("/api/master-audio", &Impl::master_audio);
    post_json("/api/upload-url", &Impl::upload_url);

    if (backend_.local != nullptr) {
      server_.Get("/files/(.+)", [this](const httplib::Request& req, httplib::Response& res) { get_file(req, res); });
      server_.Put("/files/(.+)", httplib::Server::HandlerWithContentReader(
                                     [this](const httplib::Request& req, httplib::Response& res,
                                            const httplib::ContentReader& reader) { put_file(req, res, &reader); }));
      server_.Put("/files/(.+)", httplib::Server::Handler([this](const httplib::Request& req, httplib::Response& res) {
                    put_file(req, res, nullptr);
                  }));
    }
    server_.Get(".*", [](const httplib::Request& req, httplib::Response& res) {
      const auto asset = web::find_web_asset(req.path);
      if (!asset) {
        send_error(res, 404, "not found");
        return;
      }
      res.set_header("Cache-Control", "no-cache");
      res.set_header("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'; base-uri 'self'");
      res.set_content(std::string(asset->body), std::string(asset->content_type));
    });
  }

  // ---- checks before routing -------------------------------------------------------------------------

  httplib::Server::HandlerResponse before_routing(const httplib::Request& req, httplib::Response& res) {
    using HR = httplib::Server::HandlerResponse;
    t_request_start = Clock::now();
    res.set_header("X-Content-Type-Options", "nosniff");
    const std::string origin = req.get_header_value("Origin");
    const bool cors_allowed = cors_.allows(origin);
    if (!origin.empty()) res.set_header("Vary", "Origin");
    if (cors_allowed) {
      res.set_header("Access-Control-Allow-Origin", origin);
      res.set_header("Access-Control-Expose-Headers", "Retry-After");
    }
    if (req.method == "OPTIONS") {
      if (cors_allowed) {
        res.set_header("Access-Control-Allow-Methods", std::string(CorsPolicy::kAllowedMethods));
        res.set_header("Access-Control-Allow-Headers", std::string(CorsPolicy::kAllowedHeaders));
        res.set_header("Access-Control-Max-Age", std::string(CorsPolicy::kMaxAgeSeconds));
      }
      res.status = 204;
      return HR::Handled;
    }

    const bool is_api = req.path.rfind("/api/", 0) == 0;
    const bool is_files = req.path.rfind("/files/", 0) == 0;
    if (!is_api && !is_files) return HR::Unhandled;

    if (is_api && admission_.draining()) {
      metrics_.count_rejection("shutdown");
      return reject(res, 503, "the service is shutting down; try again shortly", kShutdownRetryAfterS);
    }
    bool authenticated = config_.api_token.empty();
    if (!authenticated) {
      const std::string authorization = req.get_header_value("Authorization");  // outlives the view below
      const auto token = bearer_token(authorization);
      authenticated = token && token_matches(*token, config_.api_token);
    }
    // A valid token is the client's identity; anyone else is known by address, so guessing
    // tokens is rate limited too.
    const std::string client = (!config_.api_token.empty() && authenticated && is_api)
                                   ? std::string("token")
                                   : "addr:" + client_address(req.remote_addr, req.get_header_value("X-Forwarded-For"),
                                                              config_.trusted_proxy_hops);
    if (const auto decision = limiter_.take(client, Clock::now()); !decision.allowed) {
      metrics_.count_rejection("rate_limit");
      return reject(res, 429, "rate limit exceeded; retry after " + std::to_string(decision.retry_after_s) + " s",
                    decision.retry_after_s);
    }
    if (is_api && !authenticated) {
      metrics_.count_rejection("auth");
      res.set_header("WWW-Authenticate", "Bearer");
      return reject(res, 401, "missing or invalid API token", 0);
    }
    // HTTP/1.1 says a request with neither Content-Length nor chunked encoding has an empty body, but
    // httplib would wait for the connection to close; answer such requests here instead.
    const bool has_body_framing = req.has_header("Content-Length") ||
                                  req.get_header_value("Transfer-Encoding").find("chunked") != std::string::npos;
    if ((req.method == "POST" || req.method == "PUT") && !has_body_framing) {
      if (req.method == "POST" && req.path == "/api/master-audio") {
        master_audio(req, res, "");
      } else if (req.method == "POST" && req.path == "/api/upload-url") {
        upload_url(req, res, "");
      } else {
        return reject(res, 411, "Content-Length is required", 0);
      }
      return HR::Handled;
    }
    if (is_api && req.has_header("Content-Length")) {
      const auto length = req.get_header_value<std::uint64_t>("Content-Length");
      if (length > config_.max_body_bytes) {
        return reject(res, 413,
                      "request body is " + std::to_string(length) + " bytes; the limit is " +
                          std::to_string(config_.max_body_bytes),
                      0);
      }
    }
    return HR::Unhandled;
  }

  // A POST endpoint whose body is JSON: `handler` is a member taking (request, response, body). Both overloads:
  // httplib hands body-less POSTs to the plain one.
  template <class Handler>
  void post_json(const std::string& pattern, Handler handler) {
    server_.Post(pattern, httplib::Server::HandlerWithContentReader(
                              [this, handler](const httplib::Request& req, httplib::Response& res,
                                              const httplib::ContentReader& reader) {
                                std::string body;
                                if (!read_json_body(reader, res, body)) return;
                                std::invoke(handler, this, req, res, body);
                              }));
    server_.Post(pattern,
                 httplib::Server::Handler([this, handler](const httplib::Request& req, httplib::Response& res) {
                   std::invoke(handler, this, req, res, req.body);
                 }));
  }

  // An early answer; the body (if any) is left unread, so the connection is closed after it.
  static httplib::Server::HandlerResponse reject(httplib::Response& res, int status, const std::string& message,
                                                 int retry_after_s) {
    if (retry_after_s > 0) res.set_header("Retry-After", std::to_string(retry_after_s));
    res.set_header("Connection", "close");
    send_error(res, status, message);
    return httplib::Server::HandlerResponse::Handled;
  }

  bool read_json_body(const httplib::ContentReader& reader, httplib::Response& res, std::string& body) const {
    switch (read_body(reader, config_.max_body_bytes, body)) {
      case BodyRead::kOk:
        return true;
      case BodyRead::kTooLarge:
        res.set_header("Connection", "close");
        send_error(res, 413, "request body is over the limit of " + std::to_string(config_.max_body_bytes) + " bytes");
        return false;
      case BodyRead::kFailed:
        send_error(res, 400, "could not read the request body");
        return false;
    }
    return false;
  }

  // ---- API handlers ----------------------------------------------------------------------------------

  void master_audio(const httplib::Request& req, httplib::Response& res, const std::string& body) {
    const auto started = Clock::now();
    const json request = json::parse(body, nullptr, false);
    if (request.is_discarded() || !request.is_object()) {
      send_error(res, 400, R"(request body must be a JSON object: {"fileName", "settings"})");
      return;
    }
    const auto file_name = request.find("fileName");
    if (file_name == request.end() || file_name->is_null()) {
      send_error(res, 400, "fileName is required");
      return;
    }
    if (!file_name->is_string()) {
      send_error(res, 400, "fileName must be a string");
      return;
    }
    // inputUrl is accepted for compatibility and deliberately never fetched: the service reads only its
    // own storage, which rules out server-side request forgery.
    auto settings = mastering::parse_settings(request.value("settings", json(nullptr)));
    if (!settings) {
      send_error(res, 400, settings.error().message);
      return;
    }
    MasterJobRequest job{make_uuid_v4(), file_name->get<std::string>(), std::move(*settings)};
    if (auto valid = storage::validate_object_name(job.file_name); !valid) {
      send_error(res, 400, "fileName: " + valid.error().message);
      return;
    }

    switch (admission_.acquire()) {
      case JobAdmission::Outcome::kAdmitted:
        break;
      case JobAdmission::Outcome::kOverCapacity:
        metrics_.count_rejection("capacity");
        res.set_header("Retry-After", std::to_string(retry_after_capacity_s()));
        send_error(res, 503, "the service is at capacity; retry later");
        return;
      case JobAdmission::Outcome::kShuttingDown:
        metrics_.count_rejection("shutdown");
        res.set_header("Retry-After", std::to_string(kShutdownRetryAfterS));
        send_error(res, 503, "the service is shutting down; try again shortly");
        return;
    }
    const JobSlot slot(admission_);
    const double queue_s = seconds_since(started);
    log_json(Severity::kInfo, "job started",
             {{"jobId", job.job_id}, {"fileName", job.file_name}, {"queueSeconds", queue_s}});

    const MasterJobOptions options{config_.temp_dir, config_.max_input_bytes, config_.max_duration_s,
                                   std::chrono::seconds(config_.download_url_ttl_s), &cancel_jobs_};
    const auto job_started = Clock::now();
    MasterJobOutcome outcome = run_master_job(*backend_.storage, options, job);
    const double job_s = seconds_since(job_started);
    const double total_s = seconds_since(started);

    if (auto* error = std::get_if<ApiError>(&outcome)) {
      metrics_.observe_job(job_s, "error");
      log_json(status_severity(error->status, Severity::kWarning), "job failed",
               {{"jobId", job.job_id},
                {"fileName", job.file_name},
                {"status", error->status},
                {"error", error->message},
                {"detail", error->detail},
                {"totalSeconds", total_s}});
      if (error->status == 503) res.set_header("Retry-After", std::to_string(kShutdownRetryAfterS));
      send_json(res, error->status, {{"success", false}, {"error", error->message}, {"jobId", job.job_id}});
      return;
    }
    auto& result = std::get<MasterJobResult>(outcome);
    metrics_.observe_job(job_s, "success");
    remember_job_time(job_s);
    log_json(Severity::kInfo, "job finished",
             {{"jobId", job.job_id},
              {"fileName", job.file_name},
              {"masteredName", result.mastered_name},
              {"timings",
               {{"queueSeconds", queue_s},
                {"downloadSeconds", result.timings.download_s},
                {"masterSeconds", result.timings.master_s},
                {"uploadSeconds", result.timings.upload_s},
                {"totalSeconds", total_s}}}});
    send_json(res, 200,
              {{"success", true},
               {"masteredUrl", absolute_url(req, result.mastered_url.url)},
               {"masteredFileName", result.mastered_name},
               {"expiresAt", iso8601_utc(result.mastered_url.expires_at)},
               {"jobId", job.job_id},
               {"processingTime", total_s},
               {"report", std::move(result.report)}});
  }

  void upload_url(const httplib::Request& req, httplib::Response& res, const std::string& body) const {
    json request = json::object();
    if (!body.empty()) {
      request = json::parse(body, nullptr, false);
      if (request.is_discarded() || !request.is_object()) {
        send_error(res, 400, R"(request body must be a JSON object: {"fileName"?, "contentType"?})");
        return;
      }
    }
    std::string content_type;
    if (auto it = request.find("contentType"); it != request.end() && !it->is_null()) {
      if (!it->is_string() || it->get<std::string>().size() > 200 || !is_header_safe(it->get<std::string>())) {
        send_error(res, 400, "contentType must be a string of at most 200 printable ASCII characters");
        return;
      }
      content_type = it->get<std::string>();
    }
    std::string name;
    if (auto it = request.find("fileName"); it != request.end() && !it->is_null()) {
      if (!it->is_string()) {
        send_error(res, 400, "fileName must be a string");
        return;
      }
      name = it->get<std::string>();
    } else {
      name = "uploads/" + make_uuid_v4() + std::string(storage::extension_for_content_type(content_type));
    }
    if (auto valid = storage::validate_object_name(name); !valid) {
      send_error(res, 400, "fileName: " + valid.error().message);
      return;
    }
    auto url = backend_.storage->sign_url(name, storage::HttpMethod::kPut,
                                          std::chrono::seconds(config_.upload_url_ttl_s), content_type);
    if (!url) {
      const ApiError error = api_error_from_storage(url.error(), "upload object");
      log_json(Severity::kError, "signing an upload URL failed", {{"detail", error.detail}});
      send_error(res, error.status, error.message);
      return;
    }
    json answer = {{"uploadUrl", absolute_url(req, url->url)},
                   {"fileName", name},
                   {"expiresAt", iso8601_utc(url->expires_at)},
                   {"method", "PUT"}};
    if (!content_type.empty()) answer["headers"] = {{"Content-Type", content_type}};
    send_json(res, 200, answer);
  }

  // ---- signed local URLs -----------------------------------------------------------------------------

  // Checks the name and the signature; on failure the response is already filled in.
  bool verify_file_request(const httplib::Request& req, httplib::Response& res, storage::HttpMethod method,
                           const std::string& name) const {
    if (auto valid = storage::validate_object_name(name); !valid) {
      send_error(res, 400, "object name: " + valid.error().message);
      return false;
    }
    const auto now = std::chrono::system_clock::now();
    const std::string expires = req.get_param_value("expires");
    const std::string signature = req.get_param_value("signature");
    const std::string content_type = method == storage::HttpMethod::kPut ? req.get_header_value("Content-Type") : "";
    Status verified = backend_.local->verify_signed_request(method, name, expires, signature, content_type, now);
    // A PUT URL signed without a content type accepts any.
    if (!verified && !content_type.empty()) {
      verified = backend_.local->verify_signed_request(method, name, expires, signature, "", now);
    }
    if (!verified) {
      send_error(res, 403, "invalid or expired signature");
      return false;
    }
    return true;
  }

  void get_file(const httplib::Request& req, httplib::Response& res) const {
    const std::string name = req.matches[1];
    if (!verify_file_request(req, res, storage::HttpMethod::kGet, name)) return;
    auto info = backend_.storage->stat(name);
    auto path = backend_.local->object_path(name);
    if (!info || !path) {
      const ApiError error = api_error_from_storage(info ? path.error() : info.error(), "object");
      send_error(res, error.status, error.message);
      return;
    }
    auto file = std::make_shared<std::ifstream>(*path, std::ios::binary);
    if (!*file) {
      send_error(res, 502, "storage failure");
      return;
    }
    const std::string last_segment = name.substr(name.rfind('/') + 1);
    if (is_header_safe(last_segment) && last_segment.find('"') == std::string::npos) {
      res.set_header("Content-Disposition", "attachment; filename=\"" + last_segment + "\"");
    }
    res.set_header("Cache-Control", "private, no-store");
    res.set_content_provider(static_cast<std::size_t>(info->size_bytes), info->content_type,
                             [file](std::size_t offset, std::size_t length, httplib::DataSink& sink) {
                               char buffer[64 * 1024];
                               file->clear();
                               file->seekg(static_cast<std::streamoff>(offset));
                               file->read(buffer, static_cast<std::streamsize>(std::min(length, sizeof buffer)));
                               const auto got = file->gcount();
                               if (got <= 0) return false;
                               return sink.write(buffer, static_cast<std::size_t>(got));
                             });
  }

  void put_file(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader* reader) const {
    const std::string name = req.matches[1];
    if (!verify_file_request(req, res, storage::HttpMethod::kPut, name)) {
      res.set_header("Connection", "close");
      return;
    }
    if (req.has_header("Content-Length") &&
        req.get_header_value<std::uint64_t>("Content-Length") > config_.max_input_bytes) {
      res.set_header("Connection", "close");
      send_error(res, 413, "upload is over the limit of " + std::to_string(config_.max_input_bytes) + " bytes");
      return;
    }
    auto file = backend_.local->begin_write(name);
    if (!file) {
      const ApiError error = api_error_from_storage(file.error(), "object");
      log_json(Severity::kError, "upload failed", {{"fileName", name}, {"detail", error.detail}});
      send_error(res, error.status, error.message);
      return;
    }
    std::ofstream out(file->temp_path(), std::ios::binary | std::ios::trunc);
    std::uint64_t received = 0;
    bool too_large = false;
    if (reader != nullptr) {
      (*reader)([&](const char* data, std::size_t size) {
        received += size;
        if (received > config_.max_input_bytes) {
          too_large = true;
          return false;
        }
        out.write(data, static_cast<std::streamsize>(size));
        return static_cast<bool>(out);
      });
    }
    out.close();
    if (too_large) {
      res.set_header("Connection", "close");
      send_error(res, 413, "upload is over the limit of " + std::to_string(config_.max_input_bytes) + " bytes");
      return;
    }
    if (!out) {
      log_json(Severity::kError, "upload failed", {{"fileName", name}, {"detail", "write to temporary file failed"}});
      send_error(res, 502, "storage failure");
      return;
    }
    if (auto committed = file->commit(); !committed) {
      log_json(Severity::kError, "upload failed", {{"fileName", name}, {"detail", committed.error().message}});
      send_error(res, 502, "storage failure");
      return;
    }
    log_json(Severity::kInfo, "object uploaded", {{"fileName", name}, {"bytes", received}});
    send_json(res, 200, {{"success", true}, {"fileName", name}, {"size", received}});
  }

  // ---- helpers ---------------------------------------------------------------------------------------

  // Root-relative URLs from the local backend are completed from the request (or --public-url).
  std::string absolute_url(const httplib::Request& req, const std::string& url) const {
    if (url.empty() || url.front() != '/') return url;
    if (!config_.public_url.empty()) return config_.public_url + url;
    std::string scheme = "http";
    if (config_.trusted_proxy_hops > 0) {
      const std::string proto = req.get_header_value("X-Forwarded-Proto");
      if (proto == "https") scheme = "https";
    }
    std::string host = req.get_header_value("Host");
    if (!is_plain_host(host)) {
      host = req.local_addr.find(':') != std::string::npos ? "[" + req.local_addr + "]" : req.local_addr;
      host += ":" + std::to_string(req.local_port);
    }
    return scheme + "://" + host + url;
  }

  void remember_job_time(double seconds) {
    const std::lock_guard lock(job_time_mutex_);
    mean_job_s_ = mean_job_s_ == 0.0 ? seconds : 0.8 * mean_job_s_ + 0.2 * seconds;
  }

  // Roughly when a slot should be free: the queue ahead, shared over the slots, at the recent job time.
  int retry_after_capacity_s() {
    const std::lock_guard lock(job_time_mutex_);
    if (mean_job_s_ == 0.0) return 10;
    const double waits = (admission_.waiting() + 1.0) / std::max(1, config_.max_jobs);
    return std::clamp(static_cast<int>(std::ceil(mean_job_s_ * waits)), 1, 120);
  }

  void log_access(const httplib::Request& req, const httplib::Response& res) {
    const std::string route(route_label(req.method, req.path));
    metrics_.count_request(route, res.status);
    double latency_s = 0.0;
    if (t_request_start != Clock::time_point{}) latency_s = seconds_since(t_request_start);
    t_request_start = {};
    if (route == "/health" || route == "/metrics") {
      if (res.status < 400) return;  // probes would drown everything else
    }
    char latency[32];
    std::snprintf(latency, sizeof latency, "%.6fs", latency_s);
    // The path only: query strings carry signatures.
    log_json(status_severity(res.status, Severity::kInfo), "request",
             {{"httpRequest",
               {{"requestMethod", req.method},
                {"requestUrl", req.path},
                {"status", res.status},
                {"remoteIp", req.remote_addr},
                {"latency", latency}}},
              {"route", route}});
  }
};

HttpService::HttpService(ServerConfig config, StorageBackend backend)
    : impl_(std::make_unique<Impl>(std::move(config), std::move(backend))) {}

HttpService::~HttpService() = default;

Expected<int> HttpService::bind() {
  const auto& config = impl_->config_;
  int port = config.port;
  if (port == 0) {
    port = impl_->server_.bind_to_any_port(config.host);
    if (port < 0) port = -1;
  } else if (!impl_->server_.bind_to_port(config.host, port)) {
    port = -1;
  }
  if (port <= 0) {
    return make_error(ErrorCode::kUnavailable, "cannot listen on " + config.host + ":" + std::to_string(config.port) +
                                                   " (address in use, or not an address of this machine?)");
  }
  return port;
}

bool HttpService::listen() {
  return impl_->server_.listen_after_bind();
}

void HttpService::begin_shutdown() {
  impl_->admission_.drain();
  impl_->server_.stop();
}

bool HttpService::finish_running_jobs() {
  const auto grace = std::chrono::duration<double>(impl_->config_.shutdown_grace_s);
  const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(grace);
  if (impl_->admission_.wait_until_idle(deadline)) return true;
  log_json(Severity::kWarning, "grace period over; cancelling running jobs",
           {{"running", impl_->admission_.running()}});
  impl_->cancel_jobs_ = true;
  impl_->admission_.wait_until_idle(Clock::now() + std::chrono::seconds(5));
  return false;
}

int HttpService::jobs_running() const {
  return impl_->admission_.running();
}

// ---- process lifecycle -------------------------------------------------------------------------------

namespace {

Status write_port_file(const std::filesystem::path& path, int port) {
  // Written to a temporary name and renamed, so a reader never sees a half-written number.
  const std::filesystem::path temp = path.string() + ".tmp";
  {
    std::ofstream out(temp, std::ios::trunc);
    out << port << "\n";
    if (!out) return make_error(ErrorCode::kIoError, "cannot write the port file " + temp.string());
  }
  std::error_code ec;
  std::filesystem::rename(temp, path, ec);
  if (ec) return make_error(ErrorCode::kIoError, "cannot write the port file " + path.string() + ": " + ec.message());
  return {};
}

Status check_temp_dir(const std::filesystem::path& dir) {
  if (dir.empty()) return {};
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec || !std::filesystem::is_directory(dir, ec)) {
    return make_error(ErrorCode::kInvalidArgument, "temp-dir " + dir.string() + " is not a usable directory");
  }
  return {};
}

int fail_start(const std::string& message, int exit_code) {
  log_json(Severity::kError, "start-up failed: " + message);
  std::cerr << "spectrum-master serve: " << message << "\n";
  return exit_code;
}

}  // namespace

int run_server(const ServerConfig& config) {
  set_log_level(config.log_level);
  // Signals are taken by one thread with sigtimedwait, so they must be blocked before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  if (auto ok = check_temp_dir(config.temp_dir); !ok) return fail_start(ok.error().message, 2);
  auto backend = make_storage_backend(config);
  if (!backend) {
    return fail_start(backend.error().message, backend.error().code == ErrorCode::kInvalidArgument ? 2 : 1);
  }
  const std::string storage_name = backend->name;
  HttpService service(config, std::move(*backend));
  auto port = service.bind();
  if (!port) return fail_start(port.error().message, 1);
  if (!config.port_file.empty()) {
    if (auto written = write_port_file(config.port_file, *port); !written) {
      return fail_start(written.error().message, 1);
    }
  }
  log_json(Severity::kInfo, "listening",
           {{"host", config.host},
            {"port", *port},
            {"storage", storage_name},
            {"dataDir", storage_name == std::string("local") ? config.data_dir.string() : ""},
            {"maxJobs", config.max_jobs},
            {"maxQueue", config.max_queue},
            {"httpThreads", config.http_threads},
            {"authentication", !config.api_token.empty()},
            {"corsOrigins", config.allowed_origins ? json(*config.allowed_origins) : json("loopback (development)")}});

  std::atomic<bool> stopped{false};
  std::thread signal_thread([&] {
    const timespec poll{0, 200'000'000};  // 200 ms
    while (!stopped) {
      const int signal_number = sigtimedwait(&signals, nullptr, &poll);
      if (signal_number <= 0) continue;
      log_json(Severity::kInfo, "shutting down",
               {{"signal", signal_number == SIGTERM ? "SIGTERM" : "SIGINT"},
                {"graceSeconds", config.shutdown_grace_s},
                {"running", service.jobs_running()}});
      service.begin_shutdown();
      service.finish_running_jobs();
      // Requests still being written out get a little longer; then the process leaves regardless.
      const auto deadline = Clock::now() + std::chrono::seconds(10);
      while (!stopped && Clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(50));
      if (!stopped) {
        log_json(Severity::kError, "connections did not close in time; exiting");
        std::fflush(stdout);
        std::_Exit(0);
      }
      return;
    }
  });
  const bool served = service.listen();
  stopped = true;
  signal_thread.join();
  log_json(Severity::kInfo, "stopped");
  return served ? 0 : 1;
}

}  // namespace spectrum::server
