// The closed loudness loop on synthetic laws of loudness against gain: each fake probe stands for a track
// whose output loudness after `g` dB ahead of the limiter follows a closed form.
#include "mastering/loudness_loop.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <optional>
#include <random>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "mastering/limiting_model.h"

namespace spectrum::mastering {
namespace {

constexpr double kPreLufs = -24.0;      // the pre-limiter signal's loudness
constexpr double kCeilingDbtp = -1.3;   // the limiter's
constexpr double kPreTruePeak = -12.0;  // its true peak: limiting starts at 10.7 dB of gain

// A probe following `law`, recording every call.
class LawProbe final : public LoudnessProbe {
 public:
  explicit LawProbe(std::function<double(double)> law) : law_(std::move(law)) {}
  Expected<double> loudness_at(double gain_db, const PassOutlook& outlook) override {
    gains.push_back(gain_db);
    finals.push_back(outlook.likely_final());
    misses.push_back(outlook.previous_miss_lu);
    const double l = law_(gain_db);
    loudness.push_back(l);
    return l;
  }
  std::vector<double> gains;
  std::vector<double> loudness;
  std::vector<bool> finals;
  std::vector<double> misses;

 private:
  std::function<double(double)> law_;
};

LoopInput input(double target_lufs) {
  return {.pre_limiter_lufs = kPreLufs,
          .pre_limiter_tp_dbtp = kPreTruePeak,
          .target_lufs = target_lufs,
          .ceiling_dbtp = kCeilingDbtp,
          .measured = {},
          .model = nullptr};
}

// Soft-knee limiting: no loss up to the knee, then a loss that grows quadratically and then linearly (a smooth
// ramp towards a slope of 0.8: each added dB keeps 0.2 dB), as a release-limited limiter's does.
double soft_knee_loudness(double gain_db) {
  constexpr double kKneeDb = 10.7;  // kCeilingDbtp - kPreTruePeak
  constexpr double kWidthDb = 4.0;
  const double over = std::max(0.0, gain_db - kKneeDb);
  const double loss = over < kWidthDb ? 0.8 * over * over / (2.0 * kWidthDb) : 0.8 * (over - kWidthDb / 2.0);
  return kPreLufs + gain_db - loss;
}

// Checks the loop's invariants over a probe's record: every pass stays between the open-loop gain and the
// cap, and no pass leaves the bracket the earlier ones set (over the largest gain found short of the target,
// under the smallest found over it).
void expect_bracket_kept(const LawProbe& probe, double target_lufs) {
  const double open_loop_db = target_lufs - kPreLufs;
  double lo = open_loop_db;
  double hi = open_loop_db + kMaxLimitingDb;
  for (std::size_t i = 0; i < probe.gains.size(); ++i) {
    EXPECT_GE(probe.gains[i], lo) << "pass " << i;
    EXPECT_LE(probe.gains[i], hi) << "pass " << i;
    if (probe.loudness[i] < target_lufs)
      lo = std::max(lo, probe.gains[i]);
    else
      hi = std::min(hi, probe.gains[i]);
  }
}

// (a) Without limiting the open-loop gain is exact. Under the ceiling no pass is needed at all; over it, a
// law with no loss (a limiter that never acts after all) lands at the first pass.
TEST(LoudnessLoopTest, LinearLawLandsAtOnce) {
  LawProbe probe([](double g) { return kPreLufs + g; });
  auto quiet = solve_gain(input(-16.0), probe);  // 8 dB of gain: peaks at -4 dBTP
  ASSERT_TRUE(quiet.ok());
  EXPECT_EQ(quiet->passes, 0);
  EXPECT_EQ(quiet->gain_db, 8.0);
  EXPECT_TRUE(quiet->reached());

  auto loud = solve_gain(input(-10.0), probe);  // 14 dB of gain: over the ceiling
  ASSERT_TRUE(loud.ok());
  EXPECT_EQ(loud->passes, 1);
  EXPECT_EQ(loud->outcome, LoopOutcome::kReached);
  EXPECT_NEAR(loud->loudness_lufs, -10.0, kLoopAimLu);
  EXPECT_DOUBLE_EQ(loud->gain_db, 14.0);
}

// (b) Soft-knee limiting: reached within the pass budget and the loop's aim, the bracket never violated, the
// loudness measured rising with the gain while the loop climbs from under the target.
TEST(LoudnessLoopTest, SoftKneeLawReachesTheTarget) {
  for (const double target : {-12.5, -12.0, -11.0, -10.0}) {
    LawProbe probe(soft_knee_loudness);
    auto r = solve_gain(input(target), probe);
    ASSERT_TRUE(r.ok()) << target;
    EXPECT_EQ(r->outcome, LoopOutcome::kReached) << target;
    EXPECT_LE(r->passes, kMaxLoopPasses) << target;
    EXPECT_GE(r->passes, 2) << target;  // the open-loop gain falls short under limiting
    EXPECT_NEAR(r->loudness_lufs, target, kLoopAimLu) << target;
    EXPECT_DOUBLE_EQ(soft_knee_loudness(r->gain_db), r->loudness_lufs) << target;
    expect_bracket_kept(probe, target);
    // The loudness of the passes taken under the target rises pass by pass.
    double last_under = -1e9;
    for (std::size_t i = 0; i < probe.gains.size(); ++i) {
      if (probe.loudness[i] >= target) continue;
      EXPECT_GT(probe.loudness[i], last_under) << target << " pass " << i;
      last_under = probe.loudness[i];
    }
  }
}

// A law that flattens fast (each dB beyond the knee keeps a twentieth) still lands: the bracket is closed by
// the overshoot and the secant.
TEST(LoudnessLoopTest, SteepLimitingLawReachesTheTarget) {
  const auto law = [](double g) {
    const double over = std::max(0.0, g - 10.7);
    return kPreLufs + std::min(g, 10.7) + 0.05 * over + 0.5 * (1.0 - std::exp(-over));
  };
  const double target = -12.5;  // needs about 15 dB of gain over the knee
  LawProbe probe(law);
  auto r = solve_gain(input(target), probe);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->outcome, LoopOutcome::kReached);
  EXPECT_NEAR(r->loudness_lufs, target, kReachedToleranceLu);
  expect_bracket_kept(probe, target);
}

// (c) A law that saturates under the target: the loop reports the limiting cap, not reached, and never asks
// for more than the open-loop gain plus kMaxLimitingDb.
TEST(LoudnessLoopTest, SaturatingLawHitsTheLimitingCap) {
  const double target = -10.0;
  const double open_loop_db = target - kPreLufs;
  LawProbe probe([](double g) { return std::min(kPreLufs + g, -13.0); });
  auto r = solve_gain(input(target), probe);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->outcome, LoopOutcome::kLimitingCap);
  EXPECT_FALSE(r->reached());
  EXPECT_LE(r->passes, kMaxLoopPasses);
  EXPECT_DOUBLE_EQ(r->loudness_lufs, -13.0);
  for (const double g : probe.gains) EXPECT_LE(g, open_loop_db + kMaxLimitingDb + 1e-9);
  EXPECT_NEAR(probe.gains.back(), open_loop_db + kMaxLimitingDb, 1e-9);  // it tried the most allowed
}

