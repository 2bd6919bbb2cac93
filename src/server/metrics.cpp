#include "server/metrics.h"

#include <sstream>

namespace spectrum::server {

void Metrics::count_request(std::string_view route, int status) {
  const std::lock_guard lock(mutex_);
  ++requests_[{std::string(route), status}];
}

void Metrics::observe_job(double seconds, std::string_view outcome) {
  const std::lock_guard lock(mutex_);
  Histogram& h = jobs_[std::string(outcome)];
  for (std::size_t i = 0; i < kJobBucketsS.size(); ++i)
    if (seconds <= kJobBucketsS[i]) ++h.buckets[i];
  ++h.count;
  h.sum_s += seconds;
}

void Metrics::count_rejection(std::string_view reason) {
  const std::lock_guard lock(mutex_);
  ++rejections_[std::string(reason)];
}

std::string Metrics::render(const Gauges& gauges) const {
  std::ostringstream out;
  const std::lock_guard lock(mutex_);
  out << "# HELP spectrum_http_requests_total HTTP requests answered, by route and status.\n"
      << "# TYPE spectrum_http_requests_total counter\n";
  for (const auto& [key, count] : requests_) {
    out << "spectrum_http_requests_total{route=\"" << key.first << "\",status=\"" << key.second << "\"} " << count
        << "\n";
  }
  out << "# HELP spectrum_job_duration_seconds Wall time of mastering jobs, from admission to response.\n"
      << "# TYPE spectrum_job_duration_seconds histogram\n";
  for (const auto& [outcome, h] : jobs_) {
    for (std::size_t i = 0; i < kJobBucketsS.size(); ++i) {
      out << "spectrum_job_duration_seconds_bucket{outcome=\"" << outcome << "\",le=\"" << kJobBucketsS[i] << "\"} "
          << h.buckets[i] << "\n";
    }
    out << "spectrum_job_duration_seconds_bucket{outcome=\"" << outcome << R"(",le="+Inf"} )" << h.count << "\n"
        << "spectrum_job_duration_seconds_sum{outcome=\"" << outcome << "\"} " << h.sum_s << "\n"
        << "spectrum_job_duration_seconds_count{outcome=\"" << outcome << "\"} " << h.count << "\n";
  }
  out << "# HELP spectrum_rejected_requests_total Requests refused before any work, by reason.\n"
      << "# TYPE spectrum_rejected_requests_total counter\n";
  for (const auto& [reason, count] : rejections_) {
    out << "spectrum_rejected_requests_total{reason=\"" << reason << "\"} " << count << "\n";
  }
  out << "# HELP spectrum_jobs_in_flight Mastering jobs running now.\n# TYPE spectrum_jobs_in_flight gauge\n"
      << "spectrum_jobs_in_flight " << gauges.jobs_in_flight << "\n"
      << "# HELP spectrum_job_queue_depth Mastering jobs waiting for a slot.\n# TYPE spectrum_job_queue_depth gauge\n"
      << "spectrum_job_queue_depth " << gauges.queue_depth << "\n"
      << "# HELP spectrum_max_jobs Configured job slots.\n# TYPE spectrum_max_jobs gauge\n"
      << "spectrum_max_jobs " << gauges.max_jobs << "\n"
      << "# HELP spectrum_max_queue Configured wait-queue length.\n# TYPE spectrum_max_queue gauge\n"
      << "spectrum_max_queue " << gauges.max_queue << "\n";
  return out.str();
}

std::string_view route_label(std::string_view method, std::string_view path) noexcept {
  if (method == "OPTIONS") return "preflight";
  if (path == "/health") return "/health";
  if (path == "/metrics") return "/metrics";
  if (path == "/api/master-audio") return "/api/master-audio";
  if (path == "/api/upload-url") return "/api/upload-url";
  if (path == "/api/presets") return "/api/presets";
  if (path == "/api/master-album") return "/api/master-album";
  if (path.rfind("/api/", 0) == 0) return "/api/other";
  if (path.rfind("/files/", 0) == 0) return "/files";
  return "other";
}

}  // namespace spectrum::server
