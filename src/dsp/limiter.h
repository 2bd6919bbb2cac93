// Stereo-linked lookahead true-peak limiter.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "common/audio_block.h"
#include "dsp/true_peak.h"

namespace spectrum::dsp {

struct LimiterParameters {
  // Sample peaks never exceed it; BS.1770 (4x) true peaks exceed it by < 0.05 dB. An ideal
  // reconstruction reads up to ~0.35 dB more for content near fs/3 (the 4x points straddle the peak).
  double ceiling_dbtp = -1.0;
  double release_ms = 100.0;  // time constant of the exponential recovery
};

// Per frame:
//   peak      max over channels of the 4x-oversampled true peak (TruePeakDetector, BS.1770-4 Annex 2)
//             and of the sample itself, which the interpolator does not reproduce exactly.
//   required  g = min(1, ceiling / peak).
//   hold      minimum of g over the last W + 2G frames (W = lookahead = 3 ms rounded to frames,
//             G = kGuardFrames = 8), a preallocated monotonic ring: O(1) amortised, no allocation.
//   release   instant fall, exponential rise with release_ms (in linear gain: one multiply-add, no
//             log/exp); it never rises above the held value.
//   smooth    moving average over W frames (exact integer running sum, no drift): the gain glides
//             down over the lookahead instead of stepping.
//   output    audio delayed by W - 1 + G + the detector's 6 frames (latency_frames()), times the
//             gain, then a clamp at the ceiling as a safety net against rounding (the gain targets
//             the ceiling minus 1e-5 dB, so the clamp moves nothing by more than float rounding).
// Why the guard: with hold length W + 2G and average length W, the gain is at or below the required
// value for the peak's sample and G samples either side. The gain ramp is steep in relative terms
// near deep reduction (W = 132 frames from 0 dB to -20 dB is ~0.5 dB per frame at the bottom), and
// the waveform between samples is built from the neighbours, so a flat stretch of +-8 frames (the
// reach of the 4x interpolator and most of a sinc's weight) keeps inter-sample peaks down too.
// Gain reduction is the same on every channel. A signal whose peaks stay under the ceiling comes
// out bit-identical (delayed) with 0 dB reduction. Output is identical for any block size.
class Limiter {
 public:
  static constexpr double kLookaheadMs = 3.0;
  static constexpr int kGuardFrames = 8;

  void prepare(const ProcessSpec& spec);
  void reset() noexcept;
  // Ceiling and release take effect at the next frame.
  void set_parameters(const LimiterParameters& parameters) noexcept;
  [[nodiscard]] const LimiterParameters& parameters() const noexcept { return parameters_; }

  void process(AudioBlock block) noexcept;

  // Delay of the audio through the limiter (lookahead + detector alignment).
  [[nodiscard]] int latency_frames() const noexcept {
    return lookahead_frames_ - 1 + kGuardFrames + detector_latency_frames_;
  }
  [[nodiscard]] int lookahead_frames() const noexcept { return lookahead_frames_; }

  // Over everything processed since prepare()/reset(), dB, positive; the mean is over all frames.
  [[nodiscard]] double max_gain_reduction_db() const noexcept;
  [[nodiscard]] double mean_gain_reduction_db() const noexcept;

 private:
  static constexpr std::size_t kChunkFrames = 256;
  static constexpr double kGainOne = 1073741824.0;  // 2^30: fixed-point unit of the running sum

  template <int kChannels>
  void process_frames(AudioBlock block) noexcept;

  LimiterParameters parameters_;
  double sample_rate_hz_ = 48000.0;
  int num_channels_ = 2;
  int lookahead_frames_ = 0;
  int detector_latency_frames_ = 0;
  double ceiling_ = 1.0;         // linear, for the clamp
  double ceiling_target_ = 1.0;  // linear, what the gain aims at

  std::array<TruePeakDetector, kMaxChannels> detectors_;
  std::array<std::vector<float>, kMaxChannels> peaks_;  // detector output for one chunk

  // Audio delay line per channel, power-of-two size.
  std::array<std::vector<float>, kMaxChannels> delay_;
  std::size_t delay_mask_ = 0;
  std::size_t write_ = 0;

  // The gain path's state, copied into a local for each block so its recursions stay in registers
  // (as members they went through memory every frame). The rings are owned by the vectors below.
  struct GainPath {
    // Sliding minimum: ring of (frame, value) with values increasing from head to tail.
    double* hold_values = nullptr;
    std::uint64_t* hold_frames = nullptr;
    std::uint64_t hold_mask = 0;
    std::uint64_t hold_length = 0;  // W + 2G
    std::uint64_t hold_head = 0;
    std::uint64_t hold_tail = 0;
    std::uint64_t frame = 0;
    double release_coefficient = 0.0;
    double released = 1.0;
    // Moving average in 2^30 fixed point: exact sums, so a run of unity gains averages to exactly 1.
    std::int64_t* average_ring = nullptr;
    std::size_t average_length = 0;  // W
    std::size_t average_pos = 0;
    std::int64_t average_sum = 0;
    std::int64_t average_full = 0;  // W * 2^30
    double average_scale = 0.0;     // 1 / (W * 2^30)

    inline double next(double required_gain) noexcept;
  };
  GainPath path_;
  std::vector<double> hold_values_;
  std::vector<std::uint64_t> hold_frames_;
  std::vector<std::int64_t> average_ring_;

  double min_gain_ = 1.0;
  double gain_product_ = 1.0;  // product of the gains since the last fold into the sum below
  int product_frames_ = 0;
  double reduction_log2_sum_ = 0.0;
  std::uint64_t frames_processed_ = 0;
};

}  // namespace spectrum::dsp
