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
  // Program-dependent release: after an isolated peak the gain recovers with release_fast_ms; under sustained
  // limiting a slow envelope charges (sustain_ms) and holds the recovery to release_slow_ms, so bass and
  // held chords are not modulated at the fast rate (distortion) nor pumped.
  double release_fast_ms = 40.0;
  double release_slow_ms = 400.0;
  double sustain_ms = 150.0;
};

// Per frame:
//   peak      max over channels of the true peak (TruePeakDetector; its grid includes the sample itself).
//   held      maximum of the peak over the last W + 2G frames (W = lookahead = 3 ms rounded to frames,
//             G = kGuardFrames = 8). Peak and held are the side chain (LimiterSideChain).
//   required  g = min(1, ceiling / held), which is the minimum over the same window of the per-frame
//             ceiling / peak (the division is monotone, so taking the maximum first is exact).
//   release   program-dependent, in linear gain, two envelopes and the smaller wins:
//               fast  instant fall, exponential rise with release_fast_ms: f = min(required, k f + c required);
//               slow  falls towards required with sustain_ms (only sustained limiting moves it far), rises
//                     with release_slow_ms;
//             released = min(fast, slow), so it never rises above the required value. An isolated peak barely
//             charges the slow envelope and recovers at the fast rate; after sustained limiting the slow
//             envelope sets a slow recovery.
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
// Reusing the side chain: it is homogeneous (the side chain of a * x is a times that of x, up to float
// rounding, ~1e-7 relative against the 1e-5 dB aim), so a loop that tries several gains ahead of the
// limiter records it once (LimiterSideChain over the signal before the gain) and passes it to
// process(block, held_peaks, scale): detection and hold, half of the limiter's cost, then run once
// (3 minutes of loud stereo at 44.1 kHz: ~100 ms live, ~50 ms replayed).
// Speed: audio is handled in chunks of up to 1024 frames, stage by stage, so all but the release recursion
// and the running sum run vectorised: detection with TruePeakDetector::process_block, the hold as a sparse
// table of maxima (log2(W + 2G) passes of pairwise max over the chunk, branch-free), one division per frame
// for the required gain, the output multiply and clamp. A chunk with nothing over the ceiling while the
// gain is settled at 1 skips the recursion (its result is known exactly: unit gain).
// Ideal peaks: band-limited loud material (test) lands 0.002-0.02 dB under the ceiling. Material with energy
// between 0.45 fs and Nyquist can exceed it by an ideal measure (the detector's flat band ends at 0.45 fs and
// the limiter drives the detector's reading to the ceiling): conformance-suite music +9.5 dB into -1.1 dBTP
// gave ideal -0.73 .. -0.92 dBTP, ffmpeg ebur128 -1.0 .. -1.2 dBTP.
// Gain reduction is the same on every channel. A signal whose peaks stay under the ceiling comes
// out bit-identical (delayed) with 0 dB reduction. Output and statistics are identical for any block size.

// The limiter's side chain: per frame, the largest true peak of any channel over the hold window
// (W + 2G frames ending at that frame). Frame i of its output belongs to frame i of the limiter's input.
class LimiterSideChain {
 public:
  static constexpr std::size_t kChunkFrames = 1024;

  void prepare(const ProcessSpec& spec);
  void reset() noexcept;
  // `held_out` receives block.num_frames() values; it may not alias the block.
  void process(const AudioBlock& block, float* held_out) noexcept;

 private:
  void process_chunk(const AudioBlock& block, std::size_t offset, std::size_t n, float* held_out) noexcept;

  int num_channels_ = 2;
  std::size_t hold_frames_ = 1;  // W + 2G
  std::size_t hold_span_ = 1;    // largest power of two <= hold_frames_
  std::array<TruePeakDetector, kMaxChannels> detectors_;
  std::vector<float> channel_peaks_;  // one channel's detector output for one chunk
  // The last W + 2G - 1 peaks (max over channels), then the chunk's (history first).
  std::vector<float> peaks_;
  std::vector<float> maxima_;
  std::vector<float> scratch_;  // the sparse table's passes alternate between maxima_ and this
};

