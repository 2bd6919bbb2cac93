// The real service with the GCS backend pointed at the emulator: the official Node client uploads the input,
// `spectrum-master serve` masters it, the Node client downloads the result, and we measure its loudness
// and true peak. Then the emulator is stopped under the service: a clean 502/504, visible retries in the
// logs, and a service that stays healthy. And the same round trip with no key at all: tokens from a fake
// metadata server, URLs signed through a fake IAM Credentials signBlob (fake_google.js).
#include <gtest/gtest.h>
#include <httplib.h>

#include <nlohmann/json.hpp>
#include <regex>

#include "gcs_test_support.h"
#include "storage/credentials.h"
#include "storage/credentials_crypto.h"
#include "storage/v4_sign.h"

namespace spectrum::gcs_test {
namespace {

constexpr double kTargetLufs = -14.0;         // the default target (mastering/settings.h)
constexpr double kCeilingDbtp = -1.0;         // the default true-peak ceiling
constexpr double kLoudnessToleranceLu = 1.0;  // integrated loudness of the result vs the target
constexpr double kTruePeakToleranceDb = 0.2;  // ffmpeg's 4x-oversampled true-peak reading vs the ceiling

struct Loudness {
  double integrated_lufs = 0.0;
  double true_peak_dbtp = 0.0;
};

// Integrated loudness and true peak, by ffmpeg's ebur128 filter (an independent meter).
std::optional<Loudness> measure(const std::filesystem::path& file) {
  const auto [code, output] =
      run("ffmpeg -hide_banner -nostats -i " + shell_quote(file.string()) + " -af ebur128=peak=true -f null - 2>&1");
  if (code != 0) return std::nullopt;
  const auto summary = output.rfind("Summary:");
  if (summary == std::string::npos) return std::nullopt;
  const std::string tail = output.substr(summary);
  std::smatch integrated;
  std::smatch peak;
  if (!std::regex_search(tail, integrated, std::regex(R"(I:\s+(-?[0-9.]+) LUFS)")) ||
      !std::regex_search(tail, peak, std::regex(R"(Peak:\s+(-?[0-9.]+|-inf) dBFS)"))) {
    return std::nullopt;
  }
  return Loudness{std::stod(integrated[1]), std::stod(peak[1])};
}

class GcsServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(node_modules_installed()) << "run tests/integration/gcs/setup.sh (npm ci) first";
    ASSERT_TRUE(std::filesystem::exists(SPECTRUM_CLI_PATH)) << "build spectrum-master first";
    emulator_ = std::make_unique<Emulator>(temp_.path() / "emulator.log");
    ASSERT_GT(emulator_->port(), 0) << read_file(temp_.path() / "emulator.log");
  }

