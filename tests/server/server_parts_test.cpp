// The service's small parts, each with its numbers: token buckets, admission bounds, client identity,
// CORS matching and mastered names.
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "server/admission.h"
#include "server/api_error.h"
#include "server/cors.h"
#include "server/mastered_name.h"
#include "server/rate_limiter.h"
#include "server/request_identity.h"
#include "server/uuid.h"

namespace spectrum::server {
namespace {

using namespace std::chrono_literals;

TEST(RateLimiter, AllowsTheBurstThenRefillsAtTheRate) {
  RateLimiter limiter(60.0, 3.0);  // one token per second
  const auto t0 = RateLimiter::Clock::time_point{} + 1000s;
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.take("a", t0).allowed) << i;
  const auto refused = limiter.take("a", t0);
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.retry_after_s, 1);
  EXPECT_FALSE(limiter.take("a", t0 + 900ms).allowed);
  EXPECT_TRUE(limiter.take("a", t0 + 1100ms).allowed);
  EXPECT_TRUE(limiter.take("b", t0).allowed) << "clients have their own buckets";
  // After a long pause the bucket holds at most the burst.
  const auto later = t0 + 3600s;
  int allowed = 0;
  for (int i = 0; i < 10; ++i) allowed += limiter.take("a", later).allowed ? 1 : 0;
  EXPECT_EQ(allowed, 3);
}

TEST(RateLimiter, RetryAfterCoversTheWaitForOneToken) {
  RateLimiter limiter(6.0, 1.0);  // one token per 10 s
  const auto t0 = RateLimiter::Clock::time_point{} + 1000s;
  EXPECT_TRUE(limiter.take("a", t0).allowed);
  EXPECT_EQ(limiter.take("a", t0).retry_after_s, 10);
  EXPECT_EQ(limiter.take("a", t0 + 4s).retry_after_s, 6);
}

TEST(RateLimiter, ZeroRateDisablesAndTheClientTableStaysBounded) {
  RateLimiter off(0.0, 1.0);
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(off.take("a", RateLimiter::Clock::now()).allowed);
  RateLimiter bounded(60.0, 2.0, 100);
  const auto t0 = RateLimiter::Clock::time_point{} + 1000s;
  for (int i = 0; i < 1000; ++i) bounded.take("client-" + std::to_string(i), t0);
  EXPECT_LE(bounded.tracked_clients(), 100u);
}

TEST(Admission, RunsAtMostNQueuesAtMostQAndRefusesTheRest) {
  JobAdmission admission(2, 1);
  EXPECT_EQ(admission.acquire(), JobAdmission::Outcome::kAdmitted);
  EXPECT_EQ(admission.acquire(), JobAdmission::Outcome::kAdmitted);
  std::atomic<bool> queued_admitted{false};
  std::thread waiter([&] { queued_admitted = admission.acquire() == JobAdmission::Outcome::kAdmitted; });
  while (admission.waiting() != 1) std::this_thread::sleep_for(1ms);
  EXPECT_EQ(admission.acquire(), JobAdmission::Outcome::kOverCapacity);
  EXPECT_EQ(admission.running(), 2);
  admission.release();
  waiter.join();
  EXPECT_TRUE(queued_admitted);
  EXPECT_EQ(admission.running(), 2);
  EXPECT_EQ(admission.waiting(), 0);
  admission.release();
  admission.release();
  EXPECT_EQ(admission.running(), 0);
}

