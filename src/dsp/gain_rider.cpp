#include "dsp/gain_rider.h"

#include <algorithm>
#include <cmath>

#include "dsp/units.h"

namespace spectrum::dsp {

void GainRider::prepare(const ProcessSpec& spec) noexcept {
  num_channels_ = std::clamp(spec.num_channels, 1, kMaxChannels);
  reset();
}

void GainRider::reset() noexcept {
  frames_processed_ = 0;
  gain_ = gain_at(0);
  gain_step_ = 0.0;
  frames_to_control_ = 0;
}

double GainRider::gain_at(std::uint64_t frame) const noexcept {
  return std::exp2(track_.at(frame) * kLog2GainPerDb);
}

void GainRider::process(AudioBlock block) noexcept {
  if (track_.empty()) return;
  const int channels = std::min(block.num_channels(), num_channels_);
  for (std::size_t pos = 0; pos < block.num_frames();) {
    if (frames_to_control_ == 0) {  // ramp to where the track will be one interval from now
      gain_step_ = (gain_at(frames_processed_ + kControlInterval) - gain_) / kControlInterval;
      frames_to_control_ = kControlInterval;
    }
    const std::size_t n = std::min(block.num_frames() - pos, static_cast<std::size_t>(frames_to_control_));
    for (std::size_t i = 0; i < n; ++i) {
      gain_ += gain_step_;
      const auto g = static_cast<float>(gain_);
      for (int c = 0; c < channels; ++c) block.channel(c)[pos + i] *= g;
    }
    pos += n;
    frames_to_control_ -= static_cast<int>(n);
    frames_processed_ += n;
  }
}

}  // namespace spectrum::dsp
