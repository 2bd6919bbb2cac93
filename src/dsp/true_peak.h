// True-peak detection for one channel: ITU-R BS.1770-4 Annex 2 4x polyphase interpolation.
#pragma once

#include <array>
#include <cstddef>

namespace spectrum::dsp {

// Estimates the inter-sample peak of one channel with the 48-tap, 4-phase FIR of BS.1770-4 Annex 2.
//
// Each input sample x[n] yields four interpolated values y_p[n] = sum_k h_p[k] x[n-k]; together they
// cover the interval between inputs n-6 and n-5 (phase 0 nearest n-6). None of the phases is the input
// sample itself, so a meter reports max(|sample|, true peak); the filter is the 48 kHz design, used
// unchanged at every rate, as most meters and the project's reference meter do (4x oversampling is
// more than BS.1770 asks for at 96 kHz and above, never less).
class TruePeakDetector {
 public:
  static constexpr int kTapsPerPhase = 12;
  static constexpr int kPhases = 4;

  void prepare(double sample_rate_hz);
  void reset() noexcept;

  // max |y_p[n]| over the four phases produced for this input sample.
  float process(float x) noexcept;

  // Inputs between this sample and the interpolated values attributed to it: the call for input
  // m + latency_frames() is the last one whose phases lie next to input m.
  [[nodiscard]] int latency_frames() const noexcept { return kLatencyFrames; }

  // Same as calling process() for each sample (bit-identical), computed in chunks so the compiler
  // vectorises across samples. peaks_out may not alias x.
  void process_block(const float* x, float* peaks_out, std::size_t n) noexcept;

  [[nodiscard]] double sample_rate_hz() const noexcept { return sample_rate_hz_; }

 private:
  static constexpr int kLatencyFrames = 6;

  double sample_rate_hz_ = 48000.0;
  // Each input is written to slots s and s + 12, so the 12-input window (oldest first, newest at
  // pos_ + 12) is always contiguous without a modulo per tap.
  std::array<float, 2 * kTapsPerPhase> history_{};
  int pos_ = 0;
};

}  // namespace spectrum::dsp
