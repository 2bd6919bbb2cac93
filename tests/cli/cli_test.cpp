// The spectrum-master executable from outside: exit codes, messages, reports and bad input.
#include <sys/wait.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/ffmpeg_meter.h"
#include "support/signals.h"
#include "support/wav_file.h"

namespace {

namespace fs = std::filesystem;

struct CliResult {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};

// Runs the CLI with the given shell-quoted arguments, capturing stdout and stderr.
CliResult run_cli(const std::string& args) {
  const fs::path err_file = fs::temp_directory_path() / ("spectrum-cli-err-" + std::to_string(::getpid()));
  const std::string cmd = std::string(SPECTRUM_CLI_PATH) + " " + args + " 2>" + err_file.string();
  CliResult r;
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (pipe == nullptr) return r;
  std::array<char, 4096> buf{};
  std::size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) r.out.append(buf.data(), n);
  const int status = ::pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream e(err_file);
  r.err.assign(std::istreambuf_iterator<char>(e), std::istreambuf_iterator<char>());
  fs::remove(err_file);
  return r;
}

class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("spectrum-cli-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path music(const std::string& name, double seconds = 6.0, int channels = 2) {
    spectrum::test::MusicLikeOptions o;
    o.seconds = seconds;
    o.channels = channels;
    const fs::path p = dir_ / name;
    EXPECT_TRUE(spectrum::test::write_wav_float(p, spectrum::test::music_like(o), 48000).ok());
    return p;
  }
  fs::path write_bytes(const std::string& name, const std::string& bytes) {
    const fs::path p = dir_ / name;
    std::ofstream(p, std::ios::binary) << bytes;
    return p;
  }
  // No output and no temporary file may be left behind after a failure.
  void expect_no_output_left() {
    for (const auto& e : fs::directory_iterator(dir_)) {
      const std::string n = e.path().filename().string();
      EXPECT_EQ(n.find("out"), std::string::npos) << "left behind: " << n;
      EXPECT_EQ(n.find(".tmp"), std::string::npos) << "left behind: " << n;
    }
  }
  fs::path dir_;
};

std::string q(const fs::path& p) {
  return "'" + p.string() + "'";
}

