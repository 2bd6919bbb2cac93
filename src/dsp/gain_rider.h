// Slow gain riding from a precomputed track of gains in dB (leveling: the engine derives the track from the
// track's short-term loudness). The gain is read every kControlInterval frames and ramped linearly between,
// like the compressor's, so the per-frame cost is one multiply per channel. Same gain on every channel.
#pragma once

#include <cstdint>

#include "common/audio_block.h"
#include "dsp/value_track.h"

namespace spectrum::dsp {

class GainRider {
 public:
  static constexpr int kControlInterval = 16;

  void prepare(const ProcessSpec& spec) noexcept;
  void reset() noexcept;
  // Gains in dB against frames since reset(); its values must outlive the rider's use of them. Empty: unity.
  void set_gain_track(const ValueTrack& gains_db) noexcept { track_ = gains_db; }
  void process(AudioBlock block) noexcept;

 private:
  [[nodiscard]] double gain_at(std::uint64_t frame) const noexcept;

  int num_channels_ = 2;
  ValueTrack track_;
  double gain_ = 1.0;
  double gain_step_ = 0.0;
  int frames_to_control_ = 0;
  std::uint64_t frames_processed_ = 0;
};

}  // namespace spectrum::dsp
