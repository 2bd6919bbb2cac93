#include "dsp/true_peak.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <random>
#include <vector>

namespace spectrum::dsp {
namespace {

double to_db(double linear) {
  return 20.0 * std::log10(linear);
}

// A sine of `amplitude` at sample_rate / divisor, starting at `phase_deg`, with 10 ms linear fades
// (the shape of EBU Tech 3341 cases 15-19).
std::vector<float> faded_sine(double sample_rate_hz, int divisor, double amplitude, double phase_deg) {
  const auto frames = static_cast<std::size_t>(3.2 * sample_rate_hz);
  const auto fade_frames = static_cast<std::size_t>(0.010 * sample_rate_hz);
  std::vector<float> x(frames);
  const double w = 2.0 * std::numbers::pi / divisor;
  for (std::size_t i = 0; i < frames; ++i) {
    double gain = 1.0;
    if (i < fade_frames) gain = static_cast<double>(i) / static_cast<double>(fade_frames);
    if (frames - 1 - i < fade_frames) gain = static_cast<double>(frames - 1 - i) / static_cast<double>(fade_frames);
    x[i] = static_cast<float>(gain * amplitude *
                              std::sin(w * static_cast<double>(i) + phase_deg * std::numbers::pi / 180.0));
  }
  return x;
}

double true_peak_db(const std::vector<float>& x, double sample_rate_hz) {
  TruePeakDetector detector;
  detector.prepare(sample_rate_hz);
  float peak = 0.0F;
  for (float v : x) peak = std::max({peak, detector.process(v), std::fabs(v)});
  return to_db(peak);
}

TEST(TruePeakDetector, QuarterRateSineAt45DegreesReadsItsAnalyticPeak) {
  // Every sample of this sine sits at +-amplitude * sin(45 deg): the sample peak is 3 dB under the truth.
  const double amplitude = 0.5;
  const auto x = faded_sine(48000.0, 4, amplitude, 45.0);
  float sample_peak = 0.0F;
  for (float v : x) sample_peak = std::max(sample_peak, std::fabs(v));
  EXPECT_NEAR(to_db(sample_peak) - to_db(amplitude), -3.01, 0.01);

  const double measured_db = true_peak_db(x, 48000.0);
  EXPECT_LE(measured_db, to_db(amplitude) + 0.2);
  EXPECT_GE(measured_db, to_db(amplitude) - 0.4);
}

struct EbuTruePeakCase {
  int number;
  int divisor;
  double level_db;
  double phase_deg;
};

class EbuTruePeak : public ::testing::TestWithParam<EbuTruePeakCase> {};

TEST_P(EbuTruePeak, ReadsTheTech3341ValueWithinTolerance) {
  const auto c = GetParam();
  const double measured_db =
      true_peak_db(faded_sine(48000.0, c.divisor, std::pow(10.0, c.level_db / 20.0), c.phase_deg), 48000.0);
  SCOPED_TRACE(::testing::Message() << "case 3341-" << c.number << " measured " << measured_db << " dBTP");
  EXPECT_LE(measured_db, c.level_db + 0.2);
  EXPECT_GE(measured_db, c.level_db - 0.4);
}

INSTANTIATE_TEST_SUITE_P(Cases15To19, EbuTruePeak,
                         ::testing::Values(EbuTruePeakCase{15, 4, -6.0, 0.0}, EbuTruePeakCase{16, 4, -6.0, 45.0},
                                           EbuTruePeakCase{17, 6, -6.0, 60.0}, EbuTruePeakCase{18, 8, -6.0, 67.5},
                                           EbuTruePeakCase{19, 4, 3.0, 45.0}));

TEST(TruePeakDetector, EveryPhaseHasUnityGainAtDc) {
  TruePeakDetector detector;
  detector.prepare(44100.0);
  float out = 0.0F;
  for (int i = 0; i < 64; ++i) out = detector.process(0.25F);
  // The phases' coefficient sums are 1 within 0.2 %; an error in a typed-in coefficient shows here.
  EXPECT_NEAR(out, 0.25F, 0.25F * 0.002F);
}

TEST(TruePeakDetector, ImpulseResponsePeaksWithinTheStatedLatency) {
  TruePeakDetector detector;
  detector.prepare(48000.0);
  std::vector<float> out(32);
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = detector.process(i == 3 ? 1.0F : 0.0F);
  const auto argmax = static_cast<int>(std::max_element(out.begin(), out.end()) - out.begin());
  EXPECT_GE(argmax - 3, detector.latency_frames() - 1);
  EXPECT_LE(argmax - 3, detector.latency_frames());
  EXPECT_NEAR(out[static_cast<std::size_t>(argmax)], 0.97216796875F, 1e-6F);
  // Nothing is produced after the 12-tap window has passed the impulse.
  for (std::size_t i = 3 + 12; i < out.size(); ++i) EXPECT_EQ(out[i], 0.0F);
}

TEST(TruePeakDetector, BlockFormMatchesPerSampleFormBitForBit) {
  std::mt19937 rng(7);
  std::normal_distribution<float> noise(0.0F, 0.3F);
  std::vector<float> x(10007);
  for (auto& v : x) v = noise(rng);

  TruePeakDetector reference;
  reference.prepare(48000.0);
  std::vector<float> expected(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) expected[i] = reference.process(x[i]);

  for (std::size_t block : {std::size_t{1}, std::size_t{5}, std::size_t{127}, std::size_t{128}, std::size_t{4096}}) {
    TruePeakDetector detector;
    detector.prepare(48000.0);
    std::vector<float> got(x.size());
    for (std::size_t start = 0; start < x.size(); start += block) {
      const std::size_t count = std::min(block, x.size() - start);
      // Alternate the two forms so the shared history is exercised across the switch.
      if ((start / block) % 3 == 2) {
        for (std::size_t i = 0; i < count; ++i) got[start + i] = detector.process(x[start + i]);
      } else {
        detector.process_block(x.data() + start, got.data() + start, count);
      }
    }
    for (std::size_t i = 0; i < x.size(); ++i) {
      ASSERT_EQ(got[i], expected[i]) << "block " << block << " frame " << i;
    }
  }
}

TEST(TruePeakDetector, ResetClearsHistory) {
  TruePeakDetector detector;
  detector.prepare(48000.0);
  for (int i = 0; i < 20; ++i) detector.process(0.9F);
  detector.reset();
  EXPECT_EQ(detector.process(0.0F), 0.0F);
}

}  // namespace
}  // namespace spectrum::dsp
