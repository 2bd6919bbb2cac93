// A cheap model of how much loudness the limiter takes away at a given gain, so the loudness loop's second
// pass can aim where the target is instead of stepping by a fixed slope.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <vector>

namespace spectrum::mastering {

// Built from the limiter's recorded side chain (held true peaks, one per frame, before the gain).
//
// Static loss: the loudness a limiter without release or smoothing would remove: each peak over the ceiling
// is brought down to it, the peak's energy standing in for the programme's around it. The side chain is
// reduced to the maximum of every kGroupFrames frames (~1.5 ms at 44.1 kHz, well under a release), and the
// maxima are kept as a histogram by level: the top 16 bits of a float (exponent and 7 mantissa bits) order
// like its value, so they index bins 0.07 dB wide with no logarithm and no sort. Each bin keeps its count and
// its exact energy; only the bin that holds the ceiling is approximated (by the smaller of its energy and its
// count times the ceiling's energy, within 1.6 % of that bin's energy).
//
// The real loss is larger (release and smoothing hold the gain down around every peak) but grows with the
// gain in the same way, with an exponent: loss(g) = loss(g1) * (static(g) / static(g1))^q, anchored at the
// last pass measured. With one pass measured q is kLossExponent (fitted on the benchmark track and the ten
// music cases of the conformance suite); with two it is fitted to them. See docs/mastering-chain.md.
class LimitingModel {
 public:
  static constexpr std::size_t kGroupFrames = 64;
  static constexpr double kLossExponent = 0.85;
  static constexpr double kMinLossExponent = 0.5;  // bounds for a fitted exponent
  static constexpr double kMaxLossExponent = 2.0;

  // A measured pass: the gain ahead of the limiter and the loudness the limiter took away there.
  struct Pass {
    double gain_db;
    double loss_db;
  };

  // Collects the side chain as it is recorded, in pieces of any size (a streamed track's blocks).
  class Builder {
   public:
    Builder();
    void add(std::span<const float> held_peaks) noexcept;
    [[nodiscard]] LimitingModel finish() &&;

   private:
    void add_group(float peak) noexcept;
    std::vector<double> bin_energy_;
    std::vector<double> bin_count_;
    float group_peak_ = 0.0F;  // the group being filled
    std::size_t group_frames_ = 0;
  };

  explicit LimitingModel(std::span<const float> held_peaks);

  // dB of loudness a static limiter at `ceiling_dbtp` removes after `gain_db` of gain; >= 0.
  [[nodiscard]] double static_loss_db(double gain_db, double ceiling_dbtp) const;

  // The lowest gain above `last` at which gain - loss(gain) reaches `open_loop_db` (the gain that would land
  // on the target without a limiter), with the model anchored at `last` and its exponent fitted to `previous`
  // when given; nullopt when the model has nothing to say (no limiting at `last`) or finds no such gain
  // below `max_gain_db`.
  [[nodiscard]] std::optional<double> gain_for_target(Pass last, std::optional<Pass> previous, double open_loop_db,
                                                      double ceiling_dbtp, double max_gain_db) const;

 private:
  static constexpr std::size_t kBins = 1U << 15;  // non-negative floats' top 16 bits

  LimitingModel(std::vector<double> bin_energy, std::vector<double> bin_count);
  [[nodiscard]] static std::size_t bin_of(float peak) noexcept;

  std::vector<double> energy_below_;  // energy_below_[b]: energy of all bins under b
  std::vector<double> count_above_;   // count_above_[b]: peaks in all bins over b
  std::vector<double> bin_energy_;
  std::vector<double> bin_count_;
  double total_energy_ = 0.0;
};

}  // namespace spectrum::mastering
