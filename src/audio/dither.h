// Deterministic TPDF dither for integer quantisation.
// The noise is the sum of two independent uniform variables of 1 LSB width each (±0.5 LSB), so it is
// triangular over ±1 LSB: it removes the correlation between the signal and the rounding error at the
// cost of ~4.8 dB more noise than plain rounding. One PRNG step per sample, in frame order, makes the
// output independent of how the caller splits the signal into blocks.
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>

#include "common/audio_block.h"

namespace spectrum::audio {

// splitmix64: tiny, fast, full period, good enough statistics for dither, and any seed (even 0) works.
class SplitMix64 {
 public:
  explicit SplitMix64(std::uint64_t seed) noexcept : state_(seed) {}
  std::uint64_t next() noexcept {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }

 private:
  std::uint64_t state_;
};

class TpdfDither {
 public:
  explicit TpdfDither(std::uint64_t seed) noexcept : rng_(seed) {}

  // Triangular noise in (-1, 1) LSB from the two 32-bit halves of one PRNG output.
  double next_lsb() noexcept {
    const std::uint64_t bits = rng_.next();
    constexpr double kScale = 1.0 / 4294967296.0;  // 2^-32
    const double u1 = static_cast<double>(bits & 0xFFFFFFFFULL) * kScale;
    const double u2 = static_cast<double>(bits >> 32) * kScale;
    return u1 - u2;  // (u1 - 0.5) + (0.5 - u2)
  }

 private:
  SplitMix64 rng_;
};

// Quantises a nominal [-1, 1] sample to a signed integer of `bits` bits (full scale 2^(bits-1)), rounding
// to nearest after adding `dither_lsb` and clipping to the integer range. Non-finite input becomes 0.
inline std::int32_t quantize_sample(float sample, int bits, double dither_lsb) noexcept {
  const auto full_scale = static_cast<double>(std::int64_t{1} << (bits - 1));
  double scaled = static_cast<double>(sample) * full_scale + dither_lsb;
  // Clipping to integer bounds first gives the same result as rounding first, and keeps |scaled| small
  // enough for the rounding below: adding and removing 1.5 * 2^52 rounds to nearest, ties to even, as
  // nearbyint() does in the default mode, without a library call per sample (baseline x86-64 has no
  // rounding instruction). No branches, so loops over samples vectorise: a non-finite sample (all exponent
  // bits set) is zeroed by a mask on the integer.
  scaled = scaled > full_scale - 1.0 ? full_scale - 1.0 : scaled;
  scaled = scaled < -full_scale ? -full_scale : scaled;
  constexpr double kRoundingShift = 6755399441055744.0;  // 1.5 * 2^52
  const auto rounded = static_cast<std::int32_t>((scaled + kRoundingShift) - kRoundingShift);
  constexpr std::uint32_t kExponent = 0x7F800000U;
  const auto finite = static_cast<std::int32_t>((std::bit_cast<std::uint32_t>(sample) & kExponent) != kExponent);
  return rounded & -finite;
}

// Rounds planar float samples in place to what a `bits`-bit integer PCM file stores, k / 2^(bits-1): TPDF
// dither at 16 bits (one draw per sample in frame order, then channel, so any block split gives the same
// result), plain rounding at 24, clipped to the integer range. A decoder reads exactly these values back.
// bits == 0 (float or lossy output) leaves the samples as they are.
class SampleRounder {
 public:
  SampleRounder(int bits, std::uint64_t dither_seed) noexcept : bits_(bits), dither_(dither_seed) {}
  void process(float* const* channels, int num_channels, std::size_t num_frames) noexcept {
    if (bits_ == 0) return;
    const auto step = static_cast<float>(1.0 / static_cast<double>(std::int64_t{1} << (bits_ - 1)));  // exact
    if (bits_ != 16) {  // no dither: each channel in its own loop, which vectorises
      for (int c = 0; c < num_channels; ++c) {
        float* x = channels[c];
        for (std::size_t i = 0; i < num_frames; ++i)
          x[i] = static_cast<float>(quantize_sample(x[i], bits_, 0.0)) * step;
      }
      return;
    }
    for (std::size_t i = 0; i < num_frames; ++i) {
      for (int c = 0; c < num_channels; ++c) {
        float& x = channels[c][i];
        x = static_cast<float>(quantize_sample(x, bits_, dither_.next_lsb())) * step;
      }
    }
  }
  void process(const AudioBlock& block) noexcept {
    process(block.channels(), block.num_channels(), block.num_frames());
  }

 private:
  int bits_;
  TpdfDither dither_;
};

}  // namespace spectrum::audio
