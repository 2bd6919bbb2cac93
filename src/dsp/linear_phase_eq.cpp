#include "dsp/linear_phase_eq.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "dsp/units.h"

namespace spectrum::dsp {
namespace {

constexpr int kDesignOversampling = 8;  // design grid / FIR length: keeps time aliasing far below the window
// Overlap-save FFT size / (taps - 1). With 2 every 2B-point transform pair yields B outputs; with 4 a 4B-point
// pair yields 3B (FFTW: 8192 -> 16384 points at 44.1 kHz, still cache-sized); 8 was no faster
// (docs/benchmarks.md).
constexpr std::size_t kFftPerHistory = 4;
constexpr double kIdentityToleranceDb = 1e-6;

}  // namespace

int LinearPhaseEq::taps_for_rate(double sample_rate_hz) noexcept {
  const double exponent = std::round(std::log2(std::max(sample_rate_hz, 1000.0) / 10.0));
  return (1 << static_cast<int>(exponent)) + 1;
}

void LinearPhaseEq::prepare(const ProcessSpec& spec, const GainCurve& gain_db) {
  sample_rate_hz_ = spec.sample_rate_hz;
  num_channels_ = std::clamp(spec.num_channels, 1, kMaxChannels);
  history_frames_ = taps_for_rate(spec.sample_rate_hz) - 1;
  const auto history = static_cast<std::size_t>(history_frames_);
  block_frames_ = static_cast<int>((kFftPerHistory - 1) * history);
  const auto block = static_cast<std::size_t>(block_frames_);
  design(gain_db);
  for (int c = 0; c < kMaxChannels; ++c) {
    const bool used = c < num_channels_;
    input_[static_cast<std::size_t>(c)].assign(used ? history + block : 0, 0.0F);
    output_[static_cast<std::size_t>(c)].assign(used ? block : 0, 0.0F);
  }
  reset();
}

void LinearPhaseEq::design(const GainCurve& gain_db) {
  const std::size_t taps = static_cast<std::size_t>(history_frames_) + 1;
  const std::size_t centre = taps / 2;
  const std::size_t grid = kDesignOversampling * static_cast<std::size_t>(history_frames_);

  // Zero-phase frequency sampling of the requested magnitude.
  RealFft design_fft;
  design_fft.prepare(grid);
  identity_ = true;
  for (std::size_t k = 0; k < design_fft.num_bins(); ++k) {
    const double db = gain_db(static_cast<double>(k) * sample_rate_hz_ / static_cast<double>(grid));
    if (std::abs(db) > kIdentityToleranceDb) identity_ = false;
    design_fft.complex_data()[k][0] = static_cast<float>(db_to_amplitude(db));
    design_fft.complex_data()[k][1] = 0.0F;
  }
  design_fft.inverse();

  // Centre the symmetric response on tap `centre` and window it.
  taps_.assign(taps, 0.0F);
  for (std::size_t n = 0; n < taps; ++n) {
    const std::size_t source = (n + grid - centre) % grid;
    const double window =
        0.5 - 0.5 * std::cos(2.0 * std::numbers::pi * static_cast<double>(n + 1) / static_cast<double>(taps + 1));
    const auto zero_phase = static_cast<double>(design_fft.real_data()[source]);
    taps_[n] = static_cast<float>(window * zero_phase / static_cast<double>(grid));
  }

  // Spectrum of the FIR zero-padded to the overlap-save size, with the inverse FFT's 1/N folded in.
  const std::size_t fft_size = kFftPerHistory * static_cast<std::size_t>(history_frames_);
  fft_.prepare(fft_size);
  std::fill_n(fft_.real_data(), fft_size, 0.0F);
  std::copy(taps_.begin(), taps_.end(), fft_.real_data());
  fft_.forward();
  spectrum_re_.resize(fft_.num_bins());
  spectrum_im_.resize(fft_.num_bins());
  const float scale = 1.0F / static_cast<float>(fft_size);
  for (std::size_t k = 0; k < fft_.num_bins(); ++k) {
    spectrum_re_[k] = fft_.complex_data()[k][0] * scale;
    spectrum_im_[k] = fft_.complex_data()[k][1] * scale;
  }
}

void LinearPhaseEq::reset() noexcept {
  fill_frames_ = 0;
  for (auto& v : input_) std::fill(v.begin(), v.end(), 0.0F);
  for (auto& v : output_) std::fill(v.begin(), v.end(), 0.0F);
}

void LinearPhaseEq::process(AudioBlock block) noexcept {
  const int channels = std::min(block.num_channels(), num_channels_);
  const auto block_frames = static_cast<std::size_t>(block_frames_);
  for (std::size_t pos = 0; pos < block.num_frames();) {
    const std::size_t n = std::min(block.num_frames() - pos, block_frames - fill_frames_);
    for (int c = 0; c < channels; ++c) {
      float* io = block.channel(c) + pos;
      const auto ch = static_cast<std::size_t>(c);
      std::copy_n(io, n, input_[ch].data() + history_frames_ + fill_frames_);
      std::copy_n(output_[ch].data() + fill_frames_, n, io);
    }
    fill_frames_ += n;
    pos += n;
    if (fill_frames_ == block_frames) {
      for (int c = 0; c < channels; ++c) filter_block(c);
      fill_frames_ = 0;
    }
  }
}

void LinearPhaseEq::filter_block(int channel) noexcept {
  const auto block_frames = static_cast<std::size_t>(block_frames_);
  const auto history = static_cast<std::size_t>(history_frames_);
  float* input = input_[static_cast<std::size_t>(channel)].data();
  float* output = output_[static_cast<std::size_t>(channel)].data();
  if (identity_) {
    // Same delay as the filtered path: y[n] = x[n - H/2], B frames after the block arrived.
    std::copy_n(input + history - history / 2, block_frames, output);
  } else {
    std::copy_n(input, history + block_frames, fft_.real_data());
    fft_.forward();
    fftwf_complex* bins = fft_.complex_data();
    const float* h_re = spectrum_re_.data();
    const float* h_im = spectrum_im_.data();
    for (std::size_t k = 0; k < fft_.num_bins(); ++k) {
      const float re = bins[k][0];
      const float im = bins[k][1];
      bins[k][0] = re * h_re[k] - im * h_im[k];
      bins[k][1] = re * h_im[k] + im * h_re[k];
    }
    fft_.inverse();
    // Overlap-save: the first H outputs of the circular convolution wrap around; the last B are valid.
    std::copy_n(fft_.real_data() + history, block_frames, output);
  }
  std::copy_n(input + block_frames, history, input);
}

double LinearPhaseEq::response_db(double frequency_hz) const noexcept {
  // The FIR is symmetric about its centre, so its amplitude is a cosine sum.
  const double w = 2.0 * std::numbers::pi * frequency_hz / sample_rate_hz_;
  const std::size_t centre_tap = taps_.size() / 2;  // odd length: the middle tap
  const auto centre = static_cast<double>(centre_tap);
  double amplitude = 0.0;
  for (std::size_t n = 0; n < taps_.size(); ++n)
    amplitude += static_cast<double>(taps_[n]) * std::cos(w * (static_cast<double>(n) - centre));
  return 20.0 * std::log10(std::max(std::abs(amplitude), 1e-30));
}

}  // namespace spectrum::dsp
