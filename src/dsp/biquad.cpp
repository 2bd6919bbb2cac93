#include "dsp/biquad.h"

#include <algorithm>
#include <cmath>
#include <complex>
#include <numbers>

namespace spectrum::dsp {
namespace {

// Shared terms of the cookbook designs at normalised angular frequency w0 = 2 pi f.
struct Angle {
  double cos_w0;
  double alpha;
};

Angle angle_of(double frequency_fraction, double q) {
  const double w0 = 2.0 * std::numbers::pi * frequency_fraction;
  return {std::cos(w0), std::sin(w0) / (2.0 * q)};
}

BiquadCoefficients normalised(double b0, double b1, double b2, double a0, double a1, double a2) {
  return {b0 / a0, b1 / a0, b2 / a0, a1 / a0, a2 / a0};
}

}  // namespace

BiquadCoefficients low_pass(double frequency_fraction, double q) {
  const auto [c, alpha] = angle_of(frequency_fraction, q);
  return normalised((1.0 - c) / 2.0, 1.0 - c, (1.0 - c) / 2.0, 1.0 + alpha, -2.0 * c, 1.0 - alpha);
}

BiquadCoefficients high_pass(double frequency_fraction, double q) {
  const auto [c, alpha] = angle_of(frequency_fraction, q);
  return normalised((1.0 + c) / 2.0, -(1.0 + c), (1.0 + c) / 2.0, 1.0 + alpha, -2.0 * c, 1.0 - alpha);
}

BiquadCoefficients low_shelf(double frequency_fraction, double gain_db, double q) {
  const auto [c, alpha] = angle_of(frequency_fraction, q);
  const double a = std::pow(10.0, gain_db / 40.0);
  const double k = 2.0 * std::sqrt(a) * alpha;
  return normalised(a * ((a + 1.0) - (a - 1.0) * c + k), 2.0 * a * ((a - 1.0) - (a + 1.0) * c),
                    a * ((a + 1.0) - (a - 1.0) * c - k), (a + 1.0) + (a - 1.0) * c + k,
                    -2.0 * ((a - 1.0) + (a + 1.0) * c), (a + 1.0) + (a - 1.0) * c - k);
}

BiquadCoefficients high_shelf(double frequency_fraction, double gain_db, double q) {
  const auto [c, alpha] = angle_of(frequency_fraction, q);
  const double a = std::pow(10.0, gain_db / 40.0);
  const double k = 2.0 * std::sqrt(a) * alpha;
  return normalised(a * ((a + 1.0) + (a - 1.0) * c + k), -2.0 * a * ((a - 1.0) + (a + 1.0) * c),
                    a * ((a + 1.0) + (a - 1.0) * c - k), (a + 1.0) - (a - 1.0) * c + k,
                    2.0 * ((a - 1.0) - (a + 1.0) * c), (a + 1.0) - (a - 1.0) * c - k);
}

BiquadCoefficients peaking(double frequency_fraction, double gain_db, double q) {
  const auto [c, alpha] = angle_of(frequency_fraction, q);
  const double a = std::pow(10.0, gain_db / 40.0);
  return normalised(1.0 + alpha * a, -2.0 * c, 1.0 - alpha * a, 1.0 + alpha / a, -2.0 * c, 1.0 - alpha / a);
}

BiquadCoefficients all_pass(double frequency_fraction, double q) {
  const auto [c, alpha] = angle_of(frequency_fraction, q);
  return normalised(1.0 - alpha, -2.0 * c, 1.0 + alpha, 1.0 + alpha, -2.0 * c, 1.0 - alpha);
}

double magnitude_db(const BiquadCoefficients& coefficients, double frequency_fraction) {
  const BiquadCoefficients& k = coefficients;
  const std::complex<double> z1 = std::polar(1.0, -2.0 * std::numbers::pi * frequency_fraction);
  const std::complex<double> z2 = z1 * z1;
  const std::complex<double> h = (k.b0 + k.b1 * z1 + k.b2 * z2) / (1.0 + k.a1 * z1 + k.a2 * z2);
  return 20.0 * std::log10(std::abs(h));
}

void BiquadCascade::prepare(const ProcessSpec& spec) noexcept {
  num_channels_ = std::clamp(spec.num_channels, 1, kMaxChannels);
  reset();
}

void BiquadCascade::reset() noexcept {
  for (auto& channel : state_)
    for (auto& z : channel) z = {0.0, 0.0};
}

void BiquadCascade::set_sections(std::span<const BiquadCoefficients> sections) noexcept {
  num_sections_ = static_cast<int>(std::min<std::size_t>(sections.size(), kMaxSections));
  std::copy_n(sections.begin(), num_sections_, sections_.begin());
}

void BiquadCascade::process(AudioBlock block) noexcept {
  const int channels = std::min(block.num_channels(), num_channels_);
  for (int c = 0; c < channels; ++c) {
    float* samples = block.channel(c);
    for (std::size_t i = 0; i < block.num_frames(); ++i)
      samples[i] = static_cast<float>(process_sample(c, static_cast<double>(samples[i])));
  }
}

double BiquadCascade::magnitude_db(double frequency_fraction) const noexcept {
  double total_db = 0.0;
  for (int s = 0; s < num_sections_; ++s)
    total_db += dsp::magnitude_db(sections_[static_cast<std::size_t>(s)], frequency_fraction);
  return total_db;
}

void ButterworthHighPass::prepare(const ProcessSpec& spec, double cutoff_hz) noexcept {
  sample_rate_hz_ = spec.sample_rate_hz;
  // Q of the two sections of a 4th-order Butterworth: 1 / (2 cos(pi/8)) and 1 / (2 cos(3 pi/8)).
  const double fraction = cutoff_hz / spec.sample_rate_hz;
  const std::array<BiquadCoefficients, 2> sections{high_pass(fraction, 0.54119610014619698),
                                                   high_pass(fraction, 1.3065629648763766)};
  cascade_.prepare(spec);
  cascade_.set_sections(sections);
}

double ButterworthHighPass::magnitude_db(double frequency_hz) const noexcept {
  return cascade_.magnitude_db(frequency_hz / sample_rate_hz_);
}

}  // namespace spectrum::dsp
