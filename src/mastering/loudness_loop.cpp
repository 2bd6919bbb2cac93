#include "mastering/loudness_loop.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <tuple>
#include <utility>

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

MeasuredPass at_ceiling(MeasuredPass pass, double from_dbtp, double to_dbtp) {
  const double lower_by_db = from_dbtp - to_dbtp;
  return {pass.gain_db - lower_by_db, pass.loudness_lufs - lower_by_db};
}

namespace {

// The bracket around the solution and the search's step inside it.
class Search {
 public:
  Search(const LoopInput& in, double open_loop_db)
      : in_(in), open_loop_db_(open_loop_db), lo_(open_loop_db), hi_(open_loop_db + kMaxLimitingDb) {}

  // Takes in a measured pass.
  void add(MeasuredPass pass) {
    if (pass.loudness_lufs < in_.target_lufs) {
      if (std::isfinite(l_lo_) && pass.gain_db <= lo_) return;  // a higher gain short of the target says more
      g_prev_lo_ = lo_;
      l_prev_lo_ = l_lo_;
      lo_ = pass.gain_db;
      l_lo_ = pass.loudness_lufs;
    } else if (pass.gain_db < hi_) {
      hi_ = pass.gain_db;
      l_hi_ = pass.loudness_lufs;
    }
  }

  // Even the most limiting allowed falls short.
  [[nodiscard]] bool capped() const { return lo_ >= open_loop_db_ + kMaxLimitingDb - kCapSlackDb; }

  // The next gain to measure, and whether the limiting model placed it.
  [[nodiscard]] std::pair<double, bool> next() const {
    const double target_lufs = in_.target_lufs;
    // Below the target so far, the model turns the losses measured into a prediction of the gain that lands.
    const auto loss_at = [&](double gain_db, double loudness_lufs) {
      return LimitingModel::Pass{gain_db, gain_db - (loudness_lufs - in_.pre_limiter_lufs)};
    };
    if (in_.model != nullptr && !std::isfinite(l_hi_) && std::isfinite(l_lo_)) {
      const auto predicted = in_.model->gain_for_target(
          loss_at(lo_, l_lo_),
          std::isfinite(l_prev_lo_) ? std::optional(loss_at(g_prev_lo_, l_prev_lo_)) : std::nullopt, open_loop_db_,
          in_.ceiling_dbtp, hi_);
      if (predicted) return {*predicted, true};
    }
    if (std::isfinite(l_hi_) && std::isfinite(l_lo_)) {
      // Secant inside the bracket, kept off its ends.
      const double next = lo_ + (hi_ - lo_) * (target_lufs - l_lo_) / (l_hi_ - l_lo_);
      return {std::clamp(next, lo_ + kMinBracketShrink * (hi_ - lo_), hi_ - kMinBracketShrink * (hi_ - lo_)), false};
    }
    if (std::isfinite(l_hi_)) return {0.5 * (lo_ + hi_), false};  // only over the target so far: bisect
    // Below the target so far: step by the observed slope.
    const double slope = std::isfinite(l_prev_lo_) && lo_ != g_prev_lo_
                             ? std::clamp((l_lo_ - l_prev_lo_) / (lo_ - g_prev_lo_), kMinSlope, kMaxSlope)
                             : kFirstSlope;
    return {std::min(lo_ + kOverRelaxation * (target_lufs - l_lo_) / slope, hi_), false};
  }

 private:
  const LoopInput& in_;
  double open_loop_db_;
  double lo_;
  double hi_;
  double l_lo_ = -kInf;  // -inf: lo_ is the open-loop bound, not a measured pass
  double l_hi_ = kInf;
  double g_prev_lo_ = 0.0;
  double l_prev_lo_ = -kInf;
};

}  // namespace

Expected<LoopResult> solve_gain(const LoopInput& in, LoudnessProbe& probe) {
  const double target_lufs = in.target_lufs;
  const auto miss = [&](double loudness_lufs) { return std::abs(target_lufs - loudness_lufs); };
  LoopResult r;
  const double open_loop_db = target_lufs - in.pre_limiter_lufs;
  r.gain_db = open_loop_db;
  r.next_gain_db = open_loop_db;
  r.loudness_lufs = target_lufs;
  // With the true peak under the ceiling after gain, the limiter never acts: the gain is exact.
  if (in.pre_limiter_tp_dbtp + r.gain_db <= in.ceiling_dbtp) return r;

  Search search(in, open_loop_db);
  bool have_best = false;
  const auto take = [&](MeasuredPass pass) {
    if (!have_best || miss(pass.loudness_lufs) < miss(r.loudness_lufs)) {
      r.gain_db = pass.gain_db;
      r.loudness_lufs = pass.loudness_lufs;
      have_best = true;
    }
    search.add(pass);
  };
  for (const MeasuredPass& pass : in.measured) take(pass);

  double g = open_loop_db;
  bool aimed = false;  // the model placed this pass
  double last_error = kInf;
  if (have_best) {
    if (miss(r.loudness_lufs) <= kLoopAimLu) {
      r.next_gain_db = r.gain_db;
      return r;
    }
    last_error = target_lufs - r.loudness_lufs;
    std::tie(g, aimed) = search.next();
  }
  bool capped = false;
  for (int pass = 0; pass < in.max_passes; ++pass) {
    auto measured = probe.loudness_at(g, {.aimed = aimed, .previous_miss_lu = std::abs(last_error)});
    if (!measured) return std::move(measured).error();
    ++r.passes;
    const MeasuredPass done{g, *measured};
    r.history.push_back(done);
    take(done);
    last_error = target_lufs - done.loudness_lufs;
    if (miss(done.loudness_lufs) <= kLoopAimLu) {
      r.next_gain_db = r.gain_db;
      return r;
    }
    if (search.capped()) {
      capped = true;
      break;
    }
    std::tie(g, aimed) = search.next();
  }
  r.next_gain_db = capped ? r.gain_db : g;
  if (miss(r.loudness_lufs) <= kReachedToleranceLu) {
    r.outcome = LoopOutcome::kReached;
  } else {
    r.outcome = capped ? LoopOutcome::kLimitingCap : LoopOutcome::kPassBudget;
  }
  return r;
}

}  // namespace spectrum::mastering
