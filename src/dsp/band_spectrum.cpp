#include "dsp/band_spectrum.h"

#include <fftw3.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <numbers>

#include "dsp/loudness_meter.h"

namespace spectrum::dsp {

std::vector<double> third_octave_centres_hz() {
  std::vector<double> centres;
  for (int k = -17; k <= 13; ++k) centres.push_back(1000.0 * std::pow(10.0, k / 10.0));  // 19.95 Hz .. 19.95 kHz
  return centres;
}

std::vector<double> third_octave_centres_hz(double sample_rate_hz) {
  std::vector<double> centres = third_octave_centres_hz();
  std::erase_if(centres, [&](double centre) { return centre * std::pow(10.0, 1.0 / 20.0) >= 0.5 * sample_rate_hz; });
  return centres;
}

BandSpectrum::BandSpectrum() = default;
BandSpectrum::~BandSpectrum() = default;

void BandSpectrum::prepare(double sample_rate_hz, int channels, double section_s, double expected_duration_s) {
  sample_rate_hz_ = sample_rate_hz;
  channels_ = std::clamp(channels, 1, kMaxChannels);
  fft_size_ = std::bit_ceil(static_cast<std::size_t>(std::max(64.0, sample_rate_hz / 5.0)));
  if (static_cast<double>(fft_size_) > 1.5 * sample_rate_hz / 5.0) fft_size_ /= 2;  // nearest power of two
  hop_ = fft_size_;
  section_frames_ = std::max(hop_, static_cast<std::size_t>(std::llround(section_s * sample_rate_hz)));
  fft_.prepare(fft_size_);  // FFTW_ESTIMATE: deterministic plans, no planning time

  window_.resize(fft_size_);
  window_power_ = 0.0;
  for (std::size_t i = 0; i < fft_size_; ++i) {  // periodic Hann
    const double w =
        0.5 - 0.5 * std::cos(2.0 * std::numbers::pi * static_cast<double>(i) / static_cast<double>(fft_size_));
    window_[i] = static_cast<float>(w);
    window_power_ += w * w;
  }

  centres_hz_ = third_octave_centres_hz(sample_rate_hz);
  // Bin k stands for [k - 1/2, k + 1/2) bins of frequency; it contributes to each band in proportion to the
  // overlap, so narrow low bands (the 40 Hz band is 1.6 bins wide at 48 kHz) still get their share of power.
  band_first_bin_.clear();
  band_weights_.clear();
  band_weight_offset_.clear();
  const double bin_hz = sample_rate_hz / static_cast<double>(fft_size_);
  const double half_band = std::pow(10.0, 1.0 / 20.0);
  for (double centre : centres_hz_) {
    const double lower = centre / half_band / bin_hz;  // in bins
    const double upper = centre * half_band / bin_hz;
    const auto first = static_cast<std::size_t>(std::floor(lower + 0.5));
    const auto last = std::min(static_cast<std::size_t>(std::floor(upper + 0.5)), fft_size_ / 2);
    band_first_bin_.push_back(first);
    band_weight_offset_.push_back(band_weights_.size());
    for (std::size_t k = first; k <= last; ++k) {
      const double from = std::max(lower, static_cast<double>(k) - 0.5);
      const double to = std::min(upper, static_cast<double>(k) + 0.5);
      band_weights_.push_back(std::max(0.0, to - from));
    }
  }
  band_weight_offset_.push_back(band_weights_.size());

  bin_power_.assign(fft_size_ / 2 + 1, 0.0F);
  pending_.assign(static_cast<std::size_t>(channels_), std::vector<float>(fft_size_, 0.0F));
  section_sum_.assign(centres_hz_.size(), 0.0);
  sections_.clear();
  const double expected_sections = std::clamp(expected_duration_s, 0.0, LoudnessMeter::kMaxReservedS) * sample_rate_hz /
                                   static_cast<double>(section_frames_);
  sections_.reserve((static_cast<std::size_t>(expected_sections) + 4) * centres_hz_.size());
  reset();
}

void BandSpectrum::reset() {
  for (auto& p : pending_) std::fill(p.begin(), p.end(), 0.0F);
  fill_ = 0;
  frame_start_ = 0;
  any_frame_ = false;
  std::fill(section_sum_.begin(), section_sum_.end(), 0.0);
  section_frame_count_ = 0;
  open_section_ = 0;
  sections_.clear();
}

void BandSpectrum::process(const AudioBlock& block) {
  if (block.num_channels() != channels_ || fft_.size() == 0) return;
  std::size_t done = 0;
  while (done < block.num_frames()) {
    const std::size_t take = std::min(block.num_frames() - done, fft_size_ - fill_);
    for (int c = 0; c < channels_; ++c) {
      std::copy_n(block.channel(c) + done, take, pending_[static_cast<std::size_t>(c)].data() + fill_);
    }
    fill_ += take;
    done += take;
    if (fill_ == fft_size_) {
      analyse_frame(fft_size_);
      // Keep the overlap (none while hop == N) for the next frame.
      for (auto& p : pending_) std::copy(p.begin() + static_cast<std::ptrdiff_t>(hop_), p.end(), p.begin());
      fill_ = fft_size_ - hop_;
      frame_start_ += hop_;
    }
  }
}

void BandSpectrum::analyse_frame(std::size_t valid_frames) {
  const std::size_t section = (frame_start_ + fft_size_ / 2) / section_frames_;
  while (section > open_section_) close_section();

  // Power normalisation: one-sided bins count twice; a zero-padded tail frame is scaled up by the window
  // power it actually covered.
  double covered = window_power_;
  if (valid_frames < fft_size_) {
    covered = 0.0;
    for (std::size_t i = 0; i < valid_frames; ++i)
      covered += static_cast<double>(window_[i]) * static_cast<double>(window_[i]);
  }
  const double scale = 2.0 / (static_cast<double>(fft_size_) * covered);

  std::vector<double>& sums = section_sum_;
  for (int c = 0; c < channels_; ++c) {
    const float* x = pending_[static_cast<std::size_t>(c)].data();
    float* in = fft_.real_data();
    for (std::size_t i = 0; i < valid_frames; ++i) in[i] = x[i] * window_[i];
    std::fill(in + valid_frames, in + fft_size_, 0.0F);
    fft_.forward();
    const fftwf_complex* out = fft_.complex_data();
    float* bin_power = bin_power_.data();
    for (std::size_t k = 0; k <= fft_size_ / 2; ++k) bin_power[k] = out[k][0] * out[k][0] + out[k][1] * out[k][1];
    for (std::size_t b = 0; b < sums.size(); ++b) {
      const double* weight = band_weights_.data() + band_weight_offset_[b];
      const std::size_t count = band_weight_offset_[b + 1] - band_weight_offset_[b];
      const float* bins = bin_power + band_first_bin_[b];
      double power = 0.0;
      for (std::size_t k = 0; k < count; ++k) power += weight[k] * static_cast<double>(bins[k]);
      sums[b] += power * scale;
    }
  }
  ++section_frame_count_;
  any_frame_ = true;
}

void BandSpectrum::close_section() {
  const std::size_t bands = section_sum_.size();
  const std::size_t row = sections_.size();
  sections_.resize(row + bands);  // within the reserved duration this does not allocate
  if (section_frame_count_ > 0) {
    for (std::size_t b = 0; b < bands; ++b)
      sections_[row + b] = section_sum_[b] / static_cast<double>(section_frame_count_);
  } else if (row >= bands) {  // a section without a frame centre holds the previous values
    std::copy_n(sections_.begin() + static_cast<std::ptrdiff_t>(row - bands), bands,
                sections_.begin() + static_cast<std::ptrdiff_t>(row));
  }
  std::fill(section_sum_.begin(), section_sum_.end(), 0.0);
  section_frame_count_ = 0;
  ++open_section_;
}

void BandSpectrum::finish() {
  if (fft_.size() == 0) return;
  // The tail: analysed if it holds at least half a frame, or if nothing was analysed yet (short clips).
  const std::size_t tail = fill_ - (any_frame_ ? fft_size_ - hop_ : 0);
  if (tail > 0 && (fill_ >= fft_size_ / 2 || !any_frame_)) analyse_frame(fill_);
  if (section_frame_count_ > 0) close_section();
  fill_ = 0;
}

std::size_t BandSpectrum::num_sections() const {
  return centres_hz_.empty() ? 0 : sections_.size() / centres_hz_.size();
}

std::span<const double> BandSpectrum::section_band_power(std::size_t section) const {
  const std::size_t bands = centres_hz_.size();
  if (section >= num_sections()) return {};
  return {sections_.data() + section * bands, bands};
}

double BandSpectrum::section_s() const {
  return static_cast<double>(section_frames_) / sample_rate_hz_;
}

}  // namespace spectrum::dsp
