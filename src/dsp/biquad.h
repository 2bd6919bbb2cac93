// Second-order IIR sections: RBJ cookbook designs and a double-precision cascade.
#pragma once

#include <array>
#include <cstddef>
#include <span>

#include "common/audio_block.h"

namespace spectrum::dsp {

// H(z) = (b0 + b1 z^-1 + b2 z^-2) / (1 + a1 z^-1 + a2 z^-2).
struct BiquadCoefficients {
  double b0 = 1.0;
  double b1 = 0.0;
  double b2 = 0.0;
  double a1 = 0.0;
  double a2 = 0.0;
};

// Designs take the frequency as a fraction of the sample rate (0 < f < 0.5), so a design holds no
// sample rate of its own. The bilinear transform is prewarped at that frequency: shelves give
// exactly half their gain (in dB) there, and a Butterworth Q gives exactly -3.01 dB.
inline constexpr double kButterworthQ = 0.70710678118654752;

BiquadCoefficients low_pass(double frequency_fraction, double q = kButterworthQ);
BiquadCoefficients high_pass(double frequency_fraction, double q = kButterworthQ);
// Full gain at DC, 0 dB at Nyquist.
BiquadCoefficients low_shelf(double frequency_fraction, double gain_db, double q = kButterworthQ);
// 0 dB at DC, full gain at Nyquist.
BiquadCoefficients high_shelf(double frequency_fraction, double gain_db, double q = kButterworthQ);
BiquadCoefficients peaking(double frequency_fraction, double gain_db, double q);
// Unity magnitude, phase of a second-order Butterworth section: the sum of the two outputs of a
// 4th-order Linkwitz-Riley crossover at the same frequency.
BiquadCoefficients all_pass(double frequency_fraction, double q = kButterworthQ);

// |H| in dB at a frequency given as a fraction of the sample rate.
double magnitude_db(const BiquadCoefficients& coefficients, double frequency_fraction);

// Up to kMaxSections sections in series per channel, transposed direct form II with double state
// (a 20 Hz pole at 192 kHz sits ~1e-3 from the unit circle, beyond float's comfort).
class BiquadCascade {
 public:
  static constexpr int kMaxSections = 4;

  void prepare(const ProcessSpec& spec) noexcept;
  void reset() noexcept;
  // At most kMaxSections; extra sections are ignored. The state is kept (call reset() if needed).
  void set_sections(std::span<const BiquadCoefficients> sections) noexcept;
  [[nodiscard]] int num_sections() const noexcept { return num_sections_; }

  void process(AudioBlock block) noexcept;
  // One sample of one channel, for processors that filter inside their own per-sample loop.
  double process_sample(int channel, double x) noexcept {
    auto& state = state_[static_cast<std::size_t>(channel)];
    for (int s = 0; s < num_sections_; ++s) {
      const auto& k = sections_[static_cast<std::size_t>(s)];
      auto& z = state[static_cast<std::size_t>(s)];
      const double y = k.b0 * x + z[0];
      z[0] = k.b1 * x - k.a1 * y + z[1];
      z[1] = k.b2 * x - k.a2 * y;
      x = y;
    }
    return x;
  }

  // Magnitude of the whole cascade in dB.
  [[nodiscard]] double magnitude_db(double frequency_fraction) const noexcept;

 private:
  template <std::size_t kSections>
  void process_lanes(const AudioBlock& block, int a, int b) noexcept;

  std::array<BiquadCoefficients, kMaxSections> sections_{};
  std::array<std::array<std::array<double, 2>, kMaxSections>, kMaxChannels> state_{};
  int num_sections_ = 0;
  int num_channels_ = kMaxChannels;
};

// 4th-order Butterworth high-pass (sections with Q 0.5412 and 1.3066): the subsonic/DC filter,
// -3.01 dB at the cutoff, 24 dB/octave below it.
class ButterworthHighPass {
 public:
  static constexpr double kDefaultCutoffHz = 20.0;

  void prepare(const ProcessSpec& spec, double cutoff_hz = kDefaultCutoffHz) noexcept;
  void reset() noexcept { cascade_.reset(); }
  void process(AudioBlock block) noexcept { cascade_.process(block); }
  [[nodiscard]] double magnitude_db(double frequency_hz) const noexcept;

 private:
  BiquadCascade cascade_;
  double sample_rate_hz_ = 48000.0;
};

}  // namespace spectrum::dsp
