#include "audio/ffmpeg_util.h"

#include <cstdlib>
#include <mutex>

extern "C" {
#include <libavutil/error.h>
#include <libavutil/log.h>
}

namespace spectrum::audio::ffmpeg {

std::string av_error_string(int errnum) {
  char buffer[AV_ERROR_MAX_STRING_SIZE] = {};
  if (av_strerror(errnum, buffer, sizeof(buffer)) < 0) return "unknown FFmpeg error " + std::to_string(errnum);
  return buffer;
}

void configure_logging_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    int level = AV_LOG_FATAL;
    if (const char* env = std::getenv("SPECTRUM_FFMPEG_LOG_LEVEL"); env != nullptr && *env != '\0') {
      level = std::atoi(env);
    }
    av_log_set_level(level);
  });
}

}  // namespace spectrum::audio::ffmpeg
