// Mid/side stereo width with a mono-compatible low end.
#pragma once

#include "common/audio_block.h"
#include "dsp/biquad.h"

namespace spectrum::dsp {

// M = (L + R) / 2, S = (L - R) / 2, w = width_percent / 100; L' = M' + S', R' = M' - S'.
//   w = 1      exact bypass.
//   w < 1      S' = w S, M' = M (0 % gives L' = R' = M exactly).
//   w > 1      the side is split at 120 Hz by a 4th-order Linkwitz-Riley crossover and only its
//              upper band is widened: S' = LR4_low(S) + w LR4_high(S). The two LR4 outputs are in
//              phase with each other, so the bands add without a notch or bump. (S - LR4_low(S)
//              would not vanish in the bass: the low-pass's phase lag leaves |1 - LR4_low| = 1.33
//              at 60 Hz.) Their sum is the 2nd-order all-pass at 120 Hz, so M goes through that
//              same all-pass to keep M and S aligned: the whole output has the crossover's phase,
//              and its magnitude is as described.
// Mono (one channel) passes unchanged; identical channels stay identical at any width.
class StereoWidth {
 public:
  static constexpr double kBassCrossoverHz = 120.0;

  void prepare(const ProcessSpec& spec) noexcept;
  void reset() noexcept;
  // 0..200 (clamped).
  void set_width_percent(double width_percent) noexcept;
  [[nodiscard]] double width_percent() const noexcept { return width_percent_; }

  void process(AudioBlock block) noexcept;

 private:
  double width_percent_ = 100.0;
  BiquadCascade all_pass_;   // channel 0: M, channel 1: S
  BiquadCascade high_pass_;  // channel 0: S, LR4 high-pass (two Butterworth sections)
};

}  // namespace spectrum::dsp
