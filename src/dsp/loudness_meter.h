// ITU-R BS.1770-4 loudness, EBU Tech 3341 momentary/short-term maxima and EBU Tech 3342 loudness range,
// plus true peak and sample peak, for a whole programme fed in blocks of any size.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/audio_block.h"
#include "dsp/k_weighting.h"
#include "dsp/true_peak.h"

namespace spectrum::dsp {

// Loudness over time on a regular grid: lufs[i] is the window that ends at first_end_s + i * step_s.
struct LoudnessSeries {
  double first_end_s = 0.0;
  double step_s = 0.0;
  std::vector<double> lufs;
};

// How it works: K-weighted squares are summed per channel over fine sub-blocks (10 ms wherever 100 ms is a
// whole multiple of it; see fine_step_s()) and the channel-weighted sums are stored. Every windowed
// quantity (400 ms gating blocks at 100 ms steps, 3 s short-term values at 10 Hz, the maxima on the fine
// grid) is a sum of those, so results do not depend on how the input is cut into blocks.
//
// Memory: 8 bytes per fine sub-block (about 0.8 kB per second) plus 8 bytes per short-term value. prepare()
// reserves it for Options::expected_duration_s (plus 1 %, and at most kMaxReservedS: a container may claim
// any duration); process() allocates only if the programme runs longer than that, when the vectors grow
// (amortised, as std::vector does). Memory follows the audio actually read.
//
// Channels: up to kMaxMeterChannels, weighted as BS.1770 orders them: 1 and 2 channels 1.0 each; 5 channels
// (L, R, C, Ls, Rs) 1.0, 1.0, 1.0, 1.41, 1.41; 6 channels (L, R, C, LFE, Ls, Rs) with the LFE excluded.
class LoudnessMeter {
 public:
  static constexpr int kMaxMeterChannels = 8;
  static constexpr double kMaxReservedS = 2.0 * 3600.0;

  struct Options {
    bool true_peak = true;             // the 4x true-peak detector costs more than the loudness itself
    double expected_duration_s = 0.0;  // reserve memory for this much audio
  };

  void prepare(double sample_rate_hz, int channels, Options options);
  void prepare(double sample_rate_hz, int channels) { prepare(sample_rate_hz, channels, Options{}); }
  void reset();

  // Any block size; the block must have the prepared channel count (mono or stereo).
  // Not noexcept: past the reserved duration the stored sub-block sums grow (std::bad_alloc is possible).
  void process(const AudioBlock& block);
  // The same for up to kMaxMeterChannels planar channels (for multichannel conformance material).
  void process(const float* const* channels, int num_channels, std::size_t num_frames);

  // BS.1770-4 gated loudness; -infinity when no 400 ms block is above -70 LUFS.
  [[nodiscard]] double integrated_lufs() const;
  // EBU Tech 3342: 3 s short-term values at 10 Hz, gates -70 LUFS and -20 LU, 10th to 95th percentile
  // (percentile indices as in the Tech 3342 listing). 0 when no value passes the gates.
  [[nodiscard]] double loudness_range_lu() const;
  // Maxima over every window ending on the fine grid; -infinity before the first full window.
  [[nodiscard]] double max_momentary_lufs() const;
  [[nodiscard]] double max_short_term_lufs() const;
  // 3 s values at 10 Hz: element i is the window ending at 3.0 + 0.1 i seconds.
  [[nodiscard]] const std::vector<double>& short_term_lufs() const { return short_term_lufs_; }
  // Sliding 400 ms / 3 s windows on the fine grid (for "live meter" checks); allocates.
  [[nodiscard]] LoudnessSeries momentary_series() const;
  [[nodiscard]] LoudnessSeries short_term_series() const;
  // Ungated K-weighted mean over every sample so far: the loudness of clips shorter than 400 ms.
  [[nodiscard]] double whole_programme_lufs() const;
  // max(sample peak, 4x interpolated peak) over all channels; -infinity for digital silence or when
  // Options::true_peak is off.
  [[nodiscard]] double true_peak_dbtp() const;
  [[nodiscard]] double sample_peak_dbfs() const;  // -infinity for digital silence
  [[nodiscard]] std::int64_t frames() const { return frames_; }
  [[nodiscard]] double fine_step_s() const { return static_cast<double>(fine_frames_) / sample_rate_hz_; }

 private:
  // Two channels run through the filter together as one vector of two doubles.
  typedef double Lanes __attribute__((vector_size(16)));
  static constexpr int kMaxPairs = kMaxMeterChannels / 2;

  void process_pair(int pair, const float* left, const float* right, std::size_t num_frames);
  void close_fine_block();
  [[nodiscard]] double window_energy(std::size_t end_fine, std::size_t length_fine) const noexcept;
  [[nodiscard]] LoudnessSeries sliding_series(std::size_t length_fine) const;
  [[nodiscard]] double max_over_windows(std::size_t length_fine) const;

  double sample_rate_hz_ = 48000.0;
  int channels_ = 0;
  Options options_;
  KWeightingCoefficients coefficients_;
  std::array<double, kMaxMeterChannels> weights_{};
  std::array<KWeightingState<Lanes>, kMaxPairs> filters_{};
  std::array<Lanes, kMaxPairs> fine_sums_{};  // per-lane sum of squares in the open sub-block
  TruePeakMeter true_peak_;

  std::size_t fine_frames_ = 480;    // frames per fine sub-block
  std::size_t fine_per_hop_ = 10;    // fine sub-blocks per 100 ms hop
  std::size_t fine_fill_ = 0;        // frames in the open sub-block
  std::vector<double> fine_energy_;  // channel-weighted sum of squares per closed sub-block
  std::vector<double> short_term_lufs_;
  float peak_ = 0.0F;
  std::int64_t frames_ = 0;
};

}  // namespace spectrum::dsp
