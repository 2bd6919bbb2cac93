// The tonal curves of the chain, as functions of frequency in Hz:
//  - each eqProfile's fixed curve, built from analog shelf and bell prototypes (sample-rate independent);
//  - the balanced reference tilt that tonal matching aims at when no reference track is given;
//  - interpolation of per-band gains (third-octave centres) into a continuous curve for the FIR EQ.
// docs/eq-curves.md tabulates these at the third-octave centres; `spectrum-master eq-curves` prints them.
#pragma once

#include <span>
#include <vector>

#include "mastering/settings.h"

namespace spectrum::mastering {

// The third-octave centres of dsp::third_octave_centres_hz(), for the layers above (the CLI prints the curves).
std::vector<double> third_octave_centres_hz();

// Gain in dB of the profile's fixed curve at frequency_hz. Neutral is 0 everywhere.
double profile_gain_db(EqProfile profile, double frequency_hz);

// The balanced target tilt (dB, relative) of a long-term third-octave spectrum; see docs/eq-curves.md.
double reference_tilt_db(double frequency_hz);

// A piecewise-linear curve in (log2 frequency, dB) through the given points; flat beyond the ends.
class BandCurve {
 public:
  BandCurve() = default;
  BandCurve(std::span<const double> centres_hz, std::span<const double> gains_db);
  [[nodiscard]] double gain_db(double frequency_hz) const;
  [[nodiscard]] bool is_flat() const;

 private:
  std::vector<double> log2_hz_;
  std::vector<double> gains_db_;
};

// K-weighting power gain (linear) at a frequency: used to rank sections and to estimate how an EQ curve
// changes loudness, from band spectra. Analog approximation of the BS.1770 pre-filter.
double k_weighting_power(double frequency_hz);

}  // namespace spectrum::mastering
