// Linear-phase FIR EQ: realised response measured on processed impulses against the requested curve.
#include "dsp/linear_phase_eq.h"

#include <cmath>
#include <complex>
#include <cstdio>
#include <numbers>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "dsp/biquad.h"

namespace spectrum::dsp {
namespace {

struct NamedCurve {
  std::string name;
  // Built from a biquad design so the request is a smooth, known analogue-like curve.
  BiquadCoefficients (*make)(double fs);
};

const std::vector<NamedCurve>& gentle_curves() {
  static const std::vector<NamedCurve> curves{
      {"low shelf +6 dB @100 Hz", [](double fs) { return low_shelf(100.0 / fs, 6.0); }},
      {"low shelf -6 dB @100 Hz", [](double fs) { return low_shelf(100.0 / fs, -6.0); }},
      {"high shelf +6 dB @8 kHz", [](double fs) { return high_shelf(8000.0 / fs, 6.0); }},
      {"high shelf -6 dB @8 kHz", [](double fs) { return high_shelf(8000.0 / fs, -6.0); }},
      {"bell +6 dB @1 kHz Q1", [](double fs) { return peaking(1000.0 / fs, 6.0, 1.0); }},
      {"bell -6 dB @1 kHz Q1", [](double fs) { return peaking(1000.0 / fs, -6.0, 1.0); }},
  };
  return curves;
}

// Runs `input` (mono) through the EQ in blocks of `block_frames`, followed by enough silence to
// flush the latency and the whole FIR.
std::vector<float> run(LinearPhaseEq& eq, std::vector<float> signal, std::size_t block_frames) {
  signal.resize(signal.size() + static_cast<std::size_t>(eq.latency_frames() + eq.num_taps()), 0.0F);
  float* channels[1] = {signal.data()};
  const AudioBlock all(channels, 1, signal.size());
  for (std::size_t pos = 0; pos < signal.size(); pos += block_frames)
    eq.process(all.sub_block(pos, std::min(block_frames, signal.size() - pos)));
  return signal;
}

std::vector<double> third_octave_centres_hz() {
  std::vector<double> centres;
  for (int band = -14; band <= 12; ++band) centres.push_back(1000.0 * std::pow(10.0, band / 10.0));  // 40 Hz..16 kHz
  return centres;
}

TEST(LinearPhaseEqTest, ImpulseResponseMatchesGentleCurvesWithin01Db) {
  for (const double fs : {44100.0, 48000.0, 96000.0}) {
    for (const auto& curve : gentle_curves()) {
      SCOPED_TRACE(curve.name + " @ " + std::to_string(fs));
      const BiquadCoefficients design = curve.make(fs);
      LinearPhaseEq eq;
      eq.prepare(ProcessSpec{fs, 4096, 1}, [&](double f_hz) { return magnitude_db(design, f_hz / fs); });
      ASSERT_FALSE(eq.is_identity());
      std::vector<float> impulse(1, 1.0F);
      const std::vector<float> out = run(eq, impulse, 1000);
      // The FIR starts latency - (taps-1)/2 frames after the impulse; nothing may appear outside it.
      const auto start = static_cast<std::size_t>(eq.latency_frames() - (eq.num_taps() - 1) / 2);
      const auto taps = static_cast<std::size_t>(eq.num_taps());
      double outside_energy = 0.0;
      double inside_energy = 0.0;
      for (std::size_t n = 0; n < out.size(); ++n) {
        const double e = static_cast<double>(out[n]) * static_cast<double>(out[n]);
        (n >= start && n < start + taps ? inside_energy : outside_energy) += e;
      }
      EXPECT_LT(outside_energy, inside_energy * 1e-12);
      double worst_db = 0.0;
      for (const double f : third_octave_centres_hz()) {
        std::complex<double> sum = 0.0;
        for (std::size_t n = 0; n < taps; ++n)
          sum += static_cast<double>(out[start + n]) *
                 std::polar(1.0, -2.0 * std::numbers::pi * f / fs * static_cast<double>(n));
        const double measured_db = 20.0 * std::log10(std::abs(sum));
        const double requested_db = magnitude_db(design, f / fs);
        EXPECT_NEAR(measured_db, requested_db, 0.1) << f << " Hz";
        EXPECT_NEAR(eq.response_db(f), measured_db, 0.001) << f << " Hz";
        worst_db = std::max(worst_db, std::abs(measured_db - requested_db));
      }
      std::printf("%-24s @%6.0f Hz: %d taps, worst error %.4f dB\n", curve.name.c_str(), fs, eq.num_taps(), worst_db);
    }
  }
}

std::vector<float> noise(std::size_t frames, unsigned seed, float amplitude) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-amplitude, amplitude);
  std::vector<float> x(frames);
  for (auto& v : x) v = u(rng);
  return x;
}

