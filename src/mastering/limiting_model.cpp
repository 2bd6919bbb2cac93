#include "mastering/limiting_model.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <utility>

#include "dsp/max_abs.h"
#include "dsp/units.h"

namespace spectrum::mastering {

std::size_t LimitingModel::bin_of(float peak) noexcept {
  return static_cast<std::size_t>(std::bit_cast<std::uint32_t>(std::abs(peak)) >> 16);
}

LimitingModel::Builder::Builder() : bin_energy_(kBins, 0.0), bin_count_(kBins, 0.0) {}

void LimitingModel::Builder::add_group(float peak) noexcept {
  const std::size_t bin = bin_of(peak);
  bin_energy_[bin] += static_cast<double>(peak) * static_cast<double>(peak);
  bin_count_[bin] += 1.0;
}

void LimitingModel::Builder::add(std::span<const float> held_peaks) noexcept {
  while (!held_peaks.empty()) {
    const std::size_t n = std::min(kGroupFrames - group_frames_, held_peaks.size());
    group_peak_ = std::max(group_peak_, dsp::max_abs(held_peaks.data(), n));
    group_frames_ += n;
    held_peaks = held_peaks.subspan(n);
    if (group_frames_ == kGroupFrames) {
      add_group(group_peak_);
      group_peak_ = 0.0F;
      group_frames_ = 0;
    }
  }
}

LimitingModel LimitingModel::Builder::finish() && {
  if (group_frames_ > 0) add_group(group_peak_);
  return {std::move(bin_energy_), std::move(bin_count_)};
}

LimitingModel::LimitingModel(std::span<const float> held_peaks)
    : LimitingModel([&] {
        Builder builder;
        builder.add(held_peaks);
        return std::move(builder).finish();
      }()) {}

LimitingModel::LimitingModel(std::vector<double> bin_energy, std::vector<double> bin_count)
    : energy_below_(kBins, 0.0),
      count_above_(kBins, 0.0),
      bin_energy_(std::move(bin_energy)),
      bin_count_(std::move(bin_count)) {
  double energy = 0.0;
  for (std::size_t b = 0; b < kBins; ++b) {
    energy_below_[b] = energy;
    energy += bin_energy_[b];
  }
  total_energy_ = energy;
  double count = 0.0;
  for (std::size_t b = kBins; b-- > 0;) {
    count_above_[b] = count;
    count += bin_count_[b];
  }
}

double LimitingModel::static_loss_db(double gain_db, double ceiling_dbtp) const {
  if (total_energy_ <= 0.0) return 0.0;
  // Peaks p after the gain are clipped to the ceiling: the energy left is the sum of min(p^2, c^2), with c
  // the ceiling expressed before the gain.
  const double ceiling = dsp::db_to_amplitude(ceiling_dbtp - gain_db);
  const double ceiling_energy = ceiling * ceiling;
  const std::size_t bin = bin_of(static_cast<float>(std::min(ceiling, 1e30)));
  const double kept = energy_below_[bin] + std::min(bin_energy_[bin], bin_count_[bin] * ceiling_energy) +
                      count_above_[bin] * ceiling_energy;
  return std::max(0.0, -10.0 * std::log10(kept / total_energy_));
}

std::optional<double> LimitingModel::gain_for_target(Pass last, std::optional<Pass> previous, double open_loop_db,
                                                     double ceiling_dbtp, double max_gain_db) const {
  const double measured_gain_db = last.gain_db;
  const double measured_loss_db = last.loss_db;
  const double measured_static_db = static_loss_db(measured_gain_db, ceiling_dbtp);
  if (measured_static_db <= 0.0 || measured_loss_db <= 0.0) return std::nullopt;
  double exponent = kLossExponent;
  const double previous_static_db = previous ? static_loss_db(previous->gain_db, ceiling_dbtp) : 0.0;
  if (previous && previous->loss_db > 0.0 && previous_static_db > 0.0) {
    const double static_ratio = measured_static_db / previous_static_db;
    if (std::abs(std::log(static_ratio)) > 1e-3) {
      exponent = std::clamp(std::log(measured_loss_db / previous->loss_db) / std::log(static_ratio), kMinLossExponent,
                            kMaxLossExponent);
    }
  }
  // shortfall(g) = open_loop - (g - loss(g)): positive while the output is still under the target.
  const auto shortfall = [&](double gain_db) {
    const double ratio = static_loss_db(gain_db, ceiling_dbtp) / measured_static_db;
    return open_loop_db - gain_db + measured_loss_db * std::pow(ratio, exponent);
  };
  // The first crossing: coarse steps up from the measured gain, then bisection inside the step.
  constexpr double kStepDb = 0.25;
  double low = measured_gain_db;
  double high = low;
  while (shortfall(high) > 0.0) {
    low = high;
    high += kStepDb;
    if (high > max_gain_db) return std::nullopt;
  }
  for (int i = 0; i < 30; ++i) {
    const double middle = 0.5 * (low + high);
    (shortfall(middle) > 0.0 ? low : high) = middle;
  }
  return high;
}

}  // namespace spectrum::mastering