// A law that never settles within the aim (the loudness jumps over the target at one gain) spends the pass
// budget: reported as such, with the closest pass kept.
TEST(LoudnessLoopTest, DiscontinuousLawSpendsThePassBudget) {
  const double target = -10.0;
  LawProbe probe([](double g) { return g < 16.0 ? kPreLufs + 0.9 * g - 0.5 : -9.5; });
  auto r = solve_gain(input(target), probe);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->outcome, LoopOutcome::kPassBudget);
  EXPECT_FALSE(r->reached());
  EXPECT_EQ(r->passes, kMaxLoopPasses);
  for (const double l : probe.loudness) EXPECT_GE(std::abs(l - target), std::abs(r->loudness_lufs - target));
  expect_bracket_kept(probe, target);
}

// (d) A probe's error ends the loop and is returned as it is.
TEST(LoudnessLoopTest, ProbeErrorIsPropagated) {
  class FailingProbe final : public LoudnessProbe {
   public:
    Expected<double> loudness_at(double gain_db, const PassOutlook& /*outlook*/) override {
      ++calls;
      if (calls < 2) return soft_knee_loudness(gain_db);
      return make_error(ErrorCode::kCancelled, "the job was cancelled");
    }
    int calls = 0;
  } probe;
  auto r = solve_gain(input(-10.0), probe);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kCancelled);
  EXPECT_EQ(r.error().message, "the job was cancelled");
  EXPECT_EQ(probe.calls, 2);
}

