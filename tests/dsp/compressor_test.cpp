// Compressor: static curve, ballistics, linking and exactness measured on processed sines.
#include "dsp/compressor.h"

#include <cmath>
#include <cstdio>
#include <numbers>
#include <random>
#include <vector>

#include <gtest/gtest.h>

namespace spectrum::dsp {
namespace {

constexpr double kRate = 44100.0;

// A 1 kHz sine of amplitude a in both channels reads 20 log10(a) on a BS.1770 meter: one channel at
// full scale is -3.01 LUFS, and two channels add 3.01 dB.
double stereo_sine_level_db(double amplitude) {
  return 20.0 * std::log10(amplitude);
}

struct Stereo {
  std::vector<float> left;
  std::vector<float> right;
};

Stereo sine(std::size_t frames, double amplitude, double frequency_hz = 1000.0) {
  Stereo s{std::vector<float>(frames), std::vector<float>(frames)};
  for (std::size_t n = 0; n < frames; ++n) {
    const double phase = 2.0 * std::numbers::pi * frequency_hz * static_cast<double>(n) / kRate;
    s.left[n] = s.right[n] = static_cast<float>(amplitude * std::sin(phase));
  }
  return s;
}

void run(Compressor& compressor, Stereo& s, std::size_t block_frames = 512) {
  float* channels[2] = {s.left.data(), s.right.data()};
  const AudioBlock all(channels, 2, s.left.size());
  for (std::size_t pos = 0; pos < s.left.size(); pos += block_frames)
    compressor.process(all.sub_block(pos, std::min(block_frames, s.left.size() - pos)));
}

double rms_ratio_db(const std::vector<float>& out, const std::vector<float>& in, std::size_t from, std::size_t to) {
  double out_energy = 0.0;
  double in_energy = 0.0;
  for (std::size_t n = from; n < to; ++n) {
    out_energy += static_cast<double>(out[n]) * static_cast<double>(out[n]);
    in_energy += static_cast<double>(in[n]) * static_cast<double>(in[n]);
  }
  return 10.0 * std::log10(out_energy / in_energy);
}

Compressor make(double threshold_db, double ratio, double knee_db) {
  Compressor compressor;
  compressor.prepare(ProcessSpec{kRate, 4096, 2});
  CompressorParameters p;
  p.threshold_db = threshold_db;
  p.ratio = ratio;
  p.knee_db = knee_db;
  compressor.set_parameters(p);
  return compressor;
}

TEST(CompressorTest, SteadySine12DbOverGivesTheStaticReduction) {
  const double amplitude = 0.5;
  const double threshold_db = stereo_sine_level_db(amplitude) - 12.0;
  for (const double ratio : {2.0, 4.0, 10.0}) {
    Compressor compressor = make(threshold_db, ratio, 0.0);
    const Stereo in = sine(static_cast<std::size_t>(4.0 * kRate), amplitude);
    Stereo out = in;
    run(compressor, out);
    const std::size_t end = in.left.size();
    const double reduction_db = -rms_ratio_db(out.left, in.left, end - 22050, end);
    const double expected_db = 12.0 * (1.0 - 1.0 / ratio);
    EXPECT_NEAR(reduction_db, expected_db, 0.2) << "ratio " << ratio;
    EXPECT_NEAR(compressor.max_gain_reduction_db(), expected_db, 0.3);
    EXPECT_GT(compressor.mean_gain_reduction_db(), 0.9 * expected_db);  // settles in well under 10% of 4 s
    EXPECT_LE(compressor.mean_gain_reduction_db(), compressor.max_gain_reduction_db());
    std::printf("ratio %4.1f: reduction %.3f dB (expected %.3f), stats max %.3f mean %.3f\n", ratio, reduction_db,
                expected_db, compressor.max_gain_reduction_db(), compressor.mean_gain_reduction_db());
    compressor.reset();
    EXPECT_EQ(compressor.max_gain_reduction_db(), 0.0);
    EXPECT_EQ(compressor.mean_gain_reduction_db(), 0.0);
  }
}

TEST(CompressorTest, BelowTheKneeNothingChanges) {
  const double amplitude = 0.25;
  // Level sits 0.5 dB below threshold - knee/2.
  Compressor compressor = make(stereo_sine_level_db(amplitude) + 3.5, 4.0, 6.0);
  const Stereo in = sine(static_cast<std::size_t>(kRate), amplitude);
  Stereo out = in;
  run(compressor, out);
  EXPECT_EQ(out.left, in.left);
  EXPECT_EQ(out.right, in.right);
  EXPECT_EQ(compressor.max_gain_reduction_db(), 0.0);
}

TEST(CompressorTest, KneeIsContinuousAndMeasuredInsideIt) {
  // The curve: zero at the knee's start, slope * knee/8 at the threshold, the straight line at its end,
  // and no jump anywhere in between.
  const double t = -20.0;
  const double knee = 6.0;
  const double slope = 0.75;  // ratio 4
  EXPECT_EQ(Compressor::static_gain_reduction_db(t - 3.0, t, 4.0, knee), 0.0);
  EXPECT_NEAR(Compressor::static_gain_reduction_db(t, t, 4.0, knee), slope * knee / 8.0, 1e-12);
  EXPECT_NEAR(Compressor::static_gain_reduction_db(t + 3.0, t, 4.0, knee), slope * 3.0, 1e-12);
  double largest_step = 0.0;
  double previous = Compressor::static_gain_reduction_db(t - 10.0, t, 4.0, knee);
  for (double level = t - 10.0; level <= t + 10.0; level += 0.001) {
    const double now = Compressor::static_gain_reduction_db(level, t, 4.0, knee);
    largest_step = std::max(largest_step, std::abs(now - previous));
    previous = now;
  }
  EXPECT_LT(largest_step, slope * 0.001 * 1.01);  // never steeper than the line above the knee

  const double amplitude = 0.5;
  Compressor compressor = make(stereo_sine_level_db(amplitude), 4.0, knee);
  const Stereo in = sine(static_cast<std::size_t>(3.0 * kRate), amplitude);
  Stereo out = in;
  run(compressor, out);
  const std::size_t end = in.left.size();
  // Feed-forward: the detector reads the input, so the reduction is the curve at the input level.
  const double reduction_db = -rms_ratio_db(out.left, in.left, end - 22050, end);
  EXPECT_NEAR(reduction_db, slope * knee / 8.0, 0.1);
  std::printf("sine at the threshold, knee 6 dB, ratio 4: reduction %.3f dB (curve %.3f)\n", reduction_db,
              slope * knee / 8.0);
}

TEST(CompressorTest, RatioOneIsABitExactBypass) {
  Compressor compressor = make(-60.0, 1.0, 6.0);
  Stereo in = sine(20000, 0.9);
  std::mt19937 rng(3);
  std::normal_distribution<float> noise(0.0F, 0.3F);
  for (auto& v : in.right) v = noise(rng);
  Stereo out = in;
  run(compressor, out, 100);
  EXPECT_EQ(out.left, in.left);
  EXPECT_EQ(out.right, in.right);
}

// Gain per sample, read where the input is large enough for the ratio to be precise.
std::vector<double> gain_trace_db(const Stereo& in, const Stereo& out) {
  std::vector<double> g(in.left.size(), std::nan(""));
  for (std::size_t n = 0; n < g.size(); ++n)
    if (std::abs(in.left[n]) > 1e-3F) g[n] = 20.0 * std::log10(static_cast<double>(out.left[n] / in.left[n]));
  return g;
}

// First time (s) after `from` where -gain crosses `level_db` going in the given direction.
double crossing_time_s(const std::vector<double>& gain_db, std::size_t from, double level_db, bool rising) {
  for (std::size_t n = from; n < gain_db.size(); ++n) {
    if (std::isnan(gain_db[n])) continue;
    const double reduction = -gain_db[n];
    if (rising ? reduction >= level_db : reduction <= level_db) return static_cast<double>(n - from) / kRate;
  }
  return 1e9;
}

TEST(CompressorTest, AttackAndProgramDependentRelease) {
  const double loud = 0.5;
  const double quiet = loud / 100.0;  // 40 dB down: far below the knee
  const double threshold_db = stereo_sine_level_db(loud) - 12.0;
  const double full_reduction_db = 12.0 * 0.75;

  // A loud section of `loud_s` seconds between quiet ones.
  const auto measure = [&](double loud_s, double& attack_s, double& release_s) {
    Compressor compressor = make(threshold_db, 4.0, 0.0);
    const auto start = static_cast<std::size_t>(0.5 * kRate);
    const auto stop = start + static_cast<std::size_t>(loud_s * kRate);
    Stereo in = sine(stop + static_cast<std::size_t>(3.0 * kRate), 1.0);
    for (std::size_t n = 0; n < in.left.size(); ++n) {
      const float a = static_cast<float>(n >= start && n < stop ? loud : quiet);
      in.left[n] *= a;
      in.right[n] *= a;
    }
    Stereo out = in;
    run(compressor, out);
    const std::vector<double> g = gain_trace_db(in, out);
    attack_s = crossing_time_s(g, start, 0.632 * full_reduction_db, true);
    const double reduction_at_stop = -g[stop - 1];
    release_s = crossing_time_s(g, stop, 0.368 * reduction_at_stop, false);
    std::printf("loud for %.2f s: attack to 63%% in %.1f ms; reduction %.2f dB at the end, 63%% released in %.1f ms\n",
                loud_s, attack_s * 1e3, reduction_at_stop, release_s * 1e3);
  };
  double attack_s = 0.0;
  double release_s = 0.0;
  measure(0.08, attack_s, release_s);
  EXPECT_NEAR(attack_s, 0.010, 0.003);   // documented attack 10 ms, +-30%
  EXPECT_NEAR(release_s, 0.060, 0.018);  // short peak: the fast release, 60 ms +-30%
  measure(5.0, attack_s, release_s);
  EXPECT_NEAR(release_s, 0.600, 0.180);  // sustained: the slow release, 600 ms +-30%
}

TEST(CompressorTest, StereoLinkedSameGainOnBothChannels) {
  Compressor compressor = make(-30.0, 4.0, 6.0);
  Stereo in = sine(static_cast<std::size_t>(kRate), 0.8);
  std::fill(in.right.begin(), in.right.end(), 0.0F);
  Stereo out = in;
  run(compressor, out);
  for (const float v : out.right) ASSERT_EQ(v, 0.0F);
  EXPECT_GT(compressor.max_gain_reduction_db(), 5.0);

  // Right = left scaled: the outputs keep exactly that relation, so the gains are equal.
  Compressor linked = make(-30.0, 4.0, 6.0);
  Stereo scaled = sine(static_cast<std::size_t>(kRate), 0.8);
  for (auto& v : scaled.right) v *= 0.125F;  // a power of two: the products stay exact
  Stereo scaled_out = scaled;
  run(linked, scaled_out);
  for (std::size_t n = 0; n < scaled.left.size(); ++n) ASSERT_EQ(scaled_out.right[n], scaled_out.left[n] * 0.125F);
  EXPECT_GT(linked.max_gain_reduction_db(), 5.0);
}

TEST(CompressorTest, BlockSizesGiveIdenticalOutput) {
  std::mt19937 rng(11);
  std::normal_distribution<float> noise(0.0F, 0.2F);
  Stereo in = sine(static_cast<std::size_t>(kRate), 0.3, 220.0);
  for (std::size_t n = 0; n < in.left.size(); ++n) {
    const float envelope = (n / 4410) % 2 == 0 ? 1.0F : 0.1F;  // 100 ms bursts
    in.left[n] = envelope * (in.left[n] + noise(rng));
    in.right[n] = envelope * noise(rng);
  }
  std::vector<Stereo> outputs;
  for (const std::size_t block : {std::size_t{1}, std::size_t{64}, std::size_t{4096}}) {
    Compressor compressor = make(-24.0, 4.0, 6.0);
    Stereo out = in;
    run(compressor, out, block);
    outputs.push_back(out);
    EXPECT_GT(compressor.max_gain_reduction_db(), 3.0);
  }
  EXPECT_EQ(outputs[0].left, outputs[1].left);
  EXPECT_EQ(outputs[0].right, outputs[1].right);
  EXPECT_EQ(outputs[0].left, outputs[2].left);
  EXPECT_EQ(outputs[0].right, outputs[2].right);
}

}  // namespace
}  // namespace spectrum::dsp