  // Starts `spectrum-master serve` on an ephemeral loopback port with the GCS backend; returns the port.
  // By default it signs with the key file; `credentials` replaces the credential variables.
  int start_server(const std::map<std::string, std::string>& credentials = {
                       {"GOOGLE_APPLICATION_CREDENTIALS", kKeyPath.string()}}) {
    const auto port_file = temp_.path() / "port";
    std::map<std::string, std::string> env{{"GOOGLE_CLOUD_BUCKET_NAME", "spectrum-it"},
                                           {"GOOGLE_CLOUD_PROJECT_ID", "spectrum-test"},
                                           {"GOOGLE_APPLICATION_CREDENTIALS", ""},
                                           {"GOOGLE_APPLICATION_CREDENTIALS_JSON", ""},
                                           {"STORAGE_EMULATOR_HOST", "http://" + emulator_->host()},
                                           {"SPECTRUM_GCS_RETRY_MAX_ATTEMPTS", "4"},
                                           {"SPECTRUM_GCS_RETRY_MAX_TOTAL_MS", "5000"},
                                           {"SPECTRUM_TEMP_DIR", temp_.path().string()}};
    for (const auto& [name, value] : credentials) env[name] = value;
    server_ = std::make_unique<Child>(std::vector<std::string>{SPECTRUM_CLI_PATH, "serve", "--host", "127.0.0.1",
                                                               "--port", "0", "--port-file", port_file.string()},
                                      env, temp_.path() / "server.log", temp_.path() / "server.log");
    for (int i = 0; i < 300; ++i) {
      const std::string text = read_file(port_file);
      if (!text.empty() && text.back() == '\n') return std::atoi(text.c_str());
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return 0;
  }

  std::string server_log() { return read_file(temp_.path() / "server.log"); }

  // 12 s of stereo pink noise at about -41 LUFS, far from the target, uploaded by the official client.
  void upload_input(const std::string& name) {
    input_ = temp_.path() / "input.wav";
    const auto [made, made_output] =
        run("ffmpeg -hide_banner -loglevel error -y -f lavfi "
            "-i 'anoisesrc=color=pink:duration=12:amplitude=0.05:seed=7' -ac 2 -ar 44100 " +
            shell_quote(input_.string()) + " 2>&1");
    ASSERT_EQ(made, 0) << made_output;
    const auto [uploaded, upload_output] =
        peer(emulator_->host(),
             "upload spectrum-it " + shell_quote(input_.string()) + " " + shell_quote(name) + " audio/wav");
    ASSERT_EQ(uploaded, 0) << upload_output;
  }

  // POSTs master-audio for `name` and expects 200; `answer` gets the body.
  void master_ok(httplib::Client& client, const std::string& name, nlohmann::json& answer) {
    client.set_read_timeout(std::chrono::seconds(120));
    auto response = client.Post("/api/master-audio", nlohmann::json{{"fileName", name}}.dump(), "application/json");
    ASSERT_TRUE(response) << "no answer from the service\n" << server_log();
    ASSERT_EQ(response->status, 200) << response->body << "\n" << server_log();
    answer = nlohmann::json::parse(response->body);
  }

  // Downloads `mastered` with the official client and checks it is on target and under the ceiling.
  void expect_mastered(const std::string& mastered) {
    const auto output = temp_.path() / ("mastered" + std::filesystem::path(mastered).extension().string());
    const auto [downloaded, download_output] =
        peer(emulator_->host(), "download spectrum-it " + shell_quote(mastered) + " " + shell_quote(output.string()));
    ASSERT_EQ(downloaded, 0) << download_output;
    const auto before = measure(input_);
    const auto after = measure(output);
    ASSERT_TRUE(before && after);
    std::cout << "[ MEASURED ] input " << before->integrated_lufs << " LUFS / " << before->true_peak_dbtp
              << " dBTP; mastered " << after->integrated_lufs << " LUFS / " << after->true_peak_dbtp << " dBTP\n";
    EXPECT_NEAR(after->integrated_lufs, kTargetLufs, kLoudnessToleranceLu);
    EXPECT_LE(after->true_peak_dbtp, kCeilingDbtp + kTruePeakToleranceDb);
  }

  TempDir temp_;
  std::unique_ptr<Emulator> emulator_;
  std::unique_ptr<Child> server_;
  std::filesystem::path input_;
};

TEST_F(GcsServiceTest, MastersAnObjectFromTheBucketAndSurvivesTheEmulatorStopping) {
  const std::string name = "uploads/my song/take 1 + mix.wav";
  ASSERT_NO_FATAL_FAILURE(upload_input(name));

  const int port = start_server();
  ASSERT_GT(port, 0) << server_log();
  httplib::Client client("127.0.0.1", port);
  nlohmann::json answer;
  ASSERT_NO_FATAL_FAILURE(master_ok(client, name, answer));
  const std::string mastered = answer.at("masteredFileName").get<std::string>();
  const std::string url = answer.at("masteredUrl").get<std::string>();
  EXPECT_EQ(url.rfind("http://" + emulator_->host() + "/spectrum-it/", 0), 0u) << url;
  EXPECT_NE(url.find("X-Goog-Signature="), std::string::npos);

  ASSERT_NO_FATAL_FAILURE(expect_mastered(mastered));

  // A missing object is a 404.
  auto missing = client.Post("/api/master-audio", nlohmann::json{{"fileName", "uploads/not there.wav"}}.dump(),
                             "application/json");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404) << missing->body;

  // The emulator goes away: a clean gateway error, retries in the log, and a healthy service.
  emulator_->stop();
  auto failed = client.Post("/api/master-audio", nlohmann::json{{"fileName", name}}.dump(), "application/json");
  ASSERT_TRUE(failed);
  EXPECT_TRUE(failed->status == 502 || failed->status == 504) << failed->status << " " << failed->body;
  EXPECT_FALSE(nlohmann::json::parse(failed->body, nullptr, false).is_discarded()) << failed->body;
  EXPECT_EQ(failed->body.find("X-Goog-Signature"), std::string::npos);
  const std::string log = server_log();
  EXPECT_NE(log.find("storage retry"), std::string::npos) << log;
  auto health = client.Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
}