TEST(Admission, DrainFailsQueuedJobsAndRefusesNewOnesWhileRunningOnesFinish) {
  JobAdmission admission(1, 4);
  ASSERT_EQ(admission.acquire(), JobAdmission::Outcome::kAdmitted);
  std::vector<std::thread> waiters;
  std::atomic<int> shut_out{0};
  for (int i = 0; i < 3; ++i) {
    waiters.emplace_back([&] {
      if (admission.acquire() == JobAdmission::Outcome::kShuttingDown) ++shut_out;
    });
  }
  while (admission.waiting() != 3) std::this_thread::sleep_for(1ms);
  admission.drain();
  for (auto& w : waiters) w.join();
  EXPECT_EQ(shut_out, 3);
  EXPECT_EQ(admission.acquire(), JobAdmission::Outcome::kShuttingDown);
  EXPECT_EQ(admission.running(), 1);
  EXPECT_FALSE(admission.wait_until_idle(std::chrono::steady_clock::now() + 20ms));
  std::thread finisher([&] {
    std::this_thread::sleep_for(30ms);
    admission.release();
  });
  EXPECT_TRUE(admission.wait_until_idle(std::chrono::steady_clock::now() + 5s));
  finisher.join();
}

TEST(RequestIdentity, BearerTokensAndConstantTimeComparison) {
  EXPECT_EQ(bearer_token("Bearer abc").value_or(""), "abc");
  EXPECT_EQ(bearer_token("bearer   abc  ").value_or(""), "abc");
  EXPECT_FALSE(bearer_token("Basic abc").has_value());
  EXPECT_FALSE(bearer_token("Bearer ").has_value());
  EXPECT_FALSE(bearer_token("").has_value());
  EXPECT_TRUE(token_matches("secret-token-123", "secret-token-123"));
  EXPECT_FALSE(token_matches("secret-token-124", "secret-token-123"));
  EXPECT_FALSE(token_matches("secret-token-12", "secret-token-123"));
  EXPECT_FALSE(token_matches("", "secret-token-123"));
}

TEST(RequestIdentity, ForwardedForCountsTrustedHopsFromTheRight) {
  EXPECT_EQ(client_address("10.0.0.1", "1.2.3.4", 0), "10.0.0.1");
  EXPECT_EQ(client_address("10.0.0.1", "6.6.6.6, 1.2.3.4", 1), "1.2.3.4");
  EXPECT_EQ(client_address("10.0.0.1", "6.6.6.6, 1.2.3.4, 35.1.1.1", 2), "1.2.3.4");
  EXPECT_EQ(client_address("10.0.0.1", "1.2.3.4", 2), "10.0.0.1") << "too few hops: not via the proxies";
  EXPECT_EQ(client_address("10.0.0.1", "", 1), "10.0.0.1");
}

TEST(Cors, ListedOriginsOnlyAndLoopbackByDefault) {
  const CorsPolicy listed(std::vector<std::string>{"https://app.example.com"});
  EXPECT_TRUE(listed.allows("https://app.example.com"));
  EXPECT_FALSE(listed.allows("https://app.example.com.evil.net"));
  EXPECT_FALSE(listed.allows("http://app.example.com"));
  EXPECT_FALSE(listed.allows("http://localhost:3000"));
  EXPECT_FALSE(listed.allows(""));
  const CorsPolicy development(std::nullopt);
  EXPECT_TRUE(development.allows("http://localhost:5173"));
  EXPECT_TRUE(development.allows("http://127.0.0.1"));
  EXPECT_TRUE(development.allows("http://[::1]:8080"));
  EXPECT_FALSE(development.allows("http://localhost.evil.net"));
  EXPECT_FALSE(development.allows("http://localhost:80x"));
  EXPECT_FALSE(development.allows("https://example.com"));
  EXPECT_TRUE(CorsPolicy(std::vector<std::string>{"*"}).allows("https://anything.example"));
}

