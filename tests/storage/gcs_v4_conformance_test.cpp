// Google's public V4 signing conformance vectors (../shared/conformance/gcs/v4_signatures.json), signed with
// the throwaway key in the same folder: every case we support must match expectedUrl, the canonical
// request and the string to sign byte for byte. Skipped cases are printed with the reason.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "storage/credentials.h"
#include "storage/v4_sign.h"

namespace spectrum::storage {
namespace {

const std::filesystem::path kConformanceDir = std::filesystem::path(SPECTRUM_SHARED_DIR) / "conformance" / "gcs";
const std::filesystem::path kKeyPath = kConformanceDir / "test_service_account.not-a-test.json";

nlohmann::json load_vectors() {
  std::ifstream in(kConformanceDir / "v4_signatures.json");
  return nlohmann::json::parse(in);
}

std::string string_field(const nlohmann::json& json, const char* name, const std::string& fallback = "") {
  return json.contains(name) ? json.at(name).get<std::string>() : fallback;
}

// The reason we do not claim a case, or empty when we do.
std::string skip_reason(const nlohmann::json& test) {
  if (test.contains("universeDomain") && string_field(test, "urlStyle") == "VIRTUAL_HOSTED_STYLE") {
    return "the vector's canonical request signs the path-style resource (/bucket/object) while its URL is "
           "virtual-hosted (/object); the two are inconsistent, so no signer that GCS verifies can match it";
  }
  return "";
}

// Maps the vector's client options onto a signing request, with the official clients' precedence:
// hostname > client endpoint > emulator host > universe domain > storage.googleapis.com.
V4SignRequest to_request(const nlohmann::json& test) {
  V4SignRequest request;
  request.method = test.at("method").get<std::string>();
  request.bucket = test.at("bucket").get<std::string>();
  request.object = string_field(test, "object");
  request.expires = std::chrono::seconds{test.at("expiration").get<long>()};
  request.timestamp = parse_iso8601_utc(test.at("timestamp").get<std::string>()).value();
  const std::string scheme = string_field(test, "scheme", "https");
  Endpoint endpoint{scheme, std::string(kDefaultStorageHost)};
  if (test.contains("hostname")) {
    endpoint = parse_endpoint(test.at("hostname").get<std::string>(), scheme);
  } else if (test.contains("clientEndpoint")) {
    endpoint = parse_endpoint(test.at("clientEndpoint").get<std::string>(), scheme);
  } else if (test.contains("emulatorHostname")) {
    endpoint = parse_endpoint(test.at("emulatorHostname").get<std::string>(), scheme);
  } else if (test.contains("universeDomain")) {
    endpoint.authority = "storage." + test.at("universeDomain").get<std::string>();
  }
  request.scheme = endpoint.scheme;
  request.authority = endpoint.authority;
  const std::string style = string_field(test, "urlStyle", "PATH_STYLE");
  if (style == "VIRTUAL_HOSTED_STYLE") request.url_style = UrlStyle::kVirtualHosted;
  if (style == "BUCKET_BOUND_HOSTNAME") {
    request.url_style = UrlStyle::kBucketBoundHostname;
    request.authority = test.at("bucketBoundHostname").get<std::string>();
  }
  if (test.contains("headers")) {
    for (const auto& [name, value] : test.at("headers").items()) {
      request.headers.emplace_back(name, value.get<std::string>());
    }
  }
  if (test.contains("queryParameters")) {
    for (const auto& [name, value] : test.at("queryParameters").items()) {
      request.query_parameters.emplace_back(name, value.get<std::string>());
    }
  }
  return request;
}

class V4Conformance : public ::testing::Test {
 protected:
  void SetUp() override {
    auto key = load_service_account_key(kKeyPath);
    ASSERT_TRUE(key.ok()) << key.error().message;
    key_ = *key;
    auto signer = make_rsa_signer(key_.client_email, key_.private_key_pem);
    ASSERT_TRUE(signer.ok()) << signer.error().message;
    signer_ = std::move(*signer);
  }
  ServiceAccountKey key_;
  std::unique_ptr<BlobSigner> signer_;
};

TEST_F(V4Conformance, EverySupportedSigningCaseMatchesByteForByte) {
  const nlohmann::json vectors = load_vectors();
  const auto& cases = vectors.at("signingV4Tests");
  ASSERT_EQ(cases.size(), 29u) << "the vector file changed; review the skip list";
  int passed = 0;
  int skipped = 0;
  for (const auto& test : cases) {
    const std::string name = test.at("description").get<std::string>();
    if (const std::string reason = skip_reason(test); !reason.empty()) {
      std::cout << "[ SKIPPED  ] signingV4Tests \"" << name << "\": " << reason << "\n";
      ++skipped;
      continue;
    }
    SCOPED_TRACE(name);
    auto signed_url = sign_v4_url(to_request(test), *signer_);
    ASSERT_TRUE(signed_url.ok()) << signed_url.error().message;
    EXPECT_EQ(signed_url->canonical_request, test.at("expectedCanonicalRequest").get<std::string>());
    EXPECT_EQ(signed_url->string_to_sign, test.at("expectedStringToSign").get<std::string>());
    EXPECT_EQ(signed_url->url, test.at("expectedUrl").get<std::string>());
    if (!::testing::Test::HasFailure()) ++passed;
  }
  std::cout << "[ V4 SIGN  ] " << passed << " of " << cases.size() << " cases matched, " << skipped << " skipped\n";
  // We claim every case but the one inconsistent vector, including all path-style GET/PUT/POST cases.
  EXPECT_EQ(passed, 28);
  EXPECT_EQ(skipped, 1);
}

TEST_F(V4Conformance, PostPolicyCasesAreListedAsSkipped) {
  const nlohmann::json vectors = load_vectors();
  const auto& cases = vectors.at("postPolicyV4Tests");
  for (const auto& test : cases) {
    std::cout << "[ SKIPPED  ] postPolicyV4Tests \"" << test.at("description").get<std::string>()
              << "\": POST policy documents (HTML form uploads) are not used by Spectrum; uploads use signed PUT\n";
  }
  EXPECT_EQ(cases.size(), 11u);
}

std::string signature_of(const std::string& url) {
  return url.substr(url.find("X-Goog-Signature="));
}

TEST_F(V4Conformance, ChangingASignedInputChangesTheSignature) {
  const nlohmann::json vectors = load_vectors();
  const auto& simple = vectors.at("signingV4Tests").at(0);
  const std::string expected = signature_of(simple.at("expectedUrl").get<std::string>());
  V4SignRequest request = to_request(simple);
  request.object = "test-object2";
  EXPECT_NE(signature_of(sign_v4_url(request, *signer_)->url), expected);
  request = to_request(simple);
  request.expires = std::chrono::seconds{11};
  EXPECT_NE(signature_of(sign_v4_url(request, *signer_)->url), expected);
  request = to_request(simple);
  request.headers.emplace_back("Content-Type", "audio/wav");
  EXPECT_NE(signature_of(sign_v4_url(request, *signer_)->url), expected);
}

TEST_F(V4Conformance, RejectsDurationsOutsideOneSecondToSevenDays) {
  V4SignRequest request;
  request.bucket = "b";
  request.object = "o";
  request.timestamp = std::chrono::system_clock::time_point{};
  request.expires = std::chrono::seconds{604801};
  EXPECT_EQ(sign_v4_url(request, *signer_).error().code, ErrorCode::kInvalidArgument);
  request.expires = std::chrono::seconds{0};
  EXPECT_EQ(sign_v4_url(request, *signer_).error().code, ErrorCode::kInvalidArgument);
  request.expires = std::chrono::seconds{604800};
  EXPECT_TRUE(sign_v4_url(request, *signer_).ok());
}

TEST(V4Encoding, ObjectPathsKeepSlashesAndEncodeEverythingElse) {
  EXPECT_EQ(percent_encode("a b/c+d&e=f/\xC3\xA9~_.-", true), "a%20b/c%2Bd%26e%3Df/%C3%A9~_.-");
  EXPECT_EQ(percent_encode("a/b", false), "a%2Fb");
  EXPECT_EQ(percent_encode("%", false), "%25");
}

TEST(V4Encoding, TimestampsParseAsUtcOnly) {
  const auto pinned = parse_iso8601_utc("2019-02-01T09:00:00Z");
  ASSERT_TRUE(pinned.ok());
  EXPECT_EQ(format_goog_date_time(*pinned), "20190201T090000Z");
  EXPECT_EQ(format_goog_date_time(*parse_iso8601_utc("20190201T090000Z")), "20190201T090000Z");
  EXPECT_EQ(format_goog_date_time(*parse_iso8601_utc("2019-02-01T09:00:00.250Z")), "20190201T090000Z");
  EXPECT_FALSE(parse_iso8601_utc("2019-02-01T09:00:00+01:00").ok());
  EXPECT_FALSE(parse_iso8601_utc("2019-02-30T09:00:00Z").ok());
  EXPECT_FALSE(parse_iso8601_utc("yesterday").ok());
}

// The signurl subcommand, run from outside as users run it, reproduces the first vector.
TEST(SignurlCli, PrintsOnlyTheConformanceUrl) {
  const std::filesystem::path cli = SPECTRUM_CLI_PATH;
  ASSERT_TRUE(std::filesystem::exists(cli)) << "build spectrum-master first: " << cli;
  const nlohmann::json vectors = load_vectors();
  const auto& put_case = vectors.at("signingV4Tests").at(1);
  ASSERT_EQ(put_case.at("method").get<std::string>(), "PUT");
  const std::string command = "'" + cli.string() + "' signurl --key '" + kKeyPath.string() +
                              "' --bucket test-bucket --object test-object --method PUT --duration 10" +
                              " --timestamp 2019-02-01T09:00:00Z 2>/dev/null";
  FILE* pipe = popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  std::array<char, 4096> buffer{};
  while (const std::size_t n = std::fread(buffer.data(), 1, buffer.size(), pipe)) output.append(buffer.data(), n);
  const int status = pclose(pipe);
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(output, put_case.at("expectedUrl").get<std::string>() + "\n");
}

TEST(SignurlCli, BadDurationIsAUsageError) {
  const std::filesystem::path cli = SPECTRUM_CLI_PATH;
  ASSERT_TRUE(std::filesystem::exists(cli));
  const std::string command = "'" + cli.string() + "' signurl --key '" + kKeyPath.string() +
                              "' --bucket b --object o --duration 604801 >/dev/null 2>&1";
  const int status = std::system(command.c_str());
  EXPECT_EQ(WEXITSTATUS(status), 2);
  const std::string missing_key =
      "'" + cli.string() + "' signurl --key /nonexistent/key.json --bucket b --object o" + " >/dev/null 2>&1";
  EXPECT_EQ(WEXITSTATUS(std::system(missing_key.c_str())), 3);
}

}  // namespace
}  // namespace spectrum::storage
