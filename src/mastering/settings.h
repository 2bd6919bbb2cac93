// The one settings type of the product, with its one parser and validator.
// The CLI and the HTTP API both build a JSON object and call parse_settings(), so they cannot disagree.
#pragma once

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "audio/format.h"
#include "common/status.h"

namespace spectrum::mastering {

enum class EqProfile { kNeutral, kBright, kWarm, kBassBoost };

std::string_view to_string(EqProfile profile) noexcept;

struct Range {
  double min;
  double max;
};

inline constexpr Range kTargetLoudnessRange{-20.0, -10.0};
inline constexpr Range kCompressionRatioRange{1.0, 10.0};
inline constexpr Range kStereoWidthRange{0.0, 200.0};
inline constexpr Range kTonalMatchRange{0.0, 100.0};
inline constexpr Range kTruePeakCeilingRange{-9.0, 0.0};
// Every lossy format's bitrates together; the encoder checks the chosen format's own (audio/format.h).
inline constexpr Range kBitrateKbpsRange = [] {
  Range r{1e9, 0.0};
  for (const audio::FormatTraits& t : audio::kFormats) {
    if (!t.lossy) continue;
    r.min = std::min(r.min, static_cast<double>(t.min_kbps));
    r.max = std::max(r.max, static_cast<double>(t.max_kbps));
  }
  return r;
}();
inline constexpr Range kLoudnessRangeLuRange{1.0, 30.0};

inline constexpr double kDefaultTargetLoudnessLufs = -14.0;
inline constexpr double kDefaultCompressionRatio = 4.0;
inline constexpr double kDefaultStereoWidthPercent = 100.0;
inline constexpr double kDefaultTonalMatchPercent = 50.0;
inline constexpr double kDefaultTruePeakCeilingDbtp = -1.0;

struct Settings {
  // Unset means: the reference track's integrated loudness if a reference is given, else -14 LUFS.
  std::optional<double> target_loudness_lufs;
  double compression_ratio = kDefaultCompressionRatio;
  EqProfile eq_profile = EqProfile::kNeutral;
  double stereo_width_percent = kDefaultStereoWidthPercent;
  double tonal_match_percent = kDefaultTonalMatchPercent;
  double true_peak_ceiling_dbtp = kDefaultTruePeakCeilingDbtp;
  // Leveling: the loudness range (EBU Tech 3342, LU) to bring a wider input towards, by slow macro gain
  // riding. Unset: the input's range is kept. A narrower input is left as it is (no expansion).
  std::optional<double> loudness_range_lu;
  // Storage object name of a reference track (API only; the CLI passes a path to the engine instead).
  std::optional<std::string> reference_file_name;
  // Unset: the output file's extension, else the input's format.
  std::optional<audio::Format> output_format;
  // A delivery bundle (API): every one of these formats from the same settings, the first being output_format.
  // Empty: one file. Unique, at most one per format.
  std::vector<audio::Format> output_formats;
  // Lossy bitrate override, within the format's range (audio/format.h); unset means the format's default.
  std::optional<int> bitrate_kbps;
  // The platform preset (mastering/presets.h) the target, ceiling and format came from, where not given.
  std::optional<std::string> preset;
};

// Parses the API's camelCase settings object. A "preset" fills targetLoudness, truePeakCeiling and outputFormat
// where they are not given. Missing or null fields get their defaults; unknown
// keys are ignored (the web app may send more than we use). A wrong type, an out-of-range value or
// an unknown name is an kInvalidArgument error whose message names the field, the value and what
// is allowed, e.g. "settings.compressionRatio must be between 1 and 10 (got 12)".
Expected<Settings> parse_settings(const nlohmann::json& settings);

// The settings as the API spells them, with defaults filled in (used in reports and logs).
nlohmann::json to_json(const Settings& settings);

}  // namespace spectrum::mastering
