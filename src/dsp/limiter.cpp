#include "dsp/limiter.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace spectrum::dsp {
namespace {

constexpr double kCeilingMarginDb = 1e-5;  // aim a hair under the ceiling so rounding cannot cross it

std::size_t power_of_two_at_least(std::size_t n) {
  return std::bit_ceil(std::max<std::size_t>(n, 2));
}

// log2 of a gain in (0, 1], accurate to ~2e-5: exponent from the float bits, and the atanh series
// of the mantissa in [1, 2) to the 7th power. Only for statistics.
double fast_log2(double gain) noexcept {
  const auto bits = std::bit_cast<std::uint32_t>(static_cast<float>(gain));
  const int exponent = static_cast<int>((bits >> 23) & 0xFFU) - 127;
  const auto mantissa = static_cast<double>(std::bit_cast<float>((bits & 0x7FFFFFU) | 0x3F800000U));
  const double t = (mantissa - 1.0) / (mantissa + 1.0);
  const double t2 = t * t;
  constexpr double kTwoOverLn2 = 2.8853900817779268;
  return static_cast<double>(exponent) + kTwoOverLn2 * t * (1.0 + t2 * (1.0 / 3.0 + t2 * (0.2 + t2 / 7.0)));
}

}  // namespace

void Limiter::prepare(const ProcessSpec& spec) {
  sample_rate_hz_ = spec.sample_rate_hz;
  num_channels_ = std::clamp(spec.num_channels, 1, kMaxChannels);
  lookahead_frames_ = std::max(1, static_cast<int>(std::lround(kLookaheadMs * 1e-3 * sample_rate_hz_)));
  for (auto& detector : detectors_) detector.prepare(sample_rate_hz_);
  detector_latency_frames_ = detectors_[0].latency_frames();

  const auto lookahead = static_cast<std::size_t>(lookahead_frames_);
  const std::size_t delay_size = power_of_two_at_least(static_cast<std::size_t>(latency_frames()) + 1);
  delay_mask_ = delay_size - 1;
  const std::size_t hold_size = power_of_two_at_least(lookahead + 2 * kGuardFrames);
  hold_mask_ = hold_size - 1;
  for (int c = 0; c < kMaxChannels; ++c) {
    const bool used = c < num_channels_;
    delay_[static_cast<std::size_t>(c)].assign(used ? delay_size : 0, 0.0F);
    peaks_[static_cast<std::size_t>(c)].assign(used ? kChunkFrames : 0, 0.0F);
  }
  hold_values_.assign(hold_size, 1.0);
  hold_frames_.assign(hold_size, 0);
  average_ring_.assign(lookahead, 0);
  average_scale_ = 1.0 / (static_cast<double>(lookahead) * kGainOne);
  set_parameters(parameters_);
  reset();
}

void Limiter::set_parameters(const LimiterParameters& parameters) noexcept {
  parameters_ = parameters;
  ceiling_ = std::pow(10.0, parameters_.ceiling_dbtp / 20.0);
  ceiling_target_ = std::pow(10.0, (parameters_.ceiling_dbtp - kCeilingMarginDb) / 20.0);
  const double release_frames = std::max(parameters_.release_ms, 1.0) * 1e-3 * sample_rate_hz_;
  release_coefficient_ = 1.0 - std::exp(-1.0 / release_frames);
}

void Limiter::reset() noexcept {
  for (auto& detector : detectors_) detector.reset();
  for (auto& line : delay_) std::fill(line.begin(), line.end(), 0.0F);
  write_ = 0;
  hold_head_ = hold_tail_ = 0;
  frame_ = 0;
  released_ = 1.0;
  const auto unity = static_cast<std::int64_t>(kGainOne);
  std::fill(average_ring_.begin(), average_ring_.end(), unity);
  average_sum_ = unity * static_cast<std::int64_t>(average_ring_.size());
  average_pos_ = 0;
  min_gain_ = 1.0;
  reduction_sum_db_ = 0.0;
  frames_processed_ = 0;
}

double Limiter::max_gain_reduction_db() const noexcept {
  return -20.0 * std::log10(min_gain_);
}

