#include "storage/oauth.h"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "storage/http_client.h"
#include "storage/percent_encoding.h"

namespace spectrum::storage {
namespace {

SystemClock or_system_clock(SystemClock clock) {
  if (clock) return clock;
  return [] { return std::chrono::system_clock::now(); };
}

long long unix_seconds(std::chrono::system_clock::time_point time) {
  return std::chrono::duration_cast<std::chrono::seconds>(time.time_since_epoch()).count();
}

Expected<AccessToken> parse_token_response(const HttpResponse& response, std::chrono::system_clock::time_point now,
                                           std::string_view what) {
  const nlohmann::json json = nlohmann::json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object() || !json.contains("access_token") || !json.at("access_token").is_string()) {
    return make_error(ErrorCode::kUnavailable, std::string(what) + ": the answer holds no access_token");
  }
  AccessToken token;
  token.value = json.at("access_token").get<std::string>();
  const long long expires_in_s = json.contains("expires_in") && json.at("expires_in").is_number_integer()
                                     ? json.at("expires_in").get<long long>()
                                     : 3600;
  token.expires_at = now + std::chrono::seconds{expires_in_s};
  return token;
}

std::string form_encode(std::string_view text) {
  return percent_encode(text, /*keep_slash=*/false);
}

class ServiceAccountTokenSource final : public TokenSource {
 public:
  ServiceAccountTokenSource(ServiceAccountKey key, std::shared_ptr<BlobSigner> signer, std::string scope,
                            SystemClock clock)
      : key_(std::move(key)), signer_(std::move(signer)), scope_(std::move(scope)), clock_(std::move(clock)) {}

  Expected<AccessToken> fetch() override {
    const auto now = clock_();
    auto assertion = make_jwt_assertion(key_, *signer_, scope_, now);
    if (!assertion) return std::move(assertion).error();
    HttpRequest request;
    request.method = "POST";
    request.url = key_.token_uri;
    request.headers = {"Content-Type: application/x-www-form-urlencoded"};
    request.body = "grant_type=" + form_encode("urn:ietf:params:oauth:grant-type:jwt-bearer") +
                   "&assertion=" + form_encode(*assertion);
    request.timeout = std::chrono::seconds{30};
    const std::string what = "token exchange at " + redact_url(key_.token_uri);
    auto response = http_send(request);
    if (!response) return std::move(response).error();
    if (!response->ok()) return http_status_error(response->status, what, response->body);
    return parse_token_response(*response, now, what);
  }

 private:
  ServiceAccountKey key_;
  std::shared_ptr<BlobSigner> signer_;
  std::string scope_;
  SystemClock clock_;
};

Expected<HttpResponse> metadata_get(const std::string& metadata_host, std::string_view path) {
  HttpRequest request;
  request.url = "http://" + metadata_host + std::string(path);
  request.headers = {"Metadata-Flavor: Google"};
  request.connect_timeout = std::chrono::seconds{2};
  request.timeout = std::chrono::seconds{10};
  auto response = http_send(request);
  if (!response) return std::move(response).error();
  if (!response->ok())
    return http_status_error(response->status, "metadata server " + std::string(path), response->body);
  return response;
}

class MetadataTokenSource final : public TokenSource {
 public:
  MetadataTokenSource(std::string host, SystemClock clock) : host_(std::move(host)), clock_(std::move(clock)) {}

  Expected<AccessToken> fetch() override {
    const auto now = clock_();
    auto response = metadata_get(host_, "/computeMetadata/v1/instance/service-accounts/default/token");
    if (!response) return std::move(response).error();
    return parse_token_response(*response, now, "metadata server token");
  }

 private:
  std::string host_;
  SystemClock clock_;
};

class IamSigner final : public BlobSigner {
 public:
  IamSigner(std::string email, std::shared_ptr<TokenCache> tokens, std::string metadata_host, std::string endpoint)
      : email_(std::move(email)),
        tokens_(std::move(tokens)),
        metadata_host_(std::move(metadata_host)),
        endpoint_(std::move(endpoint)) {}

  // sign_v4_url needs the e-mail before it signs, and the factory must not touch the network, so the
  // e-mail is learnt here, on first use.
  [[nodiscard]] const std::string& client_email() const override {
    std::lock_guard lock(mutex_);
    if (email_.empty()) {
      if (auto response = metadata_get(metadata_host_, "/computeMetadata/v1/instance/service-accounts/default/email")) {
        email_ = response->body;
      } else {
        spdlog::error("cannot learn the service account's e-mail from the metadata server: {}",
                      response.error().message);
      }
    }
    return email_;
  }

