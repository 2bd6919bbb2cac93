#include "dsp/true_peak.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstring>

namespace spectrum::dsp {
namespace {

constexpr int kTaps = TruePeakDetector::kTapsPerPhase;
constexpr int kPhases = TruePeakDetector::kPhases;

// BS.1770-4 Annex 2, Table 1: the 48 coefficients of the interpolating FIR, stored by tap so one input
// sample multiplies the four phases at once: kCoefficients[k][p] = h[4k + p], applied to x[n - k].
constexpr float kCoefficients[kTaps][kPhases] = {
    {0.0017089843750F, -0.0291748046875F, -0.0189208984375F, -0.0083007812500F},
    {0.0109863281250F, 0.0292968750000F, 0.0330810546875F, 0.0148925781250F},
    {-0.0196533203125F, -0.0517578125000F, -0.0582275390625F, -0.0266113281250F},
    {0.0332031250000F, 0.0891113281250F, 0.1015625000000F, 0.0476074218750F},
    {-0.0594482421875F, -0.1665039062500F, -0.2003173828125F, -0.1022949218750F},
    {0.1373291015625F, 0.4650878906250F, 0.7797851562500F, 0.9721679687500F},
    {0.9721679687500F, 0.7797851562500F, 0.4650878906250F, 0.1373291015625F},
    {-0.1022949218750F, -0.2003173828125F, -0.1665039062500F, -0.0594482421875F},
    {0.0476074218750F, 0.1015625000000F, 0.0891113281250F, 0.0332031250000F},
    {-0.0266113281250F, -0.0582275390625F, -0.0517578125000F, -0.0196533203125F},
    {0.0148925781250F, 0.0330810546875F, 0.0292968750000F, 0.0109863281250F},
    {-0.0083007812500F, -0.0189208984375F, -0.0291748046875F, 0.0017089843750F},
};

// Four lanes, one per phase. GCC/Clang vector extensions compile to SSE/NEON without intrinsics.
typedef float Phases __attribute__((vector_size(16)));

// The table reversed in time, as lane vectors: kTapVectors[j] multiplies x[n - 11 + j].
struct TapVectors {
  Phases taps[kTaps];
};
constexpr TapVectors make_tap_vectors() {
  TapVectors t{};
  for (int j = 0; j < kTaps; ++j) {
    const auto* row = kCoefficients[kTaps - 1 - j];
    t.taps[j] = Phases{row[0], row[1], row[2], row[3]};
  }
  return t;
}
constexpr TapVectors kTapVectors = make_tap_vectors();

// max_p |y_p[n]| for the 12 inputs oldest[0..11] = x[n - 11 .. n]. Both process() and process_block()
// call this, so their results agree bit for bit. Two partial sums halve the add dependency chain.
inline float peak_of_window(const float* oldest) noexcept {
  Phases even = kTapVectors.taps[0] * oldest[0];
  Phases odd = kTapVectors.taps[1] * oldest[1];
  for (int j = 2; j < kTaps; j += 2) {
    even += kTapVectors.taps[j] * oldest[j];
    odd += kTapVectors.taps[j + 1] * oldest[j + 1];
  }
  const Phases y = even + odd;
  const float a0 = std::fabs(y[0]);
  const float a1 = std::fabs(y[1]);
  const float a2 = std::fabs(y[2]);
  const float a3 = std::fabs(y[3]);
  return std::max(std::max(a0, a1), std::max(a2, a3));
}

// Eight consecutive outputs at once, vectorised across samples, for process_block(). Each lane does the
// same multiplies and adds in the same order as peak_of_window() (no FMA contraction in ISO C++ mode), so
// both forms agree bit for bit. Built twice: with AVX2 (one 8-lane register) where the CPU has it, and for
// the baseline ISA (two 4-lane registers), picked once at load time.
typedef float Eight __attribute__((vector_size(32)));

__attribute__((target_clones("avx2", "default"))) std::size_t peaks_of_eights(const float* chronological,
                                                                              float* peaks_out,
                                                                              std::size_t count) noexcept {
  std::size_t i = 0;
  for (; i + 8 <= count; i += 8) {
    const float* oldest = chronological + i;
    Eight peak = {};
    for (int p = 0; p < kPhases; ++p) {
      Eight x0;
      Eight x1;
      std::memcpy(&x0, oldest, sizeof x0);  // unaligned loads
      std::memcpy(&x1, oldest + 1, sizeof x1);
      Eight even = kTapVectors.taps[0][p] * x0;
      Eight odd = kTapVectors.taps[1][p] * x1;
      for (int j = 2; j < kTaps; j += 2) {
        std::memcpy(&x0, oldest + j, sizeof x0);
        std::memcpy(&x1, oldest + j + 1, sizeof x1);
        even += kTapVectors.taps[j][p] * x0;
        odd += kTapVectors.taps[j + 1][p] * x1;
      }
      const Eight y = even + odd;
      const Eight magnitude = y < 0.0F ? -y : y;
      peak = magnitude > peak ? magnitude : peak;
    }
    std::memcpy(peaks_out + i, &peak, sizeof peak);
  }
  return i;
}

// Chunk for process_block: large enough to amortise the history copy, small enough for the stack.
constexpr std::size_t kChunkFrames = 256;

}  // namespace

void TruePeakDetector::prepare(double sample_rate_hz) {
  sample_rate_hz_ = sample_rate_hz;
  reset();
}

void TruePeakDetector::reset() noexcept {
  history_.fill(0.0F);
  pos_ = 0;
}

float TruePeakDetector::process(float x) noexcept {
  pos_ = (pos_ == kTaps - 1) ? 0 : pos_ + 1;
  history_[static_cast<std::size_t>(pos_)] = x;
  history_[static_cast<std::size_t>(pos_ + kTaps)] = x;
  return peak_of_window(history_.data() + pos_ + 1);  // x[n - 11] .. x[n]
}

void TruePeakDetector::process_block(const float* x, float* peaks_out, std::size_t n) noexcept {
  if (n == 0) return;
  // Chronological: buffer[0 .. 10] are the 11 inputs before the chunk, then the chunk itself.
  float buffer[kTaps - 1 + kChunkFrames];
  std::copy_n(history_.data() + pos_ + 2, kTaps - 1, buffer);
  for (std::size_t start = 0; start < n; start += kChunkFrames) {
    const std::size_t count = std::min(kChunkFrames, n - start);
    std::copy_n(x + start, count, buffer + kTaps - 1);
    std::size_t i = peaks_of_eights(buffer, peaks_out + start, count);
    for (; i < count; ++i) peaks_out[start + i] = peak_of_window(buffer + i);
    std::copy_n(buffer + count, kTaps - 1, buffer);  // the newest 11 inputs lead the next chunk
  }
  // Leave the ring as process() expects it: with pos_ = 0 the next input goes to slots 1 and 13 and
  // the window is slots 2 .. 13, so slots 2 .. 12 hold the newest 11 inputs, oldest first.
  pos_ = 0;
  for (int j = 0; j < kTaps - 1; ++j) {
    history_[static_cast<std::size_t>(j + 2)] = buffer[j];
    if (j + 2 + kTaps < 2 * kTaps) history_[static_cast<std::size_t>(j + 2 + kTaps)] = buffer[j];
  }
  history_[0] = buffer[kTaps - 2];  // slot 0 mirrors slot 12
}

}  // namespace spectrum::dsp
