#include "dsp/stereo_width.h"

#include <algorithm>
#include <array>

namespace spectrum::dsp {

void StereoWidth::prepare(const ProcessSpec& spec) noexcept {
  const double fraction = kBassCrossoverHz / spec.sample_rate_hz;
  const BiquadCoefficients all_pass_section = all_pass(fraction, kButterworthQ);
  const BiquadCoefficients high_pass_section = high_pass(fraction, kButterworthQ);
  const std::array<BiquadCoefficients, 2> high_pass_sections{high_pass_section, high_pass_section};
  all_pass_.prepare(ProcessSpec{spec.sample_rate_hz, spec.max_block_frames, 2});
  all_pass_.set_sections(std::span(&all_pass_section, 1));
  high_pass_.prepare(ProcessSpec{spec.sample_rate_hz, spec.max_block_frames, 1});
  high_pass_.set_sections(high_pass_sections);
  reset();
}

void StereoWidth::reset() noexcept {
  all_pass_.reset();
  high_pass_.reset();
}

void StereoWidth::set_width_percent(double width_percent) noexcept {
  width_percent_ = std::clamp(width_percent, 0.0, 200.0);
}

void StereoWidth::process(AudioBlock block) noexcept {
  if (block.num_channels() < 2 || width_percent_ == 100.0) return;
  float* left = block.channel(0);
  float* right = block.channel(1);
  const std::size_t frames = block.num_frames();
  if (width_percent_ < 100.0) {
    const auto w = static_cast<float>(width_percent_ / 100.0);
    for (std::size_t i = 0; i < frames; ++i) {
      const float mid = 0.5F * (left[i] + right[i]);
      const float side = w * (0.5F * (left[i] - right[i]));
      left[i] = mid + side;
      right[i] = mid - side;
    }
    return;
  }
  const double extra = width_percent_ / 100.0 - 1.0;
  for (std::size_t i = 0; i < frames; ++i) {
    const double l = static_cast<double>(left[i]);
    const double r = static_cast<double>(right[i]);
    const double mid = all_pass_.process_sample(0, 0.5 * (l + r));
    const double side_in = 0.5 * (l - r);
    const double side = all_pass_.process_sample(1, side_in) + extra * high_pass_.process_sample(0, side_in);
    left[i] = static_cast<float>(mid + side);
    right[i] = static_cast<float>(mid - side);
  }
}

}  // namespace spectrum::dsp
