#include "server/api.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "common/text.h"
#include "common/utc_time.h"
#include "mastering/album.h"
#include "mastering/presets.h"
#include "mastering/settings.h"
#include "server/api_error.h"
#include "server/json_log.h"
#include "server/master_job.h"
#include "server/request_identity.h"
#include "server/uuid.h"
#include "storage/content_type.h"
#include "web_assets.h"

namespace spectrum::server {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr const char* kServiceName = "spectrum-mastering-backend";
constexpr const char* kVersion = "0.1.0";
constexpr int kShutdownRetryAfterS = 10;
// Downloads of results and uploads to signed URLs are the product, not API calls: a page that masters a
// few songs downloads each several times (players, retries), so they get their own, looser bucket.
constexpr double kFileRateFactor = 10.0;
// A comment line at least this often keeps idle proxies (Cloud Run's front end among them) from closing a
// stream while a long stage runs.
constexpr std::chrono::seconds kEventStreamHeartbeat{5};

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// How loud a response's log line is: ERROR is for faults. A 503 (at capacity, shutting down) is the service
// working as designed, so it is a WARNING; other statuses under 500 keep the caller's level.
Severity status_severity(int status, Severity below_500) {
  if (status == 503) return Severity::kWarning;
  return status >= 500 ? Severity::kError : below_500;
}

HttpResponse rejection(int status, const std::string& message, int retry_after_s) {
  HttpResponse response = error_response(status, message);
  if (retry_after_s > 0) response.set_header("Retry-After", std::to_string(retry_after_s));
  return response;
}

// A Host header we are willing to copy into URLs: host name or address characters and a port only.
bool is_plain_host(std::string_view host) {
  if (host.empty() || host.size() > 255) return false;
  return std::all_of(host.begin(), host.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
           c == ':' || c == '[' || c == ']';
  });
}

}  // namespace

Api::Api(ServerConfig config, StorageBackend backend)
    : config_(std::move(config)),
      backend_(std::move(backend)),
      cors_(config_.allowed_origins),
      api_limiter_(config_.rate_limit_per_minute, config_.rate_limit_burst),
      download_limiter_(config_.rate_limit_per_minute * kFileRateFactor, config_.rate_limit_burst * kFileRateFactor),
      admission_(config_.max_jobs, config_.max_queue) {}

// ---- around every request ------------------------------------------------------------------------------

std::optional<HttpResponse> Api::screen(const HttpRequest& request) {
  if (request.method == "OPTIONS") {
    HttpResponse preflight;
    preflight.status = 204;
    if (cors_.allows(request.header("Origin"))) {
      preflight.set_header("Access-Control-Allow-Methods", std::string(CorsPolicy::kAllowedMethods));
      preflight.set_header("Access-Control-Allow-Headers", std::string(CorsPolicy::kAllowedHeaders));
      preflight.set_header("Access-Control-Max-Age", std::string(CorsPolicy::kMaxAgeSeconds));
    }
    return preflight;
  }
  const bool is_api = request.path.rfind("/api/", 0) == 0;
  const bool is_files = request.path.rfind("/files/", 0) == 0;
  if (!is_api && !is_files) return std::nullopt;

  if (is_api && admission_.draining()) {
    metrics_.count_rejection("shutdown");
    return rejection(503, "the service is shutting down; try again shortly", kShutdownRetryAfterS);
  }
  bool authenticated = config_.api_token.empty();
  if (!authenticated) {
    const std::string authorization = request.header("Authorization");  // outlives the view below
    const auto token = bearer_token(authorization);
    authenticated = token && token_matches(*token, config_.api_token);
  }
  // A valid token is the client's identity; anyone else is known by address, so guessing tokens is rate
  // limited too. Signed file URLs carry their own authority and take the looser bucket.
  const std::string client = (!config_.api_token.empty() && authenticated && is_api)
                                 ? std::string("token")
                                 : "addr:" + client_address(request.remote_addr, request.header("X-Forwarded-For"),
                                                            config_.trusted_proxy_hops);
  RateLimiter& limiter = is_files ? download_limiter_ : api_limiter_;
  if (const auto decision = limiter.take(client, Clock::now()); !decision.allowed) {
    metrics_.count_rejection("rate_limit");
    return rejection(429, "rate limit exceeded; retry after " + std::to_string(decision.retry_after_s) + " s",
                     decision.retry_after_s);
  }
  // The presets are public facts, read by the page before anyone has typed a token.
  if (is_api && !authenticated && request.path != "/api/presets") {
    metrics_.count_rejection("auth");
    HttpResponse refused = rejection(401, "missing or invalid API token", 0);
    refused.set_header("WWW-Authenticate", "Bearer");
    return refused;
  }
  return std::nullopt;
}