TEST(LinearPhaseEqTest, FlatCurveIsAnExactDelay) {
  LinearPhaseEq eq;
  eq.prepare(ProcessSpec{44100.0, 512, 1}, [](double) { return 0.0; });
  ASSERT_TRUE(eq.is_identity());
  const std::vector<float> x = noise(50000, 7, 0.9F);
  const std::vector<float> y = run(eq, x, 333);
  const auto latency = static_cast<std::size_t>(eq.latency_frames());
  double max_error = 0.0;
  for (std::size_t n = 0; n < x.size(); ++n)
    max_error = std::max(max_error, static_cast<double>(std::abs(y[n + latency] - x[n])));
  for (std::size_t n = 0; n < latency; ++n) EXPECT_EQ(y[n], 0.0F);
  EXPECT_LT(max_error, 1e-6);
  std::printf("flat curve: max error after %zu frames of delay = %.3g\n", latency, max_error);
}

TEST(LinearPhaseEqTest, ConstantGainThroughTheFftPathIsTheSameDelay) {
  // +0.5 dB everywhere is not an identity, so this exercises the FFT path and its alignment.
  LinearPhaseEq eq;
  eq.prepare(ProcessSpec{48000.0, 512, 1}, [](double) { return 0.5; });
  ASSERT_FALSE(eq.is_identity());
  const std::vector<float> x = noise(50000, 8, 0.9F);
  const std::vector<float> y = run(eq, x, 512);
  const auto latency = static_cast<std::size_t>(eq.latency_frames());
  const double gain = std::pow(10.0, 0.5 / 20.0);
  double max_error = 0.0;
  for (std::size_t n = 0; n < x.size(); ++n)
    max_error = std::max(max_error, std::abs(static_cast<double>(y[n + latency]) - gain * static_cast<double>(x[n])));
  EXPECT_LT(max_error, 1e-5);
  std::printf("+0.5 dB flat via FFT: max error %.3g\n", max_error);
}

TEST(LinearPhaseEqTest, BlockSizesGiveIdenticalOutput) {
  const double fs = 44100.0;
  const BiquadCoefficients bell = peaking(1000.0 / fs, 4.0, 1.0);
  const BiquadCoefficients shelf = low_shelf(120.0 / fs, -3.0);
  const auto curve = [&](double f) { return magnitude_db(bell, f / fs) + magnitude_db(shelf, f / fs); };
  std::vector<std::vector<float>> outputs;
  for (const std::size_t block : {std::size_t{1}, std::size_t{37}, std::size_t{4096}}) {
    std::vector<float> left = noise(20000, 1, 0.5F);
    std::vector<float> right = noise(20000, 2, 0.5F);
    LinearPhaseEq eq;
    eq.prepare(ProcessSpec{fs, 4096, 2}, curve);
    float* channels[2] = {left.data(), right.data()};
    const AudioBlock all(channels, 2, left.size());
    for (std::size_t pos = 0; pos < left.size(); pos += block)
      eq.process(all.sub_block(pos, std::min(block, left.size() - pos)));
    left.insert(left.end(), right.begin(), right.end());
    outputs.push_back(std::move(left));
  }
  EXPECT_EQ(outputs[0], outputs[1]);
  EXPECT_EQ(outputs[0], outputs[2]);
  double energy = 0.0;
  for (const float v : outputs[0]) energy += static_cast<double>(v) * static_cast<double>(v);
  EXPECT_GT(energy, 100.0);  // the filtered noise really came out
}

TEST(LinearPhaseEqTest, TapsScaleWithTheSampleRate) {
  EXPECT_EQ(LinearPhaseEq::taps_for_rate(8000.0), 1025);
  EXPECT_EQ(LinearPhaseEq::taps_for_rate(44100.0), 4097);
  EXPECT_EQ(LinearPhaseEq::taps_for_rate(48000.0), 4097);
  EXPECT_EQ(LinearPhaseEq::taps_for_rate(96000.0), 8193);
  EXPECT_EQ(LinearPhaseEq::taps_for_rate(192000.0), 16385);
}

}  // namespace
}  // namespace spectrum::dsp
