#include <gtest/gtest.h>

#include <unistd.h>
#include <cmath>
#include <filesystem>
#include <string>

#include "dsp/loudness_meter.h"
#include "support/ffmpeg_meter.h"
#include "support/signals.h"
#include "support/wav_file.h"

namespace spectrum::test {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() : path_(fs::temp_directory_path() / ("spectrum-support-" + std::to_string(::getpid()))) {
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  [[nodiscard]] const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

struct Reading {
  double integrated_lufs, lra_lu, true_peak_dbtp, sample_peak_dbfs;
};

Reading measure(const AudioBuffer& buffer, double rate) {
  dsp::LoudnessMeter meter;
  meter.prepare(rate, buffer.num_channels(), {true, static_cast<double>(buffer.num_frames()) / rate});
  std::vector<const float*> channels;
  for (int c = 0; c < buffer.num_channels(); ++c) channels.push_back(buffer.channel(c));
  meter.process(channels.data(), buffer.num_channels(), buffer.num_frames());
  return {meter.integrated_lufs(), meter.loudness_range_lu(), meter.true_peak_dbtp(), meter.sample_peak_dbfs()};
}

double correlation(const AudioBuffer& b) {
  double lr = 0, ll = 0, rr = 0;
  for (std::size_t i = 0; i < b.num_frames(); ++i) {
    const double l = b.channel(0)[i];
    const double r = b.channel(1)[i];
    lr += l * r;
    ll += l * l;
    rr += r * r;
  }
  return lr / std::sqrt(ll * rr);
}

TEST(WavFile, FloatRoundTripIsExact) {
  TempDir dir;
  const auto noise = white_noise(44100.0, 0.5, -10.0, 2, 9);
  ASSERT_TRUE(write_wav_float(dir.path() / "noise.wav", noise, 44100).ok());
  auto back = read_wav(dir.path() / "noise.wav");
  ASSERT_TRUE(back.ok()) << back.error().message;
  ASSERT_EQ(back->sample_rate_hz, 44100);
  ASSERT_EQ(back->channels.size(), 2U);
  ASSERT_EQ(back->num_frames(), noise.num_frames());
  for (int c = 0; c < 2; ++c) {
    for (std::size_t i = 0; i < noise.num_frames(); ++i)
      ASSERT_EQ(back->channels[static_cast<std::size_t>(c)][i], noise.channel(c)[i]);
  }
  EXPECT_FALSE(read_wav(dir.path() / "missing.wav").ok());
}

TEST(Signals, SineAndNoiseLevels) {
  EXPECT_NEAR(measure(sine(48000.0, 5.0, 1000.0, -23.0), 48000.0).integrated_lufs, -23.0, 0.05);
  const auto pink = pink_noise(48000.0, 2.0, -20.0, 1, 4);
  double sum = 0.0;
  for (std::size_t i = 0; i < pink.num_frames(); ++i)
    sum += static_cast<double>(pink.channel(0)[i]) * static_cast<double>(pink.channel(0)[i]);
  EXPECT_NEAR(10.0 * std::log10(sum / static_cast<double>(pink.num_frames())), -20.0, 0.01);
  // Same seed, same samples; another seed, other samples.
  EXPECT_EQ(white_noise(8000.0, 0.1, -6.0, 1, 1).channel(0)[100], white_noise(8000.0, 0.1, -6.0, 1, 1).channel(0)[100]);
  EXPECT_NE(white_noise(8000.0, 0.1, -6.0, 1, 1).channel(0)[100], white_noise(8000.0, 0.1, -6.0, 1, 2).channel(0)[100]);
}

TEST(Signals, MusicLikeHitsItsTargetsAndItsCharacter) {
  MusicLikeOptions quiet;
  quiet.loudness_lufs = -35.0;
  quiet.dynamics_db = 20.0;
  quiet.transient_db = 12.0;
  const auto q = measure(music_like(quiet), quiet.sample_rate_hz);
  EXPECT_NEAR(q.integrated_lufs, -35.0, 0.05);

  MusicLikeOptions steady;
  steady.dynamics_db = 1.0;
  const auto s = measure(music_like(steady), steady.sample_rate_hz);
  EXPECT_GT(q.lra_lu, s.lra_lu + 5.0) << "dynamics_db must widen the loudness range";

  MusicLikeOptions hot;
  hot.loudness_lufs = -4.0;
  hot.clip_ceiling_dbfs = 0.0;
  const auto h = measure(music_like(hot), hot.sample_rate_hz);
  EXPECT_LE(h.sample_peak_dbfs, 0.0 + 1e-6);
  EXPECT_GT(h.true_peak_dbtp, 0.0);  // clipped tops overshoot between samples
  EXPECT_NEAR(h.integrated_lufs, -6.0, 2.0);

  MusicLikeOptions near_mono;
  near_mono.stereo_correlation = 0.98;
  MusicLikeOptions wide;
  wide.stereo_correlation = 0.2;
  EXPECT_GT(correlation(music_like(near_mono)), 0.9);
  EXPECT_LT(correlation(music_like(wide)), correlation(music_like(near_mono)) - 0.1);

  MusicLikeOptions mono;
  mono.channels = 1;
  mono.sample_rate_hz = 96000.0;
  const auto m = music_like(mono);
  EXPECT_EQ(m.num_channels(), 1);
  EXPECT_NEAR(measure(m, 96000.0).integrated_lufs, -18.0, 0.05);
}

TEST(FfmpegMeter, AgreesWithOurMeterOnASine) {
  TempDir dir;
  const auto tone = sine(48000.0, 10.0, 1000.0, -20.0);
  ASSERT_TRUE(write_wav_float(dir.path() / "tone.wav", tone, 48000).ok());
  auto reading = measure_with_ffmpeg(dir.path() / "tone.wav");
  ASSERT_TRUE(reading.ok()) << reading.error().message;
  const auto ours = measure(tone, 48000.0);
  EXPECT_NEAR(reading->integrated_lufs, ours.integrated_lufs, 0.1);  // ffmpeg prints one decimal
  EXPECT_NEAR(reading->true_peak_dbtp, -20.0, 0.2);
  EXPECT_NEAR(reading->loudness_range_lu, 0.0, 0.1);
  EXPECT_FALSE(measure_with_ffmpeg(dir.path() / "missing.wav").ok());
}

}  // namespace
}  // namespace spectrum::test
