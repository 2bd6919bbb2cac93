// One pass of measurement over a track: BS.1770-4 loudness, range, peaks and the long-term spectrum of its
// loudest sections. Used for the input, the reference track, the pre-limiter signal and the delivered file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/audio_block.h"
#include "dsp/band_spectrum.h"
#include "dsp/loudness_meter.h"
#include "mastering/report.h"

namespace spectrum::mastering {

struct TrackAnalysis {
  Measurement measurement;
  double whole_programme_lufs = 0.0;  // ungated; defined for clips shorter than one 400 ms block
  double loud_level_lufs = 0.0;       // energy mean of the loudest short-term values (the "loud sections")
  std::vector<double> band_centres_hz;
  std::vector<double> loud_band_levels_db;  // long-term third-octave spectrum of the loudest sections
  std::vector<double> short_term_lufs;      // 10 Hz short-term series
  std::int64_t frames = 0;

  // The level the loudness loop normalises: integrated loudness, or the ungated level of a clip shorter than
  // the 400 ms gate; -inf when the track is silent.
  [[nodiscard]] double normalisable_lufs() const;
  [[nodiscard]] PlotSeries plot() const;
};

class TrackAnalyzer {
 public:
  struct Options {
    bool true_peak = true;
    bool spectrum = true;
  };
  void prepare(double sample_rate_hz, int channels, double expected_duration_s, Options options);
  void process(const AudioBlock& block);  // may allocate: see LoudnessMeter
  // Completes the measurement; `format` labels it (e.g. "wav (pcm_s24le)").
  TrackAnalysis finish(std::string format);

 private:
  dsp::LoudnessMeter meter_;
  dsp::BandSpectrum spectrum_;
  Options options_;
  double sample_rate_hz_ = 0.0;
  int channels_ = 0;
};

// Fraction of the gated short-term values (the loudest ones) that count as the loud sections.
inline constexpr double kLoudSectionFraction = 0.3;

}  // namespace spectrum::mastering
