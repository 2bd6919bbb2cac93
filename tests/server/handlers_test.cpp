// The handlers without a socket: every status of docs/api.md that a handler produces, from plain
// HttpRequest values. (The edge's own statuses, 408, 414 and 431, are tested against the real binary in
// tests/integration/server/edge_test.cpp.)
#include <openssl/evp.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <thread>
#include <tuple>
#include <variant>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/text.h"
#include "server/api.h"
#include "server/signed_files.h"
#include "storage/credentials_crypto.h"
#include "storage/local_storage.h"

namespace spectrum::server {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

const std::string kToken = "handler-test-token-0123456789";

class TempDir {
 public:
  TempDir() : path_(fs::temp_directory_path() / ("spectrum-handlers-" + std::to_string(std::random_device{}()))) {
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// One second of a 16-bit stereo 440 Hz tone (at -20 dBFS by default), as a WAV file's bytes.
std::string tone_wav(double amplitude = 3276.0) {
  const int rate = 44100;
  const int frames = rate;
  std::string pcm;
  for (int i = 0; i < frames; ++i) {
    const auto sample = static_cast<std::int16_t>(amplitude * std::sin(2.0 * M_PI * 440.0 * i / rate));
    for (int channel = 0; channel < 2; ++channel) {
      pcm.push_back(static_cast<char>(sample & 0xff));
      pcm.push_back(static_cast<char>((sample >> 8) & 0xff));
    }
  }
  auto u32 = [](std::uint32_t v) {
    return std::string{static_cast<char>(v), static_cast<char>(v >> 8), static_cast<char>(v >> 16),
                       static_cast<char>(v >> 24)};
  };
  auto u16 = [](std::uint16_t v) { return std::string{static_cast<char>(v), static_cast<char>(v >> 8)}; };
  return "RIFF" + u32(36 + static_cast<std::uint32_t>(pcm.size())) + "WAVEfmt " + u32(16) + u16(1) + u16(2) +
         u32(rate) + u32(rate * 4) + u16(4) + u16(16) + "data" + u32(static_cast<std::uint32_t>(pcm.size())) + pcm;
}

std::string md5_base64(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &size, EVP_md5(), nullptr);
  return storage::base64_encode(std::string_view(reinterpret_cast<const char*>(digest), size));
}

// A storage whose every call fails with one error code: the backend failing under the service.
class FailingStorage final : public storage::Storage {
 public:
  explicit FailingStorage(ErrorCode code) : code_(code) {}
  Expected<storage::ObjectInfo> stat(std::string_view) override { return fail(); }
  Status download(std::string_view, const fs::path&) override { return fail(); }
  Status upload(const fs::path&, std::string_view, std::string_view) override { return fail(); }
  Status remove(std::string_view) override { return fail(); }
  Expected<storage::SignedUrl> sign_url(std::string_view, storage::HttpMethod, std::chrono::seconds,
                                        std::string_view) override {
    return fail();
  }

 private:
  [[nodiscard]] Error fail() const { return make_error(code_, "backend detail /secret/path"); }
  ErrorCode code_;
};

HttpRequest request(std::string method, std::string path, std::string body = "") {
  HttpRequest r;
  r.method = std::move(method);
  r.path = std::move(path);
  r.body = std::move(body);
  r.remote_addr = "192.0.2.7";
  r.local_addr = "127.0.0.1";
  r.local_port = 8080;
  r.headers = {{"Host", "127.0.0.1:8080"}};
  if (!r.body.empty()) r.headers.emplace_back("Content-Length", std::to_string(r.body.size()));
  return r;
}

json body_of(const HttpResponse& response) {
  return json::parse(response.body, nullptr, false);
}

void expect_error(const HttpResponse& response, int status, const std::string& words) {
  EXPECT_EQ(response.status, status) << response.body;
  const json body = body_of(response);
  ASSERT_TRUE(body.is_object()) << response.body;
  EXPECT_EQ(body.value("success", true), false);
  EXPECT_NE(response.body.find(words), std::string::npos) << response.body;
  EXPECT_EQ(response.body.find("/secret/path"), std::string::npos) << "internal detail leaked: " << response.body;
}

class Handlers : public ::testing::Test {
 protected:
  // An Api over local storage in a temporary directory; `adjust` edits the configuration first.
  Api& make_api(const std::function<void(ServerConfig&)>& adjust = {}) {
    ServerConfig config;
    config.data_dir = temp_.path() / "data";
    config.temp_dir = temp_.path() / "jobs";
    fs::create_directories(config.temp_dir);
    config.max_jobs = 1;
    config.max_queue = 0;
    config.rate_limit_per_minute = 0;  // off unless a test turns it on
    if (adjust) adjust(config);
    storage::LocalStorageOptions options{config.data_dir, std::string(32, 's'), ""};
    auto local = storage::LocalStorage::create(options);
    EXPECT_TRUE(local.ok());
    StorageBackend backend;
    backend.local = local->get();
    backend.storage = std::move(*local);
    api_ = std::make_unique<Api>(config, std::move(backend));
    return *api_;
  }

