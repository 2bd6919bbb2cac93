// True-peak detection for one channel: 8x interpolation by three half-band stages, then a parabolic
// estimate of each local maximum.
#pragma once

#include <array>
#include <cstddef>
#include <vector>

#include "common/audio_block.h"

namespace spectrum::dsp {

// Estimates the inter-sample peak of one channel, i.e. the peak of the band-limited (ideal) reconstruction.
//
// Why not the BS.1770-4 Annex 2 filter: its 4 phases of 12 taps droop near Nyquist and four points per
// sample straddle a peak, so on limited music it read 0.3-0.7 dB under an ideal reconstruction (and a limiter
// driving every 4x point to the ceiling maximises that miss). BS.1770 asks for "at least" 4x; this reads more
// accurately, never less than the sample peak, and agrees with the EBU Tech 3341 cases 15-23.
//
// How: each stage doubles the rate by computing the point halfway between two neighbours with a symmetric
// (linear-phase, exactly half-sample) filter, designed by iteratively reweighted least squares to be flat
// over the band that stage must pass:
//   stage 1   x -> 2x, 32 taps, flat to 0.45 fs within +-0.0026 (+-0.023 dB): the hard transition
//             (0.45 -> 0.55 fs) is paid once, at the input rate, with 16 multiplies per sample;
//   stage 2   2x -> 4x, 8 taps, content is now under 0.225 of its rate (ripple 0.0002);
//   stage 3   4x -> 8x, 4 taps (ripple 0.0008).
// Then, per input sample, the largest of its 8 points (the sample itself and 7 interpolated) and its two
// neighbours on the 8x grid give a parabolic vertex; the parabola's error is O(spacing^4), 0.003 dB for a
// sine at 0.45 fs. Measured against a 16x FFT reconstruction (tests/dsp/true_peak_test.cpp, 44.1/48/96 kHz):
// every peak of sines at 0.1-0.45 fs -0.027 .. +0.022 dB; noise band-limited at 0.45 fs -0.006 .. +0.006 dB
// (global peak), -0.02 .. +0.021 dB (every peak within 6 dB of it); clipped noise -0.03 .. +0.007 dB; EBU
// Tech 3341 cases 15-23 read -6.02 .. -5.985, 2.98 and -0.12 (Annex 2 filter: -6.29 .. -5.955, 3.045 and
// -0.14 .. -0.25). Content between 0.45 fs and Nyquist is outside the flat band: on the synthetic music of
// the conformance suite, whose top band holds 0.05-1 % of the energy, readings were -0.24 .. +0.03 dB from
// an ideal reconstruction (the Annex 2 filter: -0.48 .. -0.01 dB).
// Cost: 16 + 8 + 8 multiplies per sample, about twice the Annex 2 filter's (docs/benchmarks.md).
class TruePeakDetector {
 public:
  void prepare(double sample_rate_hz);
  void reset() noexcept;

  // Peak estimate (>= 0) for the interval between inputs m and m + 1, where m is this call's input minus
  // latency_frames(): the largest point of that interval, refined to the vertex of a local maximum.
  float process(float x) noexcept;

  // Inputs between this sample and the interval attributed to it: the call for input m + latency_frames()
  // reports the interval [m, m + 1) (a peak within 1/16 sample of m may also show in the report of m - 1).
  [[nodiscard]] static constexpr int latency_frames() noexcept { return kLatencyFrames; }

  // Same as calling process() for each sample (bit-identical), computed in chunks so the compiler
  // vectorises across samples. peaks_out may not alias x.
  void process_block(const float* x, float* peaks_out, std::size_t n) noexcept;

  [[nodiscard]] double sample_rate_hz() const noexcept { return sample_rate_hz_; }

  // The filter cascade's reach: inputs needed on each side of an interval.
  static constexpr int kLatencyFrames = 19;

 private:
  static constexpr int kHistoryFrames = 2 * kLatencyFrames;

  double sample_rate_hz_ = 48000.0;
  std::array<float, kHistoryFrames> history_{};  // the last 38 inputs, oldest first
};

// The true peak of a programme: a TruePeakDetector per channel, the largest reading kept. The detector's
// grid includes the samples themselves, so the reading is never under the sample peak (except over the
// last latency_frames() samples, whose intervals are not reported until more input or a flush arrives).
class TruePeakMeter {
 public:
  static constexpr int kMaxMeterChannels = 8;  // as LoudnessMeter, for multichannel conformance material

  void prepare(double sample_rate_hz, int channels);
  void reset() noexcept;
  // Any block size; at most the prepared channel count is read.
  void process(const float* const* channels, int num_channels, std::size_t num_frames) noexcept;
  void process(const AudioBlock& block) noexcept;
  [[nodiscard]] float peak() const noexcept { return peak_; }  // linear

 private:
  static constexpr std::size_t kScratchFrames = 512;

  int channels_ = 0;
  std::array<TruePeakDetector, kMaxMeterChannels> detectors_{};
  std::vector<float> scratch_;
  float peak_ = 0.0F;
};

}  // namespace spectrum::dsp
