#include "server/server.h"

#include <signal.h>  // NOLINT(modernize-deprecated-headers): POSIX sigset_t, sigtimedwait, pthread_sigmask

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <thread>

#include <nlohmann/json.hpp>

#include "server/api.h"
#include "server/http_edge.h"
#include "server/json_log.h"
#include "server/signed_files.h"

namespace spectrum::server {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

// Of the grace period, what is kept back to cancel the jobs still running and send their 503s.
constexpr std::chrono::milliseconds kCancelReserve{2000};
constexpr std::chrono::milliseconds kCloseReserve{500};

std::chrono::milliseconds milliseconds(double seconds) {
  return std::chrono::milliseconds(static_cast<long long>(seconds * 1000.0));
}

EdgeLimits edge_limits(const ServerConfig& config) {
  EdgeLimits limits;
  limits.header_timeout = milliseconds(config.header_timeout_s);
  limits.idle_timeout = milliseconds(config.idle_timeout_s);
  limits.body_timeout = milliseconds(config.body_timeout_s);
  limits.max_connections = config.max_connections;
  limits.max_connections_per_address = config.max_connections_per_address;
  limits.worker_threads = config.http_threads;
  limits.worker_queue = config.http_threads * 4;
  return limits;
}

// Every route, in one place. Routes that wait on storage or the engine run on the worker pool.
std::vector<Route> make_routes(Api& api, const SignedFiles* files, std::uint64_t max_body_bytes) {
  std::vector<Route> routes;
  routes.push_back({"GET", "/health", false, false, 0, [&api](const HttpRequest& r) { return api.health(r); }, {}});
  routes.push_back({"GET", "/metrics", false, false, 0, [&api](const HttpRequest& r) { return api.metrics(r); }, {}});
  routes.push_back({"POST",
                    "/api/master-audio",
                    false,
                    true,
                    max_body_bytes,
                    [&api](const HttpRequest& r) { return api.master_audio(r); },
                    {}});
  routes.push_back({"POST",
                    "/api/upload-url",
                    false,
                    true,
                    max_body_bytes,
                    [&api](const HttpRequest& r) { return api.upload_url(r); },
                    {}});
  routes.push_back({"POST",
                    "/api/master-album",
                    false,
                    true,
                    max_body_bytes,
                    [&api](const HttpRequest& r) { return api.master_album(r); },
                    {}});
  routes.push_back({"GET", "/api/presets", false, false, 0, &Api::presets, {}});
  if (files != nullptr) {
    const std::string prefix(kFilesPrefix);
    routes.push_back({"GET", prefix, true, false, 0, [files](const HttpRequest& r) { return files->get(r); }, {}});
    // The body streams to a sink on the event loop; finishing (fsync and rename) runs on a worker.
    routes.push_back({"PUT", prefix, true, true, 0, {}, [files](const HttpRequest& r) { return files->put(r); }});
  }
  routes.push_back({"GET", "/", true, false, 0, &Api::web_asset, {}});
  return routes;
}

}  // namespace

class HttpService::Impl {
 public:
  Impl(ServerConfig config, StorageBackend backend)
      : api_(std::move(config), std::move(backend)),
        files_(api_.backend().local != nullptr
                   ? std::make_unique<SignedFiles>(*api_.backend().local, api_.config().max_input_bytes)
                   : nullptr),
        edge_(edge_limits(api_.config()), make_routes(api_, files_.get(), api_.config().max_body_bytes),
              EdgeHooks{[this](const HttpRequest& r) { return api_.screen(r); },
                        [this](const HttpRequest& r, HttpResponse& response, std::chrono::duration<double> latency) {
                          api_.finish(r, response, latency);
                        }}) {}

  Api api_;
  std::unique_ptr<SignedFiles> files_;
  HttpEdge edge_;
};

HttpService::HttpService(ServerConfig config, StorageBackend backend)
    : impl_(std::make_unique<Impl>(std::move(config), std::move(backend))) {}

HttpService::~HttpService() = default;

Expected<int> HttpService::bind() {
  return impl_->edge_.bind(impl_->api_.config().host, impl_->api_.config().port);
}

void HttpService::serve() {
  impl_->edge_.run();
}

void HttpService::shut_down(Clock::time_point deadline) {
  impl_->api_.admission().drain();
  impl_->edge_.stop_accepting();
  if (!impl_->api_.admission().wait_until_idle(deadline - kCancelReserve)) {
    log_json(Severity::kWarning, "grace period nearly over; cancelling running jobs",
             {{"running", impl_->api_.admission().running()}});
    impl_->api_.cancel_running_jobs();
    impl_->api_.admission().wait_until_idle(deadline - kCloseReserve);
  }
  // Answers in flight get until the deadline; then every connection closes.
  while (impl_->edge_.open_connections() > 0 && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  impl_->edge_.stop();
}

int HttpService::jobs_running() {
  return impl_->api_.admission().running();
}

int HttpService::max_connections() const {
  return impl_->edge_.effective_max_connections();
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
            {"maxConnections", service.max_connections()},
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
      service.shut_down(Clock::now() + milliseconds(config.shutdown_grace_s));
      return;
    }
  });
  service.serve();
  stopped = true;
  signal_thread.join();
  log_json(Severity::kInfo, "stopped");
  return 0;
}

}  // namespace spectrum::server
