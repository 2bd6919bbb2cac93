#include "mastering/eq_curves.h"

#include <algorithm>
#include <cmath>
#include <complex>
#include <numbers>

#include "dsp/band_spectrum.h"

namespace spectrum::mastering {
namespace {

using Complex = std::complex<double>;

// Analog second-order prototypes (s normalised to the corner frequency), magnitude in dB.
// A = 10^(gain/40). Low shelf: A(s²+√A/Q s+A)/(A s²+√A/Q s+1); high shelf: A(A s²+√A/Q s+1)/(s²+√A/Q s+A);
// bell: (s²+(A/Q)s+1)/(s²+s/(AQ)+1). These give the full gain at the shelf's far end, half of it (in dB) at the
// corner, and the full gain at a bell's centre.
double low_shelf_db(double f_hz, double corner_hz, double gain_db, double q) {
  const double a = std::pow(10.0, gain_db / 40.0);
  const Complex s(0.0, f_hz / corner_hz);
  const Complex h = a * (s * s + std::sqrt(a) / q * s + a) / (a * s * s + std::sqrt(a) / q * s + 1.0);
  return 20.0 * std::log10(std::abs(h));
}

double high_shelf_db(double f_hz, double corner_hz, double gain_db, double q) {
  const double a = std::pow(10.0, gain_db / 40.0);
  const Complex s(0.0, f_hz / corner_hz);
  const Complex h = a * (a * s * s + std::sqrt(a) / q * s + 1.0) / (s * s + std::sqrt(a) / q * s + a);
  return 20.0 * std::log10(std::abs(h));
}

double bell_db(double f_hz, double centre_hz, double gain_db, double q) {
  const double a = std::pow(10.0, gain_db / 40.0);
  const Complex s(0.0, f_hz / centre_hz);
  const Complex h = (s * s + (a / q) * s + 1.0) / (s * s + s / (a * q) + 1.0);
  return 20.0 * std::log10(std::abs(h));
}

constexpr double kShelfQ = std::numbers::sqrt2 / 2.0;  // maximally flat shelf (slope S = 1)

}  // namespace

std::vector<double> third_octave_centres_hz() {
  return dsp::third_octave_centres_hz();
}

// Gentle, documented curves: each is at most ±5 dB and built from two or three broad sections.
double profile_gain_db(EqProfile profile, double f) {
  switch (profile) {
    case EqProfile::kNeutral:
      return 0.0;
    case EqProfile::kBright:  // air and presence up, a touch less low-mid weight
      return high_shelf_db(f, 6000.0, 3.0, kShelfQ) + bell_db(f, 3000.0, 1.0, 0.9) +
             low_shelf_db(f, 150.0, -1.0, kShelfQ);
    case EqProfile::kWarm:  // fuller low end and low mids, softer top
      return low_shelf_db(f, 180.0, 2.5, kShelfQ) + bell_db(f, 400.0, 1.0, 0.8) +
             high_shelf_db(f, 7000.0, -2.0, kShelfQ);
    case EqProfile::kBassBoost:  // more bass, with the low-mid build-up it causes trimmed
      return low_shelf_db(f, 90.0, 5.0, kShelfQ) + bell_db(f, 350.0, -1.5, 1.0);
  }
  return 0.0;
}

// A balanced long-term third-octave spectrum for modern popular music: about -2 dB per octave around 1 kHz
// (a little darker than pink noise, which is flat in fractional-octave bands), a plateau below 60 Hz and a
// steeper fall above 10 kHz, where recordings naturally carry little energy.
double reference_tilt_db(double f) {
  constexpr double kSlopeDbPerOctave = -2.0;
  const double f_clamped = std::clamp(f, 60.0, 10000.0);
  double db = kSlopeDbPerOctave * std::log2(f_clamped / 1000.0);
  if (f > 10000.0) db += -4.0 * std::log2(f / 10000.0);
  return db;
}

BandCurve::BandCurve(std::span<const double> centres_hz, std::span<const double> gains_db)
    : gains_db_(gains_db.begin(), gains_db.end()) {
  log2_hz_.reserve(centres_hz.size());
  for (double f : centres_hz) log2_hz_.push_back(std::log2(f));
}

double BandCurve::gain_db(double frequency_hz) const {
  if (gains_db_.empty()) return 0.0;
  const double x = std::log2(std::max(frequency_hz, 1e-3));
  if (x <= log2_hz_.front()) return gains_db_.front();
  if (x >= log2_hz_.back()) return gains_db_.back();
  const auto it = std::upper_bound(log2_hz_.begin(), log2_hz_.end(), x);
  const auto i = static_cast<std::size_t>(it - log2_hz_.begin());
  const double t = (x - log2_hz_[i - 1]) / (log2_hz_[i] - log2_hz_[i - 1]);
  return gains_db_[i - 1] + t * (gains_db_[i] - gains_db_[i - 1]);
}

bool BandCurve::is_flat() const {
  return std::all_of(gains_db_.begin(), gains_db_.end(), [](double g) { return g == 0.0; });
}

double k_weighting_power(double f) {
  // Stage 1: high shelf of about +4 dB centred near 1.68 kHz; stage 2: second-order high-pass near 38 Hz.
  const double shelf_db = high_shelf_db(f, 1681.97, 4.0, 0.7072);
  const double r = f / 38.135;
  const double highpass_power = (r * r * r * r) / (1.0 + r * r * r * r);
  return std::pow(10.0, shelf_db / 10.0) * highpass_power;
}

}  // namespace spectrum::mastering