TEST(MasteredName, InsertsBeforeTheLastExtensionOnly) {
  EXPECT_EQ(mastered_object_name("a.b/c.song.mp3").value(), "a.b/c.song_mastered.mp3");
  EXPECT_EQ(mastered_object_name("song.wav").value(), "song_mastered.wav");
  EXPECT_EQ(mastered_object_name("dir.v1/song").value(), "dir.v1/song_mastered");
  EXPECT_EQ(mastered_object_name(".hidden").value(), ".hidden_mastered");
  EXPECT_EQ(mastered_object_name("x_mastered.wav").value(), "x_mastered_mastered.wav");
  EXPECT_EQ(mastered_object_name("a.b/c.song.mp3", ".wav").value(), "a.b/c.song_mastered.wav");
  EXPECT_EQ(mastered_object_name("song", ".flac").value(), "song_mastered.flac");
  EXPECT_FALSE(mastered_object_name("../x.wav").ok());
  std::string deep;
  for (int i = 0; i < 5; ++i) deep += std::string(199, 'd') + "/";
  EXPECT_FALSE(mastered_object_name(deep + "abcdefghijklmn.wav").ok()) << "the result would exceed 1024 bytes";
}

TEST(MasteredName, ALongLastSegmentLosesTheEndOfItsStemAtACharacterBoundary) {
  const std::string longest = std::string(196, 's') + ".wav";  // a segment of exactly 200 bytes
  const auto name = mastered_object_name("in/" + longest);
  ASSERT_TRUE(name.ok()) << name.error().message;
  EXPECT_EQ(name.value(), "in/" + std::string(187, 's') + "_mastered.wav");
  std::string accents;
  for (int i = 0; i < 98; ++i) accents += "\xC3\xA9";  // é, two bytes each
  const auto utf8 = mastered_object_name(accents + ".wav");
  ASSERT_TRUE(utf8.ok()) << utf8.error().message;
  EXPECT_EQ(utf8.value(), accents.substr(0, 186) + "_mastered.wav") << "cut between the bytes of a character";
}

TEST(ApiErrors, EngineAndStorageCodesMapToTheDocumentedStatuses) {
  EXPECT_EQ(api_error_from_engine({ErrorCode::kInvalidArgument, "x"}).status, 400);
  EXPECT_EQ(api_error_from_engine({ErrorCode::kNotFound, "x"}).status, 404);
  EXPECT_EQ(api_error_from_engine({ErrorCode::kTooLarge, "x"}).status, 413);
  EXPECT_EQ(api_error_from_engine({ErrorCode::kCorruptInput, "x"}).status, 422);
  EXPECT_EQ(api_error_from_engine({ErrorCode::kUnsupported, "x"}).status, 422);
  EXPECT_EQ(api_error_from_engine({ErrorCode::kUnavailable, "x"}).status, 503);
  EXPECT_EQ(api_error_from_engine({ErrorCode::kCancelled, "x"}).status, 503);
  EXPECT_EQ(api_error_from_engine({ErrorCode::kTimeout, "x"}).status, 504);
  const ApiError internal = api_error_from_engine({ErrorCode::kInternal, "/tmp/secret/path exploded"});
  EXPECT_EQ(internal.status, 500);
  EXPECT_EQ(internal.message.find("/tmp"), std::string::npos);
  EXPECT_EQ(api_error_from_engine({ErrorCode::kIoError, "x"}).status, 500);
  EXPECT_EQ(api_error_from_storage({ErrorCode::kNotFound, "x"}, "input object").status, 404);
  EXPECT_EQ(api_error_from_storage({ErrorCode::kTimeout, "x"}, "input object").status, 504);
  EXPECT_EQ(api_error_from_storage({ErrorCode::kUnavailable, "x"}, "input object").status, 502);
  const ApiError storage = api_error_from_storage({ErrorCode::kIoError, "EACCES /data/objects"}, "input object");
  EXPECT_EQ(storage.status, 502);
  EXPECT_EQ(storage.message.find("/data"), std::string::npos);
}

TEST(Uuid, IsVersion4AndUnique) {
  const std::string a = make_uuid_v4();
  const std::string b = make_uuid_v4();
  ASSERT_EQ(a.size(), 36u);
  EXPECT_EQ(a[14], '4');
  EXPECT_NE(std::string("89ab").find(a[19]), std::string::npos);
  EXPECT_NE(a, b);
}

}  // namespace
}  // namespace spectrum::server
