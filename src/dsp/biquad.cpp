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

// Two channels run through the cascade as one vector of two doubles per state variable (channel `a` in lane 0,
// `b` in lane 1), every state in registers: process_sample()'s operations in the same order, so the same
// results, without its per-sample reload of each state from memory. A mono channel runs in both lanes (a == b):
// a two-lane step costs what a one-lane step does.
template <std::size_t kSections>
void BiquadCascade::process_lanes(const AudioBlock& block, int a, int b) noexcept {
  typedef double Lanes __attribute__((vector_size(16)));
  struct Section {
    Lanes b0, b1, b2, a1, a2;  // the coefficients in both lanes
    Lanes z0, z1;              // channel a's state in lane 0, b's in lane 1
  };
  auto& state_a = state_[static_cast<std::size_t>(a)];
  auto& state_b = state_[static_cast<std::size_t>(b)];
  std::array<Section, kSections> sections{};
  for (std::size_t s = 0; s < kSections; ++s) {
    const auto& k = sections_[s];
    sections[s] = {Lanes{k.b0, k.b0},
                   Lanes{k.b1, k.b1},
                   Lanes{k.b2, k.b2},
                   Lanes{k.a1, k.a1},
                   Lanes{k.a2, k.a2},
                   Lanes{state_a[s][0], state_b[s][0]},
                   Lanes{state_a[s][1], state_b[s][1]}};
  }
  float* left = block.channel(a);
  float* right = block.channel(b);
  for (std::size_t i = 0; i < block.num_frames(); ++i) {
    Lanes x = {static_cast<double>(left[i]), static_cast<double>(right[i])};
    for (auto& section : sections) {
      const Lanes y = section.b0 * x + section.z0;
      section.z0 = section.b1 * x - section.a1 * y + section.z1;
      section.z1 = section.b2 * x - section.a2 * y;
      x = y;
    }
    left[i] = static_cast<float>(x[0]);
    right[i] = static_cast<float>(x[1]);
  }
  for (std::size_t s = 0; s < kSections; ++s) {
    state_a[s] = {sections[s].z0[0], sections[s].z1[0]};
    state_b[s] = {sections[s].z0[1], sections[s].z1[1]};
  }
}

void BiquadCascade::process(AudioBlock block) noexcept {
  const int channels = std::min(block.num_channels(), num_channels_);
  if (channels <= 0) return;
  const int b = channels == 2 ? 1 : 0;
  switch (num_sections_) {  // the section count as a template argument, so the loop over sections unrolls
    case 1:
      return process_lanes<1>(block, 0, b);
    case 2:
      return process_lanes<2>(block, 0, b);
    case 3:
      return process_lanes<3>(block, 0, b);
    case 4:
      return process_lanes<4>(block, 0, b);
    default:
      return;
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
