#include "support/signals.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <random>
#include <vector>

#include "dsp/loudness_meter.h"

namespace spectrum::test {
namespace {

constexpr double kTwoPi = 2.0 * std::numbers::pi;

std::size_t frames_for(double sample_rate_hz, double seconds) {
  return static_cast<std::size_t>(std::llround(std::max(0.0, seconds) * sample_rate_hz));
}

double db_to_gain(double db) {
  return std::pow(10.0, db / 20.0);
}

// Amplitude factor of a tilt that pivots at 1 kHz.
double tilt_gain(double frequency_hz, double tilt_db_per_octave) {
  return db_to_gain(tilt_db_per_octave * std::log2(frequency_hz / 1000.0));
}

}  // namespace

AudioBuffer sine(double sample_rate_hz, double seconds, double frequency_hz, double level_dbfs, int channels,
                 double phase_rad) {
  AudioBuffer out(channels, frames_for(sample_rate_hz, seconds));
  const double amplitude = db_to_gain(level_dbfs);
  const double step = kTwoPi * frequency_hz / sample_rate_hz;
  for (std::size_t i = 0; i < out.num_frames(); ++i) {
    const auto v = static_cast<float>(amplitude * std::sin(step * static_cast<double>(i) + phase_rad));
    for (int c = 0; c < channels; ++c) out.channel(c)[i] = v;
  }
  return out;
}

AudioBuffer white_noise(double sample_rate_hz, double seconds, double rms_dbfs, int channels, std::uint32_t seed) {
  AudioBuffer out(channels, frames_for(sample_rate_hz, seconds));
  std::mt19937 rng(seed);
  std::normal_distribution<double> normal(0.0, db_to_gain(rms_dbfs));
  for (int c = 0; c < channels; ++c) {
    for (std::size_t i = 0; i < out.num_frames(); ++i) out.channel(c)[i] = static_cast<float>(normal(rng));
  }
  return out;
}

AudioBuffer pink_noise(double sample_rate_hz, double seconds, double rms_dbfs, int channels, std::uint32_t seed) {
  AudioBuffer out(channels, frames_for(sample_rate_hz, seconds));
  std::mt19937 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  const std::size_t skip = frames_for(sample_rate_hz, 0.5);  // let the slowest pole settle
  for (int c = 0; c < channels; ++c) {
    double b0 = 0, b1 = 0, b2 = 0, b3 = 0, b4 = 0, b5 = 0, b6 = 0;
    double sum_squares = 0.0;
    float* x = out.channel(c);
    for (std::size_t i = 0; i < out.num_frames() + skip; ++i) {
      const double w = normal(rng);
      // Kellet's "refined" filter: parallel one-pole sections whose sum approximates 1/sqrt(f) (44.1 kHz design;
      // its poles sit below 5 kHz, so the slope holds at the other common rates within the bands we test).
      b0 = 0.99886 * b0 + w * 0.0555179;
      b1 = 0.99332 * b1 + w * 0.0750759;
      b2 = 0.96900 * b2 + w * 0.1538520;
      b3 = 0.86650 * b3 + w * 0.3104856;
      b4 = 0.55000 * b4 + w * 0.5329522;
      b5 = -0.7616 * b5 - w * 0.0168980;
      const double pink = b0 + b1 + b2 + b3 + b4 + b5 + b6 + w * 0.5362;
      b6 = w * 0.115926;
      if (i >= skip) {
        x[i - skip] = static_cast<float>(pink);
        sum_squares += pink * pink;
      }
    }
    const double rms = std::sqrt(sum_squares / static_cast<double>(std::max<std::size_t>(1, out.num_frames())));
    const double gain = rms > 0.0 ? db_to_gain(rms_dbfs) / rms : 0.0;
    for (std::size_t i = 0; i < out.num_frames(); ++i) x[i] = static_cast<float>(static_cast<double>(x[i]) * gain);
  }
  return out;
}

AudioBuffer music_like(const MusicLikeOptions& o) {
  const double fs = o.sample_rate_hz;
  const std::size_t frames = frames_for(fs, o.seconds);
  const int channels = std::clamp(o.channels, 1, 2);
  std::mt19937 rng(o.seed);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  std::normal_distribution<double> normal(0.0, 1.0);

  // Phrase envelope: one level per 4 s section, 200 ms ramps between them.
  const std::size_t section = frames_for(fs, 4.0);
  std::vector<double> section_gain(frames / std::max<std::size_t>(1, section) + 2);
  for (auto& g : section_gain) g = db_to_gain(-o.dynamics_db * uniform(rng));
  const double ramp = 0.2 * fs;

  // A-minor-ish progression (Am F C G), root and chord tones in Hz.
  const double roots[4] = {110.0, 87.31, 130.81, 98.0};
  const double chord_ratios[3] = {1.0, 1.1892, 1.4983};  // root, minor third, fifth (approximately)
  // Harmonic amplitudes 1/h with the tilt, per chord, voice and harmonic (computed once).
  double harmonic_gain[4][3][7] = {};
  for (int ch = 0; ch < 4; ++ch) {
    for (int v = 0; v < 3; ++v) {
      for (int h = 1; h <= 6; ++h) {
        const double f = 2.0 * roots[ch] * chord_ratios[v] * h;
        harmonic_gain[ch][v][h] = tilt_gain(f, o.tilt_db_per_octave) / h;
      }
    }
  }
  const double beat_s = 0.5;  // 120 bpm
  const double bar_s = 4 * beat_s;

  // Per-channel detail: independent noise, and a tonal phase offset that shrinks as correlation rises.
  const double rho = std::clamp(o.stereo_correlation, 0.0, 1.0);
  const double side = std::sqrt(1.0 - rho * rho);
  const double bass_gain = db_to_gain(o.bass_db);
  const double hit_gain = db_to_gain(o.transient_db);
  double hat_state[2] = {0.0, 0.0};
  double hat_prev[2] = {0.0, 0.0};
  // Darker (negative tilt) noise passes through a one-pole low-pass; brighter noise gets a first difference.
  const double hat_pole = o.tilt_db_per_octave < 0.0 ? std::clamp(-o.tilt_db_per_octave / 6.0, 0.0, 0.95) : 0.0;
  const double hat_edge = o.tilt_db_per_octave > 0.0 ? std::clamp(o.tilt_db_per_octave / 6.0, 0.0, 1.0) : 0.0;

  AudioBuffer out(channels, frames);
  for (std::size_t i = 0; i < frames; ++i) {
    const double t = static_cast<double>(i) / fs;
    const std::size_t k = i / std::max<std::size_t>(1, section);
    const double into = static_cast<double>(i - k * section);
    const double env = (k > 0 && into < ramp)
                           ? section_gain[k - 1] + (section_gain[k] - section_gain[k - 1]) * (into / ramp)
                           : section_gain[k];
    const int chord = static_cast<int>(t / bar_s) % 4;
    const double beat_t = std::fmod(t, beat_s);
    const int beat = static_cast<int>(t / beat_s) % 4;
    const double eighth_t = std::fmod(t, beat_s / 2.0);

    // Kick: pitch drop 110 -> 50 Hz, 150 ms decay. Snare: noise burst with 120 ms decay on beats 2 and 4.
    const double kick_f = 50.0 + 60.0 * std::exp(-beat_t / 0.03);
    const double kick = 0.9 * bass_gain * std::sin(kTwoPi * kick_f * beat_t) * std::exp(-beat_t / 0.15);
    const double snare_env = (beat == 1 || beat == 3) ? std::exp(-beat_t / 0.12) : 0.0;
    const double snare_common = normal(rng);
    const double hits_common = hit_gain * (kick + 0.5 * snare_env * snare_common);

    // Bass line on the chord root, one octave down, with its second harmonic; notes re-attack each beat.
    const double bass_f = roots[chord] / 2.0;
    const double bass_env = 0.6 + 0.4 * std::exp(-beat_t / 0.2);
    const double bass =
        0.5 * bass_gain * bass_env * (std::sin(kTwoPi * bass_f * t) + 0.3 * std::sin(kTwoPi * 2.0 * bass_f * t));

    // Chords: three voices, six harmonics each (1/h, tilted). sin(h theta) and cos(h theta) come from the
    // Chebyshev recurrence; the right channel mixes in the cosine set, which is uncorrelated with the sine set,
    // so the pad's L/R correlation is stereo_correlation.
    double pad_sin = 0.0;
    double pad_cos = 0.0;
    for (int v = 0; v < 3; ++v) {
      const double f0 = 2.0 * roots[chord] * chord_ratios[v];
      const double theta = kTwoPi * f0 * t;
      const double s1 = std::sin(theta);
      const double c1 = std::cos(theta);
      double s_prev = 0.0, c_prev = 1.0, s_h = s1, c_h = c1;
      for (int h = 1; h <= 6 && f0 * h < 0.45 * fs; ++h) {
        const double a = harmonic_gain[chord][v][h];
        pad_sin += a * s_h;
        pad_cos += a * c_h;
        const double s_next = 2.0 * c1 * s_h - s_prev;
        const double c_next = 2.0 * c1 * c_h - c_prev;
        s_prev = s_h;
        c_prev = c_h;
        s_h = s_next;
        c_h = c_next;
      }
    }

    for (int c = 0; c < channels; ++c) {
      const double pad = 0.12 * (c == 0 ? pad_sin : rho * pad_sin + side * pad_cos);

      // Hi-hats on every eighth: 40 ms noise bursts, common part plus per-channel part.
      const double hat_env = std::exp(-eighth_t / 0.04);
      const double noise = rho * snare_common + side * normal(rng);
      hat_state[c] = hat_pole * hat_state[c] + (1.0 - hat_pole) * noise;
      const double shaped = hat_state[c] + hat_edge * (noise - hat_prev[c]);
      hat_prev[c] = noise;
      const double hats = 0.15 * hat_env * shaped * tilt_gain(8000.0, o.tilt_db_per_octave);

      const double hits = hits_common + (c == 1 ? hit_gain * 0.5 * snare_env * side * normal(rng) : 0.0);
      out.channel(c)[i] = static_cast<float>(env * (pad + bass + hats + hits));
    }
  }

  // Level by measurement, then the optional hard clip.
  const double measured = integrated_lufs(out, fs);
  if (std::isfinite(measured)) apply_gain_db(out, o.loudness_lufs - measured);
  if (o.clip_ceiling_dbfs < 90.0) {
    const auto ceiling = static_cast<float>(db_to_gain(o.clip_ceiling_dbfs));
    for (int c = 0; c < channels; ++c) {
      float* x = out.channel(c);
      for (std::size_t i = 0; i < frames; ++i) x[i] = std::clamp(x[i], -ceiling, ceiling);
    }
  }
  return out;
}

void apply_gain_db(AudioBuffer& buffer, double gain_db) {
  const auto gain = static_cast<float>(db_to_gain(gain_db));
  for (int c = 0; c < buffer.num_channels(); ++c) {
    float* x = buffer.channel(c);
    for (std::size_t i = 0; i < buffer.num_frames(); ++i) x[i] *= gain;
  }
}

double integrated_lufs(const AudioBuffer& buffer, double sample_rate_hz) {
  dsp::LoudnessMeter meter;
  meter.prepare(sample_rate_hz, buffer.num_channels(),
                {false, static_cast<double>(buffer.num_frames()) / sample_rate_hz});
  std::vector<const float*> channels;
  for (int c = 0; c < buffer.num_channels(); ++c) channels.push_back(buffer.channel(c));
  meter.process(channels.data(), buffer.num_channels(), buffer.num_frames());
  return meter.integrated_lufs();
}

}  // namespace spectrum::test
