// GainRider: the leveler's gain follows its track (interpolated in dB), identically for any block size.
#include "dsp/gain_rider.h"

#include <cmath>
#include <vector>

#include <gtest/gtest.h>

namespace spectrum::dsp {
namespace {

std::vector<float> ride(const std::vector<float>& gains_db, double frames_per_value, std::size_t frames,
                        std::size_t block) {
  std::vector<float> left(frames, 0.5F);
  std::vector<float> right(frames, -0.25F);
  GainRider rider;
  rider.prepare(ProcessSpec{48000.0, block, 2});
  rider.set_gain_track(ValueTrack(gains_db, frames_per_value, 0.0));
  rider.reset();
  float* channels[2] = {left.data(), right.data()};
  const AudioBlock all(channels, 2, frames);
  for (std::size_t pos = 0; pos < frames; pos += block)
    rider.process(all.sub_block(pos, std::min(block, frames - pos)));
  for (std::size_t n = 0; n < frames; ++n) EXPECT_FLOAT_EQ(right[n], -0.5F * left[n]) << "channels share one gain";
  return left;
}

TEST(GainRiderTest, FollowsTheTrackInDecibels) {
  const std::vector<float> gains = {0.0F, -6.0F, 6.0F};
  const std::vector<float> out = ride(gains, 4800.0, 14400, 512);
  const auto db_at = [&](std::size_t n) { return 20.0 * std::log10(static_cast<double>(out[n]) / 0.5); };
  EXPECT_NEAR(db_at(0), 0.0, 0.01);
  EXPECT_NEAR(db_at(2400), -3.0, 0.02);  // halfway between the first two values
  EXPECT_NEAR(db_at(4800), -6.0, 0.02);
  EXPECT_NEAR(db_at(7200), 0.0, 0.02);
  EXPECT_NEAR(db_at(14399), 6.0, 0.02);  // held past the last value
}

TEST(GainRiderTest, BlockSizeDoesNotChangeTheOutput) {
  const std::vector<float> gains = {-3.0F, 2.0F, -8.0F, 0.5F};
  EXPECT_EQ(ride(gains, 1000.0, 5000, 4096), ride(gains, 1000.0, 5000, 7));
}

TEST(GainRiderTest, AnEmptyTrackIsAnExactBypass) {
  const std::vector<float> out = ride({}, 1000.0, 100, 64);
  for (float v : out) EXPECT_EQ(v, 0.5F);
}

}  // namespace
}  // namespace spectrum::dsp
