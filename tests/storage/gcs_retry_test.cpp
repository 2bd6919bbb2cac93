// The retry decorator against a scripted fake backend, with an injected clock, sleep and jitter so the
// backoff schedule is asserted exactly and the test takes no wall time.
#include <gtest/gtest.h>

#include <deque>
#include <vector>

#include "storage/retry.h"

namespace spectrum::storage {
namespace {

// Answers each call with the next scripted error, then with success.
class ScriptedStorage final : public Storage {
 public:
  explicit ScriptedStorage(std::deque<ErrorCode> failures) : failures_(std::move(failures)) {}
  int calls = 0;

  Expected<ObjectInfo> stat(std::string_view) override {
    if (auto error = next()) return *error;
    return ObjectInfo{42, "audio/wav"};
  }
  Status download(std::string_view, const std::filesystem::path&) override { return status(); }
  Status upload(const std::filesystem::path&, std::string_view, std::string_view) override { return status(); }
  Status remove(std::string_view) override { return status(); }
  Expected<SignedUrl> sign_url(std::string_view, HttpMethod, std::chrono::seconds, std::string_view) override {
    if (auto error = next()) return *error;
    return SignedUrl{"https://example.invalid/signed", {}};
  }

 private:
  std::optional<Error> next() {
    ++calls;
    if (failures_.empty()) return std::nullopt;
    const ErrorCode code = failures_.front();
    failures_.pop_front();
    return make_error(code, "scripted");
  }
  Status status() {
    if (auto error = next()) return *error;
    return {};
  }
  std::deque<ErrorCode> failures_;
};

struct FakeTime {
  std::chrono::steady_clock::time_point now{};
  std::vector<std::chrono::milliseconds> sleeps;
  double jitter = 1.0;  // the upper end of full jitter: the delay equals the ceiling
  RetryEnvironment environment() {
    RetryEnvironment env;
    env.now = [this] { return now; };
    env.sleep = [this](std::chrono::milliseconds d) {
      sleeps.push_back(d);
      now += d;
    };
    env.uniform01 = [this] { return jitter; };
    return env;
  }
};

RetryPolicy policy(int attempts) {
  RetryPolicy p;
  p.max_attempts = attempts;
  p.initial_backoff = std::chrono::milliseconds{100};
  p.max_backoff = std::chrono::milliseconds{1000};
  p.backoff_multiplier = 2.0;
  p.max_total = std::chrono::milliseconds{60'000};
  return p;
}

struct Fixture {
  FakeTime time;
  ScriptedStorage* backend = nullptr;
  std::unique_ptr<Storage> storage;
  Fixture(std::deque<ErrorCode> failures, RetryPolicy p) {
    auto inner = std::make_unique<ScriptedStorage>(std::move(failures));
    backend = inner.get();
    storage = make_retrying_storage(std::move(inner), p, time.environment());
  }
};

TEST(RetryingStorage, RetriesTransientErrorsWithExponentialBackoff) {
  Fixture f({ErrorCode::kUnavailable, ErrorCode::kTimeout, ErrorCode::kUnavailable, ErrorCode::kUnavailable,
             ErrorCode::kUnavailable},
            policy(6));
  auto info = f.storage->stat("a/b.wav");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->size_bytes, 42u);
  EXPECT_EQ(f.backend->calls, 6);
  // 100, 200, 400, 800, then capped at 1000 ms.
  const std::vector<std::chrono::milliseconds> expected{std::chrono::milliseconds{100}, std::chrono::milliseconds{200},
                                                        std::chrono::milliseconds{400}, std::chrono::milliseconds{800},
                                                        std::chrono::milliseconds{1000}};
  EXPECT_EQ(f.time.sleeps, expected);
}

TEST(RetryingStorage, FullJitterScalesTheDelay) {
  Fixture f({ErrorCode::kUnavailable, ErrorCode::kUnavailable}, policy(5));
  f.time.jitter = 0.25;
  EXPECT_TRUE(f.storage->upload("/tmp/x", "x", "audio/wav").ok());
  const std::vector<std::chrono::milliseconds> expected{std::chrono::milliseconds{25}, std::chrono::milliseconds{50}};
  EXPECT_EQ(f.time.sleeps, expected);
}

TEST(RetryingStorage, StopsAtTheAttemptBound) {
  Fixture f(std::deque<ErrorCode>(5, ErrorCode::kUnavailable), policy(3));
  auto status = f.storage->download("x", "/tmp/never");
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(f.backend->calls, 3);
  EXPECT_EQ(f.time.sleeps.size(), 2u);
}

TEST(RetryingStorage, StopsAtTheTotalTimeBound) {
  RetryPolicy p = policy(100);
  p.max_total = std::chrono::milliseconds{1000};
  Fixture f(std::deque<ErrorCode>(50, ErrorCode::kTimeout), p);
  auto status = f.storage->remove("x");
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, ErrorCode::kTimeout);
  // 100 + 200 + 400 = 700 ms slept; the next delay (800 ms) would pass 1000 ms, so no fourth retry.
  EXPECT_EQ(f.backend->calls, 4);
  std::chrono::milliseconds slept{0};
  for (auto d : f.time.sleeps) slept += d;
  EXPECT_EQ(slept, std::chrono::milliseconds{700});
}

TEST(RetryingStorage, NeverRetriesPermanentErrors) {
  for (ErrorCode code : {ErrorCode::kNotFound, ErrorCode::kInvalidArgument, ErrorCode::kPermissionDenied,
                         ErrorCode::kTooLarge, ErrorCode::kIoError}) {
    Fixture f({code}, policy(5));
    auto info = f.storage->stat("x");
    ASSERT_FALSE(info.ok());
    EXPECT_EQ(info.error().code, code);
    EXPECT_EQ(f.backend->calls, 1);
    EXPECT_TRUE(f.time.sleeps.empty());
  }
}

TEST(RetryingStorage, ARemoveWhoseAnswerWasLostCountsAsDone) {
  // First attempt deleted the object but the answer never came; the retry finds nothing.
  Fixture f({ErrorCode::kUnavailable, ErrorCode::kNotFound}, policy(5));
  EXPECT_TRUE(f.storage->remove("x").ok());
  EXPECT_EQ(f.backend->calls, 2);
  // Without a prior failure, kNotFound stays an error.
  Fixture g({ErrorCode::kNotFound}, policy(5));
  EXPECT_EQ(g.storage->remove("x").error().code, ErrorCode::kNotFound);
}

TEST(RetryClassification, OnlyUnavailableAndTimeoutAreRetryable) {
  EXPECT_TRUE(is_retryable(ErrorCode::kUnavailable));
  EXPECT_TRUE(is_retryable(ErrorCode::kTimeout));
  EXPECT_FALSE(is_retryable(ErrorCode::kNotFound));
  EXPECT_FALSE(is_retryable(ErrorCode::kPermissionDenied));
  EXPECT_FALSE(is_retryable(ErrorCode::kInvalidArgument));
}

}  // namespace
}  // namespace spectrum::storage
