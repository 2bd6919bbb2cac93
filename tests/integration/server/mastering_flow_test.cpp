// The service with the real mastering engine: the full web-app flow, engine-side errors, overload and
// graceful shutdown while a job runs.
#include <atomic>
#include <future>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "server_process.h"

namespace spectrum::testing {
namespace {

using json = nlohmann::json;

json body_of(const httplib::Result& res) {
  return json::parse(res->body, nullptr, false);
}

httplib::Result post_json(httplib::Client& client, const std::string& path, const json& body) {
  return client.Post(path.c_str(), body.dump(), "application/json");
}

int metric_value(httplib::Client& client, const std::string& name) {
  auto res = client.Get("/metrics");
  if (!res) return -1;
  const auto at = res->body.find("\n" + name + " ");
  if (at == std::string::npos) return -1;
  return std::atoi(res->body.c_str() + at + name.size() + 2);
}

class MasteringFlow : public ::testing::Test {
 protected:
  void SetUp() override { fixtures_ = make_temp_dir("spectrum-it-audio"); }
  void TearDown() override { fs::remove_all(fixtures_); }
  fs::path fixtures_;
};

TEST_F(MasteringFlow, UploadMasterDownloadAndMeasure) {
  const fs::path jobs = fixtures_ / "jobs";
  ServerProcess server({"--temp-dir", jobs.string()});
  ASSERT_TRUE(server.wait_until_ready()) << server.log();
  auto client = server.client();
  const fs::path tone = fixtures_ / "tone.wav";
  ASSERT_TRUE(make_tone(tone, 8.0, 220.0, -6.0));  // about -27 LUFS: the engine must raise it
  ASSERT_TRUE(upload_file(*client, "album.v2/track.one.wav", tone));

  auto res = post_json(*client, "/api/master-audio",
                       {{"inputUrl", "http://169.254.169.254/latest/meta-data"},  // never fetched
                        {"fileName", "album.v2/track.one.wav"},
                        {"settings", {{"targetLoudness", -14}, {"truePeakCeiling", -1.0}}}});
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body << server.log();
  const json body = body_of(res);
  EXPECT_EQ(body["success"], true);
  const std::string job_id = body["jobId"];
  EXPECT_TRUE(
      std::regex_match(job_id, std::regex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")))
      << job_id;
  EXPECT_GT(body["processingTime"].get<double>(), 0.0);
  EXPECT_LT(body["processingTime"].get<double>(), 120.0);
  EXPECT_TRUE(body["report"].is_object());
  const std::string url = body["masteredUrl"];
  EXPECT_NE(url.find("/files/album.v2/track.one_mastered.wav?"), std::string::npos) << url;
  EXPECT_TRUE(fs::exists(server.data_dir() / "objects" / "album.v2" / "track.one.wav"));  // input untouched

  auto download = client->Get(path_of(url).c_str());
  ASSERT_TRUE(download);
  ASSERT_EQ(download->status, 200);
  const fs::path mastered = fixtures_ / "mastered.wav";
  std::ofstream(mastered, std::ios::binary) << download->body;
  const auto loudness = measure_loudness(mastered);
  ASSERT_TRUE(loudness.has_value());
  // ffmpeg's meter, independent of the engine: target within 1 LU, true peak at or under the ceiling
  // (+0.2 dB for the meter's own oversampling tolerance).
  EXPECT_NEAR(loudness->integrated_lufs, -14.0, 1.0);
  EXPECT_LE(loudness->true_peak_dbtp, -1.0 + 0.2);
  // The job's temporary folder is gone.
  EXPECT_TRUE(fs::is_empty(jobs));
  EXPECT_EQ(server.log().find("\"severity\":\"ERROR\""), std::string::npos) << server.log();
}

TEST_F(MasteringFlow, OutputFormatChangesTheExtension) {
  ServerProcess server;
  ASSERT_TRUE(server.wait_until_ready()) << server.log();
  auto client = server.client();
  const fs::path tone = fixtures_ / "tone.wav";
  ASSERT_TRUE(make_tone(tone, 4.0));
  ASSERT_TRUE(upload_file(*client, "song.wav", tone));
  auto res =
      post_json(*client, "/api/master-audio", {{"fileName", "song.wav"}, {"settings", {{"outputFormat", "flac"}}}});
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  EXPECT_NE(body_of(res)["masteredUrl"].get<std::string>().find("/files/song_mastered.flac?"), std::string::npos);
  EXPECT_TRUE(fs::exists(server.data_dir() / "objects" / "song_mastered.flac"));
}

TEST_F(MasteringFlow, NotAudioOrCutShortIs422AndTooLongIs413) {
  ServerProcess server({"--max-duration-seconds", "3"});
  ASSERT_TRUE(server.wait_until_ready()) << server.log();
  auto client = server.client();
  const fs::path junk = fixtures_ / "junk.wav";
  std::ofstream(junk, std::ios::binary) << std::string(10000, 'j');
  ASSERT_TRUE(upload_file(*client, "junk.wav", junk));
  auto res = post_json(*client, "/api/master-audio", {{"fileName", "junk.wav"}});
  ASSERT_TRUE(res);
  EXPECT_TRUE(res->status == 415 || res->status == 422) << res->status << " " << res->body;
  EXPECT_EQ(res->body.find("spectrum-job-"), std::string::npos) << "temporary paths must not leak: " << res->body;

  // A FLAC whose header is cut short: FFmpeg reports EIO, but the file is the client's fault (422), not ours.
  const fs::path flac = fixtures_ / "tone.flac";
  ASSERT_TRUE(make_tone(flac, 1.0));
  const fs::path cut = fixtures_ / "cut.flac";
  std::ofstream(cut, std::ios::binary) << read_text(flac).substr(0, 12);
  ASSERT_TRUE(upload_file(*client, "cut.flac", cut));
  auto cut_res = post_json(*client, "/api/master-audio", {{"fileName", "cut.flac"}});
  ASSERT_TRUE(cut_res);
  EXPECT_EQ(cut_res->status, 422) << cut_res->body;
  EXPECT_NE(cut_res->body.find("not a decodable audio file"), std::string::npos) << cut_res->body;
  EXPECT_EQ(cut_res->body.find("spectrum-job-"), std::string::npos) << cut_res->body;

  const fs::path long_tone = fixtures_ / "long.wav";
  ASSERT_TRUE(make_tone(long_tone, 5.0));
  ASSERT_TRUE(upload_file(*client, "long.wav", long_tone));
  auto too_long = post_json(*client, "/api/master-audio", {{"fileName", "long.wav"}});
  ASSERT_TRUE(too_long);
  EXPECT_EQ(too_long->status, 413) << too_long->body;
  EXPECT_FALSE(fs::exists(server.data_dir() / "objects" / "long_mastered.wav"));
}

TEST_F(MasteringFlow, OverloadGives503OrRetryAfterAndNeverACrash) {
  ServerProcess server({"--max-jobs", "1", "--max-queue", "1"});
  ASSERT_TRUE(server.wait_until_ready()) << server.log();
  const fs::path tone = fixtures_ / "tone.wav";
  ASSERT_TRUE(make_tone(tone, 60.0));
  ASSERT_TRUE(upload_file(*server.client(), "song.wav", tone));

  constexpr int kRequests = 6;
  std::vector<std::future<std::pair<int, std::string>>> results;
  for (int i = 0; i < kRequests; ++i) {
    results.push_back(std::async(std::launch::async, [&server] {
      auto res = post_json(*server.client(300), "/api/master-audio", {{"fileName", "song.wav"}});
      if (!res) return std::make_pair(-1, std::string());
      return std::make_pair(res->status, res->get_header_value("Retry-After"));
    }));
  }
  int ok = 0;
  int refused = 0;
  for (auto& r : results) {
    const auto [status, retry_after] = r.get();
    if (status == 200) ++ok;
    if (status == 503 || status == 429) {
      ++refused;
      EXPECT_GE(std::atoi(retry_after.c_str()), 1);
    }
    EXPECT_TRUE(status == 200 || status == 503 || status == 429) << status;
  }
  EXPECT_GE(ok, 1);
  EXPECT_GE(refused, 1);
  EXPECT_LE(ok, kRequests - 1);
  auto health = server.client()->Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(metric_value(*server.client(), "spectrum_jobs_in_flight"), 0);
  // Refusals at capacity are the design working, not faults: WARNING, never ERROR.
  std::istringstream log(server.log());
  int warned = 0;
  for (std::string line; std::getline(log, line);) {
    if (line.find("\"status\":503") == std::string::npos) continue;
    EXPECT_EQ(line.find("\"severity\":\"ERROR\""), std::string::npos) << line;
    warned += line.find("\"severity\":\"WARNING\"") != std::string::npos ? 1 : 0;
  }
  EXPECT_GE(warned, 1) << "no 503 was logged";
}

TEST_F(MasteringFlow, SigtermLetsTheRunningJobFinishAndExitsZero) {
  ServerProcess server({"--max-jobs", "1", "--shutdown-grace-seconds", "60"});
  ASSERT_TRUE(server.wait_until_ready()) << server.log();
  const fs::path tone = fixtures_ / "tone.wav";
  ASSERT_TRUE(make_tone(tone, 120.0));
  ASSERT_TRUE(upload_file(*server.client(), "song.wav", tone));

  auto job = std::async(std::launch::async, [&server] {
    return post_json(*server.client(300), "/api/master-audio", {{"fileName", "song.wav"}});
  });
  // Wait until the job holds its slot, then ask the server to stop.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (metric_value(*server.client(), "spectrum_jobs_in_flight") != 1 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_EQ(metric_value(*server.client(), "spectrum_jobs_in_flight"), 1);
  server.signal(SIGTERM);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  // No new work is accepted.
  httplib::Client late("127.0.0.1", server.port());
  late.set_connection_timeout(2);
  auto refused = late.Post("/api/master-audio", R"({"fileName":"song.wav"})", "application/json");
  EXPECT_TRUE(!refused || refused->status == 503);

  auto res = job.get();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;
  const auto code = server.wait_for_exit(std::chrono::seconds(30));
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 0) << server.log();
}

}  // namespace
}  // namespace spectrum::testing
