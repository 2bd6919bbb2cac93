// Minimal RIFF/WAVE reader and writer for test fixtures: PCM 16/24/32-bit and 32-bit float, any channel
// count (WAVE_FORMAT_EXTENSIBLE included). Independent of the product's FFmpeg decoder on purpose.
#pragma once

#include <filesystem>
#include <vector>

#include "common/audio_block.h"
#include "common/status.h"

namespace spectrum::test {

struct WavData {
  int sample_rate_hz = 0;
  std::vector<std::vector<float>> channels;  // planar, nominal range +-1

  [[nodiscard]] std::size_t num_frames() const { return channels.empty() ? 0 : channels.front().size(); }
};

Expected<WavData> read_wav(const std::filesystem::path& path);

// Writes 32-bit float WAV (format tag 3); values are stored as given, without clipping.
Status write_wav_float(const std::filesystem::path& path, const WavData& data);
Status write_wav_float(const std::filesystem::path& path, const AudioBuffer& buffer, int sample_rate_hz);

}  // namespace spectrum::test
