#include "dsp/limiter.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace spectrum::dsp {
namespace {

constexpr double kCeilingMarginDb = 1e-5;  // aim a hair under the ceiling so rounding cannot cross it

// The mean reduction in dB is a mean of logarithms, i.e. the log of a product: gains are multiplied
// per frame and the product's log2 taken every kProductFrames frames (a gain of 1e-9 per frame for
// 32 frames is still 1e-288, inside double's range), so no frame pays for a logarithm.
constexpr int kProductFrames = 32;
constexpr double kDbPerLog2 = 6.0205999132796239;  // 20 log10(2)

// out[i] = min(in[i], in[i + step]) for i < count.
void min_of_pairs(const float* __restrict in, float* __restrict out, std::size_t step, std::size_t count) noexcept {
  for (std::size_t i = 0; i < count; ++i) out[i] = in[i + step] < in[i] ? in[i + step] : in[i];
}

}  // namespace

void Limiter::prepare(const ProcessSpec& spec) {
  sample_rate_hz_ = spec.sample_rate_hz;
  num_channels_ = std::clamp(spec.num_channels, 1, kMaxChannels);
  lookahead_frames_ = std::max(1, static_cast<int>(std::lround(kLookaheadMs * 1e-3 * sample_rate_hz_)));
  for (auto& detector : detectors_) detector.prepare(sample_rate_hz_);

  const auto lookahead = static_cast<std::size_t>(lookahead_frames_);
  const auto latency = static_cast<std::size_t>(latency_frames());
  hold_frames_ = lookahead + 2 * static_cast<std::size_t>(kGuardFrames);
  hold_span_ = std::bit_floor(hold_frames_);
  for (int c = 0; c < kMaxChannels; ++c) {
    const bool used = c < num_channels_;
    delayed_[static_cast<std::size_t>(c)].assign(used ? latency + kChunkFrames : 0, 0.0F);
    peaks_[static_cast<std::size_t>(c)].assign(used ? kChunkFrames : 0, 0.0F);
  }
  required_.assign(hold_frames_ - 1 + kChunkFrames, 1.0F);
  minima_.assign(required_.size(), 1.0F);
  scratch_.assign(required_.size(), 1.0F);
  fixed_.assign(lookahead + kChunkFrames, static_cast<std::int64_t>(kGainOne));
  gains_.assign(kChunkFrames, 1.0);
  average_full_ = static_cast<std::int64_t>(kGainOne) * static_cast<std::int64_t>(lookahead);
  average_scale_ = 1.0 / (static_cast<double>(lookahead) * kGainOne);
  set_parameters(parameters_);
  reset();
}

void Limiter::set_parameters(const LimiterParameters& parameters) noexcept {
  parameters_ = parameters;
  ceiling_ = static_cast<float>(std::pow(10.0, parameters_.ceiling_dbtp / 20.0));
  ceiling_target_ = static_cast<float>(std::pow(10.0, (parameters_.ceiling_dbtp - kCeilingMarginDb) / 20.0));
  const double release_frames = std::max(parameters_.release_ms, 1.0) * 1e-3 * sample_rate_hz_;
  release_coefficient_ = 1.0 - std::exp(-1.0 / release_frames);
  release_keep_ = 1.0 - release_coefficient_;
}

