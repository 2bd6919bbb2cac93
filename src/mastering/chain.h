// The mastering chain, designed from a track's analysis and the settings:
//   subsonic high-pass -> tonal EQ (profile + adaptive correction) -> leveler (optional) -> compressor
//   -> stereo width                                                                                 (pre-limiter)
//   gain -> true-peak limiter                                                                       (output stage)
// The split lets the closed loudness loop re-run only the output stage.
#pragma once

#include <span>
#include <vector>

#include "audio/dither.h"
#include "dsp/biquad.h"
#include "dsp/compressor.h"
#include "dsp/gain_rider.h"
#include "dsp/limiter.h"
#include "dsp/linear_phase_eq.h"
#include "dsp/stereo_width.h"
#include "dsp/true_peak.h"
#include "mastering/analysis.h"
#include "mastering/eq_curves.h"
#include "mastering/frame_source.h"
#include "mastering/settings.h"

namespace spectrum::mastering {

inline constexpr double kSubsonicCutoffHz = 20.0;
// The compressor (docs/mastering-chain.md, "Dynamics"). Its threshold follows the music's own level: the
// short-term loudness (3 s, centred) with kMacroFollow of its swing around the loud sections, so verse and
// chorus keep most of their difference and the compressor works on what rises above the phrase: transients
// and accents. How far above that level it starts depends on the track's crest (true peak over the loud
// sections): a dense master (crest <= kDenseCrestDb) gets next to nothing, a raw dynamic mix gets glue, up
// to kMaxGlueDb of reduction on its strongest accents at the default ratio. Higher ratios bring the threshold
// closer to the music's level.
// Micro-compression alone can widen the loudness range (it takes more from punchy passages than from
// sustained ones), so the ratio also sets a macro leveling: the leveler narrows the range by a factor that
// grows by kMacroLevelingPerRatio per unit of ratio up to the default and kHeavyLevelingPerRatio beyond (1 at
// ratio 1, 1.15 at the default 4, 1.75 at 10), and the range falls with the ratio.
inline constexpr double kMacroLevelingPerRatio = 0.05;
inline constexpr double kHeavyLevelingPerRatio = 0.1;
// Short-term loudness values come every kShortTermStepS; value k covers [k step, k step + 3 s].
inline constexpr double kShortTermStepS = 0.1;
inline constexpr double kShortTermCentreS = 1.5;
inline constexpr double kMacroFollow = 0.85;
inline constexpr double kDenseCrestDb = 9.0;
inline constexpr double kGluePerCrestDb = 0.35;  // dB of glue per dB of crest over kDenseCrestDb
inline constexpr double kMaxGlueDb = 4.0;
// The detector (2 ms mean square) reads accents about this far under their sample peaks.
inline constexpr double kDetectorUnderPeakDb = 3.0;
// Quiet passages follow the level no further down than this under the loud sections (fades and silence
// would otherwise pull the threshold into the noise).
inline constexpr double kMaxFollowDepthDb = 20.0;
// Lossy encoders discard the top of the spectrum; content they remove after our limiter reappears as true-peak
// overshoot in the decoded file (measured: +2.0 dB for AAC 256k, +0.9 dB for MP3 320k on bright material).
// For lossy outputs the chain band-limits first, so the limiter sees what the listener will hear.
inline constexpr double kLossyBandLimitHz = 19000.0;

struct ChainDesign {
  EqProfile profile = EqProfile::kNeutral;
  std::vector<double> band_centres_hz;
  std::vector<double> profile_db;     // the fixed profile curve per band
  std::vector<double> correction_db;  // the adaptive correction per band
  std::vector<double> target_db;      // the tonal target per band (shape, mean-aligned to the input)
  BandCurve correction_curve;
  bool eq_enabled = false;  // false when profile and correction are both flat: the EQ is bypassed
  double compression_ratio = 1.0;
  double compressor_threshold_db = 0.0;  // at the loud sections' level
  // Control tracks, one value per short-term step (kShortTermStepS) from kShortTermCentreS on.
  std::vector<float> threshold_offsets_db;  // added to the compressor's threshold
  std::vector<float> leveling_gains_db;     // the leveler's gain; empty unless loudnessRange asks to level
  double stereo_width_percent = 100.0;
  double lowpass_hz = 0.0;  // 0: no band limit

