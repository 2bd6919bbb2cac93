#include "server/json_log.h"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <string>

namespace spectrum::server {
namespace {

Severity g_min_severity = Severity::kInfo;
std::mutex g_write_mutex;

const char* severity_name(Severity severity) {
  switch (severity) {
    case Severity::kDebug:
      return "DEBUG";
    case Severity::kInfo:
      return "INFO";
    case Severity::kWarning:
      return "WARNING";
    case Severity::kError:
      return "ERROR";
  }
  return "DEFAULT";
}

std::string utc_now() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  const auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[96];
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900, utc.tm_mon + 1,
                utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, static_cast<int>(millis));
  return text;
}

}  // namespace

void set_log_level(std::string_view level) {
  if (level == "debug") g_min_severity = Severity::kDebug;
  if (level == "info") g_min_severity = Severity::kInfo;
  if (level == "warning") g_min_severity = Severity::kWarning;
  if (level == "error") g_min_severity = Severity::kError;
}

void log_json(Severity severity, std::string_view message, const nlohmann::json& fields) noexcept {
  if (severity < g_min_severity) return;
  try {
    nlohmann::json line = fields.is_object() ? fields : nlohmann::json::object();
    line["severity"] = severity_name(severity);
    line["message"] = std::string(message);
    line["time"] = utc_now();
    const std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    const std::lock_guard lock(g_write_mutex);
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
  } catch (...) {
    // Logging must never take a request down; a lost line is the lesser evil.
  }
}

}  // namespace spectrum::server
