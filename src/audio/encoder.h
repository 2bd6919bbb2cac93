// Streaming encoder: planar float in, any of the product's output formats out, written atomically.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "audio/format.h"
#include "common/audio_block.h"
#include "common/status.h"

namespace spectrum::audio {

struct EncoderOptions {
  Format format = Format::kWav;
  int sample_rate_hz = 48000;
  int channels = 2;
  // WAV/AIFF: 16, 24 or 32 (32 is IEEE float). FLAC: 16 or 24; 32 is written as 24 (FLAC's practical
  // maximum). Ignored by lossy formats.
  int bits_per_sample = 24;
  bool is_float = false;  // WAV/AIFF 32-bit float (same as bits_per_sample = 32); FLAC ignores it
  // Lossy override, within the format's range. Unset: the format's default (audio/format.h), or for Vorbis
  // VBR quality 8; set for Vorbis: average bitrate.
  std::optional<int> bitrate_kbps{};
  std::vector<std::pair<std::string, std::string>> tags{};  // carried into the output's metadata
  std::uint64_t dither_seed = 1;                            // deterministic TPDF dither for 16-bit integer output
  // The caller rounds the samples itself, with SampleRounder(stored_bits(options), dither_seed), before write()
  // (to meter exactly what the file stores on another thread): the encoder then stores them as they come.
  bool input_rounded = false;
};

// The integer depth a lossless output stores (16 or 24), 0 for float and lossy output: SampleRounder's bits.
int stored_bits(const EncoderOptions& options);

// Output per format:
//   WAV  pcm_s16le / pcm_s24le / pcm_f32le        AIFF pcm_s16be / pcm_s24be / pcm_f32be
//   FLAC 16 or 24 bit, default compression       MP3  libmp3lame CBR, Xing/LAME header (gapless)
//   AAC  native aac in .m4a (ipod muxer)          Vorbis libvorbis in Ogg     Opus libopus in Ogg (.opus)
// The sample rate is kept, except Opus, which only runs at 48 kHz: its input is resampled to 48 kHz with
// libswresample. MP3 above 48 kHz and AAC above 96 kHz are refused (kUnsupported) rather than resampled.
// 16-bit output gets TPDF dither; 24-bit is rounded to nearest; both clip to the integer range.
class Encoder {
 public:
  // Errors: kInvalidArgument (channels, bits, bitrate), kUnsupported (a rate the format cannot carry, or
  // an encoder missing from this FFmpeg build), kNotFound/kPermissionDenied/kIoError (destination).
  static Expected<std::unique_ptr<Encoder>> create(const std::filesystem::path& destination,
                                                   const EncoderOptions& options);

  // Removes the temporary file unless commit() succeeded.
  ~Encoder();
  Encoder(const Encoder&) = delete;
  Encoder& operator=(const Encoder&) = delete;

  // Planar float, nominal [-1, 1], block.num_channels() == options.channels, any number of frames.
  // Output bytes do not depend on how the signal is split into blocks.
  Status write(const AudioBlock& block);

  // Flushes the codec, writes the trailer and renames the file into place. After an error nothing is
  // left at the destination (an existing file there is untouched).
  Status commit();

  [[nodiscard]] int output_sample_rate_hz() const noexcept;  // the input rate, or the format's fixed rate

 private:
  struct Impl;
  explicit Encoder(std::unique_ptr<Impl> impl) noexcept;
  std::unique_ptr<Impl> impl_;
};

}  // namespace spectrum::audio
