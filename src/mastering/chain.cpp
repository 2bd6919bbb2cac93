#include "mastering/chain.h"

#include <algorithm>
#include <cmath>

#include "dsp/units.h"
#include "mastering/tonal_match.h"

namespace spectrum::mastering {
namespace {

// How much an EQ curve changes the loudness of a spectrum (K-weighted band powers), in dB.
double eq_loudness_change_db(const std::vector<double>& centres, const std::vector<double>& levels_db,
                             const ChainDesign& design) {
  double before = 0.0;
  double after = 0.0;
  for (std::size_t b = 0; b < centres.size(); ++b) {
    if (!std::isfinite(levels_db[b])) continue;
    const double weighted = k_weighting_power(centres[b]) * std::pow(10.0, levels_db[b] / 10.0);
    before += weighted;
    after += weighted * std::pow(10.0, design.eq_gain_db(centres[b]) / 10.0);
  }
  return before > 0.0 && after > 0.0 ? 10.0 * std::log10(after / before) : 0.0;
}

// Removes the mean over the match range so a shape can be drawn against a spectrum.
std::vector<double> mean_aligned(const std::vector<double>& centres, std::vector<double> values,
                                 const std::vector<double>& to_levels_db) {
  double sum = 0.0;
  int n = 0;
  for (std::size_t b = 0; b < centres.size(); ++b) {
    if (!in_match_range(centres[b]) || !std::isfinite(to_levels_db[b])) continue;
    sum += to_levels_db[b] - values[b];
    ++n;
  }
  const double offset = n > 0 ? sum / n : 0.0;
  for (double& v : values) v += offset;
  return values;
}

}  // namespace

double ChainDesign::eq_gain_db(double frequency_hz) const {
  return profile_gain_db(profile, frequency_hz) + correction_curve.gain_db(frequency_hz);
}

ChainDesign design_chain(const Settings& settings, const TrackAnalysis& input, const TrackAnalysis* reference,
                         bool band_limit, const std::vector<double>* matched_levels_db) {
  ChainDesign d;
  d.profile = settings.eq_profile;
  d.band_centres_hz = input.band_centres_hz;
  const std::size_t bands = d.band_centres_hz.size();

  // The target shape: the reference's long-term spectrum, or the balanced tilt; the profile on top.
  std::vector<double> shape(bands);
  for (std::size_t b = 0; b < bands; ++b) {
    const double f = d.band_centres_hz[b];
    // Both band lists are the same third-octave series, cut at each track's Nyquist; above a lower-rate
    // reference's top band, its top band's level stands in.
    if (reference != nullptr && !reference->loud_band_levels_db.empty()) {
      shape[b] = reference->loud_band_levels_db[std::min(b, reference->loud_band_levels_db.size() - 1)];
    } else {
      shape[b] = reference_tilt_db(f);
    }
    d.profile_db.push_back(profile_gain_db(d.profile, f));
  }
  // Matching compares the input with the profile applied against the target with the profile applied, so the
  // correction removes the track's own imbalance and leaves the chosen profile audible.
  // The levels matched: the track's own, or an album's (same third-octave series; a shorter list's top band
  // stands in above it, as for a reference).
  std::vector<double> matched = input.loud_band_levels_db;
  if (matched_levels_db != nullptr && !matched_levels_db->empty()) {
    for (std::size_t b = 0; b < bands; ++b)
      matched[b] = (*matched_levels_db)[std::min(b, matched_levels_db->size() - 1)];
  }
  d.correction_db = tonal_correction_db(d.band_centres_hz, matched, shape, settings.tonal_match_percent / 100.0);
  d.correction_curve = BandCurve(d.band_centres_hz, d.correction_db);
  std::vector<double> target(bands);
  for (std::size_t b = 0; b < bands; ++b) target[b] = shape[b] + d.profile_db[b];
  d.target_db = mean_aligned(d.band_centres_hz, target, input.loud_band_levels_db);
  d.eq_enabled = d.profile != EqProfile::kNeutral || !d.correction_curve.is_flat();

  d.stereo_width_percent = settings.stereo_width_percent;
  constexpr double kMaxCutoffFraction = 0.45;
  if (band_limit && kLossyBandLimitHz < kMaxCutoffFraction * input.measurement.sample_rate_hz)
    d.lowpass_hz = kLossyBandLimitHz;

  d.compression_ratio = settings.compression_ratio;
  const double loud = input.loud_level_lufs;
  const double crest_db = input.measurement.true_peak_dbtp - loud;
  const double glue_db = std::clamp(kGluePerCrestDb * (crest_db - kDenseCrestDb), 0.0, kMaxGlueDb);
  // At the default ratio the strongest accents, about crest - kDetectorUnderPeakDb over the loud level, are
  // reduced by glue_db: threshold = accent level - glue / (1 - 1 / ratio).
  const double over_level_db =
      std::max(crest_db - kDetectorUnderPeakDb - glue_db / (1.0 - 1.0 / kDefaultCompressionRatio), 0.0);
  // A higher ratio asks for more than glue: the threshold comes closer to the music's level.
  const double heavier = (std::max(d.compression_ratio, 1.0 + 1e-6) - 1.0) / (kDefaultCompressionRatio - 1.0);
  d.compressor_threshold_db = loud + eq_loudness_change_db(d.band_centres_hz, input.loud_band_levels_db, d) +
                              over_level_db / std::sqrt(heavier);
  if (!std::isfinite(loud)) return d;
  // Leveling: each passage's distance from the loud sections shrinks by range_ratio, so the loud sections keep
  // their level (and their peaks) and quieter ones come up. loudnessRange asks for a range; the ratio adds its
  // gentle share.
  const double input_range = input.measurement.loudness_range_lu;
  const double to_requested = settings.loudness_range_lu && input_range > *settings.loudness_range_lu
                                  ? input_range / *settings.loudness_range_lu
                                  : 1.0;
  const double ratio = d.compression_ratio;
  const double range_ratio =
      to_requested * (1.0 + kMacroLevelingPerRatio * (std::min(ratio, kDefaultCompressionRatio) - 1.0) +
                      kHeavyLevelingPerRatio * std::max(ratio - kDefaultCompressionRatio, 0.0));
  for (double level : input.short_term_lufs) {
    const double followed = std::isfinite(level) ? std::max(level, loud - kMaxFollowDepthDb) : loud - kMaxFollowDepthDb;
    const double leveling_db = (1.0 / range_ratio - 1.0) * (followed - loud);
    if (range_ratio > 1.0) d.leveling_gains_db.push_back(static_cast<float>(leveling_db));
    d.threshold_offsets_db.push_back(static_cast<float>(kMacroFollow * (followed + leveling_db - loud)));
  }
  return d;
}

void PreLimiterChain::prepare(const ProcessSpec& spec, const ChainDesign& design) {
  highpass_.prepare(spec, kSubsonicCutoffHz);
  lowpass_enabled_ = design.lowpass_hz > 0.0;
  lowpass_.prepare(spec);
  if (lowpass_enabled_) {  // 4th-order Butterworth: two sections with the Butterworth Qs
    const double f = design.lowpass_hz / spec.sample_rate_hz;
    const dsp::BiquadCoefficients sections[] = {dsp::low_pass(f, 0.5411961), dsp::low_pass(f, 1.3065630)};
    lowpass_.set_sections(sections);
  }
  eq_enabled_ = design.eq_enabled;
  if (eq_enabled_) {
    eq_.prepare(spec, [&design](double f) { return design.eq_gain_db(f); });
    eq_enabled_ = !eq_.is_identity();
  }
  compressor_enabled_ = design.compression_ratio > 1.0 && std::isfinite(design.compressor_threshold_db);
  compressor_.prepare(spec);
  dsp::CompressorParameters params;
  params.ratio = design.compression_ratio;
  params.threshold_db = std::isfinite(design.compressor_threshold_db) ? design.compressor_threshold_db : 0.0;
  compressor_.set_parameters(params);
  // Both tracks are read on the signal after the EQ, which delays it by the EQ's latency.
  const double frames_per_value = spec.sample_rate_hz * kShortTermStepS;
  const double first_value_frame = kShortTermCentreS * spec.sample_rate_hz + latency_frames();
  threshold_track_ = design.threshold_offsets_db;
  compressor_.set_threshold_track(dsp::ValueTrack(threshold_track_, frames_per_value, first_value_frame));
  leveling_track_ = design.leveling_gains_db;
  leveler_.prepare(spec);
  leveler_.set_gain_track(dsp::ValueTrack(leveling_track_, frames_per_value, first_value_frame));
  leveler_.reset();
  width_enabled_ = spec.num_channels == 2 && design.stereo_width_percent != 100.0;
  width_.prepare(spec);
  width_.set_width_percent(design.stereo_width_percent);
}

void PreLimiterChain::reset() noexcept {
  highpass_.reset();
  lowpass_.reset();
  eq_.reset();
  leveler_.reset();
  compressor_.reset();
  width_.reset();
}

void PreLimiterChain::process(const AudioBlock& block) noexcept {
  highpass_.process(block);
  if (lowpass_enabled_) lowpass_.process(block);
  if (eq_enabled_) eq_.process(block);
  leveler_.process(block);  // a no-op without a track
  if (compressor_enabled_) compressor_.process(block);
  if (width_enabled_) width_.process(block);
}

int PreLimiterChain::latency_frames() const noexcept {
  return eq_enabled_ ? eq_.latency_frames() : 0;
}

GainReduction PreLimiterChain::compressor_gain_reduction() const noexcept {
  if (!compressor_enabled_) return {};
  return {compressor_.max_gain_reduction_db(), compressor_.mean_gain_reduction_db()};
}

void OutputStage::prepare(const ProcessSpec& spec, double ceiling_dbtp) {
  limiter_.prepare(spec);
  set_ceiling_dbtp(ceiling_dbtp);
}

void OutputStage::set_gain_db(double gain_db) noexcept {
  gain_ = static_cast<float>(dsp::db_to_amplitude(gain_db));
}

void OutputStage::set_ceiling_dbtp(double ceiling_dbtp) noexcept {
  dsp::LimiterParameters params = limiter_.parameters();
  params.ceiling_dbtp = ceiling_dbtp;
  limiter_.set_parameters(params);
}

void OutputStage::replay_side_chain(std::span<const float> held_peaks) noexcept {
  recorded_ = held_peaks;
}

void OutputStage::reset() noexcept {
  limiter_.reset();
  position_ = 0;
}

void OutputStage::process(const AudioBlock& block) noexcept {
  for (int c = 0; c < block.num_channels(); ++c) {
    float* x = block.channel(c);
    for (std::size_t i = 0; i < block.num_frames(); ++i) x[i] *= gain_;
  }
  if (recorded_.empty()) {
    limiter_.process(block);
    return;
  }
  // The recording covers exactly the frames a pass feeds (track plus flush); anything past it is silence.
  const std::size_t n = std::min(block.num_frames(), recorded_.size() - std::min(position_, recorded_.size()));
  static constexpr float kSilence[dsp::LimiterSideChain::kChunkFrames] = {};
  limiter_.process(block.sub_block(0, n), recorded_.data() + position_, gain_);
  for (std::size_t pos = n; pos < block.num_frames(); pos += std::size(kSilence)) {
    limiter_.process(block.sub_block(pos, std::min(std::size(kSilence), block.num_frames() - pos)), kSilence, gain_);
  }
  position_ += block.num_frames();
}

int OutputStage::latency_frames() const noexcept {
  return limiter_.latency_frames();
}

GainReduction OutputStage::limiter_gain_reduction() const noexcept {
  return {limiter_.max_gain_reduction_db(), limiter_.mean_gain_reduction_db()};
}

void RoundingStage::prepare(int bits, std::uint64_t dither_seed) noexcept {
  bits_ = bits;
  dither_seed_ = dither_seed;
  reset();
}

void TruePeakTap::prepare(const ProcessSpec& spec, int first_channel, int num_channels) {
  first_channel_ = std::clamp(first_channel, 0, spec.num_channels);
  num_channels_ = std::clamp(num_channels, 0, spec.num_channels - first_channel_);
  meter_.prepare(spec.sample_rate_hz, num_channels_);
}

void TruePeakTap::process(const AudioBlock& block) noexcept {
  const int count = std::min(num_channels_, block.num_channels() - first_channel_);
  meter_.process(block.channels() + first_channel_, count, block.num_frames());
}

}  // namespace spectrum::mastering
