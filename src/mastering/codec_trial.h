// A trial encode of a lossy output's most demanding sections, so the one real encode can aim right: how far
// the codec lifts the true peak over what the limiter delivered (its overshoot), and how much it shifts the
// loudness (it drops the top of the spectrum, which K-weighting counts).
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

#include "audio/encoder.h"
#include "common/audio_block.h"
#include "common/status.h"
#include "mastering/analysis.h"

namespace spectrum::mastering {

inline constexpr int kTrialSections = 6;
inline constexpr double kTrialSectionS = 1.5;
inline constexpr double kTrialWarmUpS = 1.0;  // the limiter's state settles well within it (slow release 400 ms)

// Keeps, as a pass streams the pre-limiter signal by, the kTrialSections windows of kTrialSectionS (on a fixed
// grid) with the highest sample peaks, where the limiter will work hardest, each with kTrialWarmUpS of the
// audio before it; and the first and last windows, where the encoder starts and stops (an abrupt start is
// where AAC overshoots most). Memory is fixed in prepare(); process() neither allocates nor throws.
class TrialSections {
 public:
  struct Section {
    std::vector<std::vector<float>> audio;  // per channel: warm-up, then the window
    std::size_t frames = 0;                 // of the window (the last one may be short)
    float peak = -1.0F;                     // -1: unused
  };

  void prepare(const ProcessSpec& spec);
  void process(const AudioBlock& block) noexcept;
  // Offers the last, partial window.
  void finish() noexcept;
  [[nodiscard]] const std::vector<Section>& sections() const noexcept { return kept_; }
  [[nodiscard]] const Section& first() const noexcept { return first_; }
  [[nodiscard]] const Section& last() const noexcept { return last_; }
  [[nodiscard]] bool single_window() const noexcept { return windows_ == 1; }
  [[nodiscard]] std::size_t warm_up_frames() const noexcept { return warm_up_; }
  [[nodiscard]] int num_channels() const noexcept { return channels_; }

 private:
  void offer_window() noexcept;
  void copy_window(Section& to) const noexcept;

  int channels_ = 0;
  std::size_t window_ = 0;
  std::size_t warm_up_ = 0;
  std::vector<std::vector<float>> history_;  // per channel, circular: the last warm-up + window frames
  std::size_t written_ = 0;                  // frames ever written into history_
  std::size_t in_window_ = 0;                // frames of the current window so far
  float window_peak_ = 0.0F;
  std::size_t windows_ = 0;  // completed so far
  std::vector<Section> kept_;
  Section first_;
  Section last_;
};

struct CodecTrial {
  double peak_overshoot_db = 0.0;  // decoded true peak minus the true peak fed to the encoder
  double loudness_shift_db = 0.0;  // decoded minus fed, as energy over the same sections
  double seconds = 0.0;            // of audio encoded
};

struct CodecTrialInput {
  const TrialSections* sections = nullptr;
  double sample_rate_hz = 0.0;
  double gain_db = 0.0;  // ahead of the limiter
  double limiter_ceiling_dbtp = 0.0;
  audio::EncoderOptions encoder;
  std::filesystem::path scratch;  // a temporary file for the trial; removed by the caller
};

// What encode_trial() fed the encoder: its measurement and the seconds of section audio in it.
struct TrialEncode {
  TrackAnalysis fed;
  double seconds = 0.0;
};

// Each section limited as in the real pass (from its warm-up), faded in and out, with silence between, encoded
// in one file at input.scratch. Errors: the encoder's. The caller decodes and measures the file as it measures
// every file it encodes, then codec_effect() compares.
Expected<TrialEncode> encode_trial(const CodecTrialInput& input);
CodecTrial codec_effect(const TrialEncode& encoded, const TrackAnalysis& decoded);

}  // namespace spectrum::mastering
