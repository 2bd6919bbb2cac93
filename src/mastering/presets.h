// Platform presets: a target loudness and a true-peak ceiling (and, where the destination says so, a format)
// under one name. Every value and its public source is in docs/presets.md; explicit settings override them.
#pragma once

#include <array>
#include <optional>
#include <string_view>

#include "audio/format.h"

namespace spectrum::mastering {

struct Preset {
  std::string_view id;    // the API's settings.preset
  std::string_view name;  // for people
  double target_loudness_lufs;
  double true_peak_ceiling_dbtp;
  std::optional<audio::Format> output_format;  // set only where the destination asks for one
  std::string_view basis;                      // one line: where the numbers come from (docs/presets.md)
};

inline constexpr std::array kPresets{
    Preset{"spotify", "Spotify", -14.0, -1.0, std::nullopt,
           "Spotify for Artists: normalised to -14 LUFS, keep true peaks under -1 dB"},
    Preset{"apple-music", "Apple Music", -16.0, -1.0, std::nullopt,
           "Sound Check measured near -16 LUFS (Apple publishes no figure); Apple Digital Masters: 1 dB of "
           "true-peak headroom for AAC"},
    Preset{"youtube", "YouTube", -14.0, -1.0, std::nullopt,
           "measured near -14 LUFS by third parties (YouTube publishes no figure)"},
    Preset{"tidal", "TIDAL", -14.0, -1.0, std::nullopt, "normalised to -14 LUFS; -1 dBTP"},
    Preset{"amazon-music", "Amazon Music", -14.0, -2.0, std::nullopt,
           "normalised near -14 LUFS; the stricter -2 dBTP of the published tables"},
    Preset{"soundcloud", "SoundCloud", -12.0, -1.0, std::nullopt,
           "no normalisation; reported masters -8 to -13 LUFS, kept at -12 for dynamics"},
    Preset{"club", "Club (DJ)", -10.0, -0.5, audio::Format::kWav,
           "no standard; club masters run -6 to -9 LUFS, -10 is the loudest this service makes; lossless WAV"},
    Preset{"aes-streaming", "AES streaming (TD1008)", -16.0, -1.0, std::nullopt,
           "AES TD1008: track-normalised music at -16 LUFS, peaks at most -1 dBTP"},
};

// nullptr for an unknown id.
const Preset* find_preset(std::string_view id) noexcept;

}  // namespace spectrum::mastering
