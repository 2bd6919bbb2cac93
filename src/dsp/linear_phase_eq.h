// Linear-phase FIR equaliser designed from an arbitrary magnitude curve, applied by FFT overlap-save.
#pragma once

#include <array>
#include <cstddef>
#include <functional>
#include <vector>

#include "common/audio_block.h"
#include "dsp/fftw_planner.h"

namespace spectrum::dsp {

// Design (in prepare): the curve is sampled on a grid 8x finer than the FIR, made zero-phase,
// inverse-transformed, centred and cut to an odd length with a Hann window. The length follows the
// sample rate (sample_rate/10 rounded to a power of two, plus one: 4097 taps at 44.1/48 kHz, 8193
// at 96 kHz, 1025 at 8 kHz), so the resolution is ~10 Hz at every rate.
//
// Processing: uniform overlap-save per channel with history H = taps - 1, FFT size 4H and block B = 3H. A
// block is filtered once B input frames have arrived, so the output is delayed by B (the buffering) plus
// H / 2 (the filter's own linear-phase delay): latency_frames() = B + H/2, e.g. 14336 frames at 44.1/48 kHz.
// The output is identical whatever block sizes the caller uses.
class LinearPhaseEq {
 public:
  // The requested gain in dB at a frequency in Hz (called for 0 <= f <= sample_rate / 2).
  using GainCurve = std::function<double(double frequency_hz)>;

  // Sizes all memory and makes the FFTW plans; not real-time safe.
  void prepare(const ProcessSpec& spec, const GainCurve& gain_db);
  void reset() noexcept;
  // In place; any block size, any number of channels up to the prepared count.
  void process(AudioBlock block) noexcept;

  // Frames between an input sample and the output it affects most (its centre tap).
  [[nodiscard]] int latency_frames() const noexcept { return block_frames_ + history_frames_ / 2; }
  [[nodiscard]] int num_taps() const noexcept { return history_frames_ + 1; }
  // The curve was 0 dB (within 1e-6 dB) everywhere: process() is then an exact delay of
  // latency_frames(), and a chain may skip the stage altogether.
  [[nodiscard]] bool is_identity() const noexcept { return identity_; }
  // Magnitude of the realised FIR (not of the request) at a frequency in Hz.
  [[nodiscard]] double response_db(double frequency_hz) const noexcept;

  // The FIR length chosen for a sample rate.
  [[nodiscard]] static int taps_for_rate(double sample_rate_hz) noexcept;

 private:
  void design(const GainCurve& gain_db);
  void filter_block(int channel) noexcept;

  double sample_rate_hz_ = 48000.0;
  int num_channels_ = 0;
  int history_frames_ = 0;       // H = taps - 1
  int block_frames_ = 0;         // B = 3H; the FFT size is H + B
  std::size_t fill_frames_ = 0;  // input frames gathered in the current block
  bool identity_ = true;
  std::vector<float> taps_;                              // the FIR, for response_db()
  std::vector<float> spectrum_re_, spectrum_im_;         // FFT of the FIR scaled by 1/(2B)
  std::array<std::vector<float>, kMaxChannels> input_;   // H + B: the last H inputs, then the current block
  std::array<std::vector<float>, kMaxChannels> output_;  // B: the last filtered block, being emitted
  RealFft fft_;
};

}  // namespace spectrum::dsp
