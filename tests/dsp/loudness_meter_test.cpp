#include "dsp/loudness_meter.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <numbers>
#include <random>
#include <vector>

#include "common/audio_block.h"
#include "dsp/k_weighting.h"

namespace spectrum::dsp {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

std::vector<float> sine(double sample_rate_hz, double frequency_hz, double level_dbfs, double seconds) {
  std::vector<float> x(static_cast<std::size_t>(std::llround(seconds * sample_rate_hz)));
  const double amplitude = std::pow(10.0, level_dbfs / 20.0);
  for (std::size_t i = 0; i < x.size(); ++i) {
    x[i] = static_cast<float>(
        amplitude * std::sin(2.0 * std::numbers::pi * frequency_hz * static_cast<double>(i) / sample_rate_hz));
  }
  return x;
}

// Feeds planar channels in blocks of block_frames.
void feed(LoudnessMeter& meter, std::vector<std::vector<float>>& channels, std::size_t block_frames) {
  const std::size_t frames = channels.front().size();
  for (std::size_t start = 0; start < frames; start += block_frames) {
    const std::size_t count = std::min(block_frames, frames - start);
    std::vector<float*> pointers;
    for (auto& ch : channels) pointers.push_back(ch.data() + start);
    meter.process(AudioBlock(pointers.data(), static_cast<int>(pointers.size()), count));
  }
}

LoudnessMeter measure(double sample_rate_hz, std::vector<std::vector<float>> channels,
                      std::size_t block_frames = 4096) {
  LoudnessMeter meter;
  const double seconds = static_cast<double>(channels.front().size()) / sample_rate_hz;
  meter.prepare(sample_rate_hz, static_cast<int>(channels.size()), {true, seconds});
  feed(meter, channels, block_frames);
  return meter;
}

TEST(KWeighting, CoefficientsAt48kHzMatchTheBs1770Table) {
  const auto c = k_weighting_coefficients(48000.0);
  EXPECT_NEAR(c.shelf.b0, 1.53512485958697, 1e-9);
  EXPECT_NEAR(c.shelf.b1, -2.69169618940638, 1e-9);
  EXPECT_NEAR(c.shelf.b2, 1.19839281085285, 1e-9);
  EXPECT_NEAR(c.shelf.a1, -1.69065929318241, 1e-9);
  EXPECT_NEAR(c.shelf.a2, 0.73248077421585, 1e-9);
  EXPECT_NEAR(c.high_pass.a1, -1.99004745483398, 1e-9);
  EXPECT_NEAR(c.high_pass.a2, 0.99007225036621, 1e-9);
}

TEST(KWeighting, ResponseHasTheShelfAndTheHighPassAtEveryRate) {
  for (double rate : {44100.0, 48000.0, 96000.0, 192000.0}) {
    // Gain of a steady sine after the filter settles, in dB.
    auto gain_db = [rate](double frequency_hz) {
      KWeightingFilter filter;
      filter.prepare(rate);
      const auto n = static_cast<std::size_t>(rate * 2.0);
      double in_energy = 0.0;
      double out_energy = 0.0;
      for (std::size_t i = 0; i < n; ++i) {
        const double x = std::sin(2.0 * std::numbers::pi * frequency_hz * static_cast<double>(i) / rate);
        const double y = filter.process(x);
        if (i >= n / 2) {
          in_energy += x * x;
          out_energy += y * y;
        }
      }
      return 10.0 * std::log10(out_energy / in_energy);
    };
    SCOPED_TRACE(rate);
    // Why BS.1770 subtracts 0.691. Away from 48 kHz the bilinear warping moves it a little (0.664 dB at 192 kHz).
    EXPECT_NEAR(gain_db(997.0), 0.691, 0.04);
    EXPECT_NEAR(gain_db(10000.0), 4.0, 0.1);  // high shelf
    EXPECT_LT(gain_db(20.0), -10.0);          // RLB high-pass
  }
}

class SineAtMinus23 : public ::testing::TestWithParam<double> {};

TEST_P(SineAtMinus23, ReadsMinus23Lufs) {
  const double rate = GetParam();
  const auto x = sine(rate, 1000.0, -23.0, 20.0);
  const auto meter = measure(rate, {x, x});
  EXPECT_NEAR(meter.integrated_lufs(), -23.0, 0.05);
  EXPECT_NEAR(meter.max_momentary_lufs(), -23.0, 0.05);
  EXPECT_NEAR(meter.max_short_term_lufs(), -23.0, 0.05);
  EXPECT_NEAR(meter.whole_programme_lufs(), -23.0, 0.05);
  EXPECT_NEAR(meter.loudness_range_lu(), 0.0, 0.05);
  EXPECT_NEAR(meter.sample_peak_dbfs(), -23.0, 0.01);
  EXPECT_EQ(meter.frames(), static_cast<std::int64_t>(x.size()));
  // 10 Hz short-term series: one value per 100 ms once 3 s are in.
  EXPECT_EQ(meter.short_term_lufs().size(), static_cast<std::size_t>(20.0 * 10 - 30 + 1));
}

INSTANTIATE_TEST_SUITE_P(Rates, SineAtMinus23, ::testing::Values(44100.0, 48000.0, 96000.0));

TEST(LoudnessMeter, SilenceIsMinusInfinity) {
  const std::vector<float> zeros(48000 * 5, 0.0F);
  const auto meter = measure(48000.0, {zeros, zeros});
  EXPECT_EQ(meter.integrated_lufs(), -kInf);
  EXPECT_EQ(meter.max_momentary_lufs(), -kInf);
  EXPECT_EQ(meter.whole_programme_lufs(), -kInf);
  EXPECT_EQ(meter.true_peak_dbtp(), -kInf);
  EXPECT_EQ(meter.sample_peak_dbfs(), -kInf);
  EXPECT_EQ(meter.loudness_range_lu(), 0.0);
}

TEST(LoudnessMeter, BlockSizeDoesNotChangeAnyResult) {
  std::mt19937 rng(11);
  std::normal_distribution<float> noise(0.0F, 0.1F);
  const double rate = 44100.0;
  std::vector<float> left(static_cast<std::size_t>(rate * 12.5));
  std::vector<float> right(left.size());
  for (std::size_t i = 0; i < left.size(); ++i) {
    // Noise whose level steps by 12 dB every 2 s, so gating and LRA have something to do.
    const float envelope = (static_cast<std::size_t>(static_cast<double>(i) / rate / 2.0) % 2 == 0) ? 1.0F : 0.25F;
    left[i] = envelope * noise(rng);
    right[i] = 0.5F * left[i] + envelope * noise(rng);
  }
  const auto reference = measure(rate, {left, right}, 4096);
  for (std::size_t block : {std::size_t{1}, std::size_t{100}, std::size_t{4096}, std::size_t{4410}}) {
    SCOPED_TRACE(block);
    const auto meter = measure(rate, {left, right}, block);
    EXPECT_EQ(meter.integrated_lufs(), reference.integrated_lufs());
    EXPECT_EQ(meter.loudness_range_lu(), reference.loudness_range_lu());
    EXPECT_EQ(meter.max_momentary_lufs(), reference.max_momentary_lufs());
    EXPECT_EQ(meter.max_short_term_lufs(), reference.max_short_term_lufs());
    EXPECT_EQ(meter.whole_programme_lufs(), reference.whole_programme_lufs());
    EXPECT_EQ(meter.true_peak_dbtp(), reference.true_peak_dbtp());
    EXPECT_EQ(meter.short_term_lufs(), reference.short_term_lufs());
  }
  EXPECT_TRUE(std::isfinite(reference.integrated_lufs()));
  EXPECT_GT(reference.loudness_range_lu(), 1.0);  // the level steps are visible
}

TEST(LoudnessMeter, ClipShorterThanOneBlockHasOnlyWholeProgrammeLoudness) {
  const auto x = sine(48000.0, 1000.0, -23.0, 0.3);
  const auto meter = measure(48000.0, {x, x});
  EXPECT_EQ(meter.integrated_lufs(), -kInf);
  EXPECT_EQ(meter.max_momentary_lufs(), -kInf);
  EXPECT_NEAR(meter.whole_programme_lufs(), -23.0, 0.2);
}

TEST(LoudnessMeter, MonoReadsAsOneChannelOfWeightOne) {
  const auto x = sine(48000.0, 1000.0, -20.0, 10.0);
  const std::vector<float> silence(x.size(), 0.0F);
  const auto mono = measure(48000.0, {x});
  const auto left_only = measure(48000.0, {x, silence});
  EXPECT_NEAR(mono.integrated_lufs(), left_only.integrated_lufs(), 1e-9);
  EXPECT_NEAR(mono.max_short_term_lufs(), left_only.max_short_term_lufs(), 1e-9);
  // One channel carries half the power of the same signal on two: -20 dBFS sine -> -23.01 LUFS.
  EXPECT_NEAR(mono.integrated_lufs(), -23.01, 0.05);
}

TEST(LoudnessMeter, GatingIgnoresQuietPassages) {
  // Tech 3341 case 4 shape, shortened: -72 / -36 / -23 / -36 / -72 dBFS.
  std::vector<float> x;
  for (auto [seconds, level] : {std::pair{4.0, -72.0}, {4.0, -36.0}, {20.0, -23.0}, {4.0, -36.0}, {4.0, -72.0}}) {
    const auto part = sine(48000.0, 1000.0, level, seconds);
    x.insert(x.end(), part.begin(), part.end());
  }
  const auto meter = measure(48000.0, {x, x});
  EXPECT_NEAR(meter.integrated_lufs(), -23.0, 0.1);
  EXPECT_LT(meter.whole_programme_lufs(), -24.0);  // ungated mean is pulled down by the quiet parts
}

TEST(LoudnessMeter, LoudnessRangeOfTwoLevelsIsTheirDifference) {
  // Tech 3342 case 1: 20 s at -20 dBFS then 20 s at -30 dBFS -> LRA 10 LU (standard tolerance +-1).
  auto x = sine(48000.0, 1000.0, -20.0, 20.0);
  const auto quiet = sine(48000.0, 1000.0, -30.0, 20.0);
  x.insert(x.end(), quiet.begin(), quiet.end());
  const auto meter = measure(48000.0, {x, x});
  EXPECT_NEAR(meter.loudness_range_lu(), 10.0, 0.1);
}

TEST(LoudnessMeter, TruePeakOfQuarterRateSineAt45Degrees) {
  const double rate = 48000.0;
  std::vector<float> x(static_cast<std::size_t>(rate));
  const double amplitude = std::pow(10.0, -6.0 / 20.0);
  for (std::size_t i = 0; i < x.size(); ++i) {
    x[i] = static_cast<float>(amplitude *
                              std::sin(std::numbers::pi / 2.0 * static_cast<double>(i) + std::numbers::pi / 4.0));
  }
  const auto meter = measure(rate, {x, x});
  EXPECT_NEAR(meter.sample_peak_dbfs(), -9.01, 0.02);
  EXPECT_LE(meter.true_peak_dbtp(), -6.0 + 0.2);
  EXPECT_GE(meter.true_peak_dbtp(), -6.0 - 0.4);

  LoudnessMeter no_true_peak;
  no_true_peak.prepare(rate, 1, {false, 1.0});
  std::vector<std::vector<float>> mono{x};
  feed(no_true_peak, mono, 512);
  EXPECT_EQ(no_true_peak.true_peak_dbtp(), -kInf);
}

TEST(LoudnessMeter, ResetStartsAFreshMeasurement) {
  auto x = sine(48000.0, 1000.0, -10.0, 5.0);
  LoudnessMeter meter;
  meter.prepare(48000.0, 2, {true, 10.0});
  std::vector<std::vector<float>> loud{x, x};
  feed(meter, loud, 1000);
  meter.reset();
  const auto quiet = sine(48000.0, 1000.0, -30.0, 5.0);
  std::vector<std::vector<float>> soft{quiet, quiet};
  feed(meter, soft, 1000);
  EXPECT_NEAR(meter.integrated_lufs(), -30.0, 0.05);
  EXPECT_NEAR(meter.sample_peak_dbfs(), -30.0, 0.01);
  EXPECT_EQ(meter.frames(), static_cast<std::int64_t>(quiet.size()));
}

}  // namespace
}  // namespace spectrum::dsp