void Api::finish(const HttpRequest& request, HttpResponse& response, std::chrono::duration<double> latency) {
  response.set_header("X-Content-Type-Options", "nosniff");
  const std::string origin = request.header("Origin");
  if (!origin.empty()) response.set_header("Vary", "Origin");
  if (cors_.allows(origin)) {
    response.set_header("Access-Control-Allow-Origin", origin);
    response.set_header("Access-Control-Expose-Headers", "Retry-After");
  }
  const std::string route(route_label(request.method, request.path));
  metrics_.count_request(route, response.status);
  if ((route == "/health" || route == "/metrics") && response.status < 400) return;  // probes would drown the rest
  char seconds[32];
  std::snprintf(seconds, sizeof seconds, "%.6fs", latency.count());
  // The path only: query strings carry signatures.
  log_json(status_severity(response.status, Severity::kInfo), "request",
           {{"httpRequest",
             {{"requestMethod", request.method},
              {"requestUrl", request.path},
              {"status", response.status},
              {"remoteIp", request.remote_addr},
              {"latency", seconds}}},
            {"route", route}});
}

// ---- handlers ------------------------------------------------------------------------------------------

HttpResponse Api::health(const HttpRequest& /*request*/) const {
  return json_response(
      200, {{"status", "healthy"}, {"service", kServiceName}, {"version", kVersion}, {"storage", backend_.name}});
}

HttpResponse Api::metrics(const HttpRequest& /*request*/) const {
  const Metrics::Gauges gauges{admission_.running(), admission_.waiting(), config_.max_jobs, config_.max_queue};
  HttpResponse response;
  response.body = metrics_.render(gauges);
  response.set_header("Content-Type", "text/plain; version=0.0.4");
  return response;
}

HttpResponse Api::master_audio(const HttpRequest& request) {
  const auto started = Clock::now();
  const json body = json::parse(request.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) {
    return error_response(400, R"(request body must be a JSON object: {"fileName", "settings"})");
  }
  const auto file_name = body.find("fileName");
  if (file_name == body.end() || file_name->is_null()) return error_response(400, "fileName is required");
  if (!file_name->is_string()) return error_response(400, "fileName must be a string");
  // inputUrl is accepted for compatibility and deliberately never fetched: the service reads only its own
  // storage, which rules out server-side request forgery.
  auto settings = mastering::parse_settings(body.value("settings", json(nullptr)));
  if (!settings) return error_response(400, settings.error().message);
  MasterJobRequest job{make_uuid_v4(), file_name->get<std::string>(), std::move(*settings)};
  if (auto valid = storage::validate_object_name(job.file_name); !valid) {
    return error_response(400, "fileName: " + valid.error().message);
  }

  // Server-sent events: everything that can fail before the job starts is still a plain answer.
  const bool streamed = wants_event_stream(request);
  if (streamed) {
    if (auto error = check_master_job(*backend_.storage, job_options({}), job)) {
      return json_response(error->status, {{"success", false}, {"error", error->message}});
    }
  }

  if (auto refused = admit()) return std::move(*refused);
  auto slot = std::make_shared<JobSlot>(admission_);
  if (!streamed) return run_job(request, job, started, {});

  HttpResponse stream;
  stream.set_header("Content-Type", "text/event-stream");
  stream.set_header("Cache-Control", "no-cache, no-transform");
  stream.set_header("X-Accel-Buffering", "no");  // proxies that buffer by default (nginx and friends) must not
  stream.heartbeat = ": keep-alive\n\n";
  stream.heartbeat_interval = kEventStreamHeartbeat;
  stream.stream = [this, request, job = std::move(job), started, slot](StreamWriter& writer) mutable {
    const auto send = [&writer](std::string_view event, const json& data) {
      writer.write("event: " + std::string(event) +
                   "\ndata: " + data.dump(-1, ' ', false, json::error_handler_t::replace) + "\n\n");
    };
    send("job", {{"jobId", job.job_id}});
    const HttpResponse result = run_job(request, job, started, [&send](const JobEvent& event) {
      json data = {{"stage", event.stage},
                   {"state", event.kind == JobEvent::Kind::kStart      ? "start"
                             : event.kind == JobEvent::Kind::kProgress ? "progress"
                                                                       : "end"},
                   {"elapsed", event.elapsed_s}};
      if (event.fraction) data["fraction"] = *event.fraction;
      if (event.pass > 0) data["pass"] = event.pass;
      send("stage", data);
    });
    slot.reset();  // the job is over; the slot must not wait for this function to be destroyed
    json data = json::parse(result.body, nullptr, false);
    if (result.status != 200) data["status"] = result.status;
    send("result", data);
  };
  return stream;
}

