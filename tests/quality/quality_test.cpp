// Quality bars of the mastering engine, measured on synthesised music-like material with our meter and,
// independently, with ffmpeg's ebur128 filter. Every assertion is a measured number against a stated tolerance.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "audio/encoder.h"
#include "dsp/band_spectrum.h"
#include "dsp/loudness_meter.h"
#include "mastering/engine.h"
#include "mastering/eq_curves.h"
#include "mastering/tonal_match.h"
#include "support/ffmpeg_meter.h"
#include "support/scratch_dir.h"
#include "support/signals.h"
#include "support/wav_file.h"

namespace spectrum::mastering {
namespace {

namespace fs = std::filesystem;
using test::MusicLikeOptions;

fs::path temp_dir() {
  return test::scratch_dir();
}

struct Material {
  std::string name;
  MusicLikeOptions options;
};

// The material the issue names: dynamic quiet, hot clipped, bass-heavy, near-mono, three rates, mono.
std::vector<Material> materials() {
  std::vector<Material> m;
  MusicLikeOptions base;
  base.seconds = 24.0;
  m.push_back({"typical48k", base});
  MusicLikeOptions quiet = base;
  quiet.loudness_lufs = -35.0;
  quiet.dynamics_db = 18.0;
  quiet.transient_db = 12.0;
  m.push_back({"quiet_dynamic", quiet});
  MusicLikeOptions hot = base;
  hot.loudness_lufs = -6.0;
  hot.clip_ceiling_dbfs = 0.0;
  hot.dynamics_db = 3.0;
  m.push_back({"hot_clipped", hot});
  MusicLikeOptions bass = base;
  bass.bass_db = 12.0;
  m.push_back({"bass_heavy", bass});
  MusicLikeOptions near_mono = base;
  near_mono.stereo_correlation = 0.98;
  m.push_back({"near_mono", near_mono});
  MusicLikeOptions r44 = base;
  r44.sample_rate_hz = 44100.0;
  m.push_back({"rate44k", r44});
  MusicLikeOptions r96 = base;
  r96.sample_rate_hz = 96000.0;
  m.push_back({"rate96k", r96});
  MusicLikeOptions mono = base;
  mono.channels = 1;
  m.push_back({"mono", mono});
  return m;
}

fs::path write_material(const std::string& name, const MusicLikeOptions& o) {
  const fs::path path = temp_dir() / (name + ".wav");
  if (!fs::exists(path)) {
    const AudioBuffer buffer = test::music_like(o);
    EXPECT_TRUE(test::write_wav_float(path, buffer, static_cast<int>(o.sample_rate_hz)).ok());
  }
  return path;
}

Settings settings_with(nlohmann::json j) {
  auto s = parse_settings(j);
  EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().message);
  return s.ok() ? *s : Settings{};
}

MasterReport master_or_fail(const fs::path& in, const fs::path& out, const Settings& settings,
                            std::size_t block_frames = kDefaultBlockFrames) {
  MasterJob job;
  job.input = in;
  job.output = out;
  job.settings = settings;
  job.block_frames = block_frames;
  auto report = master_file(job);
  EXPECT_TRUE(report.ok()) << in << ": " << (report.ok() ? "" : report.error().message);
  return report.ok() ? *report : MasterReport{};
}

// Our meter on a decoded file (independent of the engine's own report).
struct OurReading {
  double integrated_lufs;
  double lra_lu;
  double true_peak_dbtp;
};
OurReading measure_ours(const fs::path& wav) {
  auto data = test::read_wav(wav);
  EXPECT_TRUE(data.ok());
  dsp::LoudnessMeter meter;
  meter.prepare(data->sample_rate_hz, static_cast<int>(data->channels.size()));
  std::vector<const float*> ptrs;
  for (auto& ch : data->channels) ptrs.push_back(ch.data());
  meter.process(ptrs.data(), static_cast<int>(ptrs.size()), data->num_frames());
  return {meter.integrated_lufs(), meter.loudness_range_lu(), meter.true_peak_dbtp()};
}

// Long-term third-octave band levels of a file (all of it).
std::vector<double> band_levels_db(const fs::path& wav, std::vector<double>* centres = nullptr) {
  auto data = test::read_wav(wav);
  EXPECT_TRUE(data.ok());
  const int channels = static_cast<int>(data->channels.size());
  dsp::BandSpectrum spectrum;
  spectrum.prepare(data->sample_rate_hz, channels, 0.5, static_cast<double>(data->num_frames()) / data->sample_rate_hz);
  float* ptrs[2] = {data->channels[0].data(), channels > 1 ? data->channels[1].data() : nullptr};
  spectrum.process(AudioBlock(ptrs, channels, data->num_frames()));
  spectrum.finish();
  std::vector<double> sum(spectrum.centres_hz().size(), 0.0);
  for (std::size_t s = 0; s < spectrum.num_sections(); ++s) {
    auto p = spectrum.section_band_power(s);
    for (std::size_t b = 0; b < sum.size(); ++b) sum[b] += p[b];
  }
  std::vector<double> db;
  for (double v : sum) db.push_back(10.0 * std::log10(v / static_cast<double>(spectrum.num_sections())));
  if (centres != nullptr) *centres = spectrum.centres_hz();
  return db;
}

// ---------------------------------------------------------------------------------------------------------
// Loudness and true peak: every material, targets -20/-14/-10, WAV output (±0.1 LU, both meters).

class LoudnessOnTarget : public ::testing::TestWithParam<std::tuple<int, double>> {};

TEST_P(LoudnessOnTarget, WavLandsWithinTenthOfLuAndUnderCeiling) {
  const Material mat = materials()[static_cast<std::size_t>(std::get<0>(GetParam()))];
  const double target = std::get<1>(GetParam());
  if (mat.options.channels == 1 && target > -12.0) {
    GTEST_SKIP() << "mono at -10 LUFS is as loud per channel as stereo at -7: see MonoAtMinusTen below";
  }
  const fs::path in = write_material(mat.name, mat.options);
  const fs::path out = temp_dir() / (mat.name + "_" + std::to_string(static_cast<int>(-target)) + "_out.wav");
  const MasterReport report = master_or_fail(in, out, settings_with({{"targetLoudness", target}}));

  const OurReading ours = measure_ours(out);
  auto ff = test::measure_with_ffmpeg(out);
  ASSERT_TRUE(ff.ok()) << ff.error().message;
  EXPECT_NEAR(ours.integrated_lufs, target, 0.1) << mat.name;
  EXPECT_NEAR(ff->integrated_lufs, target, 0.1) << mat.name;
  EXPECT_LE(ff->true_peak_dbtp, -1.0) << mat.name;
  EXPECT_LE(ours.true_peak_dbtp, -1.0) << mat.name;
  EXPECT_NEAR(report.output.integrated_lufs, ours.integrated_lufs, 0.05);

  // Sample values: no NaN, none over the ceiling.
  auto data = test::read_wav(out);
  ASSERT_TRUE(data.ok());
  const double ceiling = std::pow(10.0, -1.0 / 20.0);
  for (const auto& ch : data->channels)
    for (float x : ch) {
      ASSERT_TRUE(std::isfinite(x));
      ASSERT_LE(std::abs(x), ceiling);
    }
  RecordProperty("integrated_ffmpeg", std::to_string(ff->integrated_lufs));
  RecordProperty("true_peak_ffmpeg", std::to_string(ff->true_peak_dbtp));
}

INSTANTIATE_TEST_SUITE_P(Materials, LoudnessOnTarget,
                         ::testing::Combine(::testing::Range(0, 8), ::testing::Values(-20.0, -14.0, -10.0)));

// Lossy: MP3 and AAC within ±0.3 LU, true peak of the delivered (decoded) file under the ceiling.
// At -10 LUFS the codecs' overshoot on dense material would need more than 24 dB of limiting under a -1 dBTP
// ceiling; the engine then keeps the ceiling and warns (tested separately below), so -10 is not in this matrix.
class LossyOnTarget : public ::testing::TestWithParam<std::tuple<std::string, int, double>> {};

TEST_P(LossyOnTarget, DeliveredFileOnTargetAndUnderCeiling) {
  const auto& [ext, material, target] = GetParam();
  const Material mat = materials()[static_cast<std::size_t>(material)];
  const fs::path in = write_material(mat.name, mat.options);
  const fs::path out = temp_dir() / (mat.name + "_" + std::to_string(static_cast<int>(-target)) + "_out" + ext);
  master_or_fail(in, out, settings_with({{"targetLoudness", target}}));
  auto ff = test::measure_with_ffmpeg(out);
  ASSERT_TRUE(ff.ok()) << ff.error().message;
  EXPECT_NEAR(ff->integrated_lufs, target, 0.3) << out;
  EXPECT_LE(ff->true_peak_dbtp, -1.0) << out;
}

INSTANTIATE_TEST_SUITE_P(Formats, LossyOnTarget,
                         ::testing::Combine(::testing::Values(".mp3", ".m4a"), ::testing::Values(0, 2, 5),
                                            ::testing::Values(-20.0, -14.0)));

// Where the ceiling and the target conflict, the ceiling wins, and the report says so.
TEST(Quality, LossyCeilingWinsOverUnreachableLoudness) {
  const Material mat = materials()[2];  // hot, clipped, dense
  const fs::path in = write_material(mat.name, mat.options);
  const fs::path out = temp_dir() / "hot_clipped_loud.m4a";
  const MasterReport r = master_or_fail(in, out, settings_with({{"targetLoudness", -10}}));
  auto ff = test::measure_with_ffmpeg(out);
  ASSERT_TRUE(ff.ok());
  EXPECT_LE(ff->true_peak_dbtp, -1.0);
  if (std::abs(ff->integrated_lufs + 10.0) > 0.3) {
    ASSERT_FALSE(r.warnings.empty());
    EXPECT_NE(r.warnings.back().find("not the target"), std::string::npos);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Transparency: neutral everything, target = the input's own loudness, true peak well under the ceiling.

TEST(Quality, NeutralSettingsDoNoHarm) {
  MusicLikeOptions o;
  o.seconds = 24.0;
  o.loudness_lufs = -20.0;
  o.transient_db = -12.0;
  o.dynamics_db = 3.0;
  const fs::path in = write_material("transparent", o);
  const OurReading before = measure_ours(in);
  ASSERT_LT(before.true_peak_dbtp, -4.0);
  const fs::path out = temp_dir() / "transparent_out.wav";
  const MasterReport r =
      master_or_fail(in, out,
                     settings_with({{"compressionRatio", 1},
                                    {"eqProfile", "neutral"},
                                    {"stereoWidth", 100},
                                    {"tonalMatch", 0},
                                    {"targetLoudness", std::round(before.integrated_lufs * 10.0) / 10.0}}));
  const OurReading after = measure_ours(out);
  EXPECT_NEAR(after.integrated_lufs, std::round(before.integrated_lufs * 10.0) / 10.0, 0.1);
  EXPECT_NEAR(after.lra_lu, before.lra_lu, 0.1);
  EXPECT_EQ(r.compressor.max_db, 0.0);
  EXPECT_EQ(r.limiter.max_db, 0.0);

  std::vector<double> centres;
  const auto in_bands = band_levels_db(in, &centres);
  const auto out_bands = band_levels_db(out);
  const double level_change = after.integrated_lufs - before.integrated_lufs;
  for (std::size_t b = 0; b < centres.size(); ++b) {
    if (centres[b] < 39.0 || centres[b] > 20500.0) continue;
    EXPECT_NEAR(out_bands[b] - in_bands[b] - level_change, 0.0, 0.2) << centres[b] << " Hz";
  }
}

// ---------------------------------------------------------------------------------------------------------
// EQ: with tonalMatch 0, each profile's measured response matches its documented curve within ±0.5 dB.

class ProfileResponse : public ::testing::TestWithParam<std::string> {};

TEST_P(ProfileResponse, MatchesDocumentedCurve) {
  const fs::path in = temp_dir() / "pink.wav";
  if (!fs::exists(in)) {
    ASSERT_TRUE(test::write_wav_float(in, test::pink_noise(48000.0, 20.0, -30.0, 2, 7), 48000).ok());
  }
  const fs::path out = temp_dir() / ("pink_" + GetParam() + ".wav");
  const MasterReport r = master_or_fail(
      in, out,
      settings_with({{"compressionRatio", 1}, {"eqProfile", GetParam()}, {"tonalMatch", 0}, {"targetLoudness", -20}}));
  ASSERT_EQ(r.limiter.max_db, 0.0);
  std::vector<double> centres;
  const auto in_bands = band_levels_db(in, &centres);
  const auto out_bands = band_levels_db(out);
  const EqProfile profile = r.settings.eq_profile;
  for (std::size_t b = 0; b < centres.size(); ++b) {
    if (centres[b] < 39.0 || centres[b] > 16500.0) continue;
    const double measured = out_bands[b] - in_bands[b] - r.gain_applied_db;
    EXPECT_NEAR(measured, profile_gain_db(profile, centres[b]), 0.5) << GetParam() << " at " << centres[b] << " Hz";
  }
}

INSTANTIATE_TEST_SUITE_P(Profiles, ProfileResponse, ::testing::Values("neutral", "bright", "warm", "bass-boost"));

// ---------------------------------------------------------------------------------------------------------
// Tonal matching at 100 % halves the distance to the target on a dark and on a bright input.

class TonalMatching : public ::testing::TestWithParam<double> {};

TEST_P(TonalMatching, HalvesDistanceToTarget) {
  MusicLikeOptions o;
  o.seconds = 24.0;
  o.tilt_db_per_octave = GetParam();
  const std::string name = GetParam() < 0 ? "dark" : "bright";
  const fs::path in = write_material(name, o);
  const fs::path out = temp_dir() / (name + "_matched.wav");
  const MasterReport r = master_or_fail(in, out, settings_with({{"tonalMatch", 100}, {"compressionRatio", 1}}));
  std::vector<double> centres;
  for (const auto& b : r.target_curve) centres.push_back(b.frequency_hz);
  std::vector<double> target;
  for (const auto& b : r.target_curve) target.push_back(b.gain_db);
  const double before = spectral_distance_db(centres, r.input_plot.band_levels_db, target);
  const double after = spectral_distance_db(centres, r.output_plot.band_levels_db, target);
  EXPECT_GT(before, 1.0) << "the test input should be clearly off target";
  EXPECT_LE(after, 0.5 * before) << name << ": before " << before << " dB, after " << after << " dB";
  for (const auto& b : r.eq_correction) EXPECT_LE(std::abs(b.gain_db), 6.0 + 1e-9);
  RecordProperty("distance_before_db", std::to_string(before));
  RecordProperty("distance_after_db", std::to_string(after));
}

INSTANTIATE_TEST_SUITE_P(Tilts, TonalMatching, ::testing::Values(-3.0, 3.0));

// ---------------------------------------------------------------------------------------------------------
// Stereo width.

struct MidSide {
  std::vector<double> mid_db;
  std::vector<double> side_db;
  std::vector<double> centres;
};
MidSide mid_side_bands(const fs::path& wav) {
  auto data = test::read_wav(wav);
  EXPECT_TRUE(data.ok());
  AudioBuffer ms(2, data->num_frames());
  for (std::size_t i = 0; i < data->num_frames(); ++i) {
    const float l = data->channels[0][i];
    const float rr = data->channels[1][i];
    ms.channel(0)[i] = 0.5F * (l + rr);
    ms.channel(1)[i] = 0.5F * (l - rr);
  }
  MidSide out;
  for (int c = 0; c < 2; ++c) {
    const fs::path tmp = temp_dir() / ("ms_" + wav.stem().string() + std::to_string(c) + ".wav");
    AudioBuffer one(1, data->num_frames());
    std::copy_n(ms.channel(c), data->num_frames(), one.channel(0));
    EXPECT_TRUE(test::write_wav_float(tmp, one, data->sample_rate_hz).ok());
    (c == 0 ? out.mid_db : out.side_db) = band_levels_db(tmp, &out.centres);
  }
  return out;
}

TEST(Quality, WidthZeroIsMono) {
  const fs::path in = write_material("typical48k", materials()[0].options);
  const fs::path out = temp_dir() / "width0.wav";
  master_or_fail(in, out, settings_with({{"stereoWidth", 0}}));
  auto data = test::read_wav(out);
  ASSERT_TRUE(data.ok());
  double mid = 0.0;
  double side = 0.0;
  for (std::size_t i = 0; i < data->num_frames(); ++i) {
    const double l = data->channels[0][i];
    const double r = data->channels[1][i];
    const double m = 0.5 * (l + r);
    const double s = 0.5 * (l - r);
    mid += m * m;
    side += s * s;
  }
  EXPECT_LE(10.0 * std::log10((side + 1e-30) / mid), -60.0);
}

TEST(Quality, WidthTwoHundredRaisesSideBySixDb) {
  const fs::path in = write_material("typical48k", materials()[0].options);
  const fs::path normal = temp_dir() / "width100.wav";
  const fs::path wide = temp_dir() / "width200.wav";
  const nlohmann::json common = {{"compressionRatio", 1}, {"tonalMatch", 0}, {"targetLoudness", -20}};
  nlohmann::json w100 = common;
  w100["stereoWidth"] = 100;
  nlohmann::json w200 = common;
  w200["stereoWidth"] = 200;
  master_or_fail(in, normal, settings_with(w100));
  master_or_fail(in, wide, settings_with(w200));
  const MidSide a = mid_side_bands(normal);
  const MidSide b = mid_side_bands(wide);
  for (std::size_t i = 0; i < a.centres.size(); ++i) {
    if (a.centres[i] < 500.0 || a.centres[i] > 16000.0) continue;
    const double side_vs_mid_change = (b.side_db[i] - b.mid_db[i]) - (a.side_db[i] - a.mid_db[i]);
    EXPECT_NEAR(side_vs_mid_change, 6.02, 0.5) << a.centres[i] << " Hz";
  }
}

// BS.1770 reads a mono file 3 LU lower than the same audio on both speakers, so -10 LUFS mono is as hot per
// channel as a -7 LUFS stereo master: a clean limiter cannot get there under -1 dBTP on this material. The
// engine keeps the ceiling, gets as close as 24 dB of limiting allows, and says so.
TEST(Quality, MonoAtMinusTen) {
  const fs::path in = write_material("mono", materials()[7].options);
  const fs::path out = temp_dir() / "mono_loud.wav";
  const MasterReport r = master_or_fail(in, out, settings_with({{"targetLoudness", -10}}));
  auto ff = test::measure_with_ffmpeg(out);
  ASSERT_TRUE(ff.ok());
  EXPECT_LE(ff->true_peak_dbtp, -1.0);
  EXPECT_GT(ff->integrated_lufs, -13.0);
  if (std::abs(ff->integrated_lufs + 10.0) > 0.1) {
    ASSERT_FALSE(r.warnings.empty());
    EXPECT_NE(r.warnings.back().find("not the target"), std::string::npos);
  }
}

TEST(Quality, MonoInputStaysMono) {
  const fs::path in = write_material("mono", materials()[7].options);
  const fs::path out = temp_dir() / "mono_wide.wav";
  const MasterReport r = master_or_fail(in, out, settings_with({{"stereoWidth", 200}}));
  EXPECT_EQ(r.output.channels, 1);
  auto data = test::read_wav(out);
  ASSERT_TRUE(data.ok());
  EXPECT_EQ(data->channels.size(), 1u);
}

// ---------------------------------------------------------------------------------------------------------
// Compression: LRA falls monotonically as the ratio goes 1 -> 4 -> 10 at equal target loudness.

TEST(Quality, LoudnessRangeFallsWithRatio) {
  const fs::path in = write_material("quiet_dynamic", materials()[1].options);
  double previous_lra = 1e9;
  for (int ratio : {1, 4, 10}) {
    const fs::path out = temp_dir() / ("ratio" + std::to_string(ratio) + ".wav");
    master_or_fail(in, out, settings_with({{"compressionRatio", ratio}, {"targetLoudness", -16}}));
    const OurReading m = measure_ours(out);
    EXPECT_NEAR(m.integrated_lufs, -16.0, 0.1);
    EXPECT_LT(m.lra_lu, previous_lra) << "ratio " << ratio;
    RecordProperty("lra_ratio_" + std::to_string(ratio), std::to_string(m.lra_lu));
    previous_lra = m.lra_lu;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Block size: identical output whatever the processing block size.

TEST(Quality, OutputIndependentOfBlockSize) {
  MusicLikeOptions o;
  o.seconds = 8.0;
  const fs::path in = write_material("short8s", o);
  const Settings s = settings_with({{"eqProfile", "warm"}, {"stereoWidth", 150}, {"targetLoudness", -10}});
  std::vector<std::string> contents;
  for (std::size_t block : {kDefaultBlockFrames, std::size_t{1000}, std::size_t{37}}) {
    const fs::path out = temp_dir() / ("block" + std::to_string(block) + ".wav");
    master_or_fail(in, out, s, block);
    std::ifstream f(out, std::ios::binary);
    contents.emplace_back(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  }
  ASSERT_FALSE(contents[0].empty());
  EXPECT_EQ(contents[0], contents[1]);
  EXPECT_EQ(contents[0], contents[2]);
}

// ---------------------------------------------------------------------------------------------------------
// Delivery: a lossless output is measured as it is written, not decoded again. The report's output figures
// must be those of the file itself, read back by the decoder, to the last bit.

TEST(Quality, LosslessOutputIsMeasuredExactlyAsDelivered) {
  MusicLikeOptions o;
  o.seconds = 12.0;
  o.loudness_lufs = -20.0;
  const fs::path float_in = write_material("delivery_float", o);
  // A 16-bit input gives a dithered 16-bit output; float input gives float WAV and 24-bit FLAC.
  const fs::path pcm16_in = temp_dir() / "delivery_16.wav";
  {
    auto data = test::read_wav(float_in);
    ASSERT_TRUE(data.ok());
    audio::EncoderOptions eo;
    eo.sample_rate_hz = static_cast<int>(data->sample_rate_hz);
    eo.channels = static_cast<int>(data->channels.size());
    eo.bits_per_sample = 16;
    auto encoder = audio::Encoder::create(pcm16_in, eo);
    ASSERT_TRUE(encoder.ok());
    float* planes[2] = {data->channels[0].data(), data->channels[1].data()};
    ASSERT_TRUE((*encoder)->write(AudioBlock(planes, eo.channels, data->num_frames())).ok());
    ASSERT_TRUE((*encoder)->commit().ok());
  }
  const Settings s = settings_with({{"targetLoudness", -10}});  // loud enough for the limiter to work
  for (const auto& [in, out_name] :
       {std::pair{pcm16_in, "delivery_16_out.wav"}, std::pair{float_in, "delivery_float_out.wav"},
        std::pair{float_in, "delivery_24_out.flac"}}) {
    SCOPED_TRACE(out_name);
    const fs::path out = temp_dir() / out_name;
    const MasterReport report = master_or_fail(in, out, s);
    auto read_back = analyze_file(out);
    ASSERT_TRUE(read_back.ok());
    const Measurement& m = read_back->measurement;
    EXPECT_EQ(report.output.integrated_lufs, m.integrated_lufs);
    EXPECT_EQ(report.output.loudness_range_lu, m.loudness_range_lu);
    EXPECT_EQ(report.output.true_peak_dbtp, m.true_peak_dbtp);
    EXPECT_EQ(report.output.sample_peak_dbfs, m.sample_peak_dbfs);
    EXPECT_EQ(report.output_plot.short_term_lufs, read_back->plot.short_term_lufs);
    EXPECT_EQ(report.output_plot.band_levels_db, read_back->plot.band_levels_db);
    EXPECT_GT(report.limiter.max_db, 0.5);  // the limiter did work, so rounding mattered at its output
    EXPECT_NEAR(m.integrated_lufs, -10.0, 0.1);
  }
}

}  // namespace
}  // namespace spectrum::mastering