TEST_F(Cli, MasterWritesReportAndHitsTarget) {
  const fs::path in = music("song.wav");
  const fs::path out = dir_ / "song_mastered.flac";
  const CliResult r = run_cli("master " + q(in) + " " + q(out) + " --target-loudness -12 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto report = nlohmann::json::parse(r.out);
  EXPECT_NEAR(report["output"]["integratedLufs"].get<double>(), -12.0, 0.1);
  EXPECT_LE(report["output"]["truePeakDbtp"].get<double>(), -1.0);
  EXPECT_EQ(report["output"]["sampleRateHz"], 48000);
  EXPECT_TRUE(report["input"].contains("loudnessRangeLu"));
  EXPECT_TRUE(report["limiter"].contains("maxDb"));
  auto ff = spectrum::test::measure_with_ffmpeg(out);
  ASSERT_TRUE(ff.ok());
  EXPECT_NEAR(ff->integrated_lufs, -12.0, 0.1);
}

TEST_F(Cli, MasterAlbumKeepsTheDistanceAndFailsWhole) {
  const fs::path loud = music("loud.wav");
  const fs::path quiet = dir_ / "quiet.wav";
  // The same music 6 dB down: the album keeps that distance, with the loud track on the target.
  ASSERT_EQ(std::system(
                ("ffmpeg -hide_banner -loglevel error -y -i " + q(loud) + " -af volume=-6dB -c:a pcm_f32le " + q(quiet))
                    .c_str()),
            0);
  const fs::path out = dir_ / "album-out";
  const CliResult r = run_cli("master-album " + q(out) + " " + q(loud) + " " + q(quiet) + " --preset spotify --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto album = nlohmann::json::parse(r.out);
  EXPECT_EQ(album["mode"], "album");
  const auto a = spectrum::test::measure_with_ffmpeg(out / "loud_mastered.wav");
  const auto b = spectrum::test::measure_with_ffmpeg(out / "quiet_mastered.wav");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NEAR(a->integrated_lufs, -14.0, 0.1);
  EXPECT_NEAR(a->integrated_lufs - b->integrated_lufs, 6.0, 0.3);

  // One track that is not audio: exit 4, its name in the message, no master of any track left.
  const fs::path bad = write_bytes("bad.wav", std::string(3000, 'x'));
  const fs::path out2 = dir_ / "album-failed";
  const CliResult failed = run_cli("master-album " + q(out2) + " " + q(loud) + " " + q(bad));
  EXPECT_EQ(failed.exit_code, 4) << failed.err;
  EXPECT_NE(failed.err.find("bad.wav"), std::string::npos) << failed.err;
  EXPECT_TRUE(fs::is_empty(out2));
}

TEST_F(Cli, HumanReadableByDefault) {
  const fs::path in = music("song.wav");
  const CliResult r = run_cli("master " + q(in) + " " + q(dir_ / "x_mastered.wav"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("integrated"), std::string::npos);
  EXPECT_NE(r.out.find("LUFS"), std::string::npos);
  EXPECT_TRUE(r.err.empty()) << "progress must only go to a terminal: " << r.err;
}

TEST_F(Cli, AnalyzeMeasures) {
  const fs::path in = music("song.wav");
  const CliResult r = run_cli("analyze " + q(in) + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  auto ff = spectrum::test::measure_with_ffmpeg(in);
  ASSERT_TRUE(ff.ok());
  EXPECT_NEAR(j["integratedLufs"].get<double>(), ff->integrated_lufs, 0.1);
  EXPECT_NEAR(j["truePeakDbtp"].get<double>(), ff->true_peak_dbtp, 0.3);
  EXPECT_EQ(j["channels"], 2);
  EXPECT_NEAR(j["durationSeconds"].get<double>(), 6.0, 0.01);
}

TEST_F(Cli, InvalidSettingIsUsageError) {
  const fs::path in = music("song.wav");
  const CliResult r = run_cli("master " + q(in) + " " + q(dir_ / "out.wav") + " --compression-ratio 12");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("compressionRatio"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("between 1 and 10"), std::string::npos) << r.err;
  expect_no_output_left();
}

TEST_F(Cli, UnknownProfileNamesAllowedValues) {
  const fs::path in = music("song.wav");
  const CliResult r = run_cli("master " + q(in) + " " + q(dir_ / "out.wav") + " --eq-profile loud");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("bass-boost"), std::string::npos) << r.err;
}

TEST_F(Cli, MissingInputIsExitThree) {
  const CliResult r = run_cli("master " + q(dir_ / "nope.wav") + " " + q(dir_ / "out.wav"));
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("not found"), std::string::npos) << r.err;
}

TEST_F(Cli, BadFilesAreClearErrorsAndLeaveNothing) {
  const fs::path empty = write_bytes("empty.wav", "");
  const fs::path text = write_bytes("notes.mp3", "these are my lyrics, not audio\n");
  std::string random(20000, '\0');
  for (std::size_t i = 0; i < random.size(); ++i) random[i] = static_cast<char>((i * 2654435761u) >> 13);
  const fs::path noise = write_bytes("random.flac", random);
  // A WAV cut short in the middle of its header.
  const fs::path good = music("good.wav", 1.0);
  std::ifstream g(good, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(g)), std::istreambuf_iterator<char>());
  const fs::path truncated_header = write_bytes("cut.wav", bytes.substr(0, 30));
  for (const fs::path& bad : {empty, text, noise, truncated_header}) {
    const CliResult r = run_cli("master " + q(bad) + " " + q(dir_ / "out.wav"));
    EXPECT_EQ(r.exit_code, 4) << bad << ": " << r.err;
    EXPECT_NE(r.err.find("error:"), std::string::npos);
    EXPECT_EQ(r.err.find(dir_.string()), std::string::npos) << "leaks a path: " << r.err;
  }
  expect_no_output_left();
}

TEST_F(Cli, TruncatedAudioIsMasteredAsFarAsItGoes) {
  const fs::path good = music("good.wav", 4.0);
  std::ifstream g(good, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(g)), std::istreambuf_iterator<char>());
  const fs::path cut = write_bytes("cut.wav", bytes.substr(0, bytes.size() / 2));
  const CliResult r = run_cli("master " + q(cut) + " " + q(dir_ / "cut_mastered.wav") + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_NEAR(j["output"]["durationSeconds"].get<double>(), 2.0, 0.05);
}

// Bytes of a file, read whole.
std::string read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Encodes `seconds` of a tone with ffmpeg into `path` (its extension picks the format).
bool ffmpeg_tone(const fs::path& path, int seconds = 3) {
  const std::string cmd = "ffmpeg -v error -y -f lavfi -i sine=frequency=440:duration=" + std::to_string(seconds) +
                          ":sample_rate=44100 -ac 2 " + q(path) + " </dev/null";
  return std::system(cmd.c_str()) == 0;
}

// FFmpeg reports a FLAC or AIFF header cut short as an I/O error (EIO); the file is readable, so it is an
// undecodable input (exit 4, HTTP 422), not a failure to write the output (exit 5, HTTP 500).
TEST_F(Cli, HeaderCutShortIsUndecodableNotAnIoError) {
  for (const char* name : {"tone.flac", "tone.aiff"}) {
    const fs::path whole = dir_ / name;
    ASSERT_TRUE(ffmpeg_tone(whole)) << name;
    const fs::path cut = write_bytes(std::string("cut-") + name, read_bytes(whole).substr(0, 12));
    for (const char* command : {"analyze ", "master "}) {
      std::string args = command + q(cut);
      if (std::string(command) == "master ") args += " " + q(dir_ / "out.wav");
      const CliResult r = run_cli(args);
      EXPECT_EQ(r.exit_code, 4) << command << name << ": " << r.err;
      EXPECT_NE(r.err.find("not a decodable audio file: cut-" + std::string(name)), std::string::npos) << r.err;
    }
  }
  expect_no_output_left();
}

// Audio lost on the way in is reported (a file shorter than its header says, damaged packets skipped), and a
// header's claim never sizes memory.
TEST_F(Cli, LostAudioIsReported) {
  // A WAV whose header promises 2^31 frames with 1 KB of samples.
  std::string wav = read_bytes(music("long.wav", 1.0));
  const std::size_t data = wav.find("data");
  ASSERT_NE(data, std::string::npos);
  wav = wav.substr(0, data + 8 + 1024);
  const std::uint32_t claimed = 0x7FFFFFF0U;
  for (int i = 0; i < 4; ++i)
    wav[data + 4 + static_cast<std::size_t>(i)] = static_cast<char>((claimed >> (8 * i)) & 0xFF);
  const fs::path short_wav = write_bytes("claims-more.wav", wav);
  // An Ogg Vorbis file with one byte flipped in its middle: the demuxer drops that page (about 1 s of 10).
  const fs::path ogg = dir_ / "tone.ogg";
  ASSERT_TRUE(ffmpeg_tone(ogg, 10));
  std::string vorbis = read_bytes(ogg);
  vorbis[vorbis.size() / 2] = static_cast<char>(vorbis[vorbis.size() / 2] ^ 0x5A);
  const fs::path damaged = write_bytes("flipped.ogg", vorbis);
  // An MP3 whose Xing/Info header counts 2^31 - 1 frames (56,097,535 s): memory must follow the audio decoded.
  const fs::path mp3 = dir_ / "tone.mp3";
  ASSERT_TRUE(ffmpeg_tone(mp3));
  std::string frames = read_bytes(mp3);
  const std::size_t info = frames.find("Info") != std::string::npos ? frames.find("Info") : frames.find("Xing");
  ASSERT_NE(info, std::string::npos);
  frames.replace(info + 8, 4, "\x7F\xFF\xFF\xFF");
  const fs::path huge = write_bytes("claims-ages.mp3", frames);

  for (const fs::path& lossy : {short_wav, damaged, huge}) {
    const CliResult r = run_cli("analyze " + q(lossy) + " --json");
    ASSERT_EQ(r.exit_code, 0) << lossy << ": " << r.err;
    const auto warnings = nlohmann::json::parse(r.out)["warnings"];
    ASSERT_FALSE(warnings.empty()) << lossy;
    const std::string text = warnings.dump();
    EXPECT_TRUE(text.find("shorter than its header says") != std::string::npos ||
                text.find("damaged packets") != std::string::npos)
        << text;
    const CliResult m =
        run_cli("master " + q(lossy) + " " + q(dir_ / ("m-" + lossy.filename().string() + ".wav")) + " --json");
    ASSERT_EQ(m.exit_code, 0) << m.err;
    EXPECT_EQ(nlohmann::json::parse(m.out)["warnings"].dump().find(warnings[0].get<std::string>()) != std::string::npos,
              true)
        << m.out;
  }
  // The intact tone has nothing to report.
  const CliResult clean = run_cli("analyze " + q(ogg) + " --json");
  ASSERT_EQ(clean.exit_code, 0) << clean.err;
  EXPECT_TRUE(nlohmann::json::parse(clean.out)["warnings"].empty()) << clean.out;
}

TEST_F(Cli, ZeroLengthAudioIsRejected) {
  spectrum::test::WavData empty;
  empty.sample_rate_hz = 48000;
  empty.channels.resize(2);
  const fs::path p = dir_ / "zero.wav";
  ASSERT_TRUE(spectrum::test::write_wav_float(p, empty).ok());
  const CliResult r = run_cli("master " + q(p) + " " + q(dir_ / "out.wav"));
  EXPECT_EQ(r.exit_code, 4) << r.err;
  EXPECT_NE(r.err.find("no audio"), std::string::npos) << r.err;
  expect_no_output_left();
}

TEST_F(Cli, SilenceIsLeftAtItsLevelWithWarning) {
  const fs::path p = dir_ / "silence.wav";
  ASSERT_TRUE(spectrum::test::write_wav_float(p, spectrum::AudioBuffer(2, 48000 * 3), 48000).ok());
  const CliResult r = run_cli("master " + q(p) + " " + q(dir_ / "silence_mastered.wav") + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["gainAppliedDb"].get<double>(), 0.0);
  EXPECT_TRUE(j["output"]["integratedLufs"].is_null());
  ASSERT_FALSE(j["warnings"].empty());
  EXPECT_NE(j["warnings"][0].get<std::string>().find("silent"), std::string::npos);
}

TEST_F(Cli, NoiseFloorIsNotPumpedUp) {
  // A -80 dBFS hiss: below the absolute gate, so it must not be raised by 60+ dB.
  const fs::path p = dir_ / "hiss.wav";
  ASSERT_TRUE(spectrum::test::write_wav_float(p, spectrum::test::white_noise(48000, 3, -80, 2, 3), 48000).ok());
  const CliResult r = run_cli("master " + q(p) + " " + q(dir_ / "hiss_mastered.wav") + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["gainAppliedDb"].get<double>(), 0.0);
  EXPECT_LT(j["output"]["samplePeakDbfs"].get<double>(), -60.0);
}

TEST_F(Cli, ClipShorterThanGateIsNormalised) {
  const fs::path p = dir_ / "blip.wav";
  ASSERT_TRUE(spectrum::test::write_wav_float(p, spectrum::test::sine(48000, 0.3, 1000, -30), 48000).ok());
  const CliResult r = run_cli("master " + q(p) + " " + q(dir_ / "blip_mastered.wav") + " --json --target-loudness -14");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_TRUE(j["output"]["integratedLufs"].is_null());  // undefined by BS.1770 for < 400 ms
  EXPECT_GT(j["gainAppliedDb"].get<double>(), 10.0);
  EXPECT_FALSE(j["warnings"].empty());
}

TEST_F(Cli, NonFiniteSamplesAreReplacedAndReported) {
  auto buffer = spectrum::test::sine(48000, 2.0, 440, -12);
  buffer.channel(0)[1000] = std::nanf("");
  buffer.channel(1)[2000] = INFINITY;
  const fs::path p = dir_ / "nan.wav";
  ASSERT_TRUE(spectrum::test::write_wav_float(p, buffer, 48000).ok());
  const fs::path out = dir_ / "nan_mastered.wav";
  const CliResult r = run_cli("master " + q(p) + " " + q(out) + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_NE(j["warnings"].dump().find("NaN"), std::string::npos);
  auto data = spectrum::test::read_wav(out);
  ASSERT_TRUE(data.ok());
  for (const auto& ch : data->channels)
    for (float x : ch) ASSERT_TRUE(std::isfinite(x));
}

TEST_F(Cli, MoreThanTwoChannelsNamesTheCount) {
  const fs::path p = dir_ / "surround.wav";
  spectrum::test::WavData six;
  six.sample_rate_hz = 48000;
  six.channels.assign(6, std::vector<float>(48000, 0.1F));
  ASSERT_TRUE(spectrum::test::write_wav_float(p, six).ok());
  const CliResult r = run_cli("master " + q(p) + " " + q(dir_ / "out.wav"));
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_NE(r.err.find("6 channels"), std::string::npos) << r.err;
}

TEST_F(Cli, OutputEqualToInputIsRefused) {
  const fs::path in = music("song.wav");
  const auto size_before = fs::file_size(in);
  const CliResult r = run_cli("master " + q(in) + " " + q(in));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("input"), std::string::npos) << r.err;
  EXPECT_EQ(fs::file_size(in), size_before);
  // The same file through another spelling of the path.
  const CliResult r2 = run_cli("master " + q(in) + " " + q(dir_ / "." / "song.wav"));
  EXPECT_EQ(r2.exit_code, 2);
}

TEST_F(Cli, FormatConflictsWithExtension) {
  const fs::path in = music("song.wav");
  const CliResult r = run_cli("master " + q(in) + " " + q(dir_ / "out.mp3") + " --format flac");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("conflicts"), std::string::npos) << r.err;
}

