// The largest magnitude in a run of samples, vectorised.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace spectrum::dsp {

// max |x[i]| (0 for n == 0). With the sign bit cleared, float bit patterns order like the magnitudes, and an
// integer maximum vectorises where a float one (NaN and signed-zero rules) does not. A NaN would read as
// larger than any number; the decoder replaces them before any meter sees the samples.
inline float max_abs(const float* x, std::size_t n) noexcept {
  std::int32_t largest = 0;
  for (std::size_t i = 0; i < n; ++i) {
    std::int32_t bits = 0;
    std::memcpy(&bits, x + i, sizeof bits);
    bits &= 0x7FFFFFFF;
    largest = bits > largest ? bits : largest;
  }
  return std::bit_cast<float>(largest);
}

}  // namespace spectrum::dsp
