// Stereo-linked lookahead true-peak limiter.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "common/audio_block.h"
#include "dsp/true_peak.h"

namespace spectrum::dsp {

struct LimiterParameters {
  // The output's true peak, read by TruePeakDetector (an 8x reconstruction within ~0.03 dB of the ideal
  // one up to 0.45 fs), stays at or under it; measured ideal (16x FFT) peaks of band-limited loud material
  // land 0.002-0.02 dB under it (tests/dsp/limiter_test.cpp). Sample peaks never exceed it.
  double ceiling_dbtp = -1.0;
  double release_ms = 100.0;  // time constant of the exponential recovery
};

// Per frame:
//   peak      max over channels of the true peak (TruePeakDetector; its grid includes the sample itself).
//   required  g = min(1, ceiling / peak).
//   hold      minimum of g over the last W + 2G frames (W = lookahead = 3 ms rounded to frames,
//             G = kGuardFrames = 8).
//   release   instant fall, exponential rise with release_ms (in linear gain: r = min(held, k r + c held),
//             c = 1 - k); it never rises above the held value.
//   smooth    moving average over W frames (exact integer running sum, no drift): the gain glides
//             down over the lookahead instead of stepping.
//   output    audio delayed by W - 1 + G + the detector's 19 frames (latency_frames()), times the
//             gain, then a clamp at the ceiling as a safety net against rounding (the gain targets
//             the ceiling minus 1e-5 dB, so the clamp moves nothing by more than float rounding).
// Why the guard: with hold length W + 2G and average length W, the gain is at or below the required
// value for the peak's sample and G samples either side. The gain ramp is steep in relative terms
// near deep reduction (W = 132 frames from 0 dB to -20 dB is ~0.5 dB per frame at the bottom), and
// the waveform between samples is built from the neighbours, so a flat stretch of +-8 frames (most of a
// sinc's weight) keeps inter-sample peaks down too.
// Speed: audio is handled in chunks of up to 1024 frames, stage by stage, so all but the release recursion
// and the running sum run vectorised: detection with TruePeakDetector::process_block, the hold as a sparse
// table of minima (log2(W + 2G) passes of pairwise min over the chunk, branch-free), one division per frame
// for the required gain, the output multiply and clamp. Measured with an ad-hoc program (3 min of stereo
// at 44.1 kHz, loud noise under constant ~12 dB reduction, blocks of 4096, loaded 2-core EPYC VM): 94-98 ms,
// of which detection ~50 ms, against 200-320 ms before this layout. The rest is dominated by the release
// recursion (a serial multiply-add-min per frame).
// Ideal peaks: band-limited loud material (test) lands 0.002-0.02 dB under the ceiling. Material with energy
// between 0.45 fs and Nyquist can exceed it by an ideal measure (the detector's flat band ends at 0.45 fs and
// the limiter drives the detector's reading to the ceiling): conformance-suite music +9.5 dB into -1.1 dBTP
// gave ideal -0.73 .. -0.92 dBTP, ffmpeg ebur128 -1.0 .. -1.2 dBTP.
// Gain reduction is the same on every channel. A signal whose peaks stay under the ceiling comes
// out bit-identical (delayed) with 0 dB reduction. Output and statistics are identical for any block size.
class Limiter {
 public:
  static constexpr double kLookaheadMs = 3.0;
  static constexpr int kGuardFrames = 8;

  void prepare(const ProcessSpec& spec);
  void reset() noexcept;
  // Ceiling and release take effect at the next frame.
  void set_parameters(const LimiterParameters& parameters) noexcept;
  [[nodiscard]] const LimiterParameters& parameters() const noexcept { return parameters_; }

  void process(AudioBlock block) noexcept;

  // Delay of the audio through the limiter (lookahead + detector alignment).
  [[nodiscard]] int latency_frames() const noexcept {
    return lookahead_frames_ - 1 + kGuardFrames + TruePeakDetector::kLatencyFrames;
  }
  [[nodiscard]] int lookahead_frames() const noexcept { return lookahead_frames_; }

  // Over everything processed since prepare()/reset(), dB, positive; the mean is over all frames.
  [[nodiscard]] double max_gain_reduction_db() const noexcept;
  [[nodiscard]] double mean_gain_reduction_db() const noexcept;

 private:
  static constexpr std::size_t kChunkFrames = 1024;
  static constexpr double kGainOne = 1073741824.0;  // 2^30: fixed-point unit of the running sum

  void process_chunk(AudioBlock block, std::size_t offset, std::size_t n) noexcept;

  LimiterParameters parameters_;
  double sample_rate_hz_ = 48000.0;
  int num_channels_ = 2;
  int lookahead_frames_ = 0;
  std::size_t hold_frames_ = 0;       // W + 2G
  std::size_t hold_span_ = 1;         // largest power of two <= hold_frames_
  float ceiling_ = 1.0F;              // linear, for the clamp
  float ceiling_target_ = 1.0F;       // linear, what the gain aims at
  double release_keep_ = 0.0;         // k
  double release_coefficient_ = 0.0;  // c = 1 - k

  std::array<TruePeakDetector, kMaxChannels> detectors_;
  std::array<std::vector<float>, kMaxChannels> peaks_;  // detector output for one chunk
  // Per channel: the last latency_frames() inputs, then the chunk; output frame i is delayed_[c][i].
  std::array<std::vector<float>, kMaxChannels> delayed_;
  // The last W + 2G - 1 required gains, then the chunk's (history first).
  std::vector<float> required_;
  std::vector<float> minima_;
  std::vector<float> scratch_;  // the sparse table's passes alternate between minima_ and this
  // Released gains in 2^30 fixed point: the last W, then the chunk's.
  std::vector<std::int64_t> fixed_;
  std::vector<double> gains_;  // one chunk
  double released_ = 1.0;
  std::int64_t average_sum_ = 0;
  std::int64_t average_full_ = 0;  // W * 2^30
  double average_scale_ = 0.0;     // 1 / (W * 2^30)

  double min_gain_ = 1.0;
  double gain_product_ = 1.0;  // product of the gains since the last fold into the sum below
  int product_frames_ = 0;
  double reduction_log2_sum_ = 0.0;
  std::uint64_t frames_processed_ = 0;
};

}  // namespace spectrum::dsp