TEST_F(Cli, DurationLimitIsEnforced) {
  const fs::path in = music("song.wav", 6.0);
  const CliResult r = run_cli("master " + q(in) + " " + q(dir_ / "out.wav") + " --max-duration 2");
  EXPECT_EQ(r.exit_code, 6);
  EXPECT_NE(r.err.find("limit"), std::string::npos) << r.err;
  expect_no_output_left();
}

TEST_F(Cli, TagsAreCarriedOver) {
  const fs::path in = dir_ / "tagged.flac";
  ASSERT_EQ(std::system(("ffmpeg -loglevel error -y -f lavfi -i sine=frequency=440:duration=3 -ac 2 "
                         "-metadata title='Night Drive' -metadata artist='The Testers' " +
                         q(in))
                            .c_str()),
            0);
  const fs::path out = dir_ / "tagged_mastered.mp3";
  const CliResult r = run_cli("master " + q(in) + " " + q(out));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const fs::path probe = dir_ / "probe.txt";
  ASSERT_EQ(std::system(("ffprobe -loglevel error -show_entries format_tags=title,artist -of default=nw=1 " + q(out) +
                         " > " + q(probe))
                            .c_str()),
            0);
  std::ifstream p(probe);
  const std::string tags((std::istreambuf_iterator<char>(p)), std::istreambuf_iterator<char>());
  EXPECT_NE(tags.find("Night Drive"), std::string::npos) << tags;
  EXPECT_NE(tags.find("The Testers"), std::string::npos) << tags;
}