void Limiter::reset() noexcept {
  for (auto& detector : detectors_) detector.reset();
  for (auto& line : delayed_) std::fill(line.begin(), line.end(), 0.0F);
  std::fill(required_.begin(), required_.end(), 1.0F);
  std::fill(fixed_.begin(), fixed_.end(), static_cast<std::int64_t>(kGainOne));
  released_ = 1.0;
  average_sum_ = average_full_;
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

void Limiter::process_chunk(AudioBlock block, std::size_t offset, std::size_t n) noexcept {
  const int channels = std::min(block.num_channels(), num_channels_);
  const auto latency = static_cast<std::size_t>(latency_frames());
  const auto lookahead = static_cast<std::size_t>(lookahead_frames_);

  // Detection, and the inputs appended to the delay lines (before the block is overwritten).
  for (int c = 0; c < channels; ++c) {
    const auto ch = static_cast<std::size_t>(c);
    const float* x = block.channel(c) + offset;
    detectors_[ch].process_block(x, peaks_[ch].data(), n);
    std::copy_n(x, n, delayed_[ch].data() + latency);
  }

  // Required gain: ceiling / max(peak, ceiling) is exactly 1 at or under the ceiling.
  float* required = required_.data() + hold_frames_ - 1;
  const float target = ceiling_target_;
  const float* first = peaks_[0].data();
  for (std::size_t i = 0; i < n; ++i) required[i] = first[i];
  for (int c = 1; c < channels; ++c) {
    const float* p = peaks_[static_cast<std::size_t>(c)].data();
    for (std::size_t i = 0; i < n; ++i) required[i] = p[i] > required[i] ? p[i] : required[i];
  }
  for (std::size_t i = 0; i < n; ++i) required[i] = target / (required[i] > target ? required[i] : target);

  // Hold: minimum over the W + 2G required gains ending at each frame. After the passes with steps
  // 1, 2, 4, .. span / 2, minima[i] covers required_[i .. i + span - 1]; two such spans cover the window.
  const std::size_t length = hold_frames_ - 1 + n;
  const float* source = required_.data();
  float* minima = minima_.data();
  for (std::size_t step = 1; step < hold_span_; step *= 2) {
    min_of_pairs(source, minima, step, length - step);  // separate buffers: no aliasing, so it vectorises
    source = minima;
    minima = (minima == minima_.data()) ? scratch_.data() : minima_.data();
  }
  min_of_pairs(source, minima, hold_frames_ - hold_span_, n);
  const float* held_gains = minima;

  // Release and moving average: the only recursions, one pass. The statistics ride along in the
  // recursion's shadow.
  double released = released_;
  std::int64_t sum = average_sum_;
  double min_gain = min_gain_;
  double product = gain_product_;
  int product_frames = product_frames_;
  std::int64_t* fixed = fixed_.data() + lookahead;
  const double keep = release_keep_;
  const double rise = release_coefficient_;
  for (std::size_t i = 0; i < n; ++i) {
    const auto held = static_cast<double>(held_gains[i]);
    released = std::min(keep * released + rise * held, held);
    if (released > 1.0 - 1e-9) released = held;                         // settle exactly, not asymptotically
    const auto value = static_cast<std::int64_t>(released * kGainOne);  // truncation: on the safe side
    sum += value - fixed[static_cast<std::ptrdiff_t>(i) - static_cast<std::ptrdiff_t>(lookahead)];
    fixed[i] = value;
    const double gain = sum == average_full_ ? 1.0 : static_cast<double>(sum) * average_scale_;
    gains_[i] = gain;
    min_gain = std::min(min_gain, gain);
    product *= gain;
    if (++product_frames == kProductFrames) {
      reduction_log2_sum_ += std::log2(product);
      product = 1.0;
      product_frames = 0;
    }
  }
  released_ = released;
  average_sum_ = sum;
  min_gain_ = min_gain;
  gain_product_ = product;
  product_frames_ = product_frames;

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

  // Histories for the next chunk.
  std::copy_n(required_.data() + n, hold_frames_ - 1, required_.data());
  std::copy_n(fixed_.data() + n, lookahead, fixed_.data());
}

void Limiter::process(AudioBlock block) noexcept {
  if (block.num_channels() < 1) return;
  for (std::size_t pos = 0; pos < block.num_frames(); pos += kChunkFrames)
    process_chunk(block, pos, std::min(kChunkFrames, block.num_frames() - pos));
  frames_processed_ += block.num_frames();
}

}  // namespace spectrum::dsp