// (e) Passes already measured are where the search starts: no pass is repeated, and one within the aim
// needs no pass at all.
TEST(LoudnessLoopTest, MeasuredPassesStartTheSearch) {
  const double target = -10.0;
  LawProbe fresh(soft_knee_loudness);
  auto plain = solve_gain(input(target), fresh);
  ASSERT_TRUE(plain.ok());
  ASSERT_GE(plain->passes, 2);
  ASSERT_EQ(plain->history.size(), static_cast<std::size_t>(plain->passes));

  // Handing the first pass over saves exactly that pass, and the loop goes on as it did.
  LoopInput in = input(target);
  const std::vector<MeasuredPass> first(plain->history.begin(), plain->history.begin() + 1);
  in.measured = first;
  LawProbe resumed(soft_knee_loudness);
  auto r = solve_gain(in, resumed);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->passes, plain->passes - 1);
  ASSERT_FALSE(resumed.gains.empty());
  EXPECT_DOUBLE_EQ(resumed.gains.front(), fresh.gains[1]);
  EXPECT_DOUBLE_EQ(r->gain_db, plain->gain_db);

  // The solution itself needs no pass.
  in.measured = plain->history;
  LawProbe none(soft_knee_loudness);
  auto done = solve_gain(in, none);
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(done->passes, 0);
  EXPECT_DOUBLE_EQ(done->gain_db, plain->gain_db);
  EXPECT_DOUBLE_EQ(done->next_gain_db, plain->gain_db);
}

// A pass budget gives an estimate: the gain the loop would have measured next.
TEST(LoudnessLoopTest, PassBudgetGivesTheNextGain) {
  const double target = -10.0;
  LawProbe fresh(soft_knee_loudness);
  ASSERT_TRUE(solve_gain(input(target), fresh).ok());
  ASSERT_GE(fresh.gains.size(), 2U);
  LoopInput in = input(target);
  in.max_passes = 1;
  LawProbe one(soft_knee_loudness);
  auto r = solve_gain(in, one);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->passes, 1);
  EXPECT_EQ(r->outcome, LoopOutcome::kPassBudget);
  EXPECT_DOUBLE_EQ(r->next_gain_db, fresh.gains[1]);
  EXPECT_DOUBLE_EQ(r->gain_db, fresh.gains[0]);
}

// at_ceiling holds for a scale-invariant limiter: a law whose loss depends on the gain over the ceiling only.
TEST(LoudnessLoopTest, PassesCarryOverToALowerCeiling) {
  const auto law_at = [](double ceiling_dbtp) {
    return [ceiling_dbtp](double g) {
      return soft_knee_loudness(g + (kCeilingDbtp - ceiling_dbtp)) - (kCeilingDbtp - ceiling_dbtp);
    };
  };
  const double lower = kCeilingDbtp - 0.7;
  for (const double g : {12.0, 15.5, 20.0}) {
    const MeasuredPass mapped = at_ceiling({g, soft_knee_loudness(g)}, kCeilingDbtp, lower);
    EXPECT_NEAR(mapped.loudness_lufs, law_at(lower)(mapped.gain_db), 1e-12) << g;
    EXPECT_DOUBLE_EQ(mapped.gain_db, g - 0.7);
  }
  // A solution for the higher ceiling, carried over, saves the lower ceiling's search passes.
  const double target = -10.0;
  LawProbe high(law_at(kCeilingDbtp));
  auto first = solve_gain(input(target), high);
  ASSERT_TRUE(first.ok());
  LoopInput in = input(target);
  in.ceiling_dbtp = lower;
  LawProbe cold(law_at(lower));
  auto from_scratch = solve_gain(in, cold);
  std::vector<MeasuredPass> carried;
  for (const MeasuredPass& p : first->history) carried.push_back(at_ceiling(p, kCeilingDbtp, lower));
  in.measured = carried;
  LawProbe warm(law_at(lower));
  auto resumed = solve_gain(in, warm);
  ASSERT_TRUE(from_scratch.ok() && resumed.ok());
  EXPECT_EQ(resumed->outcome, LoopOutcome::kReached);
  EXPECT_NEAR(resumed->loudness_lufs, target, kLoopAimLu);
  EXPECT_LT(resumed->passes, from_scratch->passes);
}

