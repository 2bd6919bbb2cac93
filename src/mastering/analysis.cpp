#include "mastering/analysis.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "dsp/units.h"
#include "mastering/eq_curves.h"

namespace spectrum::mastering {
namespace {

using dsp::energy_to_lufs;
using dsp::lufs_to_energy;
constexpr double kNegInf = dsp::kNegInfDb;
constexpr std::size_t kMaxPlotPoints = 600;

// Gated like LRA (absolute -70, relative -20 below the gated mean), then the top fraction by level.
std::vector<double> loudest_values(const std::vector<double>& values, double fraction) {
  std::vector<double> gated;
  for (double v : values)
    if (std::isfinite(v) && dsp::passes_absolute_gate(v)) gated.push_back(v);
  if (gated.empty()) return gated;
  double mean_e = 0.0;
  for (double v : gated) mean_e += lufs_to_energy(v);
  const double relative_gate = energy_to_lufs(mean_e / static_cast<double>(gated.size())) + dsp::kRangeRelativeGateLu;
  std::erase_if(gated, [&](double v) { return v < relative_gate; });
  std::sort(gated.begin(), gated.end());
  const auto keep =
      std::max<std::size_t>(1, static_cast<std::size_t>(std::ceil(fraction * static_cast<double>(gated.size()))));
  return {gated.end() - static_cast<std::ptrdiff_t>(std::min(keep, gated.size())), gated.end()};
}

double energy_mean_lufs(const std::vector<double>& values) {
  if (values.empty()) return kNegInf;
  double e = 0.0;
  for (double v : values) e += lufs_to_energy(v);
  return energy_to_lufs(e / static_cast<double>(values.size()));
}

// Loudness of one spectrum section from its band powers (K-weighted by band), for ranking sections.
double section_lufs(std::span<const double> band_power, const std::vector<double>& k_weights) {
  double e = 0.0;
  for (std::size_t b = 0; b < band_power.size(); ++b) e += band_power[b] * k_weights[b];
  return energy_to_lufs(e);
}

}  // namespace

double TrackAnalysis::normalisable_lufs() const {
  if (std::isfinite(measurement.integrated_lufs)) return measurement.integrated_lufs;
  constexpr double kGateBlockS = 0.4;
  if (measurement.duration_s < kGateBlockS && dsp::passes_absolute_gate(whole_programme_lufs))
    return whole_programme_lufs;
  return kNegInf;
}

PlotSeries TrackAnalysis::plot() const {
  PlotSeries p;
  const std::size_t n = short_term_lufs.size();
  const std::size_t step = std::max<std::size_t>(1, (n + kMaxPlotPoints - 1) / kMaxPlotPoints);
  p.short_term_hop_s = 0.1 * static_cast<double>(step);
  for (std::size_t i = 0; i < n; i += step) {
    // The loudest value of each stride keeps short peaks visible in the downsampled curve.
    double v = kNegInf;
    for (std::size_t j = i; j < std::min(n, i + step); ++j) v = std::max(v, short_term_lufs[j]);
    p.short_term_lufs.push_back(v);
  }
  p.band_centres_hz = band_centres_hz;
  p.band_levels_db = loud_band_levels_db;
  return p;
}

void TrackAnalyzer::prepare(double sample_rate_hz, int channels, double expected_duration_s, Options options) {
  options_ = options;
  sample_rate_hz_ = sample_rate_hz;
  channels_ = channels;
  dsp::LoudnessMeter::Options meter_options;
  meter_options.true_peak = options.true_peak;
  meter_options.expected_duration_s = expected_duration_s;
  meter_.prepare(sample_rate_hz, channels, meter_options);
  if (options.spectrum) spectrum_.prepare(sample_rate_hz, channels, 0.5, expected_duration_s);
}

void TrackAnalyzer::process(const AudioBlock& block) {
  meter_.process(block);
  if (options_.spectrum) spectrum_.process(block);
}

TrackAnalysis TrackAnalyzer::finish(std::string format) {
  TrackAnalysis a;
  a.frames = meter_.frames();
  Measurement& m = a.measurement;
  m.integrated_lufs = meter_.integrated_lufs();
  m.loudness_range_lu = meter_.loudness_range_lu();
  m.true_peak_dbtp = options_.true_peak ? meter_.true_peak_dbtp() : kNegInf;
  m.sample_peak_dbfs = meter_.sample_peak_dbfs();
  m.duration_s = static_cast<double>(a.frames) / sample_rate_hz_;
  m.sample_rate_hz = static_cast<int>(std::lround(sample_rate_hz_));
  m.channels = channels_;
  m.format = std::move(format);
  a.whole_programme_lufs = meter_.whole_programme_lufs();
  a.short_term_lufs = meter_.short_term_lufs();
  a.loud_level_lufs = energy_mean_lufs(loudest_values(a.short_term_lufs, kLoudSectionFraction));
  if (!std::isfinite(a.loud_level_lufs)) a.loud_level_lufs = a.normalisable_lufs();

  if (options_.spectrum) {
    spectrum_.finish();
    a.band_centres_hz = spectrum_.centres_hz();
    const std::size_t bands = a.band_centres_hz.size();
    std::vector<double> k_weights(bands);
    for (std::size_t b = 0; b < bands; ++b) k_weights[b] = k_weighting_power(a.band_centres_hz[b]);

    // Rank sections by loudness; average the band powers of the loudest ones.
    std::vector<double> levels;
    for (std::size_t s = 0; s < spectrum_.num_sections(); ++s)
      levels.push_back(section_lufs(spectrum_.section_band_power(s), k_weights));
    const std::vector<double> loudest = loudest_values(levels, kLoudSectionFraction);
    const double threshold = loudest.empty() ? std::numeric_limits<double>::infinity() : loudest.front();
    std::vector<double> sum(bands, 0.0);
    std::size_t used = 0;
    for (std::size_t s = 0; s < spectrum_.num_sections(); ++s) {
      if (levels[s] < threshold) continue;
      const auto power = spectrum_.section_band_power(s);
      for (std::size_t b = 0; b < bands; ++b) sum[b] += power[b];
      ++used;
    }
    a.loud_band_levels_db.resize(bands, kNegInf);
    for (std::size_t b = 0; b < bands && used > 0; ++b)
      a.loud_band_levels_db[b] = sum[b] > 0.0 ? 10.0 * std::log10(sum[b] / static_cast<double>(used)) : kNegInf;
  }
  return a;
}

}  // namespace spectrum::mastering
