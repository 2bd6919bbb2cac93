// Biquad designs and cascades: audio facts measured on the designs and on processed impulses.
#include "dsp/biquad.h"

#include <cmath>
#include <complex>
#include <cstdio>
#include <numbers>
#include <random>
#include <span>
#include <vector>

#include <fftw3.h>
#include <gtest/gtest.h>

#include "dsp/fftw_planner.h"

namespace spectrum::dsp {
namespace {

// Impulse response of a cascade, processed through the block path in uneven blocks.
std::vector<float> impulse_response(BiquadCascade& cascade, std::size_t length) {
  std::vector<float> h(length, 0.0F);
  h[0] = 1.0F;
  float* channels[1] = {h.data()};
  const AudioBlock all(channels, 1, length);
  for (std::size_t pos = 0; pos < length;) {
    const std::size_t n = std::min<std::size_t>(1000, length - pos);
    cascade.process(all.sub_block(pos, n));
    pos += n;
  }
  return h;
}

// |DFT| of h at one frequency (fraction of the sample rate), in dB, summed in double.
double dft_magnitude_db(const std::vector<float>& h, double frequency_fraction) {
  std::complex<double> sum = 0.0;
  const double w = -2.0 * std::numbers::pi * frequency_fraction;
  for (std::size_t n = 0; n < h.size(); ++n)
    sum += static_cast<double>(h[n]) * std::polar(1.0, w * static_cast<double>(n));
  return 20.0 * std::log10(std::abs(sum));
}

TEST(BiquadTest, RandomShelvesHitDcCornerAndNyquistWithin001Db) {
  std::mt19937 rng(1234);
  std::uniform_real_distribution<double> frequency(0.001, 0.45);
  std::uniform_real_distribution<double> gain(-24.0, 24.0);
  std::uniform_real_distribution<double> q(0.3, 3.0);
  double worst_error_db = 0.0;
  for (int i = 0; i < 100; ++i) {
    const double f = frequency(rng);
    const double g = gain(rng);
    const double qq = q(rng);
    const BiquadCoefficients low = low_shelf(f, g, qq);
    const BiquadCoefficients high = high_shelf(f, g, qq);
    const double errors[] = {
        magnitude_db(low, 0.0) - g,    magnitude_db(low, f) - g / 2.0,  magnitude_db(low, 0.5) - 0.0,
        magnitude_db(high, 0.0) - 0.0, magnitude_db(high, f) - g / 2.0, magnitude_db(high, 0.5) - g,
    };
    for (const double e : errors) worst_error_db = std::max(worst_error_db, std::abs(e));
  }
  EXPECT_LT(worst_error_db, 0.01);
  std::printf("worst shelf error %.2e dB\n", worst_error_db);
}

TEST(BiquadTest, ComputedResponseEqualsFftOfImpulseResponse) {
  constexpr std::size_t kLength = 1 << 16;
  RealFft fft;
  fft.prepare(kLength);
  std::mt19937 rng(99);
  std::uniform_real_distribution<double> frequency(0.003, 0.45);
  std::uniform_real_distribution<double> gain(-18.0, 18.0);
  std::uniform_real_distribution<double> q(0.4, 4.0);
  std::uniform_int_distribution<int> kind(0, 5);
  std::uniform_int_distribution<int> count(1, BiquadCascade::kMaxSections);
  double worst_error_db = 0.0;
  int bins_compared = 0;
  for (int design = 0; design < 40; ++design) {
    std::vector<BiquadCoefficients> sections;
    for (int s = count(rng); s > 0; --s) {
      const double f = frequency(rng);
      switch (kind(rng)) {
        case 0:
          sections.push_back(low_pass(f, q(rng)));
          break;
        case 1:
          sections.push_back(high_pass(f, q(rng)));
          break;
        case 2:
          sections.push_back(low_shelf(f, gain(rng), q(rng)));
          break;
        case 3:
          sections.push_back(high_shelf(f, gain(rng), q(rng)));
          break;
        case 4:
          sections.push_back(peaking(f, gain(rng), q(rng)));
          break;
        default:
          sections.push_back(all_pass(f, q(rng)));
          break;
      }
    }
    BiquadCascade cascade;
    cascade.prepare(ProcessSpec{48000.0, 1000, 1});
    cascade.set_sections(sections);
    const std::vector<float> h = impulse_response(cascade, kLength);
    std::copy(h.begin(), h.end(), fft.real_data());
    fft.forward();
    for (std::size_t k = 1; k < fft.num_bins(); k += 7) {
      const double expected_db = cascade.magnitude_db(static_cast<double>(k) / kLength);
      if (expected_db < -40.0) continue;  // single-precision FFT noise (~1e-6 of full scale) dominates below
      const double re = fft.complex_data()[k][0];
      const double im = fft.complex_data()[k][1];
      const double measured_db = 10.0 * std::log10(re * re + im * im);
      worst_error_db = std::max(worst_error_db, std::abs(measured_db - expected_db));
      ++bins_compared;
    }
  }
  EXPECT_GT(bins_compared, 40 * 1000);
  EXPECT_LT(worst_error_db, 0.01);
  std::printf("worst |H| vs FFT(h) error %.2e dB over %d bins\n", worst_error_db, bins_compared);
}

TEST(BiquadTest, ButterworthHighPass20HzMeasuredOnImpulse) {
  for (const double rate : {44100.0, 48000.0, 96000.0, 192000.0}) {
    SCOPED_TRACE(rate);
    ButterworthHighPass hpf;
    hpf.prepare(ProcessSpec{rate, 1000, 1}, 20.0);
    std::vector<float> h(static_cast<std::size_t>(rate * 4.0), 0.0F);
    h[0] = 1.0F;
    float* channels[1] = {h.data()};
    const AudioBlock all(channels, 1, h.size());
    for (std::size_t pos = 0; pos < h.size(); pos += 4096)
      hpf.process(all.sub_block(pos, std::min<std::size_t>(4096, h.size() - pos)));
    const double at_20 = dft_magnitude_db(h, 20.0 / rate);
    const double at_40 = dft_magnitude_db(h, 40.0 / rate);
    const double at_2 = dft_magnitude_db(h, 2.0 / rate);
    EXPECT_NEAR(at_20, -3.0103, 0.01);
    EXPECT_GT(at_40, -0.05);
    EXPECT_LT(at_2, -40.0);
    EXPECT_NEAR(hpf.magnitude_db(20.0), -3.0103, 0.001);
    std::printf("hpf @%.0f Hz: 20 Hz %.4f dB, 40 Hz %.4f dB, 2 Hz %.2f dB\n", rate, at_20, at_40, at_2);
  }
}

TEST(BiquadTest, CascadeKeepsChannelsApartAndResetClearsState) {
  BiquadCascade cascade;
  cascade.prepare(ProcessSpec{48000.0, 64, 2});
  const BiquadCoefficients lp = low_pass(0.01, 0.7);
  cascade.set_sections(std::span(&lp, 1));
  std::vector<float> left(64, 1.0F);
  std::vector<float> right(64, 0.0F);
  float* channels[2] = {left.data(), right.data()};
  cascade.process(AudioBlock(channels, 2, 64));
  for (const float x : right) EXPECT_EQ(x, 0.0F);
  EXPECT_GT(left[63], 0.05F);
  cascade.reset();
  std::vector<float> silence(64, 0.0F);
  float* mono[1] = {silence.data()};
  cascade.process(AudioBlock(mono, 1, 64));
  for (const float x : silence) EXPECT_EQ(x, 0.0F);
}

// Stereo runs both channels as one two-lane vector, mono one channel in registers; both must give
// process_sample()'s bits, for every section count and across block boundaries (the state carries over).
TEST(BiquadTest, StereoLanesAndMonoBlocksMatchPerSample) {
  std::mt19937 rng(3);
  std::normal_distribution<float> noise(0.0F, 0.3F);
  const BiquadCoefficients designs[] = {high_pass(0.001, 0.54), peaking(0.05, 4.0, 1.2), low_shelf(0.01, -3.0),
                                        high_shelf(0.2, 2.0)};
  for (int sections = 1; sections <= BiquadCascade::kMaxSections; ++sections) {
    std::vector<float> left(5000);
    std::vector<float> right(5000);
    for (auto& v : left) v = noise(rng);
    for (auto& v : right) v = noise(rng);
    std::vector<float> mono_left = left;
    std::vector<float> mono_right = right;
    BiquadCascade stereo;
    stereo.prepare(ProcessSpec{48000.0, 4096, 2});
    stereo.set_sections(std::span(designs, static_cast<std::size_t>(sections)));
    float* channels[2] = {left.data(), right.data()};
    const AudioBlock all(channels, 2, left.size());
    for (std::size_t pos = 0; pos < left.size(); pos += 777)
      stereo.process(all.sub_block(pos, std::min<std::size_t>(777, left.size() - pos)));
    std::vector<float> sample_left = mono_left;
    std::vector<float> sample_right = mono_right;
    for (std::vector<float>* channel : {&mono_left, &mono_right}) {
      BiquadCascade mono;
      mono.prepare(ProcessSpec{48000.0, 4096, 1});
      mono.set_sections(std::span(designs, static_cast<std::size_t>(sections)));
      float* one[1] = {channel->data()};
      const AudioBlock whole(one, 1, channel->size());
      for (std::size_t pos = 0; pos < channel->size(); pos += 1000)
        mono.process(whole.sub_block(pos, std::min<std::size_t>(1000, channel->size() - pos)));
    }
    for (std::vector<float>* channel : {&sample_left, &sample_right}) {
      BiquadCascade reference;
      reference.prepare(ProcessSpec{48000.0, 4096, 1});
      reference.set_sections(std::span(designs, static_cast<std::size_t>(sections)));
      for (float& x : *channel) x = static_cast<float>(reference.process_sample(0, static_cast<double>(x)));
    }
    EXPECT_EQ(left, sample_left) << sections << " sections, stereo";
    EXPECT_EQ(right, sample_right) << sections << " sections, stereo";
    EXPECT_EQ(mono_left, sample_left) << sections << " sections, mono";
    EXPECT_EQ(mono_right, sample_right) << sections << " sections, mono";
  }
}

}  // namespace
}  // namespace spectrum::dsp
