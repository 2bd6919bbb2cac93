// A control value over time, given as samples at a regular spacing in frames: read at any frame by linear
// interpolation, held beyond both ends. Non-owning; allocation-free.
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>

namespace spectrum::dsp {

class ValueTrack {
 public:
  ValueTrack() = default;
  // values[k] belongs to frame first_value_frame + k * frames_per_value.
  ValueTrack(std::span<const float> values, double frames_per_value, double first_value_frame) noexcept
      : values_(values), frames_per_value_(std::max(frames_per_value, 1.0)), first_frame_(first_value_frame) {}

  [[nodiscard]] bool empty() const noexcept { return values_.empty(); }

  // 0 when empty.
  [[nodiscard]] double at(std::uint64_t frame) const noexcept {
    if (values_.empty()) return 0.0;
    const double position = (static_cast<double>(frame) - first_frame_) / frames_per_value_;
    const double clamped = std::clamp(position, 0.0, static_cast<double>(values_.size() - 1));
    const auto k = static_cast<std::size_t>(clamped);
    const auto a = static_cast<double>(values_[k]);
    if (k + 1 == values_.size()) return a;
    return a + (clamped - static_cast<double>(k)) * (static_cast<double>(values_[k + 1]) - a);
  }

 private:
  std::span<const float> values_;
  double frames_per_value_ = 1.0;
  double first_frame_ = 0.0;
};

}  // namespace spectrum::dsp
