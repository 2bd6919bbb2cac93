#include "dsp/true_peak.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstring>

#include "dsp/max_abs.h"

namespace spectrum::dsp {
namespace {

// Half-band stages (see the header). c[j] weighs the pair of inputs j + 1/2 either side of the new point,
// so a stage costs one multiply per pair. Designed offline by iteratively reweighted least squares
// (Lawson) on the amplitude response 2 sum_j c[j] cos(w (j + 1/2)) over [0, band]; printed to float.
// Stage 1: band 0.45 of the input rate, max |A - 1| = 0.00264 (A(0) = 0.9975, the ripple's low end).
constexpr float kStage1[16] = {
    6.353120938e-01F, -2.083097903e-01F, 1.209157684e-01F, -8.215248632e-02F, 5.972773000e-02F, -4.486041425e-02F,
    3.418914763e-02F, -2.615331245e-02F, 1.992844192e-02F, -1.503407840e-02F, 1.116604994e-02F, -8.116773324e-03F,
    5.734453117e-03F, -3.901167204e-03F, 2.521471248e-03F, -2.205844982e-03F,
};
// Stage 2: band 0.225 of the 2x rate, max |A - 1| = 0.00019.
constexpr float kStage2[4] = {6.084282803e-01F, -1.396874313e-01F, 3.716365647e-02F, -5.998540449e-03F};
// Stage 3: band 0.1125 of the 4x rate, max |A - 1| = 0.00077.
constexpr float kStage3[2] = {5.682943330e-01F, -6.867372609e-02F};

constexpr std::size_t kReach = TruePeakDetector::kLatencyFrames;  // 19
constexpr std::size_t kChunkFrames = 256;

// One chunk's intermediate streams. For outputs m0 .. m0 + count - 1 (m0 = first new input - 19):
//   x[t]      input m0 - 19 + t                      (count + 38 values: the history, then the chunk)
//   h[t]      stage 1 at m0 - 4 + t + 1/2            (count + 7)
//   qa, qb    stage 2 at m0 - 2 + t + 1/4, + 3/4     (count + 3)
//   e[r][t]   stage 3 at m0 - 1 + t + (2r + 1)/8     (count + 1)
// Each stage is computed over the whole chunk before the next, so every loop runs across samples.
struct Work {
  float x[kChunkFrames + 2 * kReach];
  float h[kChunkFrames + 7];
  float qa[kChunkFrames + 3];
  float qb[kChunkFrames + 3];
  float e[4][kChunkFrames + 1];
};

// Eight consecutive samples in one value. GCC vector extensions: AVX2 registers in the avx2 clone, pairs of
// SSE registers otherwise. Every formula below is a template over float and Eight with the same operations
// in the same order (no FMA contraction in ISO C++ mode), so a lane and a scalar give the same bits.
typedef float Eight __attribute__((vector_size(32)));
// The helpers below pass Eight by value; they are internal and always inlined, so the baseline ABI's
// "AVX vector return" note (how such a value would cross a real call) does not apply.
#pragma GCC diagnostic ignored "-Wpsabi"

template <class V>
[[gnu::always_inline]] inline V load(const float* p) noexcept {
  V v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

template <class V>
[[gnu::always_inline]] inline void store(float* p, V v) noexcept {
  std::memcpy(p, &v, sizeof v);
}

// |v| by clearing the sign bit: one instruction, and the same bits as std::fabs.
[[gnu::always_inline]] inline float magnitude(float v) noexcept {
  return std::fabs(v);
}
[[gnu::always_inline]] inline Eight magnitude(Eight v) noexcept {
  typedef unsigned EightBits __attribute__((vector_size(32)));
  return reinterpret_cast<Eight>(reinterpret_cast<EightBits>(v) & 0x7FFFFFFFU);
}

// Stage 1 at x[0] + 1/2; two partial sums halve the add dependency chain.
template <class V>
[[gnu::always_inline]] inline V stage1(const float* x) noexcept {
  V even = kStage1[0] * (load<V>(x) + load<V>(x + 1));
  V odd = kStage1[1] * (load<V>(x - 1) + load<V>(x + 2));
  for (int j = 2; j < 16; j += 2) {
    even += kStage1[j] * (load<V>(x - j) + load<V>(x + 1 + j));
    odd += kStage1[j + 1] * (load<V>(x - j - 1) + load<V>(x + 2 + j));
  }
  return even + odd;
}

// The 2x stream is x[i], h[i], x[i + 1], ...; stage 2 interpolates it at i + 1/4 (between x[i] and h[i])
// and i + 3/4 (between h[i] and x[i + 1]).
template <class V>
[[gnu::always_inline]] inline V quarter(const float* x, const float* h) noexcept {
  return (kStage2[0] * (load<V>(x) + load<V>(h)) + kStage2[1] * (load<V>(h - 1) + load<V>(x + 1))) +
         (kStage2[2] * (load<V>(x - 1) + load<V>(h + 1)) + kStage2[3] * (load<V>(h - 2) + load<V>(x + 2)));
}
template <class V>
[[gnu::always_inline]] inline V three_quarters(const float* x, const float* h) noexcept {
  return (kStage2[0] * (load<V>(h) + load<V>(x + 1)) + kStage2[1] * (load<V>(x) + load<V>(h + 1))) +
         (kStage2[2] * (load<V>(h - 1) + load<V>(x + 2)) + kStage2[3] * (load<V>(x - 1) + load<V>(h + 2)));
}

// Stage 3 between neighbours b and c of the 4x stream a, b, c, d.
template <class V>
[[gnu::always_inline]] inline V eighth(V a, V b, V c, V d) noexcept {
  return kStage3[0] * (b + c) + kStage3[1] * (a + d);
}

// Floats per step of a pass: 8 for Eight, 1 for the scalar tail (V = float).
template <class V>
inline constexpr std::size_t kLanes = sizeof(V) / sizeof(float);

template <class V>
[[gnu::always_inline]] inline std::size_t run_stage1(Work& w, std::size_t t, std::size_t end) noexcept {
  for (; t + kLanes<V> <= end; t += kLanes<V>) store(w.h + t, stage1<V>(w.x + t + 15));
  return t;
}

template <class V>
[[gnu::always_inline]] inline std::size_t run_stage2(Work& w, std::size_t t, std::size_t end) noexcept {
  for (; t + kLanes<V> <= end; t += kLanes<V>) {
    store(w.qa + t, quarter<V>(w.x + t + 17, w.h + t + 2));
    store(w.qb + t, three_quarters<V>(w.x + t + 17, w.h + t + 2));
  }
  return t;
}

template <class V>
[[gnu::always_inline]] inline std::size_t run_stage3(Work& w, std::size_t t, std::size_t end) noexcept {
  for (; t + kLanes<V> <= end; t += kLanes<V>) {
    const V x0 = load<V>(w.x + t + 18);
    const V x1 = load<V>(w.x + t + 19);
    const V h = load<V>(w.h + t + 3);
    const V qa0 = load<V>(w.qa + t + 1);
    const V qa1 = load<V>(w.qa + t + 2);
    const V qb_prev = load<V>(w.qb + t);
    const V qb0 = load<V>(w.qb + t + 1);
    store(w.e[0] + t, eighth<V>(qb_prev, x0, qa0, h));
    store(w.e[1] + t, eighth<V>(x0, qa0, h, qb0));
    store(w.e[2] + t, eighth<V>(qa0, h, qb0, x1));
    store(w.e[3] + t, eighth<V>(h, qb0, x1, qa1));
  }
  return t;
}

// Per output: the largest of the 8 grid points, carried with its two grid neighbours, then the vertex of
// the parabola through the three. Only a true local maximum is refined; the correction is then at most
// 1/8 of the two differences, so a rough grid cannot make it run away.
template <class V>
[[gnu::always_inline]] inline std::size_t run_refine(const Work& w, float* peaks_out, std::size_t j,
                                                     std::size_t end) noexcept {
  for (; j + kLanes<V> <= end; j += kLanes<V>) {
    const V grid[10] = {load<V>(w.e[3] + j),     load<V>(w.x + j + 19), load<V>(w.e[0] + j + 1), load<V>(w.qa + j + 2),
                        load<V>(w.e[1] + j + 1), load<V>(w.h + j + 4),  load<V>(w.e[2] + j + 1), load<V>(w.qb + j + 2),
                        load<V>(w.e[3] + j + 1), load<V>(w.x + j + 20)};
    V best = magnitude(grid[1]);
    V left = grid[0];
    V middle = grid[1];
    V right = grid[2];
    for (int p = 2; p <= 8; ++p) {
      const V a = magnitude(grid[p]);
      const auto larger = a > best;
      best = larger ? a : best;
      left = larger ? grid[p - 1] : left;
      middle = larger ? grid[p] : middle;
      right = larger ? grid[p + 1] : right;
    }
    const auto negative = middle < 0.0F;
    const V rise = best - (negative ? -left : left);  // >= 0 at a local maximum
    const V fall = best - (negative ? -right : right);
    const V sum = rise + fall;
    const auto refine = (rise >= 0.0F) & (fall >= 0.0F) & (sum > 0.0F);
    const V one = V{} + 1.0F;
    const V denominator = refine ? 8.0F * sum : one;
    const V difference = fall - rise;
    const V correction = difference * difference / denominator;
    store(peaks_out + j, refine ? best + correction : best);
  }
  return j;
}

__attribute__((target_clones("avx2", "default"))) void run_chunk(Work& w, float* peaks_out,
                                                                 std::size_t count) noexcept {
  std::size_t t = run_stage1<Eight>(w, 0, count + 7);
  run_stage1<float>(w, t, count + 7);
  t = run_stage2<Eight>(w, 0, count + 3);
  run_stage2<float>(w, t, count + 3);
  t = run_stage3<Eight>(w, 0, count + 1);
  run_stage3<float>(w, t, count + 1);
  t = run_refine<Eight>(w, peaks_out, 0, count);
  run_refine<float>(w, peaks_out, t, count);
}

}  // namespace

void TruePeakDetector::prepare(double sample_rate_hz) {
  sample_rate_hz_ = sample_rate_hz;
  reset();
}

void TruePeakDetector::reset() noexcept {
  history_.fill(0.0F);
}

float TruePeakDetector::process(float x) noexcept {
  float peak = 0.0F;
  process_block(&x, &peak, 1);
  return peak;
}

void TruePeakDetector::process_block(const float* x, float* peaks_out, std::size_t n) noexcept {
  // ~10 KB of stack, fully written before it is read; zeroing it would cost more than the work for short blocks.
  Work w;  // NOLINT(cppcoreguidelines-pro-type-member-init): written before read, see above
  std::copy(history_.begin(), history_.end(), w.x);
  for (std::size_t start = 0; start < n; start += kChunkFrames) {
    const std::size_t count = std::min(kChunkFrames, n - start);
    std::copy_n(x + start, count, w.x + kHistoryFrames);
    run_chunk(w, peaks_out + start, count);
    std::copy_n(w.x + count, kHistoryFrames, w.x);  // the newest 38 inputs lead the next chunk
  }
  std::copy_n(w.x, kHistoryFrames, history_.begin());
}

void TruePeakMeter::prepare(double sample_rate_hz, int channels) {
  channels_ = std::clamp(channels, 0, kMaxMeterChannels);
  for (auto& detector : detectors_) detector.prepare(sample_rate_hz);
  scratch_.assign(kScratchFrames, 0.0F);
  reset();
}

void TruePeakMeter::reset() noexcept {
  for (auto& detector : detectors_) detector.reset();
  peak_ = 0.0F;
}

void TruePeakMeter::process(const float* const* channels, int num_channels, std::size_t num_frames) noexcept {
  float peak = peak_;
  for (int c = 0; c < std::min(num_channels, channels_); ++c) {
    auto& detector = detectors_[static_cast<std::size_t>(c)];
    for (std::size_t start = 0; start < num_frames; start += kScratchFrames) {
      const std::size_t count = std::min(kScratchFrames, num_frames - start);
      detector.process_block(channels[c] + start, scratch_.data(), count);
      peak = std::max(peak, max_abs(scratch_.data(), count));
    }
  }
  peak_ = peak;
}

void TruePeakMeter::process(const AudioBlock& block) noexcept {
  process(block.channels(), block.num_channels(), block.num_frames());
}

}  // namespace spectrum::dsp
