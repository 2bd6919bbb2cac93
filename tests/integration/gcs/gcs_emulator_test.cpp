// Our GCS backend against the Cloud Storage emulator from firebase-tools, with the official Node client as
// the peer that writes what we read and reads what we write. Also: our V4 signer against the official
// client's getSignedUrl (v4) for random object names, with the same key and a pinned clock.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "gcs_test_support.h"
#include "storage/credentials.h"
#include "storage/credentials_crypto.h"
#include "storage/gcs_storage.h"
#include "storage/v4_sign.h"

namespace spectrum::gcs_test {
namespace {

using storage::GcsOptions;
using storage::Storage;

class GcsEmulatorTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ASSERT_TRUE(node_modules_installed()) << "run tests/integration/gcs/setup.sh (npm ci) first";
    temp_ = new TempDir();
    emulator_ = new Emulator(temp_->path() / "emulator.log");
    ASSERT_GT(emulator_->port(), 0) << read_file(temp_->path() / "emulator.log");
  }
  static void TearDownTestSuite() {
    delete emulator_;
    delete temp_;
    emulator_ = nullptr;
    temp_ = nullptr;
  }

  static std::unique_ptr<Storage> make_backend(std::uint64_t resumable_threshold_bytes = 8u << 20) {
    GcsOptions options;
    options.bucket = "spectrum-it";
    options.credentials_path = kKeyPath.string();
    options.emulator_host = emulator_->host();
    options.resumable_threshold_bytes = resumable_threshold_bytes;
    options.retry.max_attempts = 3;
    options.retry.initial_backoff = std::chrono::milliseconds{10};
    auto backend = storage::make_gcs_storage(options);
    EXPECT_TRUE(backend.ok()) << backend.error().message;
    return std::move(*backend);
  }

  static inline TempDir* temp_ = nullptr;
  static inline Emulator* emulator_ = nullptr;
};

// Names with slashes, spaces, '+', '&', '=', '?', '#', '%' and unicode.
const std::vector<std::string> kHardNames = {"plain.wav", "my uploads/song one.wav", "a+b&c=d?e#f%g.flac",
                                             "unicodé/Grüße 日本語.mp3", "deep/er/still/x.wav"};

TEST_F(GcsEmulatorTest, OurUploadsReadBackThroughTheOfficialClient) {
  auto backend = make_backend();
  int index = 0;
  for (const std::string& name : kHardNames) {
    SCOPED_TRACE(name);
    const std::string bytes =
        random_bytes(10'000 + 1'000 * static_cast<std::size_t>(index), 7u + static_cast<unsigned>(index));
    const auto source = temp_->path() / ("up-" + std::to_string(index));
    const auto copy = temp_->path() / ("peer-" + std::to_string(index));
    ++index;
    write_file(source, bytes);
    ASSERT_TRUE(backend->upload(source, name, "audio/wav").ok());
    const auto info = backend->stat(name);
    ASSERT_TRUE(info.ok()) << info.error().message;
    EXPECT_EQ(info->size_bytes, bytes.size());
    EXPECT_EQ(info->content_type, "audio/wav");
    const auto [code, output] =
        peer(emulator_->host(), "download spectrum-it " + shell_quote(name) + " " + shell_quote(copy.string()));
    ASSERT_EQ(code, 0) << output;
    EXPECT_EQ(storage::sha256_hex(read_file(copy)), storage::sha256_hex(bytes));
  }
}