HttpResponse Api::master_album(const HttpRequest& request) {
  const auto started = Clock::now();
  const json body = json::parse(request.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) {
    return error_response(400, R"(request body must be a JSON object: {"tracks": [{"fileName"}, ...], "settings"})");
  }
  const auto tracks = body.find("tracks");
  if (tracks == body.end() || !tracks->is_array() || tracks->size() < mastering::kMinAlbumTracks ||
      tracks->size() > mastering::kMaxAlbumTracks) {
    return error_response(400, "tracks must be an array of " + std::to_string(mastering::kMinAlbumTracks) + " to " +
                                   std::to_string(mastering::kMaxAlbumTracks) + " objects with a fileName");
  }
  AlbumJobRequest job;
  job.job_id = make_uuid_v4();
  for (std::size_t i = 0; i < tracks->size(); ++i) {
    const json& track = (*tracks)[i];
    const auto name = track.is_object() ? track.find("fileName") : track.end();
    if (!track.is_object() || name == track.end() || !name->is_string()) {
      return error_response(400, "tracks[" + std::to_string(i) + "].fileName must be a string");
    }
    if (auto valid = storage::validate_object_name(name->get<std::string>()); !valid) {
      return error_response(400, "tracks[" + std::to_string(i) + "].fileName: " + valid.error().message);
    }
    job.file_names.push_back(name->get<std::string>());
  }
  auto settings = mastering::parse_settings(body.value("settings", json(nullptr)));
  if (!settings) return error_response(400, settings.error().message);
  if (!settings->output_formats.empty() || settings->reference_file_name) {
    return error_response(400, "an album takes neither settings.outputFormats nor settings.referenceFileName");
  }
  job.settings = std::move(*settings);
  const std::string mode = body.value("albumMode", std::string("album"));
  if (mode != "album" && mode != "individual") {
    return error_response(400, R"(albumMode must be "album" or "individual")");
  }
  job.individual = mode == "individual";

  if (auto refused = admit()) return std::move(*refused);
  const JobSlot slot(admission_);
  log_json(Severity::kInfo, "album started", {{"jobId", job.job_id}, {"tracks", job.file_names.size()}});
  AlbumJobOutcome outcome = run_album_job(*backend_.storage, job_options({}), job);
  const double total_s = seconds_since(started);
  if (auto* error = std::get_if<ApiError>(&outcome)) {
    metrics_.observe_job(total_s, "error");
    log_json(status_severity(error->status, Severity::kWarning), "album failed",
             {{"jobId", job.job_id}, {"status", error->status}, {"error", error->message}, {"detail", error->detail}});
    return json_response(error->status, {{"success", false}, {"error", error->message}, {"jobId", job.job_id}});
  }
  auto& result = std::get<AlbumJobResult>(outcome);
  metrics_.observe_job(total_s, "success");
  json answer_tracks = json::array();
  for (auto& track : result.tracks) {
    answer_tracks.push_back({{"fileName", track.file_name},
                             {"masteredFileName", track.mastered_name},
                             {"masteredUrl", absolute_url(request, track.mastered_url.url)},
                             {"expiresAt", iso8601_utc(track.mastered_url.expires_at)},
                             {"report", std::move(track.report)}});
  }
  log_json(Severity::kInfo, "album finished", {{"jobId", job.job_id}, {"totalSeconds", total_s}});
  return json_response(200, {{"success", true},
                             {"jobId", job.job_id},
                             {"processingTime", total_s},
                             {"album", std::move(result.album)},
                             {"tracks", std::move(answer_tracks)}});
}

