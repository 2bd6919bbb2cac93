#include "mastering/codec_trial.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "dsp/max_abs.h"
#include "mastering/chain.h"

namespace spectrum::mastering {
namespace {

constexpr double kFadeS = 0.05;  // no onset out of silence for the codec to pre-echo on (AAC's window is 43 ms)
constexpr double kGapS = 0.1;    // silence between sections

// Energy of a measured signal (mean square times duration, so a codec that resamples compares alike), in dB.
double energy_db(const TrackAnalysis& a) {
  return a.whole_programme_lufs + 10.0 * std::log10(std::max(a.measurement.duration_s, 1e-9));
}

double true_peak_db(const TrackAnalysis& a) {
  return std::max(a.measurement.true_peak_dbtp, a.measurement.sample_peak_dbfs);
}

}  // namespace

void TrialSections::prepare(const ProcessSpec& spec) {
  channels_ = spec.num_channels;
  window_ = std::max<std::size_t>(1, static_cast<std::size_t>(kTrialSectionS * spec.sample_rate_hz));
  warm_up_ = static_cast<std::size_t>(kTrialWarmUpS * spec.sample_rate_hz);
  history_.assign(static_cast<std::size_t>(channels_), std::vector<float>(warm_up_ + window_, 0.0F));
  Section empty;
  empty.audio.assign(static_cast<std::size_t>(channels_), std::vector<float>(warm_up_ + window_, 0.0F));
  kept_.assign(kTrialSections, empty);
  first_ = empty;
  last_ = empty;
  written_ = in_window_ = windows_ = 0;
  window_peak_ = 0.0F;
}

void TrialSections::process(const AudioBlock& block) noexcept {
  const std::size_t length = warm_up_ + window_;
  for (std::size_t pos = 0; pos < block.num_frames();) {
    const std::size_t at = written_ % length;
    const std::size_t n = std::min({block.num_frames() - pos, window_ - in_window_, length - at});
    for (int c = 0; c < channels_; ++c) {
      const float* x = block.channel(c) + pos;
      std::copy_n(x, n, history_[static_cast<std::size_t>(c)].data() + at);
      window_peak_ = std::max(window_peak_, dsp::max_abs(x, n));
    }
    pos += n;
    written_ += n;
    in_window_ += n;
    if (in_window_ == window_) offer_window();
  }
}

void TrialSections::finish() noexcept {
  if (in_window_ > 0) offer_window();
}

void TrialSections::copy_window(Section& to) const noexcept {
  // history_ ends at the window's last frame: unroll it, oldest first.
  const std::size_t length = warm_up_ + window_;
  const std::size_t oldest = written_ % length;
  for (int c = 0; c < channels_; ++c) {
    const auto& ring = history_[static_cast<std::size_t>(c)];
    auto& out = to.audio[static_cast<std::size_t>(c)];
    std::copy(ring.begin() + static_cast<std::ptrdiff_t>(oldest), ring.end(), out.begin());
    std::copy_n(ring.begin(), oldest, out.begin() + static_cast<std::ptrdiff_t>(length - oldest));
    // A short last window ends early: shift it so that it follows its warm-up at the slot's start.
    if (in_window_ < window_) {
      std::copy(out.begin() + static_cast<std::ptrdiff_t>(window_ - in_window_), out.end(), out.begin());
    }
  }
  to.frames = in_window_;
  to.peak = window_peak_;
}

void TrialSections::offer_window() noexcept {
  if (windows_ == 0) copy_window(first_);
  copy_window(last_);
  ++windows_;
  auto weakest =
      std::min_element(kept_.begin(), kept_.end(), [](const Section& a, const Section& b) { return a.peak < b.peak; });
  if (windows_ > 1 && window_peak_ > weakest->peak) copy_window(*weakest);  // the first window has its own slot
  in_window_ = 0;
  window_peak_ = 0.0F;
}

Expected<TrialEncode> encode_trial(const CodecTrialInput& input) {
  const TrialSections& store = *input.sections;
  const double rate = input.sample_rate_hz;
  const int channels = store.num_channels();
  const auto fade = static_cast<std::size_t>(kFadeS * rate);
  const auto gap = static_cast<std::size_t>(kGapS * rate);
  const std::size_t warm_up = store.warm_up_frames();

  const ProcessSpec spec{rate, 4096, channels};
  OutputStage stage;
  stage.prepare(spec, input.limiter_ceiling_dbtp);
  stage.set_gain_db(input.gain_db);
  stage.set_statistics_enabled(false);
  const auto latency = static_cast<std::size_t>(stage.latency_frames());

  auto encoder = audio::Encoder::create(input.scratch, input.encoder);
  if (!encoder) return std::move(encoder).error();
  TrackAnalyzer fed;
  fed.prepare(rate, channels, 0.0, {.true_peak = true, .spectrum = false});

  const std::size_t slot = store.sections().empty() ? 0 : store.sections().front().audio.front().size();
  AudioBuffer buffer(channels, slot + latency);
  AudioBuffer silence(channels, gap);
  silence.block().clear();
  TrialEncode trial;
  // The file as the real one starts (no fade-in) and ends (no fade-out); the loudest sections between, faded.
  struct Part {
    const TrialSections::Section* section;
    bool fade_in;
    bool fade_out;
  };
  std::vector<Part> parts{{&store.first(), false, !store.single_window()}};
  for (const TrialSections::Section& s : store.sections()) parts.push_back({&s, true, true});
  if (!store.single_window()) parts.push_back({&store.last(), true, false});
  for (const Part& part : parts) {
    const TrialSections::Section& s = *part.section;
    if (s.peak < 0.0F || s.frames == 0) continue;
    // Limited from the warm-up on, as the real pass does; the limiter's delay is flushed with silence.
    const std::size_t used = warm_up + s.frames;
    buffer.set_num_frames(used + latency);
    for (int c = 0; c < channels; ++c) {
      std::copy_n(s.audio[static_cast<std::size_t>(c)].data(), used, buffer.channel(c));
      std::fill_n(buffer.channel(c) + used, latency, 0.0F);
    }
    stage.reset();
    stage.process(buffer.block());
    const AudioBlock section = buffer.block().sub_block(warm_up + latency, s.frames);
    const std::size_t ramp = std::min(fade, section.num_frames() / 2);
    for (int c = 0; c < channels; ++c) {
      float* x = section.channel(c);
      for (std::size_t i = 0; i < ramp; ++i) {
        const auto g = static_cast<float>(static_cast<double>(i) / static_cast<double>(ramp));
        if (part.fade_in) x[i] *= g;
        if (part.fade_out) x[section.num_frames() - 1 - i] *= g;
      }
    }
    fed.process(section);
    SPECTRUM_TRY((*encoder)->write(section));
    if (part.fade_out) {  // silence between sections; the file ends with the last one as the real file does
      fed.process(silence.block());
      SPECTRUM_TRY((*encoder)->write(silence.block()));
    }
    trial.seconds += static_cast<double>(section.num_frames()) / rate;
  }
  SPECTRUM_TRY((*encoder)->commit());
  trial.fed = fed.finish("");
  return trial;
}

CodecTrial codec_effect(const TrialEncode& encoded, const TrackAnalysis& decoded) {
  return {.peak_overshoot_db = true_peak_db(decoded) - true_peak_db(encoded.fed),
          .loudness_shift_db = energy_db(decoded) - energy_db(encoded.fed),
          .seconds = encoded.seconds};
}

}  // namespace spectrum::mastering
