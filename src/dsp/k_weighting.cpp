#include "dsp/k_weighting.h"

#include <cmath>
#include <numbers>

namespace spectrum::dsp {
namespace {

// Analogue prototype parameters whose bilinear transform at 48 kHz reproduces the BS.1770 table
// (shelf b = 1.53512485958697, -2.69169618940638, 1.19839281085285; a = -1.69065929318241,
// 0.73248077421585; high-pass a = -1.99004745483398, 0.99007225036621).
constexpr double kShelfCentreHz = 1681.974450955533;
constexpr double kShelfGainDb = 3.999843853973347;
constexpr double kShelfQ = 0.7071752369554196;
constexpr double kShelfBandExponent = 0.4996667741545416;  // Vb = Vh^this: the shelf's mid-band gain
constexpr double kHighPassCentreHz = 38.13547087602444;
constexpr double kHighPassQ = 0.5003270373238773;

}  // namespace

KWeightingCoefficients k_weighting_coefficients(double sample_rate_hz) {
  KWeightingCoefficients c;
  {
    const double k = std::tan(std::numbers::pi * kShelfCentreHz / sample_rate_hz);
    const double high_gain = std::pow(10.0, kShelfGainDb / 20.0);
    const double band_gain = std::pow(high_gain, kShelfBandExponent);
    const double a0 = 1.0 + k / kShelfQ + k * k;
    c.shelf.b0 = (high_gain + band_gain * k / kShelfQ + k * k) / a0;
    c.shelf.b1 = 2.0 * (k * k - high_gain) / a0;
    c.shelf.b2 = (high_gain - band_gain * k / kShelfQ + k * k) / a0;
    c.shelf.a1 = 2.0 * (k * k - 1.0) / a0;
    c.shelf.a2 = (1.0 - k / kShelfQ + k * k) / a0;
  }
  {
    const double k = std::tan(std::numbers::pi * kHighPassCentreHz / sample_rate_hz);
    const double a0 = 1.0 + k / kHighPassQ + k * k;
    c.high_pass.b0 = 1.0;
    c.high_pass.b1 = -2.0;
    c.high_pass.b2 = 1.0;
    c.high_pass.a1 = 2.0 * (k * k - 1.0) / a0;
    c.high_pass.a2 = (1.0 - k / kHighPassQ + k * k) / a0;
  }
  return c;
}

}  // namespace spectrum::dsp
