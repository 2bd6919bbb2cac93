#include "mastering/eq_curves.h"

#include <cmath>
#include <random>

#include <gtest/gtest.h>

namespace spectrum::mastering {
namespace {

TEST(EqCurves, ThirtyOneThirdOctaveCentres) {
  const auto c = third_octave_centres_hz();
  ASSERT_EQ(c.size(), 31u);
  EXPECT_NEAR(c.front(), 19.95, 0.01);
  EXPECT_NEAR(c[17], 1000.0, 1e-9);
  EXPECT_NEAR(c.back(), 19952.6, 0.1);
}

TEST(EqCurves, NeutralIsFlat) {
  for (double f : third_octave_centres_hz()) EXPECT_EQ(profile_gain_db(EqProfile::kNeutral, f), 0.0);
}

TEST(EqCurves, ProfilesAreGentleAndShaped) {
  for (auto p : {EqProfile::kBright, EqProfile::kWarm, EqProfile::kBassBoost})
    for (double f : third_octave_centres_hz()) EXPECT_LE(std::abs(profile_gain_db(p, f)), 5.5) << to_string(p) << f;
  // bright lifts the top; warm lifts the lows and lowers the top; bass-boost lifts the lows.
  EXPECT_GT(profile_gain_db(EqProfile::kBright, 12000.0), 2.5);
  EXPECT_GT(profile_gain_db(EqProfile::kWarm, 100.0), 1.5);
  EXPECT_LT(profile_gain_db(EqProfile::kWarm, 15000.0), -1.5);
  EXPECT_GT(profile_gain_db(EqProfile::kBassBoost, 40.0), 4.0);
  EXPECT_NEAR(profile_gain_db(EqProfile::kBassBoost, 5000.0), 0.0, 0.2);
}

TEST(EqCurves, BandCurveInterpolatesInLogFrequency) {
  const double centres[] = {100.0, 400.0};
  const double gains[] = {0.0, 6.0};
  BandCurve curve(centres, gains);
  EXPECT_DOUBLE_EQ(curve.gain_db(50.0), 0.0);
  EXPECT_DOUBLE_EQ(curve.gain_db(200.0), 3.0);  // one octave of two
  EXPECT_DOUBLE_EQ(curve.gain_db(1000.0), 6.0);
  EXPECT_FALSE(curve.is_flat());
}

TEST(EqCurves, KWeightingMatchesBs1770Shape) {
  // ~0 dB at 1 kHz relative gain region, about +4 dB at high frequencies, strongly cut at 10 Hz.
  const double at_1k = 10.0 * std::log10(k_weighting_power(1000.0));
  const double at_10k = 10.0 * std::log10(k_weighting_power(10000.0));
  const double at_10 = 10.0 * std::log10(k_weighting_power(10.0));
  EXPECT_NEAR(at_1k, 0.7, 0.5);
  EXPECT_NEAR(at_10k, 4.0, 0.3);
  EXPECT_LT(at_10, -20.0);
}

}  // namespace
}  // namespace spectrum::mastering