std::optional<HttpResponse> Api::admit() {
  switch (admission_.acquire()) {
    case JobAdmission::Outcome::kAdmitted:
      return std::nullopt;
    case JobAdmission::Outcome::kOverCapacity:
      metrics_.count_rejection("capacity");
      return rejection(503, "the service is at capacity; retry later", retry_after_capacity_s());
    case JobAdmission::Outcome::kShuttingDown:
      break;
  }
  metrics_.count_rejection("shutdown");
  return rejection(503, "the service is shutting down; try again shortly", kShutdownRetryAfterS);
}

bool Api::wants_event_stream(const HttpRequest& request) {
  return ascii_lower(request.header("Accept")).find("text/event-stream") != std::string::npos;
}

MasterJobOptions Api::job_options(JobEventCallback on_event) const {
  return MasterJobOptions{config_.temp_dir,       config_.max_input_bytes,
                          config_.max_duration_s, std::chrono::seconds(config_.download_url_ttl_s),
                          &cancel_jobs_,          std::move(on_event)};
}

HttpResponse Api::run_job(const HttpRequest& request, const MasterJobRequest& job, Clock::time_point started,
                          JobEventCallback on_event) {
  const double queue_s = seconds_since(started);
  log_json(Severity::kInfo, "job started",
           {{"jobId", job.job_id}, {"fileName", job.file_name}, {"queueSeconds", queue_s}});
  const auto job_started = Clock::now();
  MasterJobOutcome outcome = run_master_job(*backend_.storage, job_options(std::move(on_event)), job);
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
    HttpResponse failed =
        json_response(error->status, {{"success", false}, {"error", error->message}, {"jobId", job.job_id}});
    if (error->status == 503) failed.set_header("Retry-After", std::to_string(kShutdownRetryAfterS));
    return failed;
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
  json answer = {{"success", true},
                 {"masteredUrl", absolute_url(request, result.mastered_url.url)},
                 {"masteredFileName", result.mastered_name},
                 {"expiresAt", iso8601_utc(result.mastered_url.expires_at)},
                 {"jobId", job.job_id},
                 {"processingTime", total_s},
                 {"report", std::move(result.report)}};
  if (!job.settings.output_formats.empty()) {
    json deliverables = json::array();
    for (const Deliverable& file : result.deliverables) {
      deliverables.push_back({{"format", file.format},
                              {"masteredUrl", absolute_url(request, file.url.url)},
                              {"masteredFileName", file.name},
                              {"integratedLufs", file.integrated_lufs},
                              {"truePeakDbtp", file.true_peak_dbtp}});
    }
    answer["deliverables"] = std::move(deliverables);
  }
  return json_response(200, answer);
}