// A pass is flagged likely final once its predecessor missed by less than kLikelyFinalLu; the first is not.
TEST(LoudnessLoopTest, LikelyFinalFollowsThePreviousMiss) {
  const double target = -11.0;
  LawProbe probe(soft_knee_loudness);
  ASSERT_TRUE(solve_gain(input(target), probe).ok());
  ASSERT_GE(probe.gains.size(), 2U);
  EXPECT_FALSE(probe.finals.front());
  EXPECT_EQ(probe.misses.front(), std::numeric_limits<double>::infinity());
  for (std::size_t i = 1; i < probe.gains.size(); ++i) {
    EXPECT_DOUBLE_EQ(probe.misses[i], std::abs(target - probe.loudness[i - 1])) << i;
    if (std::abs(target - probe.loudness[i - 1]) < kLikelyFinalLu) {
      EXPECT_TRUE(probe.finals[i]) << i;
    }
  }
}

// (f) With a limiting model built from the side chain, on a law that follows the model (a static limiter
// over that side chain, with the loss scaled as the real limiter's is), the loop takes no more passes than
// without it, and lands as well.
TEST(LoudnessLoopTest, LimitingModelSavesPasses) {
  std::mt19937 rng(5);
  std::lognormal_distribution<float> level(-3.0F, 0.6F);  // peaks around -26 dB before the gain
  std::vector<float> held(300000);
  for (auto& v : held) v = level(rng);
  const LimitingModel model(held);
  const double pre_tp = 20.0 * std::log10(static_cast<double>(*std::max_element(held.begin(), held.end())));
  const auto law = [&](double g) {
    return kPreLufs + g - 1.4 * std::pow(model.static_loss_db(g, kCeilingDbtp), LimitingModel::kLossExponent);
  };
  int total_with = 0;
  int total_without = 0;
  for (const double target : {-13.0, -11.0, -10.0}) {
    LoopInput in = input(target);
    in.pre_limiter_tp_dbtp = pre_tp;
    LawProbe without(law);
    auto plain = solve_gain(in, without);
    in.model = &model;
    LawProbe with(law);
    auto aimed = solve_gain(in, with);
    ASSERT_TRUE(plain.ok() && aimed.ok()) << target;
    EXPECT_EQ(aimed->outcome, LoopOutcome::kReached) << target;
    EXPECT_NEAR(aimed->loudness_lufs, target, kLoopAimLu) << target;
    EXPECT_LE(aimed->passes, plain->passes) << target;
    EXPECT_GE(aimed->passes, 2) << target;  // the first pass is at the open-loop gain either way
    expect_bracket_kept(with, target);
    total_with += aimed->passes;
    total_without += plain->passes;
  }
  EXPECT_LT(total_with, total_without);
}

TEST(LoudnessLoopTest, OutcomesHaveNames) {
  EXPECT_EQ(to_string(LoopOutcome::kReached), "reached");
  EXPECT_EQ(to_string(LoopOutcome::kLimitingCap), "limiting cap");
  EXPECT_EQ(to_string(LoopOutcome::kPassBudget), "pass budget");
}

}  // namespace
}  // namespace spectrum::mastering
