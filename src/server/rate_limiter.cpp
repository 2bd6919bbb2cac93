#include "server/rate_limiter.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace spectrum::server {

RateLimiter::RateLimiter(double per_minute, double burst, std::size_t max_clients)
    : per_second_(per_minute / 60.0),
      burst_(std::max(1.0, burst)),
      max_clients_(std::max<std::size_t>(1, max_clients)) {}

RateLimiter::Decision RateLimiter::take(std::string_view client, Clock::time_point now) {
  if (per_second_ <= 0.0) return {};
  const std::lock_guard lock(mutex_);
  auto it = buckets_.find(std::string(client));
  if (it == buckets_.end()) {
    if (buckets_.size() >= max_clients_) evict(now);
    it = buckets_.emplace(std::string(client), Bucket{burst_, now}).first;
  }
  Bucket& bucket = it->second;
  const double elapsed_s = std::chrono::duration<double>(now - bucket.updated).count();
  bucket.tokens = std::min(burst_, bucket.tokens + std::max(0.0, elapsed_s) * per_second_);
  bucket.updated = std::max(bucket.updated, now);
  if (bucket.tokens >= 1.0) {
    bucket.tokens -= 1.0;
    return {};
  }
  const double wait_s = (1.0 - bucket.tokens) / per_second_;
  return {false, std::max(1, static_cast<int>(std::ceil(wait_s)))};
}

void RateLimiter::evict(Clock::time_point now) {
  // Buckets that have refilled completely carry no state worth keeping.
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    const double elapsed_s = std::chrono::duration<double>(now - it->second.updated).count();
    if (it->second.tokens + elapsed_s * per_second_ >= burst_) {
      it = buckets_.erase(it);
    } else {
      ++it;
    }
  }
  if (buckets_.size() < max_clients_) return;
  // Still full: drop the least recently seen half. Those clients start again with a full bucket,
  // which only errs towards letting requests through.
  std::vector<std::pair<Clock::time_point, std::string>> by_age;
  by_age.reserve(buckets_.size());
  for (const auto& [key, bucket] : buckets_) by_age.emplace_back(bucket.updated, key);
  const auto half = by_age.begin() + static_cast<std::ptrdiff_t>(by_age.size() / 2);
  std::nth_element(by_age.begin(), half, by_age.end());
  for (auto it = by_age.begin(); it != half; ++it) buckets_.erase(it->second);
}

std::size_t RateLimiter::tracked_clients() const {
  const std::lock_guard lock(mutex_);
  return buckets_.size();
}

}  // namespace spectrum::server