// The value of query parameter `name` in `url`, still percent-encoded.
std::string query_value(const std::string& url, const std::string& name) {
  const auto start = url.find((url.find('?' + name + '=') != std::string::npos ? '?' : '&') + name + '=');
  if (start == std::string::npos) return "";
  const auto value = start + name.size() + 2;
  return url.substr(value, url.find('&', value) - value);
}

std::string hex_decode(const std::string& hex) {
  std::string bytes;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    bytes.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  return bytes;
}

// No key anywhere: tokens come from the metadata server and URLs are signed by IAM's signBlob (both faked,
// speaking the documented protocols). The result must be the very URL the key would have signed.
TEST_F(GcsServiceTest, MastersWithNoKeyThroughTheMetadataServerAndIamSignBlob) {
  const std::string name = "uploads/keyless/song one.wav";
  ASSERT_NO_FATAL_FAILURE(upload_input(name));
  Child google({"node", (kTestDir / "fake_google.js").string(), kKeyPath.string()}, {},
               temp_.path() / "fake_google.log");
  const std::string ready = google.read_line(std::chrono::seconds(30));
  const auto key_at = ready.find("\"port\":");
  ASSERT_NE(key_at, std::string::npos) << ready << read_file(temp_.path() / "fake_google.log");
  const std::string google_host = "127.0.0.1:" + std::to_string(std::atoi(ready.c_str() + key_at + 7));

  const int port = start_server(
      {{"GCE_METADATA_HOST", google_host}, {"SPECTRUM_IAM_CREDENTIALS_ENDPOINT", "http://" + google_host}});
  ASSERT_GT(port, 0) << server_log();
  EXPECT_NE(server_log().find("credentials=metadata server"), std::string::npos) << server_log();
  httplib::Client client("127.0.0.1", port);
  nlohmann::json answer;
  ASSERT_NO_FATAL_FAILURE(master_ok(client, name, answer));
  const std::string mastered = answer.at("masteredFileName").get<std::string>();
  const std::string url = answer.at("masteredUrl").get<std::string>();
  ASSERT_NO_FATAL_FAILURE(expect_mastered(mastered));

  // The same request signed with the key: same date and lifetime, so the same canonical request, and
  // (RSASSA-PKCS1-v1_5 being deterministic) the same signature.
  auto key = storage::load_service_account_key(kKeyPath);
  ASSERT_TRUE(key.ok());
  auto key_signer = storage::make_rsa_signer(key->client_email, key->private_key_pem);
  ASSERT_TRUE(key_signer.ok());
  auto timestamp = storage::parse_iso8601_utc(query_value(url, "X-Goog-Date"));
  ASSERT_TRUE(timestamp.ok()) << url;
  storage::V4SignRequest request;
  request.bucket = "spectrum-it";
  request.object = mastered;
  request.timestamp = *timestamp;
  request.expires = std::chrono::seconds{std::stol(query_value(url, "X-Goog-Expires"))};
  request.scheme = "http";
  request.authority = emulator_->host();
  auto key_signed = storage::sign_v4_url(request, **key_signer);
  ASSERT_TRUE(key_signed.ok());
  EXPECT_EQ(url, key_signed->url);
  EXPECT_TRUE(storage::verify_rs256(key->private_key_pem, key_signed->string_to_sign,
                                    hex_decode(query_value(url, "X-Goog-Signature"))))
      << "the keyless signature does not verify against the service account's public key";

  // The keyless path really ran, and nothing was refused on the way.
  httplib::Client fake("127.0.0.1", std::atoi(ready.c_str() + key_at + 7));
  auto calls = fake.Get("/calls");
  ASSERT_TRUE(calls);
  const auto counts = nlohmann::json::parse(calls->body);
  EXPECT_GE(counts.at("token").get<int>(), 1) << calls->body;
  EXPECT_GE(counts.at("email").get<int>(), 1) << calls->body;
  EXPECT_GE(counts.at("signBlob").get<int>(), 1) << calls->body;
  EXPECT_EQ(counts.at("refused").get<int>(), 0) << calls->body;
}

}  // namespace
}  // namespace spectrum::gcs_test
