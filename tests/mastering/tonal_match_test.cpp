#include "mastering/tonal_match.h"

#include <cmath>
#include <random>

#include <gtest/gtest.h>

#include "mastering/eq_curves.h"

namespace spectrum::mastering {
namespace {

std::vector<double> tilt(const std::vector<double>& centres, double db_per_octave) {
  std::vector<double> out;
  for (double f : centres) out.push_back(db_per_octave * std::log2(f / 1000.0));
  return out;
}

TEST(TonalMatch, ZeroAmountIsNoCorrection) {
  const auto c = third_octave_centres_hz();
  for (double g : tonal_correction_db(c, tilt(c, -6.0), tilt(c, 0.0), 0.0)) EXPECT_EQ(g, 0.0);
}

TEST(TonalMatch, CorrectionIsCappedAtSixDb) {
  const auto c = third_octave_centres_hz();
  const auto corr = tonal_correction_db(c, tilt(c, -9.0), tilt(c, 0.0), 1.0);
  double max_abs = 0.0;
  for (double g : corr) max_abs = std::max(max_abs, std::abs(g));
  EXPECT_LE(max_abs, kMaxCorrectionDb + 1e-12);
  EXPECT_NEAR(max_abs, kMaxCorrectionDb, 1e-9);  // a 9 dB/oct tilt needs more than the cap at the ends
}

TEST(TonalMatch, HalvesTheDistanceOfASmoothMismatch) {
  const auto c = third_octave_centres_hz();
  std::vector<double> target(c.size());
  for (std::size_t b = 0; b < c.size(); ++b) target[b] = reference_tilt_db(c[b]);
  for (double tilt_db : {-1.5, 1.5}) {  // dark and bright inputs relative to the target
    std::vector<double> input = target;
    for (std::size_t b = 0; b < c.size(); ++b) input[b] += tilt_db * std::log2(c[b] / 1000.0);
    const auto corr = tonal_correction_db(c, input, target, 1.0);
    std::vector<double> output = input;
    for (std::size_t b = 0; b < c.size(); ++b) output[b] += corr[b];
    const double before = spectral_distance_db(c, input, target);
    const double after = spectral_distance_db(c, output, target);
    EXPECT_GT(before, 3.0);
    EXPECT_LE(after, 0.5 * before) << "tilt " << tilt_db;
  }
}

TEST(TonalMatch, AmountScalesLinearly) {
  const auto c = third_octave_centres_hz();
  const auto full = tonal_correction_db(c, tilt(c, -1.0), tilt(c, 0.0), 1.0);
  const auto half = tonal_correction_db(c, tilt(c, -1.0), tilt(c, 0.0), 0.5);
  for (std::size_t b = 0; b < c.size(); ++b) EXPECT_NEAR(half[b], 0.5 * full[b], 1e-12);
}

TEST(TonalMatch, SilentBandsAskForAtMostTheCap) {
  auto c = third_octave_centres_hz();
  std::vector<double> input(c.size(), -20.0);
  input[25] = -std::numeric_limits<double>::infinity();
  const auto corr = tonal_correction_db(c, input, std::vector<double>(c.size(), 0.0), 1.0);
  for (double g : corr) {
    EXPECT_TRUE(std::isfinite(g));
    EXPECT_LE(std::abs(g), kMaxCorrectionDb);
  }
}

TEST(TonalMatch, DistanceIgnoresOffset) {
  const auto c = third_octave_centres_hz();
  auto a = tilt(c, -2.0);
  auto b = a;
  for (double& v : b) v += 7.0;
  EXPECT_NEAR(spectral_distance_db(c, a, b), 0.0, 1e-12);
}

}  // namespace
}  // namespace spectrum::mastering
