// The independent loudness oracle: ffmpeg's ebur128 filter, run as a child process on a file.
#pragma once

#include <filesystem>

#include "common/status.h"

namespace spectrum::test {

struct FfmpegLoudness {
  double integrated_lufs = 0.0;  // ffmpeg prints -70.0 when no block passes the gate
  double loudness_range_lu = 0.0;
  double true_peak_dbtp = 0.0;  // -infinity for digital silence
};

// Runs `ffmpeg -hide_banner -nostats -i FILE -af ebur128=peak=true -f null -` and parses the Summary.
// kNotFound if the file is missing, kInternal if ffmpeg fails or prints no summary.
Expected<FfmpegLoudness> measure_with_ffmpeg(const std::filesystem::path& path);

}  // namespace spectrum::test
