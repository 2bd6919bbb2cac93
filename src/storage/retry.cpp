#include "storage/retry.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <thread>

namespace spectrum::storage {

bool is_retryable(ErrorCode code) noexcept {
  return code == ErrorCode::kUnavailable || code == ErrorCode::kTimeout;
}

Retrier::Retrier(RetryPolicy policy, RetryEnvironment environment)
    : policy_(policy), environment_(std::move(environment)) {
  if (!environment_.now) environment_.now = [] { return std::chrono::steady_clock::now(); };
  if (!environment_.sleep) environment_.sleep = [](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); };
  if (!environment_.uniform01) {
    environment_.uniform01 = [] {
      thread_local std::mt19937_64 engine{std::random_device{}()};
      return std::uniform_real_distribution<double>(0.0, 1.0)(engine);
    };
  }
}

bool Retrier::should_retry(std::string_view operation, const Error& error, int attempt_number,
                           std::chrono::steady_clock::time_point start) {
  if (!is_retryable(error.code) || attempt_number >= policy_.max_attempts) return false;
  const double ceiling_ms = std::min(static_cast<double>(policy_.max_backoff.count()),
                                     static_cast<double>(policy_.initial_backoff.count()) *
                                         std::pow(policy_.backoff_multiplier, static_cast<double>(attempt_number - 1)));
  auto delay = std::chrono::milliseconds{static_cast<long long>(ceiling_ms * environment_.uniform01())};
  const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(environment_.now() - start);
  if (elapsed + delay >= policy_.max_total) return false;
  spdlog::warn("storage retry: operation={} attempt={} of {} delay_ms={} error=\"{}: {}\"", operation,
               attempt_number + 1, policy_.max_attempts, delay.count(), to_string(error.code), error.message);
  environment_.sleep(delay);
  return true;
}

namespace {

class RetryingStorage final : public Storage {
 public:
  RetryingStorage(std::unique_ptr<Storage> inner, RetryPolicy policy, RetryEnvironment environment)
      : inner_(std::move(inner)), retrier_(policy, std::move(environment)) {}

  Expected<ObjectInfo> stat(std::string_view name) override {
    return retrier_.run("stat", [&] { return inner_->stat(name); });
  }
  Status download(std::string_view name, const std::filesystem::path& destination) override {
    return retrier_.run("download", [&] { return inner_->download(name, destination); });
  }
  Status upload(const std::filesystem::path& source, std::string_view name, std::string_view content_type) override {
    return retrier_.run("upload", [&] { return inner_->upload(source, name, content_type); });
  }
  Status remove(std::string_view name) override {
    // A retry that finds nothing means an earlier attempt deleted it before its answer was lost.
    bool retried = false;
    return retrier_.run("remove", [&]() -> Status {
      Status status = inner_->remove(name);
      if (!status.ok() && status.error().code == ErrorCode::kNotFound && retried) return {};
      retried = true;
      return status;
    });
  }
  Expected<SignedUrl> sign_url(std::string_view name, HttpMethod method, std::chrono::seconds ttl,
                               std::string_view content_type) override {
    return retrier_.run("sign_url", [&] { return inner_->sign_url(name, method, ttl, content_type); });
  }

 private:
  std::unique_ptr<Storage> inner_;
  Retrier retrier_;
};

}  // namespace

std::unique_ptr<Storage> make_retrying_storage(std::unique_ptr<Storage> inner, RetryPolicy policy,
                                               RetryEnvironment environment) {
  return std::make_unique<RetryingStorage>(std::move(inner), policy, std::move(environment));
}

}  // namespace spectrum::storage
