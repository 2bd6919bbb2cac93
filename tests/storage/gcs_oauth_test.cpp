// Token exchange against a loopback token endpoint (cpp-httplib on 127.0.0.1, an ephemeral port) named as
// the key's token_uri. The endpoint verifies our JWT like Google does (RS256 against the key's public half,
// then the claims), and the tests check caching, refresh before expiry, retried 5xx and concurrency.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>
#include <vector>

#include "storage/credentials.h"
#include "storage/credentials_crypto.h"
#include "storage/oauth.h"

namespace spectrum::storage {
namespace {

const std::filesystem::path kKeyPath =
    std::filesystem::path(SPECTRUM_SHARED_DIR) / "conformance" / "gcs" / "test_service_account.not-a-test.json";

// A fake token endpoint. Every verified exchange returns a new token "token-<n>".
class TokenEndpoint {
 public:
  explicit TokenEndpoint(std::string public_pem) : pem_(std::move(public_pem)) {
    server_.set_keep_alive_max_count(1);  // close each connection, so stop() need not wait out keep-alive
    server_.Post("/token", [this](const httplib::Request& request, httplib::Response& response) {
      ++requests_;
      if (failures_left_.fetch_sub(1) > 0) {
        response.status = 503;
        response.set_content(R"({"error":"backend_error"})", "application/json");
        return;
      }
      std::string problem = verify(request);
      if (!problem.empty()) {
        last_problem_ = problem;
        response.status = 400;
        response.set_content(nlohmann::json{{"error", "invalid_grant"}, {"error_description", problem}}.dump(),
                             "application/json");
        return;
      }
      // A little latency makes concurrent callers overlap.
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      const int n = ++issued_;
      response.set_content(
          nlohmann::json{{"access_token", "token-" + std::to_string(n)}, {"expires_in", 3600}, {"token_type", "Bearer"}}
              .dump(),
          "application/json");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~TokenEndpoint() {
    server_.stop();
    thread_.join();
  }

  [[nodiscard]] std::string uri() const { return "http://127.0.0.1:" + std::to_string(port_) + "/token"; }
  void fail_next(int count) { failures_left_ = count; }
  int requests() const { return requests_; }
  int issued() const { return issued_; }
  std::string last_problem() const { return last_problem_; }
  nlohmann::json last_claims() const {
    std::lock_guard lock(mutex_);
    return last_claims_;
  }

 private:
  std::string verify(const httplib::Request& request) {
    if (request.get_param_value("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer") return "grant_type";
    const std::string jwt = request.get_param_value("assertion");
    const auto first = jwt.find('.');
    const auto second = jwt.find('.', first + 1);
    if (first == std::string::npos || second == std::string::npos) return "not a JWT";
    auto header = base64_decode(jwt.substr(0, first));
    auto claims = base64_decode(jwt.substr(first + 1, second - first - 1));
    auto signature = base64_decode(jwt.substr(second + 1));
    if (!header || !claims || !signature) return "bad base64url";
    if (!verify_rs256(pem_, jwt.substr(0, second), *signature)) return "bad RS256 signature";
    const auto header_json = nlohmann::json::parse(*header);
    if (header_json.value("alg", "") != "RS256") return "alg";
    std::lock_guard lock(mutex_);
    last_claims_ = nlohmann::json::parse(*claims);
    return "";
  }

  std::string pem_;
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  std::atomic<int> failures_left_{0};
  std::atomic<int> requests_{0};
  std::atomic<int> issued_{0};
  std::string last_problem_;
  mutable std::mutex mutex_;
  nlohmann::json last_claims_;
};

// A clock the test moves by hand.
struct ManualClock {
  std::chrono::system_clock::time_point now =
      std::chrono::system_clock::time_point{std::chrono::seconds{1'700'000'000}};
  SystemClock function() {
    return [this] { return now; };
  }
};

RetryPolicy fast_policy() {
  RetryPolicy policy;
  policy.max_attempts = 4;
  policy.initial_backoff = std::chrono::milliseconds{1};
  policy.max_backoff = std::chrono::milliseconds{4};
  return policy;
}

class OAuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto key = load_service_account_key(kKeyPath);
    ASSERT_TRUE(key.ok()) << key.error().message;
    key_ = *key;
    endpoint_ = std::make_unique<TokenEndpoint>(key_.private_key_pem);  // verify with the key's public half
    key_.token_uri = endpoint_->uri();
    auto signer = make_rsa_signer(key_.client_email, key_.private_key_pem);
    ASSERT_TRUE(signer.ok());
    signer_ = std::move(*signer);
  }

  std::unique_ptr<TokenCache> make_cache(std::chrono::seconds refresh_margin = std::chrono::seconds{300}) {
    return std::make_unique<TokenCache>(
        make_service_account_token_source(key_, signer_, std::string(kStorageScope), clock_.function()), fast_policy(),
        clock_.function(), refresh_margin);
  }

  ServiceAccountKey key_;
  std::unique_ptr<TokenEndpoint> endpoint_;
  std::shared_ptr<BlobSigner> signer_;
  ManualClock clock_;
};

TEST_F(OAuthTest, JwtIsVerifiedAndCarriesTheClaims) {
  auto cache = make_cache();
  auto token = cache->token();
  ASSERT_TRUE(token.ok()) << token.error().message << " / endpoint said: " << endpoint_->last_problem();
  EXPECT_EQ(*token, "token-1");
  const nlohmann::json claims = endpoint_->last_claims();
  const long long now_s = std::chrono::duration_cast<std::chrono::seconds>(clock_.now.time_since_epoch()).count();
  EXPECT_EQ(claims.at("iss"), key_.client_email);
  EXPECT_EQ(claims.at("scope"), std::string(kStorageScope));
  EXPECT_EQ(claims.at("aud"), endpoint_->uri());
  EXPECT_EQ(claims.at("iat").get<long long>(), now_s);
  EXPECT_EQ(claims.at("exp").get<long long>(), now_s + 3600);
}

TEST_F(OAuthTest, ATamperedJwtIsRejectedByTheVerifier) {
  // The endpoint's verification itself must be able to fail: sign with a different key.
  const char* other_key_cmd = "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 2>/dev/null";
  FILE* pipe = popen(other_key_cmd, "r");
  ASSERT_NE(pipe, nullptr);
  std::string pem;
  char buffer[4096];
  while (const std::size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) pem.append(buffer, n);
  pclose(pipe);
  ASSERT_NE(pem.find("PRIVATE KEY"), std::string::npos);
  auto other = make_rsa_signer(key_.client_email, pem);
  ASSERT_TRUE(other.ok());
  TokenCache cache(
      make_service_account_token_source(key_, std::move(*other), std::string(kStorageScope), clock_.function()),
      fast_policy(), clock_.function());
  auto token = cache.token();
  ASSERT_FALSE(token.ok());
  EXPECT_EQ(token.error().code, ErrorCode::kInvalidArgument);  // 400 invalid_grant is not retried
  EXPECT_EQ(endpoint_->last_problem(), "bad RS256 signature");
  EXPECT_EQ(endpoint_->requests(), 1);
}

TEST_F(OAuthTest, TokenIsCachedUntilTheRefreshMargin) {
  auto cache = make_cache(std::chrono::seconds{300});
  EXPECT_EQ(*cache->token(), "token-1");
  clock_.now += std::chrono::seconds{3000};  // 600 s left: still cached
  EXPECT_EQ(*cache->token(), "token-1");
  EXPECT_EQ(endpoint_->issued(), 1);
  clock_.now += std::chrono::seconds{301};  // 299 s left: inside the margin, refresh before expiry
  EXPECT_EQ(*cache->token(), "token-2");
  EXPECT_EQ(*cache->token(), "token-2");
  EXPECT_EQ(endpoint_->issued(), 2);
}

TEST_F(OAuthTest, ServerErrorsFromTheTokenEndpointAreRetried) {
  endpoint_->fail_next(2);
  auto cache = make_cache();
  auto token = cache->token();
  ASSERT_TRUE(token.ok()) << token.error().message;
  EXPECT_EQ(*token, "token-1");
  EXPECT_EQ(endpoint_->requests(), 3);  // two 503s, then success
}

TEST_F(OAuthTest, PersistentServerErrorsGiveUpAfterTheAttemptBound) {
  endpoint_->fail_next(100);
  auto cache = make_cache();
  auto token = cache->token();
  ASSERT_FALSE(token.ok());
  EXPECT_EQ(token.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(endpoint_->requests(), fast_policy().max_attempts);
  EXPECT_EQ(token.error().message.find("token-"), std::string::npos);
}

TEST_F(OAuthTest, ConcurrentCallersShareOneExchange) {
  auto cache = make_cache();
  constexpr int kThreads = 16;
  std::vector<std::thread> threads;
  std::vector<std::string> tokens(kThreads);
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      auto token = cache->token();
      tokens[static_cast<std::size_t>(i)] = token.ok() ? *token : "error: " + token.error().message;
    });
  }
  for (auto& thread : threads) thread.join();
  for (const auto& token : tokens) EXPECT_EQ(token, "token-1");
  EXPECT_EQ(endpoint_->issued(), 1);
}

TEST(Credentials, OrderIsJsonThenPathThenMetadataServer) {
  std::ifstream in(kKeyPath);
  std::stringstream json;
  json << in.rdbuf();
  auto from_json = resolve_credentials(json.str(), "/nonexistent/key.json");
  ASSERT_TRUE(from_json.ok());
  EXPECT_EQ(from_json->source, CredentialSource::kKeyJson);
  EXPECT_EQ(from_json->key->client_email, "test-iam-credentials@dummy-project-id.iam.gserviceaccount.com");
  auto from_path = resolve_credentials("", kKeyPath.string());
  ASSERT_TRUE(from_path.ok());
  EXPECT_EQ(from_path->source, CredentialSource::kKeyFile);
  EXPECT_EQ(from_path->key->token_uri, "https://oauth2.googleapis.com/token");
  auto from_metadata = resolve_credentials("", "");
  ASSERT_TRUE(from_metadata.ok());
  EXPECT_EQ(from_metadata->source, CredentialSource::kMetadataServer);
  EXPECT_FALSE(from_metadata->key.has_value());
  // A key that is named but broken is an error, not a silent fallback to the next source.
  EXPECT_EQ(resolve_credentials("{not json", "").error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(resolve_credentials("", "/nonexistent/key.json").error().code, ErrorCode::kNotFound);
  const auto missing_email = resolve_credentials(R"({"type":"service_account","private_key":"x"})", "");
  EXPECT_NE(missing_email.error().message.find("client_email"), std::string::npos);
}

}  // namespace
}  // namespace spectrum::storage
