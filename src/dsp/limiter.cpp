#include "dsp/limiter.h"

#include <algorithm>
#include <bit>
#include <cmath>

#include "dsp/max_abs.h"
#include "dsp/units.h"

namespace spectrum::dsp {
namespace {

constexpr double kCeilingMarginDb = 1e-5;  // aim a hair under the ceiling so rounding cannot cross it

// The mean reduction in dB is a mean of logarithms, i.e. the log of a product: gains are multiplied
// per frame and the product's log2 taken every kProductFrames frames (a gain of 1e-9 per frame for
// 32 frames is still 1e-288, inside double's range), so no frame pays for a logarithm.
constexpr int kProductFrames = 32;

// out[i] = max(in[i], in[i + step]) for i < count.
void max_of_pairs(const float* __restrict in, float* __restrict out, std::size_t step, std::size_t count) noexcept {
  for (std::size_t i = 0; i < count; ++i) out[i] = in[i + step] > in[i] ? in[i + step] : in[i];
}

}  // namespace

int Limiter::lookahead_frames(double sample_rate_hz) noexcept {
  return std::max(1, static_cast<int>(std::lround(kLookaheadMs * 1e-3 * sample_rate_hz)));
}

void LimiterSideChain::prepare(const ProcessSpec& spec) {
  num_channels_ = std::clamp(spec.num_channels, 1, kMaxChannels);
  for (auto& detector : detectors_) detector.prepare(spec.sample_rate_hz);
  hold_frames_ = static_cast<std::size_t>(Limiter::lookahead_frames(spec.sample_rate_hz)) +
                 2 * static_cast<std::size_t>(Limiter::kGuardFrames);
  hold_span_ = std::bit_floor(hold_frames_);
  channel_peaks_.assign(kChunkFrames, 0.0F);
  peaks_.assign(hold_frames_ - 1 + kChunkFrames, 0.0F);
  maxima_.assign(peaks_.size(), 0.0F);
  scratch_.assign(peaks_.size(), 0.0F);
  reset();
}

void LimiterSideChain::reset() noexcept {
  for (auto& detector : detectors_) detector.reset();
  std::fill(peaks_.begin(), peaks_.end(), 0.0F);
}

void LimiterSideChain::process(const AudioBlock& block, float* held_out) noexcept {
  for (std::size_t pos = 0; pos < block.num_frames(); pos += kChunkFrames)
    process_chunk(block, pos, std::min(kChunkFrames, block.num_frames() - pos), held_out + pos);
}

void LimiterSideChain::process_chunk(const AudioBlock& block, std::size_t offset, std::size_t n,
                                     float* held_out) noexcept {
  const int channels = std::min(block.num_channels(), num_channels_);
  float* peaks = peaks_.data() + hold_frames_ - 1;
  for (int c = 0; c < channels; ++c) {
    float* detected = c == 0 ? peaks : channel_peaks_.data();
    detectors_[static_cast<std::size_t>(c)].process_block(block.channel(c) + offset, detected, n);
    if (c == 0) continue;
    for (std::size_t i = 0; i < n; ++i) peaks[i] = detected[i] > peaks[i] ? detected[i] : peaks[i];
  }

  // Hold: maximum over the W + 2G peaks ending at each frame. After the passes with steps 1, 2, 4, ..
  // span / 2, maxima[i] covers peaks_[i .. i + span - 1]; two such spans cover the window.
  const std::size_t length = hold_frames_ - 1 + n;
  const float* source = peaks_.data();
  float* maxima = maxima_.data();
  for (std::size_t step = 1; step < hold_span_; step *= 2) {
    max_of_pairs(source, maxima, step, length - step);  // separate buffers: no aliasing, so it vectorises
    source = maxima;
    maxima = (maxima == maxima_.data()) ? scratch_.data() : maxima_.data();
  }
  max_of_pairs(source, held_out, hold_frames_ - hold_span_, n);
  std::copy_n(peaks_.data() + n, hold_frames_ - 1, peaks_.data());
}

void Limiter::prepare(const ProcessSpec& spec) {
  sample_rate_hz_ = spec.sample_rate_hz;
  num_channels_ = std::clamp(spec.num_channels, 1, kMaxChannels);
  lookahead_frames_ = lookahead_frames(sample_rate_hz_);
  side_chain_.prepare(spec);
  held_.assign(kChunkFrames, 0.0F);
  required_.assign(kChunkFrames, 1.0F);

  const auto lookahead = static_cast<std::size_t>(lookahead_frames_);
  const auto latency = static_cast<std::size_t>(latency_frames());
  for (int c = 0; c < kMaxChannels; ++c) {
    const bool used = c < num_channels_;
    delayed_[static_cast<std::size_t>(c)].assign(used ? latency + kChunkFrames : 0, 0.0F);
  }
  fixed_.assign(lookahead + kChunkFrames, static_cast<std::int64_t>(kGainOne));
  gains_.assign(kChunkFrames, 1.0);
  average_full_ = static_cast<std::int64_t>(kGainOne) * static_cast<std::int64_t>(lookahead);
  average_scale_ = 1.0 / (static_cast<double>(lookahead) * kGainOne);
  set_parameters(parameters_);
  reset();
}

void Limiter::set_parameters(const LimiterParameters& parameters) noexcept {
  parameters_ = parameters;
  ceiling_ = static_cast<float>(db_to_amplitude(parameters_.ceiling_dbtp));
  ceiling_target_ = static_cast<float>(db_to_amplitude(parameters_.ceiling_dbtp - kCeilingMarginDb));
  const auto per_frame = [this](double time_ms) {
    return 1.0 - std::exp(-1.0 / (std::max(time_ms, 1.0) * 1e-3 * sample_rate_hz_));
  };
  fast_release_coefficient_ = per_frame(parameters_.release_fast_ms);
  slow_release_coefficient_ = per_frame(parameters_.release_slow_ms);
  sustain_coefficient_ = per_frame(parameters_.sustain_ms);
}

void Limiter::reset() noexcept {
  side_chain_.reset();
  for (auto& line : delayed_) std::fill(line.begin(), line.end(), 0.0F);
  std::fill(fixed_.begin(), fixed_.end(), static_cast<std::int64_t>(kGainOne));
  released_ = 1.0;
  sustained_ = 1.0;
  average_sum_ = average_full_;
  min_gain_ = 1.0;
  gain_product_ = 1.0;
  product_frames_ = 0;
  reduction_log2_sum_ = 0.0;
  frames_processed_ = 0;
}

double Limiter::max_gain_reduction_db() const noexcept {
  return -amplitude_to_db(min_gain_);
}

double Limiter::mean_gain_reduction_db() const noexcept {
  if (frames_processed_ == 0) return 0.0;
  const double log2_sum = reduction_log2_sum_ + std::log2(gain_product_);
  return -kDbPerLog2Gain * log2_sum / static_cast<double>(frames_processed_);
}

void Limiter::compute_gains(const float* held, float scale, std::size_t n) noexcept {
  const auto lookahead = static_cast<std::size_t>(lookahead_frames_);
  const float target = ceiling_target_;
  std::int64_t* fixed = fixed_.data() + lookahead;

  // Nothing over the ceiling while the gain rests at exactly 1: the recursion below would give 1 for
  // every frame (the release settles to exactly 1, the running sum stays full), so skip it.
  if (released_ == 1.0 && sustained_ == 1.0 && average_sum_ == average_full_ && scale * max_abs(held, n) <= target) {
    std::fill_n(gains_.begin(), n, 1.0);
    std::fill_n(fixed, n, static_cast<std::int64_t>(kGainOne));
    if (!statistics_) return;
    frames_processed_ += n;
    if (product_frames_ + static_cast<int>(n) >= kProductFrames) {  // the folds: log2(1) adds nothing after the first
      reduction_log2_sum_ += std::log2(gain_product_);
      gain_product_ = 1.0;
    }
    product_frames_ = (product_frames_ + static_cast<int>(n)) % kProductFrames;
    return;
  }

  // Required gain: ceiling / max(peak, ceiling) is exactly 1 at or under the ceiling.
  float* required = required_.data();
  for (std::size_t i = 0; i < n; ++i) {
    const float peak = held[i] * scale;
    required[i] = target / (peak > target ? peak : target);
  }

  // Release and moving average: the only recursions, one pass.
  double released = released_;
  double sustained = sustained_;
  std::int64_t sum = average_sum_;
  const double fast = fast_release_coefficient_;
  const double slow = slow_release_coefficient_;
  const double sustain = sustain_coefficient_;
  for (std::size_t i = 0; i < n; ++i) {
    const auto limit = static_cast<double>(required[i]);
    released = std::min(released + fast * (limit - released), limit);
    sustained += (limit - sustained) * (limit < sustained ? sustain : slow);
    if (released > 1.0 - 1e-9) released = limit;  // settle exactly, not asymptotically
    if (sustained > 1.0 - 1e-9) sustained = 1.0;
    const double gain = std::min(released, sustained);
    const auto value = static_cast<std::int64_t>(gain * kGainOne);  // truncation: on the safe side
    sum += value - fixed[static_cast<std::ptrdiff_t>(i) - static_cast<std::ptrdiff_t>(lookahead)];
    fixed[i] = value;
    gains_[i] = sum == average_full_ ? 1.0 : static_cast<double>(sum) * average_scale_;
  }
  released_ = released;
  sustained_ = sustained;
  average_sum_ = sum;
  if (!statistics_) return;

  frames_processed_ += n;
  double min_gain = min_gain_;
  double product = gain_product_;
  int product_frames = product_frames_;
  for (std::size_t i = 0; i < n; ++i) {
    min_gain = std::min(min_gain, gains_[i]);
    product *= gains_[i];
    if (++product_frames == kProductFrames) {
      reduction_log2_sum_ += std::log2(product);
      product = 1.0;
      product_frames = 0;
    }
  }
  min_gain_ = min_gain;
  gain_product_ = product;
  product_frames_ = product_frames;
}

void Limiter::process_chunk(AudioBlock block, std::size_t offset, std::size_t n, const float* held,
                            float scale) noexcept {
  const int channels = std::min(block.num_channels(), num_channels_);
  const auto latency = static_cast<std::size_t>(latency_frames());
  for (int c = 0; c < channels; ++c)
    std::copy_n(block.channel(c) + offset, n, delayed_[static_cast<std::size_t>(c)].data() + latency);

  compute_gains(held, scale, n);

  // Output: the delayed audio times the gain, clamped as a safety net.
  const float ceiling = ceiling_;
  const double* gains = gains_.data();
  for (int c = 0; c < channels; ++c) {
    const auto ch = static_cast<std::size_t>(c);
    float* line = delayed_[ch].data();
    float* out = block.channel(c) + offset;
    for (std::size_t i = 0; i < n; ++i) {
      const auto y = static_cast<float>(static_cast<double>(line[i]) * gains[i]);
      out[i] = y > ceiling ? ceiling : (y < -ceiling ? -ceiling : y);
    }
    std::copy_n(line + n, latency, line);
  }
  const auto lookahead = static_cast<std::size_t>(lookahead_frames_);
  std::copy_n(fixed_.data() + n, lookahead, fixed_.data());
}

void Limiter::process(AudioBlock block) noexcept {
  if (block.num_channels() < 1) return;
  for (std::size_t pos = 0; pos < block.num_frames(); pos += kChunkFrames) {
    const std::size_t n = std::min(kChunkFrames, block.num_frames() - pos);
    side_chain_.process(block.sub_block(pos, n), held_.data());
    process_chunk(block, pos, n, held_.data(), 1.0F);
  }
}

void Limiter::process(AudioBlock block, const float* held_peaks, float peak_scale) noexcept {
  if (block.num_channels() < 1) return;
  for (std::size_t pos = 0; pos < block.num_frames(); pos += kChunkFrames)
    process_chunk(block, pos, std::min(kChunkFrames, block.num_frames() - pos), held_peaks + pos, peak_scale);
}

}  // namespace spectrum::dsp