  // The whole EQ curve (profile + correction) at any frequency.
  [[nodiscard]] double eq_gain_db(double frequency_hz) const;
};

// `reference` (optional) replaces the balanced tilt as the tonal target.
// `band_limit` asks for the lossy-output band limit (ignored where the sample rate leaves no room for it).
// `matched_levels_db` (optional) is what tonal matching compares with the target instead of the track's own
// spectrum: an album's combined spectrum, so every track of it gets the same correction.
ChainDesign design_chain(const Settings& settings, const TrackAnalysis& input, const TrackAnalysis* reference,
                         bool band_limit, const std::vector<double>* matched_levels_db = nullptr);

class PreLimiterChain final : public BlockProcessor {
 public:
  void prepare(const ProcessSpec& spec, const ChainDesign& design);
  void reset() noexcept override;
  void process(const AudioBlock& block) noexcept override;  // filters, then dynamics
  [[nodiscard]] int latency_frames() const noexcept override;
  [[nodiscard]] GainReduction compressor_gain_reduction() const noexcept;

 private:
  dsp::ButterworthHighPass highpass_;
  dsp::BiquadCascade lowpass_;
  dsp::LinearPhaseEq eq_;
  dsp::GainRider leveler_;
  dsp::Compressor compressor_;
  dsp::StereoWidth width_;
  std::vector<float> threshold_track_;  // the compressor reads it
  std::vector<float> leveling_track_;   // the leveler reads it
  bool eq_enabled_ = false;
  bool lowpass_enabled_ = false;
  bool compressor_enabled_ = false;
  bool width_enabled_ = false;
};

class OutputStage final : public BlockProcessor {
 public:
  void prepare(const ProcessSpec& spec, double ceiling_dbtp);
  // Replays a limiter side chain recorded over the signal before the gain (its frames, then latency_frames()
  // of flush) instead of detecting, so the loudness loop pays for true-peak detection once, not per pass.
  // The span must outlive the stage's use; empty: detect live.
  void replay_side_chain(std::span<const float> held_peaks) noexcept;
  void set_gain_db(double gain_db) noexcept;
  void set_ceiling_dbtp(double ceiling_dbtp) noexcept;
  // The limiter's gain-reduction statistics (on by default); a trial pass of the loudness loop needs none.
  void set_statistics_enabled(bool enabled) noexcept { limiter_.set_statistics_enabled(enabled); }
  void reset() noexcept override;
  void process(const AudioBlock& block) noexcept override;
  [[nodiscard]] int latency_frames() const noexcept override;
  [[nodiscard]] GainReduction limiter_gain_reduction() const noexcept;

 private:
  dsp::Limiter limiter_;
  float gain_ = 1.0F;
  std::span<const float> recorded_;
  std::size_t position_ = 0;  // frames processed since reset(), the index into recorded_
};

// Rounds to the samples a lossless file stores (audio::SampleRounder), as a stage of a pass's reading
// thread, so what is metered after it is exactly what a decoder will read back from the file.
class RoundingStage final : public BlockProcessor {
 public:
  // `bits`: audio::stored_bits() of the output (0: float, stored as it is).
  void prepare(int bits, std::uint64_t dither_seed) noexcept;
  void reset() noexcept override { rounder_ = audio::SampleRounder(bits_, dither_seed_); }  // same dither each pass
  void process(const AudioBlock& block) noexcept override { rounder_.process(block); }
  [[nodiscard]] int latency_frames() const noexcept override { return 0; }

 private:
  int bits_ = 0;
  std::uint64_t dither_seed_ = 1;
  audio::SampleRounder rounder_{0, 1};
};

// Meters the true peak of some of the channels of what passes through. The detector is the costliest meter,
// so a pass splits it between its two threads: one tap as a stage of the reading thread, another beside the
// loudness meter on the other.
class TruePeakTap final : public BlockProcessor {
 public:
  // Channels [first_channel, first_channel + num_channels) of blocks with spec.num_channels channels.
  void prepare(const ProcessSpec& spec, int first_channel, int num_channels);
  void reset() noexcept override { meter_.reset(); }
  void process(const AudioBlock& block) noexcept override;
  [[nodiscard]] int latency_frames() const noexcept override { return 0; }
  [[nodiscard]] float peak() const noexcept { return meter_.peak(); }  // linear, since reset()

 private:
  int first_channel_ = 0;
  int num_channels_ = 0;
  dsp::TruePeakMeter meter_;
};

}  // namespace spectrum::mastering
