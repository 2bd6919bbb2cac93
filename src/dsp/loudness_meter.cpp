#include "dsp/loudness_meter.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "dsp/max_abs.h"
#include "dsp/units.h"

namespace spectrum::dsp {
namespace {

constexpr std::size_t kHopsPerMomentary = 4;   // 400 ms
constexpr std::size_t kHopsPerShortTerm = 30;  // 3 s

std::array<double, LoudnessMeter::kMaxMeterChannels> channel_weights(int channels) {
  std::array<double, LoudnessMeter::kMaxMeterChannels> w{};
  for (int c = 0; c < channels; ++c) w[static_cast<std::size_t>(c)] = 1.0;
  if (channels == 5) w[3] = w[4] = 1.41;  // L R C Ls Rs
  if (channels == 6) {                    // L R C LFE Ls Rs
    w[3] = 0.0;
    w[4] = w[5] = 1.41;
  }
  return w;
}

}  // namespace

void LoudnessMeter::prepare(double sample_rate_hz, int channels, Options options) {
  sample_rate_hz_ = sample_rate_hz;
  channels_ = std::clamp(channels, 1, kMaxMeterChannels);
  options_ = options;
  coefficients_ = k_weighting_coefficients(sample_rate_hz);
  weights_ = channel_weights(channels_);

  // 100 ms hops of round(fs / 10) frames, as libebur128 and the reference meter use; the fine grid is the
  // finest of 10/20/25/50/100 ms that divides a hop exactly (10 ms at 44.1, 48, 96 kHz).
  const auto hop_frames = static_cast<std::size_t>(std::llround(sample_rate_hz / 10.0));
  fine_per_hop_ = 1;
  for (std::size_t divisor : {10U, 5U, 4U, 2U}) {
    if (hop_frames % divisor == 0) {
      fine_per_hop_ = divisor;
      break;
    }
  }
  fine_frames_ = hop_frames / fine_per_hop_;

  const double reserved_s = std::clamp(options.expected_duration_s, 0.0, kMaxReservedS);
  const double expected_frames = reserved_s * sample_rate_hz * 1.01;
  fine_energy_.clear();
  fine_energy_.reserve(static_cast<std::size_t>(expected_frames / static_cast<double>(fine_frames_)) + 16);
  short_term_lufs_.clear();
  short_term_lufs_.reserve(static_cast<std::size_t>(reserved_s * 10.1) + 16);
  true_peak_.prepare(sample_rate_hz, channels_);
  reset();
}

void LoudnessMeter::reset() {
  filters_.fill({});
  fine_sums_.fill(Lanes{0.0, 0.0});
  true_peak_.reset();
  fine_fill_ = 0;
  fine_energy_.clear();
  short_term_lufs_.clear();
  peak_ = 0.0F;
  frames_ = 0;
}

void LoudnessMeter::process(const AudioBlock& block) {
  process(block.channels(), block.num_channels(), block.num_frames());
}

void LoudnessMeter::process(const float* const* channels, int num_channels, std::size_t num_frames) {
  if (num_channels != channels_ || num_frames == 0) return;  // a caller bug; documented precondition
  // Cut at sub-block boundaries; within a run, each channel pair is filtered in one tight loop.
  std::size_t done = 0;
  while (done < num_frames) {
    const std::size_t run = std::min(num_frames - done, fine_frames_ - fine_fill_);
    for (int pair = 0; pair * 2 < channels_; ++pair) {
      const float* left = channels[static_cast<std::ptrdiff_t>(pair) * 2] + done;
      // An odd last channel runs in both lanes; its second lane has weight 0.
      const float* right = (2 * pair + 1 < channels_) ? channels[2 * pair + 1] + done : left;
      process_pair(pair, left, right, run);
    }
    fine_fill_ += run;
    done += run;
    if (fine_fill_ == fine_frames_) close_fine_block();
  }

  for (int c = 0; c < channels_; ++c) peak_ = std::max(peak_, max_abs(channels[c], num_frames));
  if (options_.true_peak) true_peak_.process(channels, num_channels, num_frames);
  frames_ += static_cast<std::int64_t>(num_frames);
}

void LoudnessMeter::process_pair(int pair, const float* left, const float* right, std::size_t num_frames) {
  auto& state = filters_[static_cast<std::size_t>(pair)];
  KWeightingState<Lanes> s = state;  // locals keep the recurrence in registers
  Lanes sum = fine_sums_[static_cast<std::size_t>(pair)];
  const KWeightingCoefficients c = coefficients_;
  for (std::size_t i = 0; i < num_frames; ++i) {
    const Lanes x = {static_cast<double>(left[i]), static_cast<double>(right[i])};
    const Lanes y = s.process(x, c);
    sum += y * y;
  }
  state = s;
  fine_sums_[static_cast<std::size_t>(pair)] = sum;
}

void LoudnessMeter::close_fine_block() {
  double energy = 0.0;
  for (int pair = 0; pair * 2 < channels_; ++pair) {
    const Lanes sum = fine_sums_[static_cast<std::size_t>(pair)];
    const std::size_t left = static_cast<std::size_t>(pair) * 2;
    energy += weights_[left] * sum[0];
    if (2 * pair + 1 < channels_) energy += weights_[left + 1] * sum[1];
    fine_sums_[static_cast<std::size_t>(pair)] = Lanes{0.0, 0.0};
  }
  fine_energy_.push_back(energy);  // no allocation within the reserved duration
  fine_fill_ = 0;

  const std::size_t fine_count = fine_energy_.size();
  const std::size_t short_term_fine = kHopsPerShortTerm * fine_per_hop_;
  if (fine_count % fine_per_hop_ == 0 && fine_count >= short_term_fine) {
    const double mean_square =
        window_energy(fine_count, short_term_fine) / static_cast<double>(short_term_fine * fine_frames_);
    short_term_lufs_.push_back(energy_to_lufs(mean_square));
  }
}

double LoudnessMeter::window_energy(std::size_t end_fine, std::size_t length_fine) const noexcept {
  double sum = 0.0;
  for (std::size_t i = end_fine - length_fine; i < end_fine; ++i) sum += fine_energy_[i];
  return sum;
}

double LoudnessMeter::integrated_lufs() const {
  const std::size_t block_fine = kHopsPerMomentary * fine_per_hop_;
  const std::size_t hops = fine_energy_.size() / fine_per_hop_;
  if (hops < kHopsPerMomentary) return kNegInfDb;
  const double block_frames = static_cast<double>(block_fine * fine_frames_);
  const std::size_t blocks = hops - kHopsPerMomentary + 1;
  auto block_mean_square = [&](std::size_t j) {
    return window_energy((j + kHopsPerMomentary) * fine_per_hop_, block_fine) / block_frames;
  };

  const double absolute_gate = lufs_to_energy(kAbsoluteGateLufs);
  double sum = 0.0;
  std::size_t count = 0;
  for (std::size_t j = 0; j < blocks; ++j) {
    const double z = block_mean_square(j);
    if (z > absolute_gate) {
      sum += z;
      ++count;
    }
  }
  if (count == 0) return kNegInfDb;
  const double relative_gate =
      lufs_to_energy(energy_to_lufs(sum / static_cast<double>(count)) + kIntegratedRelativeGateLu);
  const double gate = std::max(absolute_gate, relative_gate);
  sum = 0.0;
  count = 0;
  for (std::size_t j = 0; j < blocks; ++j) {
    const double z = block_mean_square(j);
    if (z > gate) {
      sum += z;
      ++count;
    }
  }
  return count == 0 ? kNegInfDb : energy_to_lufs(sum / static_cast<double>(count));
}

double LoudnessMeter::loudness_range_lu() const {
  std::vector<double> gated;
  gated.reserve(short_term_lufs_.size());
  double power_sum = 0.0;
  for (double v : short_term_lufs_) {
    if (passes_absolute_gate(v)) {
      gated.push_back(v);
      power_sum += std::pow(10.0, v / 10.0);
    }
  }
  if (gated.empty()) return 0.0;
  const double relative_gate = 10.0 * std::log10(power_sum / static_cast<double>(gated.size())) + kRangeRelativeGateLu;
  std::erase_if(gated, [relative_gate](double v) { return v < relative_gate; });
  std::sort(gated.begin(), gated.end());
  const double last = static_cast<double>(gated.size() - 1);
  // Tech 3342 listing: index = round((n - 1) * p + 1), 1-based.
  const auto low = static_cast<std::size_t>(std::round(last * 0.10 + 1.0)) - 1;
  const auto high = static_cast<std::size_t>(std::round(last * 0.95 + 1.0)) - 1;
  return gated[high] - gated[low];
}

double LoudnessMeter::max_over_windows(std::size_t length_fine) const {
  if (fine_energy_.size() < length_fine) return kNegInfDb;
  double best = 0.0;
  // Re-summing each window (rather than a running sum) keeps the result exact to the last bit
  // regardless of history; at 40 or 300 terms per 10 ms step it is cheap.
  for (std::size_t end = length_fine; end <= fine_energy_.size(); ++end) {
    best = std::max(best, window_energy(end, length_fine));
  }
  return energy_to_lufs(best / static_cast<double>(length_fine * fine_frames_));
}

double LoudnessMeter::max_momentary_lufs() const {
  return max_over_windows(kHopsPerMomentary * fine_per_hop_);
}
double LoudnessMeter::max_short_term_lufs() const {
  return max_over_windows(kHopsPerShortTerm * fine_per_hop_);
}

LoudnessSeries LoudnessMeter::sliding_series(std::size_t length_fine) const {
  LoudnessSeries series;
  series.step_s = fine_step_s();
  series.first_end_s = static_cast<double>(length_fine) * series.step_s;
  if (fine_energy_.size() < length_fine) return series;
  series.lufs.reserve(fine_energy_.size() - length_fine + 1);
  const double frames = static_cast<double>(length_fine * fine_frames_);
  for (std::size_t end = length_fine; end <= fine_energy_.size(); ++end) {
    series.lufs.push_back(energy_to_lufs(window_energy(end, length_fine) / frames));
  }
  return series;
}

LoudnessSeries LoudnessMeter::momentary_series() const {
  return sliding_series(kHopsPerMomentary * fine_per_hop_);
}
LoudnessSeries LoudnessMeter::short_term_series() const {
  return sliding_series(kHopsPerShortTerm * fine_per_hop_);
}

double LoudnessMeter::whole_programme_lufs() const {
  if (frames_ == 0) return kNegInfDb;
  double energy = 0.0;
  for (double e : fine_energy_) energy += e;
  for (int pair = 0; pair * 2 < channels_; ++pair) {  // the open sub-block
    const Lanes sum = fine_sums_[static_cast<std::size_t>(pair)];
    const std::size_t left = static_cast<std::size_t>(pair) * 2;
    energy += weights_[left] * sum[0];
    if (2 * pair + 1 < channels_) energy += weights_[left + 1] * sum[1];
  }
  return energy_to_lufs(energy / static_cast<double>(frames_));
}

double LoudnessMeter::true_peak_dbtp() const {
  return options_.true_peak ? amplitude_to_db(static_cast<double>(std::max(true_peak_.peak(), peak_))) : kNegInfDb;
}

double LoudnessMeter::sample_peak_dbfs() const {
  return amplitude_to_db(static_cast<double>(peak_));
}

}  // namespace spectrum::dsp