double Limiter::mean_gain_reduction_db() const noexcept {
  return frames_processed_ == 0 ? 0.0 : reduction_sum_db_ / static_cast<double>(frames_processed_);
}

double Limiter::next_gain(double required_gain) noexcept {
  // Sliding minimum over the last W + 2G frames.
  const std::uint64_t hold_frames = static_cast<std::uint64_t>(lookahead_frames_ + 2 * kGuardFrames);
  while (hold_tail_ > hold_head_ && hold_values_[(hold_tail_ - 1) & hold_mask_] >= required_gain) --hold_tail_;
  hold_values_[hold_tail_ & hold_mask_] = required_gain;
  hold_frames_[hold_tail_ & hold_mask_] = frame_;
  ++hold_tail_;
  if (hold_frames_[hold_head_ & hold_mask_] + hold_frames <= frame_) ++hold_head_;
  const double held = hold_values_[hold_head_ & hold_mask_];
  ++frame_;

  // Instant fall, exponential rise, never above the held value.
  if (held <= released_) {
    released_ = held;
  } else {
    released_ += (held - released_) * release_coefficient_;
    if (released_ > 1.0 - 1e-9) released_ = std::min(held, 1.0);  // settle exactly, not asymptotically
  }

  // Moving average over W frames; floor() in the fixed point keeps it on the safe side.
  const auto fixed = static_cast<std::int64_t>(released_ * kGainOne);
  average_sum_ += fixed - average_ring_[average_pos_];
  average_ring_[average_pos_] = fixed;
  if (++average_pos_ == average_ring_.size()) average_pos_ = 0;
  const auto full = static_cast<std::int64_t>(kGainOne) * static_cast<std::int64_t>(average_ring_.size());
  return average_sum_ == full ? 1.0 : static_cast<double>(average_sum_) * average_scale_;
}

template <int kChannels>
void Limiter::process_frames(AudioBlock block) noexcept {
  const auto detector_latency = static_cast<std::size_t>(detector_latency_frames_);
  const auto latency = static_cast<std::size_t>(latency_frames());
  const auto ceiling = static_cast<float>(ceiling_);
  for (std::size_t pos = 0; pos < block.num_frames(); pos += kChunkFrames) {
    const std::size_t n = std::min(kChunkFrames, block.num_frames() - pos);
    for (int c = 0; c < kChannels; ++c) {
      const auto ch = static_cast<std::size_t>(c);
      detectors_[ch].process_block(block.channel(c) + pos, peaks_[ch].data(), n);
    }
    for (std::size_t i = 0; i < n; ++i) {
      double peak = 0.0;
      for (int c = 0; c < kChannels; ++c) {
        const auto ch = static_cast<std::size_t>(c);
        delay_[ch][write_] = block.channel(c)[pos + i];
        const float sample = std::abs(delay_[ch][(write_ - detector_latency) & delay_mask_]);
        peak = std::max(peak, static_cast<double>(std::max(peaks_[ch][i], sample)));
      }
      const double gain = next_gain(peak > ceiling_target_ ? ceiling_target_ / peak : 1.0);
      for (int c = 0; c < kChannels; ++c) {
        const auto ch = static_cast<std::size_t>(c);
        const double delayed = static_cast<double>(delay_[ch][(write_ - latency) & delay_mask_]);
        block.channel(c)[pos + i] = std::clamp(static_cast<float>(delayed * gain), -ceiling, ceiling);
      }
      write_ = (write_ + 1) & delay_mask_;
      if (gain < 1.0) {
        min_gain_ = std::min(min_gain_, gain);
        reduction_sum_db_ -= 6.0205999132796239 * fast_log2(gain);  // 20 log10(2) per octave
      }
    }
  }
  frames_processed_ += block.num_frames();
}

void Limiter::process(AudioBlock block) noexcept {
  if (std::min(block.num_channels(), num_channels_) >= 2) {
    process_frames<2>(block);
  } else if (block.num_channels() >= 1) {
    process_frames<1>(block);
  }
}

}  // namespace spectrum::dsp
