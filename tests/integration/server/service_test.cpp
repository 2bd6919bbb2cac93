// The service's contract without the mastering engine: health, CORS, authentication, validation,
// storage errors, signed URLs, limits, rate limiting, metrics and start-up configuration.
#include <set>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "server_process.h"

namespace spectrum::testing {
namespace {

using json = nlohmann::json;

const std::string kToken = "test-token-0123456789abcdef";

json body_of(const httplib::Result& res) {
  return json::parse(res->body, nullptr, false);
}

// Every error is {"success": false, "error": "<message>"}.
void expect_error(const httplib::Result& res, int status, const std::string& words = "") {
  ASSERT_TRUE(res) << "no response";
  EXPECT_EQ(res->status, status) << res->body;
  const json body = body_of(res);
  ASSERT_TRUE(body.is_object()) << res->body;
  EXPECT_EQ(body.value("success", true), false) << res->body;
  ASSERT_TRUE(body.contains("error") && body["error"].is_string()) << res->body;
  EXPECT_FALSE(body["error"].get<std::string>().empty());
  if (!words.empty()) {
    EXPECT_NE(res->body.find(words), std::string::npos) << res->body;
  }
}

httplib::Result post_json(httplib::Client& client, const std::string& path, const json& body,
                          const httplib::Headers& headers = {}) {
  return client.Post(path.c_str(), headers, body.dump(), "application/json");
}

// Asks for an upload URL and PUTs `bytes` to it. Returns the object name.
std::string upload(httplib::Client& client, const std::string& name, const std::string& bytes,
                   const httplib::Headers& headers = {}) {
  auto signed_url = post_json(client, "/api/upload-url", {{"fileName", name}, {"contentType", "audio/wav"}}, headers);
  EXPECT_TRUE(signed_url && signed_url->status == 200);
  if (!signed_url || signed_url->status != 200) return "";
  const std::string url = body_of(signed_url)["uploadUrl"];
  const std::string path = url.substr(url.find("/files/"));
  auto put = client.Put(path.c_str(), bytes, "audio/wav");
  EXPECT_TRUE(put && put->status == 200) << (put ? put->body : "no response");
  return name;
}

TEST(Service, HealthAnswersTheWebAppContract) {
  ServerProcess server;
  ASSERT_TRUE(server.wait_until_ready()) << server.log();
  auto res = server.client()->Get("/health");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  const json body = body_of(res);
  EXPECT_EQ(body["status"], "healthy");
  EXPECT_EQ(body["service"], "spectrum-mastering-backend");
  EXPECT_NE(res->get_header_value("Content-Type").find("application/json"), std::string::npos);
}

TEST(Service, CorsEchoesAllowedOriginsOnlyAndAnswersPreflight) {
  ServerProcess server({}, {{"ALLOWED_ORIGINS", "https://app.example.com, https://admin.example.com"}});
  ASSERT_TRUE(server.wait_until_ready()) << server.log();
  auto client = server.client();

  auto preflight = client->Options("/api/master-audio", {{"Origin", "https://app.example.com"},
                                                         {"Access-Control-Request-Method", "POST"},
                                                         {"Access-Control-Request-Headers", "content-type"}});
  ASSERT_TRUE(preflight);
  EXPECT_EQ(preflight->status, 204);
  EXPECT_EQ(preflight->get_header_value("Access-Control-Allow-Origin"), "https://app.example.com");
  EXPECT_NE(preflight->get_header_value("Access-Control-Allow-Methods").find("POST"), std::string::npos);
  const std::string allowed_headers = preflight->get_header_value("Access-Control-Allow-Headers");
  EXPECT_NE(allowed_headers.find("Content-Type"), std::string::npos);
  EXPECT_NE(allowed_headers.find("Authorization"), std::string::npos);
  EXPECT_EQ(preflight->get_header_value("Vary"), "Origin");

  auto simple = client->Get("/health", {{"Origin", "https://admin.example.com"}});
  ASSERT_TRUE(simple);
  EXPECT_EQ(simple->get_header_value("Access-Control-Allow-Origin"), "https://admin.example.com");
  EXPECT_EQ(simple->get_header_value("Vary"), "Origin");

  for (const std::string origin :
       {"https://evil.example.com", "http://localhost:3000", "https://app.example.com.evil"}) {
    auto denied = client->Options("/api/master-audio", {{"Origin", origin}, {"Access-Control-Request-Method", "POST"}});
    ASSERT_TRUE(denied);
    EXPECT_EQ(denied->status, 204);
    for (const auto& [name, value] : denied->headers) {
      EXPECT_EQ(name.rfind("Access-Control-", 0), std::string::npos) << origin << " got " << name << ": " << value;
    }
    auto get = client->Get("/health", {{"Origin", origin}});
    ASSERT_TRUE(get);
    EXPECT_FALSE(get->has_header("Access-Control-Allow-Origin")) << origin;
  }
}

TEST(Service, UnsetAllowedOriginsMeansLoopbackOriginsOnly) {
  ServerProcess server;
  ASSERT_TRUE(server.wait_until_ready()) << server.log();
  auto client = server.client();
  for (const std::string origin : {"http://localhost:5173", "http://127.0.0.1:8080", "http://localhost"}) {
    auto res = client->Options("/api/upload-url", {{"Origin", origin}, {"Access-Control-Request-Method", "POST"}});
    ASSERT_TRUE(res);
    EXPECT_EQ(res->get_header_value("Access-Control-Allow-Origin"), origin);
  }
  auto remote = client->Options("/api/upload-url", {{"Origin", "https://example.com"}});
  ASSERT_TRUE(remote);
  EXPECT_FALSE(remote->has_header("Access-Control-Allow-Origin"));
}

TEST(Service, TokenIsRequiredOnApiRoutesButNotOnHealth) {
  ServerProcess server({}, {{"SPECTRUM_BACKEND_API_TOKEN", kToken}});
  ASSERT_TRUE(server.wait_until_ready()) << server.log();
  auto client = server.client();
  const json request = {{"fileName", "x.wav"}};
  expect_error(post_json(*client, "/api/upload-url", request), 401);
  expect_error(post_json(*client, "/api/upload-url", request, {{"Authorization", "Bearer wrong-token-0123456789"}}),
               401);
  expect_error(post_json(*client, "/api/upload-url", request, {{"Authorization", "Basic " + kToken}}), 401);
  expect_error(post_json(*client, "/api/master-audio", request, {{"Authorization", "Bearer " + kToken + "x"}}), 401);
  auto missing_header = post_json(*client, "/api/master-audio", request);
  ASSERT_TRUE(missing_header);
  EXPECT_EQ(missing_header->get_header_value("WWW-Authenticate"), "Bearer");

  auto ok = post_json(*client, "/api/upload-url", request, {{"Authorization", "Bearer " + kToken}});
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200) << ok->body;
  // With the right token the request reaches the handler: a missing object is a 404, not a 401.
  expect_error(post_json(*client, "/api/master-audio", request, {{"Authorization", "Bearer " + kToken}}), 404);
  EXPECT_EQ(client->Get("/health")->status, 200);
}

TEST(Service, WithoutATokenConfiguredTheApiIsOpen) {
  ServerProcess server;
  ASSERT_TRUE(server.wait_until_ready()) << server.log();
  auto res = post_json(*server.client(), "/api/upload-url", {{"fileName", "x.wav"}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;
}

TEST(Service, ValidationErrorsAre400WithTheFieldNamed) {
  ServerProcess server;
  ASSERT_TRUE(server.wait_until_ready()) << server.log();
  auto client = server.client();
  expect_error(client->Post("/api/master-audio", "{not json", "application/json"), 400);
  expect_error(client->Post("/api/master-audio", "[1,2]", "application/json"), 400);
  expect_error(client->Post("/api/master-audio", "", "application/json"), 400);
  expect_error(post_json(*client, "/api/master-audio", {{"inputUrl", "https://example.com/a.wav"}}), 400, "fileName");
  expect_error(post_json(*client, "/api/master-audio", {{"fileName", 42}}), 400, "fileName");
  expect_error(
      post_json(*client, "/api/master-audio", {{"fileName", "a.wav"}, {"settings", {{"compressionRatio", 12}}}}), 400,
      "settings.compressionRatio must be between 1 and 10");
  expect_error(
      post_json(*client, "/api/master-audio", {{"fileName", "a.wav"}, {"settings", {{"targetLoudness", "loud"}}}}), 400,
      "settings.targetLoudness");
  expect_error(post_json(*client, "/api/master-audio", {{"fileName", "a.wav"}, {"settings", {{"truePeakCeiling", 3}}}}),
               400, "settings.truePeakCeiling must be between -9 and 0");
  expect_error(post_json(*client, "/api/master-audio", {{"fileName", "a.wav"}, {"settings", "bright"}}), 400,
               "settings");
  expect_error(post_json(*client, "/api/upload-url", {{"fileName", 7}}), 400, "fileName");
  expect_error(post_json(*client, "/api/upload-url", {{"contentType", "audio/wav\r\nX-Evil: 1"}}), 400, "contentType");
}

TEST(Service, MissingObjectsAre404) {
  ServerProcess server;
  ASSERT_TRUE(server.wait_until_ready()) << server.log();
  auto client = server.client();
  expect_error(post_json(*client, "/api/master-audio", {{"fileName", "nothing-here.wav"}}), 404, "not found");
  upload(*client, "song.wav", std::string(2000, 'x'));
  expect_error(post_json(*client, "/api/master-audio",
                         {{"fileName", "song.wav"}, {"settings", {{"referenceFileName", "no-reference.wav"}}}}),
               404, "reference object not found");
  auto unknown = client->Get("/no/such/page");
  expect_error(unknown, 404);
}

TEST(Service, SizeLimitsGive413) {
  ServerProcess server({"--max-input-bytes", "4096", "--max-body-bytes", "2048"});
  ASSERT_TRUE(server.wait_until_ready()) << server.log();
  auto client = server.client();
  // An object over the input limit, placed directly in the data directory.
  std::filesystem::create_directories(server.data_dir() / "objects");
  std::ofstream(server.data_dir() / "objects" / "big.wav", std::ios::binary) << std::string(5000, 'x');
  expect_error(post_json(*client, "/api/master-audio", {{"fileName", "big.wav"}}), 413, "limit is 4096 bytes");
  // A JSON body over the body limit.
  expect_error(post_json(*client, "/api/master-audio", {{"fileName", std::string(3000, 'a')}}), 413);
  // An upload over the input limit.
  auto signed_url = post_json(*client, "/api/upload-url", {{"fileName", "up.wav"}});
  ASSERT_TRUE(signed_url && signed_url->status == 200);
  const std::string url = body_of(signed_url)["uploadUrl"];
  auto put = server.client()->Put(url.substr(url.find("/files/")).c_str(), std::string(5000, 'y'), "audio/wav");
  expect_error(put, 413);
  EXPECT_FALSE(std::filesystem::exists(server.data_dir() / "objects" / "up.wav"));
  // The server is still fine.
  EXPECT_EQ(server.client()->Get("/health")->status, 200);
}

TEST(Service, RateLimitGives429WithRetryAfter) {
  ServerProcess server({"--rate-limit", "6:2"});
  ASSERT_TRUE(server.wait_until_ready()) << server.log();
  auto client = server.client();
  std::vector<int> statuses;
  std::string retry_after_text;
  for (int i = 0; i < 4; ++i) {
    auto res = post_json(*client, "/api/upload-url", {{"fileName", "x.wav"}});
    ASSERT_TRUE(res);
    statuses.push_back(res->status);
    if (res->status == 429) {
      expect_error(res, 429);
      retry_after_text = res->get_header_value("Retry-After");
    }
  }
  // Burst 2, refill one per 10 s: the first two pass and the next two are refused.
  EXPECT_EQ(statuses, (std::vector<int>{200, 200, 429, 429}));
  const int retry_after = std::atoi(retry_after_text.c_str());
  EXPECT_GE(retry_after, 1);
  EXPECT_LE(retry_after, 10);
  // Health checks are never rate limited.
  for (int i = 0; i < 5; ++i) EXPECT_EQ(server.client()->Get("/health")->status, 200);
}

TEST(Service, XForwardedForIsIgnoredUnlessProxyHopsAreTrusted) {
  // Without trusted hops a client cannot get a fresh bucket by inventing X-Forwarded-For values.
  ServerProcess server({"--rate-limit", "6:1"});
  ASSERT_TRUE(server.wait_until_ready()) << server.log();
  auto client = server.client();
  EXPECT_EQ(post_json(*client, "/api/upload-url", json::object(), {{"X-Forwarded-For", "1.1.1.1"}})->status, 200);
  EXPECT_EQ(post_json(*client, "/api/upload-url", json::object(), {{"X-Forwarded-For", "2.2.2.2"}})->status, 429);

  // Behind one trusted proxy the rightmost entry is the client; entries to its left are the client's own.
  ServerProcess proxied({"--rate-limit", "6:1", "--trusted-proxy-hops", "1"});
  ASSERT_TRUE(proxied.wait_until_ready()) << proxied.log();
  auto c2 = proxied.client();
  EXPECT_EQ(post_json(*c2, "/api/upload-url", json::object(), {{"X-Forwarded-For", "9.9.9.9, 3.3.3.3"}})->status, 200);
  EXPECT_EQ(post_json(*c2, "/api/upload-url", json::object(), {{"X-Forwarded-For", "8.8.8.8, 3.3.3.3"}})->status, 429);
  EXPECT_EQ(post_json(*c2, "/api/upload-url", json::object(), {{"X-Forwarded-For", "4.4.4.4"}})->status, 200);
}

TEST(Service, StorageFailureIs502WithoutDetail) {
  ServerProcess server;
  ASSERT_TRUE(server.wait_until_ready()) << server.log();
  // A symbolic link that points at itself: stat fails with ELOOP, a real storage-level failure.
  std::filesystem::create_directories(server.data_dir() / "objects");
  std::filesystem::create_symlink("loop.wav", server.data_dir() / "objects" / "loop.wav");
  auto res = post_json(*server.client(), "/api/master-audio", {{"fileName", "loop.wav"}});
  expect_error(res, 502, "storage failure");
  EXPECT_EQ(res->body.find(server.data_dir().string()), std::string::npos) << res->body;
  EXPECT_EQ(res->body.find("symbolic"), std::string::npos) << res->body;
}

TEST(Service, UnexpectedFailureIs500WithoutDetail) {
  const auto dir = make_temp_dir("spectrum-it-temp");
  ServerProcess broken({"--temp-dir", (dir / "jobs").string()});
  ASSERT_TRUE(broken.wait_until_ready()) << broken.log();
  auto client = broken.client();
  upload(*client, "song.wav", std::string(2000, 'x'));
  // The job folder's parent becomes a plain file after start-up: the job cannot create its folder.
  std::filesystem::remove_all(dir / "jobs");
  std::ofstream(dir / "jobs") << "not a directory";
  auto res = post_json(*client, "/api/master-audio", {{"fileName", "song.wav"}});
  expect_error(res, 500, "internal error");
  EXPECT_EQ(res->body.find(dir.string()), std::string::npos) << res->body;
  std::filesystem::remove_all(dir);
  EXPECT_EQ(client->Get("/health")->status, 200);
}

TEST(Service, HostileObjectNamesAreRejectedEverywhere) {
  ServerProcess server({"--rate-limit", "0"});
  ASSERT_TRUE(server.wait_until_ready()) << server.log();
  auto client = server.client();
  const std::vector<std::string> hostile = {
      "../escape.wav",
      "/etc/passwd",
      "a/../../escape.wav",
      "a\\b.wav",
      std::string("a\0b.wav", 7),
      "a\nb.wav",
      "a//b.wav",
      "./a.wav",
      "a/",
      std::string(1025, 'n'),
      "",
  };
  for (const auto& name : hostile) {
    expect_error(post_json(*client, "/api/master-audio", {{"fileName", name}}), 400);
    expect_error(post_json(*client, "/api/upload-url", {{"fileName", name}}), 400);
    expect_error(
        post_json(*client, "/api/master-audio", {{"fileName", "ok.wav"}, {"settings", {{"referenceFileName", name}}}}),
        400);
  }
  // Encoded traversal in a /files/ path never reaches the disk.
  for (const std::string path :
       {"/files/..%2F..%2Fsigning-key?expires=1&signature=x",
        "/files/a/%2e%2e/%2e%2e/signing-key?expires=1&signature=x", "/files/%2Fetc%2Fpasswd?expires=1&signature=x"}) {
    auto res = client->Get(path.c_str());
    ASSERT_TRUE(res) << path;
    EXPECT_TRUE(res->status == 400 || res->status == 404) << path << " -> " << res->status;
    EXPECT_EQ(res->body.find("PRIVATE"), std::string::npos);
  }
  // Nothing was written outside the object root.
  std::set<std::string> top_level;
  for (const auto& entry : std::filesystem::directory_iterator(server.data_dir())) {
    top_level.insert(entry.path().filename().string());
  }
  EXPECT_EQ(top_level, (std::set<std::string>{"objects", "signing-key"}));
}

TEST(Service, SignedUrlsRoundTripAndRejectBadOrExpiredSignatures) {
  ServerProcess server({"--upload-url-ttl-seconds", "60"});
  ASSERT_TRUE(server.wait_until_ready()) << server.log();
  auto client = server.client();
  const std::string bytes = "RIFF-not-really-audio-but-bytes-are-bytes";
  upload(*client, "dir/a b.wav", bytes);
  EXPECT_EQ(read_text(server.data_dir() / "objects" / "dir" / "a b.wav"), bytes);

  auto signed_url = post_json(*client, "/api/upload-url", {{"fileName", "c.wav"}, {"contentType", "audio/wav"}});
  ASSERT_TRUE(signed_url && signed_url->status == 200);
  const json answer = body_of(signed_url);
  const std::string url = answer["uploadUrl"];
  EXPECT_EQ(url.rfind("http://127.0.0.1:" + std::to_string(server.port()) + "/files/c.wav?expires=", 0), 0u) << url;
  EXPECT_EQ(answer["fileName"], "c.wav");
  EXPECT_TRUE(answer["expiresAt"].is_string());
  const std::string path = url.substr(url.find("/files/"));

  expect_error(client->Put(path.c_str(), "x", "audio/mpeg"), 403);         // content type was signed
  expect_error(client->Put((path + "0").c_str(), "x", "audio/wav"), 403);  // signature altered
  expect_error(client->Get(path.c_str()), 403);                            // a PUT URL cannot GET
  const std::string other = "/files/d.wav" + path.substr(path.find('?'));
  expect_error(client->Put(other.c_str(), "x", "audio/wav"), 403);  // another object
  const std::string expired = "/files/c.wav?expires=1000&signature=" + path.substr(path.find("signature=") + 10);
  expect_error(client->Put(expired.c_str(), "x", "audio/wav"), 403);
  expect_error(client->Get("/files/dir/a%20b.wav"), 403);  // no signature at all
  EXPECT_FALSE(std::filesystem::exists(server.data_dir() / "objects" / "c.wav"));
  EXPECT_FALSE(std::filesystem::exists(server.data_dir() / "objects" / "d.wav"));
}

TEST(Service, MetricsCoverRequestsJobsAndRejections) {
  ServerProcess server({"--rate-limit", "60:1"});
  ASSERT_TRUE(server.wait_until_ready()) << server.log();
  auto client = server.client();
  client->Get("/health");
  post_json(*client, "/api/master-audio", {{"fileName", "missing.wav"}});
  post_json(*client, "/api/master-audio", {{"fileName", "missing.wav"}});  // rate limited
  auto res = client->Get("/metrics");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_NE(res->get_header_value("Content-Type").find("text/plain"), std::string::npos);
  const std::string& text = res->body;
  EXPECT_NE(text.find("spectrum_http_requests_total{route=\"/health\",status=\"200\"} "), std::string::npos) << text;
  EXPECT_NE(text.find("spectrum_http_requests_total{route=\"/api/master-audio\",status=\"404\"} 1"), std::string::npos)
      << text;
  EXPECT_NE(text.find("spectrum_rejected_requests_total{reason=\"rate_limit\"} 1"), std::string::npos) << text;
  EXPECT_NE(text.find("spectrum_job_duration_seconds_count{outcome=\"error\"} 1"), std::string::npos) << text;
  EXPECT_NE(text.find("spectrum_jobs_in_flight 0"), std::string::npos) << text;
  EXPECT_NE(text.find("spectrum_job_queue_depth 0"), std::string::npos) << text;
}

TEST(Service, LogsAreOneJsonObjectPerLineWithSeverity) {
  ServerProcess server;
  ASSERT_TRUE(server.wait_until_ready()) << server.log();
  post_json(*server.client(), "/api/master-audio", {{"fileName", "missing.wav"}});
  std::istringstream lines(server.log());
  std::string line;
  int count = 0;
  bool saw_job = false;
  while (std::getline(lines, line)) {
    const json entry = json::parse(line, nullptr, false);
    ASSERT_TRUE(entry.is_object()) << line;
    EXPECT_TRUE(entry.contains("severity") && entry.contains("message") && entry.contains("time")) << line;
    if (entry.contains("jobId")) saw_job = true;
    ++count;
  }
  EXPECT_GE(count, 2);
  EXPECT_TRUE(saw_job);
}

TEST(Service, BadConfigurationStopsStartUpWithAClearMessage) {
  struct Case {
    std::vector<std::string> args;
    std::map<std::string, std::string> env;
    std::string words;
  };
  const std::vector<Case> cases = {
      {{}, {{"SPECTRUM_MAX_JOBS", "lots"}}, "SPECTRUM_MAX_JOBS must be an integer between 1 and 256"},
      {{"--max-queue", "-1"}, {}, "--max-queue must be an integer between 0 and 1024"},
      {{"--max-jobs", "0"}, {}, "--max-jobs"},
      {{}, {{"ALLOWED_ORIGINS", "example.com"}}, "ALLOWED_ORIGINS"},
      {{}, {{"SPECTRUM_BACKEND_API_TOKEN", "short"}}, "SPECTRUM_BACKEND_API_TOKEN"},
      {{"--rate-limit", "fast"}, {}, "--rate-limit"},
      {{},
       {{"GOOGLE_CLOUD_BUCKET_NAME", "bucket"}, {"GOOGLE_APPLICATION_CREDENTIALS", "/nonexistent/key.json"}},
       "GCS"},
  };
  for (const auto& c : cases) {
    ServerProcess server(c.args, c.env);
    const auto code = server.wait_for_exit(std::chrono::seconds(20));
    ASSERT_TRUE(code.has_value()) << c.words;
    EXPECT_NE(*code, 0) << c.words;
    EXPECT_NE(server.log().find(c.words), std::string::npos) << server.log();
    EXPECT_EQ(server.log().find("short"), std::string::npos) << "secrets must not be echoed";
  }
  // A flag overrides a bad environment value (the harness always passes --port 0).
  ServerProcess overridden({}, {{"PORT", "http"}});
  ASSERT_TRUE(overridden.wait_until_ready()) << overridden.log();
}

}  // namespace
}  // namespace spectrum::testing
