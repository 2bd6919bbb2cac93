// The closed loudness loop: find the gain ahead of the limiter that lands the output on the target.
// Loudness L(g) rises monotonically with the gain g, never faster than g itself (the limiter can only take
// level away), so the open-loop gain is a lower bound and the plain correction g + (T - L(g)) stays one.
// The loop keeps a bracket [lo, hi] around the solution, steps by secant inside it, and falls back to
// bisection, so it cannot run away even where heavy limiting flattens L(g).
//
// The loop only sees loudness through a LoudnessProbe, so it is tested on synthetic laws of L(g)
// (tests/mastering/loudness_loop_test.cpp); the engine's probe runs gain and limiter over the track.
#pragma once

#include <limits>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace spectrum::mastering {

class LimitingModel;

// The loop's own aim: it stops as soon as a pass lands this close to the target.
inline constexpr double kLoopAimLu = 0.05;
// What counts as reached: the loop's best pass within this of the target (and the engine warns when the
// delivered file is further off).
inline constexpr double kReachedToleranceLu = 0.1;
// A pass whose predecessor missed by less than this usually lands within the aim (worth writing the output).
inline constexpr double kLikelyFinalLu = 0.5;
// More than this much limiting would no longer be mastering: the gain never goes beyond the open-loop gain
// plus this, and the target is then reported as not reached (docs/decisions/003-ceiling-over-loudness.md).
inline constexpr double kMaxLimitingDb = 24.0;
inline constexpr int kMaxLoopPasses = 10;

// What the loop expects of a pass, so that a probe can decide what else to do with it (write the output when
// the pass will probably be the last, if writing is cheap enough to risk).
struct PassOutlook {
  bool aimed = false;  // the limiting model placed it
  // How far the pass before it missed the target; infinite for the first.
  double previous_miss_lu = std::numeric_limits<double>::infinity();
  [[nodiscard]] bool likely_final() const { return aimed || previous_miss_lu < kLikelyFinalLu; }
};

// One pass of gain and limiter over the track.
class LoudnessProbe {
 public:
  virtual ~LoudnessProbe() = default;
  // The loudness (LUFS) of the output after `gain_db` ahead of the limiter.
  virtual Expected<double> loudness_at(double gain_db, const PassOutlook& outlook) = 0;
};

// A pass of gain and limiter: the gain ahead of the limiter and the output's loudness.
struct MeasuredPass {
  double gain_db = 0.0;
  double loudness_lufs = 0.0;
};

// The limiter is scale-invariant (its gain depends only on the ratio of each peak to the ceiling), so a pass
// measured with the ceiling at `from_dbtp` tells exactly what a ceiling d = from - to dB lower gives: d dB less
// gain lands d dB lower. A new ceiling then costs no new pass to start from.
[[nodiscard]] MeasuredPass at_ceiling(MeasuredPass pass, double from_dbtp, double to_dbtp);

struct LoopInput {
  double pre_limiter_lufs = 0.0;     // the signal ahead of the gain and the limiter (normalisable loudness)
  double pre_limiter_tp_dbtp = 0.0;  // and its true peak
  double target_lufs = 0.0;
  double ceiling_dbtp = 0.0;  // the limiter's
  // Passes already measured at this ceiling and pre-limiter signal (for example a solution for another
  // ceiling, mapped by at_ceiling): the search starts from them instead of at the open-loop gain.
  std::span<const MeasuredPass> measured;
  const LimitingModel* model = nullptr;  // optional: aims the passes taken below the target
  int max_passes = kMaxLoopPasses;       // fewer: a first estimate (the result's next_gain_db)
};

enum class LoopOutcome {
  kReached,      // within kReachedToleranceLu of the target
  kLimitingCap,  // short of it even with kMaxLimitingDb of limiting
  kPassBudget,   // kMaxLoopPasses ran out first
};

[[nodiscard]] std::string_view to_string(LoopOutcome outcome);

struct LoopResult {
  double gain_db = 0.0;        // the best pass's gain (the open-loop gain when no pass was needed)
  double loudness_lufs = 0.0;  // and its loudness
  int passes = 0;              // probe calls
  LoopOutcome outcome = LoopOutcome::kReached;
  std::vector<MeasuredPass> history;  // the passes this call measured, in order
  // The loop's best estimate of the solution: the gain it would measure next when the passes ran out, else
  // gain_db.
  double next_gain_db = 0.0;
  [[nodiscard]] bool reached() const { return outcome == LoopOutcome::kReached; }
};

// The gain that lands the output on `in.target_lufs`. With the true peak under the ceiling after the
// open-loop gain the limiter never acts and no pass is made. The probe's errors are returned as they are.
Expected<LoopResult> solve_gain(const LoopInput& in, LoudnessProbe& probe);

}  // namespace spectrum::mastering
