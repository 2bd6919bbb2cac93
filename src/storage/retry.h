// Retry as a decorator (the google-cloud-cpp shape): exponential backoff with full jitter, bounded in
// attempts and in total time, applied only to errors that may pass (kUnavailable, kTimeout: HTTP 408, 429,
// 5xx and transport failures). Each retry is logged with the operation, the attempt and the delay.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <random>
#include <string_view>

#include "common/status.h"
#include "storage/storage.h"

namespace spectrum::storage {

struct RetryPolicy {
  int max_attempts = 5;  // including the first
  std::chrono::milliseconds initial_backoff{200};
  std::chrono::milliseconds max_backoff{10'000};
  double backoff_multiplier = 2.0;
  std::chrono::milliseconds max_total{60'000};  // no new attempt starts after this much time
};

bool is_retryable(ErrorCode code) noexcept;

// The clock and the sleep are injectable so that tests run instantly and deterministically.
struct RetryEnvironment {
  std::function<std::chrono::steady_clock::time_point()> now = [] { return std::chrono::steady_clock::now(); };
  std::function<void(std::chrono::milliseconds)> sleep;  // default: std::this_thread::sleep_for
  std::function<double()> uniform01;                     // default: a thread-local Mersenne twister
};

// Runs `attempt` until it succeeds, fails with a non-retryable error, or the policy is exhausted; then
// returns the last result. The delay before retry n (n >= 1) is uniform in [0, min(max, initial * mult^(n-1))].
class Retrier {
 public:
  explicit Retrier(RetryPolicy policy, RetryEnvironment environment = {});

  template <class F>
  auto run(std::string_view operation, F&& attempt) -> decltype(attempt()) {
    const auto start = environment_.now();
    for (int attempt_number = 1;; ++attempt_number) {
      auto result = attempt();
      if (result.ok() || !should_retry(operation, result.error(), attempt_number, start)) return result;
    }
  }

  [[nodiscard]] const RetryPolicy& policy() const noexcept { return policy_; }

 private:
  // Decides, logs and sleeps. False when the error is final.
  bool should_retry(std::string_view operation, const Error& error, int attempt_number,
                    std::chrono::steady_clock::time_point start);

  RetryPolicy policy_;
  RetryEnvironment environment_;
};

// Wraps any Storage so that every operation is retried under `policy`. sign_url is local (or one IAM call
// that the token policy covers) and is retried the same way.
std::unique_ptr<Storage> make_retrying_storage(std::unique_ptr<Storage> inner, RetryPolicy policy,
                                               RetryEnvironment environment = {});

}  // namespace spectrum::storage
