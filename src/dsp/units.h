// The product's level units in one place: dB of amplitude, BS.1770 loudness (LUFS) and the K-weighted energy
// behind it, the BS.1770 / EBU Tech 3342 gates, and the log2 forms the per-sample code uses (exp2/log2 cost about
// half of pow/log10 in glibc).
#pragma once

#include <cmath>
#include <limits>

namespace spectrum::dsp {

inline constexpr double kNegInfDb = -std::numeric_limits<double>::infinity();

// BS.1770: L = -0.691 + 10 log10(sum_c w_c * mean square_c).
inline constexpr double kLoudnessOffsetDb = -0.691;
// Gates: BS.1770 integrated loudness (absolute, then relative -10 LU) and EBU Tech 3342 loudness range (the same
// absolute gate, then relative -20 LU). A value counts when it is above the absolute gate (passes_absolute_gate).
inline constexpr double kAbsoluteGateLufs = -70.0;
inline constexpr double kIntegratedRelativeGateLu = -10.0;
inline constexpr double kRangeRelativeGateLu = -20.0;

inline constexpr double kDbPerLog2Power = 3.0102999566398120;  // 10 log10(2)
inline constexpr double kDbPerLog2Gain = 6.0205999132796239;   // 20 log10(2)
inline constexpr double kLog2GainPerDb = 0.16609640474436813;  // log2(10) / 20

inline double energy_to_lufs(double mean_square) noexcept {
  return mean_square > 0.0 ? kLoudnessOffsetDb + 10.0 * std::log10(mean_square) : kNegInfDb;
}
inline double lufs_to_energy(double lufs) noexcept {
  return std::pow(10.0, (lufs - kLoudnessOffsetDb) / 10.0);
}
inline bool passes_absolute_gate(double lufs) noexcept {
  return lufs > kAbsoluteGateLufs;
}

inline double amplitude_to_db(double amplitude) noexcept {
  return amplitude > 0.0 ? 20.0 * std::log10(amplitude) : kNegInfDb;
}
inline double db_to_amplitude(double db) noexcept {
  return std::pow(10.0, db / 20.0);
}

}  // namespace spectrum::dsp