  Api& make_failing_api(ErrorCode code) {
    ServerConfig config;
    config.temp_dir = temp_.path() / "jobs";
    fs::create_directories(config.temp_dir);
    config.rate_limit_per_minute = 0;
    StorageBackend backend;
    backend.storage = std::make_unique<FailingStorage>(code);
    backend.name = "failing";
    api_ = std::make_unique<Api>(config, std::move(backend));
    return *api_;
  }

  // Stores `bytes` as object `name` through the signed PUT route, as a client would.
  HttpResponse put_object(const std::string& name, const std::string& bytes, HeaderList extra = {}) {
    SignedFiles files(*api_->backend().local, api_->config().max_input_bytes);
    auto opening = files.put(signed_request("PUT", name, std::move(extra), bytes.size()));
    if (auto* early = std::get_if<HttpResponse>(&opening)) return *early;
    auto& sink = std::get<std::unique_ptr<BodySink>>(opening);
    if (auto early = sink->write(bytes)) return *early;
    return sink->finish();
  }

  HttpRequest signed_request(const std::string& method, const std::string& name, HeaderList extra = {},
                             std::optional<std::size_t> length = std::nullopt) {
    const auto verb = method == "PUT" ? storage::HttpMethod::kPut : storage::HttpMethod::kGet;
    auto url = api_->backend().storage->sign_url(name, verb, std::chrono::minutes(5), "");
    EXPECT_TRUE(url.ok());
    HttpRequest r = request(method, "/files/" + name);
    const std::string& text = url->url;
    const auto expires = text.find("expires=");
    const auto signature = text.find("signature=");
    r.query["expires"] = text.substr(expires + 8, text.find('&', expires) - expires - 8);
    r.query["signature"] = text.substr(signature + 10);
    if (length) r.headers.emplace_back("Content-Length", std::to_string(*length));
    for (auto& header : extra) r.headers.push_back(std::move(header));
    return r;
  }

  fs::path object_file(const std::string& name) const { return temp_.path() / "data" / "objects" / name; }

