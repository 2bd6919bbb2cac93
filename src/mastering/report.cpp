#include "mastering/report.h"

#include <cmath>

#include <nlohmann/json.hpp>

namespace spectrum::mastering {
namespace {
using nlohmann::json;

// Undefined loudness (silence) is -inf internally and null in JSON.
json finite_or_null(double v) {
  return std::isfinite(v) ? json(v) : json(nullptr);
}

json to_json(const std::vector<BandGain>& bands) {
  json out = json::array();
  for (const auto& b : bands) out.push_back({{"frequencyHz", b.frequency_hz}, {"gainDb", b.gain_db}});
  return out;
}

json to_json(const PlotSeries& p) {
  json st = json::array();
  for (double v : p.short_term_lufs) st.push_back(finite_or_null(v));
  json levels = json::array();
  for (double v : p.band_levels_db) levels.push_back(finite_or_null(v));
  return {{"shortTermHopSeconds", p.short_term_hop_s},
          {"shortTermLufs", st},
          {"bandCentresHz", p.band_centres_hz},
          {"bandLevelsDb", levels}};
}

json to_json(const GainReduction& g) {
  return {{"maxDb", g.max_db}, {"meanDb", g.mean_db}};
}
}  // namespace

json to_json(const Measurement& m) {
  return {{"integratedLufs", finite_or_null(m.integrated_lufs)},
          {"loudnessRangeLu", finite_or_null(m.loudness_range_lu)},
          {"truePeakDbtp", finite_or_null(m.true_peak_dbtp)},
          {"samplePeakDbfs", finite_or_null(m.sample_peak_dbfs)},
          {"durationSeconds", m.duration_s},
          {"sampleRateHz", m.sample_rate_hz},
          {"channels", m.channels},
          {"format", m.format}};
}

json to_json(const MasterReport& r) {
  json j = {{"settings", to_json(r.settings)},
            {"targetLoudnessLufs", r.target_loudness_lufs},
            {"input", to_json(r.input)},
            {"output", to_json(r.output)},
            {"gainAppliedDb", r.gain_applied_db},
            {"compressor", to_json(r.compressor)},
            {"compressorThresholdDbfs", r.compressor_threshold_dbfs},
            {"limiter", to_json(r.limiter)},
            {"eqProfileCurve", to_json(r.eq_profile_curve)},
            {"eqCorrection", to_json(r.eq_correction)},
            {"targetCurve", to_json(r.target_curve)},
            {"plots", {{"input", to_json(r.input_plot)}, {"output", to_json(r.output_plot)}}},
            {"loudnessPasses", r.loudness_passes},
            {"encodePasses", r.encode_passes},
            {"warnings", r.warnings}};
  j["reference"] = r.reference ? to_json(*r.reference) : json(nullptr);
  if (r.codec_trial) {
    j["codecTrial"] = {{"peakOvershootDb", r.codec_trial->peak_overshoot_db},
                       {"loudnessShiftDb", r.codec_trial->loudness_shift_db},
                       {"seconds", r.codec_trial->seconds}};
  }
  return j;
}

json to_json(const AnalysisReport& r) {
  json j = to_json(r.measurement);
  j["plot"] = to_json(r.plot);
  j["warnings"] = r.warnings;
  return j;
}

}  // namespace spectrum::mastering