TEST_F(GcsEmulatorTest, OfficialClientUploadsDownloadThroughOurs) {
  auto backend = make_backend();
  int index = 0;
  for (const std::string& name : kHardNames) {
    SCOPED_TRACE(name);
    const std::string bytes =
        random_bytes(5'000 + 777 * static_cast<std::size_t>(index), 100u + static_cast<unsigned>(index));
    const auto source = temp_->path() / ("peer-up-" + std::to_string(index));
    const auto destination = temp_->path() / ("ours-" + std::to_string(index));
    ++index;
    write_file(source, bytes);
    const auto [code, output] = peer(emulator_->host(), "upload spectrum-it " + shell_quote(source.string()) + " " +
                                                            shell_quote("peer/" + name) + " audio/flac");
    ASSERT_EQ(code, 0) << output;
    const auto info = backend->stat("peer/" + name);
    ASSERT_TRUE(info.ok()) << info.error().message;
    EXPECT_EQ(info->size_bytes, bytes.size());
    EXPECT_EQ(info->content_type, "audio/flac");
    const auto status = backend->download("peer/" + name, destination);
    ASSERT_TRUE(status.ok()) << status.error().message;
    EXPECT_EQ(storage::sha256_hex(read_file(destination)), storage::sha256_hex(bytes));
  }
}

// The emulator finalizes a resumable session on its first PUT, so only the default (one PUT for the whole
// file) can be exercised here; chunked sessions are not covered by this test.
TEST_F(GcsEmulatorTest, LargeFilesGoUpThroughAResumableSession) {
  auto backend = make_backend(/*resumable_threshold_bytes=*/512 * 1024);
  const std::string bytes = random_bytes(3 * 256 * 1024 + 12'345, 42);
  const auto source = temp_->path() / "large.bin";
  const auto copy = temp_->path() / "large.copy";
  write_file(source, bytes);
  ASSERT_TRUE(backend->upload(source, "large/resumable upload.wav", "audio/wav").ok());
  const auto info = backend->stat("large/resumable upload.wav");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->size_bytes, bytes.size());
  const auto [code, output] =
      peer(emulator_->host(), "download spectrum-it 'large/resumable upload.wav' " + shell_quote(copy.string()));
  ASSERT_EQ(code, 0) << output;
  EXPECT_EQ(storage::sha256_hex(read_file(copy)), storage::sha256_hex(bytes));
}

TEST_F(GcsEmulatorTest, MissingObjectsAreNotFoundAndRemoveDeletes) {
  auto backend = make_backend();
  EXPECT_EQ(backend->stat("no/such object.wav").error().code, ErrorCode::kNotFound);
  const auto destination = temp_->path() / "never.wav";
  EXPECT_EQ(backend->download("no/such object.wav", destination).error().code, ErrorCode::kNotFound);
  EXPECT_FALSE(std::filesystem::exists(destination));  // nothing half-written is left behind
  const auto source = temp_->path() / "to-remove";
  write_file(source, "bytes");
  ASSERT_TRUE(backend->upload(source, "remove me.wav", "audio/wav").ok());
  ASSERT_TRUE(backend->stat("remove me.wav").ok());
  ASSERT_TRUE(backend->remove("remove me.wav").ok());
  EXPECT_EQ(backend->stat("remove me.wav").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(backend->stat("../escape").error().code, ErrorCode::kInvalidArgument);
}

TEST_F(GcsEmulatorTest, SignedUrlsPointAtTheEmulatorAndAreSignedWithTheKey) {
  auto backend = make_backend();
  const auto url = backend->sign_url("my uploads/song one.wav", storage::HttpMethod::kGet, std::chrono::hours{24}, "");
  ASSERT_TRUE(url.ok()) << url.error().message;
  const std::string prefix = "http://" + emulator_->host() + "/spectrum-it/my%20uploads/song%20one.wav?";
  EXPECT_EQ(url->url.substr(0, prefix.size()), prefix);
  EXPECT_NE(url->url.find("X-Goog-Expires=86400&"), std::string::npos);
  EXPECT_NE(url->url.find("X-Goog-Signature="), std::string::npos);
  const auto put = backend->sign_url("x.wav", storage::HttpMethod::kPut, std::chrono::minutes{15}, "audio/wav");
  ASSERT_TRUE(put.ok());
  EXPECT_NE(put->url.find("X-Goog-SignedHeaders=content-type%3Bhost&"), std::string::npos);
}

TEST_F(GcsEmulatorTest, StoppedEmulatorGivesRetryableErrorsAfterBoundedRetries) {
  // A second emulator that we stop, so the shared one keeps serving the other tests.
  Emulator doomed(temp_->path() / "doomed.log");
  ASSERT_GT(doomed.port(), 0);
  GcsOptions options;
  options.bucket = "spectrum-it";
  options.credentials_path = kKeyPath.string();
  options.emulator_host = doomed.host();
  options.retry.max_attempts = 3;
  options.retry.initial_backoff = std::chrono::milliseconds{10};
  auto backend = storage::make_gcs_storage(options);
  ASSERT_TRUE(backend.ok());
  doomed.stop();
  const auto info = (*backend)->stat("anything.wav");
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.error().code, ErrorCode::kUnavailable) << info.error().message;
}

// Random names, both methods, several clocks: our URL must equal the official client's, byte for byte.
TEST(GcsSigningCrossCheck, MatchesTheOfficialNodeClientForRandomNames) {
  ASSERT_TRUE(node_modules_installed()) << "run tests/integration/gcs/setup.sh (npm ci) first";
  TempDir temp;
  std::mt19937 engine(20240501);
  const std::vector<std::string> alphabet = {"a", "Z", "0", "-", "_", ".", "~", " ",  "/", "+", "&",
                                             "=", "?", "#", "%", "!", "'", "(", ")",  "*", ",", ";",
                                             ":", "@", "$", "[", "]", "é", "ü", "日", "🎵"};
  auto key = storage::load_service_account_key(kKeyPath);
  ASSERT_TRUE(key.ok());
  auto signer = storage::make_rsa_signer(key->client_email, key->private_key_pem);
  ASSERT_TRUE(signer.ok());
  nlohmann::json cases = nlohmann::json::array();
  std::vector<std::string> ours;
  for (int i = 0; i < 40; ++i) {
    std::string name = "n";
    const int length = 1 + static_cast<int>(engine() % 24);
    for (int c = 0; c < length; ++c) name += alphabet[engine() % alphabet.size()];
    storage::V4SignRequest request;
    request.method = (i % 2 == 0) ? "GET" : "PUT";
    request.bucket = "spectrum-bucket";
    request.object = name;
    request.expires = std::chrono::seconds{1 + static_cast<long>(engine() % 604800)};
    request.timestamp =
        std::chrono::system_clock::time_point{std::chrono::seconds{1'500'000'000 + engine() % 300'000'000}};
    const std::string content_type = (i % 4 == 1) ? "audio/wav" : "";
    if (!content_type.empty()) request.headers.emplace_back("Content-Type", content_type);
    auto url = storage::sign_v4_url(request, **signer);
    ASSERT_TRUE(url.ok());
    ours.push_back(url->url);
    const std::string iso = storage::format_goog_date_time(request.timestamp);
    const std::string timestamp = iso.substr(0, 4) + "-" + iso.substr(4, 2) + "-" + iso.substr(6, 2) + "T" +
                                  iso.substr(9, 2) + ":" + iso.substr(11, 2) + ":" + iso.substr(13, 2) + "Z";
    cases.push_back({{"bucket", request.bucket},
                     {"object", name},
                     {"method", request.method},
                     {"timestamp", timestamp},
                     {"expires", request.expires.count()},
                     {"contentType", content_type}});
  }
  const auto cases_file = temp.path() / "cases.json";
  write_file(cases_file, cases.dump());
  const auto [code, output] = run("node " + shell_quote((kTestDir / "peer.js").string()) + " sign " +
                                  shell_quote(kKeyPath.string()) + " " + shell_quote(cases_file.string()) + " 2>&1");
  ASSERT_EQ(code, 0) << output;
  const auto theirs = nlohmann::json::parse(output);
  ASSERT_EQ(theirs.size(), ours.size());
  for (std::size_t i = 0; i < ours.size(); ++i) {
    EXPECT_EQ(ours[i], theirs[i].get<std::string>()) << "object name: " << cases[i]["object"];
  }
}

}  // namespace
}  // namespace spectrum::gcs_test
