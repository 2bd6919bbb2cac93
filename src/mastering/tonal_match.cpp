#include "mastering/tonal_match.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>

namespace spectrum::mastering {
namespace {

// Levels of bands with (almost) no energy are floored relative to the loudest band, so that an empty band
// asks for at most the capped boost instead of infinity.
constexpr double kFloorBelowMaxDb = 80.0;

std::vector<double> floored(std::span<const double> levels_db) {
  double max_db = -std::numeric_limits<double>::infinity();
  for (double v : levels_db)
    if (std::isfinite(v)) max_db = std::max(max_db, v);
  const double floor_db = std::isfinite(max_db) ? max_db - kFloorBelowMaxDb : -200.0;
  std::vector<double> out(levels_db.begin(), levels_db.end());
  for (double& v : out) v = std::isfinite(v) ? std::max(v, floor_db) : floor_db;
  return out;
}

// Difference target - levels over the match range with its mean removed; 0 outside the range.
std::vector<double> aligned_difference(std::span<const double> centres_hz, std::span<const double> levels_db,
                                       std::span<const double> target_db) {
  assert(centres_hz.size() == levels_db.size() && centres_hz.size() == target_db.size());
  const std::vector<double> levels = floored(levels_db);
  std::vector<double> diff(centres_hz.size(), 0.0);
  double sum = 0.0;
  int count = 0;
  for (std::size_t b = 0; b < centres_hz.size(); ++b) {
    if (!in_match_range(centres_hz[b])) continue;
    diff[b] = target_db[b] - levels[b];
    sum += diff[b];
    ++count;
  }
  if (count == 0) return diff;
  const double mean = sum / count;
  for (std::size_t b = 0; b < centres_hz.size(); ++b)
    if (in_match_range(centres_hz[b])) diff[b] -= mean;
  return diff;
}

// One pass of a [1/4, 1/2, 1/4] kernel over the in-range bands, with the edges replicated.
void smooth_once(std::vector<double>& v, std::size_t first, std::size_t last) {
  if (last <= first) return;
  std::vector<double> copy(v.begin() + static_cast<std::ptrdiff_t>(first),
                           v.begin() + static_cast<std::ptrdiff_t>(last) + 1);
  const std::size_t n = copy.size();
  for (std::size_t i = 0; i < n; ++i) {
    const double left = copy[i == 0 ? 0 : i - 1];
    const double right = copy[i + 1 == n ? n - 1 : i + 1];
    v[first + i] = 0.25 * left + 0.5 * copy[i] + 0.25 * right;
  }
}

}  // namespace

bool in_match_range(double centre_hz) {
  return centre_hz >= kMatchLowHz * 0.99 && centre_hz <= kMatchHighHz * 1.01;
}

std::vector<double> tonal_correction_db(std::span<const double> centres_hz, std::span<const double> input_levels_db,
                                        std::span<const double> target_db, double amount) {
  std::vector<double> correction(centres_hz.size(), 0.0);
  if (amount <= 0.0) return correction;
  std::vector<double> diff = aligned_difference(centres_hz, input_levels_db, target_db);

  std::size_t first = centres_hz.size();
  std::size_t last = 0;
  for (std::size_t b = 0; b < centres_hz.size(); ++b) {
    if (!in_match_range(centres_hz[b])) continue;
    first = std::min(first, b);
    last = std::max(last, b);
  }
  if (first > last) return correction;

  // Two passes of the 3-tap kernel: a 5-band (about 1.7 octave) binomial smoothing.
  smooth_once(diff, first, last);
  smooth_once(diff, first, last);
  for (std::size_t b = first; b <= last; ++b)
    correction[b] = amount * std::clamp(diff[b], -kMaxCorrectionDb, kMaxCorrectionDb);
  for (std::size_t b = 0; b < first; ++b) correction[b] = correction[first];
  for (std::size_t b = last + 1; b < correction.size(); ++b) correction[b] = correction[last];
  return correction;
}

double spectral_distance_db(std::span<const double> centres_hz, std::span<const double> levels_db,
                            std::span<const double> target_db) {
  const std::vector<double> diff = aligned_difference(centres_hz, levels_db, target_db);
  double sum_sq = 0.0;
  int count = 0;
  for (std::size_t b = 0; b < centres_hz.size(); ++b) {
    if (!in_match_range(centres_hz[b])) continue;
    sum_sq += diff[b] * diff[b];
    ++count;
  }
  return count == 0 ? 0.0 : std::sqrt(sum_sq / count);
}

}  // namespace spectrum::mastering