  Expected<std::string> sign(std::string_view blob) override {
    const std::string email = client_email();
    if (email.empty()) return make_error(ErrorCode::kUnavailable, "the service account's e-mail is unknown");
    auto token = tokens_->token();
    if (!token) return std::move(token).error();
    HttpRequest request;
    request.method = "POST";
    request.url = endpoint_ + "/v1/projects/-/serviceAccounts/" + percent_encode(email, false) + ":signBlob";
    request.headers = {"Content-Type: application/json", "Authorization: Bearer " + *token};
    request.body = nlohmann::json{{"payload", base64_encode(blob)}}.dump();
    request.timeout = std::chrono::seconds{30};
    auto response = http_send(request);
    if (!response) return std::move(response).error();
    if (!response->ok()) return http_status_error(response->status, "IAM signBlob", response->body);
    const nlohmann::json json = nlohmann::json::parse(response->body, nullptr, /*allow_exceptions=*/false);
    if (!json.is_object() || !json.contains("signedBlob") || !json.at("signedBlob").is_string()) {
      return make_error(ErrorCode::kUnavailable, "IAM signBlob: the answer holds no signedBlob");
    }
    return base64_decode(json.at("signedBlob").get<std::string>());
  }

 private:
  mutable std::mutex mutex_;
  mutable std::string email_;
  std::shared_ptr<TokenCache> tokens_;
  std::string metadata_host_;
  std::string endpoint_;
};

}  // namespace

Expected<std::string> make_jwt_assertion(const ServiceAccountKey& key, BlobSigner& signer, std::string_view scope,
                                         std::chrono::system_clock::time_point now, std::chrono::seconds lifetime) {
  nlohmann::json header{{"alg", "RS256"}, {"typ", "JWT"}};
  if (!key.private_key_id.empty()) header["kid"] = key.private_key_id;
  const nlohmann::json claims{{"iss", key.client_email},
                              {"scope", scope},
                              {"aud", key.token_uri},
                              {"iat", unix_seconds(now)},
                              {"exp", unix_seconds(now + lifetime)}};
  const std::string signing_input = base64url_encode(header.dump()) + "." + base64url_encode(claims.dump());
  auto signature = signer.sign(signing_input);
  if (!signature) return std::move(signature).error();
  return signing_input + "." + base64url_encode(*signature);
}

std::unique_ptr<TokenSource> make_service_account_token_source(ServiceAccountKey key,
                                                               std::shared_ptr<BlobSigner> signer, std::string scope,
                                                               SystemClock clock) {
  return std::make_unique<ServiceAccountTokenSource>(std::move(key), std::move(signer), std::move(scope),
                                                     or_system_clock(std::move(clock)));
}

std::unique_ptr<TokenSource> make_metadata_token_source(std::string metadata_host, SystemClock clock) {
  return std::make_unique<MetadataTokenSource>(std::move(metadata_host), or_system_clock(std::move(clock)));
}

TokenCache::TokenCache(std::unique_ptr<TokenSource> source, RetryPolicy policy, SystemClock clock,
                       std::chrono::seconds refresh_margin, RetryEnvironment environment)
    : source_(std::move(source)),
      retrier_(policy, std::move(environment)),
      clock_(or_system_clock(std::move(clock))),
      refresh_margin_(refresh_margin) {}

Expected<std::string> TokenCache::token() {
  // Holding the lock across the fetch makes concurrent callers share one refresh instead of stampeding.
  std::lock_guard lock(mutex_);
  if (!cached_.value.empty() && clock_() + refresh_margin_ < cached_.expires_at) return cached_.value;
  auto fresh = retrier_.run("token", [&] { return source_->fetch(); });
  if (!fresh) return std::move(fresh).error();
  cached_ = std::move(*fresh);
  return cached_.value;
}

std::unique_ptr<BlobSigner> make_iam_signer(std::string client_email, std::shared_ptr<TokenCache> tokens,
                                            std::string metadata_host, std::string iam_endpoint) {
  return std::make_unique<IamSigner>(std::move(client_email), std::move(tokens), std::move(metadata_host),
                                     std::move(iam_endpoint));
}

}  // namespace spectrum::storage
