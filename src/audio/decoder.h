// Streaming decoder: any audio file FFmpeg can read, delivered as planar float at the file's own rate.
#pragma once

#include <cstddef>
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

struct StreamInfo {
  int sample_rate_hz = 0;                      // kept as is (8 to 192 kHz); never resampled
  int channels = 0;                            // 1 or 2
  std::int64_t duration_frames_estimate = -1;  // from the container, -1 if unknown
  // Frames the file states it holds (its container's duration, or for WAV and AIFF the size in the header,
  // which FFmpeg clamps to the bytes present); -1 when it states none (a duration guessed from the bitrate).
  std::int64_t stated_frames = -1;
  std::string container{};         // FFmpeg demuxer name: "wav", "flac", "mp3", "ogg", "aiff", ...
  std::string codec{};             // FFmpeg codec name: "pcm_s24le", "flac", "mp3", "aac", ...
  int bits_per_sample = 0;         // integer PCM/FLAC/ALAC depth (16, 24, 32); 0 for lossy codecs
  bool is_float = false;           // float PCM (e.g. pcm_f32le); bits_per_sample is then 32 or 64
  std::optional<Format> format{};  // the input's own format, if it is one of ours
  // Container and audio-stream metadata with lower-case keys ("title", "artist", ...), first occurrence
  // of each key kept. Muxer bookkeeping (encoder, major_brand, handler_name, ...) is left out.
  std::vector<std::pair<std::string, std::string>> tags{};
};

class Decoder {
 public:
  // Opens the file and decodes its first frame, so a Decoder that opened can deliver audio.
  // Errors (messages name the file by its file name only, never its directory):
  //   kNotFound      the file does not exist
  //   kCorruptInput  "not a decodable audio file: ..." (empty, truncated, corrupt, not audio, no audio stream)
  //   kUnsupported   more than two channels ("input has 6 channels; only mono and stereo are supported"),
  //                  a sample rate outside 8-192 kHz, or a codec this FFmpeg build cannot decode
  //   kIoError       the file exists but cannot be read
  static Expected<std::unique_ptr<Decoder>> open(const std::filesystem::path& path);

  ~Decoder();
  Decoder(const Decoder&) = delete;
  Decoder& operator=(const Decoder&) = delete;

  [[nodiscard]] const StreamInfo& info() const noexcept;

  // Decodes up to buffer.capacity() frames into `buffer`, whose channel count must equal info().channels.
  // Sets buffer.set_num_frames(n) and returns n; 0 means end of stream. Fewer than capacity frames are
  // returned only at the end. Corrupt packets are skipped as FFmpeg does; a truncated file ends early.
  Expected<std::size_t> read(AudioBuffer& buffer);

  // Back to the first sample, exactly: the file is reopened (with the demuxer already found, unprobed), so the
  // samples that follow are identical to those of the first pass whatever the codec; a decoder that has handed
  // out nothing yet is already there. Also resets nonfinite_samples_replaced().
  Status rewind();

  // NaN/Inf samples replaced by 0 since open() or the last rewind().
  [[nodiscard]] std::int64_t nonfinite_samples_replaced() const noexcept;
  // Packets the codec refused (damaged data) and read() skipped, since open() or the last rewind().
  [[nodiscard]] std::int64_t damaged_packets_skipped() const noexcept;

 private:
  struct Impl;
  explicit Decoder(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  StreamInfo info_;  // kept here, not in impl_, so references to it stay valid across rewind()
};

}  // namespace spectrum::audio
