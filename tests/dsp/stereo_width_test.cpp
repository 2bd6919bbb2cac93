// Stereo width: exact cases, and side-band levels of processed noise in third-octave bands.
#include "dsp/stereo_width.h"

#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "dsp/fftw_planner.h"

namespace spectrum::dsp {
namespace {

constexpr double kRate = 48000.0;
constexpr std::size_t kFrames = 1 << 18;

struct Stereo {
  std::vector<float> left;
  std::vector<float> right;
};

Stereo stereo_noise(unsigned seed, std::size_t frames = kFrames) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> gauss(0.0F, 0.2F);
  Stereo s{std::vector<float>(frames), std::vector<float>(frames)};
  for (std::size_t n = 0; n < frames; ++n) {
    const float common = gauss(rng);
    s.left[n] = common + gauss(rng);
    s.right[n] = common + gauss(rng);
  }
  return s;
}

void run(StereoWidth& width, Stereo& s, std::size_t block_frames = 1024) {
  float* channels[2] = {s.left.data(), s.right.data()};
  const AudioBlock all(channels, 2, s.left.size());
  for (std::size_t pos = 0; pos < s.left.size(); pos += block_frames)
    width.process(all.sub_block(pos, std::min(block_frames, s.left.size() - pos)));
}

StereoWidth make(double percent) {
  StereoWidth width;
  width.prepare(ProcessSpec{kRate, 4096, 2});
  width.set_width_percent(percent);
  return width;
}

std::vector<float> side_of(const Stereo& s) {
  std::vector<float> side(s.left.size());
  for (std::size_t n = 0; n < side.size(); ++n) side[n] = 0.5F * (s.left[n] - s.right[n]);
  return side;
}

std::vector<float> mid_of(const Stereo& s) {
  std::vector<float> mid(s.left.size());
  for (std::size_t n = 0; n < mid.size(); ++n) mid[n] = 0.5F * (s.left[n] + s.right[n]);
  return mid;
}

// Power in the third-octave band around centre_hz, from one FFT of the whole signal.
double band_power(RealFft& fft, const std::vector<float>& x, double centre_hz) {
  std::copy(x.begin(), x.end(), fft.real_data());
  fft.forward();
  const double bin_hz = kRate / static_cast<double>(x.size());
  const auto lo = static_cast<std::size_t>(std::ceil(centre_hz * std::pow(2.0, -1.0 / 6.0) / bin_hz));
  const auto hi = static_cast<std::size_t>(std::floor(centre_hz * std::pow(2.0, 1.0 / 6.0) / bin_hz));
  double power = 0.0;
  for (std::size_t k = lo; k <= hi; ++k) {
    const double re = fft.complex_data()[k][0];
    const double im = fft.complex_data()[k][1];
    power += re * re + im * im;
  }
  return power;
}

TEST(StereoWidthTest, ZeroPercentIsExactlyMono) {
  const Stereo in = stereo_noise(1, 48000);
  Stereo out = in;
  StereoWidth width = make(0.0);
  run(width, out);
  EXPECT_EQ(out.left, out.right);
  const std::vector<float> mid = mid_of(in);
  EXPECT_EQ(out.left, mid);
}

TEST(StereoWidthTest, HundredPercentIsBitExact) {
  const Stereo in = stereo_noise(2, 48000);
  Stereo out = in;
  StereoWidth width = make(100.0);
  run(width, out);
  EXPECT_EQ(out.left, in.left);
  EXPECT_EQ(out.right, in.right);
}

TEST(StereoWidthTest, DoubleWidthRaisesTheSideAbove500HzButNotTheBass) {
  const Stereo in = stereo_noise(3);
  Stereo out = in;
  StereoWidth width = make(200.0);
  run(width, out);
  RealFft fft;
  fft.prepare(kFrames);
  const std::vector<float> side_in = side_of(in);
  const std::vector<float> side_out = side_of(out);
  const std::vector<float> mid_in = mid_of(in);
  const std::vector<float> mid_out = mid_of(out);
  for (int band = -16; band <= 13; ++band) {  // 25 Hz .. 20 kHz
    const double centre = 1000.0 * std::pow(10.0, band / 10.0);
    const double side_gain_db = 10.0 * std::log10(band_power(fft, side_out, centre) / band_power(fft, side_in, centre));
    const double mid_gain_db = 10.0 * std::log10(band_power(fft, mid_out, centre) / band_power(fft, mid_in, centre));
    if (centre > 490.0) {
      EXPECT_NEAR(side_gain_db, 6.02, 0.5) << centre << " Hz";
    }
    if (centre < 61.0) {
      EXPECT_NEAR(side_gain_db, 0.0, 1.0) << centre << " Hz";
    }
    EXPECT_NEAR(mid_gain_db, 0.0, 0.25) << centre << " Hz";  // all-pass: no level change (edge effects ~0.1 dB)
    std::printf("%7.1f Hz: side %+6.2f dB, mid %+5.2f dB\n", centre, side_gain_db, mid_gain_db);
  }
}

TEST(StereoWidthTest, MonoPassesUnchanged) {
  for (const double percent : {0.0, 50.0, 200.0}) {
    std::vector<float> mono = stereo_noise(4, 10000).left;
    const std::vector<float> original = mono;
    StereoWidth width = make(percent);
    float* channels[1] = {mono.data()};
    width.process(AudioBlock(channels, 1, mono.size()));
    EXPECT_EQ(mono, original);

    // Identical channels have no side: they stay identical (and, narrowing, untouched).
    Stereo dual{original, original};
    run(width, dual);
    EXPECT_EQ(dual.left, dual.right);
    if (percent < 100.0) {
      EXPECT_EQ(dual.left, original);
    }
  }
}

TEST(StereoWidthTest, BlockSizesGiveIdenticalOutput) {
  for (const double percent : {50.0, 200.0}) {
    const Stereo in = stereo_noise(5, 20000);
    std::vector<Stereo> outputs;
    for (const std::size_t block : {std::size_t{1}, std::size_t{37}, std::size_t{4096}}) {
      Stereo out = in;
      StereoWidth width = make(percent);
      run(width, out, block);
      outputs.push_back(out);
    }
    EXPECT_EQ(outputs[0].left, outputs[1].left);
    EXPECT_EQ(outputs[0].right, outputs[1].right);
    EXPECT_EQ(outputs[0].left, outputs[2].left);
    EXPECT_EQ(outputs[0].right, outputs[2].right);
    EXPECT_NE(outputs[0].left, in.left);
  }
}

}  // namespace
}  // namespace spectrum::dsp
