// Deterministic test signals as planar AudioBuffers (mono or stereo). Same arguments, same samples.
#pragma once

#include <cstdint>

#include "common/audio_block.h"

namespace spectrum::test {

// level_dbfs is the peak of the sine; every channel carries the same samples.
AudioBuffer sine(double sample_rate_hz, double seconds, double frequency_hz, double level_dbfs, int channels = 2,
                 double phase_rad = 0.0);

// Gaussian noise with the given RMS per channel, independent channels; seeded.
AudioBuffer white_noise(double sample_rate_hz, double seconds, double rms_dbfs, int channels, std::uint32_t seed);

// -3 dB/octave noise (equal power per octave), RMS per channel as given; seeded. Flat within about 0.5 dB
// per third-octave band from 20 Hz to 20 kHz (Paul Kellet's published pole/zero set).
AudioBuffer pink_noise(double sample_rate_hz, double seconds, double rms_dbfs, int channels, std::uint32_t seed);

// A stand-in for a mixed song: chords with harmonics, a bass line, a kick on every beat, a snare on 2 and 4,
// hi-hats, under a phrase envelope that changes level every 4 s. Typical readings (20 s, 48 kHz): defaults
// -18 LUFS, LRA ~5, sample peak ~-1..+2 dBFS (float, unclipped); loudness -35 with dynamics 20 and transients
// +12 dB: LRA ~17; loudness -4 clipped at 0 dBFS: ~-5.5 LUFS, true peak ~+5 dBTP; L/R correlation 0.82 (0.2)
// to 0.995 (0.98).
struct MusicLikeOptions {
  double sample_rate_hz = 48000.0;
  int channels = 2;
  double seconds = 20.0;
  double loudness_lufs = -18.0;     // integrated loudness set by LoudnessMeter, before clipping
  double dynamics_db = 6.0;         // phrase levels drawn uniformly in [-dynamics_db, 0] dB
  double transient_db = 0.0;        // kick/snare level relative to the default mix
  double tilt_db_per_octave = 0.0;  // >0 brighter, <0 darker (harmonics and noise, pivot 1 kHz)
  double bass_db = 0.0;             // bass line and kick body level relative to the default mix
  double stereo_correlation = 0.6;  // L/R correlation of chords, hats, snare; bass, kick centred
  double clip_ceiling_dbfs = 99.0;  // hard clip after the loudness is set (>= 0 dBFS to hit the tops)
  std::uint32_t seed = 1;
};
AudioBuffer music_like(const MusicLikeOptions& options);

// Multiplies every sample by 10^(gain_db / 20).
void apply_gain_db(AudioBuffer& buffer, double gain_db);

// BS.1770 integrated loudness by the project's LoudnessMeter (convenience for tests).
double integrated_lufs(const AudioBuffer& buffer, double sample_rate_hz);

}  // namespace spectrum::test
