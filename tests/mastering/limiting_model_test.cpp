// The loudness loop's limiting model: its static loss against closed forms, and its prediction against the
// equation it solves.
#include "mastering/limiting_model.h"

#include <cmath>
#include <random>
#include <span>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

namespace spectrum::mastering {
namespace {

double db(double x) {
  return 20.0 * std::log10(x);
}

constexpr double kCeilingDbtp = -1.0;

// A side chain whose peaks are log-normally spread, as music's are, over `frames` frames.
LimitingModel log_normal_model(unsigned seed, float spread, std::size_t frames) {
  std::mt19937 rng(seed);
  std::lognormal_distribution<float> level(-2.0F, spread);
  std::vector<float> held(frames);
  for (auto& v : held) v = level(rng);
  return LimitingModel(held);
}

// The lowest gain (0.01 dB steps) at which a static limiter takes at least `loss_db`.
double gain_with_static_loss(const LimitingModel& model, double loss_db) {
  double gain_db = -20.0;
  while (model.static_loss_db(gain_db, kCeilingDbtp) < loss_db) gain_db += 0.01;
  return gain_db;
}

// With every peak at the same level, a static limiter takes exactly the overshoot off each of them.
TEST(LimitingModelTest, ConstantPeaksLoseExactlyTheirOvershoot) {
  const std::vector<float> held(100000, 0.5F);
  const LimitingModel model(held);
  const double ceiling_dbtp = -1.0;
  const double onset_db = ceiling_dbtp - db(0.5);  // the gain at which the peaks touch the ceiling
  EXPECT_EQ(model.static_loss_db(onset_db - 3.0, ceiling_dbtp), 0.0);
  EXPECT_NEAR(model.static_loss_db(onset_db - 0.01, ceiling_dbtp), 0.0, 1e-12);
  for (const double over_db : {0.5, 1.0, 6.0, 20.0})
    EXPECT_NEAR(model.static_loss_db(onset_db + over_db, ceiling_dbtp), over_db, 1e-9) << over_db;
}

// Two levels: the loss follows the energy each level keeps (0.07 dB bins only blur the bin at the ceiling).
TEST(LimitingModelTest, MixedPeaksLoseTheEnergyOverTheCeiling) {
  std::vector<float> held(64 * 3000, 0.1F);
  for (std::size_t i = 0; i < 64 * 1000; ++i) held[i] = 0.8F;  // a third of the groups peak at 0.8
  const LimitingModel model(held);
  // Ceiling 0.4 (before the gain) at 0 dB of gain: 0.8 peaks are clipped to 0.4, 0.1 peaks are kept.
  const double kept = 1000.0 * 0.16 + 2000.0 * 0.01;
  const double total = 1000.0 * 0.64 + 2000.0 * 0.01;
  EXPECT_NEAR(model.static_loss_db(0.0, db(0.4)), -10.0 * std::log10(kept / total), 1e-6);
}

// A streamed track's side chain arrives in blocks of any size: the model is the one the whole span gives.
TEST(LimitingModelTest, BuiltFromPiecesEqualsBuiltWhole) {
  std::mt19937 rng(11);
  std::lognormal_distribution<float> level(-2.0F, 0.8F);
  std::vector<float> held(100003);  // not a whole number of groups
  for (auto& v : held) v = level(rng);
  const LimitingModel whole(held);
  LimitingModel::Builder builder;
  std::uniform_int_distribution<std::size_t> piece(1, 700);
  for (std::size_t i = 0; i < held.size();) {
    const std::size_t n = std::min(piece(rng), held.size() - i);
    builder.add(std::span(held).subspan(i, n));
    i += n;
  }
  const LimitingModel pieces = std::move(builder).finish();
  for (double gain_db = 0.0; gain_db < 24.0; gain_db += 0.37)
    EXPECT_DOUBLE_EQ(pieces.static_loss_db(gain_db, kCeilingDbtp), whole.static_loss_db(gain_db, kCeilingDbtp))
        << gain_db;
  EXPECT_GT(whole.static_loss_db(20.0, kCeilingDbtp), 1.0);  // the comparison covers real limiting
}

TEST(LimitingModelTest, LossNeverFallsAsTheGainRises) {
  const LimitingModel model = log_normal_model(4, 0.7F, 200000);
  double previous = 0.0;
  for (double gain_db = -10.0; gain_db <= 30.0; gain_db += 0.01) {
    const double loss = model.static_loss_db(gain_db, kCeilingDbtp);
    EXPECT_GE(loss, previous - 1e-12) << gain_db;
    previous = loss;
  }
  EXPECT_GT(previous, 10.0);
}

// The prediction solves gain - loss(gain) = open loop, with loss scaled from the one measured point.
TEST(LimitingModelTest, PredictionSolvesTheLoopEquation) {
  const LimitingModel model = log_normal_model(9, 0.6F, 300000);
  // A first pass where a static limiter would take 0.3 dB, as on moderately limited music.
  const double measured_gain_db = gain_with_static_loss(model, 0.3);
  const double measured_static_db = model.static_loss_db(measured_gain_db, kCeilingDbtp);
  for (const double factor : {1.5, 3.0}) {
    const double measured_loss_db = factor * measured_static_db;
    const double open_loop_db = measured_gain_db - measured_loss_db + 0.8;  // 0.8 dB short of the target
    const auto gain =
        model.gain_for_target({measured_gain_db, measured_loss_db}, std::nullopt, open_loop_db, kCeilingDbtp, 40.0);
    ASSERT_TRUE(gain.has_value()) << factor;
    EXPECT_GT(*gain, measured_gain_db + 0.8);  // limiting takes some of every added dB
    const double loss = measured_loss_db * std::pow(model.static_loss_db(*gain, kCeilingDbtp) / measured_static_db,
                                                    LimitingModel::kLossExponent);
    EXPECT_NEAR(*gain - loss, open_loop_db, 1e-6) << factor;
  }
}

// With two passes measured, the exponent is fitted to them: when the real loss follows the model's law with
// another exponent, the prediction lands exactly where that law says.
TEST(LimitingModelTest, TwoPassesFitTheExponent) {
  const LimitingModel model = log_normal_model(11, 0.5F, 300000);
  const double first_gain_db = gain_with_static_loss(model, 0.2);
  const double second_gain_db = first_gain_db + 1.5;
  for (const double exponent : {0.7, 1.3}) {
    const auto true_loss = [&](double gain_db) {
      return 1.2 * std::pow(model.static_loss_db(gain_db, kCeilingDbtp), exponent);
    };
    const double open_loop_db = second_gain_db - true_loss(second_gain_db) + 0.3;
    const auto gain = model.gain_for_target({second_gain_db, true_loss(second_gain_db)},
                                            LimitingModel::Pass{first_gain_db, true_loss(first_gain_db)}, open_loop_db,
                                            kCeilingDbtp, 40.0);
    ASSERT_TRUE(gain.has_value()) << exponent;
    EXPECT_NEAR(*gain - true_loss(*gain), open_loop_db, 1e-6) << exponent;
  }
}

TEST(LimitingModelTest, NoPredictionWithoutLimitingOrWithinReach) {
  const std::vector<float> held(100000, 0.1F);  // -20 dB peaks
  const LimitingModel model(held);
  // At 0 dB of gain under a -1 dBTP ceiling nothing is limited: the model has nothing to scale.
  EXPECT_FALSE(model.gain_for_target({0.0, 0.5}, std::nullopt, 1.0, -1.0, 24.0).has_value());
  // Limited, but the target needs more gain than allowed: every extra dB is lost entirely.
  EXPECT_FALSE(model.gain_for_target({25.0, 6.0}, std::nullopt, 30.0, -1.0, 30.0).has_value());
}

}  // namespace
}  // namespace spectrum::mastering
