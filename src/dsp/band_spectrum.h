// Third-octave band powers over time, from Hann-windowed FFT frames (FFTW, float).
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "common/audio_block.h"
#include "dsp/fftw_planner.h"

namespace spectrum::dsp {

// The product's one list of bands: nominal third-octave centres 1000 * 10^(k/10) Hz from 20 Hz to 20 kHz (31).
std::vector<double> third_octave_centres_hz();
// Those whose upper edge (centre * 10^(1/20)) lies below half the sample rate.
std::vector<double> third_octave_centres_hz(double sample_rate_hz);

// Band power is the band's contribution to the mean square, summed over channels: a full-scale sine at a band
// centre reads 0.5 (-3.01 dB) in that band, and the bands of white noise add up to its mean square.
//
// Frames of N = fs/5 rounded to a power of two (8192 at 44.1/48 kHz, 16384 at 96 kHz) advance by N (no overlap:
// it halves the cost, and section means need no more). A frame belongs to the
// section that holds its centre; a section's value is the mean of its frames. A bin's power is shared between
// bands in proportion to the overlap of its width with theirs. Resolution: bins are fs/N apart (5.9 Hz at 48
// kHz) and the Hann main lobe spans 4 bins, so a pure tone stays inside its band only from about 125 Hz up;
// below that the lowest bands are smoothed with their neighbours (noise-like material still reads right), and
// power below the 20 Hz band's lower edge (17.8 Hz) is not counted.
class BandSpectrum {
 public:
  BandSpectrum();
  ~BandSpectrum();
  BandSpectrum(const BandSpectrum&) = delete;
  BandSpectrum& operator=(const BandSpectrum&) = delete;

  // section_s is raised to at least one frame hop. Memory for expected_duration_s of sections is reserved.
  void prepare(double sample_rate_hz, int channels, double section_s = 0.5, double expected_duration_s = 0.0);
  void reset();
  // Any block size; identical results. Not noexcept: past the reserved duration the sections grow.
  void process(const AudioBlock& block);
  void finish();  // analyses the tail (zero-padded) and closes the last section; call once at the end

  [[nodiscard]] const std::vector<double>& centres_hz() const { return centres_hz_; }
  [[nodiscard]] std::size_t num_sections() const;
  [[nodiscard]] std::span<const double> section_band_power(std::size_t section) const;  // linear, per band
  [[nodiscard]] std::size_t fft_size() const { return fft_size_; }
  [[nodiscard]] double section_s() const;

 private:
  void analyse_frame(std::size_t valid_frames);
  void close_section();

  double sample_rate_hz_ = 48000.0;
  int channels_ = 0;
  std::size_t fft_size_ = 8192;
  std::size_t hop_ = 8192;
  std::size_t section_frames_ = 24000;
  RealFft fft_;
  std::vector<float> window_;
  double window_power_ = 1.0;  // sum of w^2
  std::vector<double> centres_hz_;
  std::vector<std::size_t> band_first_bin_;      // first bin of each band
  std::vector<std::size_t> band_weight_offset_;  // band b's weights: [offset[b], offset[b + 1])
  std::vector<double> band_weights_;             // share of each bin's power that falls in the band
  std::vector<float> bin_power_;                 // |X[k]|^2 of the current frame
  std::vector<std::vector<float>> pending_;      // per channel, the samples of the frame being filled
  std::size_t fill_ = 0;                         // samples in pending_
  std::size_t frame_start_ = 0;                  // input position of pending_[0]
  bool any_frame_ = false;
  std::vector<double> section_sum_;  // band sums of the open section
  std::size_t section_frame_count_ = 0;
  std::size_t open_section_ = 0;
  std::vector<double> sections_;  // num_sections x bands, row-major
};

}  // namespace spectrum::dsp