class Limiter {
 public:
  static constexpr double kLookaheadMs = 3.0;
  static constexpr int kGuardFrames = 8;

  // W at a sample rate.
  [[nodiscard]] static int lookahead_frames(double sample_rate_hz) noexcept;

  void prepare(const ProcessSpec& spec);
  void reset() noexcept;
  // Ceiling and release take effect at the next frame.
  void set_parameters(const LimiterParameters& parameters) noexcept;
  [[nodiscard]] const LimiterParameters& parameters() const noexcept { return parameters_; }

  void process(AudioBlock block) noexcept;
  // The same with the side chain given: `held_peaks[i]` is a LimiterSideChain's output for frame i of this
  // block, recorded on the signal before a gain of `peak_scale` (the block holds the signal after it).
  void process(AudioBlock block, const float* held_peaks, float peak_scale) noexcept;

  // Delay of the audio through the limiter (lookahead + detector alignment).
  [[nodiscard]] int latency_frames() const noexcept {
    return lookahead_frames_ - 1 + kGuardFrames + TruePeakDetector::kLatencyFrames;
  }
  [[nodiscard]] int lookahead_frames() const noexcept { return lookahead_frames_; }

  // Whether the gain-reduction statistics below are kept (default): a pass that only needs the output, such
  // as a loudness loop's trial, turns them off and skips their per-frame work.
  void set_statistics_enabled(bool enabled) noexcept { statistics_ = enabled; }

  // Over everything processed since prepare()/reset() with statistics enabled, dB, positive; the mean is
  // over those frames.
  [[nodiscard]] double max_gain_reduction_db() const noexcept;
  [[nodiscard]] double mean_gain_reduction_db() const noexcept;

 private:
  static constexpr std::size_t kChunkFrames = LimiterSideChain::kChunkFrames;
  static constexpr double kGainOne = 1073741824.0;  // 2^30: fixed-point unit of the running sum

  void process_chunk(AudioBlock block, std::size_t offset, std::size_t n, const float* held, float scale) noexcept;
  // Release, smoothing and statistics for one chunk, into gains_.
  void compute_gains(const float* held, float scale, std::size_t n) noexcept;

  LimiterParameters parameters_;
  double sample_rate_hz_ = 48000.0;
  int num_channels_ = 2;
  int lookahead_frames_ = 0;
  float ceiling_ = 1.0F;         // linear, for the clamp
  float ceiling_target_ = 1.0F;  // linear, what the gain aims at
  // One-pole coefficients per frame, c = 1 - exp(-1 / frames).
  double fast_release_coefficient_ = 0.0;
  double slow_release_coefficient_ = 0.0;
  double sustain_coefficient_ = 0.0;

  LimiterSideChain side_chain_;
  std::vector<float> held_;      // the side chain's output for one chunk (live detection)
  std::vector<float> required_;  // one chunk's required gains
  // Per channel: the last latency_frames() inputs, then the chunk; output frame i is delayed_[c][i].
  std::array<std::vector<float>, kMaxChannels> delayed_;
  // Released gains in 2^30 fixed point: the last W, then the chunk's.
  std::vector<std::int64_t> fixed_;
  std::vector<double> gains_;  // one chunk
  double released_ = 1.0;      // the fast envelope
  double sustained_ = 1.0;     // the slow envelope
  std::int64_t average_sum_ = 0;
  std::int64_t average_full_ = 0;  // W * 2^30
  double average_scale_ = 0.0;     // 1 / (W * 2^30)

  bool statistics_ = true;
  double min_gain_ = 1.0;
  double gain_product_ = 1.0;  // product of the gains since the last fold into the sum below
  int product_frames_ = 0;
  double reduction_log2_sum_ = 0.0;
  std::uint64_t frames_processed_ = 0;
};

}  // namespace spectrum::dsp
