// True-peak detector against an ideal reconstruction: band-limited periodic signals, whose exact
// interpolation is the zero-padded DFT (16x here, each local maximum refined by a parabola).
#include "dsp/true_peak.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numbers>
#include <random>
#include <vector>

#include "dsp/fftw_planner.h"

namespace spectrum::dsp {
namespace {

constexpr std::size_t kIdealFactor = 16;

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

// The periodic signal x's ideal reconstruction on a 16x grid, |y| at each point replaced by the parabolic
// vertex where it is a local maximum (the parabola's own error at 16x is < 1e-4 dB up to Nyquist).
std::vector<double> ideal_grid(const std::vector<float>& x) {
  RealFft small;
  RealFft large;
  small.prepare(x.size());
  large.prepare(kIdealFactor * x.size());
  std::copy(x.begin(), x.end(), small.real_data());
  small.forward();
  std::fill_n(large.complex_data()[0], 2 * large.num_bins(), 0.0F);
  const auto scale = static_cast<float>(1.0 / static_cast<double>(x.size()));
  for (std::size_t k = 0; k < small.num_bins(); ++k) {
    const float half = k == small.num_bins() - 1 ? 0.5F : 1.0F;  // split the Nyquist bin
    large.complex_data()[k][0] = half * scale * small.complex_data()[k][0];
    large.complex_data()[k][1] = half * scale * small.complex_data()[k][1];
  }
  large.inverse();
  const std::size_t n = large.size();
  const float* y = large.real_data();
  std::vector<double> refined(n);
  for (std::size_t i = 0; i < n; ++i) {
    const double b = std::abs(static_cast<double>(y[i]));
    const double sign = y[i] < 0.0F ? -1.0 : 1.0;
    const double a = sign * static_cast<double>(y[(i + n - 1) % n]);
    const double c = sign * static_cast<double>(y[(i + 1) % n]);
    refined[i] = (b >= a && b >= c && 2.0 * b - a - c > 0.0) ? b + (a - c) * (a - c) / (8.0 * (2.0 * b - a - c)) : b;
  }
  return refined;
}

// The detector's report for each interval [m, m + 1) of the periodic x: three periods in, the middle read.
std::vector<float> detector_intervals(const std::vector<float>& x, double sample_rate_hz) {
  TruePeakDetector detector;
  detector.prepare(sample_rate_hz);
  const std::size_t n = x.size();
  std::vector<float> input(3 * n);
  for (std::size_t i = 0; i < input.size(); ++i) input[i] = x[i % n];
  std::vector<float> out(input.size());
  detector.process_block(input.data(), out.data(), input.size());
  const auto latency = static_cast<std::size_t>(detector.latency_frames());
  std::vector<float> intervals(n);
  for (std::size_t m = 0; m < n; ++m) intervals[m] = out[n + m + latency];
  return intervals;
}

struct Comparison {
  double ours_db = 0.0;
  double ideal_db = 0.0;
  double worst_low_db = 0.0;   // the most any peak of the signal is under-read, <= 0
  double worst_high_db = 0.0;  // the most any interval over-reads its neighbourhood, >= 0
};

// Global peaks, and interval by interval (peaks within 6 dB of the maximum): each interval's report may not exceed the
// ideal peak within 1/8 sample of the interval, and no interval's ideal peak may be missed by both its report and the
// next one's (a peak within 1/16 sample of an input can be reported with either interval).
Comparison compare(const std::vector<float>& x, double sample_rate_hz) {
  const std::vector<double> ideal = ideal_grid(x);
  const std::vector<float> ours = detector_intervals(x, sample_rate_hz);
  const std::size_t n = x.size();
  const std::size_t f = kIdealFactor;
  auto ideal_max = [&](std::ptrdiff_t first, std::ptrdiff_t last) {  // grid points first..last, periodic
    double peak = 0.0;
    const auto size = static_cast<std::ptrdiff_t>(ideal.size());
    for (std::ptrdiff_t i = first; i <= last; ++i)
      peak = std::max(peak, ideal[static_cast<std::size_t>((i + size) % size)]);
    return peak;
  };
  Comparison result;
  double ours_peak = 0.0;
  double ideal_peak = 0.0;
  // Interval by interval, only peaks within 6 dB of the signal's peak (the ones a limiter acts on): the
  // interpolator's error scales with the whole in-band signal, not with a small local peak.
  const double floor = 0.5 * *std::max_element(ideal.begin(), ideal.end());
  for (std::size_t m = 0; m < n; ++m) {
    const auto start = static_cast<std::ptrdiff_t>(m * f);
    const auto report = static_cast<double>(ours[m]);
    const double next_report = static_cast<double>(ours[(m + 1) % n]);
    ours_peak = std::max(ours_peak, report);
    ideal_peak = std::max(ideal_peak, ideal_max(start, start + static_cast<std::ptrdiff_t>(f) - 1));
    const double own = ideal_max(start, start + static_cast<std::ptrdiff_t>(f));
    if (own > floor) result.worst_low_db = std::min(result.worst_low_db, to_db(std::max(report, next_report) / own));
    const double around =
        ideal_max(start - static_cast<std::ptrdiff_t>(f / 8), start + static_cast<std::ptrdiff_t>(f + f / 8));
    if (report > floor) result.worst_high_db = std::max(result.worst_high_db, to_db(report / around));
  }
  result.ours_db = to_db(ours_peak);
  result.ideal_db = to_db(ideal_peak);
  return result;
}

// White Gaussian noise with every DFT bin above max_cycles_per_sample removed: periodic and band-limited.
std::vector<float> band_limited_noise(std::size_t frames, double max_cycles_per_sample, std::mt19937& rng) {
  RealFft fft;
  fft.prepare(frames);
  std::normal_distribution<float> gauss(0.0F, 1.0F);
  for (std::size_t k = 0; k < fft.num_bins(); ++k) {
    const bool keep = k > 0 && static_cast<double>(k) <= max_cycles_per_sample * static_cast<double>(frames);
    fft.complex_data()[k][0] = keep ? gauss(rng) : 0.0F;
    fft.complex_data()[k][1] = keep ? gauss(rng) : 0.0F;
  }
  fft.inverse();
  std::vector<float> x(fft.real_data(), fft.real_data() + frames);
  const float peak =
      std::abs(*std::max_element(x.begin(), x.end(), [](float a, float b) { return std::abs(a) < std::abs(b); }));
  for (auto& v : x) v *= 0.5F / peak;
  return x;
}

constexpr double kRates[] = {44100.0, 48000.0, 96000.0};

TEST(TruePeakDetector, BandLimitedNoiseReadsTheIdealPeak) {
  std::mt19937 rng(11);
  double low = 0.0;
  double high = 0.0;
  double global_low = 0.0;
  double global_high = -1.0;
  for (const double rate : kRates) {
    for (int trial = 0; trial < 6; ++trial) {
      const Comparison c = compare(band_limited_noise(8192, 0.45, rng), rate);
      SCOPED_TRACE(::testing::Message() << rate << " Hz, trial " << trial);
      EXPECT_LE(c.ours_db, c.ideal_db + 0.05);
      EXPECT_GE(c.ours_db, c.ideal_db - 0.1);
      EXPECT_GE(c.worst_low_db, -0.1);
      EXPECT_LE(c.worst_high_db, 0.05);
      low = std::min(low, c.worst_low_db);
      high = std::max(high, c.worst_high_db);
      global_low = std::min(global_low, c.ours_db - c.ideal_db);
      global_high = std::max(global_high, c.ours_db - c.ideal_db);
    }
  }
  std::printf("noise to 0.45 fs: global peak %+.4f .. %+.4f dB; every peak %+.4f .. %+.4f dB\n", global_low,
              global_high, low, high);
}

// Periodic sines: 160 frames holding k whole cycles (f = k / 160 of the rate) at a random phase, so their
// many peaks fall at many sub-sample positions; every one is checked.
TEST(TruePeakDetector, SinesUpTo045FsReadTheirIdealPeaks) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<double> phase(0.0, 2.0 * std::numbers::pi);
  double low = 0.0;
  double high = 0.0;
  for (const double rate : kRates) {
    for (int k = 16; k <= 72; k += 4) {  // 0.1 .. 0.45 fs
      for (int trial = 0; trial < 4; ++trial) {
        std::vector<float> x(160);
        const double phi = phase(rng);
        for (std::size_t i = 0; i < x.size(); ++i)
          x[i] = static_cast<float>(0.8 * std::cos(2.0 * std::numbers::pi * k * static_cast<double>(i) / 160.0 + phi));
        const Comparison c = compare(x, rate);
        SCOPED_TRACE(::testing::Message() << rate << " Hz, f = " << k / 160.0 << " fs");
        EXPECT_LE(c.ours_db, c.ideal_db + 0.05);
        EXPECT_GE(c.worst_low_db, -0.1);
        EXPECT_LE(c.worst_high_db, 0.05);
        low = std::min(low, c.worst_low_db);
        high = std::max(high, c.worst_high_db);
      }
    }
  }
  std::printf("sines 0.1-0.45 fs: every peak %+.4f .. %+.4f dB\n", low, high);
}

// Hard-clipped band-limited noise has content up to Nyquist, outside the detector's flat band.
TEST(TruePeakDetector, ClippedNoiseStaysCloseToTheIdealPeak) {
  std::mt19937 rng(5);
  double low = 0.0;
  double high = -1.0;
  for (const double rate : kRates) {
    for (const float clip : {0.45F, 0.4F, 0.35F}) {  // 0.9, 1.9 and 3.1 dB under the peak of 0.5
      std::vector<float> x = band_limited_noise(8192, 0.45, rng);
      for (auto& v : x) v = std::clamp(v, -clip, clip);
      const Comparison c = compare(x, rate);
      SCOPED_TRACE(::testing::Message() << rate << " Hz, clip " << clip);
      EXPECT_LE(c.ours_db, c.ideal_db + 0.05);
      EXPECT_GE(c.ours_db, c.ideal_db - 0.1);
      low = std::min(low, c.ours_db - c.ideal_db);
      high = std::max(high, c.ours_db - c.ideal_db);
    }
  }
  std::printf("clipped noise: global peak %+.4f .. %+.4f dB\n", low, high);
}

TEST(TruePeakDetector, QuarterRateSineAt45DegreesReadsItsAnalyticPeak) {
  // Every sample of this sine sits at +-amplitude * sin(45 deg): the sample peak is 3 dB under the truth.
  const double amplitude = 0.5;
  const auto x = faded_sine(48000.0, 4, amplitude, 45.0);
  float sample_peak = 0.0F;
  for (float v : x) sample_peak = std::max(sample_peak, std::fabs(v));
  EXPECT_NEAR(to_db(sample_peak) - to_db(amplitude), -3.01, 0.01);
  EXPECT_NEAR(true_peak_db(x, 48000.0), to_db(amplitude), 0.03);
}

struct EbuTruePeakCase {
  int number;
  int divisor;
  double level_db;
  double phase_deg;
};

class EbuTruePeak : public ::testing::TestWithParam<EbuTruePeakCase> {};

// Tech 3341 allows +0.2/-0.4 dB; these sines' analytic peaks are the stated levels, which an accurate
// interpolator reads within a few hundredths.
TEST_P(EbuTruePeak, ReadsTheTech3341ValueWithinTolerance) {
  const auto c = GetParam();
  const double measured_db =
      true_peak_db(faded_sine(48000.0, c.divisor, std::pow(10.0, c.level_db / 20.0), c.phase_deg), 48000.0);
  SCOPED_TRACE(::testing::Message() << "case 3341-" << c.number << " measured " << measured_db << " dBTP");
  EXPECT_LE(measured_db, c.level_db + 0.2);
  EXPECT_GE(measured_db, c.level_db - 0.4);
  EXPECT_NEAR(measured_db, c.level_db, 0.03);
}

INSTANTIATE_TEST_SUITE_P(Cases15To19, EbuTruePeak,
                         ::testing::Values(EbuTruePeakCase{15, 4, -6.0, 0.0}, EbuTruePeakCase{16, 4, -6.0, 45.0},
                                           EbuTruePeakCase{17, 6, -6.0, 60.0}, EbuTruePeakCase{18, 8, -6.0, 67.5},
                                           EbuTruePeakCase{19, 4, 3.0, 45.0}));

TEST(TruePeakDetector, ConstantInputReadsItsLevel) {
  TruePeakDetector detector;
  detector.prepare(44100.0);
  float out = 0.0F;
  for (int i = 0; i < 64; ++i) out = detector.process(0.25F);
  // The input itself is a grid point; the interpolated points sit 0.25 % under it (stage 1's ripple at
  // DC), so the parabola through them moves the vertex by well under 0.01 %.
  EXPECT_GE(out, 0.25F);
  EXPECT_LE(out, 0.25F * 1.0001F);
}

TEST(TruePeakDetector, ImpulseIsReportedAfterTheStatedLatency) {
  TruePeakDetector detector;
  detector.prepare(48000.0);
  const auto latency = static_cast<std::size_t>(detector.latency_frames());
  std::vector<float> out(64);
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = detector.process(i == 3 ? 1.0F : 0.0F);
  // The impulse is its own interval's largest point, with equal neighbours: reported exactly, once.
  EXPECT_EQ(out[3 + latency], 1.0F);
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (i != 3 + latency) {
      EXPECT_LT(out[i], 0.98F) << i;  // the next-largest, 1/8 sample away: sinc(1/8) = 0.974
    }
  }
  // Nothing before the impulse enters the window, nothing after the cascade's reach has passed it.
  for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(out[i], 0.0F);
  for (std::size_t i = 3 + 2 * latency + 1; i < out.size(); ++i) EXPECT_EQ(out[i], 0.0F) << i;
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

  for (std::size_t block : {std::size_t{1}, std::size_t{5}, std::size_t{127}, std::size_t{256}, std::size_t{4096}}) {
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
