// The output formats, and everything the product knows about each one, in one table: adding a format is one
// row here (and, if FFmpeg needs more than the row says, a case in encoder.cpp).
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>

namespace spectrum::audio {

// Every format: the sample rates the product reads and writes (a format may allow fewer, below).
inline constexpr int kMinSampleRateHz = 8000;
inline constexpr int kMaxSampleRateHz = 192000;

enum class Format { kWav, kAiff, kFlac, kMp3, kAac, kVorbis, kOpus };

struct FormatTraits {
  Format format;
  std::string_view name;                    // in the API and on the command line
  std::string_view display_name;            // in messages
  std::string_view extension;               // of an output file, with the dot
  std::array<std::string_view, 3> aliases;  // other names a user may type (an empty entry ends the list)
  std::string_view muxer;                   // FFmpeg's; for PCM formats also the demuxer that marks an input
  std::string_view codec;                   // FFmpeg's codec name of a compressed input ("" for PCM)
  std::string_view encoder;                 // FFmpeg's encoder ("" for PCM: encoder.cpp picks it by depth)
  bool lossy;
  int fixed_rate_hz;  // 0: the input's rate is kept
  int max_rate_hz;    // 0: whatever the encoder lists
  // Lossy bitrates, kbps (0: none, or a quality setting by default).
  int default_kbps;
  int min_kbps;
  int max_kbps;
  // The limiter aims this much further under the ceiling than the codec trial's measured overshoot, since the
  // trial sees only the most demanding sections (mastering/codec_trial.h; docs/decisions/007).
  double trial_safety_db;
};

inline constexpr std::array<FormatTraits, 7> kFormats{{
    {Format::kWav, "wav", "WAV", ".wav", {"wave"}, "wav", "", "", false, 0, 0, 0, 0, 0, 0.0},
    {Format::kAiff, "aiff", "AIFF", ".aiff", {"aif"}, "aiff", "", "", false, 0, 0, 0, 0, 0, 0.0},
    {Format::kFlac, "flac", "FLAC", ".flac", {}, "flac", "flac", "flac", false, 0, 0, 0, 0, 0, 0.0},
    {Format::kMp3, "mp3", "MP3", ".mp3", {}, "mp3", "mp3", "libmp3lame", true, 0, 48000, 320, 32, 320, 0.35},
    // AAC's overshoot varies most between the trial and the whole file (by up to ~0.4 dB on the corpus).
    {Format::kAac, "aac", "AAC", ".m4a", {"mp4"}, "ipod", "aac", "aac", true, 0, 96000, 256, 32, 512, 0.45},
    {Format::kVorbis,
     "ogg",
     "Ogg Vorbis",
     ".ogg",
     {"vorbis", "oga"},
     "ogg",
     "vorbis",
     "libvorbis",
     true,
     0,
     0,
     0,
     32,
     512,
     0.35},
    {Format::kOpus, "opus", "Opus", ".opus", {}, "opus", "opus", "libopus", true, 48000, 0, 192, 32, 512, 0.35},
}};

constexpr const FormatTraits& traits(Format format) noexcept {
  for (const FormatTraits& t : kFormats)
    if (t.format == format) return t;
  return kFormats[0];
}

constexpr bool is_lossy(Format format) noexcept {
  return traits(format).lossy;
}

// The format a user means by `name`: a name, an alias or an extension (with or without its dot), any case.
std::optional<Format> format_from_name(std::string_view name) noexcept;

// The format of a decoded input, from FFmpeg's demuxer and codec names; nullopt for anything else.
std::optional<Format> format_of_input(std::string_view demuxer, std::string_view codec, bool pcm) noexcept;

// The names, comma-separated, for messages.
std::string format_names();

}  // namespace spectrum::audio
