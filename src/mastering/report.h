// What the engine measured and did. Serialised as the "report" of the CLI (--json) and of the API.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "mastering/settings.h"

namespace spectrum::mastering {

// BS.1770-4 / EBU R128 measurements of one file. Loudness values are -inf (JSON null) when undefined,
// e.g. for silence below the absolute gate.
struct Measurement {
  double integrated_lufs = 0.0;
  double loudness_range_lu = 0.0;
  double true_peak_dbtp = 0.0;
  double sample_peak_dbfs = 0.0;
  double duration_s = 0.0;
  int sample_rate_hz = 0;
  int channels = 0;
  std::string format;  // codec/container name, e.g. "wav (pcm_s24le)", "mp3"
};

// Compact, downsampled series for plots (the web page draws these; any client may).
struct PlotSeries {
  double short_term_hop_s = 0.0;        // spacing of short_term_lufs points
  std::vector<double> short_term_lufs;  // 3 s short-term loudness over time (at most ~600 points)
  std::vector<double> band_centres_hz;  // third-octave centres
  std::vector<double> band_levels_db;   // long-term average level per band (loud sections)
};

struct GainReduction {
  double max_db = 0.0;   // largest reduction, as a positive number of dB
  double mean_db = 0.0;  // average over the file
};

struct BandGain {
  double frequency_hz = 0.0;
  double gain_db = 0.0;
};

// What a lossy output's trial encode of its most demanding sections measured (mastering/codec_trial.h).
struct CodecTrialReport {
  double peak_overshoot_db = 0.0;  // decoded true peak over the limiter's
  double loudness_shift_db = 0.0;  // decoded loudness minus the encoder's input
  double seconds = 0.0;            // audio encoded in the trial
};

struct MasterReport {
  Settings settings;                  // as applied, defaults filled in
  double target_loudness_lufs = 0.0;  // the effective target (explicit, from the reference, or default)
  Measurement input;
  Measurement output;
  std::optional<Measurement> reference;
  double gain_applied_db = 0.0;  // make-up gain ahead of the limiter
  GainReduction compressor;
  GainReduction limiter;
  double compressor_threshold_dbfs = 0.0;
  std::vector<BandGain> eq_profile_curve;  // the fixed profile curve, per band
  std::vector<BandGain> eq_correction;     // the adaptive tonal-matching correction, per band
  std::vector<BandGain> target_curve;      // the tonal-balance target the matching aimed at
  PlotSeries input_plot;
  PlotSeries output_plot;
  int loudness_passes = 0;                      // closed-loop iterations until the target was met
  int encode_passes = 0;                        // times the whole output was encoded (re-encodes correct lossy misses)
  std::optional<CodecTrialReport> codec_trial;  // lossy output kept in memory
  std::vector<std::string> warnings;            // e.g. "input is silent: level left unchanged"
};

struct AnalysisReport {
  Measurement measurement;
  PlotSeries plot;
  std::vector<std::string> warnings;  // what the decode lost or repaired
};

nlohmann::json to_json(const Measurement& m);
nlohmann::json to_json(const MasterReport& report);
nlohmann::json to_json(const AnalysisReport& report);

}  // namespace spectrum::mastering
