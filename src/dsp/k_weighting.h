// ITU-R BS.1770-4 K-weighting: a high shelf (+4 dB above ~1.7 kHz) followed by the RLB high-pass (~38 Hz).
#pragma once

#include "dsp/biquad.h"  // BiquadCoefficients

namespace spectrum::dsp {

struct KWeightingCoefficients {
  BiquadCoefficients shelf;
  BiquadCoefficients high_pass;  // b = (1, -2, 1) at every rate, as in the BS.1770 table
};

// The two stages for any rate (8-192 kHz), bilinear-transformed from the analogue prototypes whose
// 48 kHz images are the BS.1770 coefficient table (the derivation libebur128 popularised).
KWeightingCoefficients k_weighting_coefficients(double sample_rate_hz);

// Filter state, direct form I, for T = double or a GCC vector of doubles (several channels in lockstep).
// Direct form I keeps the loop-carried path to one multiply and one subtract per stage, and its
// state is just the last inputs/outputs, so the high-pass reuses the shelf's output history.
template <class T>
struct KWeightingState {
  T x1{}, x2{};  // shelf inputs
  T y1{}, y2{};  // shelf outputs = high-pass inputs
  T z1{}, z2{};  // high-pass outputs

  inline T process(T x, const KWeightingCoefficients& c) noexcept {
    const BiquadCoefficients& s = c.shelf;
    const T y = (s.b0 * x + s.b1 * x1 + s.b2 * x2 - s.a2 * y2) - s.a1 * y1;
    x2 = x1;
    x1 = x;
    const BiquadCoefficients& h = c.high_pass;
    const T z = (y - 2.0 * y1 + y2 - h.a2 * z2) - h.a1 * z1;
    y2 = y1;
    y1 = y;
    z2 = z1;
    z1 = z;
    return z;
  }
};

// One channel of K-weighting in double precision.
class KWeightingFilter {
 public:
  void prepare(double sample_rate_hz) {
    coefficients_ = k_weighting_coefficients(sample_rate_hz);
    reset();
  }
  void reset() noexcept { state_ = {}; }
  double process(double x) noexcept { return state_.process(x, coefficients_); }
  [[nodiscard]] const KWeightingCoefficients& coefficients() const noexcept { return coefficients_; }

 private:
  KWeightingCoefficients coefficients_ = k_weighting_coefficients(48000.0);
  KWeightingState<double> state_;
};

}  // namespace spectrum::dsp
