// Prometheus text-format metrics: requests by route and status, a job-duration histogram, rejected
// requests by reason, and point-in-time gauges (jobs in flight, queue depth) read when scraped.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

namespace spectrum::server {

class Metrics {
 public:
  static constexpr std::array<double, 12> kJobBucketsS{0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1200};

  // `route` must come from a fixed set (see route_label) so label cardinality stays bounded.
  void count_request(std::string_view route, int status);
  void observe_job(double seconds, std::string_view outcome);  // outcome: "success" or "error"
  void count_rejection(std::string_view reason);               // "capacity", "rate_limit", "auth", "shutdown"

  struct Gauges {
    int jobs_in_flight = 0;
    int queue_depth = 0;
    int max_jobs = 0;
    int max_queue = 0;
  };
  [[nodiscard]] std::string render(const Gauges& gauges) const;

 private:
  struct Histogram {
    std::array<std::uint64_t, kJobBucketsS.size()> buckets{};
    std::uint64_t count = 0;
    double sum_s = 0.0;
  };
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, int>, std::uint64_t> requests_;
  std::map<std::string, Histogram> jobs_;
  std::map<std::string, std::uint64_t> rejections_;
};

// Maps a request path onto the fixed route labels used in metrics and logs.
std::string_view route_label(std::string_view method, std::string_view path) noexcept;

}  // namespace spectrum::server