namespace spectrum::dsp {
namespace {

// The threshold track moves the threshold with the music's level: a loud second half that a fixed threshold
// compresses by (over) x (1 - 1/ratio) passes untouched when the track raises the threshold with it, and
// the interpolation between values lands mid-way halfway between two of them.
TEST(CompressorTest, ThresholdTrackFollowsTheLevel) {
  const std::size_t half = static_cast<std::size_t>(2.0 * kRate);
  Stereo quiet = sine(half, 0.03);  // -30.5 dB
  Stereo loud = sine(half, 0.3);    // -10.5 dB
  Stereo in{quiet.left, quiet.right};
  in.left.insert(in.left.end(), loud.left.begin(), loud.left.end());
  in.right.insert(in.right.end(), loud.right.begin(), loud.right.end());
  const std::size_t from = half + static_cast<std::size_t>(kRate);  // the loud half's settled second
  const std::size_t to = 2 * half;

  Stereo fixed = in;
  Compressor plain = make(-25.0, 4.0, 0.0);
  run(plain, fixed);
  EXPECT_NEAR(rms_ratio_db(fixed.left, in.left, from, to), -0.75 * (stereo_sine_level_db(0.3) + 25.0), 0.2);

  const std::vector<float> offsets = {0.0F, 20.0F};  // +20 dB from the loud half's start
  Stereo followed = in;
  Compressor tracking = make(-25.0, 4.0, 0.0);
  tracking.set_threshold_track(ValueTrack(offsets, 1.0, static_cast<double>(half) - 1.0));  // a step at the loud half
  run(tracking, followed);
  EXPECT_NEAR(rms_ratio_db(followed.left, in.left, from, to), 0.0, 1e-6);
  EXPECT_NEAR(rms_ratio_db(followed.left, in.left, 0, half), rms_ratio_db(fixed.left, in.left, 0, half), 1e-9);

  // Halfway between the two values the threshold is -15: a -10.5 dB sine is reduced by 0.75 x 4.5 dB.
  Stereo mid = sine(half, 0.3);
  Compressor halfway = make(-25.0, 4.0, 0.0);
  halfway.set_threshold_track(ValueTrack(offsets, 1e9, -5e8));
  run(halfway, mid);
  const Stereo reference = sine(half, 0.3);
  EXPECT_NEAR(rms_ratio_db(mid.left, reference.left, half / 2, half), -0.75 * 4.5, 0.2);
}

}  // namespace
}  // namespace spectrum::dsp
