#include "dsp/compressor.h"

#include <algorithm>
#include <array>
#include <cmath>

#include "dsp/units.h"

namespace spectrum::dsp {
namespace {

constexpr double kSilenceMeanSquare = 1e-20;  // -200 dB: keeps the logarithm finite

// One-pole coefficient for a time constant, updated every `interval_frames` frames.
double coefficient(double time_ms, double sample_rate_hz, double interval_frames) {
  const double frames = std::max(time_ms, 1e-3) * 1e-3 * sample_rate_hz;
  return 1.0 - std::exp(-interval_frames / frames);
}

}  // namespace

double Compressor::static_gain_reduction_db(double level_db, double threshold_db, double ratio,
                                            double knee_db) noexcept {
  const double over_db = level_db - threshold_db;
  const double slope = 1.0 - 1.0 / std::max(ratio, 1.0);
  if (2.0 * over_db <= -knee_db) return 0.0;
  if (2.0 * over_db < knee_db) {
    // Quadratic knee: meets both straight segments with matching slope.
    const double into_knee_db = over_db + knee_db / 2.0;
    return slope * into_knee_db * into_knee_db / (2.0 * knee_db);
  }
  return slope * over_db;
}

void Compressor::prepare(const ProcessSpec& spec) {
  sample_rate_hz_ = spec.sample_rate_hz;
  num_channels_ = std::clamp(spec.num_channels, 1, kMaxChannels);
  weighting_ = k_weighting_coefficients(sample_rate_hz_);
  set_parameters(parameters_);
  reset();
}

void Compressor::set_parameters(const CompressorParameters& parameters) noexcept {
  parameters_ = parameters;
  parameters_.ratio = std::clamp(parameters.ratio, 1.0, 10.0);
  parameters_.knee_db = std::max(parameters.knee_db, 0.0);
  mean_square_coefficient_ = coefficient(kDetectorTimeConstantMs, sample_rate_hz_, 1.0);
  const double interval = kControlInterval;
  attack_coefficient_ = coefficient(parameters_.attack_ms, sample_rate_hz_, interval);
  release_fast_coefficient_ = coefficient(parameters_.release_fast_ms, sample_rate_hz_, interval);
  slow_attack_coefficient_ = coefficient(kSlowAttackMs, sample_rate_hz_, interval);
  release_slow_coefficient_ = coefficient(parameters_.release_slow_ms, sample_rate_hz_, interval);
}

void Compressor::reset() noexcept {
  weighting_state_ = {};
  mean_square_ = 0.0;
  gain_ = 1.0;
  gain_step_ = 0.0;
  frames_to_control_ = kControlInterval;
  fast_reduction_db_ = slow_reduction_db_ = reduction_db_ = 0.0;
  max_reduction_db_ = reduction_sum_db_ = 0.0;
  frames_processed_ = 0;
}

double Compressor::mean_gain_reduction_db() const noexcept {
  return frames_processed_ == 0 ? 0.0 : reduction_sum_db_ / static_cast<double>(frames_processed_);
}

void Compressor::update_control(std::uint64_t frame) noexcept {
  const double level_db = kLoudnessOffsetDb + kDbPerLog2Power * std::log2(mean_square_ + kSilenceMeanSquare);
  const double threshold_db = parameters_.threshold_db + threshold_track_.at(frame);
  const double target_db = static_gain_reduction_db(level_db, threshold_db, parameters_.ratio, parameters_.knee_db);
  fast_reduction_db_ += (target_db - fast_reduction_db_) *
                        (target_db > fast_reduction_db_ ? attack_coefficient_ : release_fast_coefficient_);
  slow_reduction_db_ += (target_db - slow_reduction_db_) *
                        (target_db > slow_reduction_db_ ? slow_attack_coefficient_ : release_slow_coefficient_);
  reduction_db_ = std::max(fast_reduction_db_, slow_reduction_db_);
  max_reduction_db_ = std::max(max_reduction_db_, reduction_db_);
  const double target_gain = std::exp2(-reduction_db_ * kLog2GainPerDb);
  gain_step_ = (target_gain - gain_) / kControlInterval;
}

template <int kChannels>
void Compressor::process_frames(AudioBlock block) noexcept {
  std::array<float*, kChannels> io{};
  for (int c = 0; c < kChannels; ++c) io[static_cast<std::size_t>(c)] = block.channel(c);
  // Locals keep the recursions in registers; members are touched only at control ticks.
  KWeightingState<Lanes> weighting = weighting_state_;
  const double keep = 1.0 - mean_square_coefficient_;
  const double take = mean_square_coefficient_;
  double mean_square = mean_square_;
  double gain = gain_;
  const auto detect = [&](std::size_t i) {
    Lanes x{};
    for (int c = 0; c < kChannels; ++c) x[c] = static_cast<double>(io[static_cast<std::size_t>(c)][i]);
    const Lanes weighted = weighting.process(x, weighting_);
    const Lanes squared = weighted * weighted;
    const double power = kChannels == 2 ? squared[0] + squared[1] : squared[0];
    mean_square = mean_square * keep + power * take;
  };
  const auto apply = [&](std::size_t i) {
    gain += gain_step_;
    const auto g = static_cast<float>(gain);
    for (int c = 0; c < kChannels; ++c) io[static_cast<std::size_t>(c)][i] *= g;
  };

  const std::size_t frames = block.num_frames();
  for (std::size_t pos = 0; pos < frames;) {
    const auto until_tick = static_cast<std::size_t>(frames_to_control_);
    const std::size_t n = std::min(frames - pos, until_tick);
    const bool tick = n == until_tick;
    // Frames before the tick use the current ramp; the tick frame updates the ramp, then uses it.
    const std::size_t plain = tick ? n - 1 : n;
    for (std::size_t i = pos; i < pos + plain; ++i) {
      detect(i);
      apply(i);
    }
    reduction_sum_db_ += reduction_db_ * static_cast<double>(plain);
    if (tick) {
      const std::size_t i = pos + plain;
      detect(i);
      mean_square_ = mean_square;
      gain_ = gain;
      update_control(frames_processed_ + i);
      apply(i);
      reduction_sum_db_ += reduction_db_;
      frames_to_control_ = kControlInterval;
    } else {
      frames_to_control_ -= static_cast<int>(n);
    }
    pos += n;
  }
  weighting_state_ = weighting;
  mean_square_ = mean_square;
  gain_ = gain;
  frames_processed_ += frames;
}

void Compressor::process(AudioBlock block) noexcept {
  if (parameters_.ratio <= 1.0) return;  // exact bypass
  if (std::min(block.num_channels(), num_channels_) >= 2) {
    process_frames<2>(block);
  } else if (block.num_channels() == 1) {
    process_frames<1>(block);
  }
}

}  // namespace spectrum::dsp
