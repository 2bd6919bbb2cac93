// Stereo-linked feed-forward compressor for mastering, with a loudness-like detector.
#pragma once

#include <cstdint>

#include "common/audio_block.h"
#include "dsp/k_weighting.h"
#include "dsp/value_track.h"

namespace spectrum::dsp {

struct CompressorParameters {
  // Compared with the detector level: K-weighted mean square of all channels, in dB with BS.1770's
  // -0.691 offset, so a threshold reads like short-term loudness in LUFS.
  double threshold_db = -18.0;
  double ratio = 4.0;              // 1..10; 1 is an exact bypass
  double knee_db = 6.0;            // total width of the soft knee, centred on the threshold
  double attack_ms = 10.0;         // time constant of the gain-reduction attack
  double release_fast_ms = 60.0;   // recovery after short peaks
  double release_slow_ms = 600.0;  // recovery after sustained reduction
};

// Signal flow:
//   detector  each channel -> BS.1770 K-weighting (dsp/k_weighting.h, the loudness meter's filter,
//             so bass does not pump the mix and the units match the meter) -> squares summed over
//             channels -> one-pole mean square with a 2 ms time constant (short, so the measured
//             attack stays close to attack_ms) -> dB - 0.691.
//   gain      static curve with a quadratic soft knee -> program-dependent ballistics in dB:
//             two envelopes follow the static reduction,
//               fast: attack attack_ms,            release release_fast_ms (60 ms)
//               slow: attack kSlowAttackMs (300 ms), release release_slow_ms (600 ms)
//             and the reduction applied is the larger of the two. A short peak barely moves the
//             slow envelope, so it recovers in ~60 ms; a sustained passage charges the slow envelope,
//             so its reduction releases over ~600 ms instead of pumping.
//   cost      the curve and ballistics run every kControlInterval (16) frames, and the linear gain
//             is ramped across those frames: one log2 and one exp2 per 16 frames, so the per-frame
//             work is the two pre-filters, a multiply-add and the gain multiply. The ramp adds
//             16 frames (0.36 ms at 44.1 kHz) of detector delay. Measured: ~50 ms of CPU for a
//             3-minute stereo 44.1 kHz file on the dev machine. All state (including the position
//             within the control interval) is kept across calls, so any block size gives the same
//             output.
//   threshold optionally follows a track of offsets (set_threshold_track), read at each control tick and
//             interpolated linearly: the engine makes the threshold follow the music's own slowly varying
//             level, so the compressor works on transients and phrases (micro-dynamics) and leaves most of
//             the difference between verse and chorus (macro-dynamics) alone.
// The same gain is applied to every channel.
class Compressor {
 public:
  static constexpr int kControlInterval = 16;
  static constexpr double kDetectorTimeConstantMs = 2.0;
  static constexpr double kSlowAttackMs = 300.0;

  void prepare(const ProcessSpec& spec);
  void reset() noexcept;
  // Takes effect at the next frame; the state is kept.
  void set_parameters(const CompressorParameters& parameters) noexcept;
  [[nodiscard]] const CompressorParameters& parameters() const noexcept { return parameters_; }
  // Adds a track of offsets (frames counted since reset()) to the threshold; empty: a fixed threshold. Its
  // values must outlive the compressor's use of them.
  void set_threshold_track(const ValueTrack& offsets_db) noexcept { threshold_track_ = offsets_db; }

  void process(AudioBlock block) noexcept;

  // Over everything processed since prepare()/reset(), in dB as positive numbers.
  [[nodiscard]] double max_gain_reduction_db() const noexcept { return max_reduction_db_; }
  [[nodiscard]] double mean_gain_reduction_db() const noexcept;

  // The static curve: reduction in dB (>= 0) for a steady detector level.
  [[nodiscard]] static double static_gain_reduction_db(double level_db, double threshold_db, double ratio,
                                                       double knee_db) noexcept;

 private:
  template <int kChannels>
  void process_frames(AudioBlock block) noexcept;
  void update_control(std::uint64_t frame) noexcept;

  CompressorParameters parameters_;
  double sample_rate_hz_ = 48000.0;
  int num_channels_ = 2;
  typedef double Lanes __attribute__((vector_size(16)));  // both channels' K-weighting in lockstep
  KWeightingCoefficients weighting_{};
  KWeightingState<Lanes> weighting_state_{};

  // Per-frame coefficient and state.
  double mean_square_coefficient_ = 0.0;
  double mean_square_ = 0.0;
  double gain_ = 1.0;
  double gain_step_ = 0.0;
  int frames_to_control_ = kControlInterval;

  // Per-control-tick coefficients (1 - exp(-interval / tau)) and envelopes, dB of reduction.
  double attack_coefficient_ = 0.0;
  double release_fast_coefficient_ = 0.0;
  double slow_attack_coefficient_ = 0.0;
  double release_slow_coefficient_ = 0.0;
  double fast_reduction_db_ = 0.0;
  double slow_reduction_db_ = 0.0;
  double reduction_db_ = 0.0;

  ValueTrack threshold_track_;

  // Statistics.
  double max_reduction_db_ = 0.0;
  double reduction_sum_db_ = 0.0;
  std::uint64_t frames_processed_ = 0;
};

}  // namespace spectrum::dsp
