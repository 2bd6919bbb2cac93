// A delivery bundle: WAV, MP3 and AAC from one request, each delivered file downloaded and measured by
// ffmpeg's ebur128 (an independent meter): on target and under the ceiling by its own measurement.
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "server_process.h"

namespace spectrum::testing {
namespace {

using json = nlohmann::json;

constexpr double kTargetLufs = -14.0;
constexpr double kCeilingDbtp = -1.0;
constexpr double kLoudnessToleranceLu = 0.2;
constexpr double kTruePeakSlackDb = 0.1;  // ffmpeg's 4x-oversampled reading against our ceiling

TEST(Bundle, WavMp3AndAacFromOneRequestEachOnTargetAndUnderTheCeiling) {
  const fs::path dir = make_temp_dir("spectrum-it-bundle");
  ServerProcess server;
  ASSERT_TRUE(server.wait_until_ready()) << server.log();
  auto client = server.client();
  client->set_read_timeout(std::chrono::seconds(300));
  // Pink noise well under the target: each format has to be brought up 14 dB and measured on its own file.
  const fs::path source = dir / "source.wav";
  const auto [made, made_output] = run_command(
      "ffmpeg -hide_banner -loglevel error -f lavfi -i 'anoisesrc=color=pink:duration=20:amplitude=0.4:seed=3' "
      "-af 'highpass=f=40' -ac 2 -ar 44100 " +
      source.string());
  ASSERT_EQ(made, 0) << made_output;
  ASSERT_TRUE(upload_file(*client, "bundle/song.wav", source));

  const json request = {{"fileName", "bundle/song.wav"}, {"settings", {{"outputFormats", {"wav", "mp3", "aac"}}}}};
  auto res = client->Post("/api/master-audio", request.dump(), "application/json");
  ASSERT_TRUE(res) << server.log();
  ASSERT_EQ(res->status, 200) << res->body;
  const json answer = json::parse(res->body);
  const json& deliverables = answer.at("deliverables");
  ASSERT_EQ(deliverables.size(), 3u) << answer.dump(1);
  EXPECT_EQ(answer.at("masteredUrl"), deliverables[0].at("masteredUrl")) << "masteredUrl stays the first file";
  const std::vector<std::string> formats = {"wav", "mp3", "aac"};
  const std::vector<std::string> names = {"bundle/song_mastered.wav", "bundle/song_mastered.mp3",
                                          "bundle/song_mastered.m4a"};
  for (std::size_t i = 0; i < formats.size(); ++i) {
    SCOPED_TRACE(formats[i]);
    const json& file = deliverables[i];
    EXPECT_EQ(file.at("format"), formats[i]);
    EXPECT_EQ(file.at("masteredFileName"), names[i]);
    auto got = client->Get(path_of(file.at("masteredUrl")).c_str());
    ASSERT_TRUE(got && got->status == 200);
    const fs::path local = dir / fs::path(names[i]).filename();
    std::ofstream(local, std::ios::binary) << got->body;
    const auto measured = measure_loudness(local);
    ASSERT_TRUE(measured.has_value());
    std::cout << "[ MEASURED ] " << formats[i] << ": " << measured->integrated_lufs << " LUFS, "
              << measured->true_peak_dbtp << " dBTP (reported " << file.at("integratedLufs") << " / "
              << file.at("truePeakDbtp") << ")\n";
    EXPECT_NEAR(measured->integrated_lufs, kTargetLufs, kLoudnessToleranceLu);
    EXPECT_LE(measured->true_peak_dbtp, kCeilingDbtp + kTruePeakSlackDb);
    EXPECT_NEAR(file.at("integratedLufs").get<double>(), measured->integrated_lufs, 0.1);
  }
  fs::remove_all(dir);
}

TEST(Bundle, BadListsAre400NamingTheField) {
  ServerProcess server;
  ASSERT_TRUE(server.wait_until_ready()) << server.log();
  auto client = server.client();
  for (const std::string settings :
       {R"({"outputFormats":[]})", R"({"outputFormats":["wav","wav"]})", R"({"outputFormats":["wav","midi"]})",
        R"({"outputFormats":"wav"})", R"({"outputFormat":"mp3","outputFormats":["wav","mp3"]})"}) {
    auto res =
        client->Post("/api/master-audio", R"({"fileName":"a.wav","settings":)" + settings + "}", "application/json");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 400) << settings << " -> " << res->body;
    EXPECT_NE(res->body.find("settings.outputFormat"), std::string::npos) << res->body;
  }
}

}  // namespace
}  // namespace spectrum::testing
