// Adaptive tonal matching: compare the long-term spectrum of a track's loud sections with a target tonal
// balance and derive a smooth, capped per-band correction. Pure functions over third-octave band levels.
#pragma once

#include <span>
#include <vector>

namespace spectrum::mastering {

inline constexpr double kMatchLowHz = 40.0;      // below this, band levels are too unstable to match
inline constexpr double kMatchHighHz = 16000.0;  // above this, recordings carry little energy
inline constexpr double kMaxCorrectionDb = 6.0;  // cap per band, whatever the amount

// True for the bands tonal matching corrects and measures.
bool in_match_range(double centre_hz);

// Per-band correction in dB (same length as centres_hz). amount is 0..1: 0 = no correction.
// input_levels_db: the track's long-term band levels; target_db: the target shape (any offset; only its shape
// matters). The difference is aligned (mean removed over the match range), smoothed across about an octave,
// capped at ±kMaxCorrectionDb, scaled by amount. Bands outside the match range hold the nearest in-range value.
std::vector<double> tonal_correction_db(std::span<const double> centres_hz, std::span<const double> input_levels_db,
                                        std::span<const double> target_db, double amount);

// RMS difference in dB between two band spectra over the match range, after removing their mean offset:
// how far a spectrum's shape is from a target shape.
double spectral_distance_db(std::span<const double> centres_hz, std::span<const double> levels_db,
                            std::span<const double> target_db);

}  // namespace spectrum::mastering
