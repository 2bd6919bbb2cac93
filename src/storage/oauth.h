// OAuth2 access tokens for the GCS JSON API: a signed JWT (RS256) exchanged at the key's token_uri, or a
// token from the metadata server. A TokenCache shares one token between concurrent jobs and refreshes it
// before it expires; fetches go through the same retry policy as storage calls.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "common/status.h"
#include "storage/credentials.h"
#include "storage/credentials_crypto.h"
#include "storage/retry.h"

namespace spectrum::storage {

inline constexpr std::string_view kStorageScope = "https://www.googleapis.com/auth/devstorage.read_write";
inline constexpr std::string_view kDefaultMetadataHost = "metadata.google.internal";
inline constexpr std::string_view kDefaultIamEndpoint = "https://iamcredentials.googleapis.com";

struct AccessToken {
  std::string value;
  std::chrono::system_clock::time_point expires_at;
};

// One fetch of a fresh token; no caching.
class TokenSource {
 public:
  virtual ~TokenSource() = default;
  virtual Expected<AccessToken> fetch() = 0;
};

using SystemClock = std::function<std::chrono::system_clock::time_point()>;

// The JWT bearer assertion: header {"alg":"RS256","typ":"JWT","kid"}, claims iss, scope, aud, iat, exp.
Expected<std::string> make_jwt_assertion(const ServiceAccountKey& key, BlobSigner& signer, std::string_view scope,
                                         std::chrono::system_clock::time_point now,
                                         std::chrono::seconds lifetime = std::chrono::seconds{3600});

std::unique_ptr<TokenSource> make_service_account_token_source(ServiceAccountKey key,
                                                               std::shared_ptr<BlobSigner> signer, std::string scope,
                                                               SystemClock clock = {});
// GCE_METADATA_HOST-style host (host[:port], http). The service account is the attached one ("default").
std::unique_ptr<TokenSource> make_metadata_token_source(std::string metadata_host, SystemClock clock = {});

// Thread-safe: callers wait while one of them refreshes; a token is refreshed `refresh_margin` before expiry.
class TokenCache {
 public:
  TokenCache(std::unique_ptr<TokenSource> source, RetryPolicy policy, SystemClock clock = {},
             std::chrono::seconds refresh_margin = std::chrono::seconds{300}, RetryEnvironment environment = {});

  Expected<std::string> token();

 private:
  std::unique_ptr<TokenSource> source_;
  Retrier retrier_;
  SystemClock clock_;
  std::chrono::seconds refresh_margin_;
  std::mutex mutex_;
  AccessToken cached_;
};

// Signs through the IAM Credentials signBlob call, for the keyless (metadata server) setup; the attached
// service account needs roles/iam.serviceAccountTokenCreator on itself. The e-mail is looked up from the
// metadata server on first use when `client_email` is empty.
std::unique_ptr<BlobSigner> make_iam_signer(std::string client_email, std::shared_ptr<TokenCache> tokens,
                                            std::string metadata_host,
                                            std::string iam_endpoint = std::string(kDefaultIamEndpoint));

}  // namespace spectrum::storage
