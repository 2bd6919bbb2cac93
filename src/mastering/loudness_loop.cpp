#include "mastering/loudness_loop.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "mastering/limiting_model.h"

namespace spectrum::mastering {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
// Each secant step stays this share of the bracket off its ends, so the bracket shrinks at least as much.
constexpr double kMinBracketShrink = 0.1;
// Below the target, the slope of L(g) observed is trusted within these bounds (heavy limiting flattens L(g);
// it never rises faster than g).
constexpr double kMinSlope = 0.05;
constexpr double kMaxSlope = 1.0;
// Before there is a slope to observe, assume the limiter takes about 2 dB of every 5 added: typical of the
// first dB of limiting on music, and an overshoot only brackets the target sooner.
constexpr double kFirstSlope = 0.6;
// L(g) bends further down as limiting deepens, so a plain slope step falls short; aim a little beyond.
constexpr double kOverRelaxation = 1.15;
// Slack on the cap's comparison, against rounding in open-loop + kMaxLimitingDb.
constexpr double kCapSlackDb = 1e-9;

}  // namespace

std::string_view to_string(LoopOutcome outcome) {
  switch (outcome) {
    case LoopOutcome::kReached:
      return "reached";
    case LoopOutcome::kLimitingCap:
      return "limiting cap";
    case LoopOutcome::kPassBudget:
      return "pass budget";
  }
  return "unknown";
}

Expected<LoopResult> solve_gain(const LoopInput& in, LoudnessProbe& probe) {
  const double target_lufs = in.target_lufs;
  LoopResult r;
  const double open_loop_db = target_lufs - in.pre_limiter_lufs;
  r.gain_db = open_loop_db;
  r.loudness_lufs = target_lufs;
  // With the true peak under the ceiling after gain, the limiter never acts: the gain is exact.
  if (in.pre_limiter_tp_dbtp + r.gain_db <= in.ceiling_dbtp) return r;

  double lo = open_loop_db;
  double hi = open_loop_db + kMaxLimitingDb;
  double l_lo = -kInf;
  double l_hi = kInf;
  double g_prev_lo = lo;
  double l_prev_lo = -kInf;
  double g = std::clamp(in.known_low_db.value_or(open_loop_db), open_loop_db, hi);
  double last_error = kInf;
  bool aimed = false;   // the model placed this pass
  bool capped = false;  // even the most limiting allowed falls short
  for (int pass = 0; pass < kMaxLoopPasses; ++pass) {
    auto measured = probe.loudness_at(g, aimed || std::abs(last_error) < kLikelyFinalLu);
    if (!measured) return std::move(measured).error();
    ++r.passes;
    const double loudness = *measured;
    last_error = target_lufs - loudness;
    if (std::abs(target_lufs - loudness) < std::abs(target_lufs - r.loudness_lufs) || pass == 0) {
      r.gain_db = g;
      r.loudness_lufs = loudness;
    }
    if (std::abs(target_lufs - loudness) <= kLoopAimLu) return r;
    if (loudness < target_lufs) {
      g_prev_lo = lo;
      l_prev_lo = l_lo;
      lo = g;
      l_lo = loudness;
    } else {
      hi = g;
      l_hi = loudness;
    }
    if (lo >= open_loop_db + kMaxLimitingDb - kCapSlackDb) {
      capped = true;
      break;
    }
    double next = 0.0;
    // Below the target so far, the model turns the losses measured into a prediction of the gain that lands.
    const auto loss_at = [&](double gain_db, double loudness_lufs) {
      return LimitingModel::Pass{gain_db, gain_db - (loudness_lufs - in.pre_limiter_lufs)};
    };
    const auto predicted =
        in.model != nullptr && !std::isfinite(l_hi)
            ? in.model->gain_for_target(
                  loss_at(lo, l_lo),
                  std::isfinite(l_prev_lo) ? std::optional(loss_at(g_prev_lo, l_prev_lo)) : std::nullopt, open_loop_db,
                  in.ceiling_dbtp, hi)
            : std::nullopt;
    aimed = predicted.has_value();
    if (predicted) {
      next = *predicted;
    } else if (std::isfinite(l_hi)) {
      // Secant inside the bracket, kept off its ends.
      next = lo + (hi - lo) * (target_lufs - l_lo) / (l_hi - l_lo);
      next = std::clamp(next, lo + kMinBracketShrink * (hi - lo), hi - kMinBracketShrink * (hi - lo));
    } else {
      // Below the target so far: step by the observed slope.
      const double slope = std::isfinite(l_prev_lo) && lo != g_prev_lo
                               ? std::clamp((l_lo - l_prev_lo) / (lo - g_prev_lo), kMinSlope, kMaxSlope)
                               : kFirstSlope;
      next = std::min(lo + kOverRelaxation * (target_lufs - l_lo) / slope, hi);
    }
    g = next;
  }
  if (std::abs(target_lufs - r.loudness_lufs) <= kReachedToleranceLu) {
    r.outcome = LoopOutcome::kReached;
  } else {
    r.outcome = capped ? LoopOutcome::kLimitingCap : LoopOutcome::kPassBudget;
  }
  return r;
}

}  // namespace spectrum::mastering
