#include "dsp/band_spectrum.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <numeric>
#include <random>
#include <vector>

#include <fftw3.h>

#include <mutex>

#include "common/audio_block.h"
#include "dsp/fftw_lock.h"

namespace spectrum::dsp {
namespace {

double to_db(double power) {
  return 10.0 * std::log10(power);
}

void feed(BandSpectrum& spectrum, std::vector<std::vector<float>>& channels, std::size_t block_frames) {
  const std::size_t frames = channels.front().size();
  for (std::size_t start = 0; start < frames; start += block_frames) {
    std::vector<float*> pointers;
    for (auto& ch : channels) pointers.push_back(ch.data() + start);
    spectrum.process(
        AudioBlock(pointers.data(), static_cast<int>(pointers.size()), std::min(block_frames, frames - start)));
  }
  spectrum.finish();
}

// Band powers averaged over all sections.
std::vector<double> mean_bands(const BandSpectrum& spectrum) {
  std::vector<double> mean(spectrum.centres_hz().size(), 0.0);
  for (std::size_t s = 0; s < spectrum.num_sections(); ++s) {
    const auto row = spectrum.section_band_power(s);
    for (std::size_t b = 0; b < mean.size(); ++b) mean[b] += row[b] / static_cast<double>(spectrum.num_sections());
  }
  return mean;
}

std::vector<float> sine(double rate, double frequency_hz, double seconds) {
  std::vector<float> x(static_cast<std::size_t>(rate * seconds));
  for (std::size_t i = 0; i < x.size(); ++i) {
    x[i] = static_cast<float>(std::sin(2.0 * std::numbers::pi * frequency_hz * static_cast<double>(i) / rate));
  }
  return x;
}

TEST(ThirdOctaveCentres, CoverTwentyHertzToTwentyKilohertzBelowNyquist) {
  const auto at48 = third_octave_centres_hz(48000.0);
  ASSERT_EQ(at48.size(), 31U);
  EXPECT_NEAR(at48.front(), 19.95, 0.01);
  EXPECT_NEAR(at48[20], 1995.26, 0.01);
  EXPECT_NEAR(at48.back(), 19952.6, 0.1);
  EXPECT_EQ(third_octave_centres_hz(44100.0).size(), 30U);  // 20 kHz band's upper edge 22.4 kHz > 22.05 kHz
  EXPECT_EQ(third_octave_centres_hz(8000.0).size(), 23U);   // up to 3.15 kHz
}

TEST(BandSpectrum, FrameSizeFollowsTheRate) {
  BandSpectrum spectrum;
  spectrum.prepare(44100.0, 2);
  EXPECT_EQ(spectrum.fft_size(), 8192U);
  spectrum.prepare(96000.0, 2);
  EXPECT_EQ(spectrum.fft_size(), 16384U);
}

TEST(BandSpectrum, FullScaleSineAtEachCentreReadsMinus3dBInItsBand) {
  const double rate = 48000.0;
  const auto centres = third_octave_centres_hz(rate);
  for (std::size_t band = 0; band < centres.size(); ++band) {
    BandSpectrum spectrum;
    spectrum.prepare(rate, 1, 0.5, 3.0);
    std::vector<std::vector<float>> mono{sine(rate, centres[band], 3.0)};
    feed(spectrum, mono, 4096);
    const auto power = mean_bands(spectrum);
    const double total = std::accumulate(power.begin(), power.end(), 0.0);
    SCOPED_TRACE(::testing::Message() << centres[band] << " Hz: in band " << 100.0 * power[band] / total << " %, "
                                      << to_db(power[band]) << " dB");
    if (centres[band] < 30.0) continue;  // the Hann main lobe reaches below the lowest band's edge
    // Power is conserved: the bands together hold the sine's mean square (0.5).
    EXPECT_NEAR(to_db(total), -3.01, 0.1);
    if (centres[band] >= 125.0) {
      // Bands at least 5 bins wide hold the Hann main lobe.
      EXPECT_GE(power[band] / total, 0.99);
      EXPECT_NEAR(to_db(power[band]), -3.01, 0.1);
    } else {
      // Narrower bands share the main lobe with their neighbours (documented resolution limit).
      EXPECT_NEAR(to_db(power[band - 1] + power[band] + power[band + 1]), -3.01, 0.1);
      EXPECT_GE(power[band] / total, 0.45);
    }
  }
}

TEST(BandSpectrum, PinkNoiseIsFlatAcrossBandsFrom40HzTo16kHz) {
  // Pink noise made exactly in the frequency domain: random phases, amplitude ~ 1/sqrt(f) (equal power per
  // octave), one inverse FFT of 2^20 points (21.8 s).
  const double rate = 48000.0;
  const std::size_t frames = std::size_t{1} << 20;
  std::vector<float> x(frames);
  {
    std::lock_guard<std::mutex> lock(fftw_planner_mutex());
    fftwf_complex* spectrum_in = fftwf_alloc_complex(frames / 2 + 1);
    fftwf_plan plan = fftwf_plan_dft_c2r_1d(static_cast<int>(frames), spectrum_in, x.data(), FFTW_ESTIMATE);
    std::mt19937 rng(3);
    std::uniform_real_distribution<double> phase(0.0, 2.0 * std::numbers::pi);
    for (std::size_t k = 0; k <= frames / 2; ++k) {
      const double f = static_cast<double>(k) * rate / static_cast<double>(frames);
      const double amplitude = (f < 10.0) ? 0.0 : 1.0 / std::sqrt(f);
      const double p = phase(rng);
      spectrum_in[k][0] = static_cast<float>(amplitude * std::cos(p));
      spectrum_in[k][1] = static_cast<float>(amplitude * std::sin(p));
    }
    fftwf_execute(plan);
    fftwf_destroy_plan(plan);
    fftwf_free(spectrum_in);
  }
  float peak = 0.0F;
  for (float v : x) peak = std::max(peak, std::fabs(v));
  for (float& v : x) v *= 0.5F / peak;

  BandSpectrum spectrum;
  spectrum.prepare(rate, 1, 0.5, 22.0);
  std::vector<std::vector<float>> mono{x};
  feed(spectrum, mono, 4096);
  const auto power = mean_bands(spectrum);
  const auto& centres = spectrum.centres_hz();
  double sum_db = 0.0;
  int count = 0;
  for (std::size_t b = 0; b < centres.size(); ++b) {
    if (centres[b] > 39.0 && centres[b] < 16500.0) {
      sum_db += to_db(power[b]);
      ++count;
    }
  }
  const double mean_db = sum_db / count;
  for (std::size_t b = 0; b < centres.size(); ++b) {
    if (centres[b] > 39.0 && centres[b] < 16500.0) {
      EXPECT_NEAR(to_db(power[b]), mean_db, 1.0) << centres[b] << " Hz";
    }
  }
}

TEST(BandSpectrum, BlockSizeDoesNotChangeTheResult) {
  std::mt19937 rng(5);
  std::normal_distribution<float> noise(0.0F, 0.2F);
  const double rate = 44100.0;
  std::vector<float> left(static_cast<std::size_t>(rate * 5.3));
  std::vector<float> right(left.size());
  for (auto& v : left) v = noise(rng);
  for (auto& v : right) v = noise(rng);
  auto run = [&](std::size_t block) {
    BandSpectrum spectrum;
    spectrum.prepare(rate, 2, 0.5, 6.0);
    std::vector<std::vector<float>> stereo{left, right};
    feed(spectrum, stereo, block);
    std::vector<double> all;
    for (std::size_t s = 0; s < spectrum.num_sections(); ++s) {
      const auto row = spectrum.section_band_power(s);
      all.insert(all.end(), row.begin(), row.end());
    }
    return std::make_pair(spectrum.num_sections(), all);
  };
  const auto reference = run(4096);
  EXPECT_EQ(reference.first, 11U);  // 5.3 s in 0.5 s sections
  for (std::size_t block : {std::size_t{1}, std::size_t{100}, std::size_t{8192}}) {
    EXPECT_EQ(run(block), reference) << "block " << block;
  }
}

TEST(BandSpectrum, ChannelPowersAreSummed) {
  const double rate = 48000.0;
  const auto x = sine(rate, 1000.0, 2.0);
  BandSpectrum mono;
  mono.prepare(rate, 1);
  std::vector<std::vector<float>> one{x};
  feed(mono, one, 4096);
  BandSpectrum stereo;
  stereo.prepare(rate, 2);
  std::vector<std::vector<float>> two{x, x};
  feed(stereo, two, 4096);
  const std::size_t band_1k = 17;
  ASSERT_NEAR(mono.centres_hz()[band_1k], 1000.0, 1e-6);
  EXPECT_NEAR(to_db(mean_bands(stereo)[band_1k]) - to_db(mean_bands(mono)[band_1k]), 3.01, 0.01);
}

TEST(BandSpectrum, ClipShorterThanOneFrameStillGetsASection) {
  const double rate = 48000.0;
  BandSpectrum spectrum;
  spectrum.prepare(rate, 1);
  std::vector<std::vector<float>> mono{sine(rate, 1000.0, 0.1)};
  feed(spectrum, mono, 256);
  ASSERT_EQ(spectrum.num_sections(), 1U);
  // Zero-padded and rescaled by the window power it covered: within 1 dB of the true -3.01 dB.
  EXPECT_NEAR(to_db(spectrum.section_band_power(0)[17]), -3.01, 1.0);
}

}  // namespace
}  // namespace spectrum::dsp
