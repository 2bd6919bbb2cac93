// A token bucket per client: `burst` requests at once, refilled at `per_minute`. The table of clients
// is bounded, so a flood of distinct addresses cannot grow memory without limit.
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace spectrum::server {

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  struct Decision {
    bool allowed = true;
    int retry_after_s = 0;  // when refused: whole seconds until one token is back (at least 1)
  };

  // per_minute == 0 disables limiting (every request is allowed).
  RateLimiter(double per_minute, double burst, std::size_t max_clients = 50000);

  Decision take(std::string_view client, Clock::time_point now);

  [[nodiscard]] std::size_t tracked_clients() const;

 private:
  struct Bucket {
    double tokens;
    Clock::time_point updated;
  };
  void evict(Clock::time_point now);

  const double per_second_;
  const double burst_;
  const std::size_t max_clients_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Bucket> buckets_;
};

}  // namespace spectrum::server