HttpResponse Api::upload_url(const HttpRequest& request) const {
  json body = json::object();
  if (!request.body.empty()) {
    body = json::parse(request.body, nullptr, false);
    if (body.is_discarded() || !body.is_object()) {
      return error_response(400, R"(request body must be a JSON object: {"fileName"?, "contentType"?})");
    }
  }
  std::string content_type;
  if (auto it = body.find("contentType"); it != body.end() && !it->is_null()) {
    if (!it->is_string() || it->get<std::string>().size() > 200 || !is_header_safe(it->get<std::string>())) {
      return error_response(400, "contentType must be a string of at most 200 printable ASCII characters");
    }
    content_type = it->get<std::string>();
  }
  std::string name;
  if (auto it = body.find("fileName"); it != body.end() && !it->is_null()) {
    if (!it->is_string()) return error_response(400, "fileName must be a string");
    name = it->get<std::string>();
  } else {
    name = "uploads/" + make_uuid_v4() + std::string(storage::extension_for_content_type(content_type));
  }
  if (auto valid = storage::validate_object_name(name); !valid) {
    return error_response(400, "fileName: " + valid.error().message);
  }
  auto url = backend_.storage->sign_url(name, storage::HttpMethod::kPut, std::chrono::seconds(config_.upload_url_ttl_s),
                                        content_type);
  if (!url) {
    const ApiError error = api_error_from_storage(url.error(), "upload object");
    log_json(Severity::kError, "signing an upload URL failed", {{"detail", error.detail}});
    return error_response(error.status, error.message);
  }
  json answer = {{"uploadUrl", absolute_url(request, url->url)},
                 {"fileName", name},
                 {"expiresAt", iso8601_utc(url->expires_at)},
                 {"method", "PUT"},
                 {"maxBytes", config_.max_input_bytes}};
  if (!content_type.empty()) answer["headers"] = {{"Content-Type", content_type}};
  return json_response(200, answer);
}

HttpResponse Api::web_asset(const HttpRequest& request) {
  const auto asset = web::find_web_asset(request.path);
  if (!asset) return error_response(404, "not found");
  HttpResponse response;
  response.body = std::string(asset->body);
  response.set_header("Content-Type", std::string(asset->content_type));
  response.set_header("Cache-Control", "no-cache");
  response.set_header("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'; base-uri 'self'");
  return response;
}

HttpResponse Api::presets(const HttpRequest& /*request*/) {
  json list = json::array();
  for (const mastering::Preset& preset : mastering::kPresets) {
    json entry = {{"id", preset.id},
                  {"name", preset.name},
                  {"targetLoudness", preset.target_loudness_lufs},
                  {"truePeakCeiling", preset.true_peak_ceiling_dbtp},
                  {"basis", preset.basis}};
    if (preset.output_format) entry["outputFormat"] = audio::traits(*preset.output_format).name;
    list.push_back(std::move(entry));
  }
  HttpResponse response = json_response(200, {{"presets", std::move(list)}});
  response.set_header("Cache-Control", "public, max-age=300");
  return response;
}

// ---- helpers -------------------------------------------------------------------------------------------

std::string Api::absolute_url(const HttpRequest& request, const std::string& url) const {
  if (url.empty() || url.front() != '/') return url;
  if (!config_.public_url.empty()) return config_.public_url + url;
  std::string scheme = "http";
  if (config_.trusted_proxy_hops > 0 && request.header("X-Forwarded-Proto") == "https") scheme = "https";
  std::string host = request.header("Host");
  if (!is_plain_host(host)) {
    host = request.local_addr.find(':') != std::string::npos ? "[" + request.local_addr + "]" : request.local_addr;
    host += ":" + std::to_string(request.local_port);
  }
  return scheme + "://" + host + url;
}

void Api::remember_job_time(double seconds) {
  const std::lock_guard lock(job_time_mutex_);
  mean_job_s_ = mean_job_s_ == 0.0 ? seconds : 0.8 * mean_job_s_ + 0.2 * seconds;
}

// Roughly when a slot should be free: the queue ahead, shared over the slots, at the recent job time.
int Api::retry_after_capacity_s() {
  const std::lock_guard lock(job_time_mutex_);
  if (mean_job_s_ == 0.0) return 10;
  const double waits = (admission_.waiting() + 1.0) / std::max(1, config_.max_jobs);
  return std::clamp(static_cast<int>(std::ceil(mean_job_s_ * waits)), 1, 120);
}

}  // namespace spectrum::server
