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

// The mean reduction in dB is a mean of logarithms, i.e. the log of a product: gains are multiplied
// per frame and the product's log2 taken every kProductFrames frames (a gain of 1e-9 per frame for
// 32 frames is still 1e-288, inside double's range), so no frame pays for a logarithm.
constexpr int kProductFrames = 32;
constexpr double kDbPerLog2 = 6.0205999132796239;  // 20 log10(2)

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
  for (int c = 0; c < kMaxChannels; ++c) {
    const bool used = c < num_channels_;
    delay_[static_cast<std::size_t>(c)].assign(used ? delay_size : 0, 0.0F);
    peaks_[static_cast<std::size_t>(c)].assign(used ? kChunkFrames : 0, 0.0F);
  }
  hold_values_.assign(hold_size, 1.0);
  hold_frames_.assign(hold_size, 0);
  average_ring_.assign(lookahead, 0);
  path_.hold_values = hold_values_.data();
  path_.hold_frames = hold_frames_.data();
  path_.hold_mask = hold_size - 1;
  path_.hold_length = lookahead + 2 * kGuardFrames;
  path_.average_ring = average_ring_.data();
  path_.average_length = lookahead;
  path_.average_full = static_cast<std::int64_t>(kGainOne) * static_cast<std::int64_t>(lookahead);
  path_.average_scale = 1.0 / (static_cast<double>(lookahead) * kGainOne);
  set_parameters(parameters_);
  reset();
}

void Limiter::set_parameters(const LimiterParameters& parameters) noexcept {
  parameters_ = parameters;
  ceiling_ = std::pow(10.0, parameters_.ceiling_dbtp / 20.0);
  ceiling_target_ = std::pow(10.0, (parameters_.ceiling_dbtp - kCeilingMarginDb) / 20.0);
  const double release_frames = std::max(parameters_.release_ms, 1.0) * 1e-3 * sample_rate_hz_;
  path_.release_coefficient = 1.0 - std::exp(-1.0 / release_frames);
}

void Limiter::reset() noexcept {
  for (auto& detector : detectors_) detector.reset();
  for (auto& line : delay_) std::fill(line.begin(), line.end(), 0.0F);
  write_ = 0;
  path_.hold_head = path_.hold_tail = 0;
  path_.frame = 0;
  path_.released = 1.0;
  std::fill(average_ring_.begin(), average_ring_.end(), static_cast<std::int64_t>(kGainOne));
  path_.average_sum = path_.average_full;
  path_.average_pos = 0;
  min_gain_ = 1.0;
  gain_product_ = 1.0;
  product_frames_ = 0;
  reduction_log2_sum_ = 0.0;
  frames_processed_ = 0;
}

double Limiter::max_gain_reduction_db() const noexcept {
  return -20.0 * std::log10(min_gain_);
}

double Limiter::mean_gain_reduction_db() const noexcept {
  if (frames_processed_ == 0) return 0.0;
  const double log2_sum = reduction_log2_sum_ + std::log2(gain_product_);
  return -kDbPerLog2 * log2_sum / static_cast<double>(frames_processed_);
}

inline double Limiter::GainPath::next(double required_gain) noexcept {
  // Sliding minimum over the last W + 2G frames.
  while (hold_tail > hold_head && hold_values[(hold_tail - 1) & hold_mask] >= required_gain) --hold_tail;
  hold_values[hold_tail & hold_mask] = required_gain;
  hold_frames[hold_tail & hold_mask] = frame;
  ++hold_tail;
  if (hold_frames[hold_head & hold_mask] + hold_length <= frame) ++hold_head;
  const double held = hold_values[hold_head & hold_mask];
  ++frame;

  // Instant fall, exponential rise, never above the held value.
  if (held <= released) {
    released = held;
  } else {
    released += (held - released) * release_coefficient;
    if (released > 1.0 - 1e-9) released = std::min(held, 1.0);  // settle exactly, not asymptotically
  }

  // Moving average over W frames; truncation in the fixed point keeps it on the safe side.
  const auto fixed = static_cast<std::int64_t>(released * kGainOne);
  average_sum += fixed - average_ring[average_pos];
  average_ring[average_pos] = fixed;
  if (++average_pos == average_length) average_pos = 0;
  return average_sum == average_full ? 1.0 : static_cast<double>(average_sum) * average_scale;
}

template <int kChannels>
void Limiter::process_frames(AudioBlock block) noexcept {
  const auto detector_latency = static_cast<std::size_t>(detector_latency_frames_);
  const auto latency = static_cast<std::size_t>(latency_frames());
  const auto ceiling = static_cast<float>(ceiling_);
  GainPath path = path_;
  double min_gain = min_gain_;
  double product = gain_product_;
  int product_frames = product_frames_;
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
      const double gain = path.next(peak > ceiling_target_ ? ceiling_target_ / peak : 1.0);
      for (int c = 0; c < kChannels; ++c) {
        const auto ch = static_cast<std::size_t>(c);
        const double delayed = static_cast<double>(delay_[ch][(write_ - latency) & delay_mask_]);
        block.channel(c)[pos + i] = std::clamp(static_cast<float>(delayed * gain), -ceiling, ceiling);
      }
      write_ = (write_ + 1) & delay_mask_;
      min_gain = std::min(min_gain, gain);
      product *= gain;
      if (++product_frames == kProductFrames) {
        reduction_log2_sum_ += std::log2(product);
        product = 1.0;
        product_frames = 0;
      }
    }
  }
  path_ = path;
  min_gain_ = min_gain;
  gain_product_ = product;
  product_frames_ = product_frames;
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