  TempDir temp_;
  std::unique_ptr<Api> api_;
};

TEST_F(Handlers, HealthAnswersTheWebAppContract) {
  const auto response = make_api().health(request("GET", "/health"));
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(body_of(response)["status"], "healthy");
  EXPECT_EQ(body_of(response)["service"], "spectrum-mastering-backend");
  EXPECT_EQ(response.header("Content-Type"), "application/json");
}

TEST_F(Handlers, MasterAudio200MastersAStoredTone) {
  Api& api = make_api();
  ASSERT_EQ(put_object("in/tone.wav", tone_wav()).status, 200);
  const auto response = api.master_audio(request("POST", "/api/master-audio", R"({"fileName":"in/tone.wav"})"));
  ASSERT_EQ(response.status, 200) << response.body;
  const json body = body_of(response);
  EXPECT_EQ(body["success"], true);
  EXPECT_EQ(body["masteredFileName"], "in/tone_mastered.wav");
  EXPECT_EQ(body["masteredUrl"].get<std::string>().rfind("http://127.0.0.1:8080/files/in/tone_mastered.wav?", 0), 0u);
  EXPECT_TRUE(body["processingTime"].is_number());
  EXPECT_TRUE(fs::exists(object_file("in/tone_mastered.wav")));
}

// Collects what a streamed answer writes.
class CollectingWriter final : public StreamWriter {
 public:
  bool write(std::string_view bytes) override {
    text += bytes;
    return true;
  }
  std::string text;
};

TEST_F(Handlers, MasterAudioStreamsStagesThenThePlainAnswer) {
  Api& api = make_api();
  ASSERT_EQ(put_object("in/tone.wav", tone_wav()).status, 200);
  HttpRequest streamed = request("POST", "/api/master-audio", R"({"fileName":"in/tone.wav"})");
  streamed.headers.emplace_back("Accept", "text/event-stream");
  HttpResponse response = api.master_audio(streamed);
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(response.header("Content-Type"), "text/event-stream");
  ASSERT_TRUE(response.stream) << "no stream: the job ran as a plain request";
  EXPECT_FALSE(response.heartbeat.empty());
  EXPECT_LE(response.heartbeat_interval, std::chrono::seconds(10));
  CollectingWriter writer;
  response.stream(writer);
  const std::string& text = writer.text;
  const auto download = text.find(R"("stage":"download","state":"start")");
  const auto master = text.find(R"("stage":"master","state":"start")");
  const auto upload = text.find(R"("stage":"upload","state":"end")");
  const auto result = text.find("event: result\ndata: {");
  ASSERT_NE(download, std::string::npos) << text;
  EXPECT_LT(download, master);
  EXPECT_LT(master, upload);
  EXPECT_LT(upload, result);
  const json answer = json::parse(text.substr(result + 20, text.find('\n', result + 20) - result - 20));
  EXPECT_EQ(answer["success"], true);
  EXPECT_EQ(answer["masteredFileName"], "in/tone_mastered.wav");
  EXPECT_FALSE(answer.contains("status")) << "a success carries the plain body only";

  // Before the job starts, errors are plain answers, not streams.
  HttpRequest missing = request("POST", "/api/master-audio", R"({"fileName":"in/absent.wav"})");
  missing.headers.emplace_back("Accept", "text/event-stream");
  const HttpResponse refused = api.master_audio(missing);
  EXPECT_FALSE(refused.stream);
  expect_error(refused, 404, "not found");
}

TEST_F(Handlers, MasterAlbumKeepsTheTracksDistanceAndStoresEveryMaster) {
  Api& api = make_api();
  ASSERT_EQ(put_object("album/loud.wav", tone_wav(6000.0)).status, 200);
  ASSERT_EQ(put_object("album/quiet.wav", tone_wav(1500.0)).status, 200);  // 12 dB below
  const auto response = api.master_album(request(
      "POST", "/api/master-album", R"({"tracks":[{"fileName":"album/loud.wav"},{"fileName":"album/quiet.wav"}]})"));
  ASSERT_EQ(response.status, 200) << response.body;
  const json answer = body_of(response);
  ASSERT_EQ(answer["tracks"].size(), 2u);
  EXPECT_EQ(answer["album"]["mode"], "album");
  EXPECT_EQ(answer["tracks"][0]["masteredFileName"], "album/loud_mastered.wav");
  const double loud = answer["tracks"][0]["report"]["output"]["integratedLufs"];
  const double quiet = answer["tracks"][1]["report"]["output"]["integratedLufs"];
  EXPECT_NEAR(loud, -14.0, 0.1);
  EXPECT_NEAR(loud - quiet, 20.0 * std::log10(6000.0 / 1500.0), 0.3);
  EXPECT_TRUE(fs::exists(object_file("album/quiet_mastered.wav")));

  const auto individual =
      api.master_album(request("POST", "/api/master-album",
                               R"({"albumMode":"individual","tracks":[{"fileName":"album/loud.wav"},)"
                               R"({"fileName":"album/quiet.wav"}]})"));
  ASSERT_EQ(individual.status, 200) << individual.body;
  EXPECT_NEAR(body_of(individual)["tracks"][1]["report"]["output"]["integratedLufs"].get<double>(), -14.0, 0.1);
}

TEST_F(Handlers, MasterAlbumBoundsItsTracksTogether) {
  Api& api = make_api([](ServerConfig& c) { c.max_input_bytes = 300'000; });
  ASSERT_EQ(put_object("big/1.wav", tone_wav()).status, 200);  // 176 kB each: two fit, four do not
  ASSERT_EQ(put_object("big/2.wav", tone_wav()).status, 200);
  ASSERT_EQ(put_object("big/3.wav", tone_wav()).status, 200);
  ASSERT_EQ(put_object("big/4.wav", tone_wav()).status, 200);
  expect_error(api.master_album(request("POST", "/api/master-album",
                                        R"({"tracks":[{"fileName":"big/1.wav"},{"fileName":"big/2.wav"},)"
                                        R"({"fileName":"big/3.wav"},{"fileName":"big/4.wav"}]})")),
               413, "together");
  EXPECT_EQ(api.master_album(request("POST", "/api/master-album",
                                     R"({"tracks":[{"fileName":"big/1.wav"},{"fileName":"big/2.wav"}]})"))
                .status,
            200);
}

TEST_F(Handlers, MasterAlbumRefusesBadRequestsAndStoresNothingOnFailure) {
  Api& api = make_api();
  expect_error(api.master_album(request("POST", "/api/master-album", R"({"tracks":[{"fileName":"a.wav"}]})")), 400,
               "2 to 30");
  expect_error(api.master_album(request("POST", "/api/master-album", R"({"tracks":[{"fileName":1},{"x":2}]})")), 400,
               "tracks[0].fileName");
  expect_error(api.master_album(request("POST", "/api/master-album",
                                        R"({"albumMode":"loud","tracks":[{"fileName":"a"},{"fileName":"b"}]})")),
               400, "albumMode");
  // A track that is not audio fails the album by its name, and no master of any track is stored.
  ASSERT_EQ(put_object("al/good.wav", tone_wav()).status, 200);
  ASSERT_EQ(put_object("al/bad.wav", std::string(3000, 'x')).status, 200);
  expect_error(api.master_album(request("POST", "/api/master-album",
                                        R"({"tracks":[{"fileName":"al/good.wav"},{"fileName":"absent.wav"}]})")),
               404, "absent.wav");
  expect_error(api.master_album(request("POST", "/api/master-album",
                                        R"({"tracks":[{"fileName":"al/good.wav"},{"fileName":"al/bad.wav"}]})")),
               422, "bad.wav");
  EXPECT_FALSE(fs::exists(object_file("al/good_mastered.wav")));
  EXPECT_FALSE(fs::exists(object_file("al/bad_mastered.wav")));
}

TEST_F(Handlers, MasterAudio400NamesTheProblem) {
  Api& api = make_api();
  expect_error(api.master_audio(request("POST", "/api/master-audio", "not json")), 400, "JSON object");
  expect_error(api.master_audio(request("POST", "/api/master-audio", "")), 400, "JSON object");
  expect_error(api.master_audio(request("POST", "/api/master-audio", "{}")), 400, "fileName is required");
  expect_error(api.master_audio(request("POST", "/api/master-audio", R"({"fileName":3})")), 400,
               "fileName must be a string");
  expect_error(api.master_audio(
                   request("POST", "/api/master-audio", R"({"fileName":"a.wav","settings":{"targetLoudness":-40}})")),
               400, "targetLoudness");
  expect_error(api.master_audio(request("POST", "/api/master-audio", R"({"fileName":"../etc/passwd"})")), 400,
               "fileName");
}

TEST_F(Handlers, MasterAudio404422And413FromTheObject) {
  Api& api = make_api([](ServerConfig& c) { c.max_input_bytes = 50'000; });
  expect_error(api.master_audio(request("POST", "/api/master-audio", R"({"fileName":"absent.wav"})")), 404,
               "not found");
  ASSERT_EQ(put_object("text.wav", std::string(2000, 'x')).status, 200);
  expect_error(api.master_audio(request("POST", "/api/master-audio", R"({"fileName":"text.wav"})")), 422, "");
  // Written past the upload limit, as an object another tool could have stored.
  std::ofstream(object_file("big.wav"), std::ios::binary) << std::string(60'000, 'x');
  expect_error(api.master_audio(request("POST", "/api/master-audio", R"({"fileName":"big.wav"})")), 413, "");
}

TEST_F(Handlers, MasterAudio503AtCapacityAndWhenShuttingDown) {
  Api& api = make_api();  // one slot, no queue
  ASSERT_EQ(api.admission().acquire(), JobAdmission::Outcome::kAdmitted);
  const auto busy = api.master_audio(request("POST", "/api/master-audio", R"({"fileName":"a.wav"})"));
  expect_error(busy, 503, "capacity");
  EXPECT_FALSE(busy.header("Retry-After").empty());
  api.admission().release();
  api.admission().drain();
  const auto closing = api.master_audio(request("POST", "/api/master-audio", R"({"fileName":"a.wav"})"));
  expect_error(closing, 503, "shutting down");
  EXPECT_FALSE(closing.header("Retry-After").empty());
}

TEST_F(Handlers, StorageFailuresAre502And504WithoutDetail) {
  expect_error(make_failing_api(ErrorCode::kUnavailable)
                   .master_audio(request("POST", "/api/master-audio", R"({"fileName":"a.wav"})")),
               502, "storage failure");
  expect_error(make_failing_api(ErrorCode::kTimeout)
                   .master_audio(request("POST", "/api/master-audio", R"({"fileName":"a.wav"})")),
               504, "");
  expect_error(make_failing_api(ErrorCode::kUnavailable)
                   .upload_url(request("POST", "/api/upload-url", R"({"fileName":"a.wav"})")),
               502, "storage failure");
}

TEST_F(Handlers, UnexpectedFailureIs500WithoutDetail) {
  Api& api = make_api();
  ASSERT_EQ(put_object("song.wav", tone_wav()).status, 200);
  // The job folder's parent is a plain file: the job cannot create its working folder.
  fs::remove_all(temp_.path() / "jobs");
  std::ofstream(temp_.path() / "jobs") << "not a directory";
  expect_error(api.master_audio(request("POST", "/api/master-audio", R"({"fileName":"song.wav"})")), 500,
               "internal error");
}

TEST_F(Handlers, UploadUrlChecksNamesUpFront) {
  Api& api = make_api();
  const auto ok = api.upload_url(request("POST", "/api/upload-url", R"({"fileName":"a/b.wav"})"));
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(body_of(ok)["method"], "PUT");
  const std::string long_segment(300, 'x');
  expect_error(api.upload_url(request("POST", "/api/upload-url", json{{"fileName", "a/" + long_segment}}.dump())), 400,
               "segment");
  EXPECT_EQ(api.upload_url(request("POST", "/api/upload-url", json{{"fileName", std::string(200, 'y')}}.dump())).status,
            200);
  expect_error(api.upload_url(request("POST", "/api/upload-url", R"({"contentType":"a\u0001b"})")), 400, "contentType");
  expect_error(api.upload_url(request("POST", "/api/upload-url", "[1]")), 400, "JSON object");
}

TEST_F(Handlers, ScreenAnswersPreflightTokenRateAndDrain) {
  Api& api = make_api([](ServerConfig& c) {
    c.api_token = kToken;
    c.rate_limit_per_minute = 60;
    c.rate_limit_burst = 2;
  });
  HttpRequest preflight = request("OPTIONS", "/api/master-audio");
  preflight.headers.emplace_back("Origin", "http://localhost:5173");
  const auto answered = api.screen(preflight);
  ASSERT_TRUE(answered);
  EXPECT_EQ(answered->status, 204);
  EXPECT_EQ(answered->header("Access-Control-Allow-Methods"), "GET, POST, PUT, OPTIONS");

  EXPECT_FALSE(api.screen(request("GET", "/health"))) << "health needs no token and is not rate limited";
  const auto refused = api.screen(request("POST", "/api/master-audio", "{}"));
  ASSERT_TRUE(refused);
  expect_error(*refused, 401, "token");
  EXPECT_EQ(refused->header("WWW-Authenticate"), "Bearer");

  HttpRequest with_token = request("POST", "/api/master-audio", "{}");
  with_token.headers.emplace_back("Authorization", "Bearer " + kToken);
  EXPECT_FALSE(api.screen(with_token));
  EXPECT_FALSE(api.screen(with_token));
  const auto limited = api.screen(with_token);
  ASSERT_TRUE(limited);
  expect_error(*limited, 429, "rate limit");
  EXPECT_FALSE(limited->header("Retry-After").empty());
  // Downloads of results have their own bucket: the API's being empty does not refuse them.
  EXPECT_FALSE(api.screen(request("GET", "/files/out.wav")));

  api.admission().drain();
  const auto draining = api.screen(with_token);
  ASSERT_TRUE(draining);
  expect_error(*draining, 503, "shutting down");
}

TEST_F(Handlers, FinishAddsCorsOnlyForAllowedOrigins) {
  Api& api = make_api();
  HttpRequest allowed = request("GET", "/health");
  allowed.headers.emplace_back("Origin", "http://127.0.0.1:3000");
  HttpResponse response = api.health(allowed);
  api.finish(allowed, response, std::chrono::milliseconds(1));
  EXPECT_EQ(response.header("Access-Control-Allow-Origin"), "http://127.0.0.1:3000");
  EXPECT_EQ(response.header("X-Content-Type-Options"), "nosniff");
  HttpRequest foreign = request("GET", "/health");
  foreign.headers.emplace_back("Origin", "https://evil.example");
  HttpResponse other = api.health(foreign);
  api.finish(foreign, other, std::chrono::milliseconds(1));
  EXPECT_EQ(other.header("Access-Control-Allow-Origin"), "");
  EXPECT_EQ(other.header("Vary"), "Origin");
}

TEST_F(Handlers, PresetsListEveryPlatformAndNeedNoToken) {
  Api& api = make_api([](ServerConfig& c) { c.api_token = kToken; });
  EXPECT_FALSE(api.screen(request("GET", "/api/presets"))) << "the page reads presets before a token is typed";
  const auto response = Api::presets(request("GET", "/api/presets"));
  ASSERT_EQ(response.status, 200);
  const json presets = body_of(response)["presets"];
  ASSERT_TRUE(presets.is_array());
  std::vector<std::string> ids;
  for (const auto& preset : presets) ids.push_back(preset["id"]);
  EXPECT_EQ(ids, (std::vector<std::string>{"spotify", "apple-music", "youtube", "tidal", "amazon-music", "soundcloud",
                                           "club", "aes-streaming"}));
  EXPECT_EQ(presets[1]["targetLoudness"], -16.0);
  EXPECT_EQ(presets[6]["outputFormat"], "wav");
  EXPECT_FALSE(presets[0].contains("outputFormat"));
}

// docs/presets.md's table, as {id: {target, ceiling, format}}; "−" is the typographic minus the docs use.
std::map<std::string, std::tuple<double, double, std::string>> documented_presets() {
  std::ifstream in(fs::path(SPECTRUM_SOURCE_DIR) / "docs" / "presets.md");
  std::map<std::string, std::tuple<double, double, std::string>> table;
  const auto number = [](std::string text) {
    for (auto at = text.find("\u2212"); at != std::string::npos; at = text.find("\u2212")) text.replace(at, 3, "-");
    return std::stod(text);
  };
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("| `", 0) != 0) continue;
    std::vector<std::string> cells;
    for (std::size_t start = 1, bar = line.find('|', 1); bar != std::string::npos; bar = line.find('|', start)) {
      std::string cell = line.substr(start, bar - start);
      cell.erase(0, cell.find_first_not_of(' '));
      cell.erase(cell.find_last_not_of(' ') + 1);
      cells.push_back(cell);
      start = bar + 1;
    }
    if (cells.size() < 4) continue;
    table[cells[0].substr(1, cells[0].size() - 2)] = {number(cells[1]), number(cells[2]), cells[3]};
  }
  return table;
}

TEST_F(Handlers, PresetsMatchTheirDocumentation) {
  const auto documented = documented_presets();
  const json presets = body_of(Api::presets(request("GET", "/api/presets")))["presets"];
  ASSERT_EQ(documented.size(), presets.size()) << "docs/presets.md and GET /api/presets list different presets";
  for (const auto& preset : presets) {
    const std::string id = preset["id"];
    ASSERT_TRUE(documented.count(id)) << id << " is not in docs/presets.md";
    const auto& [target, ceiling, format] = documented.at(id);
    EXPECT_EQ(preset["targetLoudness"].get<double>(), target) << id;
    EXPECT_EQ(preset["truePeakCeiling"].get<double>(), ceiling) << id;
    EXPECT_EQ(preset.contains("outputFormat") ? ascii_lower(preset["outputFormat"].get<std::string>()) : "input's",
              ascii_lower(format))
        << id;
  }
}

TEST_F(Handlers, WebAssetsAndUnknownPaths) {
  Api& api = make_api();
  const auto page = api.web_asset(request("GET", "/"));
  EXPECT_EQ(page.status, 200);
  EXPECT_NE(page.header("Content-Security-Policy").find("default-src 'self'"), std::string::npos);
  expect_error(api.web_asset(request("GET", "/no/such/page")), 404, "not found");
}

TEST_F(Handlers, SignedGet200403And404) {
  Api& api = make_api();
  ASSERT_EQ(put_object("x/out.wav", "RIFFdata").status, 200);
  SignedFiles files(*api.backend().local, api.config().max_input_bytes);
  const auto ok = files.get(signed_request("GET", "x/out.wav"));
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(read_file(ok.file), "RIFFdata");
  EXPECT_EQ(ok.header("Content-Disposition"), "attachment; filename=\"out.wav\"");
  HttpRequest forged = signed_request("GET", "x/out.wav");
  forged.query["signature"][0] = forged.query["signature"][0] == 'a' ? 'b' : 'a';
  expect_error(files.get(forged), 403, "signature");
  expect_error(files.get(signed_request("GET", "x/absent.wav")), 404, "");
}

TEST_F(Handlers, UploadsAreWholeOrNothing) {
  Api& api = make_api([](ServerConfig& c) { c.max_input_bytes = 10'000; });
  ASSERT_EQ(put_object("song.wav", "first version").status, 200);
  SignedFiles files(*api.backend().local, api.config().max_input_bytes);

  // A body cut short: the sink is dropped before finish(), and the earlier object stays.
  {
    auto opening = files.put(signed_request("PUT", "song.wav", {}, 100));
    auto& sink = std::get<std::unique_ptr<BodySink>>(opening);
    EXPECT_FALSE(sink->write(std::string(50, 'z')));
  }
  EXPECT_EQ(read_file(object_file("song.wav")), "first version");
  // Over the limit, by the declared length or by what arrives (chunked).
  const auto declared = files.put(signed_request("PUT", "song.wav", {}, 20'000));
  expect_error(std::get<HttpResponse>(declared), 413, "limit");
  {
    auto opening = files.put(signed_request("PUT", "song.wav", {{"Transfer-Encoding", "chunked"}}));
    auto& sink = std::get<std::unique_ptr<BodySink>>(opening);
    EXPECT_FALSE(sink->write(std::string(9'000, 'z')));
    const auto over = sink->write(std::string(2'000, 'z'));
    ASSERT_TRUE(over);
    expect_error(*over, 413, "limit");
  }
  // No length at all.
  expect_error(std::get<HttpResponse>(files.put(signed_request("PUT", "song.wav"))), 411, "Content-Length");
  // Content-MD5: a mismatch stores nothing, a match stores; x-goog-hash works the same.
  expect_error(put_object("song.wav", "second version", {{"Content-MD5", md5_base64("something else")}}), 400, "MD5");
  EXPECT_EQ(read_file(object_file("song.wav")), "first version");
  expect_error(put_object("song.wav", "second version", {{"Content-MD5", "not base64!"}}), 400, "MD5");
  EXPECT_EQ(put_object("song.wav", "second version", {{"Content-MD5", md5_base64("second version")}}).status, 200);
  EXPECT_EQ(read_file(object_file("song.wav")), "second version");
  EXPECT_EQ(put_object("song.wav", "third", {{"x-goog-hash", "crc32c=AAAAAA==, md5=" + md5_base64("third")}}).status,
            200);
  EXPECT_EQ(read_file(object_file("song.wav")), "third");
  // A bad signature is refused before anything is opened.
  HttpRequest forged = signed_request("PUT", "song.wav", {}, 5);
  forged.query["signature"] = std::string(64, '0');
  expect_error(std::get<HttpResponse>(files.put(forged)), 403, "signature");
  // Nothing temporary is left behind by any of it.
  for (const auto& entry : fs::recursive_directory_iterator(temp_.path() / "data" / "objects")) {
    EXPECT_EQ(entry.path().filename().string().find(".tmp-"), std::string::npos) << entry.path();
  }
}

}  // namespace
}  // namespace spectrum::server