// Slope, in dB per octave from 100 Hz to 10 kHz, of (target - levels): how far a spectrum's tilt is off.
double tilt_mismatch_db_per_octave(const nlohmann::json& centres, const nlohmann::json& levels,
                                   const nlohmann::json& target) {
  double sx = 0.0, sy = 0.0, sxx = 0.0, sxy = 0.0;
  int n = 0;
  for (std::size_t b = 0; b < centres.size(); ++b) {
    const double f = centres[b].get<double>();
    if (f < 99.0 || f > 10100.0) continue;
    const double x = std::log2(f / 1000.0);
    const double y = target[b]["gainDb"].get<double>() - levels[b].get<double>();
    sx += x;
    sy += y;
    sxx += x * x;
    sxy += x * y;
    ++n;
  }
  return (n * sxy - sx * sy) / (n * sxx - sx * sx);
}

TEST_F(Cli, ReferenceSetsLoudnessAndTonalTarget) {
  spectrum::test::MusicLikeOptions bright;
  bright.seconds = 8.0;
  bright.tilt_db_per_octave = 2.0;
  bright.loudness_lufs = -16.0;
  const fs::path ref = dir_ / "reference.wav";
  ASSERT_TRUE(spectrum::test::write_wav_float(ref, spectrum::test::music_like(bright), 48000).ok());
  spectrum::test::MusicLikeOptions dark = bright;
  dark.tilt_db_per_octave = -2.0;
  dark.loudness_lufs = -20.0;
  dark.seed = 5;
  const fs::path in = dir_ / "dark.wav";
  ASSERT_TRUE(spectrum::test::write_wav_float(in, spectrum::test::music_like(dark), 48000).ok());
  const CliResult r = run_cli("master " + q(in) + " " + q(dir_ / "dark_mastered.wav") + " --reference " + q(ref) +
                              " --tonal-match 100 --compression-ratio 1 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  // The reference's loudness became the target, and the output landed on it.
  EXPECT_NEAR(j["reference"]["integratedLufs"].get<double>(), -16.0, 0.1);
  EXPECT_NEAR(j["targetLoudnessLufs"].get<double>(), j["reference"]["integratedLufs"].get<double>(), 1e-9);
  EXPECT_NEAR(j["output"]["integratedLufs"].get<double>(), -16.0, 0.1);
  // The reference's spectrum became the target: the dark input's tilt moved most of the way to it.
  const auto& centres = j["plots"]["input"]["bandCentresHz"];
  const double before = tilt_mismatch_db_per_octave(centres, j["plots"]["input"]["bandLevelsDb"], j["targetCurve"]);
  const double after = tilt_mismatch_db_per_octave(centres, j["plots"]["output"]["bandLevelsDb"], j["targetCurve"]);
  EXPECT_GT(std::abs(before), 1.5) << "the input should be clearly darker than the reference";
  EXPECT_LE(std::abs(after), 0.5 * std::abs(before)) << "before " << before << " dB/oct, after " << after;
}

TEST_F(Cli, EqCurvesMatchTheDocs) {
  const CliResult r = run_cli("eq-curves");
  ASSERT_EQ(r.exit_code, 0);
  std::ifstream doc(fs::path(SPECTRUM_SOURCE_DIR) / "docs" / "eq-curves.md");
  const std::string text((std::istreambuf_iterator<char>(doc)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find(r.out), std::string::npos) << "docs/eq-curves.md is out of date: regenerate its table with "
                                                    "`spectrum-master eq-curves`";
}

}  // namespace
