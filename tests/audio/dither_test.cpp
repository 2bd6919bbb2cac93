#include "audio/dither.h"

#include <array>
#include <limits>

#include <gtest/gtest.h>

namespace spectrum::audio {
namespace {

TEST(TpdfDitherTest, TriangularOverPlusMinusOneLsb) {
  TpdfDither dither(123);
  constexpr int kDraws = 200000;
  double sum = 0.0;
  double sum_sq = 0.0;
  std::array<int, 4> quarter_bins{};  // |d| in [0, .25), [.25, .5), [.5, .75), [.75, 1)
  for (int i = 0; i < kDraws; ++i) {
    const double d = dither.next_lsb();
    ASSERT_GT(d, -1.0);
    ASSERT_LT(d, 1.0);
    sum += d;
    sum_sq += d * d;
    ++quarter_bins[static_cast<std::size_t>(std::abs(d) * 4.0)];
  }
  EXPECT_NEAR(sum / kDraws, 0.0, 0.005);
  EXPECT_NEAR(sum_sq / kDraws, 1.0 / 6.0, 0.005);  // variance of TPDF over +-1
  // Triangular density 1 - |d|: the four bins hold 7/16, 5/16, 3/16, 1/16 of the draws.
  const std::array<double, 4> expected = {7.0 / 16, 5.0 / 16, 3.0 / 16, 1.0 / 16};
  for (std::size_t b = 0; b < 4; ++b) EXPECT_NEAR(quarter_bins[b] / double{kDraws}, expected[b], 0.005) << "bin " << b;
}

TEST(TpdfDitherTest, SameSeedSameSequence) {
  TpdfDither a(7);
  TpdfDither b(7);
  TpdfDither c(8);
  int differ = 0;
  for (int i = 0; i < 1000; ++i) {
    const double x = a.next_lsb();
    EXPECT_EQ(x, b.next_lsb());
    if (x != c.next_lsb()) ++differ;
  }
  EXPECT_GT(differ, 990);
}

TEST(QuantizeTest, RoundsClipsAndZeroesNonFinite) {
  EXPECT_EQ(quantize_sample(0.0F, 16, 0.0), 0);
  EXPECT_EQ(quantize_sample(1.0F, 16, 0.0), 32767);
  EXPECT_EQ(quantize_sample(-1.0F, 16, 0.0), -32768);
  EXPECT_EQ(quantize_sample(2.0F, 24, 0.0), 8388607);
  EXPECT_EQ(quantize_sample(-2.0F, 24, 0.0), -8388608);
  EXPECT_EQ(quantize_sample(static_cast<float>(10.4 / 32768.0), 16, 0.0), 10);
  EXPECT_EQ(quantize_sample(static_cast<float>(10.6 / 32768.0), 16, 0.0), 11);
  EXPECT_EQ(quantize_sample(0.0F, 16, 0.9), 1);
  EXPECT_EQ(quantize_sample(0.0F, 16, -0.9), -1);
  EXPECT_EQ(quantize_sample(1.0F, 16, 0.9), 32767);  // dither cannot push past full scale
  EXPECT_EQ(quantize_sample(std::numeric_limits<float>::quiet_NaN(), 16, 0.5), 0);
  EXPECT_EQ(quantize_sample(std::numeric_limits<float>::infinity(), 24, 0.0), 0);
}

}  // namespace
}  // namespace spectrum::audio
